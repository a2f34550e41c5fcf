// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_fastpath.c - the fast path's nft text (fastpath_rules()): the
 * table replaced empty, the six sets with their size, timeouts and
 * counters, the chains at their hooks and priorities, the ESTABLISHED
 * marks of mark_of() and the admit mark, the timeouts in their places,
 * the accounting and no-UDP variants, IPv4 and IPv6, snprintf's contract.
 * (tests/integ/29-fastpath-kernel.sh loads it into the kernel.)
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "fastpath.h"
#include "mark.h"
#include "testutil.h"

static char text[65536];

static const char *rules(const struct fastpath_params *p)
{
	size_t n = fastpath_rules(p, text, sizeof(text));

	ck_assert_uint_lt(n, sizeof(text));
	ck_assert_uint_eq(n, strlen(text));
	return text;
}

static void params(struct fastpath_params *p, const char *conf)
{
	struct conf c;
	FILE *f = fmemopen((void *)conf, strlen(conf), "r");

	ck_assert_int_eq(conf_parse(&c, f, "t.conf", NULL, NULL), 0);
	fclose(f);
	conf_fastpath_params(&c, p);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The chain named name's body, into buf. */
static const char *chain(const char *t, const char *name, char *buf, size_t len)
{
	char head[64];
	const char *b, *e;

	snprintf(head, sizeof(head), "\tchain %s {\n", name);
	b = strstr(t, head);
	ck_assert_msg(b != NULL, "no chain %s", name);
	b += strlen(head);
	e = strstr(b, "\n\t}\n");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_lt((size_t)(e - b), len);
	memcpy(buf, b, (size_t)(e - b));
	buf[e - b] = '\0';
	return buf;
}

START_TEST(structure)
{
	struct fastpath_params p;
	const char *t;
	char c[8192];

	params(&p, "fastpath = yes\nmax_flows = 1000\n");
	t = rules(&p);
	/* Replaced, empty: created, deleted, made anew. */
	ck_assert_ptr_eq(strstr(t, "add table inet nfqtrack\n"
				   "delete table inet nfqtrack\n"
				   "table inet nfqtrack {\n"),
			 strstr(t, "add table"));
	ck_assert_int_eq(count(t, "\tset "), 6);
	/* Without accounting no counters: each is per CPU, allocated and
	 * freed with its element. */
	ck_assert_int_eq(count(t, "counter"), 0);
	for (int f = 4; f <= 6; f += 2) {
		static const char *const sets[] = { "est", "close", "udp" };

		for (int s = 0; s < 3; s++) {
			char want[512];

			snprintf(want, sizeof(want),
				 "\tset %s%d {\n"
				 "\t\ttype %s . %s . inet_proto . inet_service "
				 ". inet_service\n"
				 "\t\tsize 2000\n"
				 "\t\tflags timeout, dynamic\n"
				 "\t}\n",
				 sets[s], f, f == 4 ? "ipv4_addr" : "ipv6_addr",
				 f == 4 ? "ipv4_addr" : "ipv6_addr");
			ck_assert_msg(strstr(t, want), "set %s%d", sets[s], f);
		}
	}
	/* Base chains: before mangle (-150) in input and output, and
	 * after filter (0). */
	ck_assert_str_eq(chain(t, "fast_in", c, sizeof(c)),
			 "\t\ttype filter hook input priority -160; policy "
			 "accept;\n\t\tmeta l4proto { tcp, udp } jump fast");
	ck_assert_str_eq(chain(t, "fast_out", c, sizeof(c)),
			 "\t\ttype filter hook output priority -160; policy "
			 "accept;\n\t\tmeta l4proto { tcp, udp } jump fast");
	ck_assert_str_eq(chain(t, "admit_in", c, sizeof(c)),
			 "\t\ttype filter hook input priority 10; policy "
			 "accept;\n\t\tmeta mark & 0x00800000 == 0x00800000 "
			 "jump admit");
	ck_assert(strstr(chain(t, "admit_out", c, sizeof(c)),
			 "hook output priority 10;"));
	ck_assert_int_eq(count(t, "type filter hook"), 4);
	/* Pure SYNs go to the queue, every family has its own chain. */
	ck_assert(strstr(chain(t, "fast", c, sizeof(c)),
			 "\t\ttcp flags & (syn | ack) == syn return\n"
			 "\t\tmeta nfproto ipv4 goto fast4\n"
			 "\t\tmeta nfproto ipv6 goto fast6"));
	/* The script ends with the table. */
	ck_assert_str_eq(t + strlen(t) - 5, "\t}\n}\n");
}
END_TEST

/* With the BPF carrier: no sets, the same base chains, empty where the
 * programs' rules go (carrierrule.c), the ESTABLISHED marks in carried,
 * the admit bit cleared in admit; replaced each time. */
START_TEST(bpf_carrier)
{
	struct fastpath_params p;
	const char *t;
	char c[8192];

	params(&p,
	       "fastpath = yes\nfastpath_carrier = bpf\nmax_flows = 1000\n");
	ck_assert_uint_eq(p.carrier, FASTPATH_CARRIER_BPF);
	t = rules(&p);
	ck_assert_ptr_eq(strstr(t, "add table inet nfqtrack\n"
				   "delete table inet nfqtrack\n"
				   "table inet nfqtrack {\n"),
			 strstr(t, "add table"));
	ck_assert_int_eq(count(t, "\tset "), 0);
	ck_assert_int_eq(count(t, "@"), 0);
	ck_assert_str_eq(chain(t, "fast_in", c, sizeof(c)),
			 "\t\ttype filter hook input priority -160; policy "
			 "accept;");
	ck_assert_str_eq(chain(t, "fast_out", c, sizeof(c)),
			 "\t\ttype filter hook output priority -160; policy "
			 "accept;");
	ck_assert_str_eq(chain(t, "carried", c, sizeof(c)),
			 "\t\tmeta mark set meta mark & 0xc0ffffff | "
			 "0x25000000 accept");
	ck_assert_str_eq(chain(t, "admit", c, sizeof(c)),
			 "\t\tmeta mark set meta mark & 0xff7fffff");
	ck_assert_str_eq(chain(t, "admit_in", c, sizeof(c)),
			 "\t\ttype filter hook input priority 10; policy "
			 "accept;\n\t\tmeta mark & 0x00800000 == 0x00800000 "
			 "jump admit");
	ck_assert_int_eq(count(t, "type filter hook"), 4);
	ck_assert_str_eq(t + strlen(t) - 5, "\t}\n}\n");
}
END_TEST

START_TEST(marks_and_timeouts)
{
	static const char *const masks[] = { "0x3f000000", "0x0f000000",
					     "0x3f" };
	struct fastpath_params p;
	struct mark_layout l;
	char conf[512], mark[128], want[1024], c[8192];
	const char *t;

	snprintf(conf, sizeof(conf),
		 "fastpath = yes\nmark_mask = %s\n"
		 "fastpath_admit_mark = 0x400\n"
		 "timeout_tcp_syn_recv = 7\ntimeout_tcp_established = 3600\n"
		 "timeout_tcp_time_wait = 9\ntimeout_tcp_close = 3\n"
		 "timeout_udp_stream = 11\n",
		 masks[_i]);
	params(&p, conf);
	t = rules(&p);
	mark_layout_init(&l, p.mark_mask);
	snprintf(mark, sizeof(mark),
		 "meta mark set meta mark & 0x%08x | 0x%08x accept", ~l.mask,
		 mark_of(&l, CT_STATE_ESTABLISHED, false, true, 0));
	/* Every packet the fast path carries gets the same marks: est's
	 * 4 rules, close, udp; twice. */
	ck_assert_int_eq(count(t, mark), 2 * 6);
	ck_assert_int_eq(count(t, "meta mark set"), 2 * 6 + 1);
	/* fast4: refresh to established, the SYN-ACK counted with
	 * timeout_open should it make one, FIN to close with time_wait's,
	 * RST with close's. */
	chain(t, "fast4", c, sizeof(c));
	ck_assert(strstr(c, "ip saddr . ip daddr . meta l4proto . th sport "
			    ". th dport != @est4 goto fast4_close\n"));
	snprintf(want, sizeof(want),
		 "\t\tupdate @est4 { ip saddr . ip daddr . meta l4proto . th "
		 "sport . th dport timeout 3600s } %s",
		 mark);
	ck_assert(strstr(c, want));
	ck_assert(strstr(c, "tcp flags & syn == syn add @est4 { ip saddr . ip "
			    "daddr . meta l4proto . th sport . th dport "
			    "timeout 7s }"));
	/* Into close before out of est: a packet meanwhile finds one. */
	ck_assert(strstr(c,
			 "tcp flags & fin == fin add @close4 { ip saddr . "
			 "ip daddr . meta l4proto . th sport . th dport "
			 "timeout 9s } add @close4 { ip daddr . ip saddr . "
			 "meta l4proto . th dport . th sport timeout 9s } "
			 "delete @est4 { ip saddr . ip daddr . meta l4proto "
			 ". th sport . th dport } delete @est4 { ip daddr . "
			 "ip saddr . meta l4proto . th dport . th sport } "));
	ck_assert(strstr(c, "tcp flags & rst == rst add @close4"));
	ck_assert_int_eq(count(c, "timeout 3s"), 2);
	/* Order: RST and FIN before the SYN-ACK, the refresh last. */
	ck_assert(strstr(c, "rst == rst") < strstr(c, "fin == fin"));
	ck_assert(strstr(c, "fin == fin") < strstr(c, "syn == syn"));
	ck_assert(strstr(c, "syn == syn") < strstr(c, "update @est4"));
	chain(t, "fast6_close", c, sizeof(c));
	ck_assert(strstr(c, "ip6 saddr . ip6 daddr . meta l4proto . th sport "
			    ". th dport != @close6 goto fast6_udp\n"));
	ck_assert(strstr(c, "\t\tadd @close6 { ip6 saddr . ip6 daddr . meta "
			    "l4proto . th sport . th dport timeout 3s } "));
	chain(t, "fast6_udp", c, sizeof(c));
	ck_assert(strstr(c, "!= @udp6 return\n\t\tupdate @udp6 { ip6 saddr . "
			    "ip6 daddr . meta l4proto . th sport . th dport "
			    "timeout 11s } "));
	/* Admission: the bit cleared, TCP both ways to est with
	 * timeout_open and out of close, UDP both ways to udp. */
	chain(t, "admit", c, sizeof(c));
	snprintf(want, sizeof(want), "\t\tmeta mark set meta mark & 0x%08x\n",
		 ~0x400u);
	ck_assert_ptr_eq(strstr(c, want), c);
	ck_assert(strstr(c, "meta nfproto ipv4 meta l4proto tcp add @est4 { "
			    "ip saddr . ip daddr . meta l4proto . th sport . "
			    "th dport timeout 7s } add @est4 { ip daddr . ip "
			    "saddr . meta l4proto . th dport . th sport "
			    "timeout 7s } delete @close4 { ip saddr . ip daddr "
			    ". meta l4proto . th sport . th dport } delete "
			    "@close4 { ip daddr . ip saddr . meta l4proto . th "
			    "dport . th sport } accept\n"));
	ck_assert(strstr(c, "meta nfproto ipv6 meta l4proto udp add @udp6 { "
			    "ip6 saddr . ip6 daddr . meta l4proto . th sport "
			    ". th dport timeout 11s } add @udp6 { ip6 daddr . "
			    "ip6 saddr . meta l4proto . th dport . th sport "
			    "timeout 11s } accept"));
	ck_assert(strstr(t, "meta mark & 0x00000400 == 0x00000400 jump "
			    "admit"));
}
END_TEST

START_TEST(accounting_and_no_udp)
{
	struct fastpath_params p;
	const char *t;
	char c[8192];

	params(&p, "fastpath = yes\naccounting = yes\nfastpath_udp_after = "
		   "0\n");
	ck_assert(p.accounting);
	ck_assert(p.counters);
	ck_assert(!p.udp);
	t = rules(&p);
	/* Every set counts its elements' packets, for the daemon to read. */
	ck_assert_int_eq(count(t, "\t\tcounter\n"), 6);
	/* FIN and RST go to the daemon unmarked, nothing moves to close
	 * in the kernel. */
	chain(t, "fast6", c, sizeof(c));
	ck_assert(strstr(c, "!= @est6 goto fast6_close\n"
			    "\t\ttcp flags & (fin | rst) != 0 accept\n"));
	ck_assert_int_eq(count(t, "delete @est"), 0);
	ck_assert_int_eq(count(t, "(fin | rst) != 0 accept"), 2);
	/* No UDP rule, the sets still there (a reload may turn it on). */
	ck_assert_ptr_null(strstr(t, "chain fast4_udp"));
	ck_assert_ptr_null(strstr(t, "update @udp"));
	ck_assert_ptr_null(strstr(t, "add @udp"));
	ck_assert(strstr(t, "\tset udp4 {\n"));
	ck_assert(strstr(chain(t, "fast4_close", c, sizeof(c)),
			 "!= @close4 return\n"));
}
END_TEST

START_TEST(snprintf_contract)
{
	struct fastpath_params p;
	char small[64];
	size_t need;

	params(&p, "fastpath_table = other_1\n");
	need = fastpath_rules(&p, NULL, 0);
	ck_assert_uint_eq(need, strlen(rules(&p)));
	ck_assert(strstr(text, "table inet other_1 {\n"));
	memset(small, 'x', sizeof(small));
	ck_assert_uint_eq(fastpath_rules(&p, small, sizeof(small)), need);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(strncmp(small, text, sizeof(small) - 1), 0);
}
END_TEST

static Suite *fastpath_suite(void)
{
	Suite *s = suite_create("fastpath");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, structure);
	tcase_add_loop_test(tc, marks_and_timeouts, 0, 3);
	tcase_add_test(tc, accounting_and_no_udp);
	tcase_add_test(tc, snprintf_contract);
	tcase_add_test(tc, bpf_carrier);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(fastpath_suite());
}
