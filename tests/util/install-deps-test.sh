#!/bin/sh
# scripts/install-deps (issue 16): the build's list holds no service, `--test` adds the
# tests' peers, and every peer with a service is disabled after it is installed, never
# started by its package scripts. Reads the lists (--list); installs nothing.
set -eu
script=$MV_SOURCE_DIR/scripts/install-deps
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

build=$("$script" --list)
all=$("$script" --list --test)
peers="postfix rspamd opendkim unbound nsd dovecot-imapd dovecot-pop3d"

# build_list_holds_no_test_peer
for p in $peers swaks valgrind clang-format python3; do
	echo "$build" | grep -qx "$p" && fail "build_list_holds_no_test_peer: $p"
done
# test_list_adds_the_peers_to_the_build_list
for p in $build $peers; do
	echo "$all" | grep -qx "$p" || fail "test_list_adds_the_peers_to_the_build_list: $p"
done
# every_peer_service_is_disabled_after_install
for p in $peers; do
	grep -q "$p:" "$script" || fail "every_peer_service_is_disabled_after_install: $p"
done
grep -q 'systemctl disable' "$script" || fail "every_peer_service_is_disabled_after_install"
# no_service_starts_while_installing: the policy-rc.d guard comes before apt-get install
guard=$(grep -n 'policy-rc.d' "$script" | head -1 | cut -d: -f1)
install=$(grep -n 'apt-get install' "$script" | head -1 | cut -d: -f1)
[ -n "$guard" ] && [ "$guard" -lt "$install" ] || fail "no_service_starts_while_installing"
# make_check_installs_the_test_list_and_demo_the_build_list
grep -q '^check: deps-test' "$MV_SOURCE_DIR/Makefile" || fail "make_check_installs_the_test_list"
grep -q '^demo: deps$' "$MV_SOURCE_DIR/Makefile" || fail "make_demo_installs_the_build_list"
rc=0; "$script" --bogus >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "unknown_option_is_a_usage_error: $rc"

[ $fails -eq 0 ] && echo "install-deps-test: all passed"
exit $fails
