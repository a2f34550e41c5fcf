// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_carrier.c - the BPF carrier against this kernel's BPF: the
 * programs loaded, run on packets with BPF_PROG_TEST_RUN (from the
 * network header, as the xtables bpf match runs them), their maps read
 * with carrier_query(). What is carried and what goes to the queue (a
 * pure SYN always), the states and their timeouts, both directions, IPv4
 * and IPv6, TCP and UDP, what is not parsed, expiry, a full map, forget
 * and flush, and the maps used by a process that has no capability left.
 * As root; skipped, saying so, without it.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "carrier.h"
#include "carrier_map.h"
#include "testutil.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static struct carrier *car;
static int prog_carry = -1, prog_admit = -1, prog_judge = -1;

static struct fastpath_params fp_params(void)
{
	struct fastpath_params p;

	memset(&p, 0, sizeof(p));
	p.timeout_open = 120;
	p.timeout_established = 432000;
	p.timeout_closing = 120;
	p.timeout_close = 10;
	p.timeout_udp = 180;
	p.udp = true;
	return p;
}

/* Fresh programs and maps for each test, for max_entries entries,
 * configured with p. */
static void load(const struct fastpath_params *p, uint32_t max_entries)
{
	char err[256] = "";

	car = carrier_load(max_entries, err, sizeof(err));
	ck_assert_msg(car != NULL, "%s", err);
	ck_assert_int_eq(carrier_configure(car, p, true), 0);
	prog_carry = carrier_prog_fd(car, CARRIER_PROG_CARRY);
	prog_admit = carrier_prog_fd(car, CARRIER_PROG_ADMIT);
	prog_judge = carrier_prog_fd(car, CARRIER_PROG_JUDGE);
	ck_assert_int_ge(prog_carry, 0);
	ck_assert_int_ge(prog_admit, 0);
	ck_assert_int_ge(prog_judge, 0);
}

static void setup(void)
{
	struct fastpath_params p = fp_params();

	load(&p, 4096);
}

static void teardown(void)
{
	carrier_close(car);
	car = NULL;
}

/* Run prog on an IP packet (an Ethernet header put before it, which the
 * test run takes off, as the kernel does before the IP hooks). */
static int run(int prog, const uint8_t *ip, size_t len)
{
	uint8_t frame[1600];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (uint32_t)(14 + len), .repeat = 1);

	memset(frame, 0, 14);
	frame[12] = (ip[0] >> 4) == 6 ? 0x86 : 0x08;
	frame[13] = (ip[0] >> 4) == 6 ? 0xdd : 0x00;
	memcpy(frame + 14, ip, len);
	ck_assert_int_eq(bpf_prog_test_run_opts(prog, &o), 0);
	return (int)o.retval;
}

/* A TCP packet of 10.0.0.1:1000 <-> 10.0.0.2:80 (reply: the other way),
 * or the same over IPv6 (fd00::1, fd00::2). */
static size_t tcp(uint8_t *b, bool v6, bool reply, uint8_t flags)
{
	uint8_t th[20];
	const char *a = v6 ? "fd00::1" : "10.0.0.1",
		   *z = v6 ? "fd00::2" : "10.0.0.2";

	tu_tcp(th, reply ? 80 : 1000, reply ? 1000 : 80, flags, 1, 1);
	return v6 ? tu_ip6(b, IPPROTO_TCP, reply ? z : a, reply ? a : z, th,
			   sizeof(th)) :
		    tu_ip4(b, IPPROTO_TCP, reply ? z : a, reply ? a : z, th,
			   sizeof(th));
}

static size_t udp(uint8_t *b, bool v6, bool reply)
{
	uint8_t uh[16];
	const char *a = v6 ? "fd00::1" : "10.0.0.1",
		   *z = v6 ? "fd00::2" : "10.0.0.2";

	tu_udp(uh, reply ? 53 : 5000, reply ? 5000 : 53, 8);
	return v6 ? tu_ip6(b, IPPROTO_UDP, reply ? z : a, reply ? a : z, uh,
			   sizeof(uh)) :
		    tu_ip4(b, IPPROTO_UDP, reply ? z : a, reply ? a : z, uh,
			   sizeof(uh));
}

static int carry_tcp(bool v6, bool reply, uint8_t flags)
{
	uint8_t b[128];

	return run(prog_carry, b, tcp(b, v6, reply, flags));
}

static int admit_tcp(bool v6)
{
	uint8_t b[128];

	return run(prog_admit, b, tcp(b, v6, false, TCP_SYN));
}

