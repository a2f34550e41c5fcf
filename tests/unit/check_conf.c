// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_conf.c - the configuration parser: defaults, every value type and
 * unit, every kind of problem reported as file:line, a fresh struct on
 * every parse, and printing that parses back to the same configuration.
 * (tests/conf/ holds the golden files run against nfqtrackd -t.)
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "testutil.h"

static char errors[4096];
static int nerr;

static void collect(void *arg, const char *msg)
{
	(void)arg;
	nerr++;
	strncat(errors, msg, sizeof(errors) - strlen(errors) - 2);
	strcat(errors, "\n");
}

static int parse(struct conf *c, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int n;

	errors[0] = '\0';
	nerr = 0;
	n = conf_parse(c, f, "t.conf", collect, NULL);
	fclose(f);
	ck_assert_int_eq(n, nerr);
	return n;
}

START_TEST(defaults_are_the_kernels)
{
	struct conf c;

	conf_defaults(&c);
	ck_assert_uint_eq(c.max_flows, 262144);
	ck_assert_uint_eq(conf_buckets(&c), 262144);
	ck_assert(c.fail_open);
	ck_assert_uint_eq(c.invalid_verdict, CONF_ACCEPT);
	ck_assert_uint_eq(c.timeout[TCP_S_SYN_SENT], 120);
	ck_assert_uint_eq(c.timeout[TCP_S_SYN_RECV], 60);
	ck_assert_uint_eq(c.timeout[TCP_S_ESTABLISHED], 432000);
	ck_assert_uint_eq(c.timeout[TCP_S_FIN_WAIT], 120);
	ck_assert_uint_eq(c.timeout[TCP_S_CLOSE_WAIT], 60);
	ck_assert_uint_eq(c.timeout[TCP_S_LAST_ACK], 30);
	ck_assert_uint_eq(c.timeout[TCP_S_TIME_WAIT], 120);
	ck_assert_uint_eq(c.timeout[TCP_S_CLOSE], 10);
	ck_assert_uint_eq(c.timeout[TCP_S_SYN_SENT2], 120);
	ck_assert_uint_eq(c.timeout[TMO_UDP], 30);
	ck_assert_uint_eq(c.timeout[TMO_UDP_STREAM], 120);
	ck_assert_uint_eq(c.timeout[TMO_ICMP], 30);
	ck_assert_uint_eq(c.timeout[TMO_ICMPV6], 30);
	ck_assert_uint_eq(c.timeout[TMO_GENERIC], 600);
	ck_assert_uint_eq(c.syslog_facility, LOG_DAEMON);
	ck_assert_str_eq(c.syslog_socket, "/dev/log");
	ck_assert_str_eq(c.ctl_socket, "/run/nfqtrack/ctl");
}
END_TEST

START_TEST(empty_file_is_defaults)
{
	struct conf c, d;

	conf_defaults(&d);
	memset(&c, 0x5a, sizeof(c));
	ck_assert_int_eq(parse(&c, ""), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	ck_assert_int_eq(parse(&c, "# only a comment\n\n   \n"), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
}
END_TEST

START_TEST(units)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "rcvbuf = 2M\ncopy_range = 1k\n"
				   "timeout_udp = 2m\ntimeout_generic = 1h\n"
				   "timeout_tcp_established = 2d\n"
				   "timeout_icmp = 45s\n"),
			 0);
	ck_assert_uint_eq(c.rcvbuf, 2 << 20);
	ck_assert_uint_eq(c.copy_range, 1024);
	ck_assert_uint_eq(c.timeout[TMO_UDP], 120);
	ck_assert_uint_eq(c.timeout[TMO_GENERIC], 3600);
	ck_assert_uint_eq(c.timeout[TCP_S_ESTABLISHED], 172800);
	ck_assert_uint_eq(c.timeout[TMO_ICMP], 45);
}
END_TEST

