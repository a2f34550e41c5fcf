// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fastpath.c - the kernel fast path's table (nft text through libnftables)
 * and its elements (nf_tables netlink over libmnl); see fastpath.h.
 *
 * The kernel answers a GETSETELEM request element after element, one
 * message each, and stops at the first absent one with ENOENT (Linux
 * 6.18: the elements after it get no answer). So a query asks for both
 * directions of a flow in each set it may be in (TCP: est, close; UDP:
 * udp), original first: a live flow's two elements come back from one
 * request, and the count of answers before an ENOENT tells which was
 * absent; a second round asks for the reply's element alone where the
 * original's was absent (ended flows, one-way UDP). Without NLM_F_ACK a
 * request found whole has no ACK. Many requests go out in one sendmsg();
 * the kernel handles them within that call, so when it returns every
 * answer is queued, and recvmmsg() drains them in a few calls. Removals
 * are one batch (a transaction) with one DESTROYSETELEM message per set,
 * which ignores absent elements.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "engine.h"
#include "fastpath.h"
#include "mark.h"

/* Newer than the headers of Debian 12 (Linux 6.1): the kernel's values. */
#define FP_MSG_DESTROYSETELEM 30 /* Linux 6.3 */
#define FP_MSG_GETSETELEM_RESET 33 /* Linux 6.5 */

/* ---- The table: nft text ---- */

struct text {
	char *buf;
	size_t len, need;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	size_t room = t->need < t->len ? t->len - t->need : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? t->buf + t->need : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->need += (size_t)n;
}

static const char *const set_names[] = { "est", "close", "udp" };

/* A packet's own tuple and its reverse, per family (4, 6). */
static const char *own_tuple(int f)
{
	return f == 4 ? "ip saddr . ip daddr . meta l4proto . th sport . "
			"th dport" :
			"ip6 saddr . ip6 daddr . meta l4proto . th sport . "
			"th dport";
}

static const char *rev_tuple(int f)
{
	return f == 4 ? "ip daddr . ip saddr . meta l4proto . th dport . "
			"th sport" :
			"ip6 daddr . ip6 saddr . meta l4proto . th dport . "
			"th sport";
}

static void put_sets(struct text *t, const struct fastpath_params *p)
{
	for (int f = 4; f <= 6; f += 2)
		for (int s = 0; s < 3; s++)
			put(t,
			    "\tset %s%d {\n"
			    "\t\ttype %s . %s . inet_proto . inet_service . "
			    "inet_service\n"
			    "\t\tsize %" PRIu32 "\n"
			    "\t\tflags timeout, dynamic\n"
			    "%s"
			    "\t}\n",
			    set_names[s], f, f == 4 ? "ipv4_addr" : "ipv6_addr",
			    f == 4 ? "ipv4_addr" : "ipv6_addr", p->max_elements,
			    /* Counters only for accounting: each element's is
			     * per CPU, allocated and freed with it (pcpu_alloc
			     * took 1.3 % of a web server's CPU under perf). */
			    p->counters ? "\t\tcounter\n" : "");
}

/*
 * Move both directions from est<f> to close<f> with timeout tmo: added
 * to close before they leave est, so that a packet of the flow on
 * another CPU meanwhile (the other end's FIN in a simultaneous close)
 * finds one or the other. Deletes first left it a moment in neither:
 * it went to the queue, where the daemon's copy (its state as of the
 * SYN) took it for invalid and the flow back from the kernel.
 */
static void put_close(struct text *t, int f, uint32_t tmo, const char *mark)
{
	put(t,
	    " add @close%d { %s timeout %" PRIu32 "s }"
	    " add @close%d { %s timeout %" PRIu32 "s }"
	    " delete @est%d { %s } delete @est%d { %s } %s accept\n",
	    f, own_tuple(f), tmo, f, rev_tuple(f), tmo, f, own_tuple(f), f,
	    rev_tuple(f), mark);
}