static struct fastpath_tuple tuple(bool v6, uint8_t proto)
{
	struct fastpath_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = v6 ? 6 : 4;
	t.proto = proto;
	t.sport = proto == IPPROTO_TCP ? 1000 : 5000;
	t.dport = proto == IPPROTO_TCP ? 80 : 53;
	if (v6) {
		inet_pton(AF_INET6, "fd00::1", t.src);
		inet_pton(AF_INET6, "fd00::2", t.dst);
	} else {
		inet_pton(AF_INET, "10.0.0.1", t.src);
		inet_pton(AF_INET, "10.0.0.2", t.dst);
	}
	return t;
}

static struct fastpath_flow query(bool v6, uint8_t proto)
{
	struct fastpath_tuple t = tuple(v6, proto);
	struct fastpath_flow f;

	ck_assert_int_eq(carrier_query(car, &t, 1, false, &f), 0);
	return f;
}

/* Both directions in set, on timeout seconds. */
static void expect(bool v6, uint8_t proto, uint8_t set, uint32_t timeout)
{
	struct fastpath_flow f = query(v6, proto);

	for (int d = 0; d < 2; d++) {
		ck_assert_msg(f.dir[d].set == set, "dir %d: set %u, not %u", d,
			      f.dir[d].set, set);
		if (set == FP_SET_NONE)
			continue;
		ck_assert_uint_eq(f.dir[d].timeout_ms, timeout * 1000);
		ck_assert_uint_le(f.dir[d].expires_ms, timeout * 1000);
		ck_assert_uint_ge(f.dir[d].expires_ms, timeout * 1000 - 2000);
	}
}

/* A TCP flow's life, in both families: nothing carried before its
 * admission; the pure SYN never; the handshake on timeout_open, a packet
 * without SYN making it established; a FIN moving both directions to
 * closing, carried after and never refreshed. */
START_TEST(tcp_life)
{
	bool v6 = _i;

	ck_assert_int_eq(carry_tcp(v6, false, TCP_ACK), 0);
	expect(v6, IPPROTO_TCP, FP_SET_NONE, 0);
	ck_assert_int_eq(admit_tcp(v6), 1);
	expect(v6, IPPROTO_TCP, FP_SET_EST, 120);
	ck_assert_int_eq(carry_tcp(v6, false, TCP_SYN), 0);
	ck_assert_int_eq(carry_tcp(v6, true, TCP_SYN | TCP_ACK), 1);
	expect(v6, IPPROTO_TCP, FP_SET_EST, 120);
	ck_assert_int_eq(carry_tcp(v6, false, TCP_ACK), 1);
	/* The direction that sent it is established; the other is, from
	 * the engine's view, the flow's better element either way. */
	ck_assert_uint_eq(query(v6, IPPROTO_TCP).dir[0].timeout_ms,
			  432000u * 1000);
	ck_assert_int_eq(carry_tcp(v6, true, TCP_ACK), 1);
	expect(v6, IPPROTO_TCP, FP_SET_EST, 432000);
	ck_assert_int_eq(carry_tcp(v6, true, TCP_FIN | TCP_ACK), 1);
	expect(v6, IPPROTO_TCP, FP_SET_CLOSE, 120);
	ck_assert_int_eq(carry_tcp(v6, false, TCP_FIN | TCP_ACK), 1);
	ck_assert_int_eq(carry_tcp(v6, true, TCP_ACK), 1);
	expect(v6, IPPROTO_TCP, FP_SET_CLOSE, 120);
	/* A new connection on the same ports: its SYN to the daemon, whose
	 * admission replaces the closing entries. */
	ck_assert_int_eq(carry_tcp(v6, false, TCP_SYN), 0);
	ck_assert_int_eq(admit_tcp(v6), 1);
	expect(v6, IPPROTO_TCP, FP_SET_EST, 120);
}
END_TEST

/* A RST: both directions on timeout_close. */
START_TEST(tcp_reset)
{
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carry_tcp(false, true, TCP_RST), 1);
	expect(false, IPPROTO_TCP, FP_SET_CLOSE, 10);
	/* A later FIN does not move it back to closing. */
	ck_assert_int_eq(carry_tcp(false, false, TCP_FIN | TCP_ACK), 1);
	expect(false, IPPROTO_TCP, FP_SET_CLOSE, 10);
}
END_TEST

/* With accounting, a FIN or RST goes to the daemon and changes nothing
 * here, and every carried packet is counted in its direction, the
 * admitting one in both. A reading with reset gives what came since the
 * last one; without, all since the admission. A new admission's counts
 * start from nothing, whatever was read of the old one's. */
