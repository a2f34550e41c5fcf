// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_evsub.c - the lines of nfqtrackctl events, field for field
 * against conntrack -E's (kernel 6.1, conntrack 1.4.7), their JSON, and
 * a subscriber's buffer: types, filters, what it loses and where it says
 * so, and its end.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "evsub.h"
#include "tcp.h"

static struct evhub hub;

/* An event of flow ORIG_SRC:SPORT -> ORIG_DST:DPORT, its key with the
 * originator as endpoint `hi` (the table's canonical order puts either
 * first). */
static struct flow_event ev4(uint8_t type, uint8_t proto, const char *src,
			     uint16_t sport, const char *dst, uint16_t dport,
			     int hi)
{
	struct flow_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.key.family = 4;
	ev.key.proto = proto;
	inet_pton(AF_INET, src, &ev.key.addr[hi][0]);
	inet_pton(AF_INET, dst, &ev.key.addr[!hi][0]);
	ev.key.port[hi] = sport;
	ev.key.port[!hi] = dport;
	ev.flags = hi ? FLOW_F_ORIG_HI : 0;
	return ev;
}

static const char *text(const struct flow_event *ev, unsigned how)
{
	static char buf[EVSUB_LINE_MAX];
	size_t n = evsub_format(buf, sizeof(buf), ev, 1796624166483ull, how);

	ck_assert_uint_eq(n, strlen(buf));
	return buf;
}

START_TEST(tcp_new_as_conntrack)
{
	struct flow_event ev = ev4(FEV_NEW, IPPROTO_TCP, "10.99.0.1", 40962,
				   "10.99.0.2", 5000, _i);

	ev.state = TCP_S_SYN_SENT;
	ev.timeout = 120;
	ck_assert_str_eq(text(&ev, 0),
			 "    [NEW] tcp      6 120 SYN_SENT src=10.99.0.1 "
			 "dst=10.99.0.2 sport=40962 dport=5000 [UNREPLIED] "
			 "src=10.99.0.2 dst=10.99.0.1 sport=5000 "
			 "dport=40962\n");
	ck_assert_str_eq(text(&ev, EVSUB_STAMP),
			 "[1796624166.483000]\t    [NEW] tcp      6 120 "
			 "SYN_SENT src=10.99.0.1 dst=10.99.0.2 sport=40962 "
			 "dport=5000 [UNREPLIED] src=10.99.0.2 dst=10.99.0.1 "
			 "sport=5000 dport=40962\n");
}
END_TEST

START_TEST(tcp_update_as_conntrack)
{
	struct flow_event ev = ev4(FEV_UPDATE, IPPROTO_TCP, "10.99.0.1", 40962,
				   "10.99.0.2", 5000, 0);

	ev.flags |= FLOW_F_SEEN_REPLY | FLOW_F_ASSURED;
	ev.state = TCP_S_ESTABLISHED;
	ev.timeout = 432000;
	ck_assert_str_eq(text(&ev, 0),
			 " [UPDATE] tcp      6 432000 ESTABLISHED "
			 "src=10.99.0.1 dst=10.99.0.2 sport=40962 dport=5000 "
			 "src=10.99.0.2 dst=10.99.0.1 sport=5000 dport=40962 "
			 "[ASSURED]\n");
}
END_TEST

/* With accounting, the counters after each direction; the reason after
 * the flags, where conntrack's own ([USERSPACE] portid=) would be. */
START_TEST(destroy_with_counters_and_reason)
{
	struct flow_event ev = ev4(FEV_DESTROY, IPPROTO_TCP, "10.99.0.1", 40962,
				   "10.99.0.2", 5000, 1);

	ev.flags |= FLOW_F_SEEN_REPLY | FLOW_F_ASSURED;
	ev.state = TCP_S_TIME_WAIT;
	ev.end = FEND_FLUSHED;
	ev.has_acct = 1;
	ev.packets[0] = 6;
	ev.bytes[0] = 322;
	ev.packets[1] = 4;
	ev.bytes[1] = 218;
	ck_assert_str_eq(text(&ev, 0),
			 "[DESTROY] tcp      6 TIME_WAIT src=10.99.0.1 "
			 "dst=10.99.0.2 sport=40962 dport=5000 packets=6 "
			 "bytes=322 src=10.99.0.2 dst=10.99.0.1 sport=5000 "
			 "dport=40962 packets=4 bytes=218 [ASSURED] "
			 "reason=flushed\n");
	/* A time left is printed, as the kernel's for a deleted flow. */
	ev.timeout = 118;
	ev.has_acct = 0;
	ev.end = FEND_EVICTED;
	ev.evict = EVICT_EARLY_DROP;
	ck_assert_str_eq(text(&ev, 0),
			 "[DESTROY] tcp      6 118 TIME_WAIT src=10.99.0.1 "
			 "dst=10.99.0.2 sport=40962 dport=5000 "
			 "src=10.99.0.2 dst=10.99.0.1 sport=5000 dport=40962 "
			 "[ASSURED] reason=evicted(early_drop)\n");
	ev.timeout = 0;
	ev.end = FEND_EXPIRED;
	ck_assert_str_eq(text(&ev, EVSUB_JSON),
			 "{\"type\":\"DESTROY\",\"time\":1796624166.483,"
			 "\"family\":\"ipv4\",\"proto\":\"tcp\",\"protonum\":6,"
			 "\"state\":\"TIME_WAIT\",\"src\":\"10.99.0.1\","
			 "\"dst\":\"10.99.0.2\",\"sport\":40962,\"dport\":5000,"
			 "\"reply_src\":\"10.99.0.2\",\"reply_dst\":"
			 "\"10.99.0.1\",\"reply_sport\":5000,\"reply_dport\":"
			 "40962,\"unreplied\":false,\"assured\":true,"
			 "\"reason\":\"expired\"}\n");
}
END_TEST

