// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_ipfix.c - the IPFIX encoder and exporter: the template set and
 * records byte for byte, extreme values (64-bit counters, zero, IPv6,
 * the highest ports), records from flow events (direction, counters
 * since the last ACTIVE, ICMP, every end reason), messages never past
 * their size, and the exporter against a UDP socket on the loopback:
 * templates first, sequence numbers, the full queue flushed, a refused
 * collector counted as lost and sent templates again, a reload.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "export.h"
#include "ipfix.h"
#include "ipfixdec.h"
#include "tcp.h"
#include "testutil.h"

#define E(id, len) (id) >> 8, (id)&0xff, 0, (len)
#define REV(id) 0x80, (id), 0, 8, 0, 0, 0x72, 0x79 /* PEN 29305 */

static const uint8_t template_set[] = {
	0,	   2,	      0,	 212, /* set 2, 212 bytes */
	1,	   0,	      0,	 8, /* 256: v4, 8 fields */
	E(8, 4),   E(12, 4),  E(7, 2),	 E(11, 2),  E(4, 1),
	E(32, 2),  E(136, 1), E(153, 8), 1,	    1,
	0,	   8, /* 257: v6 */
	E(27, 16), E(28, 16), E(7, 2),	 E(11, 2),  E(4, 1),
	E(139, 2), E(136, 1), E(153, 8), 1,	    2,
	0,	   14, /* 258: v4 with counters */
	E(8, 4),   E(12, 4),  E(7, 2),	 E(11, 2),  E(4, 1),
	E(32, 2),  E(6, 1),   E(136, 1), E(152, 8), E(153, 8),
	E(2, 8),   E(1, 8),   REV(2),	 REV(1),    1,
	3,	   0,	      14, /* 259: v6 with counters */
	E(27, 16), E(28, 16), E(7, 2),	 E(11, 2),  E(4, 1),
	E(139, 2), E(6, 1),   E(136, 1), E(152, 8), E(153, 8),
	E(2, 8),   E(1, 8),   REV(2),	 REV(1),
};

START_TEST(templates_exact)
{
	uint8_t buf[1400];
	struct ipfix_msg m;
	size_t len;

	ipfix_msg_begin(&m, buf, sizeof(buf));
	ck_assert_int_eq(ipfix_msg_add_templates(&m), 0);
	len = ipfix_msg_end(&m, 0x5f5e1000, 7, 0xdeadbeef);
	ck_assert_uint_eq(len, 16 + sizeof(template_set));
	ck_assert_mem_eq(buf,
			 ((const uint8_t[]){ 0, 10, 0, 228, 0x5f, 0x5e, 0x10, 0,
					     0, 0, 0, 7, 0xde, 0xad, 0xbe,
					     0xef }),
			 16);
	ck_assert_mem_eq(buf + 16, template_set, sizeof(template_set));
	ck_assert_uint_eq(m.records, 0);

	/* Does not fit: nothing written. */
	ipfix_msg_begin(&m, buf, 16 + sizeof(template_set) - 1);
	ck_assert_int_eq(ipfix_msg_add_templates(&m), -1);
	ck_assert_uint_eq(m.len, 16);
}
END_TEST

static struct ipfix_record rec4(void)
{
	struct ipfix_record r = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.tcp_flags = 0x1b,
		.end_reason = IPFIX_END_DETECTED,
		.has_acct = true,
		.src = { 192, 0, 2, 1 },
		.dst = { 198, 51, 100, 2 },
		.sport = 65535,
		.dport = 443,
		.start_ms = 0x0102030405060708ull,
		.end_ms = UINT64_MAX - 1,
		.packets = UINT64_MAX,
		.bytes = 0,
		.rev_packets = 1,
		.rev_bytes = 0x8000000000000000ull,
	};
	return r;
}

START_TEST(record_v4_exact)
{
	static const uint8_t want[] = {
		1,    2,    0,	  69, /* data set 258, 4 + 65 bytes */
		192,  0,    2,	  1,	198,  51,   100,  2,	0xff, 0xff,
		1,    0xbb, 6,	  0,	0,    0x1b, 3,	  1,	2,    3,
		4,    5,    6,	  7,	8,    0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0,    0,	  0,	0,    0,    0,	  0,	0,    0,
		0,    0,    0,	  0,	0,    0,    1,	  0x80, 0,    0,
		0,    0,    0,	  0,	0,
	};
	struct ipfix_record r = rec4();
	uint8_t buf[256];
	struct ipfix_msg m;

	ck_assert_uint_eq(ipfix_record_len(&r), 65);
	ipfix_msg_begin(&m, buf, sizeof(buf));
	ck_assert_int_eq(ipfix_msg_add_record(&m, &r), 0);
	ck_assert_uint_eq(ipfix_msg_end(&m, 1, 0, 0), 16 + sizeof(want));
	ck_assert_mem_eq(buf + 16, want, sizeof(want));
	ck_assert_uint_eq(m.records, 1);
}
END_TEST

