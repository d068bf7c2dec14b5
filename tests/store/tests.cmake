# The record store's contract (tests/store/store_cases.c), one list of cases
# run against each back end: SQLite in a temporary file, and PostgreSQL on a
# real server that store_pg_test.py starts (and that must start: no skip).
foreach(backend sqlite pg)
	add_executable(store_${backend} ${CMAKE_CURRENT_LIST_DIR}/store_${backend}.c
		${CMAKE_CURRENT_LIST_DIR}/store_cases.c)
	target_include_directories(store_${backend} PRIVATE ${CMAKE_SOURCE_DIR}/lib
		${CMAKE_CURRENT_LIST_DIR})
	target_link_libraries(store_${backend} PRIVATE mailvet PkgConfig::CMOCKA PkgConfig::LIBPQ)
endforeach()
mv_add_test(store.sqlite store_sqlite)
mv_add_test(reports.store_pg /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/store_pg_test.py
	$<TARGET_FILE:store_pg>)
set_tests_properties(reports.store_pg PROPERTIES TIMEOUT 180)

# `mailvet trace` (issue 13): search by Message-ID, trace id, login, time; JSON;
# purge; exit statuses; in SQLite and PostgreSQL. trace_put adds the records.
add_executable(trace_put ${CMAKE_CURRENT_LIST_DIR}/trace_put.c)
target_link_libraries(trace_put PRIVATE mailvet)
mv_add_test(submission.trace_cli /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/trace_cli_test.py
	$<TARGET_FILE:mailvet-cli> $<TARGET_FILE:trace_put>)
set_tests_properties(submission.trace_cli PROPERTIES TIMEOUT 180)

# mailvetd's recorder with trace records (daemon/core/recorder.c) driven directly:
# store down -> spool -> store back -> replayed, retention purge, a trace id once.
if(TARGET mailvetd-core)
	add_executable(store_recorder_trace ${CMAKE_CURRENT_LIST_DIR}/recorder_trace.c)
	target_link_libraries(store_recorder_trace PRIVATE mailvetd-core PkgConfig::CMOCKA)
	mv_add_test(reports.recorder_trace store_recorder_trace)
	set_tests_properties(reports.recorder_trace PROPERTIES TIMEOUT 120)
endif()
