# SPF: the conformance harness (test_spf_suite.c, built by the generic rule above)
# reads the OpenSPF YAML suites with libyaml.
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
target_link_libraries(spf_test_spf_suite PRIVATE PkgConfig::YAML)

# The command line: mailvet spf against tests/spf/cli.zone.
mv_add_test(spf.cli sh ${CMAKE_CURRENT_LIST_DIR}/cli-test.sh)
