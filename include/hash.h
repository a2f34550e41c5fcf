/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hash.h - keyed hashing (SipHash) with a random key per run.
 *
 * The flow table's bucket index comes from a keyed hash so that a remote
 * host that knows this code still cannot choose addresses and ports that
 * land in one bucket: it would need the 128-bit key, which is drawn from
 * the kernel's random pool at start and never leaves the process.
 */
#ifndef NFQT_HASH_H
#define NFQT_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
	uint64_t k0, k1;
};

/* Fill key from getrandom(2). Returns 0, or -1 with errno set. */
int hash_key_random(struct hash_key *key);

/* SipHash-2-4 of len bytes at data: the reference function, for tests. */
uint64_t hash_siphash24(const struct hash_key *key, const void *data,
			size_t len);

/*
 * SipHash-1-3 of n 64-bit words: the flow hash. One compression round per
 * word and three finalization rounds, as the kernel's hsiphash on 64-bit
 * machines; about 15 ns for an IPv6 flow key.
 */
uint64_t hash_words13(const struct hash_key *key, const uint64_t *words,
		      size_t n);

#endif
