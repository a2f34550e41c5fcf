// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_ctl.c - the control protocol's request parser under libFuzzer, and
 * the list filter terms and prefixes that requests carry. The input is a
 * request line as a client would send it (without the newline).
 *
 * A request that parses has 1 to CTL_ARGS_MAX words, none empty or with
 * blanks or control characters, and its words joined by single spaces
 * after the version parse again to the same words.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "dump.h"
#include "prefix.h"

static struct ctl_request req, again;

static void check_words(const struct ctl_request *r)
{
	if (r->argc < 1 || r->argc > CTL_ARGS_MAX)
		abort();
	for (int i = 0; i < r->argc; i++) {
		const char *w = r->argv[i];

		if (w < r->buf || w >= r->buf + sizeof(r->buf) || !*w)
			abort();
		for (; *w; w++)
			if ((unsigned char)*w < 0x20 || *w == ' ')
				abort();
	}
}

/* What the daemon does with the words: filter terms and prefixes. */
static void use_words(const struct ctl_request *r)
{
	struct dump_filter lf;
	const char *why;

	dump_filter_init(&lf);
	for (int i = 0; i < r->argc; i++) {
		struct prefix p, q;
		char text[PREFIX_STR_MAX];

		dump_filter_add(&lf, r->argv[i], &why);
		for (int loose = 0; loose < 2; loose++) {
			if (prefix_parse(&p, r->argv[i], loose, &why) < 0)
				continue;
			/* What prefix_format() writes reads back the same. */
			prefix_format(text, sizeof(text), p.family, p.addr,
				      p.bits);
			if (prefix_parse(&q, text, false, &why) < 0 ||
			    q.family != p.family || q.bits != p.bits ||
			    memcmp(q.addr, p.addr, p.family == 4 ? 4 : 16))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_REQUEST_MAX + 16];
	const char *why;
	size_t len;

	if (ctl_parse_request(&req, (const char *)data, size, &why) < 0) {
		if (!why || !*why)
			abort();
		return 0;
	}
	check_words(&req);
	len = (size_t)snprintf(line, sizeof(line), "%s", CTL_VERSION);
	for (int i = 0; i < req.argc; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
					req.argv[i]);
	if (len >= sizeof(line) ||
	    ctl_parse_request(&again, line, len, &why) < 0 ||
	    again.argc != req.argc)
		abort();
	for (int i = 0; i < req.argc; i++)
		if (strcmp(again.argv[i], req.argv[i]))
			abort();
	use_words(&req);
	return 0;
}
