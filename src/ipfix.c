// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ipfix.c - IPFIX messages for flow records; see ipfix.h.
 *
 * The templates are tables of information elements; the template set
 * and every record are written from the same tables, so that a record
 * always matches the template it claims. Numbers go out in network order
 * at their element's length (tcpControlBits in one byte: RFC 7011's
 * reduced-size encoding, our flags are the low eight).
 */
#include <string.h>
#include <netinet/in.h>

#include "ipfix.h"
#include "tcp.h"

/* Information elements (IANA "IPFIX Information Elements"). */
enum ie {
	IE_OCTETS = 1, /* octetDeltaCount */
	IE_PACKETS = 2, /* packetDeltaCount */
	IE_PROTO = 4, /* protocolIdentifier */
	IE_TCP_FLAGS = 6, /* tcpControlBits */
	IE_SPORT = 7, /* sourceTransportPort */
	IE_SRC4 = 8, /* sourceIPv4Address */
	IE_DPORT = 11, /* destinationTransportPort */
	IE_DST4 = 12, /* destinationIPv4Address */
	IE_SRC6 = 27, /* sourceIPv6Address */
	IE_DST6 = 28, /* destinationIPv6Address */
	IE_ICMP4 = 32, /* icmpTypeCodeIPv4 */
	IE_ICMP6 = 139, /* icmpTypeCodeIPv6 */
	IE_END_REASON = 136, /* flowEndReason */
	IE_START_MS = 152, /* flowStartMilliseconds */
	IE_END_MS = 153, /* flowEndMilliseconds */
	/* Ours: the reverse direction's counters (RFC 5103), written with
	 * the enterprise bit and IPFIX_PEN_REVERSE. */
	IE_REV_OCTETS = 0x8000 | IE_OCTETS,
	IE_REV_PACKETS = 0x8000 | IE_PACKETS,
};

struct field {
	uint16_t id; /* with 0x8000: enterprise IPFIX_PEN_REVERSE */
	uint16_t len;
};

#define F_ADDR4            \
	{ IE_SRC4, 4 },    \
	{                  \
		IE_DST4, 4 \
	}
#define F_ADDR6             \
	{ IE_SRC6, 16 },    \
	{                   \
		IE_DST6, 16 \
	}
#define F_KEY(icmp)                                        \
	{ IE_SPORT, 2 }, { IE_DPORT, 2 }, { IE_PROTO, 1 }, \
	{                                                  \
		(icmp), 2                                  \
	}
#define F_ACCT                                                         \
	{ IE_TCP_FLAGS, 1 }, { IE_END_REASON, 1 }, { IE_START_MS, 8 }, \
		{ IE_END_MS, 8 }, { IE_PACKETS, 8 }, { IE_OCTETS, 8 }, \
		{ IE_REV_PACKETS, 8 },                                 \
	{                                                              \
		IE_REV_OCTETS, 8                                       \
	}
#define F_NOACCT              \
	{ IE_END_REASON, 1 }, \
	{                     \
		IE_END_MS, 8  \
	}

static const struct field t_v4[] = { F_ADDR4, F_KEY(IE_ICMP4), F_NOACCT };
static const struct field t_v6[] = { F_ADDR6, F_KEY(IE_ICMP6), F_NOACCT };
static const struct field t_v4_acct[] = { F_ADDR4, F_KEY(IE_ICMP4), F_ACCT };
static const struct field t_v6_acct[] = { F_ADDR6, F_KEY(IE_ICMP6), F_ACCT };

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct tmpl {
	const struct field *f;
	uint16_t n;
	uint16_t record_len; /* sum of the fields' lengths */
} templates[IPFIX_TEMPLATES] = {
	[IPFIX_T_V4] = { t_v4, NFIELDS(t_v4), 24 },
	[IPFIX_T_V6] = { t_v6, NFIELDS(t_v6), 48 },
	[IPFIX_T_V4_ACCT] = { t_v4_acct, NFIELDS(t_v4_acct), 65 },
	[IPFIX_T_V6_ACCT] = { t_v6_acct, NFIELDS(t_v6_acct), 89 },
};

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

