#!/bin/sh
# bench/verify/run.sh [BUILD] [N] — messages/s of `mailvet verify` (SPF, two DKIM signatures,
# DMARC, iprev) on 4 KiB and 64 KiB messages, warm cache (zone backend, in memory), against
# dkimpy+authheaders (python3-authheaders) on the same messages in the same run.
# Run by hand; not part of `make check`. rspamd: see README.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mv=$(cd "${1:-$here/../../build}" && pwd)/mailvet
n=${2:-2000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$mv" keygen --algorithm rsa --bits 2048 --domain example.com --selector rsa --out rsa.pem >zone
"$mv" keygen --algorithm ed25519 --domain example.com --selector ed --out ed.pem >>zone
cat >>zone <<'Z'
example.com TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com TXT "v=DMARC1; p=reject"
1.2.0.192.in-addr.arpa PTR mx.example.com
mx.example.com A 192.0.2.1
Z
for size in 4 64; do
	/usr/bin/python3 - "$size" >plain.eml <<'PY'
import sys
kib = int(sys.argv[1])
hdr = "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: bench\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <bench@example.com>\r\n\r\n"
line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
body = line * ((kib * 1024 - len(hdr)) // len(line))
sys.stdout.write(hdr + body)
PY
	"$mv" sign --domain example.com --selector rsa --key rsa.pem --selector ed --key ed.pem --now 1700000000 plain.eml >signed.eml
	rm -rf md && mkdir -p md/cur
	i=0; while [ $i -lt "$n" ]; do cp signed.eml md/cur/$i; i=$((i + 1)); done
	"$mv" verify --zone zone --ip 192.0.2.1 --mail-from b@example.com --authserv-id mx.test signed.eml | grep -q "dmarc=pass" || { echo "bench: verify did not pass"; exit 1; }
	"$mv" verify --zone zone --ip 192.0.2.1 --mail-from b@example.com --authserv-id mx.test --json md >/dev/null 2>summary.txt || true
	mvrate=$(sed -n 's/.*(\([0-9]*\)\/s).*/\1/p' summary.txt)
	pyrate=$(/usr/bin/python3 - signed.eml zone "$n" <<'PY'
import re, sys, time
import authheaders
msg = open(sys.argv[1], "rb").read()
recs = {}
for line in open(sys.argv[2]):
    p = line.split(None, 2)
    if len(p) == 3 and p[1] == "TXT":
        recs[p[0].rstrip(".").lower()] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', p[2]))
def dnsfunc(q, timeout=5):
    n = (q.decode() if isinstance(q, bytes) else q).rstrip(".").lower()
    t = recs.get(n)
    return None if t is None else (t.encode() if "._domainkey." in n else t)
n = max(1, int(sys.argv[3]) // 10)
prev = "Authentication-Results: mx.test; spf=pass smtp.mailfrom=b@example.com"
t0 = time.time()
for _ in range(n):
    r = authheaders.authenticate_message(msg, "mx.test", prev=prev, dkim=True, dmarc=True, dnsfunc=dnsfunc)
dt = time.time() - t0
assert "dmarc=pass" in r, r
print(int(n / dt))
PY
)
	echo "${size} KiB, two signatures (rsa-sha256 2048 + ed25519), SPF, DMARC, iprev: mailvet ${mvrate} msg/s; dkimpy+authheaders ${pyrate} msg/s (first signature only, SPF given); ratio $(echo "scale=1; $mvrate / $pyrate" | bc)x"
done