START_TEST(record_v6_no_acct_exact)
{
	struct ipfix_record r = {
		.family = 6,
		.proto = IPPROTO_UDP,
		.end_reason = IPFIX_END_IDLE,
		.sport = 0,
		.dport = 65535,
		.end_ms = 0,
	};
	uint8_t want[4 + 48] = { 1, 1, 0, 52 };
	uint8_t buf[256];
	struct ipfix_msg m;

	memset(r.src, 0xff, 16);
	r.dst[15] = 1; /* ::1 */
	memset(want + 4, 0xff, 16);
	want[4 + 31] = 1;
	want[4 + 34] = 0xff; /* dport */
	want[4 + 35] = 0xff;
	want[4 + 36] = IPPROTO_UDP;
	want[4 + 39] = 1; /* idle */
	ck_assert_uint_eq(ipfix_record_len(&r), 48);
	ipfix_msg_begin(&m, buf, sizeof(buf));
	ck_assert_int_eq(ipfix_msg_add_record(&m, &r), 0);
	ck_assert_uint_eq(ipfix_msg_end(&m, 1, 0, 0), 16 + sizeof(want));
	ck_assert_mem_eq(buf + 16, want, sizeof(want));
}
END_TEST

/* A flow event of family fam: the key's endpoint 1 opened it. */
static struct flow_event event(uint8_t fam, uint8_t proto)
{
	struct flow_event ev = { 0 };

	ev.key.family = fam;
	ev.key.proto = proto;
	ev.key.addr[0][0] = htonl(0x0a000001); /* 10.0.0.1, responder */
	ev.key.addr[1][0] = htonl(0x0a000002); /* 10.0.0.2, originator */
	if (fam == 6) {
		ev.key.addr[0][0] = htonl(0x20010db8);
		ev.key.addr[0][3] = htonl(1);
		ev.key.addr[1][0] = htonl(0x20010db8);
		ev.key.addr[1][3] = htonl(2);
	}
	ev.key.port[0] = 80;
	ev.key.port[1] = 40000;
	ev.type = FEV_DESTROY;
	ev.flags = FLOW_F_ORIG_HI | FLOW_F_SEEN_REPLY;
	ev.end = FEND_EXPIRED;
	ev.has_acct = 1;
	ev.tcp_flags = 0x12;
	ev.start_ms = 1000;
	ev.last_ms = 5000;
	ev.time_ms = 6000;
	ev.packets[0] = 10;
	ev.bytes[0] = 1000;
	ev.packets[1] = 8;
	ev.bytes[1] = 8000;
	return ev;
}