START_TEST(accounting)
{
	struct fastpath_params p = fp_params();
	struct fastpath_tuple t = tuple(false, IPPROTO_TCP);
	struct fastpath_flow f;
	uint8_t b[128];
	size_t syn = tcp(b, false, false, TCP_SYN);

	p.accounting = true;
	ck_assert_int_eq(carrier_configure(car, &p, true), 0);
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carry_tcp(false, true, TCP_SYN | TCP_ACK), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_FIN | TCP_ACK), 0);
	ck_assert_int_eq(carry_tcp(false, true, TCP_RST), 0);
	f = query(false, IPPROTO_TCP);
	ck_assert_uint_eq(f.dir[0].set, FP_SET_EST);
	ck_assert_uint_eq(f.dir[0].packets, 3);
	ck_assert_uint_eq(f.dir[1].packets, 2);
	ck_assert_uint_eq(f.dir[0].bytes, 3 * syn);
	ck_assert_int_eq(carrier_query(car, &t, 1, true, &f), 0);
	ck_assert_uint_eq(f.dir[0].packets, 3);
	ck_assert_uint_eq(f.dir[1].packets, 2);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
	ck_assert_int_eq(carrier_query(car, &t, 1, true, &f), 0);
	ck_assert_uint_eq(f.dir[0].packets, 1);
	ck_assert_uint_eq(f.dir[0].bytes, syn);
	ck_assert_uint_eq(f.dir[1].packets, 0);
	ck_assert_int_eq(carrier_query(car, &t, 1, true, &f), 0);
	ck_assert_uint_eq(f.dir[0].packets, 0);
	f = query(false, IPPROTO_TCP);
	ck_assert_uint_eq(f.dir[0].packets, 4);
	/* Dead, then admitted anew before any reading: the old reading
	 * does not count against the new admission. */
	p.timeout_established = 1;
	p.timeout_open = 1;
	ck_assert_int_eq(carrier_configure(car, &p, true), 0);
	usleep(1100 * 1000);
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
	ck_assert_int_eq(carrier_query(car, &t, 1, true, &f), 0);
	ck_assert_uint_eq(f.dir[0].packets, 2);
	ck_assert_uint_eq(f.dir[1].packets, 1);
	/* Forgotten, then admitted anew: read from nothing. */
	ck_assert_int_eq(carrier_forget(car, &t, 1), 0);
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carrier_query(car, &t, 1, true, &f), 0);
	ck_assert_uint_eq(f.dir[0].packets, 1);
}
END_TEST

/* UDP: carried once admitted and refreshed by every packet; not at all
 * when UDP is off. */
START_TEST(udp_flows)
{
	struct fastpath_params p = fp_params();
	uint8_t b[128];
	bool v6 = _i;

	ck_assert_int_eq(run(prog_carry, b, udp(b, v6, false)), 0);
	ck_assert_int_eq(run(prog_admit, b, udp(b, v6, false)), 1);
	expect(v6, IPPROTO_UDP, FP_SET_UDP, 180);
	ck_assert_int_eq(run(prog_carry, b, udp(b, v6, true)), 1);
	ck_assert_int_eq(run(prog_carry, b, udp(b, v6, false)), 1);
	/* The TCP flow on other ports is not this one. */
	expect(v6, IPPROTO_TCP, FP_SET_NONE, 0);
	p.udp = false;
	ck_assert_int_eq(carrier_configure(car, &p, true), 0);
	ck_assert_int_eq(run(prog_carry, b, udp(b, v6, true)), 0);
}
END_TEST

/* What the programs do not parse goes to the queue, admitted or not: a
 * fragment, a truncated header, IPv6 behind an extension header, another
 * IP version, another protocol. Off, nothing is carried. */
START_TEST(not_carried)
{
	struct fastpath_params p = fp_params();
	uint8_t b[128], th[20], ext[28];
	size_t n;

	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(admit_tcp(true), 1);
	n = tcp(b, false, false, TCP_ACK);
	ck_assert_int_eq(run(prog_carry, b, n), 1);
	tu_ip4_frag(b, 7, 1, 0);
	ck_assert_int_eq(run(prog_carry, b, n), 0);
	n = tcp(b, false, false, TCP_ACK);
	tu_ip4_frag(b, 7, 0, 64);
	ck_assert_int_eq(run(prog_carry, b, n), 0);
	n = tcp(b, false, false, TCP_ACK);
	ck_assert_int_eq(run(prog_carry, b, 20 + 10), 0);
	b[0] = 0x55;
	ck_assert_int_eq(run(prog_carry, b, n), 0);
	n = tcp(b, false, false, TCP_ACK);
	b[9] = IPPROTO_SCTP;
	ck_assert_int_eq(run(prog_carry, b, n), 0);
	/* IPv6 with a destination options header before TCP. */
	tu_tcp(th, 1000, 80, TCP_ACK, 1, 1);
	memset(ext, 0, sizeof(ext));
	ext[0] = IPPROTO_TCP;
	ext[1] = 0;
	memcpy(ext + 8, th, 20);
	n = tu_ip6(b, 60, "fd00::1", "fd00::2", ext, sizeof(ext));
	ck_assert_int_eq(run(prog_carry, b, n), 0);
	ck_assert_int_eq(carry_tcp(true, false, TCP_ACK), 1);
	ck_assert_int_eq(carrier_configure(car, &p, false), 0);
	ck_assert_int_eq(carry_tcp(true, false, TCP_ACK), 0);
	ck_assert_int_eq(admit_tcp(false), 0);
}
END_TEST