START_TEST(udp_icmp_v6)
{
	struct flow_event ev = ev4(FEV_DESTROY, IPPROTO_UDP, "10.99.0.1", 59721,
				   "10.99.0.2", 5001, 0);

	ev.end = FEND_EXPIRED;
	ev.has_acct = 1;
	ev.packets[0] = 1;
	ev.bytes[0] = 29;
	ck_assert_str_eq(text(&ev, 0),
			 "[DESTROY] udp      17 src=10.99.0.1 dst=10.99.0.2 "
			 "sport=59721 dport=5001 packets=1 bytes=29 "
			 "[UNREPLIED] src=10.99.0.2 dst=10.99.0.1 sport=5001 "
			 "dport=59721 packets=0 bytes=0 reason=expired\n");
	/* An echo request and its reply: the key keeps the request's type. */
	ev = ev4(FEV_NEW, IPPROTO_ICMP, "10.99.0.1", 23157, "10.99.0.2", 8 << 8,
		 0);
	ev.key.port[0] = 23157;
	ev.key.port[1] = 8 << 8;
	ev.timeout = 30;
	ck_assert_str_eq(text(&ev, 0),
			 "    [NEW] icmp     1 30 src=10.99.0.1 dst=10.99.0.2 "
			 "type=8 code=0 id=23157 [UNREPLIED] src=10.99.0.2 "
			 "dst=10.99.0.1 type=0 code=0 id=23157\n");
	memset(&ev.key, 0, sizeof(ev.key));
	ev.key.family = 6;
	ev.key.proto = IPPROTO_TCP;
	inet_pton(AF_INET6, "fd00::1", ev.key.addr[0]);
	inet_pton(AF_INET6, "fd00::2", ev.key.addr[1]);
	ev.key.port[0] = 40000;
	ev.key.port[1] = 443;
	ev.state = TCP_S_SYN_SENT;
	ev.timeout = 120;
	ck_assert_str_eq(text(&ev, 0),
			 "    [NEW] tcp      6 120 SYN_SENT src=fd00::1 "
			 "dst=fd00::2 sport=40000 dport=443 [UNREPLIED] "
			 "src=fd00::2 dst=fd00::1 sport=443 dport=40000\n");
}
END_TEST

/* A refused flow: neither time nor state, the limit and its count. */
START_TEST(refused)
{
	struct flow_event ev = ev4(FEV_REFUSED, IPPROTO_TCP, "192.0.2.7", 1234,
				   "198.51.100.1", 80, 1);

	ev.drop = DROP_SOURCE_LIMIT;
	ev.limit = 100;
	ev.count = 100;
	ck_assert_str_eq(text(&ev, 0),
			 "[REFUSED] tcp      6 src=192.0.2.7 dst=198.51.100.1 "
			 "sport=1234 dport=80 [UNREPLIED] src=198.51.100.1 "
			 "dst=192.0.2.7 sport=80 dport=1234 "
			 "reason=source_limit limit=100 count=100\n");
	ck_assert_ptr_nonnull(strstr(text(&ev, EVSUB_JSON),
				     "\"assured\":false,\"reason\":"
				     "\"source_limit\",\"limit\":100,"
				     "\"count\":100}\n"));
	ck_assert_ptr_null(strstr(text(&ev, EVSUB_JSON), "timeout"));
}
END_TEST

/* Every line fits EVSUB_LINE_MAX, and a short buffer is cut, never
 * overrun. */
