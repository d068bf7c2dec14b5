#!/usr/bin/python3
"""bench/dkim/bench_dkimpy.py ZONE MESSAGE SECONDS — dkimpy verifications (all signatures) per second."""
import re
import sys
import time

import dkim

zone = {}
for line in open(sys.argv[1]):
    parts = line.split(None, 2)
    if len(parts) == 3 and parts[1] == "TXT":
        zone[parts[0].rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', parts[2])).encode()


def dnsfunc(name, timeout=5):
    return zone.get(name.decode().rstrip(".").lower())


msg = open(sys.argv[2], "rb").read()
nsig = msg.count(b"DKIM-Signature:")
secs = float(sys.argv[3])
n = 0
start = time.monotonic()
while True:
    d = dkim.DKIM(msg)
    for i in range(nsig):
        if not d.verify(idx=i, dnsfunc=dnsfunc):
            sys.exit("dkimpy: signature %d does not verify" % i)
    n += 1
    t = time.monotonic() - start
    if t >= secs:
        break
print("%.1f" % (n / t))
