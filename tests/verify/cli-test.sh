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
assert methods == ["spf", "dkim", "arc", "dmarc", "iprev", "auth"], methods
assert o["results"][2]["result"] == "none", o["results"][2]
' "$tmp/out" || { echo "FAIL json_shape"; fails=$((fails + 1)); }

# --explain says which record and which alignment.
$V --explain --ip 192.0.2.1 --mail-from b@example.com "$tmp/good.eml" >"$tmp/out" 2>&1
check explain_record "# dmarc: _dmarc.example.com TXT: record p=reject" "$tmp/out"
check explain_align "# dmarc: spf pass for example.com: aligned (relaxed)" "$tmp/out"

# ARC (RFC 8617) through a mailing list that seals: `mailvet seal --verify` at the list
# (its Authentication-Results carry arc= once, lib/verify's), then the final receiver.
$MAILVET keygen --algorithm ed25519 --domain lists.example.org --selector arc --out "$tmp/list.pem" >"$tmp/list.rec"
$MAILVET keygen --algorithm ed25519 --domain fwd.example.net --selector arc --out "$tmp/fwd.pem" >"$tmp/fwd.rec"
cat "$zone" "$tmp/list.rec" "$tmp/fwd.rec" >"$tmp/arc.zone"
A="$MAILVET verify --zone $tmp/arc.zone --authserv-id mx.test --now 1700000100"
S="$MAILVET seal --zone $tmp/arc.zone --now 1700000000 --selector arc"
printf 'From: a@example.com\r\nTo: list@lists.example.org\r\nSubject: hello\r\n\r\nhi\r\n' >"$tmp/post.eml"
$S --verify --ip 192.0.2.1 --mail-from b@example.com --domain lists.example.org --key "$tmp/list.pem" \
	--authserv-id lists.example.org "$tmp/post.eml" >"$tmp/hop1.eml"
[ "$(grep -Ec '(^|[^m])arc=' "$tmp/hop1.eml")" -eq 2 ] || { echo "FAIL seal_verify_one_arc (one in the AR, one in the AAR):"; cat "$tmp/hop1.eml"; fails=$((fails + 1)); }
check seal_verify_arc_none "arc=none smtp.remote-ip=192.0.2.1" "$tmp/hop1.eml"
check seal_verify_dmarc "dmarc=pass" "$tmp/hop1.eml"
# The receiver: DMARC fails (the list's MAIL FROM, no signature), the chain passes.
rc=0; $A --ip 203.0.113.5 --mail-from bounce@lists.example.org "$tmp/hop1.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || { echo "FAIL arc_untrusted_exit: $rc"; fails=$((fails + 1)); }
check arc_pass "arc=pass (ed25519-sha256: i=1 lists.example.org)" "$tmp/out"
check arc_props "smtp.remote-ip=203.0.113.5 header.oldest-pass=0" "$tmp/out"
check arc_untrusted_policy "policy.dmarc=reject" "$tmp/out"
# A trusted sealer: the policy is not applied, and the field says why.
rc=0; $A --json --ip 203.0.113.5 --mail-from bounce@lists.example.org --trusted-arc-sealer other.example \
	--trusted-arc-sealer Lists.Example.ORG "$tmp/hop1.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { echo "FAIL arc_trusted_exit: $rc"; fails=$((fails + 1)); }
check arc_trusted_action '"action": "accept"' "$tmp/out"
check arc_trusted_comment "overridden by trusted ARC sealer lists.example.org" "$tmp/out"
check arc_trusted_policy "policy.dmarc=none" "$tmp/out"
check arc_trusted_fail "dmarc=fail" "$tmp/out"
# Changed after sealing: the chain fails and a trusted sealer no longer helps.
sed 's/^hi/hi, changed/' "$tmp/hop1.eml" >"$tmp/changed.eml"
rc=0; $A --ip 203.0.113.5 --mail-from bounce@lists.example.org --trusted-arc-sealer lists.example.org "$tmp/changed.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || { echo "FAIL arc_broken_exit: $rc"; fails=$((fails + 1)); }
check arc_broken "arc=fail" "$tmp/out"
check arc_broken_policy "policy.dmarc=reject" "$tmp/out"
# A second hop: its AR says arc=pass (once), its seal cv=pass; the receiver trusts
# only the first sealer, which is not the newest: no override.
$S --verify --ip 192.0.2.1 --domain fwd.example.net --key "$tmp/fwd.pem" --authserv-id fwd.example.net \
	"$tmp/hop1.eml" >"$tmp/hop2.eml" 2>"$tmp/err" || { echo "FAIL hop2_seal"; cat "$tmp/err"; fails=$((fails + 1)); }
