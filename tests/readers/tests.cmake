# tests/readers/tests.cmake — AUTHSERV for mail readers (issue 14): `mailvet discover`
# against scripted servers and real Dovecot and Postfix, `mailvet trust` on crafted messages.
foreach(case smtp_appendix_b1 imap_appendix_b2 pop3_appendix_b3 smtp_not_advertised
		smtp_hostile_long_line smtp_hostile_endless_reply imap_hostile_literal
		smtp_timeout smtp_starttls_injection smtp_tls)
	string(REGEX REPLACE "^([a-z0-9]+)_(.*)$" "\\1.discover_\\2" tname ${case})
	mv_add_test(${tname} /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/scripted.py ${case})
endforeach()
mv_add_test(authres.trust_discover_imap /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/scripted.py
	trust_discover_imap)
# Real peers: a private Dovecot (IMAP, POP3) and Postfix (SMTP); failing without them.
foreach(peer imap pop3 postfix)
	if(peer STREQUAL "postfix")
		set(tname smtp.discover_postfix)
	else()
		set(tname ${peer}.discover_dovecot)
	endif()
	mv_add_test(${tname} /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/peers.py ${peer})
	set_tests_properties(${tname} PROPERTIES TIMEOUT 120)
endforeach()
