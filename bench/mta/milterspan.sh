#!/bin/sh
# bench/mta/milterspan.sh [BUILD_DIR] [OUT_DIR] — how long each message spends in the milter
# conversation, from a packet trace (issue 18 "Profile"; by hand, as root, not in make check).
#
# Runs bench/mta/run.py ways 1 and 2 at 4 KiB with the milter over TCP (100 messages under
# load, then paced 20 messages/s for 30 s) and, during way 2's paced run, records 15 s of
# the milter port with tcpdump. Per message (a burst of packets on one Postfix connection,
# bursts split by 30 ms of silence): the time from Postfix's first packet to our last reply,
# and the packets each side wrote. This is the milter's share of the message's latency,
# Postfix's turnarounds included, without the SMTP client's noise.
set -eu
BUILD=$(cd "${1:-build}" && pwd)
OUT=${2:-/tmp/mta-milterspan}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
MTA_WAYS=1,2 MTA_SIZES=4 /usr/bin/python3 "$HERE/run.py" "$BUILD" 100 10 20 30 >"$OUT/run.log" 2>&1 &
RUN=$!
until grep -q "mailvetd milter *load" "$OUT/run.log"; do
	kill -0 $RUN 2>/dev/null || { echo "run.py ended early: $OUT/run.log" >&2; exit 1; }
	sleep 1
done
SUP=$(pgrep -P $RUN -f "$BUILD/daemon/mailvetd" | head -1)
CONF=$(tr '\0' ' ' </proc/"$SUP"/cmdline | sed 's/.* -c //; s/ *$//')
PORT=$(sed -n 's/^socket = inet:\([0-9]*\)@.*/\1/p' "$CONF" | head -1)
echo "load $(cut -d' ' -f1-3 /proc/loadavg); milter port $PORT" | tee "$OUT/info.txt"
timeout -s INT 15 tcpdump -q -n -i lo -w "$OUT/milter.pcap" "tcp port $PORT" 2>/dev/null || true
wait $RUN || true
/usr/bin/python3 "$HERE/milterspan.py" "$OUT/milter.pcap" "$PORT" | tee "$OUT/span.txt"
grep -E '^\| 4 KiB' "$OUT/run.log"
