// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_droplog.c - what the daemon says about its limits: the line for
 * each kind of refusal and for an eviction, "would drop" in shadow mode,
 * and, through a real syslog socket, the rate limit, the interval reports
 * by source, the warning mark and the source-table-full line.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "droplog.h"
#include "enginetest.h"

static char line[1024];
static char dir[] = "/tmp/check_droplog.XXXXXX";
static char sock_path[128];
static int logfd = -1;
static struct droplog dl;

static void setup(void)
{
	setup_max(64);
}

static void restart(void)
{
	engine_destroy(&e);
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
}

/* A syslog socket to read the lines from. */
static void listen_log(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(dir, "/tmp/check_droplog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/log.sock", dir);
	strcpy(sa.sun_path, sock_path);
	logfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(logfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	log_init("testd", false);
	log_configure(LOG_DAEMON, sock_path);
}

static void unlisten_log(void)
{
	log_close();
	close(logfd);
	unlink(sock_path);
	rmdir(dir);
}

/* Every line that arrived, message parts only, joined by newlines. */
static char *read_log(void)
{
	static char all[65536];
	char buf[1200];
	size_t used = 0;
	ssize_t n;

	all[0] = '\0';
	while ((n = recv(logfd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		char *msg;

		buf[n] = '\0';
		msg = strstr(buf, "]: ");
		msg = msg ? msg + 3 : buf;
		used += (size_t)snprintf(all + used, sizeof(all) - used, "%s\n",
					 msg);
	}
	return all;
}

static int count_lines(const char *all, const char *part)
{
	int n = 0;

	for (const char *p = all; (p = strstr(p, part)); p += strlen(part))
		n++;
	return n;
}

START_TEST(drop_lines)
{
	const char *why;

	conf_defaults(&conf);
	conf.max_flows = 3;
	conf.on_full = CONF_FULL_DROP;
	conf.max_flows_per_source = 2;
	conf.source_prefix4 = 24;
	conf.max_proto[PC_ICMP] = 1;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], "203.0.113.0/24", false,
				      &why),
			 0);
	conf.nexempt = 1;
	restart();
	udp4(C4, S4, 5000, 53);
	udp4(C4, S4, 5001, 53);
	ck_assert_int_eq(udp4(C4, S4, 5002, 53), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "source limit (2/2 flows from 192.0.2.0/24), "
			       "dropping packet: UDP 192.0.2.7:5002 -> "
			       "198.51.100.1:53");
	icmp4("198.18.0.1", S4, 8, 1);
	ck_assert_int_eq(icmp4("198.18.0.1", S4, 8, 2), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "ICMP cap (1/1 flows), dropping packet: ICMP "
			       "198.18.0.1 -> 198.51.100.1 type 8 code 0 id 2");
	ck_assert_int_eq(udp4("198.18.0.2", S4, 5000, 53), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "table full (3/3 flows), dropping packet: UDP "
			       "198.18.0.2:5000 -> 198.51.100.1:53");

	/* Shadow mode: the same, would drop. */
	conf.enforce = false;
	restart();
	udp4(C4, S4, 5000, 53);
	udp4(C4, S4, 5001, 53);
	ck_assert_int_eq(udp4(C4, S4, 5002, 53), VERDICT_ACCEPT);
	ck_assert(res.shadow);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "source limit (2/2 flows from 192.0.2.0/24), "
			       "would drop packet: UDP 192.0.2.7:5002 -> "
			       "198.51.100.1:53");
}
END_TEST

/* The lines of the limits that hold under a hostile sender: a full
 * source table, the exempt cap, the mid-stream budget; and the evictions
 * they make. */