/* The chains (and, fresh, the sets) inside "table inet T { ... }". */
static void put_chains(struct text *t, const struct fastpath_params *p)
{
	struct mark_layout l;
	char mark[96], clear[64], miss[32];

	if (mark_layout_init(&l, p->mark_mask) < 0)
		mark_layout_init(&l, MARK_MASK_DEFAULT);
	snprintf(mark, sizeof(mark),
		 "meta mark set meta mark & 0x%08" PRIx32 " | 0x%08" PRIx32,
		 ~l.mask, mark_of(&l, CT_STATE_ESTABLISHED, false, true, 0));
	snprintf(clear, sizeof(clear), "meta mark set meta mark & 0x%08" PRIx32,
		 ~p->admit_mark);

	/* A packet of an admitted flow: marked ESTABLISHED, past the
	 * queue. On Linux 6.18 a lookup that finds an element counts the
	 * packet in its counter, and so do update and add (add of an
	 * element that is there neither refreshes nor replaces it): the
	 * tests are inverted lookups (a miss goes on, a hit falls through
	 * uncounted), so that each packet is counted once, by the one
	 * update or add it meets. */
	put(t, "\tchain fast {\n"
	       "\t\ttcp flags & (syn | ack) == syn return\n"
	       "\t\tmeta nfproto ipv4 goto fast4\n"
	       "\t\tmeta nfproto ipv6 goto fast6\n"
	       "\t}\n");
	for (int f = 4; f <= 6; f += 2) {
		put(t,
		    "\tchain fast%d {\n"
		    "\t\t%s != @est%d goto fast%d_close\n",
		    f, own_tuple(f), f, f);
		if (p->accounting) {
			/* The daemon reads the counters before they go. */
			put(t, "\t\ttcp flags & (fin | rst) != 0 accept\n");
		} else {
			put(t, "\t\ttcp flags & rst == rst");
			put_close(t, f, p->timeout_close, mark);
			put(t, "\t\ttcp flags & fin == fin");
			put_close(t, f, p->timeout_closing, mark);
		}
		put(t,
		    "\t\ttcp flags & syn == syn add @est%d { %s timeout "
		    "%" PRIu32 "s } %s accept\n"
		    "\t\tupdate @est%d { %s timeout %" PRIu32 "s } %s "
		    "accept\n"
		    "\t}\n",
		    f, own_tuple(f), p->timeout_open, mark, f, own_tuple(f),
		    p->timeout_established, mark);
		snprintf(miss, sizeof(miss),
			 p->udp ? "goto fast%d_udp" : "return", f);
		put(t,
		    "\tchain fast%d_close {\n"
		    "\t\t%s != @close%d %s\n"
		    "\t\tadd @close%d { %s timeout %" PRIu32 "s } %s "
		    "accept\n"
		    "\t}\n",
		    f, own_tuple(f), f, miss, f, own_tuple(f), p->timeout_close,
		    mark);
		if (p->udp)
			put(t,
			    "\tchain fast%d_udp {\n"
			    "\t\t%s != @udp%d return\n"
			    "\t\tupdate @udp%d { %s timeout %" PRIu32 "s } %s "
			    "accept\n"
			    "\t}\n",
			    f, own_tuple(f), f, f, own_tuple(f), p->timeout_udp,
			    mark);
	}
	for (int i = 0; i < 2; i++)
		put(t,
		    "\tchain fast_%s {\n"
		    "\t\ttype filter hook %s priority -160; policy accept;\n"
		    "\t\tmeta l4proto { tcp, udp } jump fast\n"
		    "\t}\n",
		    i ? "out" : "in", i ? "output" : "input");

	/* Admission: the daemon's verdict carried admit_mark and the
	 * admin's filter accepted the packet. Into est before out of close,
	 * as put_close(), the other way. */
	put(t,
	    "\tchain admit {\n"
	    "\t\t%s\n",
	    clear);
	for (int f = 4; f <= 6; f += 2) {
		put(t,
		    "\t\tmeta nfproto ipv%d meta l4proto tcp add @est%d { %s "
		    "timeout %" PRIu32 "s } add @est%d { %s timeout %" PRIu32
		    "s } delete @close%d { %s } delete @close%d { %s } "
		    "accept\n",
		    f, f, own_tuple(f), p->timeout_open, f, rev_tuple(f),
		    p->timeout_open, f, own_tuple(f), f, rev_tuple(f));
		if (p->udp)
			put(t,
			    "\t\tmeta nfproto ipv%d meta l4proto udp add "
			    "@udp%d { %s timeout %" PRIu32 "s } add @udp%d "
			    "{ %s timeout %" PRIu32 "s } accept\n",
			    f, f, own_tuple(f), p->timeout_udp, f, rev_tuple(f),
			    p->timeout_udp);
	}
	put(t, "\t}\n");
	for (int i = 0; i < 2; i++)
		put(t,
		    "\tchain admit_%s {\n"
		    "\t\ttype filter hook %s priority 10; policy accept;\n"
		    "\t\tmeta mark & 0x%08" PRIx32 " == 0x%08" PRIx32
		    " jump admit\n"
		    "\t}\n",
		    i ? "out" : "in", i ? "output" : "input", p->admit_mark,
		    p->admit_mark);
}

