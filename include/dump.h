/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump.h - the flow table as people and scripts read it (the kernel's
 * ctnetlink "dumps" it for conntrack -L): one line per flow in the format
 * of `conntrack -L`, or one JSON object per flow; and filters by protocol,
 * address and state. What `nfqtrackctl list`, `get`, `flush` and
 * `nfqtrackd --dump` print and select. ("List" alone means the age lists
 * of flow.h.)
 *
 * The line format is conntrack's own, field for field, so that what
 * admins and their scripts already read from the kernel's table reads the
 * same from nfqtrackd's:
 *
 *   tcp      6 431999 ESTABLISHED src=192.0.2.7 dst=198.51.100.1
 *     sport=51324 dport=443 src=198.51.100.1 dst=192.0.2.7 sport=443
 *     dport=51324 [ASSURED] mark=0 use=1
 *
 * (one line). Pure: formats into caller buffers.
 */
#ifndef NFQT_DUMP_H
#define NFQT_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "prefix.h"

struct dump_filter {
	int proto; /* protocol number, or -1 for any */
	uint8_t family; /* 4, 6, or 0 for any */
	int state; /* TCP state of that name, or -1 */
	int sctp_state; /* SCTP state of that name, or -1 */
	struct dump_addr {
		bool set;
		struct prefix p;
	} src, dst, any; /* original source, destination, either end */
};

/* Match everything. */
void dump_filter_init(struct dump_filter *f);

/*
 * Add one "key=value" term to f: proto=tcp|udp|...|NUMBER,
 * family=ipv4|ipv6, state=ESTABLISHED|... (a TCP or SCTP state: both
 * protocols' flows in a state of that name), src=ADDR[/BITS],
 * dst=ADDR[/BITS], addr=ADDR[/BITS]. Returns 0, or -1 with *why set.
 */
int dump_filter_add(struct dump_filter *f, const char *term, const char **why);

bool dump_match(const struct dump_filter *f, const struct flow *fl);

/* A flow as dump reads it, out of the table: an event's (flowevent.h). */
struct dump_view {
	struct flow_key key; /* canonical, as the table's */
	uint8_t flags; /* enum flow_flags */
	uint8_t state; /* protocol state */
};

bool dump_match_view(const struct dump_filter *f, const struct dump_view *v);

/*
 * Write flow fl, which has left seconds to live, as a conntrack -L line
 * (with '\n'), or as a JSON object (no newline) when json; with its
 * counters after each direction's tuple when acct is not NULL. Returns the
 * length written (at most len - 1, always NUL-terminated); 450 bytes are
 * always enough.
 */
#define DUMP_LINE_MAX 512
size_t dump_format(char *buf, size_t len, const struct flow *fl, uint32_t left,
		   const struct flow_acct *acct, bool json);

/* How dump_format_view() writes. */
enum dump_how {
	DUMP_JSON = 1 << 0, /* a JSON object, not a conntrack line */
	DUMP_EVENT = 1 << 1, /* the flow of a conntrack -E line: no mark=
			      * use= and no newline; JSON: no braces, the
			      * caller's object holds the members */
	DUMP_NO_TIMEOUT = 1 << 2, /* left is unknown: leave it out */
	DUMP_NO_STATE = 1 << 3, /* the state is not the flow's: leave it out */
};

/* dump_format() of view v, as how says (enum dump_how). The same bounds:
 * DUMP_LINE_MAX is always enough. */
size_t dump_format_view(char *buf, size_t len, const struct dump_view *v,
			uint32_t left, const struct flow_acct *acct,
			unsigned how);

/* Appends to a buffer (len > 0), never past its end, always
 * NUL-terminated: what the formatters write with. */
struct dump_out {
	char *buf;
	size_t len, pos;
};

void dump_put(struct dump_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* conntrack's name for a protocol ("tcp", "icmpv6", ...; "unknown"). */
const char *dump_proto_name(uint8_t family, uint8_t proto);

#endif
