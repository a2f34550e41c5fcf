// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * carrier.c - the BPF carrier's user-space half: load the programs and
 * maps of carrier.bpf.c (linked in by carrier_obj.S), and read and
 * remove the flows' entries for the engine. See carrier.h.
 */
#include "carrier.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "carrier_map.h"

/* The object carrier.bpf.c compiles to, from carrier_obj.S. */
extern const char carrier_bpf_obj[];
extern const char carrier_bpf_obj_end[];

static const char *const prog_names[] = { "carry", "admit", "judge" };

#define PROGS (sizeof(prog_names) / sizeof(prog_names[0]))

/* The learned ring's size (carrier.bpf.c sets it) and what one record
 * takes of it: the record and the ring's 8-byte header, to 8 bytes. */
#define RING_BYTES (1u << 20)
#define RECORD_BYTES ((sizeof(struct carrier_syn) + 8 + 7) & ~7u)

/* The units of the budget whose fate is being told (a record, or none
 * by the turn after they were taken): more than any grant can hold out
 * (carrier_grant() keeps granted within it). */
#define WINDOW 16384u

struct carrier {
	struct bpf_object *obj; /* owns the descriptors below */
	int prog[PROGS]; /* enum carrier_prog */
	int flows, conf, seen, budget; /* the maps */
	struct ring_buffer *ring; /* the learned ring, mapped */
	struct carrier_conf conf_v; /* as last written */
	uint64_t granted; /* CARRIER_BUDGET_GRANTED, as last written */
	bool revoked; /* granted lowered by carrier_revoke(), maybe < taken */
	uint64_t learned; /* records handed over */
	uint64_t returned; /* units taken that no record will come for */
	/* Units below base are settled: learned or returned. Those in
	 * [base, mark) were taken before the last carrier_settle(); bit
	 * (unit % WINDOW) of recorded says a record came for one. */
	uint64_t base, mark;
	uint64_t recorded[WINDOW / 64];
	carrier_learn_fn *learn_fn; /* carrier_learn()'s, for on_record() */
	void *learn_arg;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The units settled: learned, or returned. */
static uint64_t settled(const struct carrier *c)
{
	return c->learned + c->returned;
}

/* libbpf's callback for one record of the ring: its unit recorded (one
 * carrier_settle() counted returned already, its SYN held longer than a
 * turn between judge and admit, is taken off that count). */
static int on_record(void *ctx, void *data, size_t size)
{
	const struct carrier_syn *syn = data;
	struct carrier *c = ctx;

	if (size < sizeof(*syn))
		return 0;
	if (syn->unit < c->base) {
		if (c->returned)
			c->returned--;
	} else if (syn->unit - c->base < WINDOW) {
		c->recorded[syn->unit % WINDOW / 64] |= 1ull
							<< (syn->unit % 64);
	}
	c->learned++;
	c->learn_fn(c->learn_arg, syn);
	return 0;
}

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* libbpf's own messages (a verifier's log among them) would go to
 * stderr, which the daemon does not read: the calls' errors say what
 * failed. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

struct carrier *carrier_load(uint32_t max_entries, char *err, size_t errlen)
{
	struct bpf_map *flows, *conf, *seen, *budget, *learned;
	struct carrier *c;
	int e;

	libbpf_set_print(quiet);
	c = calloc(1, sizeof(*c));
	if (!c) {
		say(err, errlen, "out of memory");
		return NULL;
	}
	c->obj = bpf_object__open_mem(
		carrier_bpf_obj,
		(size_t)(carrier_bpf_obj_end - carrier_bpf_obj), NULL);
	if (!c->obj) {
		e = errno;
		say(err, errlen, "cannot open the BPF object: %s", strerror(e));
		free(c);
		errno = e;
		return NULL;
	}
	flows = bpf_object__find_map_by_name(c->obj, "flows");
	conf = bpf_object__find_map_by_name(c->obj, "conf");
	seen = bpf_object__find_map_by_name(c->obj, "seen");
	budget = bpf_object__find_map_by_name(c->obj, "budget");
	learned = bpf_object__find_map_by_name(c->obj, "learned");
	if (!flows || !conf || !seen || !budget || !learned ||
	    bpf_map__max_entries(learned) != RING_BYTES ||
	    bpf_map__set_max_entries(flows, max_entries) ||
	    bpf_map__set_max_entries(seen, max_entries)) {
		e = EINVAL;
		say(err, errlen, "the BPF object has no usable maps");
		goto fail;
	}
	if (bpf_object__load(c->obj) < 0) {
		e = errno;
		say(err, errlen, "cannot load the BPF programs: %s%s",
		    strerror(e),
		    e == EPERM ? " (loading needs CAP_BPF: nfqtrackd must "
				 "start with it)" :
				 "");
		goto fail;
	}
	for (size_t i = 0; i < PROGS; i++)
		c->prog[i] = bpf_program__fd(bpf_object__find_program_by_name(
			c->obj, prog_names[i]));
	c->flows = bpf_map__fd(flows);
	c->conf = bpf_map__fd(conf);
	c->seen = bpf_map__fd(seen);
	c->budget = bpf_map__fd(budget);
	c->ring = ring_buffer__new(bpf_map__fd(learned), on_record, c, NULL);
	if (!c->ring) {
		e = errno;
		say(err, errlen, "cannot map the BPF ring: %s", strerror(e));
		goto fail;
	}
	return c;
fail:
	bpf_object__close(c->obj);
	free(c);
	errno = e;
	return NULL;
}