/* The whole script: fresh (the table deleted and made anew, empty), or
 * keeping the elements: the sets declared (made if missing; an existing
 * one stays as it is, size included: the kernel takes a declaration of a
 * set that is there as a no-op), every rule flushed, the chains declared
 * again, in one transaction. */
static size_t rules_text(const struct fastpath_params *p, bool fresh, char *buf,
			 size_t len)
{
	struct text t = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	put(&t, "# nfqtrackd's fast path (nfqtrackd --fastpath-rules)\n");
	/* "destroy table" needs nft 1.0.8; add then delete works anywhere. */
	if (fresh)
		put(&t,
		    "add table inet %s\n"
		    "delete table inet %s\n",
		    p->table, p->table);
	put(&t, "table inet %s {\n", p->table);
	put_sets(&t, p);
	if (!fresh)
		put(&t, "}\nflush table inet %s\ntable inet %s {\n", p->table,
		    p->table);
	put_chains(&t, p);
	put(&t, "}\n");
	return t.need;
}

size_t fastpath_rules(const struct fastpath_params *p, char *buf, size_t len)
{
	return rules_text(p, true, buf, len);
}

/*
 * Run script through libnftables; with has_table, say in it whether the
 * output (of a "list tables inet") has the line "table inet HAS_TABLE".
 * Returns 0, or -1 with its message.
 */
static int run_nft_list(const char *script, const char *has_table, bool *found,
			char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *msg;
	int r;

	if (!ctx) {
		snprintf(err, errlen, "libnftables: out of memory");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, script);
	if (errlen)
		err[0] = '\0';
	if (r) {
		size_t n;

		msg = nft_ctx_get_error_buffer(ctx);
		snprintf(err, errlen, "%s", msg && *msg ? msg : "nft failed");
		n = strlen(err);
		while (n && err[n - 1] == '\n')
			err[--n] = '\0';
	} else if (has_table) {
		const char *p = nft_ctx_get_output_buffer(ctx), *nl;
		char want[FASTPATH_TABLE_MAX + 16];
		int wlen = snprintf(want, sizeof(want), "table inet %s\n",
				    has_table);

		for (; p && *p; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			if (!strncmp(p, want, (size_t)wlen))
				*found = true;
		}
	}
	nft_ctx_free(ctx);
	return r ? -1 : 0;
}

/* Run script through libnftables. Returns 0, or -1 with its message. */
static int run_nft(const char *script, char *err, size_t errlen)
{
	return run_nft_list(script, NULL, NULL, err, errlen);
}

int fastpath_apply(const struct fastpath_params *p, bool keep_elements,
		   char *err, size_t errlen)
{
	size_t need = rules_text(p, !keep_elements, NULL, 0) + 1;
	char *buf = malloc(need);
	int r;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rules_text(p, !keep_elements, buf, need);
	r = run_nft(buf, err, errlen);
	free(buf);
	return r;
}

int fastpath_remove(const char *table, char *err, size_t errlen)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "add table inet %s\ndelete table inet %s\n",
		 table, table);
	return run_nft(buf, err, errlen);
}

int fastpath_remove_left(const char *table, bool *found, char *err,
			 size_t errlen)
{
	*found = false;
	if (run_nft_list("list tables inet\n", table, found, err, errlen) < 0)
		return -1;
	return *found ? fastpath_remove(table, err, errlen) : 0;
}

/* ---- The elements: nf_tables netlink ---- */

#define FP_SETS 6 /* est4, close4, udp4, est6, close6, udp6 */
#define FP_KEY_MAX 44 /* v6: 16 + 16 + 4 + 4 + 4 */
/* Requests in flight at once: their answers must fit the receive buffer
 * (each one an skb of about 1 KiB truesize). */
#define FP_CHUNK 64
#define FP_RXBUF 1024 /* one answer: an element, or an error */
#define FP_RXVEC 64 /* answers per recvmmsg() */
/* The largest send: a query chunk, or a removal batch of
 * FASTPATH_BATCH_MAX flows (two elements each in each of its sets). */
