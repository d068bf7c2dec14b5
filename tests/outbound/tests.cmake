# A 200 MB message signed with flat memory (`mailvet sign` streams through
# lib/outbound), then verified. Measured: 7 MiB peak RSS, ~1.5 s (RelWithDebInfo);
# 21 MiB, ~6 s under ASan, so it runs in the sanitizer build as well.
mv_add_test(outbound.sign_200mb_flat_memory sh ${CMAKE_CURRENT_LIST_DIR}/sign-200mb.sh)
set_tests_properties(outbound.sign_200mb_flat_memory PROPERTIES TIMEOUT 120)
