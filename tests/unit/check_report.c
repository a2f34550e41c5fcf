// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_report.c - drop reports: exact and Space-Saving counts, the order
 * of the top sources, how sources print, and lines cut to fit a buffer.
 */
#define _GNU_SOURCE
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "testutil.h"

static const char *const names[] = { "none", "source_limit", "table_full",
				     "malformed", "invalid" };
#define NREASONS (sizeof(names) / sizeof(names[0]))

/* Count n events of reason from text, an IPv4 or IPv6 address. */
static void add(struct report *rep, unsigned reason, const char *text,
		uint8_t bits, unsigned n)
{
	uint8_t a[16] = { 0 };
	uint8_t family = strchr(text, ':') ? 6 : 4;

	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, text, a),
			 1);
	while (n--)
		report_add(rep, reason, family, a, bits);
}

static const char *line(const struct report *rep)
{
	static char buf[1024];
	size_t n =
		report_format(rep, "dropped", "packets", 10, buf, sizeof(buf));

	ck_assert_uint_eq(n, strlen(buf));
	return buf;
}

START_TEST(exact_counts)
{
	struct report rep;
	const struct report_reason *r = &rep.r[1];

	report_init(&rep, NREASONS, names);
	ck_assert(report_empty(&rep));
	add(&rep, 1, "192.0.2.1", 32, 1);
	add(&rep, 1, "203.0.113.9", 32, 5);
	add(&rep, 1, "198.51.100.0", 24, 2);
	ck_assert(!report_empty(&rep));
	ck_assert_uint_eq(report_total(&rep), 8);
	ck_assert_uint_eq(r->count, 8);
	ck_assert_uint_eq(r->used, 3);
	for (unsigned i = 0; i < r->used; i++)
		ck_assert_uint_eq(r->slot[i].over, 0);
	ck_assert_uint_eq(r->slot[0].count, 1);
	ck_assert_uint_eq(r->slot[1].count, 5);
	ck_assert_uint_eq(r->slot[2].count, 2);
	ck_assert_str_eq(line(&rep),
			 "dropped 8 packets in 10 s: source_limit 8 (top: "
			 "203.0.113.9 5, 198.51.100.0/24 2, 192.0.2.1 1)");
	/* The same address under another prefix length is another source. */
	add(&rep, 1, "198.51.100.0", 22, 1);
	ck_assert_uint_eq(r->used, 4);
}
END_TEST

START_TEST(top_order_and_ties)
{
	struct report rep;

	report_init(&rep, NREASONS, names);
	add(&rep, 2, "10.0.0.5", 32, 1);
	add(&rep, 2, "10.0.0.1", 32, 2);
	add(&rep, 2, "10.0.0.3", 32, 7); /* before .2: ties go by address */
	add(&rep, 2, "10.0.0.2", 32, 7);
	add(&rep, 2, "10.0.0.4", 32, 9);
	ck_assert_uint_eq(rep.r[2].used, 5);
	ck_assert_str_eq(line(&rep),
			 "dropped 26 packets in 10 s: table_full 26 (top: "
			 "10.0.0.4 9, 10.0.0.2 7, 10.0.0.3 7)");
}
END_TEST

/* Up to REPORT_SLOTS sources everything is exact; the next one takes the
 * first smallest counter and is marked as approximate; on a tie of counts
 * the exact source goes first. */
