// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * defrag.c - fragment reassembly for replay; see defrag.h.
 *
 * A datagram is a queue of runs: contiguous data, in order of offset. As
 * in the kernel's inet_frag_queue_insert(), a fragment that starts where
 * the highest one ends extends that run, one further on starts a new run,
 * and any other is looked up among the runs: inside one, a duplicate;
 * across an edge, an overlap. Queues hang in a hash by key, and in one
 * list per family by age, so expiry looks at the oldest only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "defrag.h"

#define BUCKETS 4096
#define MAX_DGRAM 65535
#define V4_TIMEOUT_MS 30000 /* net.ipv4.ipfrag_time */
#define V6_TIMEOUT_MS 60000 /* net.netfilter.nf_conntrack_frag6_timeout */
#define HIGH_THRESH (4u << 20) /* ipfrag_high_thresh, both families */
/* What the kernel charges for a fragment beyond its data (the sk_buff
 * and its shared info, roughly): an estimate, see defrag.h. */
#define SKB_OVERHEAD 768

struct run {
	struct run *next;
	uint32_t off, end;
	uint8_t *data;
};

struct dgram {
	struct dgram *hnext; /* hash chain */
	struct dgram *older, *newer; /* age list of its family */
	uint64_t born_ms;
	uint8_t family, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	bool first_in, last_in;
	uint32_t len; /* data length, as known so far */
	uint32_t meat; /* data bytes held */
	uint32_t nfrags; /* fragments held */
	uint32_t charged; /* bytes charged to the memory limit */
	uint32_t tail_end; /* end of the highest fragment */
	struct run *runs, *tail;
	uint8_t *hdr; /* the first fragment's header part */
	uint16_t hdrlen, nhoff; /* IPv6: where the next header byte is */
	uint8_t nexthdr; /* IPv6: the fragment header's next header */
};

struct age {
	struct dgram *oldest, *newest;
};

struct defrag {
	struct dgram *bucket[BUCKETS];
	struct age age[2]; /* IPv4, IPv6 */
	uint64_t held[2]; /* charged bytes by family */
	struct defrag_stats st;
	uint8_t out[40 + MAX_DGRAM]; /* IPv6's 64 KiB are past its header */
};

static const char *const drop_names[DEFRAG_DROP_COUNT] = {
	[DEFRAG_DROP_DUPLICATE] = "duplicate",
	[DEFRAG_DROP_OVERLAP] = "overlap",
	[DEFRAG_DROP_CORRUPT] = "corrupt",
	[DEFRAG_DROP_UNALIGNED] = "unaligned",
	[DEFRAG_DROP_OVERSIZE] = "oversize",
	[DEFRAG_DROP_MEMORY] = "memory",
	[DEFRAG_DROP_TIMEOUT] = "timeout",
};

