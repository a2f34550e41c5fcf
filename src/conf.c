// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * conf.c - configuration keys and their parser; see conf.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "conf.h"
#include "mark.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

enum key_type {
	K_UINT, /* plain number */
	K_SIZE, /* bytes, with optional K, M or G (powers of 1024) */
	K_SECONDS, /* seconds, with optional s, m, h or d */
	K_BOOL, /* yes/no */
	K_VERDICT, /* accept/drop */
	K_FACILITY,
	K_PATH, /* absolute path that fits a socket address */
	K_POW2, /* 0 or a power of two */
	K_ON_FULL, /* drop/early_drop/evict_idle */
	K_PREFIXES, /* comma-separated prefixes; lines add up */
	K_NAME, /* a user or group name */
	K_LISTEN, /* "off" or ADDR:PORT */
	K_RANGE, /* N or N-M: two uint32, first and last */
	K_MODE, /* accept/mark/repeat */
	K_MASK, /* a mark mask: 6 contiguous bits, decimal or 0x hex */
	K_BIT, /* one mark bit, decimal or 0x hex */
	K_TABLE, /* an nftables table name: [A-Za-z0-9_]{1,31} */
	K_COLLECTORS, /* comma-separated ADDR:PORTs; lines add up */
	K_CARRIER, /* nftables/bpf */
};

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	uint64_t min, max;
	const char *def;
};

#define OFF(field) offsetof(struct conf, field)
#define TMO(cls) (OFF(timeout) + (cls) * sizeof(uint32_t))
#define DAY 86400u

/*
 * Every key. The defaults are the kernel's where a kernel sysctl exists
 * (nf_conntrack_max, nf_conntrack_*_timeout*); the man page and
 * conf/nfqtrack.conf explain each one, and a test keeps them in step.
 */
