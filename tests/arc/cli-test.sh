#!/bin/sh
# mailvet seal when a key lookup fails temporarily (TIMEOUT, SERVFAIL in the zone): the
# chain is undetermined, --validate says so and exits 75, sealing writes nothing and
# exits 75 (EX_TEMPFAIL); a key that does not exist still fails the chain and is sealed
# with cv=fail. Needs $MAILVET (set by ctest).
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

$MAILVET keygen --algorithm rsa --domain example.com --selector s1 --out "$tmp/s1.pem" >"$tmp/good.zone"
echo "s1._domainkey.example.com TIMEOUT" >"$tmp/timeout.zone"
echo "s1._domainkey.example.com SERVFAIL" >"$tmp/servfail.zone"
echo "; no key published: NXDOMAIN" >"$tmp/nxdomain.zone"
printf 'Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=a@example.org\r\nFrom: a@example.org\r\nTo: list@example.com\r\nSubject: hi\r\n\r\nhello\r\n' >"$tmp/msg.eml"

seal() { # seal ZONE IN OUT: the exit status in $rc
	rc=0
	$MAILVET seal --zone "$1" --now 1700000000 --domain example.com --selector s1 \
		--key "$tmp/s1.pem" --authserv-id mx.example.com "$2" >"$3" 2>"$tmp/err" || rc=$?
}
validate() { # validate ZONE IN: the exit status in $rc, the output in $tmp/out
	rc=0
	$MAILVET seal --validate --zone "$1" --now 1700000000 "$2" >"$tmp/out" 2>&1 || rc=$?
}

seal "$tmp/good.zone" "$tmp/msg.eml" "$tmp/hop1.eml"
status seal_first_hop 0 $rc
seal "$tmp/good.zone" "$tmp/hop1.eml" "$tmp/hop2.eml"
status seal_good_key 0 $rc
check seal_good_key_cv "cv=pass; d=example.com; i=2" "$tmp/hop2.eml"

for how in timeout servfail; do
	validate "$tmp/$how.zone" "$tmp/hop1.eml"
	status validate_$how 75 $rc
	check validate_${how}_arc "arc=fail (rsa-sha256: i=1 example.com)" "$tmp/out"
	check validate_${how}_reason "reason=\"temporary DNS failure: ARC-Message-Signature i=1: key lookup failed (s1._domainkey.example.com: $how)\"" "$tmp/out"
	seal "$tmp/$how.zone" "$tmp/hop1.eml" "$tmp/hop2.eml"
	status seal_$how 75 $rc
	[ ! -s "$tmp/hop2.eml" ] || { echo "FAIL seal_${how}_writes_nothing:"; cat "$tmp/hop2.eml"; fails=$((fails + 1)); }
	check seal_${how}_message "not sealed, try again later: temporary DNS failure: " "$tmp/err"
done

# No key at all (NXDOMAIN) is no temporary failure: fail, and the seal says cv=fail.
validate "$tmp/nxdomain.zone" "$tmp/hop1.eml"
status validate_nxdomain 1 $rc
check validate_nxdomain_reason "reason=\"ARC-Message-Signature i=1: no key for signature" "$tmp/out"
seal "$tmp/nxdomain.zone" "$tmp/hop1.eml" "$tmp/hop2.eml"
status seal_nxdomain 0 $rc
check seal_nxdomain_cv "cv=fail; d=example.com; i=2" "$tmp/hop2.eml"

$MAILVET seal --help >"$tmp/out"
check help_exit_75 "exit status is 75" "$tmp/out"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all seal CLI checks passed"

# mailvet seal reads the message in pieces (lib/outbound): a pipe (spooled) seals
# like a file, and --verify on a pipe reads it twice and still validates.
fails=0
seal "$tmp/good.zone" "$tmp/msg.eml" "$tmp/file.eml"
rc=0
cat "$tmp/msg.eml" | $MAILVET seal --zone "$tmp/good.zone" --now 1700000000 --domain example.com \
	--selector s1 --key "$tmp/s1.pem" --authserv-id mx.example.com - >"$tmp/pipe.eml" || rc=$?
status seal_pipe 0 $rc
cmp -s "$tmp/file.eml" "$tmp/pipe.eml" || { echo "FAIL seal_pipe_equals_file"; fails=$((fails + 1)); }
rc=0
cat "$tmp/file.eml" | $MAILVET seal --zone "$tmp/good.zone" --now 1700000000 --domain example.com \
	--selector s1 --key "$tmp/s1.pem" --authserv-id mx.example.com --verify --ip 192.0.2.1 - \
	>"$tmp/verified.eml" || rc=$?
status seal_verify_pipe 0 $rc
check seal_verify_pipe_aar "ARC-Authentication-Results: i=2; mx.example.com; spf=" "$tmp/verified.eml"
validate "$tmp/good.zone" "$tmp/verified.eml"
status seal_verify_pipe_validates 0 $rc
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all seal streaming checks passed"
