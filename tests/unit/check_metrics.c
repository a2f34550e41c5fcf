// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_metrics.c - the Prometheus text: values from a real engine fed
 * real packets, a # HELP and a # TYPE line before each family and only
 * once, names as the format allows them, label escaping, the families
 * left out when their source is missing, and a text cut to fit.
 */
#define _GNU_SOURCE
#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enginetest.h"
#include "metrics.h"

static char text[64 << 10];
static struct queue_stats qs;
static struct queue_kernel_stats ks;
static struct metrics_input in;
static struct group_gauges gg;

static void setup(void)
{
	setup_drop(2);
	memset(&qs, 0, sizeof(qs));
	memset(&ks, 0, sizeof(ks));
	in = (struct metrics_input){
		.gauges = &gg,
		.stats = &e.st,
		.queue = &qs,
		.kernel = &ks,
		.version = "1.2.3",
		.start_time = 1700000000,
	};
}

static const char *render(void)
{
	size_t n;

	group_gauges(engine_group(&e), &gg);
	n = metrics_render(text, sizeof(text), &in);

	ck_assert_uint_lt(n, sizeof(text));
	ck_assert_uint_eq(n, strlen(text));
	return text;
}

/* Does the text hold this whole line? */
static bool has_line(const char *t, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = t; (p = strstr(p, line)); p++)
		if ((p == t || p[-1] == '\n') && p[len] == '\n')
			return true;
	return false;
}

#define assert_line(t, l) ck_assert_msg(has_line(t, l), "no line '%s'", l)

START_TEST(values_from_the_engine)
{
	const char *t;
	char line[128];

	/* Two UDP flows fill the table of two, a third is refused; a ping
	 * can open no flow either; one packet too short to parse. */
	ck_assert_int_eq(udp4(C4, S4, 1000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(S4, C4, 53, 1000), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 1001, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 1002, 53), VERDICT_DROP);
	ck_assert_int_eq(icmp4(C4, S4, 8, 7), VERDICT_DROP);
	feed((const uint8_t[]){ 0x45, 0 }, 2);
	qs.packets = 6;
	qs.enobufs = 3;
	ks.queue_dropped = 4;
	ks.user_dropped = 5;
	in.reloads = 2;
	in.reload_errors = 1;
	t = render();

	assert_line(t, "# HELP nfqtrack_flows Flows in the table.");
	assert_line(t, "# TYPE nfqtrack_flows gauge");
	assert_line(t, "nfqtrack_flows 2");
	assert_line(t, "nfqtrack_flows_max 2");
	assert_line(t, "nfqtrack_flows_by_protocol{protocol=\"udp\"} 2");
	assert_line(t, "nfqtrack_flows_by_protocol{protocol=\"tcp\"} 0");
	assert_line(t, "nfqtrack_flows_by_protocol{protocol=\"icmp\"} 0");
	assert_line(t, "nfqtrack_flows_by_protocol{protocol=\"other\"} 0");
	assert_line(t, "# TYPE nfqtrack_packets_total counter");
	snprintf(line, sizeof(line),
		 "nfqtrack_packets_total{verdict=\"accept\"} %" PRIu64,
		 e.st.accepted);
	assert_line(t, line);
	assert_line(t, "nfqtrack_packets_total{verdict=\"drop\"} 2");
	assert_line(t, "# TYPE nfqtrack_drops_total counter");
	assert_line(t, "nfqtrack_drops_total{reason=\"table_full\"} 2");
	assert_line(t, "nfqtrack_drops_total{reason=\"source_limit\"} 0");
	assert_line(t, "nfqtrack_malformed_packets_total{reason=\"short\"} 1");
	/* Accepted packets by state: two flows opened, one answered, the
	 * malformed one accepted as invalid; "none" is no series. */
	assert_line(t, "# TYPE nfqtrack_packets_by_state_total counter");
	assert_line(t, "nfqtrack_packets_by_state_total{state=\"new\"} 2");
	assert_line(t,
		    "nfqtrack_packets_by_state_total{state=\"established\"} 1");
	assert_line(t, "nfqtrack_packets_by_state_total{state=\"related\"} 0");
	assert_line(t, "nfqtrack_packets_by_state_total{state=\"invalid\"} 1");
	assert_line(t,
		    "nfqtrack_packets_by_state_total{state=\"untracked\"} 0");
	ck_assert_ptr_null(strstr(t, "{state=\"none\"}"));
	assert_line(t, "nfqtrack_flows_created_total 2");
	assert_line(t, "nfqtrack_flows_expired_total 0");
	assert_line(t, "nfqtrack_queue_packets_total 6");
	assert_line(t, "nfqtrack_queue_enobufs_total 3");
	assert_line(t, "nfqtrack_kernel_queue_dropped_total 4");
	assert_line(t, "nfqtrack_kernel_user_dropped_total 5");
	assert_line(t, "nfqtrack_config_reloads_total 2");
	assert_line(t, "nfqtrack_config_reload_errors_total 1");
	assert_line(t, "nfqtrack_build_info{version=\"1.2.3\"} 1");
	assert_line(t, "nfqtrack_start_time_seconds 1700000000");
	assert_line(t, "nfqtrack_enforce 1");

	/* Expiry, as the kernel's: counted once the flows are reclaimed. */
	at(3600);
	engine_tick(&e);
	in.flows_expired = e.table.expired;
	t = render();
	assert_line(t, "nfqtrack_flows 0");
	assert_line(t, "nfqtrack_flows_expired_total 2");
}
END_TEST

