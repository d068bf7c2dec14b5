mv_add_test(util.install_deps sh ${CMAKE_CURRENT_LIST_DIR}/install-deps-test.sh)
