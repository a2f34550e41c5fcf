/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conf.h - the configuration: keys, defaults, parsing, printing.
 *
 * The file is `key = value` lines with `#` comments. Parsing fills a fresh
 * struct conf and reports every problem as "FILE:LINE: problem"; the caller
 * swaps the new struct in only when there were none, so a bad file never
 * leaves a half-applied configuration. One table in conf.c names every key
 * with its type, range, default and meaning: defaults, parsing and
 * printing all come from it.
 */
#ifndef NFQT_CONF_H
#define NFQT_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fastpath.h"
#include "params.h"
#include "prefix.h"
#include "timeout.h"

#define CONF_DEFAULT_PATH SYSCONFDIR "/nfqtrack/nfqtrack.conf"
#define CONF_PATH_MAX 108 /* sun_path */
#define CONF_NAME_MAX 33 /* a user or group name, 32 characters */
#define CONF_LISTEN_MAX 64 /* "[IPv6]:port" */
#define CONF_IPFIX_MAX 8 /* ipfix_collector addresses */

enum conf_verdict { CONF_ACCEPT, CONF_DROP };

/* verdict_mode's values: what an accepted packet's verdict is (mark.h). */
enum conf_verdict_mode {
	CONF_MODE_ACCEPT, /* NF_ACCEPT, the mark untouched */
	CONF_MODE_MARK, /* NF_ACCEPT with the state mark */
	CONF_MODE_REPEAT, /* NF_REPEAT with the state mark */
};

/* on_full's values: the engine's (params.h). */
enum conf_on_full {
	CONF_FULL_DROP = ON_FULL_DROP,
	CONF_FULL_EARLY_DROP = ON_FULL_EARLY_DROP,
	CONF_FULL_EVICT_IDLE = ON_FULL_EVICT_IDLE,
};

#define CONF_EXEMPT_MAX PARAMS_EXEMPT_MAX
#define CONF_QUEUES_MAX 16 /* queues (threads) at most */

struct conf {
	uint32_t queue; /* the first of queues */
	uint32_t queues[2]; /* first and last queue bound, one thread each */
	bool pin_threads; /* each queue's thread on a CPU of its own */
	uint32_t max_flows;
	uint32_t buckets; /* 0: derived from max_flows */
	uint32_t queue_maxlen;
	uint32_t copy_range;
	uint32_t rcvbuf;
	bool fail_open;
	uint32_t invalid_verdict; /* enum conf_verdict */
	uint32_t fragment_verdict; /* enum conf_verdict */
	uint32_t copy_range_verdict; /* enum conf_verdict */
	uint32_t verdict_mode; /* enum conf_verdict_mode */
	uint32_t mark_mask; /* 6 contiguous bits (mark.h) */
	bool checksum; /* verify what the kernel has not */
	bool tcp_loose; /* pick up connections mid-stream */
	bool tcp_liberal; /* no sequence-window checks */
	bool accounting; /* packets and bytes per flow and direction */
	bool tcp_ignore_invalid_rst;
	uint32_t tcp_max_retrans;
	uint32_t timeout[TMO_COUNT];
	uint32_t on_full; /* enum conf_on_full */
	uint32_t reserve; /* of max_flows, for exempt flows */
	uint32_t midstream_max_percent; /* of max_flows, for TCP pickups */
	uint32_t max_proto[PC_COUNT]; /* 0: no cap */
	uint32_t max_flows_per_source; /* 0: no limit */
	uint32_t max_new_per_source; /* per second; 0: no limit */
	uint32_t max_new_per_source_burst; /* 0: max_new_per_source */
	uint32_t source_prefix4, source_prefix6;
	uint32_t max_sources; /* 0: derived from max_flows */
	uint32_t nexempt;
	struct prefix exempt[CONF_EXEMPT_MAX];
	uint32_t exempt_max_percent; /* of max_flows, for exempt flows */
	bool exempt_evict_assured; /* may evict others' assured flows */
	uint32_t adaptive_start, adaptive_end; /* % of max_flows; 0, 0: off */
	uint32_t adaptive_unassured_factor;
	uint32_t warn_at; /* % of max_flows; 0: off */
	bool enforce; /* no: shadow mode */
	uint32_t report_interval; /* seconds; 0: off */
	uint32_t log_rate;
	uint32_t log_burst;
	uint32_t syslog_facility; /* LOG_DAEMON, ... */
	char syslog_socket[CONF_PATH_MAX];
	char ctl_socket[CONF_PATH_MAX];
	char user[CONF_NAME_MAX]; /* run as, once the queue is bound */
	char group[CONF_NAME_MAX]; /* of the control socket */
	char metrics_listen[CONF_LISTEN_MAX]; /* "off", "ADDR:PORT" */
	bool fastpath; /* admitted flows carried by nftables (fastpath.h) */
	uint32_t fastpath_carrier; /* enum fastpath_carrier; restart only */
	bool fastpath_kernel_admit; /* a pure SYN admitted in the kernel under
				     * the daemon's budget (bpf carrier) */
	char fastpath_table[FASTPATH_TABLE_MAX]; /* restart only */
	uint32_t fastpath_admit_mark; /* one bit, outside mark_mask */
	uint32_t fastpath_udp_after; /* packets; 0: no UDP fast path */
	uint32_t fastpath_check_interval; /* seconds: fast flows asked at least
					   * this often */
	/* IPFIX export (export.h): collectors' "ADDR:PORT"s, numeric. */
	uint32_t nipfix;
	char ipfix_collector[CONF_IPFIX_MAX][CONF_LISTEN_MAX];
	uint32_t ipfix_template_interval; /* seconds */
	uint32_t ipfix_observation_domain;
	uint32_t ipfix_active_timeout; /* seconds; 0: off */
};

