# mailvet verify from the command line (files, mbox, a 10,000-message Maildir).
mv_add_test(verify.cli sh ${CMAKE_CURRENT_LIST_DIR}/cli-test.sh)
set_tests_properties(verify.cli PROPERTIES TIMEOUT 300)
