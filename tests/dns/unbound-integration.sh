#!/bin/sh
# Integration test of the libunbound backend against a real DNS server:
# start Debian's unbound in the foreground on 127.0.0.1 at a free port with
# the zone of unbound-test.conf.in, wait until it answers, run the test
# program ($1) with MV_DNS_TEST_SERVER set, stop the server by its PID.
# Fails (not skips) when unbound is not installed.
set -u
prog=$1
here=$(cd "$(dirname "$0")" && pwd)
unbound=$(command -v unbound || echo /usr/sbin/unbound)
[ -x "$unbound" ] || { echo "FAIL: unbound is not installed (scripts/install-deps --test)"; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

dir=$(mktemp -d "${TMPDIR:-/tmp}/mv-unbound.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# A port free for both UDP and TCP (scripts/free-port: outside the ephemeral range), reserved
# for this script by its lock (tests/daemon/testports.py), held on fd 9 until the script exits;
# then a DNS query until the server answers.
free_port() {
	while :; do
		port=$("$here/../../scripts/free-port") || exit 1
		exec 9<"/tmp/mailvet-test-ports/$port" && flock -n 9 && return 0
		echo "unbound-integration: port $port was taken meanwhile, picking another"
	done
}
answers() {
	"$py" -c '
import socket, struct, sys
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x04host\x02mv\x07example\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(512)
sys.exit(0 if r[:2] == q[:2] and struct.unpack(">H", r[6:8])[0] == 1 else 1)' "$1" 2>/dev/null
}

up=
for attempt in 1 2 3 4 5; do
	free_port
	sed -e "s|@PORT@|$port|" -e "s|@DIR@|$dir|" "$here/unbound-test.conf.in" >"$dir/unbound.conf"
	"$unbound" -d -c "$dir/unbound.conf" >"$dir/unbound.log" 2>&1 9<&- &
	pid=$!
	i=0
	while [ $i -lt 50 ]; do
		if answers "$port"; then up=1; break; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$up" ] && break
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
done
if [ -z "$up" ]; then
	echo "unbound-integration: the server did not come up" >&2
	cat "$dir/unbound.log" >&2
	exit 1
fi
echo "unbound-integration: server on 127.0.0.1@$port (pid $pid)"
MV_DNS_TEST_SERVER=127.0.0.1@$port "$prog"
