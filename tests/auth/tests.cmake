# Authenticated submission (issue 13): the unit tests are built by the generic
# rule (auth.test_*); the Dovecot back end runs against a real Dovecot that the
# test starts itself (dovecot-core, a test peer in scripts/install-deps --test).
add_executable(auth_dovecot_auth ${CMAKE_CURRENT_LIST_DIR}/dovecot_auth.c)
target_link_libraries(auth_dovecot_auth PRIVATE mailvet PkgConfig::CMOCKA)
mv_add_test(submission.dovecot_auth auth_dovecot_auth)
set_tests_properties(submission.dovecot_auth PROPERTIES TIMEOUT 90)
# `mailvet passwd`, its hashes checked by Dovecot's doveadm (dovecot-core).
mv_add_test(auth.passwd_cli sh ${CMAKE_CURRENT_LIST_DIR}/passwd_cli.sh)
# `mailvet passwd` on a terminal (a pty): asked twice, never echoed.
mv_add_test(auth.passwd_tty /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/passwd_tty.py)
