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

# Which key-process sockets serve which CPUs (daemon/keyd/cpu.c).
add_executable(privsep_cpu_unit ${PRIVSEP_TEST_DIR}/cpu_unit.c)
target_link_libraries(privsep_cpu_unit PRIVATE mailvetd-keyd PkgConfig::CMOCKA)
mv_add_test(privsep.cpu_groups privsep_cpu_unit)

# The TLS operations of the key process on keys it loads from a configuration.
add_executable(privsep_tls_unit ${PRIVSEP_TEST_DIR}/tls_unit.c)
target_link_libraries(privsep_tls_unit PRIVATE mailvetd-keyd PkgConfig::CMOCKA)
target_compile_definitions(privsep_tls_unit PRIVATE
	DATA_DIR="${CMAKE_SOURCE_DIR}/tests/daemon/data")
mv_add_test(privsep.tls_ops privsep_tls_unit)
set_tests_properties(privsep.tls_ops PROPERTIES WORKING_DIRECTORY ${PRIVSEP_TEST_DIR})

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

# The auth process (daemon/authd): its messages (round trips, each lie
# refused), its answers through a password file with the failure limiter,
# and its system-call filter.
add_executable(privsep_authd_unit ${PRIVSEP_TEST_DIR}/authd_unit.c)
target_link_libraries(privsep_authd_unit PRIVATE mailvetd-authd PkgConfig::CMOCKA)
mv_add_test(privsep.authd_proto privsep_authd_unit)
set_tests_properties(privsep.authd_proto PROPERTIES WORKING_DIRECTORY ${PRIVSEP_TEST_DIR})

# A private mailvetd with a submission listener and a password file, driven by
# smtplib over STARTTLS: AUTH through the auth process, the worker's memory
# without the hashes, a stuck or killed auth process, a reload (also one
# during a slow check, which it does not wait for).
foreach(case auth_process auth_process_restart auth_reload reload_during_slow_check)
	mv_add_test(privsep.${case} /usr/bin/python3 ${PRIVSEP_TEST_DIR}/authd_test.py ${case}
		$<TARGET_FILE:mailvetd>)
	set_tests_properties(privsep.${case} PROPERTIES
		WORKING_DIRECTORY ${PRIVSEP_TEST_DIR} TIMEOUT 240)
endforeach()

# The listeners' TLS keys in the key process: handshakes (TLS 1.2 and 1.3, RSA
# and ECDSA) signed through it, the worker's memory scanned, SIGHUP with a new
# pair, a key that does not match its certificate refused at start, a stopped key
# process failing handshakes fast without stalling the loop's other sessions.
foreach(case no_tls_key_in_worker tls_reload tls_mismatch tls_key_process_down)
	mv_add_test(privsep.${case} /usr/bin/python3 ${PRIVSEP_TEST_DIR}/tls_test.py ${case}
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
# process and one for the auth process, a worker killed in the middle of a message (a private Postfix and
# mailvetd's own listener). Root: useradd, setpriv, Postfix.
foreach(case worker_seccomp users auth_user worker_crash)
	mv_add_test(privsep.${case} /usr/bin/python3 ${PRIVSEP_TEST_DIR}/sandbox_test.py ${case}
		$<TARGET_FILE:mailvetd>)
	set_tests_properties(privsep.${case} PROPERTIES
		WORKING_DIRECTORY ${PRIVSEP_TEST_DIR} TIMEOUT 300)
endforeach()

# useradd/userdel lock /etc/passwd: two at once may fail ("cannot lock").
set_tests_properties(privsep.users privsep.auth_user PROPERTIES RESOURCE_LOCK system_users)
