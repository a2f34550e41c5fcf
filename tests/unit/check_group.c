// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_group.c - engines that share their limits (one per queue and
 * thread) and the pause that stops their threads: max_flows, per protocol
 * caps and per source limits hold for the group exactly, also with two
 * threads racing to open flows; a reload and a recount cover every table;
 * a paused worker does nothing until it is let go.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "engine.h"
#include "group.h"
#include "mutex.h"
#include "pause.h"
#include "testutil.h"

static const struct hash_key key = { 0x0123456789abcdefULL, 7 };

struct tgroup {
	struct conf conf;
	struct group grp;
	struct mutex lock;
	bool threaded;
	struct engine *eng[2];
	const struct policy *sh; /* the group's counts */
};

static void tgroup_init(struct tgroup *g, bool threaded)
{
	struct policy_lock lk;

	g->threaded = threaded;
	if (threaded) {
		ck_assert_int_eq(mutex_init(&g->lock), 0);
		lk = mutex_lock_ops(&g->lock);
	}
	ck_assert_int_eq(group_init(&g->grp, tu_params(&g->conf), &key, 2,
				    threaded ? &lk : NULL, 1000),
			 0);
	for (int i = 0; i < 2; i++)
		g->eng[i] = group_engine(&g->grp, i);
	g->sh = group_policy(&g->grp);
}

static void tgroup_destroy(struct tgroup *g)
{
	group_destroy(&g->grp);
	if (g->threaded)
		mutex_destroy(&g->lock);
}

/* A UDP packet from 10.(a>>8).(a&255).1:port to 10.99.0.1:53. */
static enum verdict udp(struct engine *e, uint32_t a, uint16_t port,
			struct engine_result *r)
{
	char src[32];
	uint8_t l4[16], b[64];
	size_t len;

	snprintf(src, sizeof(src), "10.%u.%u.1", (a >> 8) & 255, a & 255);
	len = tu_ip4(b, IPPROTO_UDP, src, "10.99.0.1", l4,
		     tu_udp(l4, port, 53, 8));
	engine_packet(e, b, len, len, 0, r);
	return r->verdict;
}

static uint32_t table_sum(const struct tgroup *g)
{
	return g->eng[0]->table.count + g->eng[1]->table.count;
}

START_TEST(limits_hold_for_the_group)
{
	struct engine_result r;
	struct tgroup g;
	int accepted = 0;

	conf_defaults(&g.conf);
	g.conf.max_flows = 10;
	g.conf.on_full = CONF_FULL_DROP;
	g.conf.max_flows_per_source = 3;
	tgroup_init(&g, false);
	/* Each table could hold max_flows alone; together they hold it. */
	for (uint16_t p = 1; p <= 12; p++)
		accepted += udp(g.eng[p & 1], p, 1000, &r) == VERDICT_ACCEPT;
	ck_assert_int_eq(accepted, 10);
	ck_assert_int_eq(r.reason, DROP_TABLE_FULL);
	ck_assert_uint_eq(g.sh->flows, 10);
	ck_assert_uint_eq(table_sum(&g), 10);
	ck_assert_uint_eq(g.sh->proto_count[PC_UDP], 10);
	ck_assert_uint_ge(g.eng[0]->table.count, 1);
	ck_assert_uint_ge(g.eng[1]->table.count, 1);

	/* One source's flows in both tables count as one. */
	tgroup_destroy(&g);
	tgroup_init(&g, false);
	ck_assert_int_eq(udp(g.eng[0], 1, 1, &r), VERDICT_ACCEPT);
	ck_assert_int_eq(udp(g.eng[1], 1, 2, &r), VERDICT_ACCEPT);
	ck_assert_int_eq(udp(g.eng[0], 1, 3, &r), VERDICT_ACCEPT);
	ck_assert_int_eq(udp(g.eng[1], 1, 4, &r), VERDICT_DROP);
	ck_assert_int_eq(r.reason, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(g.sh->sources.count, 1);

	/* A flow freed in one table makes room in the other. */
	engine_set_time(g.eng[0], 1000 + 3600 * 1000);
	engine_tick(g.eng[0]);
	ck_assert_uint_eq(g.eng[0]->table.count, 0);
	ck_assert_uint_eq(g.sh->flows, 1);
	ck_assert_int_eq(udp(g.eng[1], 1, 5, &r), VERDICT_ACCEPT);
	ck_assert_int_eq(udp(g.eng[1], 1, 6, &r), VERDICT_ACCEPT);
	ck_assert_uint_eq(g.sh->flows, 3);
	tgroup_destroy(&g);
}
END_TEST

START_TEST(report_sums_the_group)
{
	struct engine_result r;
	struct engine_stats st;
	struct tgroup g;

	conf_defaults(&g.conf);
	g.conf.max_flows = 4;
	g.conf.on_full = CONF_FULL_DROP;
	tgroup_init(&g, false);
	for (uint16_t p = 1; p <= 6; p++)
		udp(g.eng[p % 2], p, 1000, &r);
	group_stats(&g.grp, &st);
	ck_assert_uint_eq(st.packets, 6);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.flows_created, 4);
	/* Tables this small are populated in full at once; the source
	 * table counts once. */
	ck_assert_uint_eq(group_memory(&g.grp), group_reserved(&g.grp));
	ck_assert_uint_eq(group_memory(&g.grp),
			  2 * (group_memory(&g.grp) -
			       engine_table_bytes(g.eng[1], true)) -
				  source_table_bytes_for(1024));
	tgroup_destroy(&g);
}
END_TEST

