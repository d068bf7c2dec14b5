#!/bin/sh
# `mailvet spf`: JSON and text output, identity choice, exit statuses.
set -u
zone="$MV_SOURCE_DIR/tests/spf/cli.zone"
fails=0

expect() { # NAME WANT ARGS...: stdout must equal WANT and the status be 0
	name=$1 want=$2
	shift 2
	got=$("$MAILVET" spf --zone "$zone" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [ "$got" != "$want" ]; then
		echo "FAIL $name (status $rc)"
		echo "  want: $want"
		echo "  got:  $got"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

status_is() { # NAME WANT-STATUS ARGS...
	name=$1 want=$2
	shift 2
	"$MAILVET" spf "$@" >/dev/null 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: status $rc, want $want"
		fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

expect mailfrom-pass-json \
	'{"result": "pass", "identity": "mailfrom", "domain": "example.com", "explanation": null}' \
	--ip 192.0.2.10 --helo mx.example.org --mail-from user@example.com --json
expect ip6-client-pass-json \
	'{"result": "pass", "identity": "mailfrom", "domain": "example.com", "explanation": null}' \
	--ip 2001:db8::25 --mail-from user@example.com --json
expect fail-with-exp-json \
	'{"result": "fail", "identity": "mailfrom", "domain": "example.com", "explanation": "203.0.113.1 may not send for example.com"}' \
	--ip 203.0.113.1 --helo mx.example.org --mail-from user@example.com --json
expect empty-mail-from-checks-helo \
	'{"result": "pass", "identity": "helo", "domain": "mx.example.org", "explanation": null}' \
	--ip 198.51.100.7 --helo mx.example.org --mail-from '' --json
expect identity-option-picks-helo \
	'{"result": "softfail", "identity": "helo", "domain": "mx.example.org", "explanation": null}' \
	--ip 192.0.2.10 --helo mx.example.org --mail-from user@example.com --identity helo --json
expect timeout-is-temperror-and-status-0 \
	'{"result": "temperror", "identity": "mailfrom", "domain": "slow.example.net", "explanation": null}' \
	--ip 192.0.2.10 --mail-from user@slow.example.net --json
expect text-line \
	'fail mailfrom example.com (-all): 203.0.113.1 may not send for example.com' \
	--ip 203.0.113.1 --mail-from user@example.com
expect none-text-line \
	"none mailfrom nothing.example (no SPF record at nothing.example)" \
	--ip 203.0.113.1 --mail-from user@nothing.example
expect spf-timeout-option-leaves-a-quick-check-alone \
	'{"result": "pass", "identity": "mailfrom", "domain": "example.com", "explanation": null}' \
	--ip 192.0.2.10 --mail-from user@example.com --spf-timeout 60000 --json
status_is help-is-0 0 --help
if "$MAILVET" spf --help | grep -q -- '--spf-timeout MS   time limit of the whole check'; then
	echo "ok   help-documents-spf-timeout"
else
	echo "FAIL help-documents-spf-timeout"
	fails=$((fails + 1))
fi
status_is bad-spf-timeout-is-2 2 --zone "$zone" --ip 1.2.3.4 --mail-from a@example.com --spf-timeout soon
status_is negative-spf-timeout-is-2 2 --zone "$zone" --ip 1.2.3.4 --mail-from a@example.com --spf-timeout -5
status_is missing-ip-is-2 2 --zone "$zone" --mail-from a@example.com
status_is bad-ip-is-2 2 --zone "$zone" --ip 1.2.3 --mail-from a@example.com
status_is unknown-option-is-2 2 --zone "$zone" --ip 1.2.3.4 --frobnicate
status_is bad-identity-is-2 2 --zone "$zone" --ip 1.2.3.4 --identity both
status_is missing-zone-file-is-2 2 --zone /nonexistent/zone --ip 1.2.3.4 --helo a.example
[ "$fails" -eq 0 ]
