// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fastpathnl.c - the kernel fast path's elements, read and removed with
 * nf_tables netlink messages over libmnl; see fastpathnl.h.
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

#include "fastpathnl.h"

/* Newer than the headers of Debian 12 (Linux 6.1): the kernel's values. */
#define FP_MSG_DESTROYSETELEM 30 /* Linux 6.3 */
#define FP_MSG_GETSETELEM_RESET 33 /* Linux 6.5 */

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
	sprintf(name, "%s%d", fastpath_set_name(FP_SET_EST + idx % 3),
		idx < 3 ? 4 : 6);
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

struct nlmsghdr *fastpath_nl_put_msg(char *buf, uint16_t type, uint16_t flags,
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
	struct nlmsghdr *nlh = fastpath_nl_put_msg(
		nl->tx + len, (NFNL_SUBSYS_NFTABLES << 8) | type, flags,
		nl->seq++, 0);
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
	return fastpath_nl_put_msg(nl->tx, NFNL_MSG_BATCH_BEGIN, 0, nl->seq++,
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

	len += fastpath_nl_put_msg(nl->tx + len, NFNL_MSG_BATCH_END, 0,
				   nl->seq++, NFNL_SUBSYS_NFTABLES)
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

				nlh = fastpath_nl_put_msg(
					nl->tx + len,
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