START_TEST(slots_then_space_saving)
{
	struct report rep;
	const struct report_reason *r = &rep.r[1];
	char a[32];

	report_init(&rep, NREASONS, names);
	for (unsigned i = 0; i < REPORT_SLOTS; i++) {
		snprintf(a, sizeof(a), "10.0.1.%u", i);
		add(&rep, 1, a, 32, 1);
	}
	ck_assert_uint_eq(r->used, REPORT_SLOTS);
	for (unsigned i = 0; i < REPORT_SLOTS; i++) {
		ck_assert_uint_eq(r->slot[i].count, 1);
		ck_assert_uint_eq(r->slot[i].over, 0);
	}
	add(&rep, 1, "10.9.9.9", 32, 1);
	ck_assert_uint_eq(r->used, REPORT_SLOTS);
	ck_assert_uint_eq(r->slot[0].family, 4);
	ck_assert_uint_eq(r->slot[0].addr[1], 9);
	ck_assert_uint_eq(r->slot[0].count, 2);
	ck_assert_uint_eq(r->slot[0].over, 1);
	add(&rep, 1, "10.0.1.1", 32, 1);
	ck_assert_str_eq(line(&rep),
			 "dropped 18 packets in 10 s: source_limit 18 (top: "
			 "10.0.1.1 2, 10.9.9.9 1..2, 10.0.1.2 1)");
	/* The evicted source comes back as a newcomer, not with its past. */
	add(&rep, 1, "10.0.1.0", 32, 1);
	ck_assert_uint_eq(r->slot[2].addr[3], 0);
	ck_assert_uint_eq(r->slot[2].count, 2);
	ck_assert_uint_eq(r->slot[2].over, 1);
}
END_TEST

/* A report with one event from one source, as its source prints. */
static const char *src_line(uint8_t family, const char *text, uint8_t bits)
{
	static char buf[256];
	const char *p, *q;
	struct report rep;
	uint8_t a[16] = { 0 };

	if (text)
		ck_assert_int_eq(inet_pton(family == 6 ? AF_INET6 : AF_INET,
					   text, a),
				 1);
	report_init(&rep, NREASONS, names);
	report_add(&rep, 1, family, text ? a : NULL, bits);
	p = line(&rep);
	q = strstr(p, "(top: ");
	ck_assert_ptr_nonnull(q);
	snprintf(buf, sizeof(buf), "%s", q + strlen("(top: "));
	ck_assert_str_eq(buf + strlen(buf) - 3, " 1)");
	buf[strlen(buf) - 3] = '\0';
	return buf;
}

START_TEST(address_formatting)
{
	struct report rep;

	ck_assert_str_eq(src_line(4, "192.0.2.7", 32), "192.0.2.7");
	ck_assert_str_eq(src_line(4, "192.0.2.7", 200), "192.0.2.7");
	ck_assert_str_eq(src_line(4, "198.51.100.0", 24), "198.51.100.0/24");
	ck_assert_str_eq(src_line(4, "0.0.0.0", 0), "0.0.0.0/0");
	ck_assert_str_eq(src_line(6, "2001:db8::1", 128), "2001:db8::1");
	ck_assert_str_eq(src_line(6, "2001:db8:1::", 64), "2001:db8:1::/64");
	ck_assert_str_eq(src_line(6, "::ffff:192.0.2.1", 128),
			 "::ffff:192.0.2.1");
	ck_assert_str_eq(src_line(0, NULL, 0), "?");
	ck_assert_str_eq(src_line(4, NULL, 32), "?");
	ck_assert_str_eq(src_line(9, "192.0.2.7", 32), "?");

	/* Every unknown source is the same source. */
	report_init(&rep, NREASONS, names);
	report_add(&rep, 3, 0, NULL, 0);
	report_add(&rep, 3, 6, NULL, 64);
	report_add(&rep, 3, 0, "\1\2\3\4", 32);
	ck_assert_uint_eq(rep.r[3].used, 1);
	ck_assert_str_eq(line(&rep), "dropped 3 packets in 10 s: "
				     "malformed 3 (top: ? 3)");
}
END_TEST

START_TEST(reasons_in_index_order)
{
	struct report rep;
	char buf[512];

	report_init(&rep, NREASONS, names);
	add(&rep, 2, "2001:db8:1::", 64, 434);
	add(&rep, 1, "203.0.113.9", 32, 9790);
	add(&rep, 1, "198.51.100.0", 24, 8);
	add(&rep, 4, "192.0.2.1", 32, 1);
	ck_assert_uint_eq(report_total(&rep), 10233);
	ck_assert_str_eq(line(&rep),
			 "dropped 10233 packets in 10 s: source_limit 9798 "
			 "(top: 203.0.113.9 9790, 198.51.100.0/24 8), "
			 "table_full 434 (top: 2001:db8:1::/64 434), "
			 "invalid 1 (top: 192.0.2.1 1)");
	report_format(&rep, "would drop", "flows", 60, buf, sizeof(buf));
	ck_assert_int_eq(strncmp(buf, "would drop 10233 flows in 60 s: ", 32),
			 0);
}
END_TEST

