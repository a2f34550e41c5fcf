// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dump.c - flows in conntrack -L format and JSON, and their filters; see
 * dump.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dump.h"
#include "sctp.h"
#include "pkt.h"
#include "tcp.h"

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
	{ "tcp", IPPROTO_TCP },		{ "udp", IPPROTO_UDP },
	{ "udplite", IPPROTO_UDPLITE }, { "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },	{ "sctp", IPPROTO_SCTP },
	{ "dccp", IPPROTO_DCCP },	{ "gre", IPPROTO_GRE },
};

#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

const char *dump_proto_name(uint8_t family, uint8_t proto)
{
	if ((proto == IPPROTO_ICMP && family != 4) ||
	    (proto == IPPROTO_ICMPV6 && family != 6))
		return "unknown";
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return "unknown";
}

/* DCCP's ports are printed, as conntrack -L prints them: 0 and 0 since the
 * kernel tracks DCCP by addresses alone (see pkt.c). */
static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_DCCP;
}

void dump_filter_init(struct dump_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = -1;
	f->state = -1;
	f->sctp_state = -1;
}

static int parse_addr(struct dump_addr *a, const char *v, const char **why)
{
	if (prefix_parse(&a->p, v, true, why) < 0)
		return -1;
	a->set = true;
	return 0;
}

int dump_filter_add(struct dump_filter *f, const char *term, const char **why)
{
	const char *eq = strchr(term, '=');
	const char *v = eq ? eq + 1 : "";
	size_t klen = eq ? (size_t)(eq - term) : strlen(term);

	if (!eq || !*v) {
		*why = "filters are key=value";
		return -1;
	}
	if (klen == 5 && !strncmp(term, "proto", 5)) {
		char *end;
		unsigned long n;

		for (size_t i = 0; i < NPROTOS; i++) {
			if (!strcasecmp(v, protos[i].name)) {
				f->proto = protos[i].proto;
				return 0;
			}
		}
		n = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || n > 255) {
			*why = "unknown protocol";
			return -1;
		}
		f->proto = (int)n;
		return 0;
	}
	if (klen == 6 && !strncmp(term, "family", 6)) {
		if (!strcmp(v, "ipv4") || !strcmp(v, "4"))
			f->family = 4;
		else if (!strcmp(v, "ipv6") || !strcmp(v, "6"))
			f->family = 6;
		else {
			*why = "family is ipv4 or ipv6";
			return -1;
		}
		return 0;
	}
	if (klen == 5 && !strncmp(term, "state", 5)) {
		f->state = f->sctp_state = -1;
		for (uint8_t s = TCP_S_SYN_SENT; s < TCP_S_COUNT; s++)
			if (!strcasecmp(v, tcp_state_name(s)))
				f->state = s;
		for (uint8_t s = SCTP_S_CLOSED; s < SCTP_S_COUNT; s++)
			if (!strcasecmp(v, sctp_state_name(s)))
				f->sctp_state = s;
		if (f->state < 0 && f->sctp_state < 0) {
			*why = "unknown TCP or SCTP state";
			return -1;
		}
		return 0;
	}
	if (klen == 3 && !strncmp(term, "src", 3))
		return parse_addr(&f->src, v, why);
	if (klen == 3 && !strncmp(term, "dst", 3))
		return parse_addr(&f->dst, v, why);
	if (klen == 4 && !strncmp(term, "addr", 4))
		return parse_addr(&f->any, v, why);
	*why = "unknown filter (proto, family, state, src, dst, addr)";
	return -1;
}

/* The flow's original source and destination endpoints (0 or 1). */
static inline int orig_src(uint8_t flags)
{
	return (flags & FLOW_F_ORIG_HI) ? 1 : 0;
}

/* What a filter reads of a flow: its key's family and protocol, its state
 * and flags, and its two endpoints' addresses. */
