# tests/authres/tests.cmake — conformance of `mailvet parse` with the public authres suites
# (RFC 8601 Appendix B and the python-authres cases), including the formatter round trip.
mv_add_test(authres.conformance /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/conformance.py)
# The one legitimate skip (77): ../shared, the conformance suites, absent.
set_tests_properties(authres.conformance PROPERTIES SKIP_RETURN_CODE 77)
mv_add_test(authres.cli /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/cli.py)
# `mailvet trust`, data-driven: trust/NAME.eml (+ NAME.args) against trust/NAME.out.
file(GLOB MV_TRUST_CASES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/trust/*.eml)
foreach(eml ${MV_TRUST_CASES})
	get_filename_component(case ${eml} NAME_WE)
	mv_add_test(authres.trust_${case} /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/trust_case.py
		${case})
endforeach()