START_TEST(pressure_lines)
{
	const char *why;

	conf_defaults(&conf);
	conf.max_flows = 20;
	conf.max_sources = 2;
	conf.max_flows_per_source = 5;
	conf.exempt_max_percent = 5; /* one flow */
	conf.midstream_max_percent = 5;
	conf.on_full = CONF_FULL_DROP;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], "203.0.113.0/24", false,
				      &why),
			 0);
	conf.nexempt = 1;
	restart();
	udp4(C4, S4, 5000, 53);
	udp4("198.18.0.1", S4, 5000, 53);
	ck_assert_int_eq(udp4("198.18.0.2", S4, 5000, 53), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "source table full (2/2 sources, none to "
			       "reclaim), dropping packet from new source "
			       "198.18.0.2: UDP 198.18.0.2:5000 -> "
			       "198.51.100.1:53");
	udp4("203.0.113.1", S4, 5000, 53);
	ck_assert_int_eq(udp4("203.0.113.1", S4, 5001, 53), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "exempt cap (1/1 flows of exempt sources), "
			       "dropping packet: UDP 203.0.113.1:5001 -> "
			       "198.51.100.1:53");
	tcp4(C4, S4, 1000, 80, TCPF_ACK);
	ck_assert_int_eq(tcp4(C4, S4, 1001, 80, TCPF_ACK), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "mid-stream budget (1/1 unanswered TCP "
			       "pickups), dropping packet: TCP 192.0.2.7:1001 "
			       "-> 198.51.100.1:80");

	/* early_drop: each makes room instead, and says why. */
	conf.on_full = CONF_FULL_EARLY_DROP;
	restart();
	udp4(C4, S4, 5000, 53);
	udp4("198.18.0.1", S4, 5000, 53);
	ck_assert_int_eq(udp4("198.18.0.2", S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	droplog_fmt_evict(line, sizeof(line), &e, &res);
	ck_assert_ptr_nonnull(strstr(line, "source table full, evicted "
					   "(early_drop) UDP 192.0.2.7:5000"));
	udp4("203.0.113.1", S4, 5000, 53);
	ck_assert_int_eq(udp4("203.0.113.1", S4, 5001, 53), VERDICT_ACCEPT);
	droplog_fmt_evict(line, sizeof(line), &e, &res);
	ck_assert_ptr_nonnull(strstr(line, "exempt cap, evicted (early_drop) "
					   "UDP 203.0.113.1:5000"));
	tcp4("192.0.2.99", S4, 1000, 80, TCPF_ACK);
	ck_assert_int_eq(tcp4("192.0.2.99", S4, 1001, 80, TCPF_ACK),
			 VERDICT_ACCEPT);
	droplog_fmt_evict(line, sizeof(line), &e, &res);
	ck_assert_ptr_nonnull(strstr(line, "mid-stream budget, evicted "
					   "(early_drop) TCP 192.0.2.99:1000"));
}
END_TEST

START_TEST(rate_and_invalid_lines)
{
	conf_defaults(&conf);
	conf.max_new_per_source = 1;
	conf.invalid_verdict = CONF_DROP;
	restart();
	udp4(C4, S4, 5000, 53);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "source rate (over 1 new flows/s from "
			       "192.0.2.7), dropping packet: UDP "
			       "192.0.2.7:5001 -> 198.51.100.1:53");
	ck_assert_int_eq(tcp4(C4, S4, 1000, 80, TCPF_RST), VERDICT_DROP);
	droplog_fmt_drop(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "invalid packet (tcp_new), dropping: TCP "
			       "192.0.2.7:1000 -> 198.51.100.1:80");
}
END_TEST