/* Every reason the engine counts has its series, named as it names it. */
START_TEST(every_reason)
{
	const char *t = render();
	char line[128];

	for (int i = 1; i < DROP_REASON_COUNT; i++) {
		snprintf(line, sizeof(line),
			 "nfqtrack_drops_total{reason=\"%s\"} 0",
			 engine_drop_name(i));
		assert_line(t, line);
		snprintf(line, sizeof(line),
			 "nfqtrack_would_drops_total{reason=\"%s\"} 0",
			 engine_drop_name(i));
		assert_line(t, line);
	}
	for (int i = 1; i < EVICT_REASON_COUNT; i++) {
		snprintf(line, sizeof(line),
			 "nfqtrack_flows_evicted_total{reason=\"%s\"} 0",
			 engine_evict_name(i));
		assert_line(t, line);
	}
	for (int i = 1; i < INV_REASON_COUNT; i++) {
		snprintf(line, sizeof(line),
			 "nfqtrack_invalid_packets_total{reason=\"%s\"} 0",
			 engine_invalid_name(i));
		assert_line(t, line);
	}
	for (int i = 1; i < PKT_ERR_COUNT; i++) {
		snprintf(line, sizeof(line),
			 "nfqtrack_malformed_packets_total{reason=\"%s\"} 0",
			 pkt_err_name(i));
		assert_line(t, line);
	}
	ck_assert_ptr_null(strstr(t, "\"none\""));
}
END_TEST

static bool valid_name(const char *s, size_t len)
{
	if (!len || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != ':')
			return false;
	return true;
}

/*
 * The format's rules, line by line: each family's HELP then TYPE, once,
 * right before its samples, which stay together; counters end in _total;
 * every sample is "name[{labels}] integer".
 */