START_TEST(booleans_and_words)
{
	struct conf c;
	const char *yes[] = { "yes", "true", "on", "1" };
	const char *no[] = { "no", "false", "off", "0" };
	char text[64];

	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "fail_open = %s\n", yes[i]);
		ck_assert_int_eq(parse(&c, text), 0);
		ck_assert(c.fail_open);
		snprintf(text, sizeof(text), "fail_open = %s\n", no[i]);
		ck_assert_int_eq(parse(&c, text), 0);
		ck_assert(!c.fail_open);
	}
	ck_assert_int_eq(parse(&c, "invalid_verdict = drop\n"
				   "syslog_facility = local5\n"),
			 0);
	ck_assert_uint_eq(c.invalid_verdict, CONF_DROP);
	ck_assert_uint_eq(c.syslog_facility, LOG_LOCAL5);
	ck_assert_str_eq(conf_facility_name(LOG_LOCAL5), "local5");
	ck_assert_ptr_null(conf_facility_name(LOG_KERN));
	ck_assert_uint_eq(c.verdict_mode, CONF_MODE_ACCEPT);
	ck_assert_uint_eq(c.mark_mask, 0x3f000000);
	ck_assert_int_eq(parse(&c, "verdict_mode = repeat\n"
				   "mark_mask = 0XFC\n"),
			 0);
	ck_assert_uint_eq(c.verdict_mode, CONF_MODE_REPEAT);
	ck_assert_uint_eq(c.mark_mask, 0xfc);
	ck_assert_int_eq(parse(&c, "verdict_mode = mark\nmark_mask = 63\n"), 0);
	ck_assert_uint_eq(c.verdict_mode, CONF_MODE_MARK);
	ck_assert_uint_eq(c.mark_mask, 0x3f);
	ck_assert_str_eq(conf_verdict_mode_name(CONF_MODE_MARK), "mark");
}
END_TEST

/* One broken line each, and the one error it must give as
 * file:line: problem (NULL: only that it is an error). */
static const struct error_case {
	const char *text, *error;
} error_cases[] = {
	{ "\nmax_flows = 0\n",
	  "t.conf:2: max_flows: 0 is out of range (1 to 1073741824)\n" },
	{ "queue 3\n", "t.conf:1: expected 'key = value', got 'queue 3'\n" },
	{ "nope = 1\n", "t.conf:1: unknown key 'nope'\n" },
	{ "buckets = 3\n", NULL },
	{ "rcvbuf = 9q\n", "t.conf:1: rcvbuf: '9q' has an unknown unit\n" },
	{ "queue = 1x\n", "t.conf:1: queue: '1x' is not a number\n" },
	{ "queue = \n", "t.conf:1: queue: missing value\n" },
	{ "max_flows = 18446744073709551616\n",
	  "t.conf:1: max_flows: '18446744073709551616' is too large\n" },
	{ "rcvbuf = 17179869184G\n",
	  "t.conf:1: rcvbuf: '17179869184G' is too large\n" },
	{ "\n\nmark_mask = 0x3f000001\n",
	  "t.conf:3: mark_mask: 0x3f000001 is not 6 or 4 contiguous bits "
	  "(0x3f000000, 0x0f000000, 0x3f, ...)\n" },
	{ "mark_mask = 0xfc0000000\n",
	  "t.conf:1: mark_mask: '0xfc0000000' is not a 32-bit number\n" },
	{ "mark_mask = -1\n", NULL },
	{ "mark_mask = 0\n", NULL },
	{ "verdict_mode = drop\n",
	  "t.conf:1: verdict_mode: 'drop' is not accept, mark or repeat\n" },
	{ "fastpath_admit_mark = 0x00c00000\n",
	  "t.conf:1: fastpath_admit_mark: 0x00c00000 is not exactly one bit "
	  "(0x00800000, ...)\n" },
	{ "fastpath_admit_mark = 0\n", NULL },
	{ "fastpath_admit_mark = 0x100000000\n",
	  "t.conf:1: fastpath_admit_mark: '0x100000000' is not a 32-bit "
	  "number\n" },
	{ "fastpath = yes\n\nfastpath_admit_mark = 0x02000000\n",
	  "t.conf:3: fastpath_admit_mark: 0x02000000 is a bit of mark_mask "
	  "(0x3f000000); choose a bit outside it\n" },
	{ "fastpath = yes\nmark_mask = 0x00f00000\n",
	  "t.conf:2: fastpath_admit_mark: 0x00800000 is a bit of mark_mask "
	  "(0x00f00000); choose a bit outside it\n" },
	{ "fastpath_table = a-b\n",
	  "t.conf:1: fastpath_table: 'a-b' is not a table name (letters, "
	  "digits and _, 31 at most)\n" },
	{ "fastpath_table = abcdefghijabcdefghijabcdefghij012\n", NULL },
	{ "fastpath_table = a b\n", NULL },
	{ "fastpath_udp_after = 1000001\n",
	  "t.conf:1: fastpath_udp_after: 1000001 is out of range (0 to "
	  "1000000)\n" },
};