START_TEST(eviction_lines)
{
	struct conv a = conv4(1000), b = conv4(1001);

	conf_defaults(&conf);
	conf.max_flows = 1;
	restart();
	c2s(&a, TCPF_SYN, 0);
	at(7);
	ck_assert_int_eq(c2s(&b, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	droplog_fmt_evict(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "table full, evicted (early_drop) TCP "
			       "192.0.2.7:1000 -> 198.51.100.1:80 SYN_SENT, "
			       "idle 7 s, for TCP 192.0.2.7:1001 -> "
			       "198.51.100.1:80");
	conf.max_flows = 64;
	conf.max_proto[PC_UDP] = 1;
	restart();
	udp4(C4, S4, 5000, 53);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_ACCEPT);
	droplog_fmt_evict(line, sizeof(line), &e, &res);
	ck_assert_str_eq(line, "UDP cap, evicted (early_drop) UDP "
			       "192.0.2.7:5000 -> 198.51.100.1:53, idle 0 s, "
			       "for UDP 192.0.2.7:5001 -> 198.51.100.1:53");
}
END_TEST

/* Drops and evictions through droplog_packet and droplog_tick, as the
 * daemon calls them, to a real socket. */
START_TEST(syslog_lines_and_reports)
{
	uint64_t t = T0 * 1000ULL;
	char *all;

	listen_log();
	conf_defaults(&conf);
	conf.max_flows = 10;
	conf.max_flows_per_source = 4;
	conf.warn_at = 50;
	conf.log_rate = 1;
	conf.log_burst = 3;
	conf.report_interval = 2;
	restart();
	droplog_init(&dl, &conf, t);
	for (uint16_t i = 0; i < 10; i++) {
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
		if (res.verdict == VERDICT_DROP)
			droplog_packet(&dl, &e, &res, t);
	}
	for (uint16_t i = 0; i < 2; i++) {
		udp4("198.18.0.1", S4, (uint16_t)(5000 + i), 53);
		udp4("198.18.0.2", S4, (uint16_t)(5000 + i), 53);
	}
	droplog_tick(&dl, engine_group(&e), t + 100);
	all = read_log();
	/* 6 refused: 3 lines at once (the burst), 3 held back. */
	ck_assert_int_eq(count_lines(all, "source limit (4/4 flows from "
					  "192.0.2.7), dropping packet"),
			 3);
	ck_assert_ptr_nonnull(strstr(all, "flow table 80% full: 8 of 10 "
					  "flows (warn_at = 50)\n"));
	ck_assert_uint_eq(dl.suppressed, 3);
	/* A second on: the count of what was held back; the report once
	 * the interval is over. */
	droplog_tick(&dl, engine_group(&e), t + 1100);
	all = read_log();
	ck_assert_ptr_nonnull(strstr(all, "3 drop messages suppressed\n"));
	ck_assert_ptr_null(strstr(all, "dropped 6"));
	droplog_tick(&dl, engine_group(&e), t + 2000);
	all = read_log();
	ck_assert_ptr_nonnull(strstr(all, "dropped 6 packets in 2 s: "
					  "source_limit 6 (top: 192.0.2.7 "
					  "6)\n"));
	/* Nothing more dropped: no more reports. */
	droplog_tick(&dl, engine_group(&e), t + 4000);
	ck_assert_str_eq(read_log(), "");
	/* The flows expire: back under the mark. */
	at(conf.timeout[TMO_UDP]);
	engine_tick(&e);
	droplog_tick(&dl, engine_group(&e), t + 30000);
	ck_assert_str_eq(read_log(),
			 "flow table back under 45%: 0 of 10 flows\n");
	unlisten_log();
}
END_TEST

START_TEST(eviction_report_and_source_table_full)
{
	uint64_t t = T0 * 1000ULL;
	char *all;

	listen_log();
	conf_defaults(&conf);
	conf.max_flows = 2;
	conf.max_sources = 1;
	conf.log_rate = 100;
	conf.log_burst = 100;
	conf.report_interval = 1;
	restart();
	droplog_init(&dl, &conf, t);
	for (uint16_t i = 0; i < 5; i++) {
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
		if (res.evicted)
			droplog_packet(&dl, &e, &res, t);
		udp4("203.0.113.5", S4, (uint16_t)(5000 + i), 53);
		if (res.evicted)
			droplog_packet(&dl, &e, &res, t);
	}
	droplog_tick(&dl, engine_group(&e), t + 1000);
	all = read_log();
	ck_assert_int_eq(count_lines(all, ", evicted (early_drop) UDP "), 8);
	ck_assert_ptr_nonnull(strstr(all, "evicted 8 flows in 1 s: early_drop "
					  "8 (top: "));
	ck_assert_ptr_nonnull(strstr(all, "source table full (1 sources): 5 "
					  "new flows were not limited per "
					  "source; raise max_sources\n"));
	/* Said again only after 10 s, with what came since. */
	{
		uint64_t before = e.st.flows_unsourced;
		char want[128];

		for (uint16_t i = 0; i < 6; i++) {
			char a[32];

			snprintf(a, sizeof(a), "198.18.0.%u", i + 1);
			udp4(a, S4, 6000, 53);
		}
		ck_assert_uint_gt(e.st.flows_unsourced, before);
		droplog_tick(&dl, engine_group(&e), t + 5000);
		ck_assert_ptr_null(strstr(read_log(), "source table full"));
		droplog_tick(&dl, engine_group(&e), t + 11000);
		snprintf(want, sizeof(want),
			 "source table full (1 sources): %llu new flows",
			 (unsigned long long)(e.st.flows_unsourced - before));
		ck_assert_ptr_nonnull(strstr(read_log(), want));
	}
	unlisten_log();
}
END_TEST

/* The daemon's way: a worker's feed, read by the main thread's tick; the
 * same lines as syslog_lines_and_reports, the report a tick after the
 * interval's end (once the worker swapped). */
START_TEST(feed_lines_and_reports)
{
	static struct droplog_feed f;
	struct droplog_feed *fs[] = { &f };
	uint64_t t = T0 * 1000ULL;
	char *all;

	listen_log();
	conf_defaults(&conf);
	conf.max_flows = 10;
	conf.max_flows_per_source = 4;
	conf.warn_at = 50;
	conf.log_rate = 1;
	conf.log_burst = 3;
	conf.report_interval = 2;
	restart();
	droplog_init(&dl, &conf, t);
	droplog_feed_init(&f);
	for (uint16_t i = 0; i < 10; i++) {
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
		if (res.verdict == VERDICT_DROP)
			droplog_feed_packet(&f, &e, &res, t);
	}
	for (uint16_t i = 0; i < 2; i++) {
		udp4("198.18.0.1", S4, (uint16_t)(5000 + i), 53);
		udp4("198.18.0.2", S4, (uint16_t)(5000 + i), 53);
	}
	/* The first news wakes the main thread; then not until it drained. */
	ck_assert(droplog_feed_publish(&f, &e));
	ck_assert(!droplog_feed_publish(&f, &e));
	ck_assert_str_eq(read_log(), "");
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 100);
	all = read_log();
	ck_assert_int_eq(count_lines(all, "source limit (4/4 flows from "
					  "192.0.2.7), dropping packet"),
			 3);
	ck_assert_ptr_nonnull(strstr(all, "flow table 80% full: 8 of 10 "
					  "flows (warn_at = 50)\n"));
	ck_assert_uint_eq(dl.suppressed, 3);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 1100);
	all = read_log();
	ck_assert_ptr_nonnull(strstr(all, "3 drop messages suppressed\n"));
	/* The interval ends: the worker is asked to swap, and the report
	 * follows the tick after it did. */
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 2000);
	ck_assert_ptr_null(strstr(read_log(), "dropped 6"));
	droplog_feed_publish(&f, &e);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 2100);
	ck_assert_str_eq(read_log(), "dropped 6 packets in 2 s: "
				     "source_limit 6 (top: 192.0.2.7 6)\n");
	droplog_feed_publish(&f, &e);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 4000);
	droplog_feed_publish(&f, &e);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 4100);
	ck_assert_str_eq(read_log(), "");
	at(conf.timeout[TMO_UDP]);
	engine_tick(&e);
	droplog_feed_publish(&f, &e);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 30000);
	ck_assert_str_eq(read_log(),
			 "flow table back under 45%: 0 of 10 flows\n");
	unlisten_log();
}
END_TEST

