// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_mark.c - the state marks: the mask's validation, the mark of every
 * state, direction and assured bit with the admin's other bits kept, the
 * loop guard's test, and the translation table for the default mask as
 * the design gives it (the values the shipped rules and the man page use).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "mark.h"
#include "testutil.h"

START_TEST(mask_validation)
{
	static const uint32_t good[] = { 0x3f000000, 0x3f,	 0xfc000000,
					 0x00fc0000, 0x7e,	 0x0f000000,
					 0xf,	     0xf0000000, 0x1e00 };
	static const uint32_t bad[] = {
		0,	    0x1f000000, 0x7f000000, 0x3f000001,	    0x3d000000,
		0xffffffff, 0x7,	0xf8000001, 0x3f00 << 1 | 1
	};
	struct mark_layout l;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ck_assert_msg(mark_layout_init(&l, good[i]) == 0, "0x%08x",
			      good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(mark_layout_init(&l, bad[i]) < 0, "0x%08x",
			      bad[i]);
	ck_assert_int_eq(mark_layout_init(&l, 0xfc000000), 0);
	ck_assert_uint_eq(l.shift, 26);
	ck_assert_uint_eq(l.seen, 0x04000000);
	ck_assert_uint_eq(l.assured, 0x80000000);
}
END_TEST

START_TEST(default_mask_fields)
{
	struct mark_layout l;

	ck_assert_int_eq(mark_layout_init(&l, MARK_MASK_DEFAULT), 0);
	ck_assert_uint_eq(l.mask, 0x3f000000);
	ck_assert_uint_eq(l.seen, 0x01000000);
	ck_assert_uint_eq(l.state, 0x0e000000);
	ck_assert_uint_eq(l.reply, 0x10000000);
	ck_assert_uint_eq(l.assured, 0x20000000);
	ck_assert_uint_eq(l.seen | l.state | l.reply | l.assured, l.mask);
}
END_TEST

/* The state alone (4 bits): no REPLY or ASSURED written, nothing of the
 * admin's touched past the mask, and only the state matches offered. */
START_TEST(state_only_layout)
{
	struct mark_layout l;
	struct mark_match m[MARK_MATCHES];
	size_t n;
	char buf[2048];
	FILE *f;

	ck_assert_int_eq(mark_layout_init(&l, 0x0f000000), 0);
	ck_assert_uint_eq(l.seen, 0x01000000);
	ck_assert_uint_eq(l.state, 0x0e000000);
	ck_assert_uint_eq(l.reply, 0);
	ck_assert_uint_eq(l.assured, 0);
	/* Reply and assured change nothing: the same mark for every packet
	 * of an established flow, whichever way it goes. */
	ck_assert_uint_eq(mark_of(&l, CT_STATE_ESTABLISHED, true, true,
				  0xf0000042),
			  0xf5000042);
	ck_assert_uint_eq(mark_of(&l, CT_STATE_ESTABLISHED, false, false,
				  0xf0000042),
			  0xf5000042);
	ck_assert_uint_eq(mark_of(&l, CT_STATE_NEW, false, false, 0),
			  0x03000000);
	n = mark_matches(&l, m);
	ck_assert_uint_eq(n, 7);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strncmp(m[i].ct, "--ctdir", 7) &&
				      !strstr(m[i].ct, "--ctstatus"),
			      "%s", m[i].ct);
	ck_assert_str_eq(m[n - 1].ct, "(not seen by nfqtrackd)");
	f = fmemopen(buf, sizeof(buf), "w");
	ck_assert_ptr_nonnull(f);
	mark_print(&l, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "the state alone"));
	ck_assert_ptr_null(strstr(buf, "--ctdir ORIGINAL"));
	ck_assert_ptr_nonnull(
		strstr(buf, "-m mark --mark 0x05000000/0x0d000000"));
}
END_TEST