/* A reload that changes the exempt list counts every table again, and
 * the shared counts come out right. */
START_TEST(reload_recounts_every_table)
{
	struct engine_result r;
	struct tgroup g;
	struct prefix p;
	const char *why;

	conf_defaults(&g.conf);
	g.conf.max_flows = 100;
	tgroup_init(&g, false);
	for (uint16_t i = 1; i <= 8; i++)
		udp(g.eng[i % 2], i, 1000, &r);
	ck_assert_uint_eq(g.sh->proto_count[PC_UDP], 8);
	ck_assert_int_eq(prefix_parse(&p, "10.0.0.0/8", false, &why), 0);
	g.conf.exempt[0] = p;
	g.conf.nexempt = 1;
	g.conf.max_flows = 200;
	ck_assert_int_eq(group_reconfigure(&g.grp, tu_params(&g.conf)), 0);
	ck_assert_uint_eq(g.sh->exempt_count, 8);
	ck_assert_uint_eq(g.sh->proto_count[PC_UDP], 0);
	ck_assert_uint_eq(g.sh->flows, 8);
	ck_assert_uint_eq(engine_policy(g.eng[0])->max_flows, 200);
	ck_assert_uint_eq(engine_policy(g.eng[1])->max_flows, 200);
	ck_assert_uint_eq(engine_policy(g.eng[1])->nexempt, 1);
	tgroup_destroy(&g);
}
END_TEST

struct racer {
	struct engine *e;
	uint32_t first;
	int accepted;
	atomic_int *go;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	struct engine_result r;

	while (!atomic_load(rc->go))
		;
	for (uint32_t i = 0; i < 20000; i++)
		rc->accepted += udp(rc->e, rc->first + i / 8,
				    (uint16_t)(1 + i % 8),
				    &r) == VERDICT_ACCEPT;
	return NULL;
}

/* Two threads open flows as fast as they can into a table that holds
 * fewer than they try: never one flow more than max_flows, and every
 * count agrees at the end. */
