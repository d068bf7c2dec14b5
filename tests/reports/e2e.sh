#!/bin/sh
# End to end: verify messages with --record-to, `report send --dry-run`, the
# schema check on every report written, and the reports imported back into
# another store summarize exactly as the records they were made from.
set -eu
: "${MAILVET:?}" "${MV_SOURCE_DIR:?}"
here="$MV_SOURCE_DIR/tests/reports"
schema="${MV_SHARED_DIR:-}/conformance/dmarc-reports/dmarc-xml-0.2.xsd"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

T0=1700000000 # 2023-11-14 22:13:20 UTC
msg() { # FILE FROM-DOMAIN
	printf 'From: a@%s\nTo: b@receiver.example\nSubject: hi\nMessage-ID: <%s@x>\n\nbody\n' \
		"$2" "$1" >"$t/$1"
}
msg pass.eml example.com
msg fail.eml example.com
msg test.eml testing.example
msg none.eml nopolicy.example
v() { # FILE IP DOMAIN
	"$MAILVET" verify --zone "$here/reports.zone" --now "$T0" --authserv-id mx.receiver.example \
		--no-iprev --ip "$2" --mail-from "a@$3" --record-to "sqlite:$t/rec.db" "$t/$1" >/dev/null || true
}
v pass.eml 192.0.2.10 example.com
v pass.eml 192.0.2.10 example.com
v fail.eml 198.51.100.7 example.com
v test.eml 198.51.100.7 testing.example
v none.eml 198.51.100.7 nopolicy.example

mkdir "$t/out"
"$MAILVET" report send "sqlite:$t/rec.db" --dry-run "$t/out" --period 24h \
	--now $((T0 + 2 * 86400)) --receiver mx.receiver.example --org-name "Receiver" \
	--email postmaster@receiver.example >"$t/send.out"
cat "$t/send.out"
n=$(ls "$t/out" | wc -l)
[ "$n" -eq 2 ] || fail "expected 2 reports (example.com, testing.example), got $n"
begin=$((T0 - T0 % 86400))
f1="$t/out/mx.receiver.example!example.com!$begin!$((begin + 86399))!"
ls "$f1"*.xml.gz >/dev/null 2>&1 || fail "no report named as RFC 9990 says: $(ls "$t/out")"
grep -q "Subject: Report Domain: example.com Submitter: mx.receiver.example Report-ID: <" \
	"$t/send.out" || fail "Subject"
grep -q -- "-> mailto:agg@example.com " "$t/send.out" || fail "the !size suffix was not removed"

if [ -f "$schema" ]; then
	for f in "$t"/out/*.xml.gz; do
		xmllint --noout --schema "$schema" "$f" 2>"$t/lint" || { cat "$t/lint"; fail "schema: $f"; }
	done
else
	echo "schema check skipped: $schema absent (MV_SHARED_DIR)"
fi
gzip -dc "$t"/out/*testing.example*.xml.gz | grep -q "<type>policy_test_mode</type>" ||
	fail "t=y: no policy_test_mode reason"

# Import: example.com as a message with a base64 attachment, testing.example as a zip.
python3 - "$t" <<'PY'
import base64, glob, sys, zipfile
t = sys.argv[1]
a = glob.glob(t + "/out/*!example.com!*")[0]
b = glob.glob(t + "/out/*!testing.example!*")[0]
body = base64.encodebytes(open(a, "rb").read()).decode()
name = a.rsplit("/", 1)[1]
open(t + "/report.eml", "w").write(
    "From: dmarc@mx.receiver.example\nSubject: Report\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nA report.\n"
    "--b1\nContent-Type: application/gzip\nContent-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename=\"%s\"\n\n%s--b1--\n" % (name, body))
import gzip
with zipfile.ZipFile(t + "/report.zip", "w") as z:
    z.writestr(b.rsplit("/", 1)[1][:-3], gzip.decompress(open(b, "rb").read()))
PY
"$MAILVET" report import "sqlite:$t/rcv.db" "$t/report.eml" "$t/report.zip"
"$MAILVET" report import "sqlite:$t/rcv.db" "$t/report.eml" | grep -q "already imported" ||
	fail "a second import is not a duplicate"
"$MAILVET" report show "sqlite:$t/rec.db" --recorded --json >"$t/recorded.json"
"$MAILVET" report show "sqlite:$t/rcv.db" --json >"$t/received.json"
cat "$t/received.json"
cmp "$t/recorded.json" "$t/received.json" || { diff "$t/recorded.json" "$t/received.json"; fail "import differs from the records"; }
grep -q '"domain": "example.com", "source_ip": "192.0.2.10", "messages": 2, "pass": 2' "$t/received.json" ||
	fail "example.com pass counts"
grep -q nopolicy "$t/received.json" && fail "virtual DMARC was recorded"
"$MAILVET" report show "sqlite:$t/rcv.db" | grep -q "198.51.100.7" || fail "table output"
"$MAILVET" report migrate "sqlite:$t/rcv.db" | grep -q "up to date" || fail "migrate"
echo "ok"