enum ipfix_end ipfix_end_reason(enum flow_end end, uint8_t proto, uint8_t state)
{
	switch (end) {
	case FEND_CLOSED:
	case FEND_REOPENED:
		return IPFIX_END_DETECTED;
	case FEND_EVICTED:
		/* Evicted to make room in a full table: the metering
		 * process's constraint, as RFC 7012 describes 5. */
		return IPFIX_END_RESOURCES;
	case FEND_FLUSHED:
	case FEND_STOPPED:
		return IPFIX_END_FORCED;
	default:
		/* Its timeout ran out: after a FIN both ways or a RST the
		 * end was seen, the timeout only kept the ports. */
		if (proto == IPPROTO_TCP &&
		    (state == TCP_S_TIME_WAIT || state == TCP_S_CLOSE))
			return IPFIX_END_DETECTED;
		return IPFIX_END_IDLE;
	}
}

/* What is new since the last record. Counters only grow: a sent total
 * above the total would be a bug upstream, sent as 0, not 2^64 - n. */
static uint64_t delta(uint64_t total, uint64_t sent)
{
	return sent <= total ? total - sent : 0;
}

int ipfix_record_from_event(struct ipfix_record *r, const struct flow_event *ev,
			    int64_t wall_offset_ms)
{
	const struct flow_key *k = &ev->key;
	int s = (ev->flags & FLOW_F_ORIG_HI) ? 1 : 0; /* the originator */
	size_t alen = k->family == 6 ? 16 : 4;
	bool icmp = (k->family == 4 && k->proto == IPPROTO_ICMP) ||
		    (k->family == 6 && k->proto == IPPROTO_ICMPV6);

	if (ev->type != FEV_DESTROY && ev->type != FEV_ACTIVE)
		return -1;
	memset(r, 0, sizeof(*r));
	r->family = k->family == 6 ? 6 : 4;
	r->proto = k->proto;
	memcpy(r->src, k->addr[s], alen);
	memcpy(r->dst, k->addr[!s], alen);
	if (icmp) {
		/* The key's ports of an ICMP query: the identifier on the
		 * originator's side, request type and code on the other. */
		r->icmp_type_code = k->port[!s];
	} else if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP ||
		   k->proto == IPPROTO_UDPLITE || k->proto == IPPROTO_SCTP) {
		/* Transport ports; GRE's key holds its keys (PPTP's call
		 * IDs), which are no ports: 0, as for other protocols. */
		r->sport = k->port[s];
		r->dport = k->port[!s];
	}
	r->end_reason = ev->type == FEV_ACTIVE ?
				IPFIX_END_ACTIVE :
				ipfix_end_reason((enum flow_end)ev->end,
						 k->proto, ev->state);
	/* Unsigned: modulo 2^64, never a signed overflow, whatever the
	 * clock says. */
	r->end_ms = ev->last_ms + (uint64_t)wall_offset_ms;
	r->has_acct = ev->has_acct;
	if (ev->has_acct) {
		r->tcp_flags = ev->tcp_flags;
		r->start_ms = ev->start_ms + (uint64_t)wall_offset_ms;
		r->packets = delta(ev->packets[0], ev->sent_packets[0]);
		r->bytes = delta(ev->bytes[0], ev->sent_bytes[0]);
		r->rev_packets = delta(ev->packets[1], ev->sent_packets[1]);
		r->rev_bytes = delta(ev->bytes[1], ev->sent_bytes[1]);
	}
	return 0;
}

enum ipfix_template ipfix_record_template(const struct ipfix_record *r)
{
	if (r->family == 6)
		return r->has_acct ? IPFIX_T_V6_ACCT : IPFIX_T_V6;
	return r->has_acct ? IPFIX_T_V4_ACCT : IPFIX_T_V4;
}

size_t ipfix_record_len(const struct ipfix_record *r)
{
	return templates[ipfix_record_template(r)].record_len;
}

void ipfix_msg_begin(struct ipfix_msg *m, uint8_t *buf, size_t cap)
{
	m->buf = buf;
	m->cap = cap > 65535 ? 65535 : cap; /* the header's length field */
	m->len = IPFIX_HEADER_LEN;
	m->set_off = 0;
	m->set_id = 0;
	m->records = 0;
}