static bool match(const struct dump_filter *f, uint8_t family, uint8_t proto,
		  uint8_t state, uint8_t flags, const uint32_t *a0,
		  const uint32_t *a1)
{
	const uint32_t *src = orig_src(flags) ? a1 : a0;
	const uint32_t *dst = orig_src(flags) ? a0 : a1;

	if (f->family && family != f->family)
		return false;
	if (f->proto >= 0 && proto != f->proto)
		return false;
	if ((f->state >= 0 || f->sctp_state >= 0) &&
	    !(proto == IPPROTO_TCP && state == f->state) &&
	    !(proto == IPPROTO_SCTP && state == f->sctp_state))
		return false;
	if (f->src.set && !prefix_match(&f->src.p, family, src))
		return false;
	if (f->dst.set && !prefix_match(&f->dst.p, family, dst))
		return false;
	if (f->any.set && !prefix_match(&f->any.p, family, a0) &&
	    !prefix_match(&f->any.p, family, a1))
		return false;
	return true;
}

bool dump_match(const struct dump_filter *f, const struct flow *fl)
{
	return match(f, fl->family, fl->proto, fl->state, fl->flags,
		     flow_addr(fl, 0), flow_addr(fl, 1));
}

bool dump_match_view(const struct dump_filter *f, const struct dump_view *v)
{
	const struct flow_key *k = &v->key;

	return match(f, k->family, k->proto, v->state, v->flags, k->addr[0],
		     k->addr[1]);
}

void dump_put(struct dump_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->pos >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
	if (o->pos >= o->len)
		o->pos = o->len - 1;
}

/* The numbers of one direction of a flow. */
struct tuple {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	uint16_t sport, dport;
	int type, code, id; /* ICMP queries */
};

static void tuple_of(const struct dump_view *v, int dir, struct tuple *t)
{
	const struct flow_key *k = &v->key;
	int s = orig_src(v->flags) ^ dir,
	    af = k->family == 4 ? AF_INET : AF_INET6;

	inet_ntop(af, k->addr[s], t->src, sizeof(t->src));
	inet_ntop(af, k->addr[!s], t->dst, sizeof(t->dst));
	t->sport = k->port[s];
	t->dport = k->port[!s];
	t->type = t->code = t->id = -1;
	if ((k->family == 4 && k->proto == IPPROTO_ICMP) ||
	    (k->family == 6 && k->proto == IPPROTO_ICMPV6)) {
		int req = k->port[1] >> 8;

		t->id = k->port[0];
		t->code = k->port[1] & 0xff;
		t->type = dir ? pkt_icmp_reply_type(k->family, (uint8_t)req) :
				req;
	}
}

static void put_tuple_text(struct dump_out *o, uint8_t proto,
			   const struct tuple *t)
{
	dump_put(o, "src=%s dst=%s ", t->src, t->dst);
	if (t->id >= 0)
		dump_put(o, "type=%d code=%d id=%d ", t->type, t->code, t->id);
	else if (has_ports(proto))
		dump_put(o, "sport=%u dport=%u ", t->sport, t->dport);
	else if (proto == IPPROTO_GRE)
		dump_put(o, "srckey=0x%x dstkey=0x%x ", t->sport, t->dport);
}

static void put_tuple_json(struct dump_out *o, uint8_t proto,
			   const struct tuple *t, const char *pre)
{
	dump_put(o, ",\"%ssrc\":\"%s\",\"%sdst\":\"%s\"", pre, t->src, pre,
		 t->dst);
	if (t->id >= 0)
		dump_put(o, ",\"%stype\":%d,\"%scode\":%d,\"%sid\":%d", pre,
			 t->type, pre, t->code, pre, t->id);
	else if (has_ports(proto))
		dump_put(o, ",\"%ssport\":%u,\"%sdport\":%u", pre, t->sport,
			 pre, t->dport);
}

