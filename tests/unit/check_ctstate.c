// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_ctstate.c - the state each packet is given (engine_result's
 * ct_state, ct_reply and ct_assured), as the kernel's conntrack match would
 * name it (--ctstate, --ctdir, --ctstatus ASSURED): scripts of packets
 * between a client and a server, one row a packet with the verdict and
 * state it must get, over IPv4 and IPv6; and an ICMP error whose flow is in
 * another queue's table.
 */
#include <stdio.h>

#include "enginetest.h"
#include "group.h"

/* What a row sends. */
enum op {
	END, /* (a zero row) the end of the script */
	TCP, /* a segment: arg its flags, off added to its sequence number */
	RETRANS, /* the sender's last segment again */
	UDP, /* a datagram; off added to the sender's port */
	ECHO, /* an ICMP echo request (from the client) or reply */
	ERR, /* an ICMP error quoting a packet (protocol arg: UDP, TCP, ICMP
	      * echo) from "from" to its peer, sent back to "from" by a
	      * router, or by the peer when off is 1 */
	ND, /* an ICMPv6 neighbour solicitation */
	FRAG, /* a non-first fragment of a UDP datagram */
	SHORT, /* a malformed packet: too short for an IP header */
	COPY, /* a SYN whose TCP header lies past the bytes copied */
	WAIT, /* no packet: arg seconds pass */
};

enum { CL, SV }; /* who sends: client or server */

/* Scripts' settings. */
enum {
	CFG_INVALID_DROP = 1 << 0, /* invalid_verdict = drop */
	CFG_SHADOW = 1 << 1, /* enforce = no */
	CFG_ONE_FLOW = 1 << 2, /* max_flows = 1, on_full = drop */
	CFG_COPY_ACCEPT = 1 << 3, /* copy_range_verdict = accept */
};

struct step {
	uint8_t op, from, arg;
	uint32_t off;
	/* what it must get */
	uint8_t verdict, state;
	bool reply, assured;
};

/* Expectations: accepted with a state, direction (O original, R reply)
 * and assurance (1: assured), or dropped (no state). */
#define O false
#define R true
#define A(st, dir, as) VERDICT_ACCEPT, CT_STATE_##st, dir, as
#define DROPPED VERDICT_DROP, CT_STATE_NONE, false, false
#define NO_PACKET VERDICT_ACCEPT, CT_STATE_NONE, false, false
#define NEW_O A(NEW, O, 0)
#define INV A(INVALID, O, 0)

#define SYN TCPF_SYN
#define SYNACK (TCPF_SYN | TCPF_ACK)
#define ACK TCPF_ACK
#define DATA (TCPF_ACK | TCPF_PSH)
#define FINACK (TCPF_FIN | TCPF_ACK)
#define RSTACK (TCPF_RST | TCPF_ACK)

/* The three-way handshake, from the client. */
/* clang-format off */
#define HANDSHAKE \
	{ TCP, CL, SYN, 0, NEW_O }, \
	{ TCP, SV, SYNACK, 0, A(ESTABLISHED, R, 0) }, \
	{ TCP, CL, ACK, 0, A(ESTABLISHED, O, 1) }
/* And its close, from the client, to TIME_WAIT. */
#define CLOSE \
	{ TCP, CL, FINACK, 0, A(ESTABLISHED, O, 1) }, \
	{ TCP, SV, FINACK, 0, A(ESTABLISHED, R, 1) }, \
	{ TCP, CL, ACK, 0, A(ESTABLISHED, O, 1) }
/* clang-format on */

struct script {
	const char *name;
	uint8_t family;
	uint8_t cfg;
	uint8_t reopened; /* TCP connections that reopen a closed one's */
	struct step step[20];
};

