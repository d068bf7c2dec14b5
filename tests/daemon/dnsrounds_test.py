#!/usr/bin/python3
"""daemon.dns_rounds: a message costs its longest DNS dependency chain, not the sum of its queries.

Usage: dnsrounds_test.py MAILVETD. mailvetd (milter) resolves through bench/mta/slowdns.py,
an authoritative server on 127.0.0.1 that answers every query DELAY after it arrived (each on
its own timer). Each message has its own names (no cache helps): MAIL FROM b@D with
D TXT "v=spf1 include:_spf.D -all", client 198.18.7.N whose PTR is mx.D with A 198.18.7.N,
From alice@D with _dmarc.D. The longest chain is 2 rounds (SPF: D then _spf.D; iprev: PTR
then A): the prefetch's second round (lib/verify/prefetch.c) asks _spf.D and mx.D's A together.
Asked one check after the other (SPF, then iprev) they made 3 rounds. Asserted: spf, dmarc and
iprev pass; the server saw exactly 2 rounds of queries; the session took under 3 x DELAY more
than the same session with the server answering at once (what the DNS cost, without the time
mailvetd takes for the rest, which under ASan and ctest -j2 can be a good part of a DELAY).
"""
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "mta"))
import harness  # noqa: E402
from milterproto import MilterClient  # noqa: E402
import slowdns  # noqa: E402

DELAY = 0.3  # seconds per answer: 2 rounds are 0.6 s, 3 rounds 0.9 s
SAMPLES = 3  # sessions timed with the delay and without it: the best of each is compared
APEX = "dnsrounds"  # no public suffix, and not one libunbound answers itself (.test)
REV = "7.18.198.in-addr.arpa"


def zone_for(zone, n):
    d = "m%d.%s" % (n, APEX)
    ip = "198.18.7.%d" % n
    zone.add(d, "TXT", '"v=spf1 include:_spf.%s -all"' % d)
    zone.add("_spf." + d, "TXT", '"v=spf1 ip4:%s -all"' % ip)
    zone.add("mx." + d, "A", ip)
    zone.add("%d.%s" % (n, REV), "PTR", "mx." + d)
    zone.add("_dmarc." + d, "TXT", '"v=DMARC1; p=reject"')
    return d, ip


def rounds(times):
    """Rounds of queries: a query that arrived before the current round's first answer came
    back (DELAY after that round's first query) cannot depend on it."""
    n, start = 0, None
    for t in sorted(times):
        if start is None or t >= start + DELAY * 0.9:
            n, start = n + 1, t
    return n


def one_message(d, server, zone, n):
    dom, ip = zone_for(zone, n)
    before = len(server.log)
    t0 = time.monotonic()
    c = MilterClient("127.0.0.1", d.port)
    c.negotiate()
    assert c.connect("mx." + dom, ip).final == "continue"
    assert c.helo("mx." + dom).final == "continue"
    headers = [("From", " alice@%s" % dom), ("To", " bob@dest.example"),
               ("Subject", " rounds %d" % n), ("Message-ID", " <r%d@%s>" % (n, dom))]
    a = c.message("b@" + dom, headers, b"hello\r\n", queue_id="ROUNDS%d" % n)
    took = time.monotonic() - t0
    c.quit()
    with server.loglock:
        log = server.log[before:]
    times = [e[0] for e in log if dom in e[1] or REV in e[1]]
    ar = [m[3] for m in a.inserted("Authentication-Results")]
    return a, ar, took, times, log


def session_times(d, server, zone, first, n=SAMPLES):
    """n sessions with the server's delay at 0 and n with DELAY, in turn (a busy moment slows
    both), each with names of its own: the times of each kind, and one_message's results for
    the last session with DELAY."""
    instant, slow = [], []
    for k in range(n):
        server.delay = 0
        instant.append(one_message(d, server, zone, first + 2 * k)[2])
        server.delay = DELAY
        got = one_message(d, server, zone, first + 2 * k + 1)
        slow.append(got[2])
    return instant, slow, got


def main():
    work = harness.tempdir("mv-dnsrounds-")
    zone = slowdns.Zone([APEX, REV])
    server = slowdns.SlowServer(zone, delay=DELAY)
    d = harness.Mailvetd(work, extra="[dns]\nzone_file =\nresolver = 127.0.0.1@%d\n"
                         "timeout_ms = 5000\n" % server.port)
    failures = 0
    try:
        d.start()
        one_message(d, server, zone, 1)  # warm-up: the process, not the DNS (names of its own)
        instant, slow, (a, ar, _, times, log) = session_times(d, server, zone, 2)
        dns_cost = min(slow) - min(instant)
        r = rounds(times)
        print("sessions %s ms with the delay, %s ms without: the DNS cost %.0f ms"
              % (["%.0f" % (t * 1000) for t in slow], ["%.0f" % (t * 1000) for t in instant],
                 dns_cost * 1000))
        print("last session: %d queries in %d rounds (delay %.0f ms)"
              % (len(times), r, DELAY * 1000))
        for e in log:
            print("  %.3f %s %s" % (e[0] - log[0][0], e[1], e[2]))
        checks = [
            ("verdict continue", a.final == "continue"),
            ("one Authentication-Results", len(ar) == 1),
            ("spf=pass", bool(ar) and re.search(r"\bspf=pass\b", ar[0]) is not None),
            ("dmarc=pass", bool(ar) and re.search(r"\bdmarc=pass\b", ar[0]) is not None),
            ("iprev=pass", bool(ar) and re.search(r"\biprev=pass\b", ar[0]) is not None),
            ("_spf.D and mx.D A asked", any(e[1].startswith("_spf.") for e in log)
             and any(e[1].startswith("mx.") and e[2] == "A" for e in log)),
            ("2 rounds (the longest chain)", r == 2),
            ("DNS cost under 3 x delay", dns_cost < 3 * DELAY),
        ]
        for name, ok in checks:
            print("%s %s" % ("ok  " if ok else "FAIL", name))
            failures += not ok
        if ar:
            print(ar[0])
    except Exception:  # noqa: BLE001 — a test that cannot run fails
        import traceback
        traceback.print_exc(file=sys.stdout)
        failures += 1
    finally:
        rc = harness.stop_checked(d) if d.proc else 1
        server.close()
    return harness.finish(work, failures, rc, d)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.environ["MAILVETD"] = sys.argv[1]
    sys.exit(main())