/* Close the open set: its length into its header. */
static void close_set(struct ipfix_msg *m)
{
	if (!m->set_off)
		return;
	put16(m->buf + m->set_off + 2, (uint16_t)(m->len - m->set_off));
	m->set_off = 0;
	m->set_id = 0;
}

static size_t templates_len(void)
{
	size_t len = IPFIX_SET_HEADER_LEN;

	for (int t = 0; t < IPFIX_TEMPLATES; t++) {
		len += 4 + 4u * templates[t].n;
		for (unsigned i = 0; i < templates[t].n; i++)
			len += templates[t].f[i].id & 0x8000 ? 4 : 0;
	}
	return len;
}

int ipfix_msg_add_templates(struct ipfix_msg *m)
{
	size_t need = templates_len();
	uint8_t *p;

	if (m->len + need > m->cap)
		return -1;
	close_set(m);
	p = m->buf + m->len;
	p = put16(p, IPFIX_TEMPLATE_SET_ID);
	p = put16(p, (uint16_t)need);
	for (int t = 0; t < IPFIX_TEMPLATES; t++) {
		const struct tmpl *tp = &templates[t];

		p = put16(p, (uint16_t)IPFIX_TEMPLATE_ID(t));
		p = put16(p, tp->n);
		for (unsigned i = 0; i < tp->n; i++) {
			p = put16(p, tp->f[i].id);
			p = put16(p, tp->f[i].len);
			if (tp->f[i].id & 0x8000)
				p = put32(p, IPFIX_PEN_REVERSE);
		}
	}
	m->len += need;
	return 0;
}

/* One field of r at p; returns the end. */
static uint8_t *put_field(uint8_t *p, const struct field *f,
			  const struct ipfix_record *r)
{
	switch (f->id) {
	case IE_SRC4:
	case IE_SRC6:
		memcpy(p, r->src, f->len);
		return p + f->len;
	case IE_DST4:
	case IE_DST6:
		memcpy(p, r->dst, f->len);
		return p + f->len;
	case IE_SPORT:
		return put16(p, r->sport);
	case IE_DPORT:
		return put16(p, r->dport);
	case IE_ICMP4:
	case IE_ICMP6:
		return put16(p, r->icmp_type_code);
	case IE_PROTO:
		*p = r->proto;
		return p + 1;
	case IE_TCP_FLAGS:
		*p = r->tcp_flags;
		return p + 1;
	case IE_END_REASON:
		*p = r->end_reason;
		return p + 1;
	case IE_START_MS:
		return put64(p, r->start_ms);
	case IE_END_MS:
		return put64(p, r->end_ms);
	case IE_PACKETS:
		return put64(p, r->packets);
	case IE_OCTETS:
		return put64(p, r->bytes);
	case IE_REV_PACKETS:
		return put64(p, r->rev_packets);
	case IE_REV_OCTETS:
		return put64(p, r->rev_bytes);
	}
	return p; /* not reached: the tables name only the above */
}

int ipfix_msg_add_record(struct ipfix_msg *m, const struct ipfix_record *r)
{
	enum ipfix_template t = ipfix_record_template(r);
	const struct tmpl *tp = &templates[t];
	uint16_t id = (uint16_t)IPFIX_TEMPLATE_ID(t);
	size_t need = tp->record_len;
	uint8_t *p;

	if (m->set_id != id)
		need += IPFIX_SET_HEADER_LEN;
	if (m->len + need > m->cap)
		return -1;
	if (m->set_id != id) {
		close_set(m);
		m->set_off = m->len;
		m->set_id = id;
		put16(m->buf + m->len, id);
		m->len += IPFIX_SET_HEADER_LEN;
	}
	p = m->buf + m->len;
	for (unsigned i = 0; i < tp->n; i++)
		p = put_field(p, &tp->f[i], r);
	m->len += tp->record_len;
	m->records++;
	return 0;
}

size_t ipfix_msg_end(struct ipfix_msg *m, uint32_t export_time, uint32_t seq,
		     uint32_t domain)
{
	uint8_t *p = m->buf;

	close_set(m);
	p = put16(p, IPFIX_VERSION);
	p = put16(p, (uint16_t)m->len);
	p = put32(p, export_time);
	p = put32(p, seq);
	put32(p, domain);
	return m->len;
}