static const struct script scripts[] = {
	{ "TCP handshake, data, close",
	  4,
	  0,
	  0,
	  { HANDSHAKE,
	    { TCP, CL, DATA, 0, A(ESTABLISHED, O, 1) },
	    { TCP, SV, ACK, 0, A(ESTABLISHED, R, 1) },
	    { TCP, SV, DATA, 0, A(ESTABLISHED, R, 1) },
	    CLOSE } },
	{ "TCP handshake (IPv6)", 6, 0, 0, { HANDSHAKE } },
	{ "SYN retransmitted before any reply",
	  4,
	  0,
	  0,
	  { { TCP, CL, SYN, 0, NEW_O },
	    { RETRANS, CL, 0, 0, NEW_O },
	    { RETRANS, CL, 0, 0, NEW_O },
	    { TCP, SV, SYNACK, 0, A(ESTABLISHED, R, 0) },
	    { TCP, CL, ACK, 0, A(ESTABLISHED, O, 1) } } },
	{ "a connection the server (the higher address) opens",
	  4,
	  0,
	  0,
	  { { TCP, SV, SYN, 0, NEW_O },
	    { TCP, CL, SYNACK, 0, A(ESTABLISHED, R, 0) },
	    { TCP, SV, ACK, 0, A(ESTABLISHED, O, 1) },
	    /* Errors about it: reply way to its originator. */
	    { ERR, SV, IPPROTO_TCP, 0, A(RELATED, R, 1) },
	    { ERR, CL, IPPROTO_TCP, 1, A(RELATED, O, 1) } } },
	{ "a closed port: the RST is the flow's reply",
	  4,
	  0,
	  0,
	  { { TCP, CL, SYN, 0, NEW_O },
	    { TCP, SV, RSTACK, 0, A(ESTABLISHED, R, 0) },
	    /* The flow is gone: a stray RST, a SYN-ACK for nothing. */
	    { TCP, SV, RSTACK, 0, INV },
	    { TCP, SV, SYNACK, 0, INV },
	    { TCP, CL, SYN, 1000, NEW_O } } },
	{ "out of window: INVALID, the connection goes on",
	  4,
	  0,
	  0,
	  { HANDSHAKE,
	    { TCP, CL, DATA, 10000000, INV },
	    { TCP, SV, DATA, 0, A(ESTABLISHED, R, 1) },
	    { TCP, CL, ACK, 0, A(ESTABLISHED, O, 1) } } },
	{ "out of window, invalid_verdict = drop",
	  6,
	  CFG_INVALID_DROP,
	  0,
	  { HANDSHAKE,
	    { TCP, CL, DATA, 10000000, DROPPED },
	    { TCP, CL, DATA, 0, A(ESTABLISHED, O, 1) } } },
	{ "TIME_WAIT reopened by the client",
	  4,
	  0,
	  1,
	  { HANDSHAKE,
	    CLOSE,
	    { TCP, CL, SYN, 1000000, NEW_O },
	    { TCP, SV, SYNACK, 0, A(ESTABLISHED, R, 0) },
	    { TCP, CL, ACK, 0, A(ESTABLISHED, O, 1) } } },
	{ "TIME_WAIT reopened by the server: a new flow, its originator",
	  6,
	  0,
	  1,
	  { HANDSHAKE,
	    CLOSE,
	    { TCP, SV, SYN, 1000000, NEW_O },
	    { RETRANS, SV, 0, 0, NEW_O },
	    { TCP, CL, SYNACK, 0, A(ESTABLISHED, R, 0) },
	    { TCP, SV, ACK, 0, A(ESTABLISHED, O, 1) } } },
	{ "UDP: new until answered, assured as a stream",
	  4,
	  0,
	  0,
	  { { UDP, CL, 0, 0, NEW_O },
	    { UDP, CL, 0, 0, NEW_O },
	    { UDP, SV, 0, 0, A(ESTABLISHED, R, 0) },
	    { UDP, CL, 0, 0, A(ESTABLISHED, O, 0) },
	    { WAIT, CL, 3, 0, NO_PACKET },
	    { UDP, SV, 0, 0, A(ESTABLISHED, R, 1) },
	    { UDP, CL, 0, 0, A(ESTABLISHED, O, 1) } } },
	{ "UDP (IPv6)",
	  6,
	  0,
	  0,
	  { { UDP, CL, 0, 0, NEW_O },
	    { UDP, SV, 0, 0, A(ESTABLISHED, R, 0) },
	    { UDP, CL, 0, 0, A(ESTABLISHED, O, 0) } } },
	{ "ICMP echo",
	  4,
	  0,
	  0,
	  { { ECHO, CL, 0, 0, NEW_O },
	    { ECHO, SV, 0, 0, A(ESTABLISHED, R, 0) },
	    { ECHO, CL, 0, 0, A(ESTABLISHED, O, 0) },
	    /* An error about the request goes to the client, the reply
	     * way; about the reply, to the server. */
	    { ERR, CL, IPPROTO_ICMP, 0, A(RELATED, R, 0) },
	    { ERR, SV, IPPROTO_ICMP, 0, A(RELATED, O, 0) } } },
	{ "ICMPv6 echo",
	  6,
	  0,
	  0,
	  { { ECHO, CL, 0, 0, NEW_O },
	    { ECHO, SV, 0, 0, A(ESTABLISHED, R, 0) } } },
	{ "ICMP errors about a live UDP flow",
	  4,
	  0,
	  0,
	  { { ERR, CL, IPPROTO_UDP, 0, INV },
	    { UDP, CL, 0, 0, NEW_O },
	    { ERR, CL, IPPROTO_UDP, 0, A(RELATED, R, 0) },
	    { ERR, CL, IPPROTO_UDP, 1, A(RELATED, R, 0) },
	    { UDP, SV, 0, 0, A(ESTABLISHED, R, 0) },
	    { ERR, SV, IPPROTO_UDP, 0, A(RELATED, O, 0) },
	    { ERR, SV, IPPROTO_UDP, 1, A(RELATED, O, 0) } } },
	{ "ICMPv6 errors about a live TCP flow",
	  6,
	  0,
	  0,
	  { HANDSHAKE,
	    { ERR, CL, IPPROTO_TCP, 0, A(RELATED, R, 1) },
	    { ERR, SV, IPPROTO_TCP, 1, A(RELATED, O, 1) },
	    { ERR, CL, IPPROTO_UDP, 0, INV } } },
	{ "an ICMP error about no flow, invalid_verdict = drop",
	  4,
	  CFG_INVALID_DROP,
	  0,
	  { { ERR, CL, IPPROTO_UDP, 0, DROPPED },
	    { UDP, CL, 0, 0, NEW_O },
	    { ERR, CL, IPPROTO_UDP, 0, A(RELATED, R, 0) } } },
	{ "untracked: neighbour discovery, later fragments",
	  6,
	  0,
	  0,
	  { { ND, CL, 0, 0, A(UNTRACKED, O, 0) },
	    { ND, SV, 0, 0, A(UNTRACKED, O, 0) },
	    { FRAG, CL, 0, 0, A(UNTRACKED, O, 0) } } },
	{ "untracked: later fragments (IPv4)",
	  4,
	  0,
	  0,
	  { { UDP, CL, 0, 0, NEW_O },
	    { FRAG, SV, 0, 0, A(UNTRACKED, O, 0) } } },
	{ "malformed, accepted", 4, 0, 0, { { SHORT, CL, 0, 0, INV } } },
	{ "malformed, invalid_verdict = drop",
	  6,
	  CFG_INVALID_DROP,
	  0,
	  { { SHORT, CL, 0, 0, DROPPED } } },
	{ "past the copy range, accepted",
	  6,
	  CFG_COPY_ACCEPT,
	  0,
	  { { COPY, CL, 0, 0, INV } } },
	{ "past the copy range, dropped (the default)",
	  6,
	  0,
	  0,
	  { { COPY, CL, 0, 0, DROPPED } } },
	{ "a limit: the table is full",
	  4,
	  CFG_ONE_FLOW,
	  0,
	  { { UDP, CL, 0, 0, NEW_O },
	    { UDP, CL, 0, 1, DROPPED },
	    { TCP, CL, SYN, 0, DROPPED },
	    { UDP, SV, 0, 0, A(ESTABLISHED, R, 0) } } },
	{ "shadow mode: what a limit would drop is NEW",
	  6,
	  CFG_ONE_FLOW | CFG_SHADOW | CFG_INVALID_DROP,
	  0,
	  { { UDP, CL, 0, 0, NEW_O },
	    { UDP, CL, 0, 1, NEW_O },
	    { TCP, SV, SYN, 0, NEW_O },
	    { TCP, SV, SYNACK, 0, INV },
	    { SHORT, CL, 0, 0, INV },
	    { FRAG, CL, 0, 0, A(UNTRACKED, O, 0) },
	    { UDP, SV, 0, 0, A(ESTABLISHED, R, 0) } } },
};