/* An entry whose timeout ran out, open or closing, carries nothing and
 * reads as gone (and is removed); a new admission replaces it. */
START_TEST(expiry)
{
	struct fastpath_params p = fp_params();

	p.timeout_open = 1;
	p.timeout_closing = 1;
	ck_assert_int_eq(carrier_configure(car, &p, true), 0);
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carry_tcp(false, true, TCP_SYN | TCP_ACK), 1);
	ck_assert_int_eq(admit_tcp(true), 1);
	ck_assert_int_eq(carry_tcp(true, false, TCP_FIN | TCP_ACK), 1);
	usleep(1100 * 1000);
	ck_assert_int_eq(carry_tcp(true, true, TCP_ACK), 0);
	expect(true, IPPROTO_TCP, FP_SET_NONE, 0);
	ck_assert_int_eq(carry_tcp(false, true, TCP_SYN | TCP_ACK), 0);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 0);
	expect(false, IPPROTO_TCP, FP_SET_NONE, 0);
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
}
END_TEST

/* forget removes both directions of the flows named (missing ones are no
 * error); flush every entry. */
START_TEST(forget_and_flush)
{
	struct fastpath_tuple t[3];
	uint8_t b[128];

	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(admit_tcp(true), 1);
	ck_assert_int_eq(run(prog_admit, b, udp(b, false, false)), 1);
	t[0] = tuple(false, IPPROTO_TCP);
	t[1] = tuple(false, IPPROTO_TCP);
	t[1].sport = 1001; /* never admitted */
	t[2] = tuple(true, IPPROTO_TCP);
	ck_assert_int_eq(carrier_forget(car, t, 3), 0);
	expect(false, IPPROTO_TCP, FP_SET_NONE, 0);
	expect(true, IPPROTO_TCP, FP_SET_NONE, 0);
	expect(false, IPPROTO_UDP, FP_SET_UDP, 180);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 0);
	for (int i = 0; i < 3000; i++) {
		size_t n = tcp(b, false, false, TCP_SYN);

		b[14] = (uint8_t)(i >> 8); /* the TCP source port */
		b[15] = (uint8_t)i;
		ck_assert_int_eq(run(prog_admit, b, n), 1);
	}
	ck_assert_int_eq(carrier_flush(car), 0);
	expect(false, IPPROTO_UDP, FP_SET_NONE, 0);
	for (int i = 0; i < 3000; i += 97) {
		struct fastpath_tuple u = tuple(false, IPPROTO_TCP);
		struct fastpath_flow f;

		u.sport = (uint16_t)i;
		ck_assert_int_eq(carrier_query(car, &u, 1, false, &f), 0);
		ck_assert_uint_eq(f.dir[0].set, FP_SET_NONE);
		ck_assert_uint_eq(f.dir[1].set, FP_SET_NONE);
	}
}
END_TEST

/* A full map: an admission that finds no room changes nothing, and
 * its flow's packets go on to the queue, where the daemon sees them;
 * the dead entries a query meets are removed, which makes room. */
