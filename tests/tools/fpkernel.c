// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fpkernel - the fast path's table and element operations against the
 * real kernel (tests/integ/29-fastpath-kernel.sh runs it in a namespace).
 *
 *   fpkernel test PEER4 PEER6 PORT    TAP lines: real TCP and UDP to an
 *                                     echo server at PEER (flowgen serve)
 *   fpkernel bench ROUNDS             the cost of query, forget, flush
 *                                     (synthetic elements)
 *   fpkernel probe                    how GETSETELEM answers several
 *                                     elements, one absent
 *
 * The table is fastpath_apply()'s; a test table of its own (inet
 * fpktest) sets the admit mark on pure SYNs (as the daemon's verdict
 * would) and counts the test's packets per direction before the fast
 * path sees them, the reference the sets' counters must match.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "fastpath.h"
#include "fastpathnl.h"

#define TABLE "nfqt_fpk"
#define ADMIT 0x00800000u

static int failed, passed;

static void ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		passed++;
	else
		failed++;
}

static struct fastpath_params params = {
	.table = TABLE,
	.admit_mark = ADMIT,
	.mark_mask = 0x3f000000,
	.max_elements = 4096,
	.udp = true,
	.counters = true,
	.timeout_open = 30,
	.timeout_established = 600,
	.timeout_closing = 120,
	.timeout_close = 10,
	.timeout_udp = 90,
};

/* Run nft commands; their output into out (may be NULL). */
static int nft(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int nft(char *out, size_t outlen, const char *fmt, ...)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char cmd[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, cmd);
	if (r && !out)
		fprintf(stderr, "# nft: %s: %s", cmd,
			nft_ctx_get_error_buffer(ctx));
	if (out)
		snprintf(out, outlen, "%s", nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return r;
}

/* Run a script of any length; 0 or the error (printed). */
static int nft_script(const char *script)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int r;

	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, script);
	if (r)
		fprintf(stderr, "# nft: %.200s\n",
			nft_ctx_get_error_buffer(ctx));
	nft_ctx_free(ctx);
	return r;
}

/* The test table: the admit mark on pure SYNs to the port, reference
 * counters of the test's packets by direction (named counters). */
static void test_table(int port)
{
	nft(NULL, 0,
	    "add table inet fpktest\ndelete table inet fpktest\n"
	    "table inet fpktest {\n"
	    "\tcounter tcp_out {\n\t}\n"
	    "\tcounter tcp_in {\n\t}\n"
	    "\tcounter udp_out {\n\t}\n"
	    "\tcounter udp_in {\n\t}\n"
	    "\tchain pre_out {\n"
	    "\t\ttype filter hook output priority -170;\n"
	    "\t\ttcp dport %d counter name tcp_out\n"
	    "\t\tudp dport %d counter name udp_out\n"
	    "\t}\n"
	    "\tchain pre_in {\n"
	    "\t\ttype filter hook input priority -170;\n"
	    "\t\ttcp sport %d counter name tcp_in\n"
	    "\t\tudp sport %d counter name udp_in\n"
	    "\t}\n"
	    "\tchain mark_out {\n"
	    "\t\ttype filter hook output priority -150;\n"
	    "\t\ttcp dport %d tcp flags & (syn | ack) == syn meta mark set "
	    "meta mark | 0x%x\n"
	    "\t}\n"
	    "}\n",
	    port, port, port, port, port, ADMIT);
}

/* A reference counter: packets and bytes, reset. */
static void ref(const char *name, uint64_t *pk, uint64_t *by)
{
	char out[1024], *p;

	*pk = *by = 0;
	nft(out, sizeof(out), "reset counter inet fpktest %s", name);
	p = strstr(out, "packets ");
	if (p)
		sscanf(p, "packets %" SCNu64 " bytes %" SCNu64, pk, by);
}

struct peer {
	int family;
	struct sockaddr_storage sa;
	socklen_t salen;
	const char *addr;
};

static void peer_init(struct peer *p, const char *addr, int port)
{
	memset(p, 0, sizeof(*p));
	p->addr = addr;
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s = (void *)&p->sa;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		p->salen = sizeof(*s);
		p->family = 6;
	} else {
		struct sockaddr_in *s = (void *)&p->sa;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		p->salen = sizeof(*s);
		p->family = 4;
	}
}