START_TEST(errors_name_file_line_problem)
{
	const struct error_case *ec = &error_cases[_i];
	struct conf c;

	ck_assert_int_eq(parse(&c, ec->text), 1);
	if (ec->error)
		ck_assert_str_eq(errors, ec->error);
}
END_TEST

START_TEST(fastpath_keys)
{
	struct fastpath_params p;
	struct conf c;

	conf_defaults(&c);
	ck_assert(!c.fastpath);
	ck_assert_str_eq(c.fastpath_table, "nfqtrack");
	ck_assert_uint_eq(c.fastpath_admit_mark, FASTPATH_ADMIT_MARK_DEFAULT);
	ck_assert_uint_eq(c.fastpath_udp_after, 8);
	/* Off, a mark_mask over the admit bit is no problem. */
	ck_assert_int_eq(parse(&c, "mark_mask = 0x00f00000\n"), 0);
	ck_assert_int_eq(parse(&c, "fastpath = yes\n"
				   "fastpath_table = Fast_1\n"
				   "fastpath_admit_mark = 1\n"
				   "mark_mask = 0x3f00\n"
				   "fastpath_udp_after = 0\n"
				   "max_flows = 1000\naccounting = yes\n"
				   "timeout_tcp_syn_recv = 7\n"
				   "timeout_tcp_established = 1h\n"
				   "timeout_tcp_time_wait = 9\n"
				   "timeout_tcp_close = 3\n"
				   "timeout_udp_stream = 11\n"),
			 0);
	ck_assert(c.fastpath);
	ck_assert_str_eq(c.fastpath_table, "Fast_1");
	ck_assert_uint_eq(c.fastpath_admit_mark, 1);
	ck_assert_uint_eq(c.fastpath_udp_after, 0);
	memset(&p, 0x5a, sizeof(p));
	conf_fastpath_params(&c, &p);
	ck_assert_str_eq(p.table, "Fast_1");
	ck_assert_uint_eq(p.admit_mark, 1);
	ck_assert_uint_eq(p.mark_mask, 0x3f00);
	ck_assert_uint_eq(p.max_elements, 2000);
	ck_assert(p.accounting);
	ck_assert(!p.udp);
	ck_assert_uint_eq(p.timeout_open, 7);
	ck_assert_uint_eq(p.timeout_established, 3600);
	ck_assert_uint_eq(p.timeout_closing, 9);
	ck_assert_uint_eq(p.timeout_close, 3);
	ck_assert_uint_eq(p.timeout_udp, 11);
	conf_defaults(&c);
	c.max_flows = 1u << 30;
	conf_fastpath_params(&c, &p);
	ck_assert_uint_eq(p.max_elements, 1u << 31);
	ck_assert(p.udp);
	ck_assert(!p.accounting);
}
END_TEST

START_TEST(duplicates_are_errors)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "queue = 1\nqueue = 2\n"), 1);
	ck_assert_str_eq(errors, "t.conf:2: queue: set again (first set on "
				 "line 1)\n");
}
END_TEST

START_TEST(every_problem_reported)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "a = 1\nqueue = 1\nb = 2\nmax_flows = x\n"),
			 3);
	ck_assert_str_eq(errors, "t.conf:1: unknown key 'a'\n"
				 "t.conf:3: unknown key 'b'\n"
				 "t.conf:4: max_flows: 'x' is not a number\n");
}
END_TEST

START_TEST(fresh_struct_each_parse)
{
	struct conf c;

	ck_assert_int_eq(parse(&c, "max_flows = 5\n"), 0);
	ck_assert_uint_eq(c.max_flows, 5);
	ck_assert_int_eq(parse(&c, "queue = 2\n"), 0);
	ck_assert_uint_eq(c.max_flows, 262144);
}
END_TEST