START_TEST(threads_race_for_the_last_places)
{
	struct racer rc[2];
	pthread_t t[2];
	atomic_int go = 0;
	struct tgroup g;

	conf_defaults(&g.conf);
	g.conf.max_flows = 25000;
	g.conf.on_full = CONF_FULL_DROP;
	g.conf.max_flows_per_source = 7;
	tgroup_init(&g, true);
	for (int i = 0; i < 2; i++) {
		rc[i] = (struct racer){ g.eng[i], (uint32_t)i * 1250, 0, &go };
		ck_assert_int_eq(pthread_create(&t[i], NULL, race, &rc[i]), 0);
	}
	atomic_store(&go, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* Sources 0-2499 and 1250-3749, 8 flows each from each thread
	 * (sources 1250-2499 from both at once), 7 per source at most:
	 * 26,250 by the sources: the table's 25,000 is reached. */
	ck_assert_uint_eq(g.sh->flows, table_sum(&g));
	ck_assert_uint_eq(g.sh->flows,
			  (uint32_t)(rc[0].accepted + rc[1].accepted));
	ck_assert_uint_eq(g.sh->flows, 25000);
	ck_assert_uint_eq(g.sh->proto_count[PC_UDP], g.sh->flows);
	for (uint32_t b = 0; b < g.sh->sources.nbuckets; b++)
		for (uint32_t i = g.sh->sources.bucket[b]; i != SOURCE_NIL;
		     i = source_at(&g.sh->sources, i)->next)
			ck_assert_uint_le(source_at(&g.sh->sources, i)->flows,
					  7);
	tgroup_destroy(&g);
}
END_TEST

/* ICMP (family 4) or ICMPv6 error of type and code from `from` to `to`,
 * quoting a packet of proto (UDP, or a TCP SYN) from src:sport to
 * dst:dport, fed to e. */
static enum verdict icmp_error(struct engine *e, int family, uint8_t type,
			       uint8_t code, const char *from, const char *to,
			       uint8_t proto, const char *src, uint16_t sport,
			       const char *dst, uint16_t dport,
			       struct engine_result *r)
{
	uint8_t l4[32], quote[96], msg[128], b[192];
	size_t l4len = proto == IPPROTO_TCP ?
			       tu_tcp(l4, sport, dport, 0x02, 1, 0) :
			       tu_udp(l4, sport, dport, 0);
	size_t qlen, n, len;

	if (family == 4) {
		qlen = tu_ip4(quote, proto, src, dst, l4, l4len);
		n = tu_icmp_err(msg, type, code, quote, qlen);
		len = tu_ip4(b, IPPROTO_ICMP, from, to, msg, n);
	} else {
		qlen = tu_ip6(quote, proto, src, dst, l4, l4len);
		n = tu_icmp_err(msg, type, code, quote, qlen);
		len = tu_ip6(b, IPPROTO_ICMPV6, from, to, msg, n);
	}
	engine_packet(e, b, len, len, 0, r);
	return r->verdict;
}

/* --queue-balance hashes an ICMP error by its own addresses, so it
 * reaches another queue than the flow it quotes: it is still that flow's
 * (else frag-needed and packet-too-big are dropped: PMTU black holes). */
START_TEST(icmp_error_finds_its_flow_on_another_queue)
{
	struct engine_result r;
	uint8_t l4[20], b[80];
	struct tgroup g;
	size_t len;

	conf_defaults(&g.conf);
	g.conf.invalid_verdict = CONF_DROP;
	tgroup_init(&g, false);
	ck_assert_int_eq(udp(g.eng[0], 1, 1000, &r), VERDICT_ACCEPT);
	len = tu_ip6(b, IPPROTO_TCP, "2001:db8::1", "2001:db8:99::1", l4,
		     tu_tcp(l4, 40000, 443, 0x02, 1, 0));
	engine_packet(g.eng[0], b, len, len, 0, &r);
	ck_assert_int_eq(r.verdict, VERDICT_ACCEPT);
	ck_assert_uint_eq(g.eng[0]->table.count, 2);

	/* Fragmentation needed, from a router on the way. */
	ck_assert_int_eq(icmp_error(g.eng[1], 4, 3, 4, "203.0.113.1",
				    "10.0.1.1", IPPROTO_UDP, "10.0.1.1", 1000,
				    "10.99.0.1", 53, &r),
			 VERDICT_ACCEPT);
	ck_assert_int_eq(r.invalid, INV_NONE);
	/* Packet too big, about the TCP connection. */
	ck_assert_int_eq(icmp_error(g.eng[1], 6, 2, 0, "2001:db8:ff::1",
				    "2001:db8::1", IPPROTO_TCP, "2001:db8::1",
				    40000, "2001:db8:99::1", 443, &r),
			 VERDICT_ACCEPT);
	ck_assert_int_eq(r.invalid, INV_NONE);
	ck_assert_uint_eq(g.eng[1]->st.icmp_related, 2);
	ck_assert_uint_eq(g.eng[1]->table.count, 0); /* errors open none */

	/* Still: an error about no flow of any queue, or to another host
	 * than the quoted packet's sender, is invalid. */
	ck_assert_int_eq(icmp_error(g.eng[1], 4, 3, 4, "203.0.113.1",
				    "10.0.1.1", IPPROTO_UDP, "10.0.1.1", 1001,
				    "10.99.0.1", 53, &r),
			 VERDICT_DROP);
	ck_assert_int_eq(r.invalid, INV_ICMP_ERROR_FLOW);
	ck_assert_int_eq(icmp_error(g.eng[1], 4, 3, 4, "203.0.113.1",
				    "10.0.9.9", IPPROTO_UDP, "10.0.1.1", 1000,
				    "10.99.0.1", 53, &r),
			 VERDICT_DROP);
	ck_assert_int_eq(r.invalid, INV_ICMP_ERROR_ADDR);
	tgroup_destroy(&g);
}
END_TEST

struct churner {
	struct engine *e;
	atomic_int *stop;
	atomic_ulong rounds;
};

/* Opens TCP connections and resets them at once, each a chain insert and
 * removal, and answers the UDP flows the ICMP errors quote (their flags
 * change as the other thread reads them), until told to stop. */
static void *churn(void *arg)
{
	struct churner *c = arg;
	struct engine_result r;
	uint8_t l4[20], b[64];

	while (!atomic_load(c->stop)) {
		uint16_t port =
			(uint16_t)(1024 + atomic_load(&c->rounds) % 60000);
		size_t len = tu_ip4(b, IPPROTO_TCP, "10.0.2.1", "10.99.0.1", l4,
				    tu_tcp(l4, port, 80, 0x02, 1, 0));

		engine_packet(c->e, b, len, len, 0, &r);
		len = tu_ip4(b, IPPROTO_TCP, "10.0.2.1", "10.99.0.1", l4,
			     tu_tcp(l4, port, 80, 0x04, 2, 0));
		engine_packet(c->e, b, len, len, 0, &r);
		len = tu_ip4(b, IPPROTO_UDP, "10.99.0.1", "10.0.1.1", l4,
			     tu_udp(l4, 53, (uint16_t)(1 + port % 64), 8));
		engine_packet(c->e, b, len, len, 0, &r);
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

/* With threads: while one queue's thread opens and frees flows as fast as
 * it can, the other finds the flow an ICMP error quotes in its table,
 * every time. */
START_TEST(icmp_error_lookup_races_a_busy_queue)
{
	struct engine_result r;
	atomic_int stop = 0;
	struct churner c;
	struct tgroup g;
	pthread_t t;
	int i, related = 0;

	conf_defaults(&g.conf);
	g.conf.invalid_verdict = CONF_DROP;
	g.conf.buckets = 16; /* long chains: every lookup meets the churn */
	tgroup_init(&g, true);
	for (uint16_t p = 1; p <= 64; p++)
		ck_assert_int_eq(udp(g.eng[0], 1, p, &r), VERDICT_ACCEPT);
	c.e = g.eng[0];
	c.stop = &stop;
	atomic_init(&c.rounds, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, churn, &c), 0);
	/* Until the churn has gone 20,000 rounds alongside, within bounds. */
	for (i = 0;
	     i < 2000000 && (i < 20000 || atomic_load(&c.rounds) < 20000); i++)
		related += icmp_error(g.eng[1], 4, 3, 4, "203.0.113.1",
				      "10.0.1.1", IPPROTO_UDP, "10.0.1.1",
				      (uint16_t)(1 + i % 64), "10.99.0.1", 53,
				      &r) == VERDICT_ACCEPT &&
			   r.ct_state == CT_STATE_RELATED && r.ct_reply;
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	ck_assert_int_eq(related, i);
	ck_assert_uint_ge(atomic_load(&c.rounds), 20000);
	ck_assert_uint_eq(g.eng[0]->table.count, 64);
	ck_assert_uint_eq(g.sh->flows, 64);
	tgroup_destroy(&g);
}
END_TEST

struct worker {
	struct pause *p;
	atomic_bool stop;
	atomic_ulong steps;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&w->stop)) {
		if (pause_requested(w->p)) {
			pause_park(w->p);
			continue;
		}
		atomic_fetch_add(&w->steps, 1);
	}
	pause_leave(w->p);
	return NULL;
}

