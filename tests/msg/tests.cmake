# tests/msg/tests.cmake — the differential check of DKIM canonicalization
# against dkimpy (Debian python3-dkim); fails when it is not installed.
add_executable(msg_canon_tool ${CMAKE_CURRENT_LIST_DIR}/canon_tool.c)
target_include_directories(msg_canon_tool PRIVATE ${CMAKE_SOURCE_DIR}/lib)
target_link_libraries(msg_canon_tool PRIVATE mailvet)
mv_add_test(msg.canon_dkimpy /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/canon_dkimpy.py
	$<TARGET_FILE:msg_canon_tool>)