START_TEST(format_rules)
{
	char *copy = strdup(render()), *save = NULL, *l;
	char family[128] = "", type[16] = "", seen[8192] = " ";
	int state = 0; /* 0: want HELP, 1: want TYPE, 2: samples */
	int families = 0, samples = 0;

	for (l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[128], fam[140];
		size_t n;

		if (!strncmp(l, "# HELP ", 7)) {
			ck_assert_msg(state != 1, "HELP after HELP: %s", l);
			n = strcspn(l + 7, " ");
			ck_assert(valid_name(l + 7, n));
			ck_assert_int_eq(l[7 + n], ' ');
			ck_assert_int_gt(strlen(l + 8 + n), 10);
			snprintf(family, sizeof(family), "%.*s", (int)n, l + 7);
			snprintf(fam, sizeof(fam), " %s ", family);
			ck_assert_msg(!strstr(seen, fam), "twice: %s", family);
			strcat(seen, fam + 1);
			state = 1;
			families++;
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			ck_assert_int_eq(state, 1);
			ck_assert_int_eq(
				sscanf(l + 7, "%127s %15s", name, type), 2);
			ck_assert_str_eq(name, family);
			ck_assert(!strcmp(type, "counter") ||
				  !strcmp(type, "gauge"));
			n = strlen(family);
			if (!strcmp(type, "counter"))
				ck_assert_msg(n > 6 && !strcmp(family + n - 6,
							       "_total"),
					      "counter %s", family);
			else
				ck_assert_msg(n < 6 || strcmp(family + n - 6,
							      "_total"),
					      "gauge %s", family);
			state = 2;
			continue;
		}
		ck_assert_msg(l[0] != '#', "stray comment: %s", l);
		ck_assert_int_eq(state, 2);
		n = strcspn(l, "{ ");
		ck_assert_msg(n == strlen(family) && !strncmp(l, family, n),
			      "sample %s outside family %s", l, family);
		l += n;
		if (*l == '{') {
			char *end = strchr(l, '}');

			ck_assert_ptr_nonnull(end);
			ck_assert_int_eq(sscanf(l + 1, "%127[a-z_]=\"", name),
					 1);
			l = end + 1;
		}
		ck_assert_int_eq(*l, ' ');
		ck_assert_int_gt(strlen(l + 1), 0);
		ck_assert_uint_eq(strspn(l + 1, "0123456789"), strlen(l + 1));
		samples++;
	}
	ck_assert_int_eq(state, 2);
	ck_assert_int_ge(families, 35);
	ck_assert_int_gt(samples, families);
	free(copy);
}
END_TEST

START_TEST(label_escaping)
{
	const char *t;

	in.version = "1.0 \"x\"\\y\nz";
	t = render();
	assert_line(t, "nfqtrack_build_info{version=\"1.0 \\\"x\\\"\\\\y\\nz\"}"
		       " 1");
}
END_TEST

/* No queue (a replay), and a kernel file that could not be read: their
 * families are left out whole, headers too. */
START_TEST(missing_sources)
{
	const char *t;

	in.queue = NULL;
	in.kernel = NULL;
	t = render();
	ck_assert_ptr_null(strstr(t, "nfqtrack_queue_"));
	ck_assert_ptr_null(strstr(t, "nfqtrack_kernel_"));
	assert_line(t, "nfqtrack_flows 0");
	assert_line(t, "nfqtrack_config_reloads_total 0");
}
END_TEST

/* As snprintf: the length of the whole text, and a cut one that ends
 * in a NUL within the buffer. */
START_TEST(truncation)
{
	char small[100], *full;
	size_t n = metrics_render(small, sizeof(small), &in);

	ck_assert_uint_gt(n, sizeof(small));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	full = malloc(n + 1);
	ck_assert_uint_eq(metrics_render(full, n + 1, &in), n);
	ck_assert_uint_eq(strlen(full), n);
	ck_assert(!strncmp(full, small, sizeof(small) - 1));
	ck_assert_uint_eq(metrics_render(full, n, &in), n);
	ck_assert_uint_eq(strlen(full), n - 1);
	ck_assert_uint_eq(metrics_render(NULL, 0, &in), n);
	free(full);
}
END_TEST

/* "key value\n" lines, appended. */
static char pairs[32 << 10];

static void collect(void *arg, const char *name, uint64_t value)
{
	size_t used = strlen(pairs);

	(void)arg;
	snprintf(pairs + used, sizeof(pairs) - used, "%s %" PRIu64 "\n", name,
		 value);
}

/* One counter table: the group's rows come in the order of `nfqtrackctl
 * stats` (and of a replay's counters), sizes and totals that are no
 * metric among them, and metrics_stat() finds each with its value; the
 * daemon's rows come in the stats' order, stats-only ones (queue_eintr)
 * too, the kernel's left out without the kernel's file. */
