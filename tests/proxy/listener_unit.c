/* tests/proxy/listener_unit.c — [listener NAME] sections of role imap and pop3 (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "listener.h"

static void parse_ok(struct mvd_config *c, const char *text)
{
	char err[256] = "";

	assert_int_equal(mvd_config_init(c), MV_OK);
	if (mvd_config_parse(c, text, err, sizeof err) != MV_OK)
		fail_msg("parse failed: %s", err);
}

static void parse_fails(const char *text, const char *want)
{
	struct mvd_config c;
	char err[256] = "";

	assert_int_equal(mvd_config_init(&c), MV_OK);
	assert_int_not_equal(mvd_config_parse(&c, text, err, sizeof err), MV_OK);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not mention \"%s\"", err, want);
	mvd_config_free(&c);
}

/* A proxy section is kept apart from the SMTP ones (daemon/smtp never binds it), whatever the key order. */
static void proxies_are_apart_from_smtp_listeners(void **state)
{
	struct mvd_config c;
	const struct mvd_listener_conf *l;

	(void)state;
	parse_ok(&c, "[listener mx]\nlisten = 127.0.0.1:2525\nnext_hop = inet:127.0.0.1:10025\n"
	             "[listener imap]\nlisten = 127.0.0.1:143\nupstream = inet:127.0.0.1:10143\n"
	             "role = imap\ntls = starttls\ntls_cert = /c.pem\ntls_key = /k.pem\n"
	             "[listener pop3s]\nrole = pop3\nlisten = 127.0.0.1:995\n"
	             "upstream = unix:/run/dovecot/pop3\ntls = implicit\ntls_cert = /c.pem\n"
	             "tls_key = /k.pem\nupstream_tls = yes\ntimeout_idle = 60\n"
	             "authserv_id = mx.example.org\n");
	assert_int_equal(c.listeners.count, 1);
	assert_int_equal(c.listeners.nproxy, 2);
	assert_string_equal(c.listeners.item[0].name, "mx");
	l = mvd_listener_find(&c.listeners, "imap");
	assert_non_null(l);
	assert_int_equal(l->role, MVD_ROLE_IMAP);
	assert_int_equal(l->tls_mode, MVD_TLS_STARTTLS);
	assert_int_equal(l->timeout_idle, 1800);
	assert_false(l->upstream_tls);
	assert_string_equal(l->authserv_id, "");
	l = mvd_listener_find(&c.listeners, "pop3s");
	assert_non_null(l);
	assert_int_equal(l->role, MVD_ROLE_POP3);
	assert_int_equal(l->tls_mode, MVD_TLS_IMPLICIT);
	assert_true(l->upstream_tls);
	assert_int_equal(l->timeout_idle, 60);
	assert_string_equal(l->authserv_id, "mx.example.org");
	mvd_config_free(&c);
}

/* A section that turns back to inbound goes back among the SMTP listeners. */
static void role_changes_move_the_section(void **state)
{
	struct mvd_config c;

	(void)state;
	parse_ok(&c, "[listener x]\nrole = imap\nrole = inbound\nlisten = 127.0.0.1:2525\n"
	             "next_hop = inet:127.0.0.1:25\n");
	assert_int_equal(c.listeners.count, 1);
	assert_int_equal(c.listeners.nproxy, 0);
	mvd_config_free(&c);
}

static void bad_proxy_sections_are_refused(void **state)
{
	const char *base = "[milter]\nsocket = inet:1@127.0.0.1\n[listener p]\nrole = imap\n"
	                   "listen = 127.0.0.1:143\n";
	char text[512];

	(void)state;
	snprintf(text, sizeof text, "%s", base);
	parse_fails(text, "line 4: [listener p] upstream: expected inet:HOST:PORT");
	snprintf(text, sizeof text, "%supstream = inet:127.0.0.1:1\ntls = sometimes\n", base);
	parse_fails(text, "tls: \"sometimes\" is not one of the allowed values");
	snprintf(text, sizeof text, "%supstream = inet:127.0.0.1:1\ntls = implicit\n", base);
	parse_fails(text, "line 7: [listener p] tls = implicit needs tls_cert and tls_key");
	snprintf(text, sizeof text, "%supstream = inet:127.0.0.1:1\ntls_cert = /c\ntls_key = /k\n",
	         base);
	parse_fails(text, "need tls = starttls or implicit");
	snprintf(text, sizeof text, "%supstream = inet:127.0.0.1:1\nnext_hop = inet:127.0.0.1:2\n",
	         base);
	parse_fails(text, "next_hop is for role inbound");
	snprintf(text, sizeof text, "%supstream = inet:127.0.0.1:1\nauthserv_id = a b\n", base);
	parse_fails(text, "authserv_id must be a domain name");
	snprintf(text, sizeof text, "%supstream = inet:127.0.0.1:1\ntimeout_idle = 0\n", base);
	parse_fails(text, "timeout_idle: expected a number from 1 to 86400");
	snprintf(text, sizeof text,
	         "%supstream = inet:127.0.0.1:1\n[listener q]\nrole = pop3\n"
	         "listen = 127.0.0.1:143\nupstream = inet:127.0.0.1:1\n",
	         base);
	parse_fails(text, "listens on 127.0.0.1:143 like [listener p]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(proxies_are_apart_from_smtp_listeners),
	        cmocka_unit_test(role_changes_move_the_section),
	        cmocka_unit_test(bad_proxy_sections_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