static const struct key keys[] = {
	{ "queue", K_UINT, OFF(queue), 0, 65535, "0" },
	{ "queues", K_RANGE, OFF(queues), 0, 65535, "0" },
	{ "pin_threads", K_BOOL, OFF(pin_threads), 0, 1, "no" },
	{ "max_flows", K_UINT, OFF(max_flows), 1, 1u << 30, "262144" },
	{ "buckets", K_POW2, OFF(buckets), 0, 1u << 30, "0" },
	{ "fail_open", K_BOOL, OFF(fail_open), 0, 1, "yes" },
	{ "queue_maxlen", K_UINT, OFF(queue_maxlen), 1, 1u << 20, "4096" },
	{ "copy_range", K_SIZE, OFF(copy_range), 128, 65531, "512" },
	{ "rcvbuf", K_SIZE, OFF(rcvbuf), 65536, 1u << 30, "8M" },
	{ "invalid_verdict", K_VERDICT, OFF(invalid_verdict), 0, 1, "accept" },
	{ "fragment_verdict", K_VERDICT, OFF(fragment_verdict), 0, 1,
	  "accept" },
	{ "copy_range_verdict", K_VERDICT, OFF(copy_range_verdict), 0, 1,
	  "drop" },
	{ "verdict_mode", K_MODE, OFF(verdict_mode), 0, 2, "accept" },
	{ "mark_mask", K_MASK, OFF(mark_mask), 0, 0, "0x3f000000" },
	{ "checksum", K_BOOL, OFF(checksum), 0, 1, "yes" },
	{ "tcp_loose", K_BOOL, OFF(tcp_loose), 0, 1, "yes" },
	{ "tcp_liberal", K_BOOL, OFF(tcp_liberal), 0, 1, "no" },
	{ "accounting", K_BOOL, OFF(accounting), 0, 1, "no" },
	{ "tcp_max_retrans", K_UINT, OFF(tcp_max_retrans), 0, 255, "3" },
	{ "tcp_ignore_invalid_rst", K_BOOL, OFF(tcp_ignore_invalid_rst), 0, 1,
	  "no" },
	{ "timeout_tcp_syn_sent", K_SECONDS, TMO(TCP_S_SYN_SENT), 1, 365 * DAY,
	  "120" },
	{ "timeout_tcp_syn_recv", K_SECONDS, TMO(TCP_S_SYN_RECV), 1, 365 * DAY,
	  "60" },
	{ "timeout_tcp_established", K_SECONDS, TMO(TCP_S_ESTABLISHED), 1,
	  365 * DAY, "432000" },
	{ "timeout_tcp_fin_wait", K_SECONDS, TMO(TCP_S_FIN_WAIT), 1, 365 * DAY,
	  "120" },
	{ "timeout_tcp_close_wait", K_SECONDS, TMO(TCP_S_CLOSE_WAIT), 1,
	  365 * DAY, "60" },
	{ "timeout_tcp_last_ack", K_SECONDS, TMO(TCP_S_LAST_ACK), 1, 365 * DAY,
	  "30" },
	{ "timeout_tcp_time_wait", K_SECONDS, TMO(TCP_S_TIME_WAIT), 1,
	  365 * DAY, "120" },
	{ "timeout_tcp_close", K_SECONDS, TMO(TCP_S_CLOSE), 1, 365 * DAY,
	  "10" },
	{ "timeout_tcp_syn_sent2", K_SECONDS, TMO(TCP_S_SYN_SENT2), 1,
	  365 * DAY, "120" },
	{ "timeout_tcp_max_retrans", K_SECONDS, TMO(TMO_TCP_RETRANS), 1,
	  365 * DAY, "300" },
	{ "timeout_tcp_unacknowledged", K_SECONDS, TMO(TMO_TCP_UNACK), 1,
	  365 * DAY, "300" },
	{ "timeout_udp", K_SECONDS, TMO(TMO_UDP), 1, 365 * DAY, "30" },
	{ "timeout_udp_stream", K_SECONDS, TMO(TMO_UDP_STREAM), 1, 365 * DAY,
	  "120" },
	{ "timeout_gre", K_SECONDS, TMO(TMO_GRE), 1, 365 * DAY, "30" },
	{ "timeout_gre_stream", K_SECONDS, TMO(TMO_GRE_STREAM), 1, 365 * DAY,
	  "180" },
	{ "timeout_icmp", K_SECONDS, TMO(TMO_ICMP), 1, 365 * DAY, "30" },
	{ "timeout_icmpv6", K_SECONDS, TMO(TMO_ICMPV6), 1, 365 * DAY, "30" },
	{ "timeout_generic", K_SECONDS, TMO(TMO_GENERIC), 1, 365 * DAY, "600" },
	{ "timeout_sctp_closed", K_SECONDS, TMO(TMO_SCTP(SCTP_S_CLOSED)), 1,
	  365 * DAY, "10" },
	{ "timeout_sctp_cookie_wait", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_COOKIE_WAIT)), 1, 365 * DAY, "3" },
	{ "timeout_sctp_cookie_echoed", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_COOKIE_ECHOED)), 1, 365 * DAY, "3" },
	{ "timeout_sctp_established", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_ESTABLISHED)), 1, 365 * DAY, "210" },
	{ "timeout_sctp_shutdown_sent", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_SHUTDOWN_SENT)), 1, 365 * DAY, "3" },
	{ "timeout_sctp_shutdown_recd", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_SHUTDOWN_RECD)), 1, 365 * DAY, "3" },
	{ "timeout_sctp_shutdown_ack_sent", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_SHUTDOWN_ACK_SENT)), 1, 365 * DAY, "3" },
	{ "timeout_sctp_heartbeat_sent", K_SECONDS,
	  TMO(TMO_SCTP(SCTP_S_HEARTBEAT_SENT)), 1, 365 * DAY, "30" },
	{ "on_full", K_ON_FULL, OFF(on_full), 0, 2, "early_drop" },
	{ "reserve", K_UINT, OFF(reserve), 0, 1u << 30, "0" },
	{ "midstream_max_percent", K_UINT, OFF(midstream_max_percent), 1, 100,
	  "10" },
	{ "exempt", K_PREFIXES, OFF(exempt), 0, 0, "none" },
	{ "exempt_max_percent", K_UINT, OFF(exempt_max_percent), 1, 100, "25" },
	{ "exempt_evict_assured", K_BOOL, OFF(exempt_evict_assured), 0, 1,
	  "no" },
	{ "max_flows_tcp", K_UINT, OFF(max_proto[PC_TCP]), 0, 1u << 30, "0" },
	{ "max_flows_udp", K_UINT, OFF(max_proto[PC_UDP]), 0, 1u << 30, "0" },
	{ "max_flows_icmp", K_UINT, OFF(max_proto[PC_ICMP]), 0, 1u << 30, "0" },
	{ "max_flows_other", K_UINT, OFF(max_proto[PC_OTHER]), 0, 1u << 30,
	  "0" },
	{ "max_flows_per_source", K_UINT, OFF(max_flows_per_source), 0,
	  1u << 30, "0" },
	{ "max_new_per_source", K_UINT, OFF(max_new_per_source), 0, 1000000,
	  "0" },
	{ "max_new_per_source_burst", K_UINT, OFF(max_new_per_source_burst), 0,
	  1000000, "0" },
	{ "source_prefix4", K_UINT, OFF(source_prefix4), 1, 32, "32" },
	{ "source_prefix6", K_UINT, OFF(source_prefix6), 1, 128, "64" },
	{ "max_sources", K_UINT, OFF(max_sources), 0, 1u << 30, "0" },
	{ "adaptive_start", K_UINT, OFF(adaptive_start), 0, 1000, "0" },
	{ "adaptive_end", K_UINT, OFF(adaptive_end), 0, 1000, "0" },
	{ "adaptive_unassured_factor", K_UINT, OFF(adaptive_unassured_factor),
	  1, 100, "2" },
	{ "warn_at", K_UINT, OFF(warn_at), 0, 100, "80" },
	{ "enforce", K_BOOL, OFF(enforce), 0, 1, "yes" },
	{ "report_interval", K_SECONDS, OFF(report_interval), 0, DAY, "10" },
	{ "log_rate", K_UINT, OFF(log_rate), 0, 1000000, "2" },
	{ "log_burst", K_UINT, OFF(log_burst), 1, 1000000, "10" },
	{ "syslog_facility", K_FACILITY, OFF(syslog_facility), 0, 0, "daemon" },
	{ "syslog_socket", K_PATH, OFF(syslog_socket), 0, 0, "/dev/log" },
	{ "ctl_socket", K_PATH, OFF(ctl_socket), 0, 0,
	  RUNSTATEDIR "/nfqtrack/ctl" },
	{ "user", K_NAME, OFF(user), 0, 0, "nfqtrack" },
	{ "group", K_NAME, OFF(group), 0, 0, "nfqtrack" },
	{ "metrics_listen", K_LISTEN, OFF(metrics_listen), 0, 0, "off" },
	{ "fastpath", K_BOOL, OFF(fastpath), 0, 1, "no" },
	{ "fastpath_carrier", K_CARRIER, OFF(fastpath_carrier), 0, 1,
	  "nftables" },
	{ "fastpath_kernel_admit", K_BOOL, OFF(fastpath_kernel_admit), 0, 1,
	  "no" },
	{ "fastpath_table", K_TABLE, OFF(fastpath_table), 0, 0,
	  FASTPATH_TABLE_DEFAULT },
	{ "fastpath_admit_mark", K_BIT, OFF(fastpath_admit_mark), 0, 0,
	  "0x00800000" },
	{ "fastpath_udp_after", K_UINT, OFF(fastpath_udp_after), 0, 1000000,
	  "8" },
	{ "fastpath_check_interval", K_SECONDS, OFF(fastpath_check_interval), 1,
	  365 * DAY, "120" },
	{ "ipfix_collector", K_COLLECTORS, OFF(ipfix_collector), 0, 0, "none" },
	{ "ipfix_template_interval", K_SECONDS, OFF(ipfix_template_interval), 1,
	  DAY, "60" },
	{ "ipfix_observation_domain", K_UINT, OFF(ipfix_observation_domain), 0,
	  UINT32_MAX, "0" },
	{ "ipfix_active_timeout", K_SECONDS, OFF(ipfix_active_timeout), 0, DAY,
	  "0" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct {
	const char *name;
	uint32_t value;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "auth", LOG_AUTH },	  { "authpriv", LOG_AUTHPRIV },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const char *const on_full_names[] = {
	[CONF_FULL_DROP] = "drop",
	[CONF_FULL_EARLY_DROP] = "early_drop",
	[CONF_FULL_EVICT_IDLE] = "evict_idle",
};

static const char *const mode_names[] = {
	[CONF_MODE_ACCEPT] = "accept",
	[CONF_MODE_MARK] = "mark",
	[CONF_MODE_REPEAT] = "repeat",
};

static const char *const carrier_names[] = {
	[FASTPATH_CARRIER_NFT] = "nftables",
	[FASTPATH_CARRIER_BPF] = "bpf",
};

const char *conf_carrier_name(uint32_t v)
{
	return v < sizeof(carrier_names) / sizeof(carrier_names[0]) ?
		       carrier_names[v] :
		       "?";
}

const char *conf_verdict_mode_name(uint32_t v)
{
	return v < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[v] :
								"?";
}

const char *conf_on_full_name(uint32_t v)
{
	return v < sizeof(on_full_names) / sizeof(on_full_names[0]) ?
		       on_full_names[v] :
		       "?";
}

const char *conf_facility_name(uint32_t facility)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facilities[i].value == facility)
			return facilities[i].name;
	return NULL;
}

