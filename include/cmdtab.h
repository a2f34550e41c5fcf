/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmdtab.h - the control protocol's commands, described once: their
 * names, whether the daemon takes arguments after them, the nfqtrackctl
 * options that become those arguments, how nfqtrackctl prints the reply,
 * and the help text. nfqtrackctl builds its usage and checks its options
 * from this table; the daemon (ctlcmd.c) binds a handler to each entry by
 * its id and refuses arguments by it. Pure data: links into both.
 */
#ifndef NFQT_CMDTAB_H
#define NFQT_CMDTAB_H

#include <stdbool.h>
#include <stdio.h>

/* The commands, in the order the help lists them. */
enum ctl_cmd_id {
	CMD_STATS,
	CMD_METRICS,
	CMD_LIST,
	CMD_EVENTS,
	CMD_COUNT,
	CMD_GET,
	CMD_FLUSH,
	CMD_RELOAD,
	CMD_CONFIG,
	CMD_TOP,
	CMD_VERSION,
	CMD_COUNT_
};

/* nfqtrackctl's filter options; each becomes "key=value" in the request. */
enum ctl_filter {
	F_PROTO,
	F_FAMILY,
	F_SRC,
	F_DST,
	F_ADDR,
	F_STATE,
	F_SPORT,
	F_DPORT,
	F_ID,
	F_TYPE,
	F_CODE,
	F_COUNT
};

/* The request's key for each filter option. */
extern const char *const ctl_filter_key[F_COUNT];

/* How nfqtrackctl prints a successful reply. */
enum ctl_reply_style {
	R_PAIRS, /* "key value" lines, aligned, or one JSON object */
	R_VERBATIM, /* printed as it comes */
	R_STREAM, /* the flow listing */
	R_EVENTS, /* the events, as they come, until interrupted */
	R_TOP,
	R_COUNT, /* "flows N": N */
	R_FLUSH, /* "deleted N": said on stderr, as conntrack does */
	R_RELOAD,
};

struct ctl_cmd {
	enum ctl_cmd_id id;
	const char *name;
	bool args; /* the daemon takes words after the name */
	unsigned filters; /* nfqtrackctl options it takes: bit per ctl_filter */
	bool count; /* nfqtrackctl's -n: "top N" */
	bool json_arg; /* the daemon formats JSON itself: "... json" */
	enum ctl_reply_style style;
	const char *help; /* nfqtrackctl's help: lines after the first
			   * indented as printed */
};

/* Every command, indexed by id. */
extern const struct ctl_cmd ctl_cmds[CMD_COUNT_];

/* The command of this name, or NULL. O(commands). */
const struct ctl_cmd *ctl_cmd_find(const char *name);

/* The commands part of nfqtrackctl's help: "  NAME      HELP" lines. */
void ctl_cmd_usage(FILE *out);

#endif
