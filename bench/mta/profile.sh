#!/bin/sh
# bench/mta/profile.sh [BUILD_DIR] [inet|unix] [OUT_DIR] — where mailvetd's warm added latency goes
# (issue 18, "Make it the cheapest"; by hand, as root, not in make check).
#
# Runs bench/mta/run.py ways 1 and 2 at 4 KiB (100 messages under load, then paced 20
# messages/s for 45 s) and, during way 2's paced run, on mailvetd's worker process one
# after the other for 10 s each: `perf stat` (CPU time, context switches: thread hand-offs),
# `strace -f -c` (system calls: milter reads and replies per message) and `perf record -g`
# (where the CPU goes). Reports in OUT_DIR (default /tmp/mta-profile-MODE).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
MODE=${2:-inet}
OUT=${3:-/tmp/mta-profile-$MODE}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
MTA_MILTER=$MODE MTA_WAYS=1,2 MTA_SIZES=4 /usr/bin/python3 "$HERE/run.py" "$BUILD" 100 10 20 45 \
	>"$OUT/run.log" 2>&1 &
RUN=$!
until grep -q "mailvetd milter *load" "$OUT/run.log"; do
	kill -0 $RUN 2>/dev/null || { echo "run.py ended early: $OUT/run.log" >&2; exit 1; }
	sleep 1
done
sleep 2
SUP=$(pgrep -P $RUN -f "$BUILD/daemon/mailvetd" | head -1)
# The worker: the supervisor's child named mailvetd (the key and auth processes are
# mailvetd-keyd and mailvetd-authd); else the child with the most threads.
W=$(for p in $(pgrep -P "$SUP"); do [ "$(cat /proc/$p/comm)" = mailvetd ] && echo "$p"; done | head -1)
[ -n "$W" ] || W=$(for p in $(pgrep -P "$SUP"); do echo "$(ls /proc/$p/task | wc -l) $p"; done |
	sort -rn | head -1 | cut -d' ' -f2)
echo "load $(cut -d' ' -f1-3 /proc/loadavg); worker $W" | tee "$OUT/info.txt"
perf stat -e task-clock,context-switches,cpu-migrations --per-thread -p "$W" -o "$OUT/stat.txt" -- sleep 10
timeout -s INT 10 strace -f -c -p "$W" -o "$OUT/strace.txt" || true
perf record -q -g -p "$W" -o "$OUT/perf.data" -- sleep 10 2>/dev/null
wait $RUN || true
perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' | head -80 >"$OUT/report.txt"
perf report -i "$OUT/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' | head -20 >"$OUT/dso.txt"
grep -E '^\| 4 KiB' "$OUT/run.log"
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg); reports in $OUT"
