# Issue 16's packaging: `make install` into a temporary root (package.install),
# and the Debian package built, installed, started as its unit says, removed and
# purged (package.deb: root, apt and debhelper; alone, as it installs a package
# and a user on the machine, and leaves none).
mv_add_test(package.install /bin/sh ${CMAKE_CURRENT_LIST_DIR}/install_test.sh)
set_tests_properties(package.install PROPERTIES TIMEOUT 300)
mv_add_test(package.deb /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/deb_test.py)
set_tests_properties(package.deb PROPERTIES RUN_SERIAL TRUE TIMEOUT 600)
