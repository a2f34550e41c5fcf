/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prefix.h - IPv4 and IPv6 address prefixes: "192.0.2.0/24",
 * "2001:db8::/32", or a plain address (a full-length prefix). Used by the
 * listing filters, the exempt list and the per-source limits, which count
 * flows by source address cut to a prefix.
 *
 * Addresses are in network byte order, 4 or 16 bytes. Pure.
 */
#ifndef NFQT_PREFIX_H
#define NFQT_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t bits;
	uint8_t addr[16]; /* bits past the prefix are zero */
};

/*
 * Parse "ADDR" or "ADDR/BITS". Bits past the prefix length must be zero
 * unless loose, in which case they are cleared ("10.1.2.3/8" names
 * 10.0.0.0/8). Returns 0, or -1 with *why set.
 */
int prefix_parse(struct prefix *p, const char *text, bool loose,
		 const char **why);

/* Does address addr of family family fall in p? */
bool prefix_match(const struct prefix *p, uint8_t family, const void *addr);

/* Copy the first bits bits of addr (4 or 16 bytes by family) into out
 * (16 bytes), zeroing the rest. */
void prefix_mask(uint8_t family, const void *addr, uint8_t bits, uint8_t *out);

/* "192.0.2.7" for a full-length prefix, "192.0.2.0/24" otherwise. */
#define PREFIX_STR_MAX 50
void prefix_format(char *buf, size_t len, uint8_t family, const void *addr,
		   uint8_t bits);

#endif