/* Every state, either direction, assured or not: the spec's values. */
START_TEST(every_state_direction_assured)
{
	static const uint32_t state_mark[CT_STATE_COUNT] = {
		[CT_STATE_NONE] = 0x01000000,
		[CT_STATE_NEW] = 0x03000000,
		[CT_STATE_ESTABLISHED] = 0x05000000,
		[CT_STATE_RELATED] = 0x07000000,
		[CT_STATE_INVALID] = 0x09000000,
		[CT_STATE_UNTRACKED] = 0x0b000000,
	};
	struct mark_layout l;

	mark_layout_init(&l, MARK_MASK_DEFAULT);
	for (int s = 0; s < CT_STATE_COUNT; s++)
		for (int reply = 0; reply < 2; reply++)
			for (int assured = 0; assured < 2; assured++) {
				uint32_t want = state_mark[s] |
						(reply ? 0x10000000 : 0) |
						(assured ? 0x20000000 : 0);
				uint32_t got = mark_of(&l, (uint8_t)s, reply,
						       assured, 0);

				ck_assert_msg(got == want,
					      "state %d reply %d assured %d: "
					      "0x%08x, want 0x%08x",
					      s, reply, assured, got, want);
				ck_assert(mark_seen(&l, got));
			}
}
END_TEST

/* The admin's bits outside the mask come back as they came; ours inside
 * it are replaced, whatever they held. */
START_TEST(other_bits_kept)
{
	static const uint32_t ins[] = { 0,	    0x1,	0xc0000000,
					0x00ffffff, 0xffffffff, 0x3f000000,
					0x12345678 };
	struct mark_layout l;

	mark_layout_init(&l, MARK_MASK_DEFAULT);
	for (size_t i = 0; i < ARRAY_SIZE(ins); i++) {
		uint32_t out =
			mark_of(&l, CT_STATE_ESTABLISHED, true, false, ins[i]);

		ck_assert_uint_eq(out & ~l.mask, ins[i] & ~l.mask);
		ck_assert_uint_eq(out & l.mask, 0x15000000);
	}
	/* Another mask: the low bits. */
	mark_layout_init(&l, 0x3f);
	ck_assert_uint_eq(mark_of(&l, CT_STATE_NEW, false, true, 0xabcd0000),
			  0xabcd0000 | 0x23);
}
END_TEST

START_TEST(seen_test)
{
	struct mark_layout l;

	mark_layout_init(&l, MARK_MASK_DEFAULT);
	ck_assert(!mark_seen(&l, 0));
	ck_assert(!mark_seen(&l, 0xfeffffff));
	ck_assert(mark_seen(&l, 0x01000000));
	mark_layout_init(&l, 0xfc);
	ck_assert(mark_seen(&l, 0x4));
	ck_assert(!mark_seen(&l, 0x01000000));
}
END_TEST

static const struct mark_match *find(const struct mark_match *m, size_t n,
				     const char *ct)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].ct, ct))
			return &m[i];
	ck_abort_msg("no line for %s", ct);
	return NULL;
}

/* The design's translation table for the default mask. */
START_TEST(table_default_mask)
{
	static const struct {
		const char *ct;
		uint32_t value, mask;
	} want[] = {
		{ "--ctstate NEW", 0x03000000, 0x0f000000 },
		{ "--ctstate ESTABLISHED", 0x05000000, 0x0f000000 },
		{ "--ctstate RELATED", 0x07000000, 0x0f000000 },
		{ "--ctstate INVALID", 0x09000000, 0x0f000000 },
		{ "--ctstate UNTRACKED", 0x0b000000, 0x0f000000 },
		{ "--ctstate ESTABLISHED,RELATED", 0x05000000, 0x0d000000 },
		{ "--ctdir ORIGINAL", 0x01000000, 0x11000000 },
		{ "--ctdir REPLY", 0x11000000, 0x11000000 },
		{ "--ctstatus ASSURED", 0x21000000, 0x21000000 },
		{ "! --ctstatus ASSURED", 0x01000000, 0x21000000 },
		{ "(not seen by nfqtrackd)", 0x01000000, 0x01000000 },
	};
	struct mark_match m[MARK_MATCHES];
	struct mark_layout l;
	const struct mark_match *x;
	size_t n;

	mark_layout_init(&l, MARK_MASK_DEFAULT);
	n = mark_matches(&l, m);
	ck_assert_uint_eq(n, MARK_MATCHES);
	ck_assert_uint_eq(n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		x = find(m, n, want[i].ct);
		ck_assert_msg(x->value == want[i].value &&
				      x->mask == want[i].mask,
			      "%s: 0x%08x/0x%08x", x->ct, x->value, x->mask);
		ck_assert(x->negate == !strcmp(x->ct, "(not seen by "
						      "nfqtrackd)"));
	}
	/* nftables: ESTABLISHED,RELATED as a set under the state's mask. */
	x = find(m, n, "--ctstate ESTABLISHED,RELATED");
	ck_assert_uint_eq(x->set_mask, 0x0f000000);
	ck_assert_uint_eq(x->set2, 0x07000000);
}
END_TEST