/* "A B" or "A..B" at p: the count, and its lower bound. */
static void parse_count(const char *p, uint64_t *lo, uint64_t *hi)
{
	int n = 0;

	ck_assert_int_eq(sscanf(p, "%" SCNu64 "%n", lo, &n), 1);
	*hi = *lo;
	if (!strncmp(p + n, "..", 2))
		ck_assert_int_eq(sscanf(p + n + 2, "%" SCNu64, hi), 1);
}

/* Space-Saving's guarantee under a skewed stream: 1000 light sources of 4
 * events each and two heavy ones, shuffled together. */
START_TEST(space_saving_skewed)
{
	enum { LIGHT = 1000, PER = 4, HEAVY_A = 3000, HEAVY_B = 2000 };
	static uint16_t ev[LIGHT * PER + HEAVY_A + HEAVY_B];
	const uint64_t total = sizeof(ev) / sizeof(ev[0]);
	const uint64_t bound = total / REPORT_SLOTS;
	const struct report_reason *r;
	uint8_t heavy_a[16] = { 203, 0, 113, 9 };
	uint8_t heavy_b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint64_t lo, hi, sum = 0, x = 0x9e3779b97f4a7c15ull;
	const char *p, *want;
	struct report rep;
	size_t n = 0;

	for (unsigned i = 0; i < LIGHT; i++)
		for (unsigned j = 0; j < PER; j++)
			ev[n++] = (uint16_t)i;
	for (unsigned i = 0; i < HEAVY_A; i++)
		ev[n++] = LIGHT;
	for (unsigned i = 0; i < HEAVY_B; i++)
		ev[n++] = LIGHT + 1;
	for (size_t i = total - 1; i > 0; i--) { /* Fisher-Yates, xorshift */
		size_t j;
		uint16_t t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (size_t)(x % (i + 1));
		t = ev[i];
		ev[i] = ev[j];
		ev[j] = t;
	}

	report_init(&rep, NREASONS, names);
	for (size_t i = 0; i < total; i++) {
		uint8_t a[4] = { 10, 0, (uint8_t)(ev[i] >> 8), (uint8_t)ev[i] };

		if (ev[i] == LIGHT)
			report_add(&rep, 1, 4, heavy_a, 32);
		else if (ev[i] == LIGHT + 1)
			report_add(&rep, 1, 6, heavy_b, 64);
		else
			report_add(&rep, 1, 4, a, 32);
	}

	r = &rep.r[1];
	ck_assert_uint_eq(r->count, total);
	ck_assert_uint_eq(r->used, REPORT_SLOTS);
	for (unsigned i = 0; i < r->used; i++) {
		const struct report_src *s = &r->slot[i];
		uint64_t truth = PER;

		sum += s->count;
		ck_assert_uint_le(s->over, bound);
		ck_assert_uint_lt(s->over, s->count);
		if (s->family == 6)
			truth = HEAVY_B;
		else if (s->addr[0] == 203)
			truth = HEAVY_A;
		ck_assert_uint_le(s->count - s->over, truth);
		ck_assert_uint_ge(s->count, truth);
	}
	/* Space-Saving's counters always add up to the stream's length. */
	ck_assert_uint_eq(sum, total);

	p = line(&rep);
	want = "dropped 9000 packets in 10 s: source_limit 9000 (top: "
	       "203.0.113.9 ";
	ck_assert_int_eq(strncmp(p, want, strlen(want)), 0);
	parse_count(p + strlen(want), &lo, &hi);
	ck_assert_uint_le(lo, HEAVY_A);
	ck_assert_uint_ge(hi, HEAVY_A);
	ck_assert_uint_le(hi - HEAVY_A, bound);
	want = ", 2001:db8::/64 ";
	p = strstr(p, want);
	ck_assert_ptr_nonnull(p);
	parse_count(p + strlen(want), &lo, &hi);
	ck_assert_uint_le(lo, HEAVY_B);
	ck_assert_uint_ge(hi, HEAVY_B);
	ck_assert_uint_le(hi - HEAVY_B, bound);
	/* The third is a light source, and says how little is known of it. */
	p = strstr(p, ", 10.0.");
	ck_assert_ptr_nonnull(p);
	p = strchr(p + 2, ' ');
	parse_count(p + 1, &lo, &hi);
	ck_assert_uint_le(lo, PER);
	ck_assert_uint_le(hi, bound + PER);
}
END_TEST