START_TEST(record_from_event)
{
	struct flow_event ev = event(4, IPPROTO_TCP);
	struct ipfix_record r;

	ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 1000000), 0);
	ck_assert_uint_eq(r.family, 4);
	ck_assert_mem_eq(r.src, &ev.key.addr[1][0], 4); /* originator */
	ck_assert_mem_eq(r.dst, &ev.key.addr[0][0], 4);
	ck_assert_uint_eq(r.sport, 40000);
	ck_assert_uint_eq(r.dport, 80);
	ck_assert_uint_eq(r.start_ms, 1001000);
	ck_assert_uint_eq(r.end_ms, 1005000);
	ck_assert_uint_eq(r.packets, 10);
	ck_assert_uint_eq(r.rev_bytes, 8000);
	ck_assert_uint_eq(r.tcp_flags, 0x12);
	ck_assert_uint_eq(r.end_reason, IPFIX_END_IDLE);

	/* Originator endpoint 0; what earlier ACTIVEs carried is not
	 * counted again, and a sent total past the total gives 0. */
	ev.flags = 0;
	ev.sent_packets[0] = 4;
	ev.sent_bytes[0] = 400;
	ev.sent_packets[1] = 9;
	ev.sent_bytes[1] = 8000;
	ev.type = FEV_ACTIVE;
	ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 0), 0);
	ck_assert_uint_eq(r.sport, 80);
	ck_assert_uint_eq(r.dport, 40000);
	ck_assert_mem_eq(r.src, &ev.key.addr[0][0], 4);
	ck_assert_uint_eq(r.packets, 6);
	ck_assert_uint_eq(r.bytes, 600);
	ck_assert_uint_eq(r.rev_packets, 0);
	ck_assert_uint_eq(r.rev_bytes, 0);
	ck_assert_uint_eq(r.end_reason, IPFIX_END_ACTIVE);

	/* Without accounting: no counters, no start. */
	ev.type = FEV_DESTROY;
	ev.has_acct = 0;
	ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 0), 0);
	ck_assert(!r.has_acct);
	ck_assert_uint_eq(r.packets + r.bytes + r.start_ms + r.tcp_flags, 0);
	ck_assert_uint_eq(ipfix_record_template(&r), IPFIX_T_V4);

	/* GRE's keys are no ports. */
	ev.key.proto = IPPROTO_GRE;
	ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 0), 0);
	ck_assert_uint_eq(r.sport + r.dport + r.icmp_type_code, 0);
	ev.key.proto = IPPROTO_SCTP;
	ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 0), 0);
	ck_assert_uint_eq(r.sport, 80);
	ck_assert_uint_eq(r.dport, 40000);

	/* Not records. */
	for (int t = FEV_NEW; t < FEV_TYPES; t++) {
		ev.type = (uint8_t)t;
		ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 0),
				 t == FEV_DESTROY || t == FEV_ACTIVE ? 0 : -1);
	}
}
END_TEST

START_TEST(record_icmp_v6)
{
	struct flow_event ev = event(6, IPPROTO_ICMPV6);
	struct ipfix_record r;

	/* Echo request (128, code 0) from endpoint 1 with id 77: the
	 * key's ports are the id on its side and type << 8 | code on the
	 * other. */
	ev.key.port[1] = 77;
	ev.key.port[0] = 128 << 8;
	ck_assert_int_eq(ipfix_record_from_event(&r, &ev, 0), 0);
	ck_assert_uint_eq(r.family, 6);
	ck_assert_uint_eq(r.sport, 0);
	ck_assert_uint_eq(r.dport, 0);
	ck_assert_uint_eq(r.icmp_type_code, 128 << 8);
	ck_assert_mem_eq(r.src, ev.key.addr[1], 16);
	ck_assert_uint_eq(ipfix_record_template(&r), IPFIX_T_V6_ACCT);
}
END_TEST

START_TEST(end_reasons)
{
	ck_assert_int_eq(ipfix_end_reason(FEND_EXPIRED, IPPROTO_UDP, 0),
			 IPFIX_END_IDLE);
	ck_assert_int_eq(ipfix_end_reason(FEND_EXPIRED, IPPROTO_TCP,
					  TCP_S_ESTABLISHED),
			 IPFIX_END_IDLE);
	ck_assert_int_eq(ipfix_end_reason(FEND_EXPIRED, IPPROTO_TCP,
					  TCP_S_TIME_WAIT),
			 IPFIX_END_DETECTED);
	ck_assert_int_eq(ipfix_end_reason(FEND_EXPIRED, IPPROTO_TCP,
					  TCP_S_CLOSE),
			 IPFIX_END_DETECTED);
	/* A UDP "state" byte that happens to equal TIME_WAIT is not one. */
	ck_assert_int_eq(ipfix_end_reason(FEND_EXPIRED, IPPROTO_UDP,
					  TCP_S_TIME_WAIT),
			 IPFIX_END_IDLE);
	ck_assert_int_eq(ipfix_end_reason(FEND_CLOSED, IPPROTO_TCP, 0),
			 IPFIX_END_DETECTED);
	ck_assert_int_eq(ipfix_end_reason(FEND_REOPENED, IPPROTO_TCP, 0),
			 IPFIX_END_DETECTED);
	ck_assert_int_eq(ipfix_end_reason(FEND_EVICTED, IPPROTO_TCP, 0),
			 IPFIX_END_RESOURCES);
	ck_assert_int_eq(ipfix_end_reason(FEND_FLUSHED, IPPROTO_TCP, 0),
			 IPFIX_END_FORCED);
	ck_assert_int_eq(ipfix_end_reason(FEND_STOPPED, IPPROTO_TCP, 0),
			 IPFIX_END_FORCED);
}
END_TEST

struct collect {
	struct ipfix_record r[64];
	unsigned n;
};

