// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_conf.c - the configuration parser under libFuzzer. The input is a
 * configuration file. Every problem must come as one "FILE:LINE: ..."
 * message; a file that parses must print (conf_print) to a file that
 * parses, without a problem, to the very same struct.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define NAME "fuzz.conf"

static void error(void *arg, const char *msg)
{
	int *n = arg;

	if (strncmp(msg, NAME ":", sizeof(NAME)) || strchr(msg, '\n'))
		abort();
	(*n)++;
}

/* Parse len bytes at buf into c. Returns the number of problems, having
 * checked that each was reported. */
static int parse(struct conf *c, const void *buf, size_t len)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	int n, reported = 0;

	if (!f)
		abort();
	n = conf_parse(c, f, NAME, error, &reported);
	fclose(f);
	if (n != reported)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c1 = malloc(sizeof(*c1)), *c2 = malloc(sizeof(*c2));
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (!c1 || !c2)
		abort();
	/* fmemopen() takes no empty buffer: an empty file is one newline. */
	if (parse(c1, size ? (const void *)data : "\n", size ? size : 1)) {
		free(c1);
		free(c2);
		return 0;
	}
	out = open_memstream(&text, &len);
	if (!out)
		abort();
	conf_print(c1, out);
	if (fclose(out))
		abort();
	if (parse(c2, text, len) || memcmp(c1, c2, sizeof(*c1)))
		abort();
	free(text);
	free(c1);
	free(c2);
	return 0;
}