START_TEST(nul_and_long_lines)
{
	static const char nul[] = "queue = 1\0\nmax_flows = 3\n";
	char longline[1200];
	struct conf c;
	FILE *f;

	f = fmemopen((void *)nul, sizeof(nul) - 1, "r");
	errors[0] = '\0';
	nerr = 0;
	ck_assert_int_eq(conf_parse(&c, f, "t.conf", collect, NULL), 1);
	fclose(f);
	ck_assert_str_eq(errors, "t.conf:1: line has a NUL byte\n");
	ck_assert_uint_eq(c.max_flows, 3);

	memset(longline, ' ', sizeof(longline));
	memcpy(longline, "queue = 1", 9);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	ck_assert_int_eq(parse(&c, longline), 1);
	ck_assert_str_eq(errors, "t.conf:1: line is too long (1024 bytes at "
				 "most)\n");
}
END_TEST

START_TEST(paths)
{
	struct conf c;
	char text[256];

	ck_assert_int_eq(parse(&c, "ctl_socket = /tmp/x.sock\n"), 0);
	ck_assert_str_eq(c.ctl_socket, "/tmp/x.sock");
	ck_assert_int_eq(parse(&c, "ctl_socket = x.sock\n"), 1);
	snprintf(text, sizeof(text), "syslog_socket = /%0120d\n", 0);
	ck_assert_int_eq(parse(&c, text), 1);
	ck_assert_str_eq(c.syslog_socket, "/dev/log");
}
END_TEST

START_TEST(derived_buckets)
{
	struct conf c;

	conf_defaults(&c);
	c.max_flows = 1;
	ck_assert_uint_eq(conf_buckets(&c), 64);
	c.max_flows = 1000;
	ck_assert_uint_eq(conf_buckets(&c), 1024);
	c.max_flows = 1024;
	ck_assert_uint_eq(conf_buckets(&c), 1024);
	c.max_flows = 1025;
	ck_assert_uint_eq(conf_buckets(&c), 2048);
	c.buckets = 16;
	ck_assert_uint_eq(conf_buckets(&c), 16);
}
END_TEST

START_TEST(print_parses_back)
{
	struct conf c, d;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	ck_assert_int_eq(parse(&c,
			       "max_flows = 1000\nbuckets = 256\n"
			       "fail_open = no\ninvalid_verdict = drop\n"
			       "timeout_udp = 1m\nsyslog_facility = user\n"
			       "ctl_socket = /tmp/a b\n"
			       "verdict_mode = repeat\nmark_mask = 0xfc00\n"),
			 0);
	out = open_memstream(&text, &len);
	conf_print(&c, out);
	fclose(out);
	ck_assert_int_eq(parse(&d, text), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	ck_assert_ptr_nonnull(strstr(text, "timeout_udp = 60\n"));
	free(text);
}
END_TEST

START_TEST(load_missing_file)
{
	struct conf c;

	errors[0] = '\0';
	nerr = 0;
	ck_assert_int_eq(
		conf_load(&c, "/nonexistent/nfqtrack.conf", collect, NULL), 1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(errors, "/nonexistent/nfqtrack.conf: cannot read: No "
				 "such file or directory\n");
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, defaults_are_the_kernels);
	tcase_add_test(tc, empty_file_is_defaults);
	tcase_add_test(tc, units);
	tcase_add_test(tc, booleans_and_words);
	tcase_add_loop_test(tc, errors_name_file_line_problem, 0,
			    (int)ARRAY_SIZE(error_cases));
	tcase_add_test(tc, fastpath_keys);
	tcase_add_test(tc, duplicates_are_errors);
	tcase_add_test(tc, every_problem_reported);
	tcase_add_test(tc, fresh_struct_each_parse);
	tcase_add_test(tc, nul_and_long_lines);
	tcase_add_test(tc, paths);
	tcase_add_test(tc, derived_buckets);
	tcase_add_test(tc, print_parses_back);
	tcase_add_test(tc, load_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(conf_suite());
}