/* The table's offsets come from offsetof() on uint32_t fields, so these
 * pointers are aligned. */
static uint32_t *u32_at(struct conf *c, const struct key *k)
{
	return (uint32_t *)(void *)((char *)c + k->offset);
}

static const uint32_t *u32_of(const struct conf *c, const struct key *k)
{
	return (const uint32_t *)(const void *)((const char *)c + k->offset);
}

/* Parse a decimal number with an optional unit suffix from units[] (each
 * a letter and a multiplier). Returns 0 or an error text. */
struct unit {
	char letter;
	uint64_t mult;
};

static const char *parse_number(const char *s, const struct unit *units,
				uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return "is not a number";
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return "is too large";
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		const struct unit *u = units;

		for (; u && u->letter; u++)
			if (tolower((unsigned char)*p) == u->letter)
				break;
		if (!u || !u->letter || p[1])
			return units ? "has an unknown unit" :
				       "is not a number";
		mult = u->mult;
	}
	if (v > UINT64_MAX / mult)
		return "is too large";
	*out = v * mult;
	return NULL;
}

static const struct unit size_units[] = { { 'k', 1024 },
					  { 'm', 1024 * 1024 },
					  { 'g', 1024 * 1024 * 1024 },
					  { 0, 0 } };
static const struct unit time_units[] = { { 's', 1 },
					  { 'm', 60 },
					  { 'h', 3600 },
					  { 'd', 86400 },
					  { 0, 0 } };

