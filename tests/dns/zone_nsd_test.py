#!/usr/bin/python3
"""dns.zone_nsd: a zone in RFC 1035 master-file syntax is what nsd reads, and
what nsd prints back (nsd-checkzone -p: $ORIGIN changes, relative owners,
blank-owner lines, a SOA in parentheses) gives the same verdict through
`mailvet verify --zone` as the zone as written (docs/zone-file.md).

usage: zone_nsd_test.py MAILVET
Fails (never skips) when nsd-checkzone is missing: nsd is a test peer
(scripts/install-deps --test)."""
import os
import subprocess
import sys
import tempfile

ZONE = """$ORIGIN example.org.
$TTL 1h
@   IN  SOA ns1 hostmaster ( 2026120301 ; serial
            7200 3600 1209600 300 )     ; refresh retry expire minimum
    IN  NS  ns1
    IN  MX  10 mail
    300 IN TXT "v=spf1 ip4:192.0.2.0/24 " "-all"
mail    IN  A   192.0.2.25
ns1     A       192.0.2.53
_dmarc  IN 300 TXT ( "v=DMARC1; p=reject; "
                     "rua=mailto:dmarc\\@example.org" )
"""

MESSAGE = (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: zone test\r\n"
           b"Date: Thu, 3 Dec 2026 10:00:00 +0000\r\nMessage-ID: <z@example.org>\r\n\r\nhi\r\n")


def verdict(mailvet, zone, message, ip, accepted):
    out = subprocess.run([mailvet, "verify", "--zone", zone, "--ip", ip,
                          "--mail-from", "a@example.org", "--helo", "mail.example.org",
                          message], capture_output=True, text=True, timeout=60)
    if out.returncode != (0 if accepted else 1):  # mailvet(1): 1 = not accepted
        sys.exit("mailvet verify --zone %s failed (%d): %s" % (zone, out.returncode, out.stderr))
    return " ".join(out.stdout.split())


def main():
    mailvet = sys.argv[1]
    checkzone = "/usr/sbin/nsd-checkzone"
    if not os.access(checkzone, os.X_OK):
        sys.exit("FAIL: %s not found (install nsd: scripts/install-deps --test)" % checkzone)
    with tempfile.TemporaryDirectory(prefix="mv-zone-") as d:
        zone, printed, message = (os.path.join(d, n) for n in ("zone", "nsd.zone", "m.eml"))
        with open(zone, "w") as f:
            f.write(ZONE)
        with open(message, "wb") as f:
            f.write(MESSAGE)
        out = subprocess.run([checkzone, "-p", "example.org", zone], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            sys.exit("FAIL: nsd refuses the test zone: %s%s" % (out.stdout, out.stderr))
        with open(printed, "w") as f:
            f.write(out.stdout)
        print("nsd-checkzone -p printed:\n" + out.stdout)
        failed = 0
        for ip, ok_, want in (("192.0.2.25", True, ["spf=pass", "dmarc=pass (p=reject)"]),
                              ("198.51.100.1", False, ["spf=fail", "dmarc=fail"])):
            mine = verdict(mailvet, zone, message, ip, ok_)
            nsds = verdict(mailvet, printed, message, ip, ok_)
            for w in want:
                for name, got in (("as written", mine), ("as nsd prints it", nsds)):
                    ok = w in got
                    failed += not ok
                    print("%s  %s from %s: %s" % ("ok  " if ok else "FAIL", name, ip, w))
            if mine != nsds:
                failed += 1
                print("FAIL: verdicts differ:\n  %s\n  %s" % (mine, nsds))
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