START_TEST(full_map)
{
	struct fastpath_params p = fp_params();
	uint8_t b[128];
	int carried = 0;

	carrier_close(car);
	load(&p, 16);
	for (int i = 0; i < 12; i++) {
		size_t n = tcp(b, false, false, TCP_SYN);

		b[21] = (uint8_t)(i + 1); /* the TCP source port, low byte */
		ck_assert_int_eq(run(prog_admit, b, n), 1);
	}
	for (int i = 0; i < 12; i++) {
		size_t n = tcp(b, false, false, TCP_ACK);

		b[21] = (uint8_t)(i + 1);
		carried += run(prog_carry, b, n);
	}
	/* Two entries a flow: 8 fit (the preallocated map holds exactly
	 * max_entries). */
	ck_assert_int_eq(carried, 8);
	/* Dead entries found by a query are removed: room again. */
	p.timeout_open = 1;
	p.timeout_established = 1;
	ck_assert_int_eq(carrier_configure(car, &p, true), 0);
	usleep(1100 * 1000);
	for (int i = 0; i < 12; i++) {
		struct fastpath_tuple t = tuple(false, IPPROTO_TCP);
		struct fastpath_flow f;

		t.sport = (uint16_t)(0x0300 | (i + 1)); /* 1000 = 0x03e8 */
		ck_assert_int_eq(carrier_query(car, &t, 1, false, &f), 0);
		ck_assert_uint_eq(f.dir[0].set, FP_SET_NONE);
	}
	carried = 0;
	for (int i = 0; i < 8; i++) {
		size_t n = tcp(b, false, false, TCP_SYN);

		b[21] = (uint8_t)(i + 101);
		ck_assert_int_eq(run(prog_admit, b, n), 1);
		n = tcp(b, false, false, TCP_ACK);
		b[21] = (uint8_t)(i + 101);
		carried += run(prog_carry, b, n);
	}
	ck_assert_int_eq(carried, 8);
}
END_TEST

/* After the daemon drops its privileges: a process with no capability
 * left configures, queries, forgets and flushes through the
 * descriptors it kept. */
START_TEST(unprivileged_user)
{
	pid_t pid;
	int status;

	ck_assert_int_eq(admit_tcp(false), 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct fastpath_params p = fp_params();
		struct fastpath_tuple t = tuple(false, IPPROTO_TCP);
		struct fastpath_flow f;

		/* From root to nobody: every capability goes. */
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(10);
		if (carrier_configure(car, &p, true) < 0)
			_exit(12);
		if (carrier_query(car, &t, 1, false, &f) < 0 ||
		    f.dir[0].set != FP_SET_EST)
			_exit(13);
		if (carrier_forget(car, &t, 1) < 0 || carrier_flush(car) < 0)
			_exit(14);
		/* And loading is refused. */
		if (carrier_load(16, NULL, 0) != NULL)
			_exit(15);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the unprivileged child failed at step %d",
		      WEXITSTATUS(status));
	expect(false, IPPROTO_TCP, FP_SET_NONE, 0);
}
END_TEST

/* A TCP packet of 10.0.0.1:sport -> 10.0.0.2:80 (or fd00::1 -> fd00::2),
 * its sequence number seq, run through prog. */
static int run_port(int prog, bool v6, uint16_t sport, uint8_t flags,
		    uint32_t seq)
{
	uint8_t b[128], th[20];
	const char *a = v6 ? "fd00::1" : "10.0.0.1",
		   *z = v6 ? "fd00::2" : "10.0.0.2";

	tu_tcp(th, sport, 80, flags, seq, 0);
	return run(prog, b,
		   v6 ? tu_ip6(b, IPPROTO_TCP, a, z, th, sizeof(th)) :
			tu_ip4(b, IPPROTO_TCP, a, z, th, sizeof(th)));
}

/* What carrier_learn() handed over, for the tests to read. */
struct learned {
	unsigned int n;
	struct carrier_syn syn[8];
};

static void keep_syn(void *arg, const struct carrier_syn *syn)
{
	struct learned *l = arg;

	if (l->n < 8)
		l->syn[l->n] = *syn;
	l->n++;
}

static unsigned int learn(struct learned *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_ge(carrier_learn(car, keep_syn, l), 0);
	return l->n;
}

/* A pure SYN of run_port()'s through judge and, when judge admitted it,
 * through admit, as the admin's filter accepting it makes the rules run
 * them: judge's answer. */
static int judge_port(bool v6, uint16_t sport, uint32_t seq)
{
	int judged = run_port(prog_judge, v6, sport, TCP_SYN, seq);

	if (judged)
		ck_assert_int_eq(run_port(prog_admit, v6, sport, TCP_SYN, seq),
				 1);
	return judged;
}

/* judge on, with n admissions granted. */
static void judge_on(uint32_t n)
{
	ck_assert_int_eq(carrier_judge(car, true), 0);
	ck_assert_int_eq(carrier_grant(car, n, 60000), n);
}

/* judge's answer to a pure SYN of the test's IPv4 flow, of its opener
 * (or with reply, of the other side). */
static int judge_syn(bool reply)
{
	uint8_t b[128];

	return run(prog_judge, b, tcp(b, false, reply, TCP_SYN));
}

/* Turned off (as loaded), judge admits nothing: every SYN to the queue,
 * nothing in the ring, whatever the budget. */