typedef const char *(*add_item_fn)(struct conf *c, const char *item, char *buf,
				   size_t buflen);

/* Each comma-separated item of v to add() ("none": no item); lines add
 * up. Returns NULL, or the problem (in buf). */
static const char *set_list(struct conf *c, const char *v, add_item_fn add,
			    char *buf, size_t buflen)
{
	char item[128];

	if (!strcmp(v, "none"))
		return NULL;
	while (*v) {
		size_t len = strcspn(v, ",");
		const char *why;

		while (len && isspace((unsigned char)v[len - 1]))
			len--;
		if (!len || len >= sizeof(item)) {
			snprintf(buf, buflen, "empty or overlong item in '%s'",
				 v);
			return buf;
		}
		memcpy(item, v, len);
		item[len] = '\0';
		why = add(c, item, buf, buflen);
		if (why)
			return why;
		v += strcspn(v, ",");
		if (*v == ',') {
			v++;
			while (isspace((unsigned char)*v))
				v++;
			if (!*v) {
				snprintf(buf, buflen, "trailing comma");
				return buf;
			}
		}
	}
	return NULL;
}

/* A prefix to the exempt list. */
static const char *add_prefix(struct conf *c, const char *item, char *buf,
			      size_t buflen)
{
	const char *why;
	struct prefix p;

	if (prefix_parse(&p, item, false, &why) < 0) {
		snprintf(buf, buflen, "'%s': %s", item, why);
		return buf;
	}
	if (c->nexempt == CONF_EXEMPT_MAX) {
		snprintf(buf, buflen, "more than %d prefixes", CONF_EXEMPT_MAX);
		return buf;
	}
	c->exempt[c->nexempt++] = p;
	return NULL;
}

/* A collector to ipfix_collector. Numeric addresses only: a name would be
 * resolved in the main loop, at each reload, by a resolver that may block
 * for seconds. */
static const char *add_collector(struct conf *c, const char *item, char *buf,
				 size_t buflen)
{
	struct sockaddr_storage ss;
	unsigned int alen;

	if (strlen(item) >= CONF_LISTEN_MAX ||
	    conf_listen_addr(item, &ss, &alen) != 0) {
		snprintf(buf, buflen,
			 "'%s' is not ADDR:PORT or [ADDR6]:PORT (a numeric "
			 "address, a port 1-65535)",
			 item);
		return buf;
	}
	for (uint32_t i = 0; i < c->nipfix; i++) {
		if (!strcmp(c->ipfix_collector[i], item)) {
			snprintf(buf, buflen, "'%s' given twice", item);
			return buf;
		}
	}
	if (c->nipfix == CONF_IPFIX_MAX) {
		snprintf(buf, buflen, "more than %d collectors",
			 CONF_IPFIX_MAX);
		return buf;
	}
	strcpy(c->ipfix_collector[c->nipfix++], item);
	return NULL;
}

static char *trim(char *s);

/* "N" or "N-M" into the two numbers at k's offset. Returns NULL, or the
 * problem (in buf). */
static const char *set_range(struct conf *c, const struct key *k, const char *v,
			     char *buf, size_t buflen)
{
	uint32_t *r = u32_at(c, k);
	const char *dash = strchr(v, '-'), *why;
	char first[32];
	uint64_t a = 0, b = 0;

	if (dash && (size_t)(dash - v) < sizeof(first)) {
		memcpy(first, v, (size_t)(dash - v));
		first[dash - v] = '\0';
		why = parse_number(trim(first), NULL, &a);
		if (!why)
			why = parse_number(dash + 1 + strspn(dash + 1, " \t"),
					   NULL, &b);
	} else {
		why = dash ? "is not N or N-M" : parse_number(v, NULL, &a);
		b = a;
	}
	if (why) {
		snprintf(buf, buflen, "'%s' %s", v, why);
		return buf;
	}
	if (a > k->max || b > k->max || b < a) {
		snprintf(buf, buflen,
			 "%s is not a range N-M with N <= M <= %" PRIu64, v,
			 k->max);
		return buf;
	}
	if (b - a >= CONF_QUEUES_MAX) {
		snprintf(buf, buflen, "%s: %" PRIu64 " queues, %d at most", v,
			 b - a + 1, CONF_QUEUES_MAX);
		return buf;
	}
	r[0] = (uint32_t)a;
	r[1] = (uint32_t)b;
	return NULL;
}

