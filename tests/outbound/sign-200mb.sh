#!/bin/sh
# outbound.sign_200mb_flat_memory: `mailvet sign` streams. A 200 MB message made on
# the fly is piped in (so it is spooled, never held), signed with rsa and ed25519
# while the peak RSS stays under MAX_RSS_KB, and `mailvet verify --zone` passes both
# signatures. Needs $MAILVET and $MV_BUILD_DIR (set by ctest), /usr/bin/time.
set -eu
MAX_RSS_KB=${MAX_RSS_KB:-30720}
BODY_BYTES=209715200
tmp=$(mktemp -d "${MV_BUILD_DIR:-/tmp}/sign200.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

$MAILVET keygen --algorithm rsa --domain example.com --selector big --out "$tmp/rsa.pem" >"$tmp/zone"
$MAILVET keygen --algorithm ed25519 --domain example.com --selector ed --out "$tmp/ed.pem" >>"$tmp/zone"
line=$(printf 'The quick brown fox jumps over the lazy dog, again and   again.\r')
{
	printf 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: big\r\n\r\n'
	yes "$line" | head -c $BODY_BYTES
} | /usr/bin/time -f '%M' -o "$tmp/rss" $MAILVET sign --domain example.com \
	--selector big --key "$tmp/rsa.pem" --selector ed --key "$tmp/ed.pem" \
	--now 1700000000 - >"$tmp/signed"
rss=$(tail -n 1 "$tmp/rss")
size=$(wc -c <"$tmp/signed")
echo "mailvet sign: $size bytes out, max RSS $rss KiB (limit $MAX_RSS_KB KiB)"
[ "$size" -gt $BODY_BYTES ] || { echo "FAIL: output too short"; exit 1; }
[ "$rss" -lt "$MAX_RSS_KB" ] || { echo "FAIL: max RSS $rss KiB is not flat"; exit 1; }
$MAILVET verify --zone "$tmp/zone" --now 1700000000 --ip 192.0.2.1 "$tmp/signed" >"$tmp/ar"
n=$(grep -o 'dkim=pass' "$tmp/ar" | wc -l)
[ "$n" -eq 2 ] || { echo "FAIL: want 2 dkim=pass:"; cat "$tmp/ar"; exit 1; }
echo "both signatures verify"