/usr/bin/python3 - "$tmp/hop2.eml" <<'PY' || { echo "FAIL hop2_one_arc"; cat "$tmp/hop2.eml"; fails=$((fails + 1)); }
import re, sys
head = open(sys.argv[1], newline="").read().split("\r\n\r\n")[0]
fields = re.split(r"\r\n(?![ \t])", head)
ar = [f for f in fields if f.startswith("Authentication-Results: fwd.example.net")]
assert len(ar) == 1 and len(re.findall(r"\barc=", ar[0])) == 1 and "arc=pass" in ar[0], ar
seals = [f for f in fields if f.startswith("ARC-Seal:") and "i=2" in f]
assert len(seals) == 1 and "cv=pass" in seals[0], seals
PY
rc=0; $A --ip 203.0.113.5 --mail-from x@fwd.example.net --trusted-arc-sealer lists.example.org "$tmp/hop2.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || { echo "FAIL arc_older_trusted_exit: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
check arc_hop2 "arc=pass (ed25519-sha256: i=1 lists.example.org" "$tmp/out"
rc=0; $A --ip 203.0.113.5 --mail-from x@fwd.example.net --trusted-arc-sealer fwd.example.net "$tmp/hop2.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { echo "FAIL arc_newest_trusted_exit: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }

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

# Issue 10. A From no parser accepts (or two From fields) is refused by default when a
# domain read from it publishes p=reject, accepted when it publishes p=none.
n=0
for from in 'From: ceo@DOMAIN.' 'From: CEO <ceo@DOMAIN' 'From: <ceo@DOMAIN>;' 'From: a@evil.example\nFrom: ceo@DOMAIN'; do
	n=$((n + 1))
	for dom in bank.example open.example; do
		printf "$(echo "$from" | sed "s/DOMAIN/$dom/")"'\nSubject: bad from\n\nhi\n' >"$tmp/badfrom$n.eml"
		rc=0; $V --ip 198.51.100.1 "$tmp/badfrom$n.eml" >"$tmp/out" 2>&1 || rc=$?
		check "bad_from_${n}_${dom}_permerror" "dmarc=permerror" "$tmp/out"
		if [ $dom = bank.example ]; then
			[ $rc -eq 1 ] || { echo "FAIL bad_from_${n}_protected_exit: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
			rc=0; $V --json --ip 198.51.100.1 "$tmp/badfrom$n.eml" >"$tmp/out" 2>&1 || rc=$?
			check "bad_from_${n}_protected_reply" '"reply": "550 5.7.1 Message has no single author domain (' "$tmp/out"
			check "bad_from_${n}_protected_domain" 'DMARC policy reject for bank.example"' "$tmp/out"
		else
			[ $rc -eq 0 ] || { echo "FAIL bad_from_${n}_unprotected_exit: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
		fi
	done
done
# --reject-bad-from still refuses every bad From, protected or not.
rc=0; $V --reject-bad-from --ip 198.51.100.1 "$tmp/badfrom1.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || { echo "FAIL reject_bad_from_unprotected_exit: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }

# Issue 10. A From domain of 247 octets: _dmarc.<it> is too long to ask, bank.example's
# record still applies, in both modes.
printf 'From: ceo@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.dddddddddddddddddddddddddddddddddddddddddd.bank.example\nSubject: long\n\nhi\n' >"$tmp/long.eml"
for mode in "" --rfc7489; do
	rc=0; $V $mode --ip 198.51.100.1 "$tmp/long.eml" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 1 ] || { echo "FAIL long_from_domain_exit$mode: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
	check "long_from_domain_reject$mode" "policy.dmarc=reject" "$tmp/out"
done

# Issue 10. t=y on p=reject: quarantine, not accept.
printf 'From: a@testing.example\nSubject: t=y\n\nhi\n' >"$tmp/testing.eml"
rc=0; $V --json --ip 198.51.100.1 "$tmp/testing.eml" >"$tmp/out" 2>&1 || rc=$?
check testing_flag_quarantines '"action": "quarantine"' "$tmp/out"
check testing_flag_policy "policy.dmarc=quarantine" "$tmp/out"

# Issue 11. Options made from the settings table, their older spellings and --no-NAME
# give the same verdicts; a bad value is a usage error naming the option.
for opts in "--iprev=no --arc=no" "--no-iprev --no-arc" "--iprev=off --no-arc"; do
	$V $opts --ip 192.0.2.1 --mail-from b@example.com "$tmp/good.eml" >"$tmp/out" 2>&1
	if grep -qE '^ *(iprev|arc)=' "$tmp/out"; then echo "FAIL settings_off ($opts):"; cat "$tmp/out"; fails=$((fails + 1)); fi
done
for opts in "--report-only" "--dmarc-enforce=no" "--no-dmarc-enforce"; do
	rc=0; $V $opts --ip 198.51.100.1 "$tmp/forged.eml" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 0 ] || { echo "FAIL settings_report_only ($opts): $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
done
for opts in "--reject-bad-from" "--bad-from=reject" "--bad-from reject"; do
	rc=0; $V $opts --ip 198.51.100.1 "$tmp/badfrom1.eml" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 1 ] || { echo "FAIL settings_bad_from ($opts): $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
done
rc=0; $V --bad-from=accept --ip 198.51.100.1 "$tmp/badfrom1.eml" >"$tmp/out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { echo "FAIL settings_bad_from_accept: $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
for bad in "--budget-ms=600001" "--dns-budget x" "--dmarc-mode=rfc1234" "--iprev=maybe" "--dmarc-mode=rfc7489 --psl=$tmp/none.dat"; do
	rc=0; $V $bad "$tmp/good.eml" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 2 ] || { echo "FAIL settings_bad_value ($bad): $rc"; cat "$tmp/out"; fails=$((fails + 1)); }
