/* tests/smtp/listener_unit.c — the [listener NAME] sections of mailvet.conf (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

static void a_listener_gets_the_rfc_5321_defaults(void **state)
{
	struct mvd_config c;
	const struct mvd_listener_conf *l;

	(void)state;
	parse_ok(&c, "[listener mx]\nlisten = 127.0.0.1:2525\nnext_hop = inet:127.0.0.1:10025\n");
	assert_int_equal(c.listeners.count, 1);
	l = mvd_listener_find(&c.listeners, "mx");
	assert_non_null(l);
	assert_int_equal(l->role, MVD_ROLE_INBOUND);
	assert_int_equal(l->next_hop_proto, MVD_NEXT_HOP_SMTP);
	assert_int_equal(l->authserv_adv, MVD_AUTHSERV_ID);
	assert_int_equal(l->timeout_command, 300);     /* §4.5.3.2.7 */
	assert_int_equal(l->timeout_data, 180);        /* §4.5.3.2.5 */
	assert_int_equal(l->next_hop_data_final, 600); /* §4.5.3.2.6 */
	assert_int_equal(l->max_recipients, 1000);
	assert_int_equal(l->max_header_size, 1 << 20);
	assert_false(l->xclient);
	assert_string_equal(l->tls_cert, "");
	assert_null(mvd_listener_find(&c.listeners, "other"));
	mvd_config_free(&c);
}

static void every_key_is_read(void **state)
{
	struct mvd_config c;
	const struct mvd_listener_conf *l;

	(void)state;
	parse_ok(&c, "[milter]\nsocket =\n"
	             "[listener v6]\nrole = inbound\nlisten = [::1]:25\n"
	             "next_hop = unix:/var/spool/postfix/private/lmtp\nnext_hop_protocol = lmtp\n"
	             "authserv_advertise = bare\nmax_message_size = 20M\nmax_header_size = 64k\n"
	             "max_recipients = 100\nmax_connections = 50\ntimeout_command = 60\n"
	             "timeout_data = 30\nnext_hop_timeout = 20\nnext_hop_data_timeout = 90\n"
	             "xclient = yes\ntls_cert = /etc/c.pem\ntls_key = /etc/k.pem\n"
	             "hostname = mx.example\nproxy_from = 192.0.2.0/28, 2001:db8::1\n");
	l = mvd_listener_find(&c.listeners, "v6");
	assert_non_null(l);
	assert_string_equal(c.socket, "");
	assert_string_equal(l->listen, "[::1]:25");
	assert_int_equal(l->next_hop_proto, MVD_NEXT_HOP_LMTP);
	assert_int_equal(l->authserv_adv, MVD_AUTHSERV_BARE);
	assert_int_equal(l->max_message_size, 20 << 20);
	assert_int_equal(l->max_header_size, 64 << 10);
	assert_int_equal(l->max_recipients, 100);
	assert_int_equal(l->max_connections, 50);
	assert_int_equal(l->timeout_command, 60);
	assert_int_equal(l->timeout_data, 30);
	assert_int_equal(l->next_hop_timeout, 20);
	assert_int_equal(l->next_hop_data_final, 90);
	assert_true(l->xclient);
	assert_string_equal(l->tls_key, "/etc/k.pem");
	assert_string_equal(l->hostname, "mx.example");
	assert_true(mv_cidr_list_match(&l->proxy_from, "192.0.2.3"));
	assert_true(mv_cidr_list_match(&l->proxy_from, "2001:db8::1"));
	assert_false(mv_cidr_list_match(&l->proxy_from, "192.0.2.16"));
	mvd_config_free(&c);
}

static void addresses_split_into_host_and_port(void **state)
{
	char host[64];
	unsigned port;

	(void)state;
	assert_int_equal(mvd_listener_split_addr("127.0.0.1:2525", host, sizeof host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 2525);
	assert_int_equal(mvd_listener_split_addr("[::1]:25", host, sizeof host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 25);
	assert_int_equal(mvd_listener_split_addr("::1:25", host, sizeof host, &port), -1);
	assert_int_equal(mvd_listener_split_addr("host:0", host, sizeof host, &port), -1);
	assert_int_equal(mvd_listener_split_addr("host:70000", host, sizeof host, &port), -1);
	assert_int_equal(mvd_listener_split_addr(":25", host, sizeof host, &port), -1);
	assert_int_equal(mvd_listener_split_addr("[::1]25", host, sizeof host, &port), -1);
}

static void mistakes_are_refused_with_the_line(void **state)
{
	(void)state;
	parse_fails("[listener a]\nlisten = 127.0.0.1\nnext_hop = inet:127.0.0.1:25\n", "listen");
	parse_fails("[listener a]\nlisten = 127.0.0.1:25\n", "next_hop");
	parse_fails("[listener a]\nlisten = 127.0.0.1:25\nnext_hop = tcp:x:25\n", "next_hop");
	parse_fails("[listener a]\nnext_hop_protocol = qmqp\n", "line 2: next_hop_protocol");
	parse_fails("[listener a]\nauthserv_advertise = maybe\n", "authserv_advertise");
	parse_fails("[listener a]\nmax_recipients = 10\n", "max_recipients");
	parse_fails("[listener a]\nmax_message_size = 5T\n", "max_message_size");
	parse_fails("[listener a]\nxclient = perhaps\n", "xclient");
	parse_fails("[listener a]\ncolour = blue\n", "unknown key \"colour\"");
	parse_fails("[listener a]\nproxy_from = balancer\n", "proxy_from");
	parse_fails("[listener a b]\nrole = inbound\n", "bad name");
	parse_fails("[listener a]\nlisten = 127.0.0.1:25\nnext_hop = inet:h:25\n"
	            "tls_cert = /c.pem\n",
	            "tls_cert and tls_key");
	parse_fails("[listener a]\nlisten = 127.0.0.1:25\nnext_hop = inet:h:25\n"
	            "[listener b]\nlisten = 127.0.0.1:25\nnext_hop = inet:h:25\n",
	            "like [listener a]");
}

static void an_empty_milter_socket_needs_a_listener(void **state)
{
	(void)state;
	parse_fails("[milter]\nsocket =\n", "no [listener]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(a_listener_gets_the_rfc_5321_defaults),
	        cmocka_unit_test(every_key_is_read),
	        cmocka_unit_test(addresses_split_into_host_and_port),
	        cmocka_unit_test(mistakes_are_refused_with_the_line),
	        cmocka_unit_test(an_empty_milter_socket_needs_a_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
