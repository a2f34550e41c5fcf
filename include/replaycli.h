/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replaycli.h - nfqtrackd --replay FILE [--dump[=json]]: the engine over a
 * capture with the capture's clock, no queue, no socket, no thread.
 */
#ifndef NFQT_REPLAYCLI_H
#define NFQT_REPLAYCLI_H

#include "conf.h"

/*
 * Replay the capture at path through an engine made for c; the counters
 * go to stdout, or with dump (1: conntrack -L text, 2: JSON) the flow
 * table goes to stdout and the counters to stderr. Returns the exit
 * status: 0, or 1 (said on stderr). Allocates a table as c says.
 */
int replaycli_run(const struct conf *c, const char *path, int dump);

#endif