const char *defrag_drop_name(enum defrag_drop why)
{
	return why < DEFRAG_DROP_COUNT ? drop_names[why] : "?";
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One fragment, as given: its key, where its data lies, and the header
 * part a first fragment brings. */
struct frag {
	uint8_t family, proto;
	const uint8_t *src, *dst;
	uint32_t id;
	uint32_t off, end;
	bool more;
	size_t data_at; /* where its data starts in the packet */
	size_t hdrlen; /* the header part to keep if first */
	uint16_t nhoff;
	uint8_t nexthdr;
};

struct defrag *defrag_new(void)
{
	return calloc(1, sizeof(struct defrag));
}

static unsigned bucket_of(uint8_t family, uint32_t id, const uint8_t *src)
{
	return (id ^ src[family == 4 ? 3 : 15]) % BUCKETS;
}

static void drop_dgram(struct defrag *d, struct dgram *q)
{
	struct dgram **pp = &d->bucket[bucket_of(q->family, q->id, q->src)];
	struct age *a = &d->age[q->family == 6];

	while (*pp != q)
		pp = &(*pp)->hnext;
	*pp = q->hnext;
	if (q->older)
		q->older->newer = q->newer;
	else
		a->oldest = q->newer;
	if (q->newer)
		q->newer->older = q->older;
	else
		a->newest = q->older;
	d->held[q->family == 6] -= q->charged;
	d->st.held_bytes -= q->meat;
	for (struct run *r = q->runs, *n; r; r = n) {
		n = r->next;
		free(r->data);
		free(r);
	}
	free(q->hdr);
	free(q);
}

/* Drop a datagram and count its fragments, held and this one, as why. */
static enum defrag_result kill(struct defrag *d, struct dgram *q,
			       enum defrag_drop why)
{
	d->st.dropped[why] += q->nfrags + 1;
	drop_dgram(d, q);
	return DEFRAG_DROPPED;
}

static enum defrag_result drop(struct defrag *d, enum defrag_drop why)
{
	d->st.dropped[why]++;
	return DEFRAG_DROPPED;
}

void defrag_free(struct defrag *d)
{
	if (!d)
		return;
	for (int f = 0; f < 2; f++)
		while (d->age[f].oldest)
			drop_dgram(d, d->age[f].oldest);
	free(d);
}

const struct defrag_stats *defrag_stats(const struct defrag *d)
{
	return &d->st;
}

static void expire(struct defrag *d, uint64_t now_ms)
{
	static const uint64_t timeout[2] = { V4_TIMEOUT_MS, V6_TIMEOUT_MS };

	for (int f = 0; f < 2; f++) {
		struct dgram *q;

		while ((q = d->age[f].oldest) &&
		       now_ms - q->born_ms >= timeout[f]) {
			d->st.dropped[DEFRAG_DROP_TIMEOUT] += q->nfrags;
			drop_dgram(d, q);
		}
	}
}

/* IPv4: a fragment, or false for a packet to pass as is. */
static bool parse4(const uint8_t *ip, size_t caplen, size_t wirelen,
		   struct frag *fr)
{
	size_t ihl, tot;
	uint16_t fo;

	if (caplen < 20)
		return false;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = rd16(ip + 2);
	fo = rd16(ip + 6);
	if (ihl < 20 || tot < ihl || tot > wirelen || caplen < ihl ||
	    !(fo & 0x3fff))
		return false;
	fr->family = 4;
	fr->proto = ip[9];
	fr->src = ip + 12;
	fr->dst = ip + 16;
	fr->id = rd16(ip + 4);
	fr->off = (uint32_t)(fo & 0x1fff) * 8;
	fr->end = fr->off + (uint32_t)(tot - ihl);
	fr->more = fo & 0x2000;
	if (fr->more)
		fr->end &= ~7u; /* the kernel cuts it down, no more */
	fr->data_at = ihl;
	fr->hdrlen = ihl;
	return true;
}

/* IPv6: the fragment header after the unfragmentable extension headers
 * (hop-by-hop, routing, destination options, authentication), or false
 * for a packet to pass as is. */
static bool parse6(const uint8_t *ip, size_t caplen, size_t wirelen,
		   struct frag *fr)
{
	size_t plen, at = 40, nhoff = 6;
	uint8_t nh;
	uint16_t fo;

	if (caplen < 40)
		return false;
	plen = rd16(ip + 4);
	if (!plen || 40 + plen > wirelen)
		return false; /* jumbo: no fragment header; or malformed */
	nh = ip[6];
	while (nh != 44) {
		size_t len;

		if (nh != 0 && nh != 43 && nh != 60 && nh != 51)
			return false;
		if (at + 2 > caplen)
			return false;
		len = nh == 51 ? ((size_t)ip[at + 1] + 2) * 4 :
				 ((size_t)ip[at + 1] + 1) * 8;
		nhoff = at;
		nh = ip[at];
		at += len;
	}
	if (at + 8 > caplen || at + 8 > 40 + plen || at > UINT16_MAX)
		return false;
	fo = rd16(ip + at + 2);
	fr->family = 6;
	fr->proto = 0; /* not in the key */
	fr->src = ip + 8;
	fr->dst = ip + 24;
	fr->id = (uint32_t)rd16(ip + at + 4) << 16 | rd16(ip + at + 6);
	fr->off = fo & ~7u;
	fr->end = fr->off + (uint32_t)(40 + plen - (at + 8));
	fr->more = fo & 1;
	fr->data_at = at + 8;
	fr->hdrlen = at;
	fr->nhoff = (uint16_t)nhoff;
	fr->nexthdr = ip[at];
	/* RFC 8200 4.5: a first fragment must hold the upper-layer header;
	 * the kernel passes one that does not as it is, unreassembled. */
	if (!fr->off) {
		size_t need = fr->nexthdr == 6			       ? 20 :
			      (fr->nexthdr == 17 || fr->nexthdr == 58) ? 8 :
									 0;

		if (fr->end < need)
			return false;
	}
	return true;
}

static struct dgram *find(struct defrag *d, const struct frag *fr)
{
	size_t alen = fr->family == 4 ? 4 : 16;

	for (struct dgram *q =
		     d->bucket[bucket_of(fr->family, fr->id, fr->src)];
	     q; q = q->hnext)
		if (q->family == fr->family && q->id == fr->id &&
		    q->proto == fr->proto && !memcmp(q->src, fr->src, alen) &&
		    !memcmp(q->dst, fr->dst, alen))
			return q;
	return NULL;
}

static struct dgram *create(struct defrag *d, const struct frag *fr,
			    uint64_t now_ms)
{
	struct dgram *q = calloc(1, sizeof(*q));
	struct age *a = &d->age[fr->family == 6];
	unsigned b = bucket_of(fr->family, fr->id, fr->src);

	if (!q)
		return NULL;
	q->family = fr->family;
	q->proto = fr->proto;
	memcpy(q->src, fr->src, fr->family == 4 ? 4 : 16);
	memcpy(q->dst, fr->dst, fr->family == 4 ? 4 : 16);
	q->id = fr->id;
	q->born_ms = now_ms;
	q->hnext = d->bucket[b];
	d->bucket[b] = q;
	q->older = a->newest;
	if (a->newest)
		a->newest->newer = q;
	else
		a->oldest = q;
	a->newest = q;
	return q;
}

/* Copy len bytes of the packet from at; what was not captured is 0. */
static void copy_in(uint8_t *to, const uint8_t *ip, size_t caplen, size_t at,
		    size_t len)
{
	size_t have = at < caplen ? caplen - at : 0;

	if (have > len)
		have = len;
	memcpy(to, ip + at, have);
	memset(to + have, 0, len - have);
}

/* Where the fragment goes among the runs: 0, or a DEFRAG_DROP_* + 1. */
static int insert(struct dgram *q, const struct frag *fr, const uint8_t *ip,
		  size_t caplen)
{
	uint32_t n = fr->end - fr->off;
	struct run *r, **pp;
	uint8_t *data;

	if (q->tail && fr->end <= q->tail_end) {
		/* Not at the end: a duplicate, or an overlap. */
		for (r = q->runs; r; r = r->next) {
			if (fr->end <= r->off || fr->off >= r->end)
				continue;
			if (fr->off >= r->off && fr->end <= r->end)
				return DEFRAG_DROP_DUPLICATE + 1;
			return DEFRAG_DROP_OVERLAP + 1;
		}
	} else if (q->tail && fr->off < q->tail_end) {
		return DEFRAG_DROP_OVERLAP + 1;
	}
	if (q->tail && fr->off == q->tail_end) {
		/* The common case: the next piece of the highest run. */
		data = realloc(q->tail->data, q->tail->end - q->tail->off + n);
		if (!data)
			return DEFRAG_DROP_MEMORY + 1;
		copy_in(data + (q->tail->end - q->tail->off), ip, caplen,
			fr->data_at, n);
		q->tail->data = data;
		q->tail->end = fr->end;
		q->tail_end = fr->end;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	data = malloc(n);
	if (!r || !data) {
		free(r);
		free(data);
		return DEFRAG_DROP_MEMORY + 1;
	}
	copy_in(data, ip, caplen, fr->data_at, n);
	r->off = fr->off;
	r->end = fr->end;
	r->data = data;
	for (pp = &q->runs; *pp && (*pp)->off < r->off; pp = &(*pp)->next)
		;
	r->next = *pp;
	*pp = r;
	if (!r->next) {
		q->tail = r;
		q->tail_end = r->end;
	}
	return 0;
}

/* The whole datagram into d->out, or 0 when it is too big. */
static size_t reassemble(struct defrag *d, struct dgram *q)
{
	uint8_t *o = d->out;
	size_t tot = q->hdrlen + q->len;

	if (q->family == 4 ? tot > MAX_DGRAM : tot - 40 > MAX_DGRAM)
		return 0;
	memcpy(o, q->hdr, q->hdrlen);
	for (struct run *r = q->runs; r; r = r->next)
		memcpy(o + q->hdrlen + r->off, r->data, r->end - r->off);
	if (q->family == 4) {
		uint32_t sum = 0;

		o[2] = (uint8_t)(tot >> 8);
		o[3] = (uint8_t)tot;
		o[6] &= 0x40; /* keep DF, clear MF and the offset */
		o[7] = 0;
		o[10] = o[11] = 0;
		for (size_t i = 0; i < q->hdrlen; i += 2)
			sum += rd16(o + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		o[10] = (uint8_t)(~sum >> 8);
		o[11] = (uint8_t)~sum;
	} else {
		o[q->nhoff] = q->nexthdr;
		o[4] = (uint8_t)((tot - 40) >> 8);
		o[5] = (uint8_t)(tot - 40);
	}
	return tot;
}

enum defrag_result defrag_packet(struct defrag *d, const uint8_t *ip,
				 size_t caplen, size_t wirelen, uint64_t now_ms,
				 const uint8_t **out, size_t *outlen)
{
	struct frag fr = { 0 };
	struct dgram *q;
	uint32_t charge;
	int f, err;

	expire(d, now_ms);
	if (wirelen < caplen)
		wirelen = caplen;
	if (caplen < 1 ||
	    !((ip[0] >> 4 == 4 && parse4(ip, caplen, wirelen, &fr)) ||
	      (ip[0] >> 4 == 6 && parse6(ip, caplen, wirelen, &fr))))
		return DEFRAG_PASS;
	d->st.fragments++;
	f = fr.family == 6;
	if (d->held[f] > HIGH_THRESH)
		return drop(d, DEFRAG_DROP_MEMORY);
	if (f && fr.end > MAX_DGRAM)
		return drop(d, DEFRAG_DROP_OVERSIZE);
	q = find(d, &fr);
	if (!q && !(q = create(d, &fr, now_ms)))
		return drop(d, DEFRAG_DROP_MEMORY);
	if (!fr.more) {
		/* The last: nothing may lie past it, nor may it move. */
		if (fr.end < q->len || (q->last_in && fr.end != q->len))
			return kill(d, q, DEFRAG_DROP_CORRUPT);
		q->last_in = true;
		q->len = fr.end;
	} else {
		if (f && fr.end & 7)
			return drop(d, DEFRAG_DROP_UNALIGNED);
		if (fr.end > q->len) {
			if (q->last_in)
				return kill(d, q, DEFRAG_DROP_CORRUPT);
			q->len = fr.end;
		}
	}
	if (fr.end == fr.off)
		return kill(d, q, DEFRAG_DROP_CORRUPT);
	err = insert(q, &fr, ip, caplen);
	if (err == DEFRAG_DROP_DUPLICATE + 1 || err == DEFRAG_DROP_MEMORY + 1)
		return drop(d, (enum defrag_drop)(err - 1));
	if (err)
		return kill(d, q, (enum defrag_drop)(err - 1));
	if (!fr.off) {
		q->hdr = malloc(fr.hdrlen);
		if (!q->hdr)
			return kill(d, q, DEFRAG_DROP_MEMORY);
		q->first_in = true;
		q->hdrlen = (uint16_t)fr.hdrlen;
		copy_in(q->hdr, ip, caplen, 0, q->hdrlen);
		q->nhoff = fr.nhoff;
		q->nexthdr = fr.nexthdr;
	}
	q->nfrags++;
	q->meat += fr.end - fr.off;
	d->st.held_bytes += fr.end - fr.off;
	charge = fr.end - fr.off + SKB_OVERHEAD;
	q->charged += charge;
	d->held[f] += charge;
	if (!q->first_in || !q->last_in || q->meat != q->len)
		return DEFRAG_HELD;
	*outlen = reassemble(d, q);
	if (!*outlen) {
		d->st.dropped[DEFRAG_DROP_OVERSIZE] += q->nfrags;
		drop_dgram(d, q);
		return DEFRAG_DROPPED;
	}
	d->st.reassembled++;
	drop_dgram(d, q);
	*out = d->out;
	return DEFRAG_DONE;
}