/* A 32-bit number, decimal or 0x hex (no sign), into *out. Returns 0 or -1. */
static int parse_u32(const char *v, uint32_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 0);
	if (!isdigit((unsigned char)v[0]) || *end || errno || n > UINT32_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* A mark mask, decimal or 0x hex, MARK_BITS or MARK_BITS_STATE contiguous bits,
 * into the uint32 at k's offset. Returns NULL, or the problem (in buf). */
static const char *set_mask(struct conf *c, const struct key *k, const char *v,
			    char *buf, size_t buflen)
{
	struct mark_layout l;
	uint32_t n;

	if (parse_u32(v, &n) < 0) {
		snprintf(buf, buflen, "'%s' is not a 32-bit number", v);
		return buf;
	}
	if (mark_layout_init(&l, (uint32_t)n) < 0) {
		snprintf(buf, buflen,
			 "%s is not %d or %d contiguous bits (0x3f000000, "
			 "0x0f000000, 0x3f, ...)",
			 v, MARK_BITS, MARK_BITS_STATE);
		return buf;
	}
	*u32_at(c, k) = n;
	return NULL;
}

/* One mark bit, decimal or 0x hex, into the uint32 at k's offset. Returns
 * NULL, or the problem (in buf). */
static const char *set_bit(struct conf *c, const struct key *k, const char *v,
			   char *buf, size_t buflen)
{
	uint32_t n;

	if (parse_u32(v, &n) < 0) {
		snprintf(buf, buflen, "'%s' is not a 32-bit number", v);
		return buf;
	}
	if (!n || (n & (n - 1))) {
		snprintf(buf, buflen,
			 "%s is not exactly one bit (0x00800000, ...)", v);
		return buf;
	}
	*u32_at(c, k) = (uint32_t)n;
	return NULL;
}

/* Set key k of c from text v. Returns NULL, or the problem (in buf). */
static const char *set_value(struct conf *c, const struct key *k, const char *v,
			     char *buf, size_t buflen)
{
	const char *why = NULL;
	uint64_t n = 0;

	switch (k->type) {
	case K_UINT:
	case K_POW2:
		why = parse_number(v, NULL, &n);
		break;
	case K_SIZE:
		why = parse_number(v, size_units, &n);
		break;
	case K_SECONDS:
		why = parse_number(v, time_units, &n);
		break;
	case K_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") ||
		    !strcmp(v, "on") || !strcmp(v, "1"))
			n = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") ||
			 !strcmp(v, "off") || !strcmp(v, "0"))
			n = 0;
		else
			why = "is not yes or no";
		break;
	case K_VERDICT:
		if (!strcmp(v, "accept"))
			n = CONF_ACCEPT;
		else if (!strcmp(v, "drop"))
			n = CONF_DROP;
		else
			why = "is not accept or drop";
		break;
	case K_FACILITY:
		why = "is not a syslog facility (daemon, user, auth, "
		      "authpriv, local0 ... local7)";
		for (size_t i = 0;
		     i < sizeof(facilities) / sizeof(facilities[0]); i++) {
			if (!strcmp(v, facilities[i].name)) {
				n = facilities[i].value;
				why = NULL;
			}
		}
		break;
	case K_ON_FULL:
		why = "is not drop, early_drop or evict_idle";
		for (uint32_t i = 0; i <= CONF_FULL_EVICT_IDLE; i++) {
			if (!strcmp(v, on_full_names[i])) {
				n = i;
				why = NULL;
			}
		}
		break;
	case K_CARRIER:
		why = "is not nftables or bpf";
		for (uint32_t i = 0; i <= FASTPATH_CARRIER_BPF; i++) {
			if (!strcmp(v, carrier_names[i])) {
				n = i;
				why = NULL;
			}
		}
		break;
	case K_MODE:
		why = "is not accept, mark or repeat";
		for (uint32_t i = 0; i <= CONF_MODE_REPEAT; i++) {
			if (!strcmp(v, mode_names[i])) {
				n = i;
				why = NULL;
			}
		}
		break;
	case K_MASK:
		return set_mask(c, k, v, buf, buflen);
	case K_BIT:
		return set_bit(c, k, v, buf, buflen);
	case K_TABLE:
		if (strlen(v) >= FASTPATH_TABLE_MAX ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
			      "WXYZ0123456789_") != strlen(v)) {
			snprintf(buf, buflen,
				 "'%s' is not a table name (letters, digits "
				 "and _, %d at most)",
				 v, FASTPATH_TABLE_MAX - 1);
			return buf;
		}
		strcpy((char *)c + k->offset, v);
		return NULL;
	case K_PREFIXES:
		return set_list(c, v, add_prefix, buf, buflen);
	case K_COLLECTORS:
		return set_list(c, v, add_collector, buf, buflen);
	case K_NAME:
		if (strlen(v) >= CONF_NAME_MAX || v[0] == '-' ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
			      "WXYZ0123456789._-") != strlen(v)) {
			snprintf(buf, buflen,
				 "'%s' is not a user or group name", v);
			return buf;
		}
		strcpy((char *)c + k->offset, v);
		return NULL;
	case K_LISTEN: {
		struct sockaddr_storage ss;
		unsigned int len;

		if (strlen(v) >= CONF_LISTEN_MAX ||
		    conf_listen_addr(v, &ss, &len) < 0) {
			snprintf(buf, buflen,
				 "'%s' is not off, ADDR:PORT or [ADDR6]:PORT",
				 v);
			return buf;
		}
		strcpy((char *)c + k->offset, v);
		return NULL;
	}
	case K_RANGE:
		return set_range(c, k, v, buf, buflen);
	case K_PATH:
		if (strlen(v) >= CONF_PATH_MAX)
			return "path is too long for a socket (107 bytes at most)";
		if (v[0] != '/') {
			snprintf(buf, buflen, "'%s' is not an absolute path",
				 v);
			return buf;
		}
		strcpy((char *)c + k->offset, v);
		return NULL;
	}
	if (why) {
		snprintf(buf, buflen, "'%s' %s", v, why);
		return buf;
	}
	if (k->type != K_BOOL && k->type != K_VERDICT &&
	    k->type != K_FACILITY && k->type != K_ON_FULL &&
	    k->type != K_MODE && k->type != K_CARRIER &&
	    (n < k->min || n > k->max)) {
		snprintf(buf, buflen,
			 "%s is out of range (%" PRIu64 " to %" PRIu64 ")", v,
			 k->min, k->max);
		return buf;
	}
	if (k->type == K_POW2 && n && (n & (n - 1))) {
		snprintf(buf, buflen,
			 "%s is not a power of two (or 0 to derive "
			 "it from max_flows)",
			 v);
		return buf;
	}
	if (k->type == K_BOOL)
		*(bool *)((char *)c + k->offset) = n;
	else
		*u32_at(c, k) = (uint32_t)n;
	return NULL;
}

