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

/* conntrack's name for a protocol ("tcp", "icmpv6", ...; "unknown"). */
const char *dump_proto_name(uint8_t family, uint8_t proto);

#endif