/* The tuple of connected socket fd (its original direction: us first). */
static void tuple_of(int fd, uint8_t proto, struct fastpath_tuple *t)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);

	memset(t, 0, sizeof(*t));
	getsockname(fd, (void *)&a, &la);
	getpeername(fd, (void *)&b, &lb);
	t->proto = proto;
	if (a.ss_family == AF_INET6) {
		struct sockaddr_in6 *x = (void *)&a, *y = (void *)&b;

		t->family = 6;
		memcpy(t->src, &x->sin6_addr, 16);
		memcpy(t->dst, &y->sin6_addr, 16);
		t->sport = ntohs(x->sin6_port);
		t->dport = ntohs(y->sin6_port);
	} else {
		struct sockaddr_in *x = (void *)&a, *y = (void *)&b;

		t->family = 4;
		t->src[0] = x->sin_addr.s_addr;
		t->dst[0] = y->sin_addr.s_addr;
		t->sport = ntohs(x->sin_port);
		t->dport = ntohs(y->sin_port);
	}
}

static int tcp_open(const struct peer *p)
{
	int fd = socket(p->family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const void *)&p->sa, p->salen) < 0) {
		perror("connect");
		close(fd);
		return -1;
	}
	return fd;
}

/* n round trips of a few bytes. */
static void echo(int fd, int n)
{
	char buf[64];

	for (int i = 0; i < n; i++) {
		if (write(fd, "hello fast path\n", 16) != 16 ||
		    read(fd, buf, sizeof(buf)) <= 0)
			perror("echo");
	}
}

static void settle(void)
{
	usleep(200 * 1000); /* delayed ACKs, the last packets */
}

static bool in(const struct fastpath_elem *e, int set)
{
	return e->set == set;
}

