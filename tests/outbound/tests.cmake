# A 200 MB message signed with flat memory (`mailvet sign` streams through
# lib/outbound), then verified. Not in the sanitizer build: ASan's shadow memory
# makes the RSS limit meaningless there and the 200 MB run too slow.
if(NOT MV_SANITIZE)
	mv_add_test(outbound.sign_200mb_flat_memory sh ${CMAKE_CURRENT_LIST_DIR}/sign-200mb.sh)
	set_tests_properties(outbound.sign_200mb_flat_memory PROPERTIES TIMEOUT 120)
endif()
