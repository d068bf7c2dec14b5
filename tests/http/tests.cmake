# mailvetd's [http] listener (issue 16): /metrics, the status page in headless
# Chromium, credentials, and `mailvet stats`. Each starts a private mailvetd
# on ports it picks (tests/daemon/harness.py) and stops it by PID.
if(NOT TARGET mailvetd)
	return()
endif()
# The [http] section's checks and the counters' text form (cmocka).
add_executable(http_metrics_unit ${CMAKE_CURRENT_LIST_DIR}/metrics_unit.c)
target_link_libraries(http_metrics_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(http.metrics_unit http_metrics_unit)

foreach(case metrics status_page auth stats_cli)
	mv_add_test(http.${case} /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/http_test.py ${case}
		$<TARGET_FILE:mailvetd> $<TARGET_FILE:mailvet-cli>)
	set_tests_properties(http.${case} PROPERTIES
		WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR} TIMEOUT 240)
endforeach()
