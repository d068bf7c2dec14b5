# DKIM interop with dkimpy (python3-dkim) and Mail::DKIM (libmail-dkim-perl),
# both directions; fails when a peer is not installed (scripts/install-deps --test).
mv_add_test(dkim.interop /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/interop.py)
set_tests_properties(dkim.interop PROPERTIES TIMEOUT 300)

# mailvet keygen: no overwriting, no following links, mode 0600; mailvet sign's
# warning about a private key others can read.
mv_add_test(dkim.keygen sh ${CMAKE_CURRENT_LIST_DIR}/keygen-test.sh)

# mailvet sign: --body-length clamped to the body, --headers must name From, a pipe
# signs like a file (it goes through lib/outbound in pieces).
mv_add_test(dkim.sign_cli sh ${CMAKE_CURRENT_LIST_DIR}/sign-cli.sh)
