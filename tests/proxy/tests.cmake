# IMAP and POP3 capability proxies (daemon/proxy). They need the daemon target.
if(NOT TARGET mailvetd)
	return()
endif()
set(MVD_PROXY_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# The rewriter alone: the draft's Appendix B.2 and B.3, literals, STARTTLS, hostile input.
foreach(proto imap pop3)
	add_executable(${proto}_rewrite_unit ${MVD_PROXY_TEST_DIR}/${proto}_rewrite_unit.c)
	target_link_libraries(${proto}_rewrite_unit PRIVATE mailvetd-proxy PkgConfig::CMOCKA)
	mv_add_test(${proto}.rewrite_unit ${proto}_rewrite_unit)
endforeach()

# [listener NAME] of role imap and pop3: keys, defaults, checks.
add_executable(proxy_listener_unit ${MVD_PROXY_TEST_DIR}/listener_unit.c)
target_link_libraries(proxy_listener_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(imap.listener_config proxy_listener_unit)

# End to end: Python's imaplib and poplib -> mailvetd -> a private Dovecot
# (root and Dovecot needed: without them the tests FAIL), and scripted
# servers for the draft's exact examples and a hostile upstream.
set(MVD_PROXY_GROUPS
	"imap.dovecot\;imap" "pop3.dovecot\;pop3"
	"imap.hostile\;imap-hostile" "pop3.hostile\;pop3-hostile"
	"imap.discover_proxy\;imap-discover" "pop3.discover_proxy\;pop3-discover" "imap.load\;load" "imap.dovecot_native\;native"
	"imap.splice_literals\;imap-splice")
foreach(pair ${MVD_PROXY_GROUPS})
	list(GET pair 0 name)
	list(GET pair 1 group)
	mv_add_test(${name} /usr/bin/python3 ${MVD_PROXY_TEST_DIR}/proxy_test.py
		$<TARGET_FILE:mailvetd> ${group})
	set_tests_properties(${name} PROPERTIES WORKING_DIRECTORY ${MVD_PROXY_TEST_DIR}
		TIMEOUT 600 RUN_SERIAL TRUE)
endforeach()