/* While paused, workers take no step; let go, they go on; a worker that
 * ends is not waited for. */
START_TEST(pause_stops_and_resumes)
{
	struct pause p;
	struct worker w[3];
	pthread_t t[3];

	ck_assert_int_eq(pause_init(&p), 0);
	for (int i = 0; i < 3; i++) {
		w[i].p = &p;
		atomic_init(&w[i].stop, false);
		atomic_init(&w[i].steps, 0);
		pause_enter(&p);
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int round = 0; round < 200; round++) {
		unsigned long before[3];

		pause_all(&p, NULL, NULL);
		for (int i = 0; i < 3; i++)
			before[i] = atomic_load(&w[i].steps);
		usleep(200);
		for (int i = 0; i < 3; i++)
			ck_assert_uint_eq(atomic_load(&w[i].steps), before[i]);
		pause_resume(&p);
	}
	/* Resumed, each must step again: given up to 2 s, not a fixed
	 * 2 ms, as a loaded machine may not run a thread that soon. */
	for (int i = 0; i < 3; i++) {
		unsigned long before = atomic_load(&w[i].steps);

		for (int n = 0; n < 1000 && atomic_load(&w[i].steps) == before;
		     n++)
			usleep(2000);
		ck_assert_uint_gt(atomic_load(&w[i].steps), before);
	}
	atomic_store(&w[0].stop, true);
	pthread_join(t[0], NULL);
	pause_all(&p, NULL, NULL); /* two left: returns */
	pause_resume(&p);
	for (int i = 1; i < 3; i++) {
		atomic_store(&w[i].stop, true);
		pthread_join(t[i], NULL);
	}
	pause_destroy(&p);
}
END_TEST

static Suite *group_suite(void)
{
	Suite *s = suite_create("group");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, limits_hold_for_the_group);
	tcase_add_test(tc, report_sums_the_group);
	tcase_add_test(tc, reload_recounts_every_table);
	tcase_add_test(tc, threads_race_for_the_last_places);
	tcase_add_test(tc, icmp_error_finds_its_flow_on_another_queue);
	tcase_add_test(tc, icmp_error_lookup_races_a_busy_queue);
	tcase_add_test(tc, pause_stops_and_resumes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(group_suite());
}
