// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cmdtab.c - the control commands' one table; see cmdtab.h.
 */
#include <string.h>

#include "cmdtab.h"

const char *const ctl_filter_key[F_COUNT] = {
	"proto", "family", "src", "dst",  "addr", "state",
	"sport", "dport",  "id",  "type", "code",
};

#define SELECT                                                        \
	(1u << F_PROTO | 1u << F_FAMILY | 1u << F_SRC | 1u << F_DST | \
	 1u << F_ADDR | 1u << F_STATE)
#define TUPLE                                                        \
	(1u << F_PROTO | 1u << F_SRC | 1u << F_DST | 1u << F_SPORT | \
	 1u << F_DPORT | 1u << F_ID | 1u << F_TYPE | 1u << F_CODE)

const struct ctl_cmd ctl_cmds[CMD_COUNT_] = {
	[CMD_STATS] = { CMD_STATS, "stats", false, 0, false, false, R_PAIRS,
			"the daemon's counters: flows, packets, drops by "
			"reason, ..." },
	[CMD_METRICS] = { CMD_METRICS, "metrics", false, 0, false, false,
			  R_VERBATIM,
			  "the same in Prometheus's text format, as GET "
			  "/metrics serves them" },
	[CMD_LIST] = { CMD_LIST, "list", true, SELECT, false, true, R_STREAM,
		       "the flows, as conntrack -L prints them; filters:\n"
		       "              -p, --proto PROTO    tcp, udp, icmp, "
		       "... or a number\n"
		       "              -f, --family FAMILY  ipv4 or ipv6\n"
		       "              --src ADDR[/BITS]    original source\n"
		       "              --dst ADDR[/BITS]    original "
		       "destination\n"
		       "              --addr ADDR[/BITS]   either end\n"
		       "              --state STATE        TCP state "
		       "(ESTABLISHED, TIME_WAIT, ...)" },
	[CMD_EVENTS] = { CMD_EVENTS, "events", true, SELECT, false, true,
			 R_EVENTS,
			 "the flows' events as they happen, as conntrack -E "
			 "prints them\n"
			 "            (NEW, UPDATE, DESTROY with the reason, "
			 "REFUSED), until\n"
			 "            interrupted; list's filters, and:\n"
			 "              -e, --event-mask TYPES  NEW,UPDATE,"
			 "DESTROY,REFUSED or ALL\n"
			 "              -t, --timestamp      the time of each "
			 "(also -o timestamp)" },
	[CMD_COUNT] = { CMD_COUNT, "count", false, 0, false, false, R_COUNT,
			"the number of flows (as conntrack -C)" },
	[CMD_GET] = { CMD_GET, "get", true, TUPLE, false, true, R_VERBATIM,
		      "one flow, by its tuple either way: -p, --src, --dst "
		      "and\n"
		      "            --sport/--dport, or --icmp-id [--icmp-type "
		      "--icmp-code]" },
	[CMD_FLUSH] = { CMD_FLUSH, "flush", true, SELECT, false, false, R_FLUSH,
			"remove flows: all, or those matching list's "
			"filters" },
	[CMD_RELOAD] = { CMD_RELOAD, "reload", false, 0, false, false, R_RELOAD,
			 "re-read the configuration now; errors as "
			 "FILE:LINE, exit 1" },
	[CMD_CONFIG] = { CMD_CONFIG, "config", false, 0, false, false,
			 R_VERBATIM, "the configuration in effect" },
	[CMD_TOP] = { CMD_TOP, "top", true, 0, true, true, R_TOP,
		      "the sources holding the most flows, with their new "
		      "flows per\n"
		      "            second and how many were refused\n"
		      "              -n, --count N        how many (default "
		      "10, at most 1000)" },
	[CMD_VERSION] = { CMD_VERSION, "version", false, 0, false, false,
			  R_PAIRS, "the daemon's version" },
};

const struct ctl_cmd *ctl_cmd_find(const char *name)
{
	for (int i = 0; i < CMD_COUNT_; i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return &ctl_cmds[i];
	return NULL;
}

void ctl_cmd_usage(FILE *out)
{
	for (int i = 0; i < CMD_COUNT_; i++)
		fprintf(out, "  %-9s %s\n", ctl_cmds[i].name, ctl_cmds[i].help);
}
