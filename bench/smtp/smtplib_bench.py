#!/usr/bin/env python3
"""The reference for smtp_send_bench: Python's smtplib sending N messages
over one STARTTLS + XOAUTH2 connection, as the C++ client does.

  smtplib_bench.py HOST PORT CA USER TOKEN N   -> prints seconds elapsed
"""
import base64
import smtplib
import ssl
import sys
import time

host, port, ca, user, token, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
sender = user if "@" in user else user + "@example.test"
ctx = ssl.create_default_context(cafile=ca)
body = "From: %s\r\nSubject: smtplib bench\r\n\r\n%s\r\n" % (user, "x" * 1000)
start = time.perf_counter()
s = smtplib.SMTP(host, port, local_hostname="localhost")
s.starttls(context=ctx)
s.ehlo("localhost")
blob = base64.b64encode(("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode()).decode()
code, resp = s.docmd("AUTH", "XOAUTH2 " + blob)
if code != 235:
    sys.exit("auth failed: %d %s" % (code, resp))
for _ in range(n):
    s.sendmail(sender, ["bob@example.test"], body)
s.quit()
print("%.6f" % (time.perf_counter() - start))
