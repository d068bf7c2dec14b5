# contrib/install.cmake — what `make install` and the Debian package install
# besides the binaries and man pages: the systemd unit, made at install time
# for the prefix installed to (so its ExecStart names the mailvetd installed,
# whatever `cmake --install --prefix` says), and the example configuration.
#
# The configuration lives in /etc/mailvet whatever the prefix (MV_CONFDIR):
# it is where mailvetd looks by default and where the man pages say it is.
# An existing mailvet.conf is never overwritten; the example is always
# installed under <prefix>/share/doc/mailvet/examples as well, with the
# rsyslog and logrotate snippets (the Debian package puts those in /etc).

set(MV_CONFDIR "/etc/mailvet" CACHE PATH "Directory of mailvet.conf")
set(MV_SYSTEMD_UNITDIR "" CACHE PATH
	"Directory of the systemd unit (empty: <prefix>/lib/systemd/system)")

set(MV_EXAMPLES ${CMAKE_INSTALL_DATAROOTDIR}/doc/mailvet/examples)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/mailvet.conf DESTINATION ${MV_EXAMPLES})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/rsyslog.d/49-mailvet.conf DESTINATION ${MV_EXAMPLES}
	RENAME rsyslog-49-mailvet.conf)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/logrotate.d/mailvet DESTINATION ${MV_EXAMPLES}
	RENAME logrotate-mailvet)

install(CODE "
	set(MV_SBINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
	set(MV_CONFIG \"${MV_CONFDIR}/mailvet.conf\")
	set(unitdir \"${MV_SYSTEMD_UNITDIR}\")
	if(NOT unitdir)
		set(unitdir \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
	endif()
	set(unit \"\$ENV{DESTDIR}\${unitdir}/mailvetd.service\")
	message(STATUS \"Installing: \${unit}\")
	configure_file(\"${CMAKE_CURRENT_LIST_DIR}/mailvetd.service.in\" \"\${unit}\" @ONLY)
	list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${unit}\")

	set(conf \"\$ENV{DESTDIR}\${MV_CONFIG}\")
	if(EXISTS \"\${conf}\")
		message(STATUS \"Keeping: \${conf} (the example is in share/doc/mailvet/examples)\")
	else()
		file(INSTALL \"${CMAKE_CURRENT_LIST_DIR}/mailvet.conf\"
			DESTINATION \"${MV_CONFDIR}\"
			PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
	endif()
")