START_TEST(judge_off)
{
	struct learned l;

	ck_assert_int_eq(carrier_grant(car, 10, 60000), 10);
	ck_assert_int_eq(run_port(prog_judge, false, 1000, TCP_SYN, 1), 0);
	ck_assert_uint_eq(learn(&l), 0);
	ck_assert_int_eq(carrier_judge(car, true), 0);
	ck_assert_int_eq(judge_port(false, 1000, 1), 1);
	ck_assert_int_eq(carrier_judge(car, false), 0);
	ck_assert_int_eq(run_port(prog_judge, false, 1001, TCP_SYN, 1), 0);
	/* The flag survives a configure (a reload). */
	ck_assert_int_eq(carrier_judge(car, true), 0);
	struct fastpath_params p = fp_params();
	ck_assert_int_eq(carrier_configure(car, &p, true), 0);
	ck_assert_int_eq(judge_port(false, 1002, 1), 1);
	/* The carrier off turns judge off with it. */
	ck_assert_int_eq(carrier_configure(car, &p, false), 0);
	ck_assert_int_eq(run_port(prog_judge, false, 1003, TCP_SYN, 1), 0);
	ck_assert_uint_eq(learn(&l), 2);
}
END_TEST

/* Within the budget and no further, in both families: each admitted SYN
 * in the ring, whole (its head as sent, its sequence number), once; a
 * grant is what is held beyond the flows learned, never taken back. */
START_TEST(judge_budget)
{
	bool v6 = _i;
	size_t iplen = v6 ? 40 : 20;
	struct learned l;

	ck_assert_int_eq(carrier_judge(car, true), 0);
	ck_assert_int_eq(run_port(prog_judge, v6, 2000, TCP_SYN, 7), 0);
	ck_assert_int_eq(carrier_grant(car, 2, 60000), 2);
	ck_assert_int_eq(judge_port(v6, 2001, 11), 1);
	ck_assert_int_eq(judge_port(v6, 2002, 12), 1);
	ck_assert_int_eq(run_port(prog_judge, v6, 2003, TCP_SYN, 13), 0);
	/* Smaller than what is held: nothing changes. */
	ck_assert_int_eq(carrier_grant(car, 1, 60000), 2);
	ck_assert_int_eq(run_port(prog_judge, v6, 2003, TCP_SYN, 13), 0);
	ck_assert_uint_eq(learn(&l), 2);
	ck_assert_uint_eq(carrier_learned(car), 2);
	for (unsigned int i = 0; i < 2; i++) {
		const uint8_t *th = l.syn[i].head + iplen;

		ck_assert_uint_eq(l.syn[i].len, iplen + 20);
		ck_assert_uint_eq(l.syn[i].head[0] >> 4, v6 ? 6 : 4);
		ck_assert_uint_eq((th[0] << 8) | th[1], 2001 + i);
		ck_assert_uint_eq(th[7], 11 + i); /* the seq's low byte */
		ck_assert_uint_eq(th[13], TCP_SYN);
		ck_assert_uint_eq(l.syn[i].reopened, 0);
		ck_assert_uint_ne(l.syn[i].time_ns, 0);
	}
	ck_assert_uint_eq(learn(&l), 0);
	/* Learned, nothing is held: the next grant is whole. */
	ck_assert_int_eq(carrier_grant(car, 1, 60000), 1);
	ck_assert_int_eq(judge_port(v6, 2003, 13), 1);
	ck_assert_int_eq(run_port(prog_judge, v6, 2004, TCP_SYN, 14), 0);
	ck_assert_uint_eq(learn(&l), 1);
	/* No more than the ring holds. */
	ck_assert_int_eq(carrier_grant(car, UINT32_MAX, 60000),
			 (int64_t)carrier_ring_room());
	ck_assert_uint_ge(carrier_ring_room(), 4096);
}
END_TEST

/* A grant lasts its lease, and no longer: a daemon that stops renewing
 * it stops the kernel's admissions. Revoked, the kernel admits no more;
 * what it took is still learned, and counted until then. */
START_TEST(judge_lease_revoke)
{
	struct learned l;

	ck_assert_int_eq(carrier_judge(car, true), 0);
	ck_assert_int_eq(carrier_grant(car, 10, 100), 10);
	ck_assert_int_eq(judge_port(false, 4000, 1), 1);
	usleep(200 * 1000);
	ck_assert_int_eq(run_port(prog_judge, false, 4001, TCP_SYN, 1), 0);
	/* The one taken is held until learned. */
	ck_assert_int_eq(carrier_grant(car, 10, 60000), 10);
	ck_assert_int_eq(judge_port(false, 4001, 1), 1);
	ck_assert_int_eq(carrier_revoke(car), 0);
	ck_assert_int_eq(run_port(prog_judge, false, 4002, TCP_SYN, 1), 0);
	ck_assert_int_eq(carrier_unlearned(car), 2);
	ck_assert_uint_eq(learn(&l), 2);
	ck_assert_int_eq(carrier_unlearned(car), 0);
	/* Granted again: whole, from what was learned. */
	ck_assert_int_eq(carrier_grant(car, 3, 60000), 3);
	ck_assert_int_eq(judge_port(false, 4002, 1), 1);
	ck_assert_int_eq(carrier_unlearned(car), 1);
}
END_TEST