/* Receives each problem, already formatted as "FILE:LINE: problem". */
typedef void (*conf_error_fn)(void *arg, const char *msg);

/* Set every key to its built-in default. */
void conf_defaults(struct conf *c);

/*
 * Parse the stream f, named name in messages, into c, starting from the
 * defaults. Returns the number of problems found; each went to err.
 */
int conf_parse(struct conf *c, FILE *f, const char *name, conf_error_fn err,
	       void *arg);

/* conf_parse() on the file at path. Not being able to read it counts as
 * one problem; errno then tells why (ENOENT for a missing file). */
int conf_load(struct conf *c, const char *path, conf_error_fn err, void *arg);

/* Print every key as "key = value", in the file's syntax. */
void conf_print(const struct conf *c, FILE *out);

/* How many queues (and threads) the configuration binds. */
static inline uint32_t conf_queue_count(const struct conf *c)
{
	return c->queues[1] - c->queues[0] + 1;
}

/* The bucket count in effect: buckets, or derived from max_flows. */
uint32_t conf_buckets(const struct conf *c);

/* The source table's size in effect: max_sources, or derived. */
uint32_t conf_max_sources(const struct conf *c);

/* Is addr (of family) in the exempt list? */
bool conf_exempt(const struct conf *c, uint8_t family, const void *addr);

/*
 * The address of a listen value ("127.0.0.1:9469", "[::1]:9469") into
 * addr (a struct sockaddr_in or _in6, *len bytes). Returns 0, -1 for a bad
 * value, or 1 for "off".
 */
struct sockaddr_storage;
int conf_listen_addr(const char *text, struct sockaddr_storage *addr,
		     unsigned int *len);

/*
 * The kernel fast path's parameters under c: the table, the admit mark,
 * mark_mask, the set size (2 x max_flows: a flow is two elements), the
 * accounting and UDP switches and the timeouts of the matching states
 * (timeout_tcp_syn_recv for a flow just admitted, _established, _time_wait
 * after a FIN, _close after a RST, timeout_udp_stream). Pure.
 */
void conf_fastpath_params(const struct conf *c, struct fastpath_params *p);

/* "nftables" or "bpf" (enum fastpath_carrier); "?" for another value. */
const char *conf_carrier_name(uint32_t v);

/* Name of a verdict_mode value ("repeat"). */
const char *conf_verdict_mode_name(uint32_t v);

/* Name of an on_full value ("early_drop"). */
const char *conf_on_full_name(uint32_t v);

/* Name of a syslog facility value ("daemon"), or NULL. */
const char *conf_facility_name(uint32_t facility);

#endif