void carrier_close(struct carrier *c)
{
	if (!c)
		return;
	ring_buffer__free(c->ring);
	bpf_object__close(c->obj);
	free(c);
}

int carrier_prog_fd(const struct carrier *c, enum carrier_prog p)
{
	return c->prog[p];
}

/* The programs' configuration, v, written; kept as last written. One
 * bpf(2) call. */
static int write_conf(struct carrier *c, const struct carrier_conf *v)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(c->conf, &zero, v, BPF_ANY) < 0)
		return -1;
	c->conf_v = *v;
	return 0;
}

int carrier_configure(struct carrier *c, const struct fastpath_params *p,
		      bool on)
{
	const uint64_t s = 1000000000ull;
	struct carrier_conf v;

	memset(&v, 0, sizeof(v));
	v.timeout_ns[CARRIER_OPEN] = p->timeout_open * s;
	v.timeout_ns[CARRIER_EST] = p->timeout_established * s;
	v.timeout_ns[CARRIER_CLOSING] = p->timeout_closing * s;
	v.timeout_ns[CARRIER_CLOSE] = p->timeout_close * s;
	v.timeout_ns[CARRIER_UDP] = p->timeout_udp * s;
	v.flags = (on ? CARRIER_F_ON : 0) |
		  (p->accounting ? CARRIER_F_ACCOUNTING : 0) |
		  (p->udp ? CARRIER_F_UDP : 0) |
		  (c->conf_v.flags & CARRIER_F_JUDGE);
	return write_conf(c, &v);
}

int carrier_judge(struct carrier *c, bool on)
{
	struct carrier_conf v = c->conf_v;

	v.flags = (v.flags & ~CARRIER_F_JUDGE) | (on ? CARRIER_F_JUDGE : 0);
	return write_conf(c, &v);
}

uint32_t carrier_ring_room(void)
{
	return RING_BYTES / RECORD_BYTES;
}

int64_t carrier_grant(struct carrier *c, uint32_t n, uint32_t lease_ms)
{
	uint32_t gk = CARRIER_BUDGET_GRANTED, uk = CARRIER_BUDGET_UNTIL;
	uint64_t want, until;

	if (n > carrier_ring_room())
		n = carrier_ring_room();
	/* Every unit taken is a record written or, by the turn after,
	 * returned; taken never passes granted while granted only grows:
	 * granted - settled bounds both what the kernel may still admit
	 * and what the ring must hold. No unit is granted beyond the
	 * window of those carrier_settle() tells. */
	want = settled(c) + n;
	if (want > c->base + WINDOW)
		want = c->base + WINDOW;
	if (c->revoked) {
		/* Revoked below what was taken: granted stands for taken
		 * from here, as if never revoked. */
		int64_t out = carrier_unlearned(c);

		if (out < 0)
			return -1;
		if (settled(c) + (uint64_t)out > c->granted)
			c->granted = settled(c) + (uint64_t)out;
		c->revoked = false;
	}
	if (want > c->granted) {
		if (bpf_map_update_elem(c->budget, &gk, &want, BPF_ANY) < 0)
			return -1;
		c->granted = want;
	}
	until = monotonic_ns() + lease_ms * 1000000ull;
	if (bpf_map_update_elem(c->budget, &uk, &until, BPF_ANY) < 0)
		return -1;
	return (int64_t)(c->granted - settled(c));
}