/* A script's two ends and what they sent last. */
static struct end {
	const char *addr;
	uint16_t port;
	uint32_t seq; /* next sequence number */
	uint32_t last_seq;
	uint8_t last_flags;
} ends[2];

static uint8_t fam;

static size_t ip(uint8_t *b, uint8_t proto, int from, const void *l4,
		 size_t len)
{
	if (fam == 4)
		return tu_ip4(b, proto, ends[from].addr, ends[!from].addr, l4,
			      len);
	return tu_ip6(b, proto, ends[from].addr, ends[!from].addr, l4, len);
}

static uint8_t icmp_proto(void)
{
	return fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

/* The echo request from the client, or the reply from the server. */
static size_t echo(uint8_t *l4, int from)
{
	if (fam == 4)
		return tu_icmp(l4, from == CL ? 8 : 0, 0, 77);
	return tu_icmp(l4, from == CL ? 128 : 129, 0, 77);
}

/* A TCP segment from "from" (its data: 10 bytes with PSH), at seq. */
static size_t segment(uint8_t *l4, int from, uint8_t flags, uint32_t seq)
{
	struct end *me = &ends[from], *peer = &ends[!from];
	size_t len = flags & TCPF_PSH ? 10 : 0;

	memset(l4, 0, 20 + len);
	tu_tcp(l4, me->port, peer->port, flags, seq,
	       flags & TCPF_ACK ? peer->seq : 0);
	return 20 + len;
}

static size_t build(uint8_t *b, const struct step *s, size_t *caplen)
{
	uint8_t l4[400], quote[128];
	struct end *me = &ends[s->from];
	size_t n, qlen;

	*caplen = 0;
	switch (s->op) {
	case TCP:
		n = segment(l4, s->from, s->arg, me->seq + s->off);
		if (s->off && s->arg & TCPF_SYN)
			me->seq += s->off; /* a new connection's */
		me->last_seq = me->seq;
		me->last_flags = s->arg;
		if (!s->off || s->arg & TCPF_SYN)
			me->seq += advance(s->arg, (uint32_t)n - 20);
		return ip(b, IPPROTO_TCP, s->from, l4, n);
	case RETRANS:
		n = segment(l4, s->from, me->last_flags, me->last_seq);
		return ip(b, IPPROTO_TCP, s->from, l4, n);
	case UDP:
		n = tu_udp(l4, (uint16_t)(me->port + s->off),
			   ends[!s->from].port, 8);
		return ip(b, IPPROTO_UDP, s->from, l4, n);
	case ECHO:
		return ip(b, icmp_proto(), s->from, l4, echo(l4, s->from));
	case ERR:
		if (s->arg == IPPROTO_UDP)
			n = tu_udp(l4, me->port, ends[!s->from].port, 0);
		else if (s->arg == IPPROTO_TCP)
			n = segment(l4, s->from, TCPF_ACK, me->seq);
		else
			n = echo(l4, s->from);
		qlen = ip(quote, s->arg == IPPROTO_ICMP ? icmp_proto() : s->arg,
			  s->from, l4, n);
		/* Port unreachable (v4 3/3, v6 1/4), to the quoted
		 * packet's sender. */
		n = tu_icmp_err(l4, fam == 4 ? 3 : 1, fam == 4 ? 3 : 4, quote,
				qlen);
		if (s->off)
			return ip(b, icmp_proto(), !s->from, l4, n);
		if (fam == 4)
			return tu_ip4(b, IPPROTO_ICMP, "203.0.113.1", me->addr,
				      l4, n);
		return tu_ip6(b, IPPROTO_ICMPV6, "2001:db8:ff::1", me->addr, l4,
			      n);
	case ND:
		return ip(b, IPPROTO_ICMPV6, s->from, l4,
			  tu_icmp(l4, 135, 0, 0));
	case FRAG:
		n = tu_udp(l4 + 8, me->port, ends[!s->from].port, 8);
		if (fam == 4) {
			n = ip(b, IPPROTO_UDP, s->from, l4 + 8, n);
			tu_ip4_frag(b, 9, 0, 128);
			return n;
		}
		tu_ip6_frag(l4, IPPROTO_UDP, 128, 0, 9);
		return ip(b, IPPROTO_FRAGMENT, s->from, l4, 8 + n);
	case SHORT:
		b[0] = fam == 4 ? 0x45 : 0x60;
		b[1] = 0;
		return 2;
	case COPY:
		/* A 264-byte destination options header first: 256 bytes
		 * copied end inside it. */
		n = tu_ip6_ext(l4, IPPROTO_DSTOPTS, IPPROTO_TCP, 264);
		n += segment(l4 + n, s->from, TCPF_SYN, me->seq);
		*caplen = 256;
		return ip(b, IPPROTO_DSTOPTS, s->from, l4, n);
	}
	return 0;
}

static void setup(void)
{
	setup_max(1000);
}

START_TEST(states_as_the_kernel_names_them)
{
	const struct script *sc = &scripts[_i];
	uint32_t now = 0;
	uint64_t sum = 0;

	engine_destroy(&e);
	conf_defaults(&conf);
	if (sc->cfg & CFG_INVALID_DROP)
		conf.invalid_verdict = CONF_DROP;
	if (sc->cfg & CFG_SHADOW)
		conf.enforce = false;
	if (sc->cfg & CFG_ONE_FLOW) {
		conf.max_flows = 1;
		conf.on_full = CONF_FULL_DROP;
	}
	if (sc->cfg & CFG_COPY_ACCEPT)
		conf.copy_range_verdict = CONF_ACCEPT;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	fam = sc->family;
	ends[CL] = (struct end){ fam == 4 ? C4 : C6, 40000, 100000, 0, 0 };
	ends[SV] = (struct end){ fam == 4 ? S4 : S6, 80, 900000, 0, 0 };

	for (unsigned i = 0; i < ARRAY_SIZE(sc->step); i++) {
		const struct step *s = &sc->step[i];
		uint8_t b[600];
		size_t len, caplen;
		uint8_t *p;

		if (s->op == WAIT) {
			now += s->arg;
			at(now);
			continue;
		}
		if (s->op == END)
			break;
		len = build(b, s, &caplen);
		p = tu_exact(b, caplen ? caplen : len);
		engine_packet(&e, p, caplen ? caplen : len, len, 0, &res);
		free(p);
		ck_assert_msg(
			res.verdict == s->verdict && res.ct_state == s->state &&
				res.ct_reply == s->reply &&
				res.ct_assured == s->assured,
			"%s, row %u: got %s %s%s%s, want %s %s%s%s", sc->name,
			i + 1, res.verdict == VERDICT_DROP ? "drop" : "accept",
			engine_state_name(res.ct_state),
			res.ct_reply ? " reply" : "",
			res.ct_assured ? " assured" : "",
			s->verdict == VERDICT_DROP ? "drop" : "accept",
			engine_state_name(s->state), s->reply ? " reply" : "",
			s->assured ? " assured" : "");
	}
	ck_assert_uint_eq(e.st.flows_reopened, sc->reopened);
	/* Every accepted packet has a state, and the counters say which. */
	ck_assert_uint_eq(e.st.state[CT_STATE_NONE], 0);
	for (int st = 0; st < CT_STATE_COUNT; st++)
		sum += e.st.state[st];
	ck_assert_uint_eq(sum, e.st.accepted);
}
END_TEST

/* Fragmentation needed, from a router to "to", quoting a UDP datagram. */
static void frag_needed(struct engine *q, const char *src, uint16_t sport,
			const char *dst, uint16_t dport, const char *to,
			struct engine_result *r)
{
	uint8_t l4[8], quote[64], msg[96], b[128];
	size_t n, len;

	n = tu_ip4(quote, IPPROTO_UDP, src, dst, l4,
		   tu_udp(l4, sport, dport, 0));
	n = tu_icmp_err(msg, 3, 4, quote, n);
	len = tu_ip4(b, IPPROTO_ICMP, "203.0.113.1", to, msg, n);
	engine_packet(q, b, len, len, 0, r);
}

/* An ICMP error met on another queue than its flow (the kernel balances
 * queues by addresses, and a router's error has other ones): RELATED all
 * the same, its direction from the flow in the other table. */
START_TEST(related_from_another_queue)
{
	struct engine_result r;
	struct group g;
	struct engine *q0, *q1;
	uint8_t l4[16], b[64];
	size_t len;

	conf_defaults(&conf);
	ck_assert_int_eq(group_init(&g, tu_params(&conf), &key, 2, NULL, 1000),
			 0);
	q0 = group_engine(&g, 0);
	q1 = group_engine(&g, 1);
	/* A UDP flow that the higher address opens, on queue 0. */
	len = tu_ip4(b, IPPROTO_UDP, S4, C4, l4, tu_udp(l4, 53, 1000, 8));
	engine_packet(q0, b, len, len, 0, &r);
	ck_assert_int_eq(r.ct_state, CT_STATE_NEW);
	len = tu_ip4(b, IPPROTO_UDP, C4, S4, l4, tu_udp(l4, 1000, 53, 8));
	engine_packet(q0, b, len, len, 0, &r);
	ck_assert_int_eq(r.ct_state, CT_STATE_ESTABLISHED);
	ck_assert(r.ct_reply);

	/* About its first datagram, to its originator: the reply way. */
	frag_needed(q1, S4, 53, C4, 1000, S4, &r);
	ck_assert_int_eq(r.verdict, VERDICT_ACCEPT);
	ck_assert_int_eq(r.ct_state, CT_STATE_RELATED);
	ck_assert(r.ct_reply);
	ck_assert(!r.ct_assured);
	/* About the answer, to the other end: the original way. */
	frag_needed(q1, C4, 1000, S4, 53, C4, &r);
	ck_assert_int_eq(r.ct_state, CT_STATE_RELATED);
	ck_assert(!r.ct_reply);
	/* About no flow of either queue. */
	frag_needed(q1, C4, 1001, S4, 53, C4, &r);
	ck_assert_int_eq(r.ct_state, CT_STATE_INVALID);
	ck_assert_uint_eq(q1->st.state[CT_STATE_RELATED], 2);
	ck_assert_uint_eq(q1->table.count, 0);
	group_destroy(&g);
}
END_TEST

static Suite *ctstate_suite(void)
{
	Suite *s = suite_create("ctstate");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, states_as_the_kernel_names_them, 0,
			    (int)ARRAY_SIZE(scripts));
	tcase_add_test(tc, related_from_another_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(ctstate_suite());
}
