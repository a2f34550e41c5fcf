/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slab.h - a pool of fixed-size objects named by 32-bit index.
 *
 * The address space for every object is reserved when the pool is made,
 * so objects never move but on slab_grow(), and the packet path never
 * allocates. Objects are named by index rather than pointer: links
 * between objects stay half the size, and stay valid when slab_grow()
 * moves the pool. Free objects are kept on a LIFO list threaded through
 * their first four bytes, so a freed object is the next one handed out
 * while it is still in cache.
 *
 * Memory behind the reservation is committed (populated) either all at
 * once (slab_init: small pools) or as use grows (slab_reserve: the flow
 * table's, where a full-size table of every kind at once would cost
 * several times what is ever used): slab_populate_ahead() keeps a margin
 * of populated objects past the high-water mark, so that the packet path
 * practically never takes a page fault. An object past the populated
 * ones works all the same; its first touch faults the page in.
 *
 * Ownership: the slab owns the memory of every object; users only link
 * objects together. Not thread-safe.
 */
#ifndef NFQT_SLAB_H
#define NFQT_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLAB_NIL UINT32_MAX

/* slab_populate_ahead() keeps max(capacity / 16, this) objects populated
 * past the high-water mark: some 2 to 4 MiB, a millisecond's work. */
#define SLAB_MARGIN_MIN 65536

/* Fields are private: visible only so that slab_ptr() can be inlined. */
struct slab {
	uint8_t *base;
	size_t obj_size;
	uint32_t capacity; /* objects reserved */
	/* Objects [0, populated) have memory committed (populated, or
	 * handed out and so faulted in). */
	uint32_t populated;
	uint32_t hwm; /* objects [0, hwm) have been handed out once */
	uint32_t free_head;
	uint32_t in_use;
	bool lazy; /* populated as use grows (slab_reserve) */
};

/*
 * Reserve and populate room for capacity objects of obj_size bytes
 * (obj_size >= 4, a multiple of 4). Returns 0, or -1 with errno set
 * (ENOMEM when the memory is not there, EINVAL for bad sizes).
 */
int slab_init(struct slab *s, size_t obj_size, uint32_t capacity);

/*
 * As slab_init(), but populate only the first margin's worth of objects
 * (slab_populate_ahead()); the rest is populated as use grows.
 */
int slab_reserve(struct slab *s, size_t obj_size, uint32_t capacity);

/* Release the memory. Every index becomes invalid. */
void slab_destroy(struct slab *s);

/*
 * Raise capacity to new_capacity objects (never lowers it). Objects keep
 * their indices, but pointers from slab_ptr() become invalid: the pool may
 * move. A pool made by slab_init() is populated in full again. Returns 0,
 * or -1 with errno set; on failure nothing changed.
 */
int slab_grow(struct slab *s, uint32_t new_capacity);

/*
 * Commit the memory of objects [0, n) (n is cut to the capacity), for
 * pools whose objects are used by index without slab_alloc(). O(pages
 * newly populated). Returns 0, or -1 with errno set (ENOMEM: the memory
 * is not there; the objects stay usable, faulted in on first touch).
 */
int slab_populate(struct slab *s, uint32_t n);

/* The margin slab_populate_ahead() keeps. */
static inline uint32_t slab_margin(const struct slab *s)
{
	uint32_t m = s->capacity / 16;

	return m > SLAB_MARGIN_MIN ? m : SLAB_MARGIN_MIN;
}

/*
 * Populate objects up to slab_margin() past the high-water mark: what
 * the high-water mark gained since the last call, so the cost follows the
 * rate objects are first used at. Returns as slab_populate().
 */
int slab_populate_ahead(struct slab *s);

/* Take an object. O(1). Returns its index, or SLAB_NIL when all are used.
 * The object's contents are undefined. */
uint32_t slab_alloc(struct slab *s);

/* Return object idx, which must have come from slab_alloc(). O(1). */
void slab_free(struct slab *s, uint32_t idx);

static inline void *slab_ptr(const struct slab *s, uint32_t idx)
{
	return s->base + (size_t)idx * s->obj_size;
}

static inline uint32_t slab_index(const struct slab *s, const void *obj)
{
	return (uint32_t)(((const uint8_t *)obj - s->base) / s->obj_size);
}

/* Bytes of address space the pool holds: what it may come to use. */
static inline size_t slab_bytes(const struct slab *s)
{
	return (size_t)s->capacity * s->obj_size;
}

/* Bytes of memory committed to the pool now. */
static inline size_t slab_populated_bytes(const struct slab *s)
{
	return (size_t)s->populated * s->obj_size;
}

#endif