int carrier_revoke(struct carrier *c)
{
	uint32_t gk = CARRIER_BUDGET_GRANTED, uk = CARRIER_BUDGET_UNTIL;
	uint64_t none = settled(c), ended = 0;

	if (bpf_map_update_elem(c->budget, &uk, &ended, BPF_ANY) < 0 ||
	    bpf_map_update_elem(c->budget, &gk, &none, BPF_ANY) < 0)
		return -1;
	c->granted = none;
	c->revoked = true;
	return 0;
}

int64_t carrier_unlearned(struct carrier *c)
{
	uint32_t tk = CARRIER_BUDGET_TAKEN;
	uint64_t taken;

	if (bpf_map_lookup_elem(c->budget, &tk, &taken) < 0)
		return -1;
	return taken > settled(c) ? (int64_t)(taken - settled(c)) : 0;
}

int64_t carrier_settle(struct carrier *c)
{
	uint32_t tk = CARRIER_BUDGET_TAKEN;
	uint64_t taken, n = 0;

	if (bpf_map_lookup_elem(c->budget, &tk, &taken) < 0)
		return -1;
	for (uint64_t u = c->base; u < c->mark; u++) {
		uint64_t *w = &c->recorded[u % WINDOW / 64];
		uint64_t bit = 1ull << (u % 64);

		if (*w & bit)
			*w &= ~bit;
		else
			n++;
	}
	c->returned += n;
	c->base = c->mark;
	c->mark = taken;
	return (int64_t)n;
}

int carrier_learn(struct carrier *c, carrier_learn_fn *fn, void *arg)
{
	uint64_t before = c->learned;

	c->learn_fn = fn;
	c->learn_arg = arg;
	if (ring_buffer__consume(c->ring) < 0)
		return -1;
	return (int)(c->learned - before);
}

int carrier_syn_tuple(const struct carrier_syn *syn, struct fastpath_tuple *t)
{
	const uint8_t *h = syn->head;
	uint32_t l4;

	memset(t, 0, sizeof(*t));
	if (syn->len < 20)
		return -1;
	if (h[0] >> 4 == 4) {
		l4 = (h[0] & 0xfu) * 4;
		t->family = 4;
		t->proto = h[9];
		memcpy(t->src, h + 12, 4);
		memcpy(t->dst, h + 16, 4);
	} else if (h[0] >> 4 == 6) {
		l4 = 40;
		t->family = 6;
		t->proto = h[6];
		memcpy(t->src, h + 8, 16);
		memcpy(t->dst, h + 24, 16);
	} else {
		return -1;
	}
	if (t->proto != IPPROTO_TCP || l4 + 4 > syn->len ||
	    syn->len > sizeof(syn->head))
		return -1;
	t->sport = (uint16_t)(h[l4] << 8 | h[l4 + 1]);
	t->dport = (uint16_t)(h[l4 + 2] << 8 | h[l4 + 3]);
	return 0;
}

uint64_t carrier_learned(const struct carrier *c)
{
	return c->learned;
}

/* Direction dir of t (0: as the original direction's packets have it)
 * as the map's key. */
static void make_key(const struct fastpath_tuple *t, int dir,
		     struct carrier_key *k)
{
	size_t alen = t->family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->src, dir ? t->dst : t->src, alen);
	memcpy(k->dst, dir ? t->src : t->dst, alen);
	k->sport = htons(dir ? t->dport : t->sport);
	k->dport = htons(dir ? t->sport : t->dport);
	k->proto = t->proto;
	k->family = t->family;
}

/*
 * An entry as the engine reads the sets' elements. One whose timeout ran
 * out carries nothing: it is gone (false: the caller removes it, as the
 * kernel's garbage collection does the sets' elements that expire).
 */
static bool elem_of(const struct carrier_flow *v, const struct carrier_conf *cf,
		    uint64_t now, struct fastpath_elem *e)
{
	static const uint8_t set_of[CARRIER_STATES] = {
		[CARRIER_OPEN] = FP_SET_EST,
		[CARRIER_EST] = FP_SET_EST,
		[CARRIER_CLOSING] = FP_SET_CLOSE,
		[CARRIER_CLOSE] = FP_SET_CLOSE,
		[CARRIER_UDP] = FP_SET_UDP,
	};
	uint64_t age, tmo;

	memset(e, 0, sizeof(*e));
	if (v->state >= CARRIER_STATES)
		return false;
	tmo = cf->timeout_ns[v->state];
	/* A packet on another CPU may have written its time after ours
	 * was read. */
	age = now > v->last_ns ? now - v->last_ns : 0;
	if (age > tmo)
		return false;
	e->set = set_of[v->state];
	e->timeout_ms = (uint32_t)(tmo / 1000000);
	e->expires_ms = (uint32_t)((tmo - age) / 1000000);
	e->packets = v->packets;
	e->bytes = v->bytes;
	return true;
}