/* Every buffer size: no byte written past len, always a string, a prefix
 * of the whole line cut between elements, parentheses balanced. */
START_TEST(truncation)
{
	char full[1024], buf[1100], head[64], a[32];
	size_t flen, n, hlen, prevn = 0, prevbody = 0;
	struct report rep;

	report_init(&rep, NREASONS, names);
	add(&rep, 1, "203.0.113.9", 32, 50);
	add(&rep, 1, "2001:db8:ffff:ffff:ffff:ffff:ffff:ff00", 120, 40);
	add(&rep, 1, "198.51.100.0", 24, 3);
	add(&rep, 1, "198.51.100.7", 32, 2);
	add(&rep, 3, "192.0.2.1", 32, 1);
	for (unsigned i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "10.0.0.%u", i);
		add(&rep, 4, a, 32, 1);
	}
	add(&rep, 4, "10.0.0.200", 32, 9); /* a latecomer: approximate */
	flen = report_format(&rep, "dropped", "packets", 10, full,
			     sizeof(full));
	ck_assert_uint_eq(flen, strlen(full));
	ck_assert_ptr_nonnull(strstr(full, ".."));

	for (size_t len = 0; len <= flen + 3; len++) {
		const char *end;
		size_t body;
		int depth = 0;

		memset(buf, 0xa5, sizeof(buf));
		n = report_format(&rep, "dropped", "packets", 10, buf, len);
		for (size_t i = len; i < sizeof(buf); i++)
			ck_assert_int_eq((unsigned char)buf[i], 0xa5);
		if (!len) {
			ck_assert_uint_eq(n, 0);
			continue;
		}
		ck_assert_uint_eq(n, strlen(buf));
		ck_assert_uint_lt(n, len);
		ck_assert_uint_ge(n, prevn);
		prevn = n;
		if (len > flen) {
			ck_assert_str_eq(buf, full);
			continue;
		}
		if (!n) /* not even the head fits */
			continue;
		for (const char *c = buf; *c; c++) {
			depth += *c == '(';
			depth -= *c == ')';
			ck_assert_int_ge(depth, 0);
			ck_assert_int_le(depth, 1);
		}
		ck_assert_int_eq(depth, 0);
		if (n >= 5 && !strcmp(buf + n - 5, " ...)"))
			end = buf + n - 5;
		else if (n >= 4 && !strcmp(buf + n - 4, " ..."))
			end = buf + n - 4;
		else
			end = NULL;
		ck_assert_msg(end, "len %zu: \"%s\" not cut cleanly", len, buf);
		body = (size_t)(end - buf);
		ck_assert_int_eq(strncmp(buf, full, body), 0);
		/* Cut between elements: never inside an address or a count. */
		ck_assert_msg(strchr(":, ", full[body]), "len %zu: \"%s\"", len,
			      buf);
		/* A larger buffer never keeps less of the line. */
		ck_assert_uint_ge(body, prevbody);
		prevbody = body;
	}

	/* Small buffers: the head alone, then nothing. */
	hlen = (size_t)snprintf(head, sizeof(head),
				"dropped %" PRIu64 " packets in 10 s ...",
				report_total(&rep));
	ck_assert_uint_eq(report_total(&rep), 145);
	n = report_format(&rep, "dropped", "packets", 10, buf, hlen + 1);
	ck_assert_str_eq(buf, head);
	ck_assert_uint_eq(n, hlen);
	n = report_format(&rep, "dropped", "packets", 10, buf, hlen);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(reset)
{
	struct report rep;

	report_init(&rep, NREASONS, names);
	add(&rep, 1, "192.0.2.1", 32, 3);
	add(&rep, 2, "2001:db8::", 48, 2);
	report_reset(&rep);
	ck_assert(report_empty(&rep));
	ck_assert_uint_eq(report_total(&rep), 0);
	ck_assert_uint_eq(rep.r[1].used, 0);
	ck_assert_uint_eq(rep.nreasons, NREASONS);
	ck_assert_str_eq(line(&rep), "dropped 0 packets in 10 s");
	add(&rep, 2, "192.0.2.9", 32, 1);
	ck_assert_str_eq(line(&rep), "dropped 1 packets in 10 s: "
				     "table_full 1 (top: 192.0.2.9 1)");
}
END_TEST