START_TEST(stats_names)
{
	static const char head[] = "flows 2\nflows_max 2\nflows_tcp 0\n"
				   "flows_udp 2\nflows_icmp 0\nflows_other 0\n"
				   "flows_exempt 0\nflows_midstream 0\n"
				   "fastpath_flows 0\n"
				   "table_warning 1\n"
				   "adaptive_scale_permille 1000\nenforce 1\n"
				   "sources ";
	static char table[32 << 10];
	char *save = NULL, *line;

	ck_assert_int_eq(udp4(C4, S4, 1000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 1001, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 1002, 53), VERDICT_DROP);
	pairs[0] = '\0';
	group_gauges(engine_group(&e), &gg);
	metrics_stats(&in, METRICS_ENGINE, collect, NULL);
	ck_assert_msg(!strncmp(pairs, head, strlen(head)),
		      "the stats begin: %.240s", pairs);
	ck_assert_ptr_nonnull(strstr(pairs, "\nbuckets "));
	ck_assert_ptr_nonnull(strstr(pairs, "\nbytes_per_tcp_state "));
	ck_assert_ptr_nonnull(strstr(pairs,
				     "\npackets 3\naccepted 2\n"
				     "dropped 1\ndropped_table_full 1\n"));
	ck_assert_ptr_nonnull(strstr(pairs, "\nflows_evicted 0\nevicted_"));
	ck_assert_ptr_nonnull(strstr(pairs, "\nwould_drop 0\nwould_drop_"));
	ck_assert_ptr_nonnull(strstr(pairs, "\nsources_reclaimed 0\n"
					    "table_warnings 1\n"));
	ck_assert_uint_eq(strlen(strstr(pairs, "\ntable_warnings 1\n")),
			  strlen("\ntable_warnings 1\n"));
	strcpy(table, pairs);
	for (line = strtok_r(table, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		uint64_t v, want;

		ck_assert_int_eq(sscanf(line, "%63s %" SCNu64, name, &want), 2);
		ck_assert_msg(metrics_stat(&in, name, &v), "no %s", name);
		ck_assert_uint_eq(v, want);
	}
	qs.eintr = 7;
	ks.id_sequence = 9;
	in.log_suppressed = 3;
	in.already_marked = 5;
	pairs[0] = '\0';
	metrics_stats(&in, METRICS_DAEMON, collect, NULL);
	ck_assert_str_eq(pairs, "queue_packets 0\n"
				"already_marked 5\n"
				"queue_recv_calls 0\n"
				"queue_send_calls 0\n"
				"queue_verdict_msgs 0\n"
				"queue_enobufs 0\n"
				"queue_eintr 7\n"
				"queue_recv_errors 0\n"
				"queue_send_errors 0\n"
				"queue_nl_errors 0\n"
				"queue_bad_messages 0\n"
				"kernel_queue_total 0\n"
				"kernel_queue_dropped 0\n"
				"kernel_user_dropped 0\n"
				"kernel_id_sequence 9\n"
				"log_suppressed 3\n"
				"log_lost 0\n"
				"events_lost 0\n"
				"reloads 0\n"
				"reload_errors 0\n"
				"ipfix_records 0\n"
				"ipfix_records_lost 0\n"
				"ipfix_messages 0\n"
				"ipfix_templates 0\n");
	in.kernel = NULL;
	pairs[0] = '\0';
	metrics_stats(&in, METRICS_DAEMON, collect, NULL);
	ck_assert_ptr_null(strstr(pairs, "kernel_"));
	ck_assert_ptr_nonnull(strstr(pairs, "\nlog_suppressed 3\n"));
	/* Not a metric: the text has no series for it. */
	ck_assert_ptr_null(strstr(render(), "eintr"));
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, values_from_the_engine);
	tcase_add_test(tc, every_reason);
	tcase_add_test(tc, format_rules);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, missing_sources);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, stats_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(metrics_suite());
}