#define FP_REQ_MAX 256 /* one GETSETELEM request of two v6 elements */
#define FP_ELEM_MAX 72 /* one element in a DESTROYSETELEM list */
#define FP_TXBUF                                                           \
	(FP_CHUNK * FP_REQ_MAX > FP_SETS * (256 + 2 * FASTPATH_BATCH_MAX * \
							  FP_ELEM_MAX) ?   \
		 FP_CHUNK * FP_REQ_MAX :                                   \
		 FP_SETS * (256 + 2 * FASTPATH_BATCH_MAX * FP_ELEM_MAX))

struct fastpath_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq, batch_seq;
	char table[FASTPATH_TABLE_MAX];
	char tx[FP_TXBUF];
	char rx[FP_RXVEC][FP_RXBUF];
	struct iovec iov[FP_RXVEC];
	struct mmsghdr mm[FP_RXVEC];
};

struct fastpath_nl *fastpath_nl_open(const char *table)
{
	struct fastpath_nl *nl;
	int one = 1, size = 1 << 20;

	if (strlen(table) >= FASTPATH_TABLE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	strcpy(nl->table, table);
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int saved = errno;

		if (nl->sock)
			mnl_socket_close(nl->sock);
		free(nl);
		errno = saved;
		return NULL;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	/* Errors without the request echoed but with the culprit's offset;
	 * a buffer for a whole chunk of answers (FORCE needs CAP_NET_ADMIN,
	 * which we have). */
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUFFORCE,
		       &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF,
			   &size, sizeof(size));
	for (int i = 0; i < FP_RXVEC; i++) {
		nl->iov[i] = (struct iovec){ nl->rx[i], FP_RXBUF };
		nl->mm[i].msg_hdr = (struct msghdr){ .msg_iov = &nl->iov[i],
						     .msg_iovlen = 1 };
	}
	return nl;
}

void fastpath_nl_close(struct fastpath_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* The set index 0..5 of (family, set); set is enum fastpath_set. */
static int set_index(uint8_t family, int set)
{
	return (family == 6 ? 3 : 0) + set - FP_SET_EST;
}

static void set_name(int idx, char *name)
{
	sprintf(name, "%s%d", set_names[idx % 3], idx < 3 ? 4 : 6);
}

/* Flow t's key in direction dir into key; returns its length. */
static size_t make_key(const struct fastpath_tuple *t, int dir, uint8_t *key)
{
	size_t alen = t->family == 6 ? 16 : 4;
	uint16_t sport = htons(dir ? t->dport : t->sport);
	uint16_t dport = htons(dir ? t->sport : t->dport);
	uint8_t *k = key;

	memset(key, 0, FP_KEY_MAX);
	memcpy(k, dir ? t->dst : t->src, alen);
	k += alen;
	memcpy(k, dir ? t->src : t->dst, alen);
	k += alen;
	k[0] = t->proto;
	memcpy(k + 4, &sport, 2);
	memcpy(k + 8, &dport, 2);
	return 2 * alen + 12;
}

static struct nlmsghdr *put_msg(char *buf, uint16_t type, uint16_t flags,
				uint32_t seq, uint16_t res_id)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = res_id ? AF_UNSPEC : NFPROTO_INET;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return nlh;
}

static void put_elem(struct nlmsghdr *nlh, const uint8_t *key, size_t len)
{
	struct nlattr *e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	struct nlattr *k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, key);
	mnl_attr_nest_end(nlh, k);
	mnl_attr_nest_end(nlh, e);
}

/* One answer of a query into an element: its attributes. */
static void parse_counter(const struct nlattr *expr, struct fastpath_elem *e)
{
	const struct nlattr *a, *data = NULL;
	bool counter = false;

	mnl_attr_for_each_nested(a, expr)
	{
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
			counter = !strcmp(mnl_attr_get_str(a), "counter");
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!counter || !data)
		return;
	mnl_attr_for_each_nested(a, data)
	{
		if (mnl_attr_get_payload_len(a) < 8)
			continue;
		if (mnl_attr_get_type(a) == NFTA_COUNTER_PACKETS)
			e->packets = be64toh(mnl_attr_get_u64(a));
		else if (mnl_attr_get_type(a) == NFTA_COUNTER_BYTES)
			e->bytes = be64toh(mnl_attr_get_u64(a));
	}
}

