# SMTP front end tests (daemon/smtp). They need the daemon target.
if(NOT TARGET mailvetd)
	return()
endif()
set(MVD_SMTP_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# [listener NAME] configuration (links the daemon's core library).
add_executable(smtp_listener_unit ${MVD_SMTP_TEST_DIR}/listener_unit.c)
target_link_libraries(smtp_listener_unit PRIVATE mailvetd-core PkgConfig::CMOCKA)
mv_add_test(smtp.listener_unit smtp_listener_unit)
