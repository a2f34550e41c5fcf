// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hash.c - SipHash (Aumasson and Bernstein, 2012), written from the paper.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static inline void sip_init(struct sip_state *s, const struct hash_key *key)
{
	s->v0 = key->k0 ^ 0x736f6d6570736575ULL;
	s->v1 = key->k1 ^ 0x646f72616e646f6dULL;
	s->v2 = key->k0 ^ 0x6c7967656e657261ULL;
	s->v3 = key->k1 ^ 0x7465646279746573ULL;
}

static inline void sip_absorb(struct sip_state *s, uint64_t m, int crounds)
{
	s->v3 ^= m;
	for (int i = 0; i < crounds; i++)
		sip_round(s);
	s->v0 ^= m;
}

static inline uint64_t sip_final(struct sip_state *s, int drounds)
{
	s->v2 ^= 0xff;
	for (int i = 0; i < drounds; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t hash_siphash24(const struct hash_key *key, const void *data,
			size_t len)
{
	const uint8_t *p = data;
	struct sip_state s;
	uint64_t last = (uint64_t)len << 56;
	size_t left = len & 7;

	sip_init(&s, key);
	for (const uint8_t *end = p + (len - left); p < end; p += 8)
		sip_absorb(&s, load_le64(p), 2);
	for (size_t i = 0; i < left; i++)
		last |= (uint64_t)p[i] << (8 * i);
	sip_absorb(&s, last, 2);
	return sip_final(&s, 4);
}

uint64_t hash_words13(const struct hash_key *key, const uint64_t *words,
		      size_t n)
{
	struct sip_state s;

	sip_init(&s, key);
	for (size_t i = 0; i < n; i++)
		sip_absorb(&s, words[i], 1);
	sip_absorb(&s, (uint64_t)(n * 8) << 56, 1);
	return sip_final(&s, 3);
}

int hash_key_random(struct hash_key *key)
{
	uint8_t *p = (uint8_t *)key;
	size_t got = 0;

	while (got < sizeof(*key)) {
		ssize_t r = getrandom(p + got, sizeof(*key) - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}
