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
