#!/bin/sh
# bench/verify/run.sh [BUILD] [N] — messages/s of `mailvet verify` on 4 KiB and 64 KiB messages
# with two DKIM signatures (rsa-sha256 2048 + ed25519), SPF, DMARC (p=reject) and one ARC set,
# warm caches, against two peers on the same messages in the same run:
#   - rspamd (Debian's), started here in the foreground on 127.0.0.1 with only its SPF, DKIM,
#     DMARC and ARC modules, DNS from an unbound started here on 127.0.0.1 that serves the
#     benchmark zone as local-data; driven by rspamc with N requests over 16 connections;
#   - dkimpy+authheaders (python3-authheaders), in-process, SPF result handed to it.
# Every server it starts is stopped by its PID on exit. Run by hand; not part of `make check`.
# Without rspamd or unbound installed the rspamd column says "n/a".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mv=$(cd "${1:-$here/../../build}" && pwd)/mailvet
n=${2:-2000}
py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mv-bench.XXXXXX")
ubpid='' rspid=''
cleanup() {
	if [ -n "$rspid" ]; then
		kids=$(ps -o pid= --ppid "$rspid" 2>/dev/null || true)
		kill "$rspid" 2>/dev/null || true
		wait "$rspid" 2>/dev/null || true
		for k in $kids; do kill "$k" 2>/dev/null || true; done
	fi
	if [ -n "$ubpid" ]; then
		kill "$ubpid" 2>/dev/null || true
		wait "$ubpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$tmp"

# Nanoseconds (monotonic enough for runs of seconds) and msg/s from a start time.
now() { date +%s%N; }
rate() { echo $(($1 * 1000000000 / ($(now) - $2))); }
free_port() { "$here/../../scripts/free-port"; }
# CPU seconds (user + system) used so far by the processes whose PIDs are given.
cpu_of() {
	"$py" -c '
import os, sys
t = 0
for p in sys.argv[1:]:
    try:
        f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
        t += int(f[11]) + int(f[12])
    except OSError:
        pass
print("%.3f" % (t / os.sysconf("SC_CLK_TCK")))' "$@"
}

# Keys, zone: the signer example.com (two keys, SPF, DMARC p=reject), the ARC sealer
# example.net, the client 192.0.2.1 with matching PTR and A.
"$mv" keygen --algorithm rsa --bits 2048 --domain example.com --selector rsa --out rsa.pem >zone
"$mv" keygen --algorithm ed25519 --domain example.com --selector ed --out ed.pem >>zone
"$mv" keygen --algorithm rsa --bits 2048 --domain example.net --selector arc --out arc.pem >>zone
cat >>zone <<'Z'
example.com TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com TXT "v=DMARC1; p=reject"
1.2.0.192.in-addr.arpa PTR mx.example.com
mx.example.com A 192.0.2.1
Z
envelope="--ip 192.0.2.1 --helo mx.example.com --mail-from b@example.com"

# unbound serving the zone as local-data; everything else refused (nothing leaves the host).
have_rspamd=
if command -v rspamd >/dev/null && command -v rspamc >/dev/null && command -v unbound >/dev/null; then
	have_rspamd=1
else
	echo "bench: rspamd, rspamc or unbound not installed: no rspamd column" >&2
fi
if [ -n "$have_rspamd" ]; then
	dnsport=$(free_port)
	{
		cat <<EOF
server:
  interface: 127.0.0.1
  port: $dnsport
  do-daemonize: no
  chroot: ""
  username: ""
  pidfile: ""
  use-syslog: no
  logfile: ""
  directory: "$tmp"
  do-ip6: no
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "." refuse
EOF
		"$py" - zone <<'PY'
import sys
zones, data = set(), []
for line in open(sys.argv[1]):
    p = line.split(None, 2)
    if len(p) != 3:
        continue
    name, typ, rdata = p[0].rstrip(".").lower() + ".", p[1].upper(), p[2].strip()
    if typ in ("PTR", "CNAME", "MX", "NS") and not rdata.endswith("."):
        rdata += "."
    labels = name.split(".")
    zones.add(".".join(labels[1:] if name.endswith(".in-addr.arpa.") else labels[-3:]))
    data.append("  local-data: '%s %s %s'" % (name, typ, rdata))
for z in sorted(zones):
    print('  local-zone: "%s" static' % z)
print("\n".join(data))
PY
		printf 'remote-control:\n  control-enable: no\n'
	} >unbound.conf
	unbound -d -c unbound.conf >unbound.log 2>&1 &
	ubpid=$!

	# rspamd: its own config (no /etc/rspamd/rspamd.conf, no Redis, no rules, no network):
	# C module dkim, Lua modules spf, dmarc and arc with Debian's module defaults; any
	# other Lua plugin has no config section and so is disabled ("disabling unconfigured
	# lua module" in the log). Two normal workers (one per core), no controller.
	rsport=$(free_port)
	mkdir -p rs/local.d rs/db rs/run rs/log
	cat >rs/rspamd.conf <<EOF
options {
  pidfile = "\$RUNDIR/rspamd.pid";
  filters = "dkim";
  url_tld = "\${SHAREDIR}/effective_tld_names.dat";
  cache_file = "\$DBDIR/symbols.cache";
  hs_cache_dir = "\$DBDIR/";
  tempdir = "\$DBDIR";
  local_addrs = [];
  dns { nameserver = ["127.0.0.1:$dnsport"]; timeout = 1s; retransmits = 2; }
}
logging { type = "file"; filename = "\$LOGDIR/rspamd.log"; level = "info"; }
worker "normal" { bind_socket = "127.0.0.1:$rsport"; count = 2; mime = true; }
modules { path = "\${PLUGINSDIR}"; }
.include "\$CONFDIR/modules.d/dkim.conf"
.include "\$CONFDIR/modules.d/spf.conf"
.include "\$CONFDIR/modules.d/dmarc.conf"
.include "\$CONFDIR/modules.d/arc.conf"
group "policies" { .include "\$CONFDIR/scores.d/policies_group.conf" }
EOF
	# local.d overrides: ARC only verifies (no keys, never signs).
	printf 'sign_inbound = false;\nsign_local = false;\nsign_authenticated = false;\n' >rs/local.d/arc.conf
	rspamd -f -i -c rs/rspamd.conf --var LOCAL_CONFDIR="$tmp/rs" --var DBDIR="$tmp/rs/db" \
		--var RUNDIR="$tmp/rs/run" --var LOGDIR="$tmp/rs/log" >rs/stdout.log 2>&1 &
	rspid=$!
	i=0
	until "$py" -c 'import sys, urllib.request
sys.exit(urllib.request.urlopen("http://127.0.0.1:%s/ping" % sys.argv[1], timeout=1).read().strip() != b"pong")' "$rsport" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 180 ] || ! kill -0 "$rspid" 2>/dev/null; then
			echo "bench: rspamd did not come up" >&2
			tail -20 rs/log/rspamd.log rs/stdout.log >&2 || true
			exit 1
		fi
		sleep 0.5
	done
	workers=$(ps -o pid= --ppid "$rspid" | tr '\n' ' ')
	echo "rspamd 127.0.0.1:$rsport (main $rspid, children $workers), unbound 127.0.0.1@$dnsport (pid $ubpid)"
	rspamc_env="-h 127.0.0.1:$rsport -t 60 -i 192.0.2.1 --helo mx.example.com --hostname mx.example.com -F b@example.com"
fi

for size in 4 64; do
	"$py" - "$size" >plain.eml <<'PY'
import sys
kib = int(sys.argv[1])
hdr = "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: bench\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <bench@example.com>\r\n\r\n"
line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
body = line * ((kib * 1024 - len(hdr)) // len(line))
sys.stdout.write(hdr + body)
PY
	# Signed now (rspamd checks t= against its clock), then sealed by example.net after
	# its own checks: one ARC set (i=1, cv=none) whose AAR carries them.
	t=$(date +%s)
	"$mv" sign --domain example.com --selector rsa --key rsa.pem --selector ed --key ed.pem --now "$t" plain.eml >signed.eml
	# shellcheck disable=SC2086
	"$mv" seal --domain example.net --selector arc --key arc.pem --authserv-id relay.example.net \
		--zone zone --now "$t" --verify $envelope signed.eml >msg.eml
	bytes=$(wc -c <msg.eml)
	rm -rf md md1 md2 && mkdir -p md/cur md1/cur md2/cur
	i=0
	while [ $i -lt "$n" ]; do
		cp msg.eml md/cur/$i
		if [ $((i % 2)) -eq 0 ]; then ln md/cur/$i md1/cur/$i; else ln md/cur/$i md2/cur/$i; fi
		i=$((i + 1))
	done
	"$mv" seal --validate --zone zone --ip 192.0.2.1 msg.eml | grep -q "arc=pass" || { echo "bench: ARC chain does not validate"; exit 1; }
	# shellcheck disable=SC2086
	"$mv" verify --zone zone $envelope --authserv-id mx.test msg.eml | grep -q "dmarc=pass" || { echo "bench: verify did not pass"; exit 1; }

	# mailvet, one process (single-threaded), wall time including process start-up.
	t0=$(now)
	# shellcheck disable=SC2086
	"$mv" verify --zone zone $envelope --authserv-id mx.test --json md >out.json 2>summary.txt || true
	mv1=$(rate "$n" "$t0")
	[ "$(grep -c 'dmarc=pass' out.json)" -eq "$n" ] || { echo "bench: mailvet did not pass every message"; cat summary.txt; exit 1; }
	[ "$(grep -c 'arc=pass' out.json)" -eq "$n" ] || { echo "bench: mailvet did not pass every ARC chain"; cat summary.txt; exit 1; }
	# mailvet, two processes (one per core) over the two halves.
	t0=$(now)
	# shellcheck disable=SC2086
	"$mv" verify --zone zone $envelope --authserv-id mx.test --json md1 >/dev/null 2>&1 &
	p1=$!
	# shellcheck disable=SC2086
	"$mv" verify --zone zone $envelope --authserv-id mx.test --json md2 >/dev/null 2>&1 &
	p2=$!
	wait $p1 || true
	wait $p2 || true
	mv2=$(rate "$n" "$t0")

	rs=n/a rscpu=n/a rsmv1=n/a rsmv2=n/a mvres=n/a
	if [ -n "$have_rspamd" ]; then
		# mailvet, one process, its libunbound backend against the same unbound (its
		# in-process cache warm after the first message).
		t0=$(now)
		# shellcheck disable=SC2086
		"$mv" verify --resolver "127.0.0.1@$dnsport" $envelope --authserv-id mx.test --json md >/dev/null 2>&1 || true
		mvres=$(rate "$n" "$t0")
		# shellcheck disable=SC2086
		rspamc $rspamc_env -n 16 md/cur >warm.txt # warm-up: every worker's DKIM and SPF caches
		c0=$(cpu_of $workers "$ubpid")
		t0=$(now)
		# shellcheck disable=SC2086
		rspamc $rspamc_env -n 16 md/cur >rspamc.txt
		rs=$(rate "$n" "$t0")
		c1=$(cpu_of $workers "$ubpid")
		rscpu=$(echo "scale=3; ($c1 - $c0) * 1000 / $n" | bc)
		for sym in 'R_DKIM_ALLOW.*example.com:s=rsa, example.com:s=ed' R_SPF_ALLOW DMARC_POLICY_ALLOW ARC_ALLOW; do
			got=$(grep -c "^Symbol: $sym" rspamc.txt || true)
			[ "$got" -eq "$n" ] || { echo "bench: rspamd: $sym in $got of $n results"; sed -n '1,20p' rspamc.txt; exit 1; }
		done
		rsmv1=$(echo "scale=1; $mv1 / $rs" | bc)
		rsmv2=$(echo "scale=1; $mv2 / $rs" | bc)
	fi

	pyrate=$("$py" - msg.eml zone "$n" <<'PY'
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
    r = authheaders.authenticate_message(msg, "mx.test", prev=prev, dkim=True, arc=True, dmarc=True, dnsfunc=dnsfunc)
dt = time.time() - t0
assert "dmarc=pass" in r and "arc=pass" in r, r
print("%.1f" % (n / dt))
PY
)
	echo "${size} KiB body (${bytes} bytes with the fields), $n messages:"
	echo "  mailvet verify, 1 process, --zone:       $mv1 msg/s"
	echo "  mailvet verify, 2 processes, --zone:     $mv2 msg/s"
	echo "  mailvet verify, 1 process, --resolver:   $mvres msg/s (libunbound to the local unbound)"
	echo "  rspamd, 2 workers, rspamc -n 16:         $rs msg/s ($rscpu ms CPU/msg in workers + unbound)"
	echo "  dkimpy+authheaders, 1 process:           $pyrate msg/s (first DKIM signature, ARC, DMARC; SPF given)"
	echo "  ratios: mailvet/rspamd ${rsmv1}x (1 process), ${rsmv2}x (2 processes);" \
		"mailvet/dkimpy+authheaders $(echo "scale=0; $mv1 / $pyrate" | bc)x (1 process each)"
done
