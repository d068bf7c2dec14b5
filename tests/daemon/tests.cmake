# mailvetd tests. They need the daemon target (daemon/CMakeLists.txt, added
# by add_subdirectory(daemon) in the top-level CMakeLists.txt).
if(NOT TARGET mailvetd)
	return()
endif()
set(MVD_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# Configuration parser unit tests (links the daemon's core library).
add_executable(daemon_config_unit ${MVD_TEST_DIR}/config_unit.c)
target_link_libraries(daemon_config_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(daemon.config_unit daemon_config_unit)

# Milter protocol tests: our own MTA-side client against a private mailvetd.
mv_add_test(daemon.protocol /usr/bin/python3 ${MVD_TEST_DIR}/protocol_test.py
	$<TARGET_FILE:mailvetd>)
# End to end and load through a private Postfix (root and postfix needed,
# else it fails).
mv_add_test(daemon.postfix /usr/bin/python3 ${MVD_TEST_DIR}/postfix_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.protocol daemon.postfix PROPERTIES
	WORKING_DIRECTORY ${MVD_TEST_DIR} TIMEOUT 240)
# Postfix instances and the load would compete with parallel tests for two cores.
set_tests_properties(daemon.postfix PROPERTIES RUN_SERIAL TRUE)

# Issue 10's daemon items: header floods, hostile milter packets, signals,
# special files, --help (our own milter client against a private mailvetd).
mv_add_test(daemon.hardening /usr/bin/python3 ${MVD_TEST_DIR}/hardening_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.hardening PROPERTIES
	WORKING_DIRECTORY ${MVD_TEST_DIR} TIMEOUT 240)

# Issue 16's first hour: `mailvetd -n` refuses each broken configuration with
# file:line and the reason; a start never fails in silence.
mv_add_test(daemon.first_hour /usr/bin/python3 ${MVD_TEST_DIR}/firsthour_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.first_hour PROPERTIES
	WORKING_DIRECTORY ${MVD_TEST_DIR} TIMEOUT 120)

# Issue 16's keys for many domains: the [signing] tables (OpenDKIM KeyTable and
# SigningTable, a key directory), rotation by date, 5,000 domains.
add_executable(daemon_keytable_unit ${MVD_TEST_DIR}/keytable_unit.c)
target_link_libraries(daemon_keytable_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
target_compile_definitions(daemon_keytable_unit PRIVATE MVD_TEST_DATA="${MVD_TEST_DIR}/data")
mv_add_test(daemon.keytable daemon_keytable_unit)
# `mailvet testkey` per problem, `mailvetd -n` on broken tables (file:line),
# `mailvetd -n --check-dns`, and a private mailvetd signing from a key table,
# then from the changed table after SIGHUP.
mv_add_test(keys.daemon /usr/bin/python3 ${MVD_TEST_DIR}/keys_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(keys.daemon PROPERTIES
	WORKING_DIRECTORY ${MVD_TEST_DIR} TIMEOUT 240)

# [policy] local policy: the lists, their files and the matching (issue 16 "Local policy").
add_executable(daemon_localpolicy_unit ${MVD_TEST_DIR}/localpolicy_unit.c)
target_link_libraries(daemon_localpolicy_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(daemon.localpolicy daemon_localpolicy_unit)
# ... and through the milter: overrides, skips, SIGHUP, the report record.
mv_add_test(daemon.local_policy /usr/bin/python3 ${MVD_TEST_DIR}/localpolicy_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.local_policy PROPERTIES
	WORKING_DIRECTORY ${MVD_TEST_DIR} TIMEOUT 240)

# Issue 18's cold case: with every DNS answer 300 ms late, a message whose longest
# dependency chain is 2 rounds is decided in 2 rounds (the prefetch's second round),
# not 3 (bench/mta/slowdns.py as the authoritative server; needs python3-dnspython).
mv_add_test(daemon.dns_rounds /usr/bin/python3 ${MVD_TEST_DIR}/dnsrounds_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.dns_rounds PROPERTIES
	WORKING_DIRECTORY ${MVD_TEST_DIR} TIMEOUT 120)

# The test servers' port allocator (testports.py): ports outside the ephemeral range,
# never the same to two processes asking at once, none held after a process exits; a
# mailvetd whose port something else took starts again on another.
mv_add_test(daemon.ports /usr/bin/python3 ${MVD_TEST_DIR}/ports_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.ports PROPERTIES TIMEOUT 60)

# SIGHUP or SIGTERM the moment the port answers: a reload or a clean stop, never
# the default action (mailvetd blocks them from its first listener on until the
# supervisor's handlers run).
mv_add_test(daemon.early_signals /usr/bin/python3 ${MVD_TEST_DIR}/early_signal_test.py
	$<TARGET_FILE:mailvetd>)
set_tests_properties(daemon.early_signals PROPERTIES TIMEOUT 240)
