# tests/authres/tests.cmake — conformance of `mailvet parse` with the public authres suites
# (RFC 8601 Appendix B and the python-authres cases), including the formatter round trip.
mv_add_test(authres.conformance /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/conformance.py)
set_tests_properties(authres.conformance PROPERTIES SKIP_RETURN_CODE 77)
mv_add_test(authres.cli /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/cli.py)