START_TEST(bounds)
{
	struct flow_event ev =
		ev4(FEV_DESTROY, IPPROTO_TCP, "10.0.0.1", 1, "10.0.0.2", 2, 0);
	char small[40], big[EVSUB_LINE_MAX];

	memset(&ev.key, 0, sizeof(ev.key));
	ev.key.family = 6;
	ev.key.proto = IPPROTO_TCP;
	memset(ev.key.addr, 0xab, sizeof(ev.key.addr));
	ev.key.port[0] = ev.key.port[1] = 65535;
	ev.flags = FLOW_F_SEEN_REPLY | FLOW_F_ASSURED | FLOW_F_FAST;
	ev.state = TCP_S_ESTABLISHED;
	ev.end = FEND_EVICTED;
	ev.evict = EVICT_FOR_EXEMPT;
	ev.has_acct = 1;
	ev.timeout = UINT32_MAX;
	for (int d = 0; d < 2; d++)
		ev.packets[d] = ev.bytes[d] = UINT64_MAX;
	for (unsigned how = 0; how < 4; how++) {
		size_t n = evsub_format(big, sizeof(big), &ev, UINT64_MAX, how);

		ck_assert_uint_lt(n, sizeof(big) - 1);
		ck_assert_int_eq(big[n - 1], '\n');
		n = evsub_format(small, sizeof(small), &ev, 0, how);
		ck_assert_uint_eq(n, sizeof(small) - 1);
		ck_assert_uint_eq(strlen(small), n);
	}
}
END_TEST

static struct evsub *sub(const char *words)
{
	char copy[256], *argv[16], *save = NULL;
	const char *why = NULL;
	int argc = 0, at;
	struct evsub *s;