static void collect(void *arg, const struct ipfix_record *r)
{
	struct collect *c = arg;

	if (c->n < ARRAY_SIZE(c->r))
		c->r[c->n] = *r;
	c->n++;
}

/* Messages of cap bytes filled with records of alternating families:
 * never past cap, every set whole, every record read back as written. */
START_TEST(message_bounds)
{
	static const size_t caps[] = { 16 + 4 + 24, 200, 576, 1400, 65535 };
	uint8_t buf[65535];

	for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
		struct dec d = { 0 };
		struct collect got = { 0 };
		struct ipfix_record r[64];
		struct ipfix_msg m;
		unsigned n = 0;
		const char *why;

		ipfix_msg_begin(&m, buf, caps[c]);
		ipfix_msg_add_templates(&m); /* fits or not */
		for (; n < ARRAY_SIZE(r); n++) {
			r[n] = rec4();
			r[n].family = (n / 3) % 2 ? 6 : 4;
			r[n].has_acct = n % 5 != 0;
			r[n].packets = n;
			r[n].sport = (uint16_t)n;
			if (!r[n].has_acct) {
				r[n].start_ms = r[n].packets = r[n].bytes = 0;
				r[n].rev_packets = r[n].rev_bytes = 0;
				r[n].tcp_flags = 0;
			}
			if (r[n].family == 6)
				r[n].src[15] = (uint8_t)n;
			if (ipfix_msg_add_record(&m, &r[n]) < 0)
				break;
		}
		ck_assert_uint_ge(n, 1);
		ck_assert_uint_eq(ipfix_msg_end(&m, 0, 0, 0), m.len);
		ck_assert_uint_le(m.len, caps[c]);
		/* The decoder needs the templates: from a message of its
		 * own when they did not fit. */
		if (caps[c] < 300) {
			uint8_t t[300];
			struct ipfix_msg tm;

			ipfix_msg_begin(&tm, t, sizeof(t));
			ipfix_msg_add_templates(&tm);
			ipfix_msg_end(&tm, 0, 0, 0);
			ck_assert_ptr_null(
				dec_message(&d, t, tm.len, NULL, NULL));
		}
		why = dec_message(&d, buf, m.len, collect, &got);
		ck_assert_msg(!why, "cap %zu: %s", caps[c], why);
		ck_assert_uint_eq(got.n, n);
		ck_assert_uint_eq(m.records, n);
		for (unsigned i = 0; i < n && i < ARRAY_SIZE(got.r); i++)
			ck_assert_mem_eq(&got.r[i], &r[i], sizeof(r[i]));
	}
}
END_TEST

/* The collector: a UDP socket on the loopback, its port into c. */
static int collector(struct conf *c, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 8 << 20;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	snprintf(c->ipfix_collector[c->nipfix++], CONF_LISTEN_MAX,
		 "127.0.0.1:%u", *port);
	return fd;
}

/* Read every waiting message: records into got, the last header into d.
 * Returns the messages. */
static unsigned drain(int fd, struct dec *d, struct collect *got,
		      unsigned *tsets)
{
	uint8_t buf[65536];
	unsigned n = 0;
	ssize_t len;

	while ((len = recv(fd, buf, sizeof(buf), 0)) > 0) {
		const char *why =
			dec_message(d, buf, (size_t)len, collect, got);

		ck_assert_msg(!why, "%s", why);
		ck_assert_uint_le((size_t)len, EXPORT_MSG_MAX);
		*tsets += d->template_sets;
		n++;
	}
	return n;
}

