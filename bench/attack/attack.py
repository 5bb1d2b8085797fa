#!/usr/bin/env python3
"""attack.py: one legitimate device and one administrator beside the
attackers of the hostile-LAN issue, against a running `postbridge serve`
(run.sh starts it). Two phases, quiet then under attack; one JSON line each:

  device_p50/p99/max   seconds from connect to the 250 after the final dot
                       (EHLO, STARTTLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA),
                       from 127.0.0.1
  admin_p50/p99/max    seconds for one Web Config page, already logged in
  admin_logged_out     pages that sent the administrator to the login form
  admin_failures       pages that got no answer (connection closed or refused)
  device_failures      device sends that did not end in 250

The attackers, each from loopback addresses of its own (127.0.0.0/8 is all
local), so that a per-client limit that catches them leaves the device and
the administrator alone, as on a real LAN:
  20 password guessers  AUTH PLAIN with wrong passwords, for the device's
                        account and for made-up ones, reconnecting
  100 slow drips        10 addresses x 10 connections, one byte a second
  70 idle web sockets   10 addresses x 7 connections that send nothing
  300 anonymous logins  GET /login, 300 times over, from one address
"""
import argparse
import base64
import http.client
import json
import re
import socket
import ssl
import statistics
import threading
import time
import urllib.parse

UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 4)


class Lines:
    """SMTP replies over a socket that may switch to TLS."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(4096)
                if not data:
                    raise EOFError("closed")
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return line.decode()

    def say(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()


def smtp_login(port, source, user, password, timeout=60):
    """Connect, STARTTLS, AUTH PLAIN: the open session and the AUTH reply."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))
    s = Lines(sock)
    if not s.reply().startswith("220"):
        raise RuntimeError("no greeting")
    s.say("EHLO device.lan")
    if not s.say("STARTTLS").startswith("220"):
        raise RuntimeError("no STARTTLS")
    s.sock = UNVERIFIED.wrap_socket(sock)
    s.buf = b""
    s.say("EHLO device.lan")
    blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    return s, s.say("AUTH PLAIN " + blob)


def device_send(port, user, password, n):
    """The time to the 250 after the final dot, or None on failure."""
    start = time.monotonic()
    try:
        s, auth = smtp_login(port, "127.0.0.1", user, password)
        if not auth.startswith("235"):
            return None
        s.say("MAIL FROM:<device@lan.example>")
        s.say("RCPT TO:<bob@example.test>")
        if not s.say("DATA").startswith("354"):
            return None
        body = "From: device@lan.example\r\nSubject: attack-bench %d\r\n\r\nscan\r\n." % n
        ok = s.say(body).startswith("250")
        took = time.monotonic() - start
        s.say("QUIT")
        s.sock.close()
        return took if ok else None
    except (OSError, EOFError, RuntimeError):
        return None


class Admin:
    def __init__(self, port, password):
        self.port, self.password, self.cookie = port, password, ""

    def request(self, method, path, body=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=UNVERIFIED, timeout=60)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                self.cookie = v.split(";", 1)[0]
        c.close()
        return r.status, r.getheader("Location") or "", text

    def login(self):
        _, _, page = self.request("GET", "/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf": csrf, "password": self.password})
        status, location, _ = self.request("POST", "/login", form)
        if status not in (302, 303) or "login" in location:
            raise RuntimeError("the administrator could not log in: %s %s" % (status, location))

    def page(self):
        """Seconds for the Basic page, and whether it was the login form."""
        start = time.monotonic()
        status, location, _ = self.request("GET", "/network/email/basic")
        return time.monotonic() - start, status != 200 or "login" in location


def guesser(port, source, stop, tried):
    i = 0
    while not stop.is_set():
        user = "copier" if i % 2 == 0 else "guess%d" % i
        try:
            s, auth = smtp_login(port, source, user, "not-the-password-%d" % i, timeout=30)
            tried.append(auth[:3])
            s.sock.close()
        except (OSError, EOFError, RuntimeError):
            tried.append("err")
            stop.wait(0.05)  # refused at connect (a cap): try again shortly
        i += 1


def dripper(port, source, stop):
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                            source_address=(source, 0))
            for ch in b"EHLO drip.lan\r\nMAIL FROM:<x@y>\r\n" * 100:
                if stop.wait(1.0):
                    break
                sock.sendall(bytes([ch]))
            sock.close()
        except OSError:
            stop.wait(1.0)


def idler(port, source, stop):
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                            source_address=(source, 0))
            sock.settimeout(None)
            sock.recv(1)  # until the server closes it
            sock.close()
        except OSError:
            stop.wait(0.2)


def anonymous(port, source, stop, count):
    done = 0
    while not stop.is_set() and done < count:
        try:
            c = http.client.HTTPSConnection("127.0.0.1", port, context=UNVERIFIED, timeout=10,
                                            source_address=(source, 0))
            c.request("GET", "/login")
            c.getresponse().read()
            c.close()
        except OSError:
            pass
        done += 1


def phase(args, attack):
    stop = threading.Event()
    threads, tried = [], []
    if attack:
        for i in range(20):
            threads.append(threading.Thread(target=guesser,
                                            args=(args.relay, "127.0.3.%d" % (i + 1), stop, tried)))
        for i in range(100):
            threads.append(threading.Thread(target=dripper,
                                            args=(args.relay, "127.0.4.%d" % (i // 10 + 1), stop)))
        for i in range(70):
            threads.append(threading.Thread(target=idler,
                                            args=(args.web, "127.0.5.%d" % (i // 7 + 1), stop)))
        threads.append(threading.Thread(target=anonymous, args=(args.web, "127.0.6.1", stop, 300)))
        for t in threads:
            t.daemon = True
            t.start()
        time.sleep(args.settle)  # let the attack take its slots first

    admin = Admin(args.web, args.admin_password)
    admin.login()
    device, pages, logged_out, failures, admin_failures = [], [], 0, 0, 0
    for n in range(args.messages):
        took = device_send(args.relay, args.user, args.password, n)
        if took is None:
            failures += 1
        else:
            device.append(took)
        try:
            seconds, out = admin.page()
            pages.append(seconds)
            logged_out += out
        except OSError:  # the connection was closed or refused: no page
            admin_failures += 1
    stop.set()
    return {
        "phase": "attack" if attack else "quiet",
        "messages": args.messages,
        "device_p50": quantile(device, 0.5), "device_p99": quantile(device, 0.99),
        "device_max": round(max(device), 4) if device else None,
        "device_failures": failures,
        "admin_p50": quantile(pages, 0.5), "admin_p99": quantile(pages, 0.99),
        "admin_max": round(max(pages), 4),
        "admin_logged_out": logged_out, "admin_failures": admin_failures,
        "guesses": len(tried), "guesses_accepted": tried.count("235"),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--relay", type=int, required=True, help="the relay's port (STARTTLS)")
    p.add_argument("--web", type=int, required=True, help="Web Config's port (HTTPS)")
    p.add_argument("--user", default="copier")
    p.add_argument("--password", required=True)
    p.add_argument("--admin-password", required=True)
    p.add_argument("--messages", type=int, default=50)
    p.add_argument("--settle", type=float, default=5.0)
    args = p.parse_args()
    quiet = phase(args, False)
    print(json.dumps(quiet), flush=True)
    attacked = phase(args, True)
    print(json.dumps(attacked), flush=True)
    if quiet["device_p99"] and attacked["device_p99"]:
        print(json.dumps({"device_p99_ratio":
                          round(attacked["device_p99"] / quiet["device_p99"], 2)}), flush=True)


if __name__ == "__main__":
    main()
