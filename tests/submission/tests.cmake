# Authenticated submission (issue 13) end to end: swaks and smtplib over STARTTLS and
# implicit TLS against mailvetd's submission listeners, Postfix as next hop, a private
# Dovecot as SASL back end (root, Postfix and Dovecot needed).
if(NOT TARGET mailvetd)
	return()
endif()
set(MVD_SUBMISSION_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
mv_add_test(submission.postfix /usr/bin/python3 ${MVD_SUBMISSION_TEST_DIR}/submission_test.py
	$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
set_tests_properties(submission.postfix PROPERTIES
	WORKING_DIRECTORY ${MVD_SUBMISSION_TEST_DIR} TIMEOUT 300 RUN_SERIAL TRUE)
