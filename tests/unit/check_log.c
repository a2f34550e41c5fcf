// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_log.c - the drop-line rate limiter's arithmetic, and syslog
 * datagrams as they reach a socket: priority, ident, pid, message.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

START_TEST(burst_then_rate)
{
	struct ratelimit rl;
	int allowed = 0;

	ratelimit_init(&rl, 2, 5, 1000);
	for (int i = 0; i < 100; i++)
		allowed += ratelimit_allow(&rl, 1000);
	ck_assert_int_eq(allowed, 5);
	ck_assert_uint_eq(rl.suppressed, 95);
	/* Half a second at 2/s: one more. */
	ck_assert(ratelimit_allow(&rl, 1500));
	ck_assert(!ratelimit_allow(&rl, 1500));
	/* An idle minute refills only up to the burst. */
	allowed = 0;
	for (int i = 0; i < 100; i++)
		allowed += ratelimit_allow(&rl, 61500);
	ck_assert_int_eq(allowed, 5);
}
END_TEST

START_TEST(steady_rate)
{
	struct ratelimit rl;
	int allowed = 0;

	ratelimit_init(&rl, 10, 1, 0);
	/* A request every millisecond for 10 s: burst + 10/s. */
	for (uint64_t t = 0; t < 10000; t++)
		allowed += ratelimit_allow(&rl, t);
	ck_assert_int_ge(allowed, 100);
	ck_assert_int_le(allowed, 101);
}
END_TEST

START_TEST(rate_zero_allows_nothing)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 0, 10, 0);
	for (uint64_t t = 0; t < 5000; t += 100)
		ck_assert(!ratelimit_allow(&rl, t));
	ck_assert_uint_eq(rl.suppressed, 50);
}
END_TEST

START_TEST(report_once_a_second)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 1, 1, 0);
	ck_assert(ratelimit_allow(&rl, 0));
	ck_assert_uint_eq(ratelimit_report(&rl, 500), 0); /* none yet */
	ck_assert(!ratelimit_allow(&rl, 600));
	ck_assert(!ratelimit_allow(&rl, 700));
	ck_assert_uint_eq(ratelimit_report(&rl, 800), 0); /* too soon */
	ck_assert_uint_eq(ratelimit_report(&rl, 1000), 2);
	ck_assert_uint_eq(ratelimit_report(&rl, 1001), 0); /* nothing new */
	ck_assert(ratelimit_allow(&rl, 1002));
	ck_assert(!ratelimit_allow(&rl, 1100));
	ck_assert_uint_eq(ratelimit_report(&rl, 1900), 0);
	ck_assert_uint_eq(ratelimit_report(&rl, 2100), 1);
}
END_TEST

START_TEST(set_keeps_savings_capped)
{
	struct ratelimit rl;
	int allowed = 0;

	ratelimit_init(&rl, 1, 100, 0);
	ratelimit_set(&rl, 1, 3);
	for (int i = 0; i < 10; i++)
		allowed += ratelimit_allow(&rl, 0);
	ck_assert_int_eq(allowed, 3);
	ratelimit_set(&rl, 0, 3);
	ck_assert(!ratelimit_allow(&rl, 100000));
}
END_TEST

START_TEST(syslog_datagram)
{
	char dir[] = "/tmp/check_log.XXXXXX", path[128], buf[1200], want[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log.sock", dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	log_init("testd", false);
	log_configure(LOG_LOCAL2, path);
	log_msg(LOG_WARNING, "table full (%d/%d flows)", 3, 3);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	/* <PRI>: local2 (18) * 8 + warning (4) = 148 */
	ck_assert_int_eq(strncmp(buf, "<148>", 5), 0);
	snprintf(want, sizeof(want), " testd[%d]: table full (3/3 flows)",
		 (int)getpid());
	ck_assert_ptr_nonnull(strstr(buf, want));
	ck_assert_str_eq(buf + n - strlen(want), want);
	ck_assert_uint_eq(log_lost(), 0);

	/* Long messages are cut, not overrun. */
	memset(buf, 'x', 2000 > sizeof(buf) ? sizeof(buf) - 1 : 2000);
	buf[sizeof(buf) - 1] = '\0';
	log_msg(LOG_NOTICE, "%s%s", buf, buf);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert_int_gt(n, 900);
	ck_assert_int_le(n, 1023);

	close(fd);
	unlink(path);
	rmdir(dir);
	/* Syslog gone: lines are counted as lost (and go to stderr). */
	log_msg(LOG_NOTICE, "nobody listens");
	ck_assert_uint_eq(log_lost(), 1);
	log_close();
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, steady_rate);
	tcase_add_test(tc, rate_zero_allows_nothing);
	tcase_add_test(tc, report_once_a_second);
	tcase_add_test(tc, set_keeps_savings_capped);
	tcase_add_test(tc, syslog_datagram);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(log_suite());
}
