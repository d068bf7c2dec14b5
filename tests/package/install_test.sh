#!/bin/sh
# package.install (issue 16): `make install PREFIX=... DESTDIR=...` from this
# build directory installs the programs, the man pages, the systemd unit whose
# ExecStart is the mailvetd just installed, and /etc/mailvet/mailvet.conf (the
# example; an existing one is kept), and builds no test program on the way.
set -u
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
ok() { echo "ok   $1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
prefix=/opt/mailvet-install-test

# make_install_succeeds
if make -C "$MV_SOURCE_DIR" --no-print-directory install BUILD="$MV_BUILD_DIR" \
	PREFIX=$prefix DESTDIR="$root" >"$tmp/log" 2>&1; then
	ok make_install_succeeds
else
	cat "$tmp/log"
	fail make_install_succeeds
fi
# builds_only_the_programs: the build step names its two targets, no test program
grep -q -- '--target mailvet-cli mailvetd' "$tmp/log" || fail builds_only_the_programs
grep -q 'Built target .*test' "$tmp/log" && fail builds_no_test_program

# installs_the_expected_files
for f in bin/mailvet sbin/mailvetd share/man/man1/mailvet.1 share/man/man8/mailvetd.8 \
	share/man/man5/mailvet.conf.5 lib/systemd/system/mailvetd.service \
	share/doc/mailvet/examples/mailvet.conf share/doc/mailvet/examples/rsyslog-49-mailvet.conf \
	share/doc/mailvet/examples/logrotate-mailvet; do
	[ -f "$root$prefix/$f" ] || fail "installs_$f"
done
for f in bin/mailvet sbin/mailvetd; do
	[ -x "$root$prefix/$f" ] || fail "installs_${f}_executable"
done
# nothing_outside_the_prefix_and_etc_mailvet
outside=$(cd "$root" && find . -type f | grep -v "^\.$prefix/" | grep -v '^\./etc/mailvet/')
[ -z "$outside" ] || fail "nothing_outside_the_prefix_and_etc_mailvet: $outside"

# unit_runs_the_installed_mailvetd
unit=$root$prefix/lib/systemd/system/mailvetd.service
start=$(sed -n 's/^ExecStart=//p' "$unit")
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
[ "$start" = "$prefix/sbin/mailvetd -f -c /etc/mailvet/mailvet.conf" ] ||
	fail "unit_ExecStart_is_the_installed_mailvetd: $start"
[ "$pre" = "$prefix/sbin/mailvetd -n -c /etc/mailvet/mailvet.conf" ] ||
	fail "unit_ExecStartPre_is_the_installed_mailvetd: $pre"
grep -q '@[A-Z_]*@' "$unit" && fail "unit_has_no_placeholder_left: $(grep '@[A-Z_]*@' "$unit")"
bin=${start%% *}
out=$("$root$bin" --version 2>&1) && [ "${out#mailvetd }" != "$out" ] ||
	fail "unit_ExecStart_binary_runs: $out"

# configuration_is_the_example, and it loads (without its user, which may not exist here)
conf=$root/etc/mailvet/mailvet.conf
cmp -s "$conf" "$MV_SOURCE_DIR/contrib/mailvet.conf" || fail configuration_is_the_example
sed 's/^user = mailvet$/user =/' "$conf" >"$tmp/c.conf"
out=$("$root$prefix/sbin/mailvetd" -n -c "$tmp/c.conf" 2>&1) ||
	fail "installed_configuration_loads: $out"

# existing_configuration_is_kept
echo "; mine" >>"$conf"
make -C "$MV_SOURCE_DIR" --no-print-directory install BUILD="$MV_BUILD_DIR" \
	PREFIX=$prefix DESTDIR="$root" >"$tmp/log2" 2>&1 || fail reinstall_succeeds
[ "$(tail -n 1 "$conf")" = "; mine" ] || fail existing_configuration_is_kept

# gnu_help_and_version: stdout, exit 0
for cmd in "sbin/mailvetd --help" "sbin/mailvetd --version" "bin/mailvet --help" \
	"bin/mailvet --version" "bin/mailvet -V"; do
	set -- $cmd
	if ! "$root$prefix/$1" "$2" >"$tmp/out" 2>"$tmp/err" || [ ! -s "$tmp/out" ] ||
		[ -s "$tmp/err" ]; then
		fail "gnu_help_and_version: $cmd"
	fi
done

# deb_list_is_apart: `make deb` installs debhelper (--deb), `make check` too (--test), `make
# demo` not (the build list)
deps=$MV_SOURCE_DIR/scripts/install-deps
"$deps" --list --deb | grep -qx debhelper || fail deb_list_has_debhelper
"$deps" --list --test | grep -qx debhelper || fail test_list_has_the_deb_list
"$deps" --list | grep -qx debhelper && fail build_list_has_no_debhelper
grep -q '^deb:' "$MV_SOURCE_DIR/Makefile" && grep -q 'install-deps --deb' "$MV_SOURCE_DIR/Makefile" ||
	fail make_deb_installs_the_deb_list

[ $fails -eq 0 ] && echo "package.install: all passed"
exit $fails