/* A direction's counters, as conntrack -L prints them with accounting. */
static void put_acct(struct dump_out *o, const struct flow_acct *a, int dir,
		     bool json, const char *pre)
{
	if (!a)
		return;
	if (json)
		dump_put(o, ",\"%spackets\":%" PRIu64 ",\"%sbytes\":%" PRIu64,
			 pre, a->packets[dir], pre, a->bytes[dir]);
	else
		dump_put(o, "packets=%" PRIu64 " bytes=%" PRIu64 " ",
			 a->packets[dir], a->bytes[dir]);
}

size_t dump_format(char *buf, size_t len, const struct flow *fl, uint32_t left,
		   const struct flow_acct *acct, bool json)
{
	struct dump_view v = { .flags = fl->flags, .state = fl->state };

	flow_key_get(fl, &v.key);
	return dump_format_view(buf, len, &v, left, acct, json ? DUMP_JSON : 0);
}

size_t dump_format_view(char *buf, size_t len, const struct dump_view *v,
			uint32_t left, const struct flow_acct *acct,
			unsigned how)
{
	struct dump_out o = { buf, len, 0 };
	const struct flow_key *k = &v->key;
	bool json = how & DUMP_JSON, event = how & DUMP_EVENT;
	bool timeout = !(how & DUMP_NO_TIMEOUT);
	const char *state =
		k->proto == IPPROTO_TCP	 ? tcp_state_name(v->state) :
		k->proto == IPPROTO_SCTP ? sctp_state_name(v->state) :
					   NULL;
	struct tuple orig, reply;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (how & DUMP_NO_STATE)
		state = NULL;
	tuple_of(v, 0, &orig);
	tuple_of(v, 1, &reply);
	if (json) {
		dump_put(
			&o,
			"%s\"family\":\"ipv%u\",\"proto\":\"%s\",\"protonum\":%u",
			event ? "" : "{", k->family,
			dump_proto_name(k->family, k->proto), k->proto);
		if (timeout)
			dump_put(&o, ",\"timeout\":%u", left);
		if (state)
			dump_put(&o, ",\"state\":\"%s\"", state);
		put_tuple_json(&o, k->proto, &orig, "");
		put_acct(&o, acct, FLOW_DIR_ORIGINAL, true, "");
		put_tuple_json(&o, k->proto, &reply, "reply_");
		put_acct(&o, acct, FLOW_DIR_REPLY, true, "reply_");
		dump_put(&o, ",\"unreplied\":%s,\"assured\":%s%s%s",
			 v->flags & FLOW_F_SEEN_REPLY ? "false" : "true",
			 v->flags & FLOW_F_ASSURED ? "true" : "false",
			 v->flags & FLOW_F_FAST ? ",\"fast\":true" : "",
			 event ? "" : "}");
		return o.pos;
	}
	dump_put(&o, "%-8s %u ", dump_proto_name(k->family, k->proto),
		 k->proto);
	if (timeout)
		dump_put(&o, "%u ", left);
	if (state)
		dump_put(&o, "%s ", state);
	put_tuple_text(&o, k->proto, &orig);
	put_acct(&o, acct, FLOW_DIR_ORIGINAL, false, "");
	if (!(v->flags & FLOW_F_SEEN_REPLY))
		dump_put(&o, "[UNREPLIED] ");
	put_tuple_text(&o, k->proto, &reply);
	put_acct(&o, acct, FLOW_DIR_REPLY, false, "");
	if (v->flags & FLOW_F_ASSURED)
		dump_put(&o, "[ASSURED] ");
	/* Carried by the kernel's fast path: its state is the last
	 * check's (fastpath.h). */
	if (v->flags & FLOW_F_FAST)
		dump_put(&o, "[FAST] ");
	if (event) {
		/* conntrack -E's lines end with the last flag, without
		 * mark= and use= (the kernel's events leave them out). */
		if (o.pos && buf[o.pos - 1] == ' ')
			buf[--o.pos] = '\0';
	} else {
		dump_put(&o, "mark=0 use=1\n");
	}
	return o.pos;
}
