#!/bin/sh
# mailvet sign: --body-length past the body writes the body's length (and verifies),
# --headers without From is refused naming RFC 6376 §5.4, a pipe signs like a file,
# a From the key table does not cover is still signed with --domain (third party).
# Needs $MAILVET (set by ctest).
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME EXPECTED-SUBSTRING FILE
	if grep -qF -- "$2" "$3"; then :; else
		echo "FAIL $1: '$2' not in output:"; cat "$3"; fails=$((fails + 1))
	fi
}
status() { # status NAME WANT GOT
	[ "$3" -eq "$2" ] || { echo "FAIL $1: exit status $3, want $2"; fails=$((fails + 1)); }
}
sign() { # sign OUT ARGS...: the exit status in $rc, stderr in $tmp/err
	out=$1
	shift
	rc=0
	$MAILVET sign --domain example.com --selector s1 --key "$tmp/s1.pem" --now 1700000000 \
		"$@" >"$out" 2>"$tmp/err" || rc=$?
}
verify() { # verify FILE: Authentication-Results in $tmp/ar
	$MAILVET verify --zone "$tmp/zone" --now 1700000000 --ip 192.0.2.1 "$1" >"$tmp/ar"
}

$MAILVET keygen --algorithm ed25519 --domain example.com --selector s1 --out "$tmp/s1.pem" >"$tmp/zone"
printf 'From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhello\r\n\r\n\r\n' >"$tmp/msg"

sign "$tmp/long" --body-length 1000 "$tmp/msg"
status body_length_past_body 0 $rc
check body_length_clamped "l=7;" "$tmp/long"
verify "$tmp/long"
check body_length_clamped_verifies "dkim=pass" "$tmp/ar"
sign "$tmp/short" --body-length 3 "$tmp/msg"
check body_length_within_body "l=3;" "$tmp/short"

sign "$tmp/out" --headers to:subject "$tmp/msg"
status headers_without_from 2 $rc
check headers_without_from_says_why "must include From (RFC 6376 §5.4)" "$tmp/err"
sign "$tmp/out" --headers to:from:subject "$tmp/msg"
status headers_with_from 0 $rc

sign "$tmp/file" "$tmp/msg"
rc=0
$MAILVET sign --domain example.com --selector s1 --key "$tmp/s1.pem" --now 1700000000 - \
	<"$tmp/msg" | cat >"$tmp/pipe" || rc=$?
status pipe 0 $rc
cmp -s "$tmp/file" "$tmp/pipe" || { echo "FAIL pipe_equals_file"; fails=$((fails + 1)); }
cat "$tmp/msg" | $MAILVET sign --domain example.com --selector s1 --key "$tmp/s1.pem" \
	--now 1700000000 - >"$tmp/pipe2"
cmp -s "$tmp/file" "$tmp/pipe2" || { echo "FAIL spooled_pipe_equals_file"; fails=$((fails + 1)); }

printf 'From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n' >"$tmp/foreign"
sign "$tmp/third" "$tmp/foreign"
status third_party 0 $rc
check third_party_d "d=example.com" "$tmp/third"

printf 'From a@example.com Mon Jan  1 00:00:00 2024\r\nFrom: a@example.com\r\n\r\nx\r\n' >"$tmp/mbox"
sign "$tmp/out" "$tmp/mbox"
status malformed_header 1 $rc

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all sign CLI checks passed"
