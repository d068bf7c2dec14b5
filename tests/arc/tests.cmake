# The ARC suite harness reads the suite's YAML with libyaml (libyaml-dev).
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
target_sources(arc_test_suite PRIVATE ${CMAKE_CURRENT_LIST_DIR}/arc_yaml.c)
target_link_libraries(arc_test_suite PRIVATE PkgConfig::YAML)

# ARC interop with dkimpy (python3-dkim), both directions over three hops;
# fails when dkimpy is not installed.
mv_add_test(arc.interop /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/interop.py)
set_tests_properties(arc.interop PROPERTIES TIMEOUT 300)

# mailvet seal with a key lookup that times out or gets SERVFAIL (exit 75, nothing sealed).
mv_add_test(arc.cli sh ${CMAKE_CURRENT_LIST_DIR}/cli-test.sh)

# The chain tests share keys, a zone and message helpers.
target_sources(arc_test_multi PRIVATE ${CMAKE_CURRENT_LIST_DIR}/arc_testkit.c)
target_sources(arc_test_mixed PRIVATE ${CMAKE_CURRENT_LIST_DIR}/arc_testkit.c)
target_sources(arc_test_tempfail PRIVATE ${CMAKE_CURRENT_LIST_DIR}/arc_testkit.c)
target_sources(arc_test_questions PRIVATE ${CMAKE_CURRENT_LIST_DIR}/arc_testkit.c)