/* Workers' reports merged by the main thread: one merged into an empty
 * report reads as itself; shared sources add up; a newcomer to full slots
 * takes the smallest counter's place, with it as its over. */
START_TEST(merge)
{
	struct report a, b, m;

	report_init(&a, NREASONS, names);
	report_init(&b, NREASONS, names);
	report_init(&m, NREASONS, names);
	add(&a, 1, "203.0.113.9", 32, 5);
	add(&a, 1, "192.0.2.1", 32, 1);
	add(&a, 2, "2001:db8::", 48, 2);
	report_merge(&m, &a);
	ck_assert_mem_eq(&m, &a, sizeof(m));
	add(&b, 1, "192.0.2.1", 32, 7);
	add(&b, 3, "198.51.100.1", 32, 1);
	report_merge(&m, &b);
	ck_assert_str_eq(line(&m),
			 "dropped 16 packets in 10 s: source_limit 13 (top: "
			 "192.0.2.1 8, 203.0.113.9 5), table_full 2 (top: "
			 "2001:db8::/48 2), malformed 1 (top: 198.51.100.1 "
			 "1)");
	report_reset(&m);
	report_reset(&b);
	for (unsigned i = 0; i < REPORT_SLOTS; i++) {
		char text[32];

		snprintf(text, sizeof(text), "192.0.2.%u", i + 1);
		add(&m, 1, text, 32, 2 + i);
	}
	add(&b, 1, "198.51.100.7", 32, 3);
	report_merge(&m, &b);
	ck_assert_uint_eq(m.r[1].used, REPORT_SLOTS);
	ck_assert_uint_eq(m.r[1].slot[0].count, 5);
	ck_assert_uint_eq(m.r[1].slot[0].over, 2);
	ck_assert_uint_eq(report_total(&m), 3 + (2 + 17) * REPORT_SLOTS / 2);
}
END_TEST

START_TEST(out_of_range)
{
	uint8_t a[4] = { 192, 0, 2, 1 };
	struct report rep;

	report_init(&rep, NREASONS, names);
	report_add(&rep, 0, 4, a, 32); /* "none" */
	report_add(&rep, NREASONS, 4, a, 32);
	report_add(&rep, REPORT_REASONS_MAX, 4, a, 32);
	report_add(&rep, UINT_MAX, 4, a, 32);
	ck_assert(report_empty(&rep));
	ck_assert_str_eq(line(&rep), "dropped 0 packets in 10 s");

	/* Too many reasons are cut to what fits; no names, numbers. */
	report_init(&rep, 1000, NULL);
	ck_assert_uint_eq(rep.nreasons, REPORT_REASONS_MAX);
	report_add(&rep, REPORT_REASONS_MAX - 1, 4, a, 32);
	report_add(&rep, REPORT_REASONS_MAX, 4, a, 32);
	ck_assert_uint_eq(report_total(&rep), 1);
	ck_assert_str_eq(line(&rep), "dropped 1 packets in 10 s: "
				     "reason15 1 (top: 192.0.2.1 1)");

	/* No reason at all but "none". */
	report_init(&rep, 1, names);
	report_add(&rep, 1, 4, a, 32);
	ck_assert(report_empty(&rep));
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, exact_counts);
	tcase_add_test(tc, top_order_and_ties);
	tcase_add_test(tc, slots_then_space_saving);
	tcase_add_test(tc, address_formatting);
	tcase_add_test(tc, reasons_in_index_order);
	tcase_add_test(tc, space_saving_skewed);
	tcase_add_test(tc, truncation);
	tcase_add_test(tc, reset);
	tcase_add_test(tc, merge);
	tcase_add_test(tc, out_of_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(report_suite());
}
