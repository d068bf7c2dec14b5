# The ARC suite harness reads the suite's YAML with libyaml (libyaml-dev).
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
target_sources(arc_test_suite PRIVATE ${CMAKE_CURRENT_LIST_DIR}/arc_yaml.c)
target_link_libraries(arc_test_suite PRIVATE PkgConfig::YAML)
