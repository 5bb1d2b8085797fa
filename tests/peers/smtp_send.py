#!/usr/bin/env python3
"""A reference SMTP client (Python's smtplib) for checking the peers and
for comparing postbridge's behaviour with a known client.

  smtp_send.py --port N [--host 127.0.0.1] [--security starttls|tls|none]
               [--ca FILE] [--auth xoauth2|plain|none] [--user U]
               [--token T | --password P] --from ADDR --to ADDR [--to ...]
               [--subject S] [--body B]

Prints one JSON object with every step's reply ([code, text]); exit 0 when
the message was accepted for at least one recipient, 1 otherwise.
Certificates are always verified (against --ca), hostname included.
"""
import argparse
import base64
import json
import smtplib
import ssl
import sys
import uuid


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--security', choices=['starttls', 'tls', 'none'], default='starttls')
    p.add_argument('--ca')
    p.add_argument('--auth', choices=['xoauth2', 'plain', 'none'], default='xoauth2')
    p.add_argument('--user')
    p.add_argument('--token')
    p.add_argument('--password')
    p.add_argument('--from', dest='sender', required=True)
    p.add_argument('--to', action='append', required=True)
    p.add_argument('--subject', default='postbridge peers test')
    p.add_argument('--body', default='Hello from smtp_send.py')
    a = p.parse_args()

    out = {}
    ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl.create_default_context()
    try:
        if a.security == 'tls':
            s = smtplib.SMTP_SSL(a.host, a.port, local_hostname='smtp-send.test', context=ctx, timeout=20)
        else:
            s = smtplib.SMTP(a.host, a.port, local_hostname='smtp-send.test', timeout=20)
        out['ehlo'] = list(s.ehlo())
        if a.security == 'starttls':
            out['starttls'] = list(s.starttls(context=ctx))
            out['ehlo_tls'] = list(s.ehlo())
        if a.auth == 'xoauth2':
            ir = base64.b64encode(f'user={a.user}\x01auth=Bearer {a.token}\x01\x01'.encode()).decode()
            code, text = s.docmd('AUTH', 'XOAUTH2 ' + ir)
            out['auth'] = [code, text]
            if code == 334:  # error details (Gmail style); an empty line ends it
                out['auth_challenge'] = json.loads(base64.b64decode(text))
                code, text = s.docmd('')
                out['auth'] = [code, text]
        elif a.auth == 'plain':
            ir = base64.b64encode(f'\0{a.user}\0{a.password}'.encode()).decode()
            out['auth'] = list(s.docmd('AUTH', 'PLAIN ' + ir))
        if a.auth != 'none' and out['auth'][0] != 235:
            s.quit()
            return finish(out, False)
        out['mail'] = list(s.mail(a.sender))
        out['rcpt'] = {}
        for rcpt in a.to:
            out['rcpt'][rcpt] = list(s.rcpt(rcpt))
        if not any(r[0] in (250, 251) for r in out['rcpt'].values()):
            s.quit()
            return finish(out, False)
        msg_id = f'<{uuid.uuid4()}@smtp-send.test>'
        out['message_id'] = msg_id
        msg = (f'From: <{a.sender}>\r\nTo: {", ".join("<%s>" % t for t in a.to)}\r\n'
               f'Subject: {a.subject}\r\nMessage-ID: {msg_id}\r\n\r\n{a.body}\r\n')
        out['data'] = list(s.data(msg.encode()))
        s.quit()
        return finish(out, out['data'][0] == 250)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
        out['exception'] = f'{type(e).__name__}: {e}'
        return finish(out, False)


def finish(out, ok):
    def plain(v):
        if isinstance(v, bytes):
            return v.decode('utf-8', 'replace')
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    print(json.dumps(plain(out)))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