void conf_defaults(struct conf *c)
{
	char buf[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		set_value(c, &keys[i], keys[i].def, buf, sizeof(buf));
	/* Classes without a key of their own. */
	c->timeout[TCP_S_NONE] = c->timeout[TMO_GENERIC];
}

static void report(conf_error_fn err, void *arg, const char *name,
		   unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void report(conf_error_fn err, void *arg, const char *name,
		   unsigned line, const char *fmt, ...)
{
	char msg[512];
	int n = line ? snprintf(msg, sizeof(msg), "%s:%u: ", name, line) :
		       snprintf(msg, sizeof(msg), "%s: ", name);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (err)
		err(arg, msg);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static unsigned line_of(const unsigned *seen_on, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, key))
			return seen_on[i];
	return 0;
}

/* Keys that must agree with each other; each problem is reported on the
 * line of the key named first. Returns the number of problems. */
static int check_together(struct conf *c, const unsigned *seen_on,
			  const char *name, conf_error_fn err, void *arg)
{
	unsigned queue_line = line_of(seen_on, "queue");
	int errors = 0;

	/* queue names one queue, queues a range; with both, they agree. */
	if (!line_of(seen_on, "queues")) {
		c->queues[0] = c->queues[1] = c->queue;
	} else if (queue_line && c->queue != c->queues[0]) {
		report(err, arg, name, queue_line,
		       "queue: %" PRIu32 " is not the first of queues (%" PRIu32
		       "-%" PRIu32 "); set one of the two",
		       c->queue, c->queues[0], c->queues[1]);
		errors++;
	} else {
		c->queue = c->queues[0];
	}

	if (c->reserve && c->reserve >= c->max_flows) {
		report(err, arg, name, line_of(seen_on, "reserve"),
		       "reserve: %" PRIu32 " leaves nothing of max_flows "
		       "(%" PRIu32 ") for other flows",
		       c->reserve, c->max_flows);
		errors++;
	}
	if ((c->adaptive_start || c->adaptive_end) &&
	    c->adaptive_start >= c->adaptive_end) {
		report(err, arg, name, line_of(seen_on, "adaptive_end"),
		       "adaptive_end: %" PRIu32 " must be above "
		       "adaptive_start (%" PRIu32 ")",
		       c->adaptive_end, c->adaptive_start);
		errors++;
	}
	/* The admit bit rides in the verdict's mark beside the state: it must
	 * not be one of the state's bits. Only with the fast path on: off, the
	 * bit is never written and any mark_mask stays valid. */
	if (c->fastpath && (c->fastpath_admit_mark & c->mark_mask)) {
		unsigned l = line_of(seen_on, "fastpath_admit_mark");

		report(err, arg, name, l ? l : line_of(seen_on, "mark_mask"),
		       "fastpath_admit_mark: 0x%08" PRIx32 " is a bit of "
		       "mark_mask (0x%08" PRIx32 "); choose a bit outside it",
		       c->fastpath_admit_mark, c->mark_mask);
		errors++;
	}
	/* judge is the BPF carrier's program; the flows it admits are
	 * learned by one thread, which must be the one whose queue gets
	 * their other packets: with several, the kernel picks by a hash of
	 * its own (a seed nfqtrackd cannot read). */
	if (c->fastpath_kernel_admit &&
	    (c->fastpath_carrier != FASTPATH_CARRIER_BPF ||
	     conf_queue_count(c) > 1)) {
		report(err, arg, name,
		       line_of(seen_on, "fastpath_kernel_admit"),
		       "fastpath_kernel_admit: needs %s",
		       c->fastpath_carrier != FASTPATH_CARRIER_BPF ?
			       "fastpath_carrier = bpf" :
			       "a single queue (the kernel spreads flows over "
			       "queues by a hash nfqtrackd cannot compute)");
		errors++;
	}
	/* ACTIVE records carry counters, which only accounting keeps. */
	if (c->ipfix_active_timeout && !c->accounting) {
		report(err, arg, name, line_of(seen_on, "ipfix_active_timeout"),
		       "ipfix_active_timeout: needs accounting = yes (the "
		       "periodic records carry the flow's counters)");
		errors++;
	}
	if (c->max_new_per_source_burst && !c->max_new_per_source) {
		report(err, arg, name,
		       line_of(seen_on, "max_new_per_source_burst"),
		       "max_new_per_source_burst: has no effect without "
		       "max_new_per_source");
		errors++;
	}
	return errors;
}

int conf_parse(struct conf *c, FILE *f, const char *name, conf_error_fn err,
	       void *arg)
{
	unsigned seen_on[NKEYS] = { 0 };
	char *line = NULL, buf[256];
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	int errors = 0;

	conf_defaults(c);
	while ((len = getline(&line, &cap, f)) != -1) {
		char *k, *v, *eq, *hash;
		const char *why;
		size_t i;

		lineno++;
		if ((size_t)len != strlen(line)) {
			report(err, arg, name, lineno, "line has a NUL byte");
			errors++;
			continue;
		}
		if (len > 1024) {
			report(err, arg, name, lineno,
			       "line is too long (1024 bytes at most)");
			errors++;
			continue;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			report(err, arg, name, lineno,
			       "expected 'key = value', got '%s'", k);
			errors++;
			continue;
		}
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		for (i = 0; i < NKEYS; i++)
			if (!strcmp(keys[i].name, k))
				break;
		if (i == NKEYS) {
			report(err, arg, name, lineno, "unknown key '%s'", k);
			errors++;
			continue;
		}
		if (!*v) {
			report(err, arg, name, lineno, "%s: missing value", k);
			errors++;
			continue;
		}
		if (seen_on[i] && keys[i].type != K_PREFIXES &&
		    keys[i].type != K_COLLECTORS) {
			report(err, arg, name, lineno,
			       "%s: set again (first set on line %u)", k,
			       seen_on[i]);
			errors++;
			continue;
		}
		if (!seen_on[i])
			seen_on[i] = lineno;
		why = set_value(c, &keys[i], v, buf, sizeof(buf));
		if (why) {
			report(err, arg, name, lineno, "%s: %s", k, why);
			errors++;
		}
	}
	free(line);
	if (ferror(f)) {
		report(err, arg, name, 0, "read error: %s", strerror(errno));
		errors++;
	}
	c->timeout[TCP_S_NONE] = c->timeout[TMO_GENERIC];
	return errors + check_together(c, seen_on, name, err, arg);
}

int conf_load(struct conf *c, const char *path, conf_error_fn err, void *arg)
{
	FILE *f = fopen(path, "r");
	int n, saved;

	if (!f) {
		saved = errno;
		conf_defaults(c);
		report(err, arg, path, 0, "cannot read: %s", strerror(saved));
		errno = saved;
		return 1;
	}
	n = conf_parse(c, f, path, err, arg);
	fclose(f);
	return n;
}

uint32_t conf_buckets(const struct conf *c)
{
	uint32_t b = 64;

	if (c->buckets)
		return c->buckets;
	while (b < c->max_flows)
		b <<= 1;
	return b;
}

int conf_listen_addr(const char *text, struct sockaddr_storage *addr,
		     unsigned int *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = text;
	unsigned long port;
	size_t hlen;
	char *end;

	if (!strcmp(text, "off"))
		return 1;
	colon = strrchr(text, ':');
	if (!colon || colon == text)
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || !port || port > 65535)
		return -1;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 3 || text[hlen - 1] != ']')
			return -1;
		h = text + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(addr, 0, sizeof(*addr));
	if (text[0] != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)addr;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	}
	return 0;
}

