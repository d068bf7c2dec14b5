#!/bin/sh
# auth.passwd_cli: `mailvet passwd` prints LOGIN:HASH for each method, and the hash
# verifies with an independent implementation (Dovecot's `doveadm pw -t`); bad
# input gives the documented exit statuses and no output.
set -u
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

for m in yescrypt bcrypt sha512; do
	case $m in yescrypt) p='$y$' ;; bcrypt) p='$2b$' ;; sha512) p='$6$' ;; esac
	line=$(printf 'correct horse\n' | "$MAILVET" passwd --method $m alice) || fail "${m}_exit"
	case $line in "alice:$p"*) ;; *) fail "${m}_prints_login_and_hash: $line" ;; esac
	hash=${line#alice:}
	doveadm -c /dev/null pw -t "{CRYPT}$hash" -p 'correct horse' >/dev/null 2>&1 ||
		fail "${m}_hash_verifies_with_doveadm"
	doveadm -c /dev/null pw -t "{CRYPT}$hash" -p 'correct hors' >/dev/null 2>&1 &&
		fail "${m}_wrong_password_does_not_verify"
done
# default_method_is_yescrypt; CRLF line end is not part of the password
line=$(printf 'pw\r\n' | "$MAILVET" passwd bob)
case $line in 'bob:$y$'*) ;; *) fail "default_method_is_yescrypt: $line" ;; esac
doveadm -c /dev/null pw -t "{CRYPT}${line#bob:}" -p 'pw' >/dev/null 2>&1 || fail "crlf_stripped"

# status INPUT ARGS: the exit status for INPUT (printf format) on stdin; ARGS split on spaces
status() { printf "$1" | "$MAILVET" passwd $2 >/dev/null 2>&1; echo $?; }
[ "$(status 'pw\n' 'a:b')" = 1 ] || fail "login_with_colon_refused"
printf 'pw\n' | "$MAILVET" passwd 'a b' >/dev/null 2>&1
[ $? = 1 ] || fail "login_with_space_refused"
[ "$(status '' 'alice')" = 1 ] || fail "empty_password_refused"
[ "$(status '\n' 'alice')" = 1 ] || fail "empty_line_refused"
[ "$(status 'pw\n' '--method md5 alice')" = 2 ] || fail "unknown_method_is_usage_error"
[ "$(status 'pw\n' '')" = 2 ] || fail "missing_login_is_usage_error"
long=$(head -c 2000 /dev/zero | tr '\0' x)
[ "$(status "$long" 'alice')" = 1 ] || fail "overlong_password_refused"
"$MAILVET" passwd --help | grep -q 'LOGIN:HASH' || fail "help_describes_output"
[ $fails = 0 ] && echo "passwd_cli: all passed"
exit $fails
