/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - logging to syslog or the journal and stderr, and rate limiting.
 *
 * Under systemd (stderr is the journal, as JOURNAL_STREAM says), lines go
 * to the journal in its native protocol, with structured fields; else to
 * the syslog socket (/dev/log: journald or a syslog daemon) as RFC 3164
 * datagrams. This is our own small client rather than syslog(3)
 * because glibc's blocks when the log socket's queue is full: a stuck
 * syslog daemon must cost us log lines, counted, never the packet path.
 * A line that cannot be delivered goes to stderr instead, unless stderr
 * is the journal (which then is the very thing that is stuck).
 */
#ifndef NFQT_LOG_H
#define NFQT_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* Start logging as ident; mirror every line to stderr when to_stderr.
 * Error lines go to stderr as well unless stderr is the journal. */
void log_init(const char *ident, bool to_stderr);

/* Where syslog lines go and with which facility; may be called again. */
void log_configure(uint32_t facility, const char *socket_path);

void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A journal field: KEY (upper case, digits, _) and its value. */
struct log_field {
	const char *key;
	const char *value;
};

/* log_msg() with fields for the journal (ignored by syslog). */
void log_fields(int prio, const struct log_field *fields, unsigned nfields,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Lines that syslog did not take (sent to stderr instead). */
uint64_t log_lost(void);

void log_close(void);

/*
 * Token bucket: rate lines per second, bursts of up to burst. A rate of 0
 * allows nothing. Counts what it refuses, for the "N suppressed" line.
 */
struct ratelimit {
	uint64_t tokens; /* in 1/1000 of a line */
	uint64_t last_ms;
	uint32_t rate, burst;
	uint64_t suppressed; /* refused since the last report */
	uint64_t last_report_ms; /* when the last report was taken */
};

void ratelimit_init(struct ratelimit *rl, uint32_t rate, uint32_t burst,
		    uint64_t now_ms);

/* Change rate and burst, keeping what is saved up (capped by burst). */
void ratelimit_set(struct ratelimit *rl, uint32_t rate, uint32_t burst);

/* May one more line go out now? O(1), no system call. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms);

/*
 * How many lines to report as suppressed now: the count refused so far,
 * at most once per second, or 0. Resets the count when it returns it.
 */
uint64_t ratelimit_report(struct ratelimit *rl, uint64_t now_ms);

#endif