/* A full ring costs lines, counted as held back, never the counts. */
START_TEST(feed_ring_full)
{
	static struct droplog_feed f;
	struct droplog_feed *fs[] = { &f };
	uint64_t t = T0 * 1000ULL;

	listen_log();
	conf_defaults(&conf);
	conf.max_flows = 1;
	conf.on_full = CONF_FULL_DROP;
	conf.log_rate = 0;
	conf.report_interval = 1;
	restart();
	droplog_init(&dl, &conf, t);
	droplog_feed_init(&f);
	udp4(C4, S4, 4000, 53);
	for (unsigned i = 0; i < DROPLOG_RING + 5; i++) {
		udp4(C4, S4, (uint16_t)(5000 + i % 1000), 53);
		ck_assert_int_eq(res.verdict, VERDICT_DROP);
		droplog_feed_packet(&f, &e, &res, t);
	}
	droplog_feed_publish(&f, &e);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 1000);
	ck_assert_uint_eq(dl.suppressed, DROPLOG_RING + 5);
	droplog_feed_publish(&f, &e);
	droplog_feed_tick(&dl, fs, engine_group(&e), t + 1100);
	ck_assert_ptr_nonnull(strstr(read_log(), "dropped 1029 packets in 1 s: "
						 "table_full 1029 (top: "
						 "192.0.2.7 1029)\n"));
	unlisten_log();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("droplog");
	TCase *tc = tcase_create("droplog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, drop_lines);
	tcase_add_test(tc, pressure_lines);
	tcase_add_test(tc, rate_and_invalid_lines);
	tcase_add_test(tc, eviction_lines);
	tcase_add_test(tc, syslog_lines_and_reports);
	tcase_add_test(tc, eviction_report_and_source_table_full);
	tcase_add_test(tc, feed_lines_and_reports);
	tcase_add_test(tc, feed_ring_full);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
