# DMARC: the scenario suite reads scenarios.yml with libyaml; the PSL vectors
# and the Composition Kills cases are plain cmocka tests (built by the generic rule).
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
target_link_libraries(dmarc_test_dmarc_scenarios PRIVATE PkgConfig::YAML)
