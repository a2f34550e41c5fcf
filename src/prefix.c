// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prefix.c - address prefixes; see prefix.h.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"

void prefix_mask(uint8_t family, const void *addr, uint8_t bits, uint8_t *out)
{
	unsigned alen = family == 4 ? 4 : 16, full, rest;

	if (bits > alen * 8)
		bits = (uint8_t)(alen * 8);
	full = bits / 8;
	rest = bits % 8;
	memset(out, 0, 16);
	memcpy(out, addr, full);
	if (rest)
		out[full] = ((const uint8_t *)addr)[full] &
			    (uint8_t)(0xff00 >> rest);
}

int prefix_parse(struct prefix *p, const char *text, bool loose,
		 const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	uint8_t masked[16];
	unsigned long bits;
	char *end;

	if (strlen(text) >= sizeof(buf)) {
		*why = "address too long";
		return -1;
	}
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = 4;
		p->bits = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = 6;
		p->bits = 128;
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	if (slash) {
		bits = strtoul(slash, &end, 10);
		if (*slash < '0' || *slash > '9' || *end || bits > p->bits) {
			*why = "bad prefix length";
			return -1;
		}
		p->bits = (uint8_t)bits;
	}
	prefix_mask(p->family, p->addr, p->bits, masked);
	if (!loose && memcmp(masked, p->addr, sizeof(masked))) {
		*why = "address has bits set past the prefix length";
		return -1;
	}
	memcpy(p->addr, masked, sizeof(masked));
	return 0;
}

bool prefix_match(const struct prefix *p, uint8_t family, const void *addr)
{
	const uint8_t *x = addr;
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (p->family != family || memcmp(x, p->addr, full))
		return false;
	return !rest ||
	       !((x[full] ^ p->addr[full]) & (uint8_t)(0xff00 >> rest));
}

/* s into buf (len bytes), cut to fit, as snprintf(buf, len, "%s", s):
 * without stdio, which the core does not use. */
static void copy_cut(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

void prefix_format(char *buf, size_t len, uint8_t family, const void *addr,
		   uint8_t bits)
{
	char a[INET6_ADDRSTRLEN + 4];
	size_t n;

	if ((family != 4 && family != 6) ||
	    !inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a,
		       INET6_ADDRSTRLEN)) {
		copy_cut(buf, len, "?");
		return;
	}
	if (bits < (family == 4 ? 32 : 128)) {
		/* "/bits", bits < 128: at most three digits. */
		n = strlen(a);
		a[n++] = '/';
		if (bits >= 100)
			a[n++] = (char)('0' + bits / 100);
		if (bits >= 10)
			a[n++] = (char)('0' + bits / 10 % 10);
		a[n++] = (char)('0' + bits % 10);
		a[n] = '\0';
	}
	copy_cut(buf, len, a);
}
