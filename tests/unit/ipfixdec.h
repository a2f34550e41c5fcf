/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipfixdec.h - a strict reader of the messages ipfix.c writes, for the
 * unit tests, the fuzz harness and the integration test's collector:
 * it learns the templates from the message's template set (or from an
 * earlier one) and reads each data record back into a struct
 * ipfix_record, checking every length on the way. It knows only the
 * elements our templates use; anything else is an error.
 */
#ifndef NFQT_IPFIXDEC_H
#define NFQT_IPFIXDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipfix.h"

#define DEC_FIELDS_MAX 32
#define DEC_TEMPLATES_MAX 8

struct dec_field {
	uint16_t id; /* with 0x8000 when reverse (enterprise 29305) */
	uint16_t len;
};

struct dec_template {
	uint16_t id, n;
	struct dec_field f[DEC_FIELDS_MAX];
};

struct dec {
	struct dec_template t[DEC_TEMPLATES_MAX];
	unsigned nt;
	/* the last message's header */
	uint16_t version, length;
	uint32_t export_time, seq, domain;
	unsigned template_sets, data_sets;
};

static inline uint64_t dec_num(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static inline const struct dec_template *dec_find(const struct dec *d,
						  uint16_t id)
{
	for (unsigned i = 0; i < d->nt; i++)
		if (d->t[i].id == id)
			return &d->t[i];
	return NULL;
}

/* A template set's body; returns 0 or a problem. */
static inline const char *dec_templates(struct dec *d, const uint8_t *p,
					size_t len)
{
	while (len >= 4) {
		struct dec_template t = { (uint16_t)dec_num(p, 2),
					  (uint16_t)dec_num(p + 2, 2),
					  { { 0 } } };
		struct dec_template *slot = NULL;

		p += 4;
		len -= 4;
		if (t.id < 256 || t.n == 0 || t.n > DEC_FIELDS_MAX)
			return "bad template header";
		for (unsigned i = 0; i < t.n; i++) {
			if (len < 4)
				return "template cut";
			t.f[i].id = (uint16_t)dec_num(p, 2);
			t.f[i].len = (uint16_t)dec_num(p + 2, 2);
			p += 4;
			len -= 4;
			if (t.f[i].id & 0x8000) {
				if (len < 4 ||
				    dec_num(p, 4) != IPFIX_PEN_REVERSE)
					return "unknown enterprise";
				p += 4;
				len -= 4;
			}
		}
		for (unsigned i = 0; i < d->nt; i++)
			if (d->t[i].id == t.id)
				slot = &d->t[i];
		if (!slot) {
			if (d->nt == DEC_TEMPLATES_MAX)
				return "too many templates";
			slot = &d->t[d->nt++];
		}
		*slot = t;
	}
	return len ? "template set padding" : NULL;
}

/* One record of template t at p into r. */
static inline const char *dec_record(const struct dec_template *t,
				     const uint8_t *p, struct ipfix_record *r)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < t->n; i++) {
		const struct dec_field *f = &t->f[i];
		uint64_t v = f->len <= 8 ? dec_num(p, f->len) : 0;

		switch (f->id) {
		case 8:
		case 12:
		case 27:
		case 28:
			if (f->len != (f->id < 20 ? 4 : 16))
				return "bad address length";
			r->family = f->id < 20 ? 4 : 6;
			memcpy(f->id == 8 || f->id == 27 ? r->src : r->dst, p,
			       f->len);
			break;
		case 7:
			r->sport = (uint16_t)v;
			break;
		case 11:
			r->dport = (uint16_t)v;
			break;
		case 32:
		case 139:
			r->icmp_type_code = (uint16_t)v;
			break;
		case 4:
			r->proto = (uint8_t)v;
			break;
		case 6:
			r->tcp_flags = (uint8_t)v;
			break;
		case 136:
			r->end_reason = (uint8_t)v;
			break;
		case 152:
			r->start_ms = v;
			r->has_acct = true;
			break;
		case 153:
			r->end_ms = v;
			break;
		case 2:
			r->packets = v;
			break;
		case 1:
			r->bytes = v;
			break;
		case 0x8002:
			r->rev_packets = v;
			break;
		case 0x8001:
			r->rev_bytes = v;
			break;
		default:
			return "unknown element";
		}
		p += f->len;
	}
	return NULL;
}

static inline size_t dec_record_len(const struct dec_template *t)
{
	size_t len = 0;

	for (unsigned i = 0; i < t->n; i++)
		len += t->f[i].len;
	return len;
}

/*
 * Read message buf (len bytes): the header, every set, every record to
 * each() in order. Returns NULL, or what was wrong.
 */
static inline const char *
dec_message(struct dec *d, const uint8_t *buf, size_t len,
	    void (*each)(void *arg, const struct ipfix_record *r), void *arg)
{
	size_t off = IPFIX_HEADER_LEN;

	if (len < IPFIX_HEADER_LEN)
		return "shorter than a header";
	d->version = (uint16_t)dec_num(buf, 2);
	d->length = (uint16_t)dec_num(buf + 2, 2);
	d->export_time = (uint32_t)dec_num(buf + 4, 4);
	d->seq = (uint32_t)dec_num(buf + 8, 4);
	d->domain = (uint32_t)dec_num(buf + 12, 4);
	d->template_sets = d->data_sets = 0;
	if (d->version != IPFIX_VERSION)
		return "not version 10";
	if (d->length != len)
		return "length is not the datagram's";
	while (off < len) {
		uint16_t id, slen;
		const char *why;

		if (len - off < 4)
			return "set header cut";
		id = (uint16_t)dec_num(buf + off, 2);
		slen = (uint16_t)dec_num(buf + off + 2, 2);
		if (slen < 4 || slen > len - off)
			return "bad set length";
		if (id == IPFIX_TEMPLATE_SET_ID) {
			d->template_sets++;
			why = dec_templates(d, buf + off + 4, slen - 4u);
			if (why)
				return why;
		} else if (id >= 256) {
			const struct dec_template *t = dec_find(d, id);
			size_t rl, n;

			if (!t)
				return "data set without its template";
			rl = dec_record_len(t);
			if (!rl || (slen - 4u) % rl)
				return "data set is not whole records";
			d->data_sets++;
			for (n = 0; n < (slen - 4u) / rl; n++) {
				struct ipfix_record r;

				why = dec_record(t, buf + off + 4 + n * rl, &r);
				if (why)
					return why;
				if (each)
					each(arg, &r);
			}
		} else {
			return "unexpected set id";
		}
		off += slen;
	}
	return NULL;
}

#endif
