#!/bin/sh
# `mailvet keygen` never replaces a file or follows a link unless told to
# (--force, which removes the link itself), writes mode 0600 whatever the
# umask, and `mailvet sign` warns about a private key others can read.
set -u
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fails=0
exec 3>&1 # the verdicts, whatever a checked command's output is redirected to

ok() { echo "ok   $1" >&3; }
bad() {
	echo "FAIL $1" >&3
	fails=$((fails + 1))
}
check() { # NAME COMMAND...: the command must succeed
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
keygen() { "$MAILVET" keygen --algorithm ed25519 --domain example.com --selector s "$@"; }
mode() { stat -c %a "$1"; }

key="$dir/s.pem"
check new-file-is-written keygen --out "$key" >"$dir/out" 2>"$dir/err"
check record-is-printed grep -q '^s._domainkey.example.com. TXT "v=DKIM1; k=ed25519; p=' "$dir/out"
check new-file-is-0600 [ "$(mode "$key")" = 600 ]
(umask 000 && keygen --out "$dir/u.pem" >/dev/null 2>&1)
check umask-000-still-0600 [ "$(mode "$dir/u.pem")" = 600 ]

cp "$key" "$dir/before"
if keygen --out "$key" >/dev/null 2>"$dir/err"; then
	bad existing-file-is-refused
else
	ok existing-file-is-refused
fi
check existing-file-is-unchanged cmp -s "$key" "$dir/before"
check refusal-names-force grep -q -- '--force' "$dir/err"

echo precious >"$dir/target"
ln -s "$dir/target" "$dir/link.pem"
if keygen --out "$dir/link.pem" >/dev/null 2>&1; then
	bad symlink-is-refused
else
	ok symlink-is-refused
fi
check symlink-target-is-unchanged [ "$(cat "$dir/target")" = precious ]
ln -s "$dir/absent" "$dir/dangling.pem"
if keygen --out "$dir/dangling.pem" >/dev/null 2>&1; then
	bad dangling-symlink-is-refused
else
	ok dangling-symlink-is-refused
fi
check dangling-target-is-not-created [ ! -e "$dir/absent" ]

chmod 644 "$key"
check force-replaces-a-file keygen --out "$key" --force >/dev/null 2>&1
check force-writes-a-new-key sh -c '! cmp -s "$1" "$2"' sh "$key" "$dir/before"
check force-writes-0600 [ "$(mode "$key")" = 600 ]
check force-replaces-a-link keygen --out "$dir/link.pem" --force >/dev/null 2>&1
check force-removes-the-link-itself sh -c '[ ! -L "$1" ] && [ -f "$1" ]' sh "$dir/link.pem"
check force-leaves-the-link-target [ "$(cat "$dir/target")" = precious ]
if keygen --out "$dir/u.pem" --force --algorithm rsa --bits 512 >/dev/null 2>&1; then
	bad bad-bits-with-force-fails
else
	ok bad-bits-with-force-fails
fi
check bad-bits-with-force-keeps-the-old-key [ -s "$dir/u.pem" ]
check help-documents-force sh -c '"$MAILVET" keygen --help | grep -q -- --force'

printf 'From: a@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\nhi\r\n' >"$dir/msg"
sign() { "$MAILVET" sign --domain example.com --selector s --key "$key" "$dir/msg"; }
check sign-with-0600-key sign >/dev/null 2>"$dir/err"
check no-warning-for-0600 sh -c '! grep -q warning "$1"' sh "$dir/err"
chmod 644 "$key"
check sign-with-0644-key-still-signs sign >"$dir/out" 2>"$dir/err"
check signature-is-written grep -q '^DKIM-Signature:' "$dir/out"
check warning-for-0644 grep -q "warning: private key $key is accessible by group or others (mode 0644)" "$dir/err"

[ "$fails" -eq 0 ]