/* What judge leaves to the queue: anything but a pure SYN of TCP (an ECN
 * setup's SYN is one), and SYNs of a connection it did not admit. */
START_TEST(judge_not)
{
	uint8_t b[128];
	struct learned l;

	judge_on(100);
	ck_assert_int_eq(run(prog_judge, b, udp(b, false, false)), 0);
	ck_assert_int_eq(
		run_port(prog_judge, false, 3000, TCP_SYN | TCP_ACK, 1), 0);
	ck_assert_int_eq(
		run_port(prog_judge, false, 3000, TCP_SYN | TCP_FIN, 1), 0);
	ck_assert_int_eq(
		run_port(prog_judge, false, 3000, TCP_SYN | TCP_RST, 1), 0);
	ck_assert_int_eq(run_port(prog_judge, false, 3000, TCP_ACK, 1), 0);
	ck_assert_int_eq(run_port(prog_judge, false, 3000, TCP_SYN | 0xc0, 1),
			 1);
	ck_assert_int_eq(run_port(prog_admit, false, 3000, TCP_SYN | 0xc0, 1),
			 1);
	ck_assert_uint_eq(learn(&l), 1);
	/* The daemon's flow (admitted by admit): established, a SYN of
	 * either side is the daemon's to judge. */
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_int_eq(carry_tcp(false, true, TCP_SYN | TCP_ACK), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
	ck_assert_int_eq(judge_syn(false), 0);
	ck_assert_int_eq(judge_syn(true), 0);
	ck_assert_uint_eq(learn(&l), 0);
}
END_TEST

/* The opener's SYN again while the handshake is on: admitted already, no
 * budget, no record; the other side's SYN (a simultaneous open) is the
 * daemon's. */
START_TEST(judge_retransmit)
{
	struct learned l;

	judge_on(1);
	ck_assert_int_eq(judge_syn(false), 1);
	ck_assert_int_eq(admit_tcp(false), 1);
	expect(false, IPPROTO_TCP, FP_SET_EST, 120);
	ck_assert_int_eq(judge_syn(false), 1);
	ck_assert_int_eq(judge_syn(false), 1);
	ck_assert_int_eq(judge_syn(true), 0);
	ck_assert_uint_eq(learn(&l), 1);
}
END_TEST

/* A SYN judge admitted that the admin's filter then dropped (admit never
 * ran on it): no record, no entries; its unit comes back at the second
 * settle after it was taken (the first sees it taken, the second finds
 * no record for it), and one that reaches admit later than that is
 * learned all the same, taken off that count. A retransmission takes a
 * unit of its own; the first one's comes back. A SYN the daemon
 * admitted (admit alone) is no record. */
START_TEST(judge_filtered)
{
	struct learned l;

	judge_on(4);
	ck_assert_int_eq(run_port(prog_judge, false, 5000, TCP_SYN, 1), 1);
	ck_assert_uint_eq(learn(&l), 0);
	ck_assert_int_eq(carrier_unlearned(car), 1);
	ck_assert_int_eq(carrier_settle(car), 0);
	ck_assert_int_eq(carrier_settle(car), 1);
	ck_assert_int_eq(carrier_unlearned(car), 0);
	ck_assert_int_eq(carrier_settle(car), 0);
	expect(false, IPPROTO_TCP, FP_SET_NONE, 0);
	/* Returned, it is held no more: the grant is whole again. */
	ck_assert_int_eq(carrier_grant(car, 4, 60000), 4);
	/* Its SYN sent again, and this time accepted. */
	ck_assert_int_eq(judge_port(false, 5000, 1), 1);
	ck_assert_uint_eq(learn(&l), 1);
	ck_assert_int_eq(carrier_settle(car), 0);
	ck_assert_int_eq(carrier_settle(car), 0);
	/* A retransmission before admit: the first unit comes back. */
	ck_assert_int_eq(run_port(prog_judge, false, 5001, TCP_SYN, 1), 1);
	ck_assert_int_eq(judge_port(false, 5001, 1), 1);
	ck_assert_uint_eq(learn(&l), 1);
	ck_assert_int_eq(carrier_settle(car), 0);
	ck_assert_int_eq(carrier_settle(car), 1);
	/* Late: returned, then its record came. */
	ck_assert_int_eq(run_port(prog_judge, false, 5002, TCP_SYN, 1), 1);
	ck_assert_int_eq(carrier_settle(car), 0);
	ck_assert_int_eq(carrier_settle(car), 1);
	ck_assert_int_eq(carrier_grant(car, 1, 60000), 1);
	ck_assert_int_eq(run_port(prog_admit, false, 5002, TCP_SYN, 1), 1);
	ck_assert_uint_eq(learn(&l), 1);
	/* Settled once: learned, no longer returned. */
	ck_assert_int_eq(carrier_unlearned(car), 0);
	ck_assert_int_eq(carrier_grant(car, 1, 60000), 1);
	/* The daemon's own admission: entries, no record. */
	ck_assert_int_eq(run_port(prog_admit, false, 5003, TCP_SYN, 1), 1);
	ck_assert_uint_eq(learn(&l), 0);
	ck_assert_uint_eq(carrier_learned(car), 3);
}
END_TEST

/* A connection carried to its end, then a SYN on the same ports, as the
 * kernel's tracker decides it (nf_conntrack_proto_tcp.c): reopened when
 * the other side began the close (FIN first) or this side's RST ended
 * it; left to the daemon when this side began it, when the other side's
 * RST ended it, or while the other side is yet to send its FIN. */
static void closed_then_syn(int how, int expect_judge)
{
	struct learned l;

	judge_on(2);
	ck_assert_int_eq(judge_syn(false), 1);
	ck_assert_int_eq(admit_tcp(false), 1);
	ck_assert_uint_eq(learn(&l), 1);
	ck_assert_int_eq(carry_tcp(false, true, TCP_SYN | TCP_ACK), 1);
	ck_assert_int_eq(carry_tcp(false, false, TCP_ACK), 1);
	switch (how) {
	case 0: /* the server closes first */
		carry_tcp(false, true, TCP_FIN | TCP_ACK);
		carry_tcp(false, false, TCP_FIN | TCP_ACK);
		carry_tcp(false, true, TCP_ACK);
		break;
	case 1: /* the client closes first */
		carry_tcp(false, false, TCP_FIN | TCP_ACK);
		carry_tcp(false, true, TCP_FIN | TCP_ACK);
		carry_tcp(false, false, TCP_ACK);
		break;
	case 2: /* the client resets */
		carry_tcp(false, false, TCP_RST);
		break;
	case 3: /* the server resets, no FIN before */
		carry_tcp(false, true, TCP_RST);
		break;
	case 4: /* the server closes, only its FIN so far (FIN_WAIT) */
		carry_tcp(false, true, TCP_FIN | TCP_ACK);
		break;
	}
	expect(false, IPPROTO_TCP, FP_SET_CLOSE,
	       how >= 2 && how <= 3 ? 10 : 120);
	ck_assert_int_eq(judge_syn(false), expect_judge);
	if (expect_judge) {
		/* admit replaces the closed entries with the new flow's. */
		ck_assert_int_eq(admit_tcp(false), 1);
		ck_assert_uint_eq(learn(&l), 1);
		ck_assert_uint_eq(l.syn[0].reopened, 1);
		expect(false, IPPROTO_TCP, FP_SET_EST, 120);
		ck_assert_int_eq(judge_syn(false), 1);
		ck_assert_uint_eq(learn(&l), 0);
	}
}

START_TEST(judge_reopen)
{
	static const int expect_judge[] = { 1, 0, 1, 0, 0 };

	closed_then_syn(_i, expect_judge[_i]);
}
END_TEST

static Suite *carrier_suite(void)
{
	Suite *s = suite_create("carrier");
	TCase *tc = tcase_create("bpf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, tcp_life, 0, 2);
	tcase_add_test(tc, tcp_reset);
	tcase_add_test(tc, accounting);
	tcase_add_loop_test(tc, udp_flows, 0, 2);
	tcase_add_test(tc, not_carried);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, forget_and_flush);
	tcase_add_test(tc, full_map);
	tcase_add_test(tc, unprivileged_user);
	tcase_add_test(tc, judge_off);
	tcase_add_loop_test(tc, judge_budget, 0, 2);
	tcase_add_test(tc, judge_lease_revoke);
	tcase_add_test(tc, judge_not);
	tcase_add_test(tc, judge_retransmit);
	tcase_add_test(tc, judge_filtered);
	tcase_add_loop_test(tc, judge_reopen, 0, 5);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("check_carrier: skipped: loading BPF needs root "
		       "(CAP_BPF)\n");
		return 0;
	}
	return tu_run(carrier_suite());
}