START_TEST(exporter_loopback)
{
	struct conf c;
	struct dec d = { 0 };
	struct collect got = { 0 };
	struct export_stats st;
	struct exporter *x;
	struct evhub_consumer *con;
	struct flow_event ev[40];
	unsigned tsets = 0, msgs;
	uint16_t port;
	int fd;

	conf_defaults(&c);
	c.accounting = true;
	c.ipfix_observation_domain = 42;
	fd = collector(&c, &port);
	x = export_new(&c, 0, 1000);
	ck_assert_ptr_nonnull(x);
	con = export_consumer(x);
	ck_assert_uint_eq(con->types, FEV_MASK(FEV_DESTROY));

	/* Templates first, then 40 records in messages under 1400. */
	for (unsigned i = 0; i < ARRAY_SIZE(ev); i++) {
		ev[i] = event(i % 2 ? 6 : 4, IPPROTO_TCP);
		ev[i].packets[0] = i;
	}
	con->deliver(con->arg, ev, ARRAY_SIZE(ev));
	/* Between ticks, fewer than EXPORT_BATCH wait. */
	export_flush(x, 1000, false);
	ck_assert_uint_eq(drain(fd, &d, &got, &tsets), 0);
	export_flush(x, 1000, true);
	msgs = drain(fd, &d, &got, &tsets);
	ck_assert_uint_eq(got.n, 40);
	ck_assert_uint_eq(tsets, 1);
	ck_assert_uint_ge(msgs, 3); /* 40 x ~77 bytes */
	ck_assert_uint_eq(d.domain, 42);
	for (unsigned i = 0; i < 40; i++)
		ck_assert_uint_eq(got.r[i].packets, i);
	/* The last message's sequence: the records before it. */
	export_get_stats(x, &st);
	ck_assert_uint_eq(st.records, 40);
	ck_assert_uint_eq(st.messages, msgs);
	ck_assert_uint_eq(st.templates, 1);
	ck_assert_uint_eq(st.lost, 0);

	/* Nothing queued, templates not due: nothing sent. */
	export_flush(x, 2000, true);
	ck_assert_uint_eq(drain(fd, &d, &got, &tsets), 0);
	/* Due after ipfix_template_interval (60 s): a template message. */
	export_flush(x, 1000 + 60000, true);
	ck_assert_uint_eq(drain(fd, &d, &got, &tsets), 1);
	ck_assert_uint_eq(tsets, 2);
	ck_assert_uint_eq(d.seq, 40);

	/* More than the queue holds: flushed as it fills, none lost. */
	got.n = 0;
	for (unsigned i = 0; i < EXPORT_QUEUE + 100; i += 20) {
		con->deliver(con->arg, ev, 20);
		drain(fd, &d, &got, &tsets);
	}
	ck_assert_uint_ge(got.n, EXPORT_QUEUE); /* sent before the flush */
	export_flush(x, 61000, true);
	drain(fd, &d, &got, &tsets);
	ck_assert_uint_eq(got.n, (EXPORT_QUEUE + 100 + 19) / 20 * 20);
	export_get_stats(x, &st);
	ck_assert_uint_eq(st.records, 40 + got.n);
	ck_assert_uint_eq(st.lost, 0);

	/* The collector goes: ECONNREFUSED (from the ICMP of a first
	 * message), counted lost; back, it gets templates again. */
	close(fd);
	for (int i = 0; i < 3; i++) {
		con->deliver(con->arg, ev, 1);
		export_flush(x, 62000, true);
	}
	export_get_stats(x, &st);
	ck_assert_uint_ge(st.lost, 1);
	export_free(x);
}
END_TEST

START_TEST(exporter_reload)
{
	struct conf c;
	struct dec d = { 0 };
	struct collect got = { 0 };
	struct export_stats st;
	struct exporter *x;
	struct flow_event ev = event(4, IPPROTO_UDP);
	unsigned t1 = 0, t2 = 0;
	uint16_t p1, p2;
	int fd1, fd2;

	conf_defaults(&c);
	fd1 = collector(&c, &p1);
	x = export_new(&c, 0, 0);
	export_consumer(x)->deliver(x, &ev, 1);
	export_flush(x, 0, true);
	ck_assert_uint_eq(drain(fd1, &d, &got, &t1), 1);

	/* A second collector: it gets templates at once, the first keeps
	 * its socket and sequence (no templates again). */
	fd2 = collector(&c, &p2);
	c.accounting = true;
	c.ipfix_active_timeout = 30;
	export_configure(x, &c, 10);
	ck_assert_uint_eq(export_consumer(x)->types,
			  FEV_MASK(FEV_DESTROY) | FEV_MASK(FEV_ACTIVE));
	ck_assert_uint_eq(export_consumer(x)->active_timeout, 30);
	export_consumer(x)->deliver(x, &ev, 1);
	export_flush(x, 10, true);
	ck_assert_uint_eq(drain(fd1, &d, &got, &t1), 1);
	ck_assert_uint_eq(t1, 1);
	ck_assert_uint_eq(d.seq, 1);
	ck_assert_uint_eq(drain(fd2, &d, &got, &t2), 1);
	ck_assert_uint_eq(t2, 1);
	ck_assert_uint_eq(d.seq, 0);

	/* A new observation domain: templates and sequence afresh. */
	c.ipfix_observation_domain = 9;
	export_configure(x, &c, 15);
	export_consumer(x)->deliver(x, &ev, 1);
	export_flush(x, 15, true);
	t1 = 0;
	ck_assert_uint_eq(drain(fd1, &d, &got, &t1), 1);
	ck_assert_uint_eq(t1, 1);
	ck_assert_uint_eq(d.seq, 0);
	ck_assert_uint_eq(d.domain, 9);
	ck_assert_uint_eq(drain(fd2, &d, &got, &t2), 1);

	/* A shorter template interval applies at once. */
	c.ipfix_template_interval = 1;
	export_configure(x, &c, 16);
	export_flush(x, 1015, true);
	ck_assert_uint_eq(drain(fd1, &d, &got, &t1), 0);
	export_flush(x, 1016, true);
	ck_assert_uint_eq(drain(fd1, &d, &got, &t1), 1);
	ck_assert_uint_eq(t1, 2);

	/* The first goes: its counts stay in the totals. */
	strcpy(c.ipfix_collector[0], c.ipfix_collector[1]);
	c.nipfix = 1;
	export_configure(x, &c, 20);
	export_get_stats(x, &st);
	ck_assert_uint_eq(st.collectors, 1);
	ck_assert_uint_eq(st.records, 5);
	ck_assert_uint_eq(st.templates, 6);
	export_free(x);
	close(fd1);
	close(fd2);
}
END_TEST

