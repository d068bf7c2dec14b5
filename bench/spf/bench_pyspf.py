#!/usr/bin/python3
"""bench/spf/bench_pyspf.py — pyspf's side of the SPF benchmark.

The same zone file is loaded into a dict and pyspf's DNS lookup function is replaced by a
stub answering from it (every answer cached, no sockets). Same scenarios, fixed time.
Output as bench_spf.c's. Run with Debian's /usr/bin/python3 (python3-spf).
"""
import sys
import time

import spf


def load_zone(path):
    zone = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(';'):
            continue
        owner, rtype, rest = line.split(None, 2)
        owner = owner.lower().rstrip('.')
        if rtype == 'TXT':
            parts = rest.split('"')[1::2]
            value = [p.encode() for p in parts]
        elif rtype == 'MX':
            pref, host = rest.split()
            value = (int(pref), host.rstrip('.'))
        else:
            value = rest.rstrip('.')
        zone.setdefault((owner, rtype), []).append(value)
    return zone


def make_lookup(zone):
    def lookup(name, qtype, *args, **kwargs):
        key = (name.lower().rstrip('.'), qtype)
        return [((name, qtype), v) for v in zone.get(key, [])]
    return lookup


def main():
    zone_path, scen_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    spf.DNSLookup = make_lookup(load_zone(zone_path))
    scen = []
    for line in open(scen_path):
        if line.startswith('#') or not line.strip():
            continue
        ip, mail_from, helo = line.split()
        scen.append((ip, '' if mail_from == '-' else mail_from, helo))

    def run(ip, mail_from, helo):
        q = spf.query(i=ip, s=mail_from or 'postmaster@' + helo, h=helo,
                      receiver='bench.example')
        return q.check()[0]

    for n, s in enumerate(scen):
        print('result %d %s' % (n, run(*s)))
    evals = 0
    start = time.monotonic()
    while True:
        for s in scen:
            run(*s)
        evals += len(scen)
        if time.monotonic() - start >= seconds:
            break
    secs = time.monotonic() - start
    print('rate pyspf %d %.3f %.0f' % (evals, secs, evals / secs))


main()