done
$V --budget-ms=600001 "$tmp/good.eml" >"$tmp/out" 2>&1 || true
check settings_bad_value_message "mailvet verify: --budget-ms: expected a number from 0 to 600000" "$tmp/out"
$V --dns-budget x "$tmp/good.eml" >"$tmp/out" 2>&1 || true
check settings_alias_message "mailvet verify: --dns-budget: expected a number" "$tmp/out"

# Issue 16, the CLI's rough edges. A missing file says the errno text in every command.
for cmd in "parse" "verify" "trust --authserv-id x" "sign --domain a.example --selector s --key" \
	"seal --validate"; do
	rc=0; $MAILVET $cmd "$tmp/missing.eml" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 2 ] || { echo "FAIL missing_file_exit ($cmd): $rc"; fails=$((fails + 1)); }
	check "missing_file_says_no_such_file ($cmd)" "missing.eml: No such file or directory" "$tmp/out"
done
# An --ip that is not an address is a usage error, not a value written into the result.
for cmd in "verify" "seal --validate"; do
	rc=0; $MAILVET $cmd --ip 300.1.1.1 "$tmp/good.eml" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 2 ] || { echo "FAIL bad_ip_is_a_usage_error ($cmd): $rc"; fails=$((fails + 1)); }
	check "bad_ip_is_named ($cmd)" "--ip 300.1.1.1: not an IPv4 or IPv6 address" "$tmp/out"
done
# Without --ip SPF was not checked, and the field says so rather than "no record".
$V "$tmp/good.eml" >"$tmp/out" 2>&1 || true
check spf_not_checked_without_ip 'spf=none reason="not checked: no client IP address"' "$tmp/out"
$V --ip 192.0.2.1 "$tmp/good.eml" >"$tmp/out" 2>&1 || true
check spf_not_checked_without_mail_from 'spf=none reason="not checked: no MAIL FROM"' "$tmp/out"
# One default authserv-id: this host's name, in verify and in seal --validate.
host=$(/usr/bin/python3 -c 'import socket; print(socket.gethostname() or "localhost")')
$MAILVET verify --zone "$zone" "$tmp/good.eml" >"$tmp/out" 2>&1 || true
check default_authserv_id_verify "Authentication-Results: $host;" "$tmp/out"
$MAILVET seal --validate --zone "$zone" "$tmp/good.eml" >"$tmp/out" 2>&1 || true
check default_authserv_id_seal "Authentication-Results: $host;" "$tmp/out"

# The README's tour names only example files that exist.
for f in $(grep -o 'examples/[A-Za-z0-9._/-]*' "$here/../../README.md" | sort -u); do
	[ -e "$here/../../$f" ] || { echo "FAIL readme_tour_files_exist: $f"; fails=$((fails + 1)); }
done
# Every man page carries the version `mailvet --version` prints, and one date.
version=$($MAILVET --version | sed 's/^mailvet //')
dates=$(sed -s -n '1s/^\.TH [^ ]* [0-9] "\([^"]*\)" "mailvet \([^"]*\)".*/\1|\2/p' "$here"/../../man/*.[1-8] | sort -u)
[ "$(echo "$dates" | wc -l)" -eq 1 ] && [ "${dates#*|}" = "$version" ] ||
	{ echo "FAIL man_pages_have_one_version_and_date: $dates (mailvet $version)"; fails=$((fails + 1)); }

[ $fails -eq 0 ] && echo "cli-test: all passed"
exit $fails