static void conf_err(void *arg, const char *msg)
{
	char *out = arg;

	snprintf(out, 512, "%s", msg);
}

static int parse(struct conf *c, const char *text, char *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int n;

	err[0] = '\0';
	n = conf_parse(c, f, "t.conf", conf_err, err);
	fclose(f);
	return n;
}

START_TEST(conf_keys)
{
	struct conf c;
	char err[512];

	ck_assert_int_eq(parse(&c, "", err), 0);
	ck_assert_uint_eq(c.nipfix, 0);
	ck_assert_uint_eq(c.ipfix_template_interval, 60);
	ck_assert_int_eq(parse(&c,
			       "ipfix_collector = 192.0.2.1:4739, "
			       "[2001:db8::1]:2055\n"
			       "ipfix_collector = 127.0.0.1:9995\n"
			       "ipfix_observation_domain = 4294967295\n"
			       "ipfix_template_interval = 5m\n",
			       err),
			 0);
	ck_assert_uint_eq(c.nipfix, 3);
	ck_assert_str_eq(c.ipfix_collector[1], "[2001:db8::1]:2055");
	ck_assert_uint_eq(c.ipfix_observation_domain, 4294967295u);
	ck_assert_uint_eq(c.ipfix_template_interval, 300);

	ck_assert_int_eq(parse(&c, "\nipfix_collector = collector:4739\n", err),
			 1);
	ck_assert_str_eq(err, "t.conf:2: ipfix_collector: 'collector:4739' is "
			      "not ADDR:PORT or [ADDR6]:PORT (a numeric "
			      "address, a port 1-65535)");
	ck_assert_int_eq(parse(&c, "ipfix_collector = 10.0.0.1:0\n", err), 1);
	ck_assert_int_eq(parse(&c,
			       "ipfix_collector = 10.0.0.1:1\n"
			       "ipfix_collector = 10.0.0.1:1\n",
			       err),
			 1);
	ck_assert_str_eq(err, "t.conf:2: ipfix_collector: '10.0.0.1:1' given "
			      "twice");
	ck_assert_int_eq(parse(&c, "ipfix_active_timeout = 60\n", err), 1);
	ck_assert_str_eq(err, "t.conf:1: ipfix_active_timeout: needs "
			      "accounting = yes (the periodic records carry "
			      "the flow's counters)");
	ck_assert_int_eq(
		parse(&c, "accounting = yes\nipfix_active_timeout = 1m\n", err),
		0);
	ck_assert_uint_eq(c.ipfix_active_timeout, 60);
	ck_assert_int_eq(parse(&c, "ipfix_template_interval = 0\n", err), 1);
}
END_TEST

static Suite *ipfix_suite(void)
{
	Suite *s = suite_create("ipfix");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, templates_exact);
	tcase_add_test(tc, record_v4_exact);
	tcase_add_test(tc, record_v6_no_acct_exact);
	tcase_add_test(tc, record_from_event);
	tcase_add_test(tc, record_icmp_v6);
	tcase_add_test(tc, end_reasons);
	tcase_add_test(tc, message_bounds);
	tcase_add_test(tc, exporter_loopback);
	tcase_add_test(tc, exporter_reload);
	tcase_add_test(tc, conf_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(ipfix_suite());
}