/* A u64 of milliseconds, at most UINT32_MAX (49 days: timeouts may be up
 * to 365). */
static uint32_t ms_of(const struct nlattr *a)
{
	uint64_t v;

	if (mnl_attr_get_payload_len(a) < 8)
		return 0;
	v = be64toh(mnl_attr_get_u64(a));
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void parse_elem(const struct nlattr *elem, struct fastpath_elem *e)
{
	const struct nlattr *a, *x;

	mnl_attr_for_each_nested(a, elem)
	{
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_TIMEOUT:
			e->timeout_ms = ms_of(a);
			break;
		case NFTA_SET_ELEM_EXPIRATION:
			e->expires_ms = ms_of(a);
			break;
		case NFTA_SET_ELEM_EXPR:
			parse_counter(a, e);
			break;
		case NFTA_SET_ELEM_EXPRESSIONS:
			mnl_attr_for_each_nested(x, a) parse_counter(x, e);
			break;
		}
	}
}

/* The element in a NEWSETELEM answer into e. */
static void parse_answer(const struct nlmsghdr *nlh, struct fastpath_elem *e)
{
	const struct nlattr *a, *el;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a)
		{
			if (mnl_attr_get_type(el) == NFTA_LIST_ELEM) {
				parse_elem(el, e);
				return;
			}
		}
	}
}

/*
 * Send len bytes of requests, numbered from seq0, and take every answer:
 * the kernel handled them within sendmsg(), so they are all queued when
 * it returns and the socket is read until it is empty. For each answer
 * to one of the nreq requests, got(arg, index, nlh, error) with error 0
 * and the message, or the negative errno of an error message (an ACK is
 * an error 0). Returns the number of answers, or -1 with errno (the
 * socket's: ENOBUFS when answers were lost).
 */
typedef void (*answer_fn)(void *arg, uint32_t idx, const struct nlmsghdr *nlh,
			  int error);

static int exchange(struct fastpath_nl *nl, size_t len, uint32_t seq0,
		    uint32_t nreq, answer_fn got, void *arg)
{
	int fd = mnl_socket_get_fd(nl->sock), have = 0, n;

	if (mnl_socket_sendto(nl->sock, nl->tx, len) < 0)
		return -1;
	do {
		n = recvmmsg(fd, nl->mm, FP_RXVEC, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? have : -1;
		for (int i = 0; i < n; i++) {
			const struct nlmsghdr *h = (void *)nl->rx[i];
			int left = (int)nl->mm[i].msg_len;

			for (; mnl_nlmsg_ok(h, left);
			     h = mnl_nlmsg_next(h, &left)) {
				uint32_t idx = h->nlmsg_seq - seq0;
				int error = 0;

				if (idx >= nreq || h->nlmsg_type == NLMSG_DONE)
					continue;
				if (h->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e =
						mnl_nlmsg_get_payload(h);

					error = e->error;
				}
				got(arg, idx, h, error);
				have++;
			}
		}
		/* Fewer than asked for: the queue is empty. */
	} while (n == FP_RXVEC);
	return have;
}

/* One request of a query: a flow's elements in one set, from direction
 * dir0 (0: both, original first; 1: the reply's alone). The kernel
 * answers element after element and stops at the first absent one with
 * ENOENT: the answers' count tells which was which. */
struct qreq {
	uint8_t flow, set, dir0, got;
};

struct query {
	const struct fastpath_tuple *t;
	struct fastpath_flow *out;
	struct qreq *req; /* the chunk's */
	uint8_t unknown[FASTPATH_BATCH_MAX]; /* sets (bits) where the
					      * reply's element is unknown */
	size_t tlen; /* the table attribute's length in a request */
	int error; /* an error other than an absent element */
};

/* Is error message nlh (ENOENT) about the element, not about the table
 * or the set? Those are the request's first two attributes: the
 * extended ACK's offset of the culprit tells. Without one, the element. */
static bool elem_absent(const struct nlmsghdr *nlh, size_t tlen)
{
	size_t head = sizeof(struct nlmsgerr), base;
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + head)
		return true;
	base = MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg);
	mnl_attr_for_each(a, nlh, head)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS &&
		    mnl_attr_get_payload_len(a) >= 4) {
			uint32_t off = mnl_attr_get_u32(a);

			return off != base && off != base + tlen;
		}
	}
	return true;
}