void conf_fastpath_params(const struct conf *c, struct fastpath_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->table, sizeof(p->table), "%s", c->fastpath_table);
	p->carrier = (uint8_t)c->fastpath_carrier;
	p->admit_mark = c->fastpath_admit_mark;
	p->mark_mask = c->mark_mask;
	/* Both directions of every flow the daemon may hold; max_flows is at
	 * most 2^30, so this fits. The kernel sizes each set's first hash
	 * table from it (nft_set_rhash: nelem_hint). */
	p->max_elements = 2 * c->max_flows;
	p->accounting = c->accounting;
	p->counters = c->accounting;
	p->udp = c->fastpath_udp_after > 0;
	p->timeout_open = c->timeout[TCP_S_SYN_RECV];
	p->timeout_established = c->timeout[TCP_S_ESTABLISHED];
	p->timeout_closing = c->timeout[TCP_S_TIME_WAIT];
	p->timeout_close = c->timeout[TCP_S_CLOSE];
	p->timeout_udp = c->timeout[TMO_UDP_STREAM];
}

uint32_t conf_max_sources(const struct conf *c)
{
	if (c->max_sources)
		return c->max_sources;
	/* An entry with flows exists only for a flow counted for it: as
	 * many as max_flows cannot be filled before the flow table, however
	 * many sources a flood spoofs. Committed as used, so clients that
	 * hold several flows each cost no more than before. */
	return c->max_flows > 1024 ? c->max_flows : 1024;
}

