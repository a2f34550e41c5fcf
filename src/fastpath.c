// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fastpath.c - the kernel fast path's table: nft text run through
 * libnftables; see fastpath.h. Its elements are fastpathnl.c's.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "engine.h"
#include "fastpath.h"
#include "mark.h"

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

const char *fastpath_set_name(enum fastpath_set set)
{
	return set_names[set - FP_SET_EST];
}

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

/* The base chains after filter (priority 10) that send a packet whose
 * verdict carried admit_mark to the admit chain: both carriers'. */
static void put_admit_hooks(struct text *t, const struct fastpath_params *p)
{
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
	put_admit_hooks(t, p);
}

/*
 * The BPF carrier's chains: the same hooks and priorities, no sets. The
 * base chains start empty: carrier_rules_add() appends to fast_in and
 * fast_out the carry program's match, which jumps to carried, then the
 * judge program's, which jumps to judged, and to admit the admit
 * program's, after the rule that clears the admit mark. A SYN judged is
 * marked NEW (a stateful firewall's rules see it as the daemon's verdict
 * would have it), SEEN (past the queue) and with the admit bit (admit
 * makes its entries once the admin's filter has accepted it).
 */
static void put_chains_bpf(struct text *t, const struct fastpath_params *p)
{
	struct mark_layout l;

	if (mark_layout_init(&l, p->mark_mask) < 0)
		mark_layout_init(&l, MARK_MASK_DEFAULT);
	put(t,
	    "\tchain carried {\n"
	    "\t\tmeta mark set meta mark & 0x%08" PRIx32 " | 0x%08" PRIx32
	    " accept\n"
	    "\t}\n",
	    ~l.mask, mark_of(&l, CT_STATE_ESTABLISHED, false, true, 0));
	put(t,
	    "\tchain judged {\n"
	    "\t\tmeta mark set meta mark & 0x%08" PRIx32 " | 0x%08" PRIx32
	    " accept\n"
	    "\t}\n",
	    ~l.mask,
	    mark_of(&l, CT_STATE_NEW, false, false, 0) | p->admit_mark);
	for (int i = 0; i < 2; i++)
		put(t,
		    "\tchain fast_%s {\n"
		    "\t\ttype filter hook %s priority -160; policy accept;\n"
		    "\t}\n",
		    i ? "out" : "in", i ? "output" : "input");
	put(t,
	    "\tchain admit {\n"
	    "\t\tmeta mark set meta mark & 0x%08" PRIx32 "\n"
	    "\t}\n",
	    ~p->admit_mark);
	put_admit_hooks(t, p);
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
	if (fresh || p->carrier == FASTPATH_CARRIER_BPF)
		put(&t,
		    "add table inet %s\n"
		    "delete table inet %s\n",
		    p->table, p->table);
	put(&t, "table inet %s {\n", p->table);
	if (p->carrier == FASTPATH_CARRIER_BPF) {
		/* Always made afresh, with nothing to keep: the flows are
		 * in the carrier's map, which the daemon holds. */
		put_chains_bpf(&t, p);
		put(&t, "}\n");
		return t.need;
	}
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
