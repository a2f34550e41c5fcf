/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipfix.h - IPFIX (RFC 7011, information elements of RFC 7012) messages
 * for flow records: the encoder of the exporter (export.h).
 *
 * Pure: it builds messages in a buffer the caller owns, allocates
 * nothing, knows no socket and no clock. Four fixed templates, one per
 * family with and without counters (accounting = yes or no), each a
 * record per flow: a biflow of RFC 5103, the reply direction's counters
 * in the reverse information elements (enterprise 29305), which nfdump
 * reads as its "out" packets and bytes, so that one flow of the table is
 * one flow at the collector (two records per flow, one per direction,
 * would show two flows, with the reply's addresses swapped, and no
 * collector pairs them back by itself).
 *
 * A message is begun, filled with the template set and records until one
 * does not fit, and ended with its header's fields; it never exceeds the
 * length given at its beginning (the exporter's 1400 bytes, under any
 * path MTU that UDP meets in practice, so that no record rides a
 * fragment).
 */
#ifndef NFQT_IPFIX_H
#define NFQT_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flowevent.h"

#define IPFIX_VERSION 10
#define IPFIX_HEADER_LEN 16
#define IPFIX_SET_HEADER_LEN 4
#define IPFIX_TEMPLATE_SET_ID 2
/* RFC 5103's enterprise number for the reverse information elements. */
#define IPFIX_PEN_REVERSE 29305u

/* The templates, their IDs IPFIX_TEMPLATE_ID(t). */
enum ipfix_template {
	IPFIX_T_V4, /* no counters: accounting = no */
	IPFIX_T_V6,
	IPFIX_T_V4_ACCT, /* with counters both ways, start, TCP flags */
	IPFIX_T_V6_ACCT,
	IPFIX_TEMPLATES
};

#define IPFIX_TEMPLATE_ID(t) (256u + (t))

/* flowEndReason's values (RFC 7012, IANA "flowEndReason"). */
enum ipfix_end {
	IPFIX_END_IDLE = 1,
	IPFIX_END_ACTIVE = 2,
	IPFIX_END_DETECTED = 3, /* end of flow detected (FIN, RST) */
	IPFIX_END_FORCED = 4,
	IPFIX_END_RESOURCES = 5, /* lack of resources */
};

/* One flow record, in host order, times wall-clock milliseconds. */
struct ipfix_record {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint8_t tcp_flags; /* has_acct */
	uint8_t end_reason; /* enum ipfix_end */
	bool has_acct;
	uint8_t src[16], dst[16]; /* the originator's, the responder's */
	uint16_t sport, dport; /* 0 for protocols without ports, ICMP */
	uint16_t icmp_type_code; /* type << 8 | code; 0 if not ICMP */
	uint64_t start_ms, end_ms; /* start_ms: has_acct */
	uint64_t packets, bytes; /* original direction, since the last
				  * record of the flow (has_acct) */
	uint64_t rev_packets, rev_bytes; /* reply direction, likewise */
};

/* A message under construction in a caller's buffer. */
struct ipfix_msg {
	uint8_t *buf;
	size_t cap, len;
	size_t set_off; /* the open set's header; 0: none open */
	uint16_t set_id;
	uint32_t records; /* data records in the message */
};

/*
 * The record of flow event ev (FEV_DESTROY or FEV_ACTIVE) into r: the
 * originator as source, counters what is new since the flow's last
 * FEV_ACTIVE (packets - sent_packets), the end reason from ev's type,
 * end and state; engine times moved to wall-clock time by adding
 * wall_offset_ms. Returns 0, or -1 for an event that is no record (other
 * types). O(1).
 */
int ipfix_record_from_event(struct ipfix_record *r, const struct flow_event *ev,
			    int64_t wall_offset_ms);

/* flowEndReason of a DESTROY for end, with TCP state state (a TCP flow
 * that expired after its FIN or RST ended detected, not idle). */
enum ipfix_end ipfix_end_reason(enum flow_end end, uint8_t proto,
				uint8_t state);

/* The template r goes with. */
enum ipfix_template ipfix_record_template(const struct ipfix_record *r);

/* Bytes of r's data record. */
size_t ipfix_record_len(const struct ipfix_record *r);

/* Start message m in buf (cap bytes, at least IPFIX_HEADER_LEN + the
 * template set, 512 bytes is plenty). */
void ipfix_msg_begin(struct ipfix_msg *m, uint8_t *buf, size_t cap);

/* Add the template set with every template. Returns 0, or -1 when it
 * does not fit (nothing added). */
int ipfix_msg_add_templates(struct ipfix_msg *m);

/* Add r, in a data set of its template (the open one, or a new one).
 * Returns 0, or -1 when it does not fit (nothing added): end and send
 * the message, begin another. O(1), about 30 ns. */
int ipfix_msg_add_record(struct ipfix_msg *m, const struct ipfix_record *r);

/*
 * Close the open set and write the header: export_time (seconds since
 * the epoch), seq (the data records of this transport session and domain
 * sent before this message) and domain (the observation domain). Returns
 * the message's length.
 */
size_t ipfix_msg_end(struct ipfix_msg *m, uint32_t export_time, uint32_t seq,
		     uint32_t domain);

#endif
