#!/bin/sh
# mailvet verify from the command line: text and JSON output, exit status, Maildir, mbox,
# the summary, and a 10,000-message Maildir (timed). Needs $MAILVET (set by ctest).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
zone=$here/cli.zone
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME EXPECTED-SUBSTRING FILE
	if grep -qF -- "$2" "$3"; then :; else
		echo "FAIL $1: '$2' not in output:"; cat "$3"; fails=$((fails + 1))
	fi
}

V="$MAILVET verify --zone $zone --authserv-id mx.test --now 1700000000"

printf 'From: a@example.com\nSubject: ok\n\nhi\n' >"$tmp/good.eml"
printf 'From: a@example.com\nSubject: forged\n\nhi\n' >"$tmp/forged.eml"

# Text: the field, ready to prepend; exit 0 when accepted.
$V --ip 192.0.2.1 --helo mx.example.com --mail-from b@example.com "$tmp/good.eml" >"$tmp/out" 2>&1
check text_header "Authentication-Results: mx.test;" "$tmp/out"
check text_spf "spf=pass" "$tmp/out"
check text_dmarc "dmarc=pass" "$tmp/out"
check text_iprev "iprev=pass (mx.example.com) policy.iprev=192.0.2.1" "$tmp/out"

# A DMARC reject: exit 1, reply in JSON.
rc=0; $V --json --ip 198.51.100.1 --mail-from b@example.com --auth alice "$tmp/forged.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || { echo "FAIL reject_exit: $rc"; fails=$((fails + 1)); }
check json_action '"action": "reject"' "$tmp/out"
check json_reply '"reply": "550 5.7.1 Email rejected per DMARC policy for example.com"' "$tmp/out"
check json_auth '"method": "auth", "version": null, "result": "pass"' "$tmp/out"
/usr/bin/python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert set(o) == {"file", "header", "action", "reply", "results"}, o.keys()
methods = [r["method"] for r in o["results"]]
assert methods == ["spf", "dkim", "dmarc", "iprev", "auth"], methods
' "$tmp/out" || { echo "FAIL json_shape"; fails=$((fails + 1)); }

# --explain says which record and which alignment.
$V --explain --ip 192.0.2.1 --mail-from b@example.com "$tmp/good.eml" >"$tmp/out" 2>&1
check explain_record "# dmarc: _dmarc.example.com TXT: record p=reject" "$tmp/out"
check explain_align "# dmarc: spf pass for example.com: aligned (relaxed)" "$tmp/out"

# An mbox of three messages (one with a quoted >From line) and the summary.
{
	printf 'From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: a@example.com\n\nhello\n>From the start\n\n'
	printf 'From bob@example.com Mon Jan  1 00:00:00 2024\nFrom: b@quarantined.example\n\nx\n\n'
	printf 'From carol@example.com Mon Jan  1 00:00:00 2024\nFrom: c@example.com\n\ny\n'
} >"$tmp/box.mbox"
rc=0; $V --json --ip 192.0.2.1 --mail-from b@example.com "$tmp/box.mbox" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$(grep -c '"file": ' "$tmp/out")" -eq 3 ] || { echo "FAIL mbox_count"; cat "$tmp/out"; fails=$((fails + 1)); }
check mbox_label "box.mbox:2" "$tmp/out"
check mbox_quarantine '"action": "quarantine"' "$tmp/out"
check mbox_summary "3 messages" "$tmp/err"
check mbox_summary_actions "accept 2, reject 0, quarantine 1" "$tmp/err"

# Not a message: reported, exit 1, the others still verified.
printf 'this is not a header\n' >"$tmp/junk.eml"
rc=0; $V --ip 192.0.2.1 "$tmp/junk.eml" "$tmp/good.eml" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || { echo "FAIL junk_exit: $rc"; fails=$((fails + 1)); }
check junk_reported "not a message" "$tmp/err"
check junk_summary "unreadable 1" "$tmp/err"

# A Maildir of 10,000 messages (cur/ and new/), every 100th forged.
md=$tmp/Maildir
mkdir -p "$md/cur" "$md/new" "$md/tmp"
/usr/bin/python3 - "$md" <<'PY'
import os, sys
md = sys.argv[1]
for i in range(10000):
    sub = "cur" if i % 2 else "new"
    frm = "x@quarantined.example" if i % 100 == 0 else "a@example.com"
    with open(os.path.join(md, sub, "%d.host:2,S" % i if sub == "cur" else "%d.host" % i), "w") as f:
        f.write("From: %s\nTo: b@example.net\nSubject: message %d\nMessage-ID: <%d@example.com>\n\n" % (frm, i, i))
        f.write("line of body text\n" * 20)
PY
start=$(date +%s.%N)
rc=0; $V --json --ip 192.0.2.1 --mail-from b@example.com "$md" >"$tmp/out" 2>"$tmp/err" || rc=$?
end=$(date +%s.%N)
[ "$(wc -l <"$tmp/out")" -eq 10000 ] || { echo "FAIL maildir_count $(wc -l <"$tmp/out")"; fails=$((fails + 1)); }
check maildir_summary "10000 messages" "$tmp/err"
check maildir_actions "accept 9900, reject 0, quarantine 100, tempfail 0" "$tmp/err"
check maildir_dmarc "dmarc pass 9900, fail 100" "$tmp/err"
[ $rc -eq 1 ] || { echo "FAIL maildir_exit: $rc"; fails=$((fails + 1)); }
echo "10,000-message Maildir: $(echo "$end - $start" | bc) s; $(cat "$tmp/err")"

[ $fails -eq 0 ] && echo "cli-test: all passed"
exit $fails