/* Each match takes exactly the marks it should among every mark out. */
START_TEST(table_matches_the_marks)
{
	struct mark_match m[MARK_MATCHES];
	struct mark_layout l;
	size_t n;

	mark_layout_init(&l, 0x00fc0000);
	n = mark_matches(&l, m);
	for (int s = CT_STATE_NEW; s < CT_STATE_COUNT; s++)
		for (int r = 0; r < 4; r++) {
			uint32_t mk = mark_of(&l, (uint8_t)s, r & 1, r & 2,
					      0xff00ffff);

			for (size_t i = 0; i < n; i++) {
				bool hit = (mk & m[i].mask) == m[i].value;
				bool want;

				if (m[i].negate)
					hit = !hit;
				if (!strcmp(m[i].ct, "--ctstate NEW"))
					want = s == CT_STATE_NEW;
				else if (!strcmp(m[i].ct,
						 "--ctstate ESTABLISHED"))
					want = s == CT_STATE_ESTABLISHED;
				else if (!strcmp(m[i].ct, "--ctstate RELATED"))
					want = s == CT_STATE_RELATED;
				else if (!strcmp(m[i].ct, "--ctstate INVALID"))
					want = s == CT_STATE_INVALID;
				else if (!strcmp(m[i].ct,
						 "--ctstate UNTRACKED"))
					want = s == CT_STATE_UNTRACKED;
				else if (!strcmp(m[i].ct, "--ctstate "
							  "ESTABLISHED,"
							  "RELATED"))
					want = s == CT_STATE_ESTABLISHED ||
					       s == CT_STATE_RELATED;
				else if (!strcmp(m[i].ct, "--ctdir REPLY"))
					want = r & 1;
				else if (!strcmp(m[i].ct, "--ctdir ORIGINAL"))
					want = !(r & 1);
				else if (!strcmp(m[i].ct, "--ctstatus ASSURED"))
					want = r & 2;
				else if (!strcmp(m[i].ct,
						 "! --ctstatus ASSURED"))
					want = !(r & 2);
				else
					want = false; /* not seen */
				ck_assert_msg(hit == want,
					      "%s on 0x%08x: %d, want %d",
					      m[i].ct, mk, hit, want);
			}
		}
	/* An unmarked packet: only "not seen" takes it. */
	for (size_t i = 0; i < n; i++)
		ck_assert_msg((((0u & m[i].mask) == m[i].value) !=
			       m[i].negate) == m[i].negate,
			      "%s on an unmarked packet", m[i].ct);
}
END_TEST

START_TEST(printed_table)
{
	struct mark_layout l;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	mark_layout_init(&l, MARK_MASK_DEFAULT);
	mark_print(&l, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "\n--ctstate NEW "));
	ck_assert_ptr_nonnull(strstr(text, " -m mark --mark "
					   "0x03000000/0x0f000000\n"));
	ck_assert_ptr_nonnull(strstr(text, "-m mark ! --mark "
					   "0x01000000/0x01000000\n"));
	ck_assert_ptr_nonnull(strstr(text, "meta mark & 0x0f000000 == "
					   "0x05000000\n"));
	ck_assert_ptr_nonnull(strstr(text, "meta mark & 0x0f000000 { "
					   "0x05000000, 0x07000000 }\n"));
	ck_assert_ptr_nonnull(strstr(text, "meta mark & 0x01000000 == 0\n"));
	free(text);
}
END_TEST

static Suite *mark_suite(void)
{
	Suite *s = suite_create("mark");
	TCase *tc = tcase_create("marks");

	tcase_add_test(tc, mask_validation);
	tcase_add_test(tc, default_mask_fields);
	tcase_add_test(tc, state_only_layout);
	tcase_add_test(tc, every_state_direction_assured);
	tcase_add_test(tc, other_bits_kept);
	tcase_add_test(tc, seen_test);
	tcase_add_test(tc, table_default_mask);
	tcase_add_test(tc, table_matches_the_marks);
	tcase_add_test(tc, printed_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(mark_suite());
}