/*
 * With reset: what the entry of key k counted since the daemon last read
 * it with reset (the seen map says how much that was, and of which
 * admission: a new one starts from nothing), into e; the seen map then
 * says all of it. Only this queue's thread reads its flows' entries, so
 * nothing else writes their seen entries meanwhile; the packet path's
 * counts go on, and the next reading has them.
 */
static int read_since(struct carrier *c, const struct carrier_key *k,
		      const struct carrier_flow *v, struct fastpath_elem *e)
{
	struct carrier_seen s, now = { v->admitted_ns, v->packets, v->bytes };

	if (bpf_map_lookup_elem(c->seen, k, &s) < 0) {
		if (errno != ENOENT)
			return -1;
		memset(&s, 0, sizeof(s));
	}
	if (s.admitted_ns != v->admitted_ns)
		s.packets = s.bytes = 0;
	e->packets = v->packets > s.packets ? v->packets - s.packets : 0;
	e->bytes = v->bytes > s.bytes ? v->bytes - s.bytes : 0;
	return bpf_map_update_elem(c->seen, k, &now, BPF_ANY);
}

/* Remove key k from map fd; not there is no error. */
static int remove_key(int fd, const struct carrier_key *k)
{
	return bpf_map_delete_elem(fd, k) < 0 && errno != ENOENT ? -1 : 0;
}

int carrier_query(struct carrier *c, const struct fastpath_tuple *t,
		  unsigned int n, bool reset, struct fastpath_flow *out)
{
	struct fastpath_flow got[FASTPATH_BATCH_MAX];
	struct carrier_conf cf;
	uint32_t zero = 0;
	uint64_t now;

	if (n > FASTPATH_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (bpf_map_lookup_elem(c->conf, &zero, &cf) < 0)
		return -1;
	now = monotonic_ns();
	for (unsigned int i = 0; i < n; i++)
		for (int d = 0; d < 2; d++) {
			struct fastpath_elem *e = &got[i].dir[d];
			struct carrier_key k;
			struct carrier_flow v;

			make_key(&t[i], d, &k);
			if (bpf_map_lookup_elem(c->flows, &k, &v) < 0) {
				if (errno != ENOENT)
					return -1;
				memset(e, 0, sizeof(*e));
				continue;
			}
			/* Dead for good: no packet revives an entry, only a
			 * new admission replaces it, which comes from this
			 * flow's own queue, after this. */
			if (!elem_of(&v, &cf, now, e)) {
				if (remove_key(c->flows, &k) < 0 ||
				    remove_key(c->seen, &k) < 0)
					return -1;
				continue;
			}
			if (reset && read_since(c, &k, &v, e) < 0)
				return -1;
		}
	memcpy(out, got, n * sizeof(*out));
	return 0;
}

/* Remove the keys from map fd in one call; the kernel stops at a key
 * that is not there (count: those before it), which is skipped. */
static int remove_keys(int fd, const struct carrier_key *keys, uint32_t total)
{
	uint32_t done = 0;

	while (done < total) {
		uint32_t count = total - done;

		if (bpf_map_delete_batch(fd, &keys[done], &count, NULL) == 0)
			break;
		if (errno != ENOENT)
			return -1;
		done += count + 1;
	}
	return 0;
}

int carrier_forget(struct carrier *c, const struct fastpath_tuple *t,
		   unsigned int n)
{
	struct carrier_key keys[2 * FASTPATH_BATCH_MAX];

	if (n > FASTPATH_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned int i = 0; i < n; i++)
		for (int d = 0; d < 2; d++)
			make_key(&t[i], d, &keys[2 * i + d]);
	if (remove_keys(c->flows, keys, 2 * n) < 0)
		return -1;
	return remove_keys(c->seen, keys, 2 * n);
}

/* Empty map fd, in batches of 1024, to its end (ENOENT). */
static int empty(int fd)
{
	struct carrier_key keys[1024];
	struct carrier_flow vals[1024]; /* the larger of the two values */
	struct carrier_key in, next;
	bool first = true;

	for (;;) {
		uint32_t count = 1024;
		int rc = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in,
							 &next, keys, vals,
							 &count, NULL);

		if (rc < 0 && errno != ENOENT)
			return -1;
		if (rc < 0)
			return 0;
		in = next;
		first = false;
	}
}

int carrier_flush(struct carrier *c)
{
	return empty(c->flows) < 0 ? -1 : empty(c->seen);
}
