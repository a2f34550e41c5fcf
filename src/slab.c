// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * slab.c - object pool; see slab.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slab.h"

/*
 * Ask for transparent huge pages for the whole reservation: with 4 KiB
 * pages, a lookup in a table of millions of flows misses the TLB as well
 * as the cache; 2 MiB pages take most of those misses away. Where THP is
 * off, nothing changes.
 */
static void want_huge_pages(uint8_t *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	madvise(p, len, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}

/* Commit [p, p + len), page-aligned, so that the kernel does it now and
 * not on the packet path. Objects there may be in use already: the
 * fallback touch writes back what it read. */
static int populate_range(uint8_t *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

#ifdef MADV_POPULATE_WRITE
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL) /* EINVAL: a kernel before 5.14 */
		return -1;
#endif
	for (size_t off = 0; off < len; off += page) {
		volatile uint8_t *b = p + off;

		*b = *b;
	}
	return 0;
}

static int map(struct slab *s, size_t obj_size, uint32_t capacity)
{
	size_t len;

	memset(s, 0, sizeof(*s));
	s->free_head = SLAB_NIL;
	if (obj_size < sizeof(uint32_t) || obj_size % sizeof(uint32_t) ||
	    capacity == 0 || capacity == SLAB_NIL) {
		errno = EINVAL;
		return -1;
	}
	len = (size_t)capacity * obj_size;
	s->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		return -1;
	}
	want_huge_pages(s->base, len);
	s->obj_size = obj_size;
	s->capacity = capacity;
	return 0;
}

int slab_init(struct slab *s, size_t obj_size, uint32_t capacity)
{
	if (map(s, obj_size, capacity) < 0)
		return -1;
	if (slab_populate(s, capacity) < 0) {
		slab_destroy(s);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int slab_reserve(struct slab *s, size_t obj_size, uint32_t capacity)
{
	if (map(s, obj_size, capacity) < 0)
		return -1;
	s->lazy = true;
	if (slab_populate_ahead(s) < 0) {
		slab_destroy(s);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void slab_destroy(struct slab *s)
{
	if (s->base)
		munmap(s->base, slab_bytes(s));
	memset(s, 0, sizeof(*s));
	s->free_head = SLAB_NIL;
}

int slab_populate(struct slab *s, uint32_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t start, end, len = slab_bytes(s);

	if (n > s->capacity)
		n = s->capacity;
	if (n <= s->populated)
		return 0;
	/* Whole pages: the mapping's last page is whole too. */
	start = (size_t)s->populated * s->obj_size & ~(page - 1);
	end = ((size_t)n * s->obj_size + page - 1) & ~(page - 1);
	if (populate_range(s->base + start, end - start) < 0)
		return -1;
	s->populated = end >= len ? s->capacity : (uint32_t)(end / s->obj_size);
	return 0;
}

int slab_populate_ahead(struct slab *s)
{
	uint64_t want = (uint64_t)s->hwm + slab_margin(s);

	return slab_populate(s,
			     want > s->capacity ? s->capacity : (uint32_t)want);
}

int slab_grow(struct slab *s, uint32_t new_capacity)
{
	size_t old_len = slab_bytes(s), new_len;
	uint8_t *p;

	if (new_capacity <= s->capacity)
		return 0;
	if (new_capacity == SLAB_NIL) {
		errno = EINVAL;
		return -1;
	}
	new_len = (size_t)new_capacity * s->obj_size;
	p = mremap(s->base, old_len, new_len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -1;
	want_huge_pages(p, new_len);
	s->base = p;
	s->capacity = new_capacity;
	/* Best effort: objects not populated are faulted in when used. */
	if (s->lazy)
		slab_populate_ahead(s);
	else
		slab_populate(s, new_capacity);
	return 0;
}

uint32_t slab_alloc(struct slab *s)
{
	uint32_t idx = s->free_head;

	if (idx != SLAB_NIL) {
		memcpy(&s->free_head, slab_ptr(s, idx), sizeof(uint32_t));
	} else if (s->hwm < s->capacity) {
		idx = s->hwm++;
		/* Past the populated ones, it is faulted in now: count it,
		 * so that the figures stay true between populations. */
		if (s->hwm > s->populated)
			s->populated = s->hwm;
	} else {
		return SLAB_NIL;
	}
	s->in_use++;
	return idx;
}

void slab_free(struct slab *s, uint32_t idx)
{
	memcpy(slab_ptr(s, idx), &s->free_head, sizeof(uint32_t));
	s->free_head = idx;
	s->in_use--;
}
