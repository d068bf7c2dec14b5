# tests/dns: the libunbound backend against a real DNS server (Debian's
# unbound on 127.0.0.1, started by the script; fails when not installed).
mv_add_test(dns.unbound_integration sh ${CMAKE_CURRENT_LIST_DIR}/unbound-integration.sh
	$<TARGET_FILE:dns_test_unbound>)
set_tests_properties(dns.unbound_integration PROPERTIES TIMEOUT 120)

# Zone files in master-file syntax: what nsd reads and prints back gives the
# same verdict as the zone as written (docs/zone-file.md).
mv_add_test(dns.zone_nsd /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/zone_nsd_test.py
	$<TARGET_FILE:mailvet-cli>)
set_tests_properties(dns.zone_nsd PROPERTIES TIMEOUT 120)
