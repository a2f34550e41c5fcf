// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_verdict.c - worker_verdict(): what a worker sends for each
 * packet's result in every verdict_mode, the fast path's admit bit
 * included (accept mode: the packet's own mark and the bit; mark and
 * repeat modes: the state mark and the bit).
 */
#include <check.h>

#include "testutil.h"
#include "worker.h"

#define ADMIT 0x00800000u
#define IN 0x00000042u /* the admin's bits, outside every mask */

static struct mark_layout m;

static struct engine_result established(bool admit)
{
	return (struct engine_result){ .verdict = VERDICT_ACCEPT,
				       .ct_state = CT_STATE_ESTABLISHED,
				       .ct_assured = true,
				       .fast_admit = admit };
}

START_TEST(accept_mode)
{
	struct engine_result r = established(false);
	struct queue_verdict v;

	ck_assert_int_eq(mark_layout_init(&m, MARK_MASK_DEFAULT), 0);
	v = worker_verdict(CONF_MODE_ACCEPT, &m, ADMIT, &r, false, IN);
	ck_assert_uint_eq(v.action, QUEUE_ACCEPT);
	ck_assert(!v.set_mark);
	r.fast_admit = true;
	v = worker_verdict(CONF_MODE_ACCEPT, &m, ADMIT, &r, false, IN);
	ck_assert_uint_eq(v.action, QUEUE_ACCEPT);
	ck_assert(v.set_mark);
	ck_assert_uint_eq(v.mark, IN | ADMIT);
	/* Off: admit_mark 0, no mark whatever the result says. */
	v = worker_verdict(CONF_MODE_ACCEPT, &m, 0, &r, false, IN);
	ck_assert(!v.set_mark);
	v = worker_verdict(CONF_MODE_ACCEPT, &m, ADMIT, &r, true, IN);
	ck_assert_uint_eq(v.action, QUEUE_DROP);
	ck_assert(!v.set_mark);
}
END_TEST

START_TEST(mark_and_repeat_modes)
{
	struct engine_result r = established(false);
	uint32_t state;
	struct queue_verdict v;

	ck_assert_int_eq(mark_layout_init(&m, MARK_MASK_DEFAULT), 0);
	state = mark_of(&m, CT_STATE_ESTABLISHED, false, true, IN);
	v = worker_verdict(CONF_MODE_MARK, &m, ADMIT, &r, false, IN);
	ck_assert_uint_eq(v.action, QUEUE_ACCEPT);
	ck_assert(v.set_mark);
	ck_assert_uint_eq(v.mark, state);
	r.fast_admit = true;
	v = worker_verdict(CONF_MODE_MARK, &m, ADMIT, &r, false, IN);
	ck_assert_uint_eq(v.mark, state | ADMIT);
	ck_assert_uint_eq(v.mark & m.mask, state & m.mask);
	v = worker_verdict(CONF_MODE_REPEAT, &m, ADMIT, &r, false, IN);
	ck_assert_uint_eq(v.action, QUEUE_REPEAT);
	ck_assert_uint_eq(v.mark, state | ADMIT);
	v = worker_verdict(CONF_MODE_REPEAT, &m, ADMIT, &r, true, IN);
	ck_assert_uint_eq(v.action, QUEUE_DROP);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("modes");

	tcase_add_test(tc, accept_mode);
	tcase_add_test(tc, mark_and_repeat_modes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(verdict_suite());
}