/* The k-th set (0, 1) a flow's element may be in: est and close for TCP,
 * udp alone for UDP. */
static int query_set(const struct fastpath_tuple *t, unsigned int k)
{
	if (t->proto == IPPROTO_UDP)
		return k ? FP_SET_NONE : FP_SET_UDP;
	return k ? FP_SET_CLOSE : FP_SET_EST;
}

static void query_answer(void *arg, uint32_t idx, const struct nlmsghdr *nlh,
			 int error)
{
	struct query *q = arg;
	struct qreq *r = &q->req[idx];
	unsigned int dir = r->dir0 + r->got;
	struct fastpath_elem *e;

	if (error) {
		/* ENOENT: the element is not there, or the table or set
		 * (the extended ACK points at their attribute). */
		if (error != -ENOENT || !elem_absent(nlh, q->tlen)) {
			if (!q->error)
				q->error = -error;
		} else if (dir == 0) {
			/* The original's is absent: the reply's was not
			 * looked at. */
			q->unknown[r->flow] |= (uint8_t)(1u << r->set);
		}
		return;
	}
	if (dir > 1)
		return;
	r->got++;
	e = &q->out[r->flow].dir[dir];
	memset(e, 0, sizeof(*e));
	e->set = r->set;
	parse_answer(nlh, e);
}

/* Append to nl->tx at len one element message of type for set idx:
 * the elements of t from direction dir0 on, or with t NULL none (the
 * whole set). Returns its length. */
static size_t put_set_msg(struct fastpath_nl *nl, size_t len, uint16_t type,
			  uint16_t flags, int idx,
			  const struct fastpath_tuple *t, int dir0)
{
	struct nlmsghdr *nlh = put_msg(nl->tx + len,
				       (NFNL_SUBSYS_NFTABLES << 8) | type,
				       flags, nl->seq++, 0);
	char name[8];

	set_name(idx, name);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, nl->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
	if (t) {
		struct nlattr *list =
			mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);

		for (int dir = dir0; dir < 2; dir++) {
			uint8_t key[FP_KEY_MAX];

			put_elem(nlh, key, make_key(t, dir, key));
		}
		mnl_attr_nest_end(nlh, list);
	}
	return nlh->nlmsg_len;
}

/* Ask for the nreq requests of req, FP_CHUNK at a time. 0 or -1, errno. */
static int query_round(struct fastpath_nl *nl, struct query *q,
		       struct qreq *req, unsigned int nreq, uint16_t type)
{
	for (unsigned int first = 0; first < nreq; first += FP_CHUNK) {
		unsigned int n = nreq - first < FP_CHUNK ? nreq - first :
							   FP_CHUNK;
		uint32_t seq0 = nl->seq;
		size_t len = 0;

		for (unsigned int i = 0; i < n; i++) {
			const struct qreq *r = &req[first + i];
			const struct fastpath_tuple *f = &q->t[r->flow];

			len += put_set_msg(nl, len, type, 0,
					   set_index(f->family, r->set), f,
					   r->dir0);
		}
		q->req = req + first;
		if (exchange(nl, len, seq0, n, query_answer, q) < 0)
			return -1;
	}
	return 0;
}

int fastpath_query(struct fastpath_nl *nl, const struct fastpath_tuple *t,
		   unsigned int n, bool reset, struct fastpath_flow *out)
{
	struct fastpath_flow res[FASTPATH_BATCH_MAX];
	struct qreq req[2 * FASTPATH_BATCH_MAX];
	uint16_t type = reset ? FP_MSG_GETSETELEM_RESET : NFT_MSG_GETSETELEM;
	struct query q = { .t = t, .out = res };
	unsigned int nreq = 0;

	if (n > FASTPATH_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	q.tlen = MNL_ALIGN(MNL_ATTR_HDRLEN + strlen(nl->table) + 1);
	memset(res, 0, n * sizeof(*res));
	/* Both directions in each set a flow may be in: a live flow's two
	 * elements come back from one request. */
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int k = 0; k < 2; k++)
			if (query_set(&t[i], k) != FP_SET_NONE)
				req[nreq++] = (struct qreq){
					(uint8_t)i,
					(uint8_t)query_set(&t[i], k), 0, 0
				};
	if (query_round(nl, &q, req, nreq, type) < 0)
		return -1;
	/* The reply's element where the original's was absent and the
	 * reply's found nowhere yet: a flow the kernel ended, or a UDP
	 * flow one of whose directions expired. */
	nreq = 0;
	for (unsigned int i = 0; i < n && !q.error; i++)
		for (int set = FP_SET_EST; set <= FP_SET_UDP; set++)
			if ((q.unknown[i] & (1u << set)) &&
			    res[i].dir[1].set == FP_SET_NONE)
				req[nreq++] = (struct qreq){ (uint8_t)i,
							     (uint8_t)set, 1,
							     0 };
	if (nreq && query_round(nl, &q, req, nreq, type) < 0)
		return -1;
	if (q.error) {
		errno = q.error;
		return -1;
	}
	memcpy(out, res, n * sizeof(*out));
	return 0;
}