bool conf_exempt(const struct conf *c, uint8_t family, const void *addr)
{
	for (uint32_t i = 0; i < c->nexempt; i++)
		if (prefix_match(&c->exempt[i], family, addr))
			return true;
	return false;
}

void conf_print(const struct conf *c, FILE *out)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		bool text = k->type == K_PATH || k->type == K_NAME ||
			    k->type == K_LISTEN || k->type == K_RANGE ||
			    k->type == K_TABLE || k->type == K_COLLECTORS;
		uint32_t v = text || k->type == K_BOOL ||
					     k->type == K_PREFIXES ?
				     0 :
				     *u32_of(c, k);

		fprintf(out, "%s = ", k->name);
		switch (k->type) {
		case K_BOOL:
			fputs(*(const bool *)((const char *)c + k->offset) ?
				      "yes" :
				      "no",
			      out);
			break;
		case K_VERDICT:
			fputs(v == CONF_DROP ? "drop" : "accept", out);
			break;
		case K_FACILITY:
			fputs(conf_facility_name(v), out);
			break;
		case K_PATH:
		case K_NAME:
		case K_LISTEN:
		case K_TABLE:
			fputs((const char *)c + k->offset, out);
			break;
		case K_ON_FULL:
			fputs(conf_on_full_name(v), out);
			break;
		case K_MODE:
			fputs(conf_verdict_mode_name(v), out);
			break;
		case K_CARRIER:
			fputs(conf_carrier_name(v), out);
			break;
		case K_MASK:
		case K_BIT:
			fprintf(out, "0x%08" PRIx32, v);
			break;
		case K_RANGE: {
			const uint32_t *r = u32_of(c, k);

			fprintf(out, "%" PRIu32, r[0]);
			if (r[1] != r[0])
				fprintf(out, "-%" PRIu32, r[1]);
			break;
		}
		case K_PREFIXES:
			if (!c->nexempt)
				fputs("none", out);
			for (uint32_t j = 0; j < c->nexempt; j++) {
				char p[PREFIX_STR_MAX];

				prefix_format(p, sizeof(p), c->exempt[j].family,
					      c->exempt[j].addr,
					      c->exempt[j].bits);
				fprintf(out, "%s%s", j ? ", " : "", p);
			}
			break;
		case K_COLLECTORS:
			if (!c->nipfix)
				fputs("none", out);
			for (uint32_t j = 0; j < c->nipfix; j++)
				fprintf(out, "%s%s", j ? ", " : "",
					c->ipfix_collector[j]);
			break;
		default:
			fprintf(out, "%" PRIu32, v);
		}
		if (k->type == K_POW2 && v == 0)
			fprintf(out, "  # derived: %" PRIu32, conf_buckets(c));
		if (!strcmp(k->name, "max_sources") && v == 0)
			fprintf(out, "  # derived: %" PRIu32,
				conf_max_sources(c));
		fputc('\n', out);
	}
}
