/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slab.h - a preallocated pool of fixed-size objects named by 32-bit index.
 *
 * All memory is reserved and touched when the pool is made, so the packet
 * path never allocates and never takes a page fault. Objects are named by
 * index rather than pointer: links between objects stay half the size,
 * and stay valid when slab_grow() moves the pool. Free objects are kept on
 * a LIFO list threaded through their first four bytes, so a freed object
 * is the next one handed out while it is still in cache.
 *
 * Ownership: the slab owns the memory of every object; users only link
 * objects together. Not thread-safe.
 */
#ifndef NFQT_SLAB_H
#define NFQT_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SLAB_NIL UINT32_MAX

/* Fields are private: visible only so that slab_ptr() can be inlined. */
struct slab {
	uint8_t *base;
	size_t obj_size;
	uint32_t capacity; /* objects reserved */
	uint32_t hwm; /* objects [0, hwm) have been handed out once */
	uint32_t free_head;
	uint32_t in_use;
};

/*
 * Reserve and prefault room for capacity objects of obj_size bytes
 * (obj_size >= 4, a multiple of 4). Returns 0, or -1 with errno set
 * (ENOMEM when the memory is not there, EINVAL for bad sizes).
 */
int slab_init(struct slab *s, size_t obj_size, uint32_t capacity);

/* Release the memory. Every index becomes invalid. */
void slab_destroy(struct slab *s);

/*
 * Raise capacity to new_capacity objects (never lowers it). Objects keep
 * their indices, but pointers from slab_ptr() become invalid: the pool may
 * move. Returns 0, or -1 with errno set; on failure nothing changed.
 */
int slab_grow(struct slab *s, uint32_t new_capacity);

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

/* Bytes of memory the pool holds. */
static inline size_t slab_bytes(const struct slab *s)
{
	return (size_t)s->capacity * s->obj_size;
}

#endif
