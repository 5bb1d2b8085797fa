#!/usr/bin/env python3
"""The reference client for delivery_bench: Python's smtplib sending one
message N times over one STARTTLS + AUTH PLAIN connection. The message is
the file delivery_bench wrote: the bytes the engine sends, so both clients
give the server the same work.

  reference.py HOST PORT CA USER PASSWORD N MESSAGE-FILE  -> prints seconds elapsed
"""
import smtplib
import ssl
import sys
import time

host, port, ca, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n = int(sys.argv[6])
with open(sys.argv[7], "rb") as f:
    body = f.read()  # CRLF lines already; smtplib adds the dot-stuffing and the final "."
ctx = ssl.create_default_context(cafile=ca)
start = time.perf_counter()
s = smtplib.SMTP(host, port, local_hostname="localhost")
s.starttls(context=ctx)
s.ehlo("localhost")
s.login(user, password)
for _ in range(n):
    s.sendmail("device@example.test", ["bob@example.test"], body)
s.quit()
print("%.6f" % (time.perf_counter() - start))
