# DMARC reports: end to end through the CLI, and hostile received reports.
mv_add_test(reports.e2e sh ${CMAKE_CURRENT_LIST_DIR}/e2e.sh)
set_tests_properties(reports.e2e PROPERTIES TIMEOUT 120)

# Each hostile input a test of its own: the case and the error it must give.
foreach(case
		"billion_laughs|DTD or entity declaration: refused"
		"external_entity|DTD or entity declaration: refused"
		"gzip_bomb|more than 33554432 bytes uncompressed"
		"truncated_zip|zip: "
		"oversized_xml|more than 33554432 bytes uncompressed"
		"deep_nesting|not XML"
		"not_xml|not XML")
	string(REPLACE "|" ";" parts "${case}")
	list(GET parts 0 name)
	list(GET parts 1 expect)
	mv_add_test(reports.hostile.${name} sh ${CMAKE_CURRENT_LIST_DIR}/hostile.sh ${name} "${expect}")
	set_tests_properties(reports.hostile.${name} PROPERTIES TIMEOUT 60)
endforeach()

# mailvetd's [reports] store: messages through the milter -> records -> `report show`;
# a store that cannot be opened changes no verdict and is logged.
if(TARGET mailvetd)
	mv_add_test(reports.daemon_record /usr/bin/python3
		${CMAKE_CURRENT_LIST_DIR}/daemon_record_test.py
		$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
	set_tests_properties(reports.daemon_record PROPERTIES
		WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR} TIMEOUT 180)
endif()

# `report send --relay`: delivered by SMTP to a relay the test runs, marked sent
# after its 250, never twice; a refusing or absent relay leaves them for the next run.
mv_add_test(reports.send_relay /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/send_test.py
	$<TARGET_FILE:mailvet-cli>)
set_tests_properties(reports.send_relay PROPERTIES TIMEOUT 120)

# Failure reports (ruf=, fo=): mailvetd spools them (redacted, rate-limited per
# destination), `report send --failure-spool` delivers ARF to authorized destinations, once.
if(TARGET mailvetd)
	mv_add_test(reports.failure /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/failure_test.py
		$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
	set_tests_properties(reports.failure PROPERTIES
		WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR} TIMEOUT 180)
endif()

# `report send --sendmail [PATH]`: a fake sendmail records its arguments and input; one that
# exits 1 leaves everything unsent for the next run.
mv_add_test(reports.sendmail /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/sendmail_test.py
	$<TARGET_FILE:mailvet-cli>)
set_tests_properties(reports.sendmail PROPERTIES TIMEOUT 120)

# Through a real MTA: messages via a private Postfix with mailvetd as milter -> records ->
# `report send --relay` into that Postfix -> smtp-sink: schema-valid, imported back equal,
# external destinations authorized or not, sent once; the ARF failure reports too.
if(TARGET mailvetd)
	mv_add_test(reports.e2e_postfix /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/e2e_postfix_test.py
		$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
	set_tests_properties(reports.e2e_postfix PROPERTIES
		WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR} TIMEOUT 300)
endif()

# The recorder's spool (issue 15): a store that is down (SQLite, PostgreSQL
# stopped) -> records in the spool -> store back -> all there, none twice.
if(TARGET mailvetd)
	mv_add_test(reports.spool /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/spool_test.py
		$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
	set_tests_properties(reports.spool PROPERTIES WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR}
		TIMEOUT 300)
endif()

# Several mailvetd nodes into one PostgreSQL store (issue 15): two daemons at
# once, schema created by both at the same moment; every message recorded once.
if(TARGET mailvetd)
	mv_add_test(reports.two_writers_pg /usr/bin/python3
		${CMAKE_CURRENT_LIST_DIR}/two_writers_test.py
		$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
	set_tests_properties(reports.two_writers_pg PROPERTIES
		WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR} TIMEOUT 300)
endif()