/* A batch: BEGIN at the start of nl->tx (returns its length), element
 * messages asking for an ACK each, END; batch_end() sends it and takes
 * the nmsg ACKs, or the errors (of BEGIN too: a batch refused whole).
 * Returns 0 or -1, errno. */
static size_t batch_begin(struct fastpath_nl *nl)
{
	nl->batch_seq = nl->seq;
	return put_msg(nl->tx, NFNL_MSG_BATCH_BEGIN, 0, nl->seq++,
		       NFNL_SUBSYS_NFTABLES)
		->nlmsg_len;
}

struct batch {
	int fail; /* the first error */
	uint32_t acks;
};

static void batch_answer(void *arg, uint32_t idx, const struct nlmsghdr *nlh,
			 int error)
{
	struct batch *b = arg;

	(void)idx;
	(void)nlh;
	if (!error)
		b->acks++;
	else if (!b->fail)
		b->fail = -error;
}

static int batch_end(struct fastpath_nl *nl, size_t len, uint32_t nmsg)
{
	struct batch b = { 0, 0 };

	len += put_msg(nl->tx + len, NFNL_MSG_BATCH_END, 0, nl->seq++,
		       NFNL_SUBSYS_NFTABLES)
		       ->nlmsg_len;
	if (exchange(nl, len, nl->batch_seq, nmsg + 2, batch_answer, &b) < 0)
		return -1;
	if (b.fail || b.acks != nmsg) {
		errno = b.fail ? b.fail : EIO;
		return -1;
	}
	return 0;
}

int fastpath_forget(struct fastpath_nl *nl, const struct fastpath_tuple *t,
		    unsigned int n)
{
	size_t len;
	uint32_t nmsg = 0;

	if (n > FASTPATH_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!n)
		return 0;
	len = batch_begin(nl);
	/* One message per set: every element of the flows that may be in
	 * it, both directions. */
	for (int idx = 0; idx < FP_SETS; idx++) {
		uint8_t family = idx < 3 ? 4 : 6;
		int set = FP_SET_EST + idx % 3;
		struct nlmsghdr *nlh = NULL;
		struct nlattr *list = NULL;

		for (unsigned int i = 0; i < n; i++) {
			uint8_t key[FP_KEY_MAX];

			if (t[i].family != family ||
			    (set == FP_SET_UDP) != (t[i].proto == IPPROTO_UDP))
				continue;
			if (!nlh) {
				char name[8];

				nlh = put_msg(nl->tx + len,
					      (NFNL_SUBSYS_NFTABLES << 8) |
						      FP_MSG_DESTROYSETELEM,
					      NLM_F_ACK, nl->seq++, 0);
				set_name(idx, name);
				mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE,
						  nl->table);
				mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET,
						  name);
				list = mnl_attr_nest_start(
					nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
				nmsg++;
			}
			for (int dir = 0; dir < 2; dir++)
				put_elem(nlh, key, make_key(&t[i], dir, key));
		}
		if (nlh) {
			mnl_attr_nest_end(nlh, list);
			len += nlh->nlmsg_len;
		}
	}
	return batch_end(nl, len, nmsg);
}

int fastpath_flush(struct fastpath_nl *nl)
{
	size_t len = batch_begin(nl);

	/* DELSETELEM without elements empties the set. */
	for (int idx = 0; idx < FP_SETS; idx++)
		len += put_set_msg(nl, len, NFT_MSG_DELSETELEM, NLM_F_ACK, idx,
				   NULL, 0);
	return batch_end(nl, len, FP_SETS);
}
