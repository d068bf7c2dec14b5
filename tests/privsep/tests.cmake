# Issue 17, privilege separation: the key process (daemon/keyd). They need the daemon.
if(NOT TARGET mailvetd)
	return()
endif()
set(PRIVSEP_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# The request/reply parser and the server's answers (links the key process's library).
add_executable(privsep_proto_unit ${PRIVSEP_TEST_DIR}/proto_unit.c)
target_link_libraries(privsep_proto_unit PRIVATE mailvetd-keyd PkgConfig::CMOCKA)
mv_add_test(privsep.proto privsep_proto_unit)
set_tests_properties(privsep.proto PROPERTIES WORKING_DIRECTORY ${PRIVSEP_TEST_DIR})

# The key process's seccomp filter: execve and fork kill, its own work goes on.
add_executable(privsep_sandbox_unit ${PRIVSEP_TEST_DIR}/sandbox_unit.c)
target_link_libraries(privsep_sandbox_unit PRIVATE mailvetd-keyd PkgConfig::CMOCKA)
mv_add_test(privsep.seccomp privsep_sandbox_unit)
set_tests_properties(privsep.seccomp PROPERTIES WORKING_DIRECTORY ${PRIVSEP_TEST_DIR})

# A private mailvetd driven through our milter client; the memory scan reads
# /proc/PID/mem (root, as the tests run).
foreach(case no_key_in_worker signing key_process_restart reload)
	mv_add_test(privsep.${case} /usr/bin/python3 ${PRIVSEP_TEST_DIR}/privsep_test.py ${case}
		$<TARGET_FILE:mailvetd>)
	set_tests_properties(privsep.${case} PROPERTIES
		WORKING_DIRECTORY ${PRIVSEP_TEST_DIR} TIMEOUT 240)
endforeach()

# The worker's seccomp filter (daemon/core/sandbox_worker.c): execve, fork and
# the like kill, what it has no use for fails with EPERM, its work goes on.
add_executable(privsep_worker_sandbox_unit ${PRIVSEP_TEST_DIR}/worker_sandbox_unit.c)
target_link_libraries(privsep_worker_sandbox_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(privsep.worker_seccomp_unit privsep_worker_sandbox_unit)

# The worker's filter on the running worker, a user of its own for the key
# process, a worker killed in the middle of a message (a private Postfix and
# mailvetd's own listener). Root: useradd, setpriv, Postfix.
foreach(case worker_seccomp users worker_crash)
	mv_add_test(privsep.${case} /usr/bin/python3 ${PRIVSEP_TEST_DIR}/sandbox_test.py ${case}
		$<TARGET_FILE:mailvetd>)
	set_tests_properties(privsep.${case} PROPERTIES
		WORKING_DIRECTORY ${PRIVSEP_TEST_DIR} TIMEOUT 300)
endforeach()
