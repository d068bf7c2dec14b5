# SMTP front end tests (daemon/smtp). They need the daemon target.
if(NOT TARGET mailvetd)
	return()
endif()
set(MVD_SMTP_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# [listener NAME] configuration (links the daemon's core library).
add_executable(smtp_listener_unit ${MVD_SMTP_TEST_DIR}/listener_unit.c)
target_link_libraries(smtp_listener_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(smtp.listener_unit smtp_listener_unit)

# The server's parsers: commands, paths, DATA lines and the smuggling rule.
add_executable(smtp_parse_unit ${MVD_SMTP_TEST_DIR}/parse_unit.c)
target_link_libraries(smtp_parse_unit PRIVATE mailvetd-smtp PkgConfig::CMOCKA)
mv_add_test(smtp.parse_unit smtp_parse_unit)

# End to end through a private Postfix as the next hop (root and postfix
# needed, else they fail): smtp.postfix runs the named cases
# (delivery, reject, per-recipient replies, next hop dying, smuggling,
# hostile input, STARTTLS); smtp.load 5,000 messages over 50 connections.
mv_add_test(smtp.postfix /usr/bin/python3 ${MVD_SMTP_TEST_DIR}/smtp_test.py
	$<TARGET_FILE:mailvetd>)
mv_add_test(smtp.load /usr/bin/python3 ${MVD_SMTP_TEST_DIR}/smtp_test.py
	$<TARGET_FILE:mailvetd> load)
set_tests_properties(smtp.postfix smtp.load PROPERTIES
	WORKING_DIRECTORY ${MVD_SMTP_TEST_DIR} TIMEOUT 300 RUN_SERIAL TRUE)

# One message's DNS (every answer 1 s late) never stalls the other sessions of
# the front end's event loop: the prefetch waits in the verdict thread.
mv_add_test(smtp.loop_never_waits_for_dns /usr/bin/python3
	${MVD_SMTP_TEST_DIR}/dnswait_test.py $<TARGET_FILE:mailvetd>)
set_tests_properties(smtp.loop_never_waits_for_dns PROPERTIES
	WORKING_DIRECTORY ${MVD_SMTP_TEST_DIR} TIMEOUT 120)
