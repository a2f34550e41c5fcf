// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report.c - attributed drop reports; see report.h.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prefix.h"
#include "report.h"

#define MARK " ..."

void report_init(struct report *rep, unsigned nreasons,
		 const char *const *names)
{
	memset(rep, 0, sizeof(*rep));
	rep->nreasons = nreasons < REPORT_REASONS_MAX ? nreasons :
							REPORT_REASONS_MAX;
	rep->names = names;
}

void report_reset(struct report *rep)
{
	memset(rep->r, 0, sizeof(rep->r));
}

/* The source as a slot key: one spelling per source, so that slots compare
 * with memcmp. Unknown sources are all the same source. */
static void src_key(struct report_src *k, uint8_t family, const void *addr,
		    uint8_t bits)
{
	uint8_t full = family == 4 ? 32 : 128;

	memset(k, 0, sizeof(*k));
	if (!addr || (family != 4 && family != 6))
		return;
	k->family = family;
	k->bits = bits < full ? bits : full;
	memcpy(k->addr, addr, full / 8);
}

static bool src_same(const struct report_src *a, const struct report_src *b)
{
	return a->family == b->family && a->bits == b->bits &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

void report_add(struct report *rep, unsigned reason, uint8_t family,
		const void *addr, uint8_t bits)
{
	struct report_reason *r;
	struct report_src k, *min = NULL;

	if (reason == 0 || reason >= rep->nreasons)
		return;
	r = &rep->r[reason];
	src_key(&k, family, addr, bits);
	r->count++;
	for (uint32_t i = 0; i < r->used; i++) {
		struct report_src *s = &r->slot[i];

		if (src_same(s, &k)) {
			s->count++;
			return;
		}
		if (!min || s->count < min->count)
			min = s;
	}
	if (r->used < REPORT_SLOTS) {
		k.count = 1;
		r->slot[r->used++] = k;
		return;
	}
	/* Space-Saving: the newcomer inherits the smallest counter. It may
	 * have caused every event counted there, so that count is its
	 * overestimate bound; the smallest of REPORT_SLOTS counters summing
	 * to the reason's count is at most count / REPORT_SLOTS. */
	k.over = min->count;
	k.count = min->count + 1;
	*min = k;
}

void report_merge(struct report *rep, const struct report *from)
{
	for (unsigned i = 1; i < rep->nreasons && i < from->nreasons; i++) {
		struct report_reason *r = &rep->r[i];
		const struct report_reason *f = &from->r[i];

		r->count += f->count;
		for (uint32_t j = 0; j < f->used; j++) {
			const struct report_src *s = &f->slot[j];
			struct report_src *min = NULL, *hit = NULL;

			for (uint32_t k = 0; k < r->used && !hit; k++) {
				if (src_same(&r->slot[k], s))
					hit = &r->slot[k];
				else if (!min || r->slot[k].count < min->count)
					min = &r->slot[k];
			}
			if (hit) {
				hit->count += s->count;
				hit->over += s->over;
			} else if (r->used < REPORT_SLOTS) {
				r->slot[r->used++] = *s;
			} else {
				/* As in report_add(), for s->count events. */
				struct report_src k = *s;

				k.over += min->count;
				k.count += min->count;
				*min = k;
			}
		}
	}
}

uint64_t report_total(const struct report *rep)
{
	uint64_t n = 0;

	for (unsigned i = 1; i < rep->nreasons; i++)
		n += rep->r[i].count;
	return n;
}

bool report_empty(const struct report *rep)
{
	return report_total(rep) == 0;
}

/* Does a go before b in a reason's top list? By count; on a tie the one
 * known more exactly, then by address, so that equal lines print alike. */
static bool src_before(const struct report_src *a, const struct report_src *b)
{
	int c;

	if (a->count != b->count)
		return a->count > b->count;
	if (a->over != b->over)
		return a->over < b->over;
	if (a->family != b->family)
		return a->family < b->family;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c < 0;
	return a->bits < b->bits;
}

/* The reason's top sources, best first, as slot indices; returns how many
 * (at most REPORT_TOP): REPORT_TOP passes of selection over the slots,
 * once per interval, so nothing is kept sorted on the packet path. */
static unsigned top_sources(const struct report_reason *r,
			    unsigned idx[REPORT_TOP])
{
	uint32_t taken = 0;
	unsigned n;

	for (n = 0; n < REPORT_TOP && n < r->used; n++) {
		unsigned best = REPORT_SLOTS;

		for (unsigned i = 0; i < r->used; i++) {
			if (taken & (1u << i))
				continue;
			if (best == REPORT_SLOTS ||
			    src_before(&r->slot[i], &r->slot[best]))
				best = i;
		}
		taken |= 1u << best;
		idx[n] = best;
	}
	return n;
}

/*
 * The line is built one element at a time: the head, each reason with its
 * count, each source with its count. An element goes in only if it fits
 * together with what a cut after it would still need (MARK, and ")" when a
 * source list is open), unless it is the line's last; so the line can be
 * cut cleanly at any point without ever backing up.
 */
struct line {
	char *buf;
	size_t len, pos;
	bool open; /* inside "(top: ...)" */
};

static bool __attribute__((format(printf, 4, 5)))
emit(struct line *l, bool last, bool open_after, const char *fmt, ...)
{
	size_t room = l->len - l->pos, need;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->pos, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		need = SIZE_MAX;
	else
		need = (size_t)n + 1 +
		       (last ? 0 : strlen(MARK) + (open_after ? 1 : 0));
	if (need > room) {
		l->buf[l->pos] = '\0';
		return false;
	}
	l->pos += (size_t)n;
	l->open = open_after;
	return true;
}

/* Cut the line here; the room was reserved by the element before. */
static size_t cut(struct line *l)
{
	if (l->pos)
		l->pos += (size_t)snprintf(l->buf + l->pos, l->len - l->pos,
					   "%s%s", MARK, l->open ? ")" : "");
	return l->pos;
}

size_t report_format(const struct report *rep, const char *verb,
		     const char *unit, uint32_t seconds, char *buf, size_t len)
{
	struct line l = { .buf = buf, .len = len };
	unsigned lastr = 0, idx[REPORT_TOP], n;
	char name[24], src[INET6_ADDRSTRLEN + 4], cnt[48];
	const char *sep = ": ";

	if (!len)
		return 0;
	for (unsigned i = 1; i < rep->nreasons; i++)
		if (rep->r[i].count)
			lastr = i;
	if (!emit(&l, !lastr, false, "%s %" PRIu64 " %s in %" PRIu32 " s", verb,
		  report_total(rep), unit, seconds))
		return cut(&l);

	for (unsigned i = 1; i <= lastr; i++) {
		const struct report_reason *r = &rep->r[i];
		const char *nm = rep->names ? rep->names[i] : NULL;

		if (!r->count)
			continue;
		if (!nm) {
			snprintf(name, sizeof(name), "reason%u", i);
			nm = name;
		}
		n = top_sources(r, idx);
		if (!emit(&l, i == lastr && !n, false, "%s%s %" PRIu64, sep, nm,
			  r->count))
			return cut(&l);
		sep = ", ";
		for (unsigned j = 0; j < n; j++) {
			const struct report_src *s = &r->slot[idx[j]];
			bool end = j + 1 == n;

			prefix_format(src, sizeof(src), s->family, s->addr,
				      s->bits);
			if (s->over)
				snprintf(cnt, sizeof(cnt),
					 "%" PRIu64 "..%" PRIu64,
					 s->count - s->over, s->count);
			else
				snprintf(cnt, sizeof(cnt), "%" PRIu64,
					 s->count);
			if (!emit(&l, i == lastr && end, !end, "%s%s %s%s",
				  j ? ", " : " (top: ", src, cnt,
				  end ? ")" : ""))
				return cut(&l);
		}
	}
	return l.pos;
}
