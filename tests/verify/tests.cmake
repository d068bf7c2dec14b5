# mailvet verify from the command line (files, mbox, a 10,000-message Maildir).
mv_add_test(verify.cli sh ${CMAKE_CURRENT_LIST_DIR}/cli-test.sh)
set_tests_properties(verify.cli PROPERTIES TIMEOUT 300)

# Differential test against python3-authheaders (dkimpy + its DMARC); fails when absent.
mv_add_test(verify.differential /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/differential.py)
set_tests_properties(verify.differential PROPERTIES TIMEOUT 300)

# The no-drift test seals its ARC cases with the ARC chain tests' kit.
target_sources(verify_test_questions PRIVATE ${CMAKE_SOURCE_DIR}/tests/arc/arc_testkit.c)
target_include_directories(verify_test_questions PRIVATE ${CMAKE_SOURCE_DIR}/tests/arc)
