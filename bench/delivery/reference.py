#!/usr/bin/env python3
"""The reference client for delivery_bench: Python's smtplib sending N
messages of the same size over one STARTTLS + AUTH PLAIN connection.

  reference.py HOST PORT CA USER PASSWORD N SIZE   -> prints seconds elapsed
"""
import smtplib
import ssl
import sys
import time

host, port, ca, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n, size = int(sys.argv[6]), int(sys.argv[7])
ctx = ssl.create_default_context(cafile=ca)
body = ("From: device@example.test\r\nTo: bob@example.test\r\nSubject: reference\r\n\r\n"
        + ("x" * 76 + "\r\n") * max(1, size // 78))
start = time.perf_counter()
s = smtplib.SMTP(host, port, local_hostname="localhost")
s.starttls(context=ctx)
s.ehlo("localhost")
s.login(user, password)
for _ in range(n):
    s.sendmail("device@example.test", ["bob@example.test"], body)
s.quit()
print("%.6f" % (time.perf_counter() - start))