static void tcp_case(struct fastpath_nl *nl, const struct peer *p)
{
	struct fastpath_tuple t, t2;
	struct fastpath_flow f[2];
	uint64_t op, ob, ip, ib;
	int fd, fd2, r;
	int v = p->family;

	settle(); /* the last case's closing packets */
	ref("tcp_out", &op, &ob);
	ref("tcp_in", &ip, &ib);
	fd = tcp_open(p);
	if (fd < 0) {
		ok(false, "v%d: tcp connect to %s", v, p->addr);
		return;
	}
	tuple_of(fd, IPPROTO_TCP, &t);
	echo(fd, 10);
	settle();
	ref("tcp_out", &op, &ob);
	ref("tcp_in", &ip, &ib);
	ok(!fastpath_query(nl, &t, 1, false, f), "v%d tcp: query", v);
	ok(in(&f[0].dir[0], FP_SET_EST) && in(&f[0].dir[1], FP_SET_EST),
	   "v%d tcp: both directions in est (%d, %d)", v, f[0].dir[0].set,
	   f[0].dir[1].set);
	ok(f[0].dir[0].timeout_ms == params.timeout_open * 1000,
	   "v%d tcp: timeout as admitted, timeout_open (%" PRIu32 " ms)", v,
	   f[0].dir[0].timeout_ms);
	ok(f[0].dir[0].expires_ms > params.timeout_open * 1000 &&
		   f[0].dir[0].expires_ms <= params.timeout_established * 1000,
	   "v%d tcp: refreshed to timeout_established (expires in %" PRIu32
	   " ms)",
	   v, f[0].dir[0].expires_ms);
	/* The SYN that admitted the flow adds both elements: the reply's
	 * counter has it too. */
	ok(f[0].dir[0].packets == op && f[0].dir[0].bytes == ob,
	   "v%d tcp: original counter = packets sent (%" PRIu64 "/%" PRIu64
	   " against %" PRIu64 "/%" PRIu64 ")",
	   v, f[0].dir[0].packets, f[0].dir[0].bytes, op, ob);
	ok(f[0].dir[1].packets == ip + 1 && f[0].dir[1].bytes > ib,
	   "v%d tcp: reply counter = packets received + the SYN (%" PRIu64
	   "/%" PRIu64 " against %" PRIu64 "/%" PRIu64 " + 1)",
	   v, f[0].dir[1].packets, f[0].dir[1].bytes, ip, ib);
	ok(!fastpath_query(nl, &t, 1, true, f), "v%d tcp: query, reset", v);
	ok(!fastpath_query(nl, &t, 1, false, f) && f[0].dir[0].packets == 0 &&
		   f[0].dir[1].packets == 0 && f[0].dir[0].bytes == 0 &&
		   in(&f[0].dir[0], FP_SET_EST),
	   "v%d tcp: reset zeroed the counters, kept the elements", v);
	echo(fd, 3);
	settle();
	ref("tcp_out", &op, &ob);
	ref("tcp_in", &ip, &ib);
	ok(!fastpath_query(nl, &t, 1, false, f) && f[0].dir[0].packets == op &&
		   f[0].dir[1].packets == ip,
	   "v%d tcp: counting again after the reset (%" PRIu64 "=%" PRIu64
	   ", %" PRIu64 "=%" PRIu64 ")",
	   v, f[0].dir[0].packets, op, f[0].dir[1].packets, ip);

	/* FIN: the kernel moves the flow to close, timeout_closing. */
	shutdown(fd, SHUT_WR);
	settle();
	r = fastpath_query(nl, &t, 1, false, f);
	ok(!r && in(&f[0].dir[0], FP_SET_CLOSE) &&
		   in(&f[0].dir[1], FP_SET_CLOSE) &&
		   f[0].dir[0].timeout_ms == params.timeout_closing * 1000,
	   "v%d tcp: FIN moved both directions to close (%d, %d, %" PRIu32
	   " ms)",
	   v, f[0].dir[0].set, f[0].dir[1].set, f[0].dir[0].timeout_ms);
	close(fd);

	/* RST: close, timeout_close. */
	fd2 = tcp_open(p);
	if (fd2 >= 0) {
		struct linger l = { 1, 0 };

		tuple_of(fd2, IPPROTO_TCP, &t2);
		echo(fd2, 1);
		setsockopt(fd2, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(fd2);
		settle();
		r = fastpath_query(nl, &t2, 1, false, f);
		ok(!r && in(&f[0].dir[0], FP_SET_CLOSE) &&
			   in(&f[0].dir[1], FP_SET_CLOSE) &&
			   f[0].dir[1].timeout_ms ==
				   params.timeout_close * 1000,
		   "v%d tcp: RST moved both directions to close (%d, %d, "
		   "%" PRIu32 " ms)",
		   v, f[0].dir[0].set, f[0].dir[1].set, f[0].dir[1].timeout_ms);
		ok(!fastpath_forget(nl, &t2, 1) &&
			   !fastpath_query(nl, &t2, 1, false, f) &&
			   in(&f[0].dir[0], FP_SET_NONE) &&
			   in(&f[0].dir[1], FP_SET_NONE),
		   "v%d tcp: forget removed a closed flow", v);
	}

	/* forget of a live flow; of an absent one. */
	fd2 = tcp_open(p);
	if (fd2 >= 0) {
		tuple_of(fd2, IPPROTO_TCP, &t2);
		echo(fd2, 1);
		ok(!fastpath_forget(nl, &t2, 1) &&
			   !fastpath_query(nl, &t2, 1, false, f) &&
			   in(&f[0].dir[0], FP_SET_NONE) &&
			   in(&f[0].dir[1], FP_SET_NONE),
		   "v%d tcp: forget removed an established flow", v);
		ok(!fastpath_forget(nl, &t2, 1),
		   "v%d tcp: forget of absent elements is no error", v);
		close(fd2);
	}
}

/* Direction dir of t as an nft element ("a . b . udp . 1 . 2"). */
static const char *elem_text(const struct fastpath_tuple *t, int dir, char *buf,
			     size_t len)
{
	int af = t->family == 6 ? AF_INET6 : AF_INET;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	inet_ntop(af, dir ? t->dst : t->src, a, sizeof(a));
	inet_ntop(af, dir ? t->src : t->dst, b, sizeof(b));
	snprintf(buf, len, "%s . %s . %s . %u . %u", a, b,
		 t->proto == IPPROTO_UDP ? "udp" : "tcp",
		 dir ? t->dport : t->sport, dir ? t->sport : t->dport);
	return buf;
}

static void udp_case(struct fastpath_nl *nl, const struct peer *p)
{
	int fd = socket(p->family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	uint32_t admit = ADMIT, zero = 0;
	struct fastpath_tuple t;
	struct fastpath_flow f[1];
	uint64_t op, ob, ip, ib;
	char buf[256], key[160], key2[160];
	int v = p->family, r;

	settle();
	connect(fd, (const void *)&p->sa, p->salen);
	tuple_of(fd, IPPROTO_UDP, &t);
	ref("udp_out", &op, &ob);
	ref("udp_in", &ip, &ib);
	/* The first datagram not admitted, the second admitted (the
	 * daemon's verdict would carry the mark), then 5 more. */
	for (int i = 0; i < 7; i++) {
		if (i == 1)
			setsockopt(fd, SOL_SOCKET, SO_MARK, &admit,
				   sizeof(admit));
		if (send(fd, "udp datagram", 12, 0) != 12 ||
		    recv(fd, buf, sizeof(buf), 0) <= 0)
			perror("udp echo");
		if (i == 1)
			setsockopt(fd, SOL_SOCKET, SO_MARK, &zero,
				   sizeof(zero));
	}
	settle();
	ref("udp_out", &op, &ob);
	ref("udp_in", &ip, &ib);
	r = fastpath_query(nl, &t, 1, false, f);
	ok(!r && in(&f[0].dir[0], FP_SET_UDP) && in(&f[0].dir[1], FP_SET_UDP),
	   "v%d udp: both directions in udp (%d, %d)", v, f[0].dir[0].set,
	   f[0].dir[1].set);
	ok(f[0].dir[0].timeout_ms == params.timeout_udp * 1000,
	   "v%d udp: timeout_udp (%" PRIu32 " ms)", v, f[0].dir[0].timeout_ms);
	/* Counted from the admitted datagram on (6 out); its add counts it
	 * in the reply's element too (5 answers + 1). */
	ok(f[0].dir[0].packets == op - 1 && f[0].dir[1].packets == ip - 1 + 1,
	   "v%d udp: counters (%" PRIu64 ", %" PRIu64 " against %" PRIu64
	   " - 1, %" PRIu64 ")",
	   v, f[0].dir[0].packets, f[0].dir[1].packets, op, ip);
	ok(!fastpath_query(nl, &t, 1, true, f) &&
		   !fastpath_query(nl, &t, 1, false, f) &&
		   f[0].dir[0].packets == 0 && f[0].dir[1].packets == 0,
	   "v%d udp: reset", v);
	/* One direction gone (it expired: one-way traffic): the other is
	 * found, whichever it is. */
	nft(NULL, 0, "delete element inet %s udp%d { %s }", TABLE, v,
	    elem_text(&t, 0, key, sizeof(key)));
	r = fastpath_query(nl, &t, 1, false, f);
	ok(!r && in(&f[0].dir[0], FP_SET_NONE) && in(&f[0].dir[1], FP_SET_UDP),
	   "v%d udp: the original's element gone, the reply's found (%d, "
	   "%d)",
	   v, f[0].dir[0].set, f[0].dir[1].set);
	nft(NULL, 0,
	    "add element inet %s udp%d { %s timeout 90s }\n"
	    "delete element inet %s udp%d { %s }",
	    TABLE, v, elem_text(&t, 0, key, sizeof(key)), TABLE, v,
	    elem_text(&t, 1, key2, sizeof(key2)));
	r = fastpath_query(nl, &t, 1, false, f);
	ok(!r && in(&f[0].dir[0], FP_SET_UDP) && in(&f[0].dir[1], FP_SET_NONE),
	   "v%d udp: the reply's element gone, the original's found (%d, "
	   "%d)",
	   v, f[0].dir[0].set, f[0].dir[1].set);
	ok(!fastpath_forget(nl, &t, 1) &&
		   !fastpath_query(nl, &t, 1, false, f) &&
		   in(&f[0].dir[0], FP_SET_NONE) &&
		   in(&f[0].dir[1], FP_SET_NONE),
	   "v%d udp: forget", v);
	close(fd);
}

/* Open n TCP flows (fds into fd[], tuples into t[]). */
static int open_many(const struct peer *p, int n, int *fd,
		     struct fastpath_tuple *t)
{
	for (int i = 0; i < n; i++) {
		fd[i] = tcp_open(p);
		if (fd[i] < 0)
			return -1;
		tuple_of(fd[i], IPPROTO_TCP, &t[i]);
	}
	return 0;
}

static void close_many(int n, int *fd)
{
	for (int i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
}

static int count_in(const struct fastpath_flow *f, int n, int set)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += (f[i].dir[0].set == set) + (f[i].dir[1].set == set);
	return c;
}

static void table_case(struct fastpath_nl *nl, const struct peer *p4,
		       const struct peer *p6)
{
	struct fastpath_tuple t[FASTPATH_BATCH_MAX];
	struct fastpath_flow f[FASTPATH_BATCH_MAX];
	int fd[FASTPATH_BATCH_MAX];
	char err[512];
	int n = FASTPATH_BATCH_MAX;

	/* Half v4, half v6, in one query. */
	if (open_many(p4, n / 2, fd, t) < 0 ||
	    open_many(p6, n / 2, fd + n / 2, t + n / 2) < 0) {
		ok(false, "open %d flows", n);
		return;
	}
	settle();
	ok(!fastpath_query(nl, t, (unsigned)n, false, f) &&
		   count_in(f, n, FP_SET_EST) == 2 * n,
	   "query of %d flows (v4 and v6): all in est (%d elements)", n,
	   count_in(f, n, FP_SET_EST));
	ok(!fastpath_apply(&params, true, err, sizeof(err)),
	   "apply(keep = true): %s", err);
	ok(!fastpath_query(nl, t, (unsigned)n, false, f) &&
		   count_in(f, n, FP_SET_EST) == 2 * n,
	   "apply(keep = true) kept the elements (%d)",
	   count_in(f, n, FP_SET_EST));
	ok(!fastpath_forget(nl, t, 8) &&
		   !fastpath_query(nl, t, (unsigned)n, false, f) &&
		   count_in(f, n, FP_SET_EST) == 2 * (n - 8),
	   "forget of 8 flows, the others stay (%d)",
	   count_in(f, n, FP_SET_EST));
	ok(!fastpath_flush(nl) &&
		   !fastpath_query(nl, t, (unsigned)n, false, f) &&
		   count_in(f, n, FP_SET_NONE) == 2 * n,
	   "flush emptied the sets (%d absent)", count_in(f, n, FP_SET_NONE));
	close_many(n, fd);
	settle();

	if (open_many(p4, 4, fd, t) == 0) {
		ok(!fastpath_apply(&params, false, err, sizeof(err)) &&
			   !fastpath_query(nl, t, 4, false, f) &&
			   count_in(f, 4, FP_SET_NONE) == 8,
		   "apply(keep = false) starts empty");
		close_many(4, fd);
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* n synthetic TCP flows of family f (no packets needed: the kernel
 * holds elements, whoever added them). */
static void synth(struct fastpath_tuple *t, int n, int f)
{
	for (int i = 0; i < n; i++) {
		t[i] = (struct fastpath_tuple){ .family = (uint8_t)f,
						.proto = IPPROTO_TCP,
						.sport = (uint16_t)(1024 + i),
						.dport = 80 };
		if (f == 4) {
			t[i].src[0] = htonl(0x0a090000u + (uint32_t)i);
			t[i].dst[0] = htonl(0x0a080001u);
		} else {
			t[i].src[0] = htonl(0xfd000009u);
			t[i].src[3] = htonl((uint32_t)i + 1);
			t[i].dst[0] = htonl(0xfd000008u);
			t[i].dst[3] = htonl(1);
		}
	}
}

/* Add both directions of flows [first, first + n) of t to set. */
static void add_elems(const struct fastpath_tuple *t, int first, int n,
		      const char *set)
{
	size_t cap = 128 + (size_t)n * 2 * 128, len;
	char *cmd = malloc(cap), k[160];

	len = (size_t)snprintf(cmd, cap, "add element inet %s %s { ", TABLE,
			       set);
	for (int i = first; i < first + n; i++)
		for (int dir = 0; dir < 2; dir++)
			len += (size_t)snprintf(
				cmd + len, cap - len, "%s%s timeout 600s",
				i > first || dir ? ", " : "",
				elem_text(&t[i], dir, k, sizeof(k)));
	snprintf(cmd + len, cap - len, " }");
	if (nft_script(cmd))
		fprintf(stderr, "add elements failed\n");
	free(cmd);
}

/* The mean of rounds calls of what, in microseconds. */
#define TIME(rounds, what)                            \
	({                                            \
		double t0_ = now_us();                \
		for (int r_ = 0; r_ < (rounds); r_++) \
			if ((what) < 0)               \
				perror(#what);        \
		(now_us() - t0_) / (rounds);          \
	})

static int bench(int rounds)
{
	static struct fastpath_tuple t[4096];
	struct fastpath_flow f[FASTPATH_BATCH_MAX];
	struct fastpath_nl *nl;
	char err[512];
	int n = FASTPATH_BATCH_MAX;

	if (fastpath_apply(&params, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	nl = fastpath_nl_open(TABLE);
	if (!nl)
		return 1;
	for (int fam = 4; fam <= 6; fam += 2) {
		synth(t, n, fam);
		add_elems(t, 0, n, fam == 4 ? "est4" : "est6");
		for (int k = 1; k <= n; k *= 8) {
			printf("v%d query of %2d flows, alive: %7.1f us, "
			       "reset: %7.1f us\n",
			       fam, k,
			       TIME(rounds, fastpath_query(nl, t, (unsigned)k,
							   false, f)),
			       TIME(rounds, fastpath_query(nl, t, (unsigned)k,
							   true, f)));
		}
		/* forget of present elements: added again between rounds,
		 * untimed. */
		for (int k = 1; k <= n; k *= 64) {
			double sum = 0;

			for (int r = 0; r < 20; r++) {
				add_elems(t, 0, k, fam == 4 ? "est4" : "est6");
				sum += TIME(1, fastpath_forget(nl, t,
							       (unsigned)k));
			}
			printf("v%d forget of %2d flows, present: %7.1f us\n",
			       fam, k, sum / 20);
		}
		for (int k = 1; k <= n; k *= 64)
			printf("v%d query of %2d flows, absent: %7.1f us, "
			       "forget: %7.1f us\n",
			       fam, k,
			       TIME(rounds, fastpath_query(nl, t, (unsigned)k,
							   false, f)),
			       TIME(rounds,
				    fastpath_forget(nl, t, (unsigned)k)));
	}
	/* flush of sets holding many elements. */
	synth(t, 2048, 4);
	for (int size = 0; size <= 2048; size = size ? size * 4 : 32) {
		for (int i = 0; i < size; i += 512)
			add_elems(t, i, size - i < 512 ? size - i : 512,
				  "est4");
		printf("flush of sets holding %4d elements: %7.1f us\n",
		       2 * size, TIME(1, fastpath_flush(nl)));
	}
	fastpath_nl_close(nl);
	fastpath_remove(TABLE, err, sizeof(err));
	return 0;
}

/* How the kernel answers one GETSETELEM with three elements, the second
 * absent: printed, for the record. */
static int probe(void)
{
	struct fastpath_nl *nl;
	struct mnl_socket *s;
	char buf[8192], err[512];
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	struct nlattr *list;
	int n;

	if (fastpath_apply(&params, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	nft(NULL, 0,
	    "add element inet %s est4 { 1.1.1.1 . 2.2.2.2 . tcp . 1 . 2 "
	    "timeout 60s, 3.3.3.3 . 4.4.4.4 . tcp . 3 . 4 timeout 60s }",
	    TABLE);
	s = mnl_socket_open(NETLINK_NETFILTER);
	mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = NFPROTO_INET;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "est4");
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (int i = 0; i < 3; i++) {
		static const uint8_t a[3] = { 1, 9, 3 };
		uint8_t key[20] = { a[i],     a[i],	a[i],
				    a[i],     a[i] + 1, a[i] + 1,
				    a[i] + 1, a[i] + 1, IPPROTO_TCP,
				    0,	      0,	0,
				    0,	      a[i],	0,
				    0,	      0,	(uint8_t)(a[i] + 1) };
		struct nlattr *e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		struct nlattr *k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

		mnl_attr_put(nlh, NFTA_DATA_VALUE, sizeof(key), key);
		mnl_attr_nest_end(nlh, k);
		mnl_attr_nest_end(nlh, e);
	}
	mnl_attr_nest_end(nlh, list);
	mnl_socket_sendto(s, nlh, nlh->nlmsg_len);
	printf("GETSETELEM of 3 elements, the 2nd absent, with NLM_F_ACK:\n");
	while ((n = (int)recv(mnl_socket_get_fd(s), buf, sizeof(buf),
			      MSG_DONTWAIT)) > 0) {
		for (nlh = (void *)buf; mnl_nlmsg_ok(nlh, n);
		     nlh = mnl_nlmsg_next(nlh, &n)) {
			if (nlh->nlmsg_type == NLMSG_ERROR)
				printf("  error %d\n",
				       ((struct nlmsgerr *)
						mnl_nlmsg_get_payload(nlh))
					       ->error);
			else
				printf("  message type 0x%x, %u bytes\n",
				       nlh->nlmsg_type, nlh->nlmsg_len);
		}
	}
	mnl_socket_close(s);
	nl = fastpath_nl_open(TABLE);
	fastpath_nl_close(nl);
	fastpath_remove(TABLE, err, sizeof(err));
	return 0;
}

int main(int argc, char **argv)
{
	struct peer p4, p6;
	struct fastpath_nl *nl;
	char err[512], out[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "probe"))
		return probe();
	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(atoi(argv[2]));
	if (argc != 5 || strcmp(argv[1], "test")) {
		fprintf(stderr, "usage: fpkernel test PEER4 PEER6 PORT | "
				"bench ROUNDS | probe\n");
		return 2;
	}
	peer_init(&p4, argv[2], atoi(argv[4]));
	peer_init(&p6, argv[3], atoi(argv[4]));

	ok(!fastpath_apply(&params, false, err, sizeof(err)), "apply: %s", err);
	test_table(atoi(argv[4]));
	nl = fastpath_nl_open(TABLE);
	ok(nl != NULL, "fastpath_nl_open");
	if (!nl)
		return 1;
	tcp_case(nl, &p4);
	tcp_case(nl, &p6);
	udp_case(nl, &p4);
	udp_case(nl, &p6);
	table_case(nl, &p4, &p6);

	/* keep = true with new timeouts: the rules change at once, the
	 * elements stay; and without the table it makes one. */
	{
		struct fastpath_params q = params;
		char lst[65536];

		q.timeout_udp = 77;
		ok(!fastpath_apply(&q, true, err, sizeof(err)) &&
			   !nft(lst, sizeof(lst),
				"list chain inet %s fast4_udp", TABLE) &&
			   strstr(lst, "timeout 1m17s"),
		   "apply(keep = true) with a new timeout_udp: in the rules");
		fastpath_remove(TABLE, err, sizeof(err));
		ok(!fastpath_apply(&q, true, err, sizeof(err)) &&
			   !nft(lst, sizeof(lst), "list set inet %s est6",
				TABLE),
		   "apply(keep = true) without a table makes it: %s", err);
	}
	ok(!fastpath_remove(TABLE, err, sizeof(err)), "remove: %s", err);
	ok(nft(out, sizeof(out), "list table inet %s", TABLE) != 0,
	   "remove deleted the table");
	{
		struct fastpath_tuple t = { .family = 4, .proto = 6 };
		struct fastpath_flow f;

		int r, e;

		errno = 0;
		r = fastpath_query(nl, &t, 1, false, &f);
		e = errno;
		ok(r < 0 && e == ENOENT,
		   "query without the table: -1, errno ENOENT (%s)",
		   strerror(e));
		errno = 0;
		r = fastpath_forget(nl, &t, 1);
		e = errno;
		ok(r < 0 && e == ENOENT,
		   "forget without the table: -1, errno ENOENT (%s)",
		   strerror(e));
		errno = 0;
		r = fastpath_flush(nl);
		e = errno;
		ok(r < 0 && e == ENOENT,
		   "flush without the table: -1, errno ENOENT (%s)",
		   strerror(e));
	}
	ok(!fastpath_remove(TABLE, err, sizeof(err)),
	   "remove without a table: no error");
	fastpath_nl_close(nl);
	nft(NULL, 0, "delete table inet fpktest");
	printf("# fpkernel: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