	snprintf(copy, sizeof(copy), "%s", words);
	for (char *w = strtok_r(copy, " ", &save); w;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	s = evsub_new(&hub, argc, argv, &why, &at);
	ck_assert_msg(s, "%s: %s", words, why);
	return s;
}

static void give(struct evsub *s, const struct flow_event *ev, unsigned n)
{
	struct evhub_consumer *c = evsub_consumer(s);

	c->deliver(c->arg, ev, n);
}

/* What the connection is sent now: every chunk until an empty one. */
static char *take(struct evsub *s, bool ending, unsigned *chunks, bool *more)
{
	char *all = NULL;
	size_t len = 0;

	*chunks = 0;
	for (;;) {
		struct ctl_reply r = { .ending = ending };

		*more = evsub_more(s, &r);
		if (!r.len) {
			ctl_reply_free(&r);
			break;
		}
		all = realloc(all, len + r.len + 1);
		memcpy(all + len, r.data, r.len);
		len += r.len;
		all[len] = '\0';
		(*chunks)++;
		ctl_reply_free(&r);
		if (!*more)
			break;
	}
	return all ? all : strdup("");
}

static unsigned lines(const char *s, const char *prefix)
{
	unsigned n = 0;

	for (const char *p = s; *p; p = strchr(p, '\n') + 1) {
		n += !strncmp(p, prefix, strlen(prefix));
		if (!strchr(p, '\n'))
			break;
	}
	return n;
}

START_TEST(types_and_filters)
{
	struct flow_event ev[4] = {
		ev4(FEV_NEW, IPPROTO_TCP, "10.0.0.1", 1, "10.0.0.2", 2, 0),
		ev4(FEV_NEW, IPPROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 2, 1),
		ev4(FEV_DESTROY, IPPROTO_UDP, "10.0.1.1", 1, "10.0.0.2", 2, 1),
		ev4(FEV_REFUSED, IPPROTO_UDP, "10.0.1.1", 1, "10.0.0.2", 2, 0),
	};
	struct evsub *s = sub("types=new,DESTROY proto=udp src=10.0.0.0/24");
	const char *why = NULL;
	unsigned chunks;
	bool more;
	char *out;
	int at;

	give(s, ev, 4);
	out = take(s, false, &chunks, &more);
	ck_assert_str_eq(out, "    [NEW] udp      17 0 src=10.0.0.1 "
			      "dst=10.0.0.2 sport=1 dport=2 [UNREPLIED] "
			      "src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1\n");
	ck_assert(more);
	free(out);
	evsub_free(s);
	/* The default: all but ACTIVE; JSON a line each. */
	s = sub("json");
	give(s, ev, 4);
	out = take(s, false, &chunks, &more);
	ck_assert_uint_eq(lines(out, "{\"type\":\""), 4);
	ck_assert(evsub_is(evsub_consumer(s)));
	free(out);
	evsub_free(s);
	ck_assert_uint_eq(evsub_types("ALL"), EVSUB_TYPES_DEFAULT);
	ck_assert_uint_eq(evsub_types("NEW,REFUSED"),
			  FEV_MASK(FEV_NEW) | FEV_MASK(FEV_REFUSED));
	ck_assert_uint_eq(evsub_types("NEW,BOGUS"), 0);
	ck_assert_uint_eq(evsub_types("ACTIVE"), 0);
	ck_assert_ptr_null(evsub_new(
		&hub, 2, (char *[]){ "json", "types=NOPE" }, &why, &at));
	ck_assert_int_eq(at, 1);
	ck_assert_str_eq(why, "types are NEW, UPDATE, DESTROY, REFUSED or ALL");
	ck_assert_ptr_null(
		evsub_new(&hub, 1, (char *[]){ "port=1" }, &why, &at));
	ck_assert_int_eq(at, 0);
	ck_assert_ptr_nonnull(strstr(why, "unknown filter"));
}
END_TEST

/* A subscriber that does not read keeps EVSUB_EVENTS; the rest are
 * counted, and told where they went missing: after what it kept, or
 * before the first event it kept again. */
START_TEST(overflow_told_in_place)
{
	static struct flow_event ev[EVSUB_EVENTS + 10];
	struct evsub *s = sub("types=NEW");
	unsigned chunks;
	bool more;
	char *out, *note;

	for (unsigned i = 0; i < EVSUB_EVENTS + 10; i++)
		ev[i] = ev4(FEV_NEW, IPPROTO_UDP, "10.0.0.1",
			    (uint16_t)(i % 60000 + 1), "10.0.0.2", 53, 0);
	give(s, ev, EVSUB_EVENTS + 10);
	ck_assert_uint_eq(evsub_kept(s), EVSUB_EVENTS);
	ck_assert_uint_eq(evsub_lost(s), 10);
	out = take(s, false, &chunks, &more);
	ck_assert_uint_eq(lines(out, "    [NEW]"), EVSUB_EVENTS);
	ck_assert_uint_eq(chunks,
			  EVSUB_EVENTS / 256); /* the note in the last */
	note = strstr(out, "# 10 events lost\n");
	ck_assert_ptr_nonnull(note);
	ck_assert_str_eq(note, "# 10 events lost\n"); /* the last line */
	free(out);
	/* Full again, 5 lost, 300 taken, 2 more kept: the note comes
	 * between the first EVSUB_EVENTS and those 2. */
	give(s, ev, EVSUB_EVENTS + 5);
	ck_assert_uint_eq(evsub_lost(s), 15);
	{
		struct ctl_reply r = { 0 };

		evsub_more(s, &r);
		ck_assert_uint_eq(lines(r.data, "    [NEW]"), 256);
		ctl_reply_free(&r);
	}
	give(s, ev, 2);
	out = take(s, false, &chunks, &more);
	ck_assert_uint_eq(lines(out, "    [NEW]"), EVSUB_EVENTS - 256 + 2);
	note = strstr(out, "# 5 events lost\n");
	ck_assert_ptr_nonnull(note);
	ck_assert_uint_eq(lines(note, "    [NEW]"), 2);
	free(out);
	/* Lost before the hub: told too; JSON's note. */
	evsub_consumer(s)->lost(s, 7);
	out = take(s, false, &chunks, &more);
	ck_assert_str_eq(out, "# 7 events lost\n");
	free(out);
	ck_assert_uint_eq(evsub_lost(s), 22);
	evsub_free(s);
	s = sub("json");
	evsub_consumer(s)->lost(s, 3);
	out = take(s, false, &chunks, &more);
	ck_assert_str_eq(out, "{\"lost\":3}\n");
	free(out);
	evsub_free(s);
}
END_TEST

/* Asked to end, it says what it holds, then ends. */
START_TEST(ending)
{
	static struct flow_event ev[300];
	struct evsub *s = sub("");
	unsigned chunks;
	bool more;
	char *out;

	for (unsigned i = 0; i < 300; i++)
		ev[i] = ev4(FEV_DESTROY, IPPROTO_UDP, "10.0.0.1",
			    (uint16_t)(i + 1), "10.0.0.2", 53, 0);
	give(s, ev, 300);
	out = take(s, true, &chunks, &more);
	ck_assert_uint_eq(lines(out, "[DESTROY]"), 300);
	ck_assert_uint_eq(chunks, 2);
	ck_assert(!more);
	free(out);
	evsub_free(s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("evsub");
	TCase *tc = tcase_create("events");

	tcase_add_loop_test(tc, tcp_new_as_conntrack, 0, 2);
	tcase_add_test(tc, tcp_update_as_conntrack);
	tcase_add_test(tc, destroy_with_counters_and_reason);
	tcase_add_test(tc, udp_icmp_v6);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, types_and_filters);
	tcase_add_test(tc, overflow_told_in_place);
	tcase_add_test(tc, ending);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
