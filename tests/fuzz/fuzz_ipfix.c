// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_ipfix.c - the IPFIX encoder under libFuzzer. The input is a
 * message size and a clock offset, then flow records of any values
 * (REC_BYTES each, see below): every field's extremes, counters below
 * what earlier records carried, times past 2^63. Each becomes a record
 * (ipfix_record_from_event) and goes into messages of that size, with
 * the template set in the first; every message must stay within its
 * size, read back whole (tests/unit/ipfixdec.h: header length, set
 * lengths, whole records of a known template) and give back exactly the
 * records put in.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipfix.h"
#include "ipfixdec.h"

/* u8 flags (1: IPv6, 2: accounting, 4: FLOW_F_ORIG_HI, 8: ACTIVE), u8
 * proto, u8 end, u8 state, u8 tcp_flags, 32 address bytes, 2 x u16
 * ports, u64 start, u64 last, u64 packets[2], bytes[2], sent_packets[2],
 * sent_bytes[2]; numbers in host order. */
#define REC_BYTES (5 + 32 + 4 + 8 * 10)
#define HEAD_BYTES (2 + 8)

struct check {
	const struct ipfix_record *want;
	unsigned n, at;
};

static void each(void *arg, const struct ipfix_record *r)
{
	struct check *c = arg;

	if (c->at >= c->n || memcmp(r, &c->want[c->at], sizeof(*r)))
		abort();
	c->at++;
}

static void event_of(struct flow_event *ev, const uint8_t *p)
{
	memset(ev, 0, sizeof(*ev));
	ev->key.family = p[0] & 1 ? 6 : 4;
	ev->has_acct = (p[0] & 2) != 0;
	ev->flags = p[0] & 4 ? FLOW_F_ORIG_HI : 0;
	ev->type = p[0] & 8 ? FEV_ACTIVE : FEV_DESTROY;
	ev->key.proto = p[1];
	ev->end = p[2];
	ev->state = p[3];
	ev->tcp_flags = p[4];
	memcpy(ev->key.addr, p + 5, 32);
	memcpy(ev->key.port, p + 37, 4);
	memcpy(&ev->start_ms, p + 41, 8);
	memcpy(&ev->last_ms, p + 49, 8);
	memcpy(ev->packets, p + 57, 16);
	memcpy(ev->bytes, p + 73, 16);
	memcpy(ev->sent_packets, p + 89, 16);
	memcpy(ev->sent_bytes, p + 105, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65535];
	struct ipfix_record want[128];
	struct dec d = { 0 };
	struct ipfix_msg m;
	size_t cap, n = 0, first = 0;
	int64_t off;
	bool templates = true;

	if (size < HEAD_BYTES)
		return 0;
	/* From the smallest message that holds one record to the most a
	 * message can say it holds. */
	cap = 16 + 4 + 89 + (data[0] << 8 | data[1]) % (65535 - 109 + 1);
	memcpy(&off, data + 2, sizeof(off));
	data += HEAD_BYTES;
	size -= HEAD_BYTES;
	for (; size >= REC_BYTES && n < 128;
	     data += REC_BYTES, size -= REC_BYTES) {
		struct flow_event ev;

		event_of(&ev, data);
		if (ipfix_record_from_event(&want[n], &ev, off) < 0)
			abort();
		if (want[n].end_reason < IPFIX_END_IDLE ||
		    want[n].end_reason > IPFIX_END_RESOURCES)
			abort();
		n++;
	}
	while (first < n) {
		struct check c = { want + first, (unsigned)(n - first), 0 };
		size_t len;

		bool with_templates = false;

		ipfix_msg_begin(&m, buf, cap);
		if (templates && ipfix_msg_add_templates(&m) == 0) {
			with_templates = true;
		} else if (templates) {
			/* Too small for the set: in a message of its own. */
			uint8_t t[512];
			struct ipfix_msg tm;

			ipfix_msg_begin(&tm, t, sizeof(t));
			if (ipfix_msg_add_templates(&tm) < 0)
				abort();
			len = ipfix_msg_end(&tm, 0, 0, 0);
			if (dec_message(&d, t, len, NULL, NULL))
				abort();
		}
		templates = false;
		while (first + m.records < n &&
		       ipfix_msg_add_record(&m, &want[first + m.records]) == 0)
			;
		/* cap holds one record of any template, if not after the
		 * templates. */
		if (!m.records && !with_templates)
			abort();
		len = ipfix_msg_end(&m, 1, (uint32_t)first, 7);
		if (len > cap || len != m.len)
			abort();
		c.n = m.records;
		if (dec_message(&d, buf, len, each, &c) || c.at != c.n ||
		    d.seq != first || d.domain != 7)
			abort();
		first += m.records;
	}
	return 0;
}
