// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * log.c - syslog and journal client, and rate limiter; see log.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "log.h"

/* The logger is process-wide, like syslog(3) itself. */
static struct {
	char ident[32];
	bool to_stderr; /* every line to stderr too (-e) */
	bool errors_to_stderr; /* error lines to stderr too */
	bool stderr_journal; /* stderr is systemd's journal stream */
	uint32_t facility;
	char path[108];
	int fd;
	int type; /* SOCK_DGRAM, or SOCK_STREAM for stream-only daemons */
	uint64_t lost;
	pthread_mutex_t lock; /* one line at a time, from any thread */
	time_t last_connect;
	int jfd; /* the journal's native socket, under systemd */
	time_t jlast_connect;
} lg = { .ident = "nfqtrackd",
	 .lock = PTHREAD_MUTEX_INITIALIZER,
	 .facility = LOG_DAEMON,
	 .path = "/dev/log",
	 .fd = -1,
	 .jfd = -1 };

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Is stderr the journal? systemd says so in JOURNAL_STREAM ("dev:ino"). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	return js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 &&
	       fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev &&
	       st.st_ino == ino;
}

void log_init(const char *ident, bool to_stderr)
{
	snprintf(lg.ident, sizeof(lg.ident), "%s", ident);
	lg.to_stderr = to_stderr;
	lg.stderr_journal = stderr_is_journal();
	/* Someone who starts the daemon by hand must see why it failed;
	 * under systemd the syslog line already lands in the journal. */
	lg.errors_to_stderr = !to_stderr && !lg.stderr_journal;
}

static void disconnect(void)
{
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = -1;
}

static void journal_disconnect(void)
{
	if (lg.jfd >= 0)
		close(lg.jfd);
	lg.jfd = -1;
}

void log_configure(uint32_t facility, const char *socket_path)
{
	lg.facility = facility;
	if (strcmp(lg.path, socket_path)) {
		snprintf(lg.path, sizeof(lg.path), "%s", socket_path);
		disconnect();
		lg.last_connect = 0;
	}
}

static int try_connect(int type, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Connect, at most once a second: a missing syslog must not turn every
 * log line into two failing system calls. */
static bool ensure_connected(void)
{
	time_t now = time(NULL);

	if (lg.fd >= 0)
		return true;
	if (now == lg.last_connect)
		return false;
	lg.last_connect = now;
	lg.type = SOCK_DGRAM;
	lg.fd = try_connect(SOCK_DGRAM, lg.path);
	if (lg.fd < 0 && errno == EPROTOTYPE) {
		lg.type = SOCK_STREAM;
		lg.fd = try_connect(SOCK_STREAM, lg.path);
	}
	return lg.fd >= 0;
}

/*
 * The journal's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL):
 * one datagram of KEY=VALUE lines, so that fields such as NFQTRACK_REASON
 * can be matched with journalctl. Our own client rather than
 * sd_journal_send(3), whose socket blocks when journald falls behind: a
 * busy journal must cost us lines, never the packet path.
 */
static bool send_journal(const char *dgram, size_t len)
{
	time_t now = time(NULL);

	for (int attempt = 0; attempt < 2; attempt++) {
		if (lg.jfd < 0) {
			if (now == lg.jlast_connect)
				return false;
			lg.jlast_connect = now;
			lg.jfd = try_connect(SOCK_DGRAM, JOURNAL_SOCKET);
			if (lg.jfd < 0)
				return false;
		}
		if (send(lg.jfd, dgram, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return true;
		if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
			return false;
		journal_disconnect();
		lg.jlast_connect = 0;
	}
	return false;
}

/* Append "KEY=value\n" to a datagram, a newline in value made a space
 * (the simple form of the protocol has none). */
static size_t put_field(char *buf, size_t len, size_t at, const char *key,
			const char *value)
{
	int n = snprintf(buf + at, at < len ? len - at : 0, "%s=", key);

	if (n < 0 || at + (size_t)n >= len)
		return len;
	at += (size_t)n;
	for (; *value && at + 1 < len; value++)
		buf[at++] = *value == '\n' ? ' ' : *value;
	if (at + 1 >= len)
		return len;
	buf[at++] = '\n';
	return at;
}

static bool send_native(int prio, const struct log_field *f, unsigned nf,
			const char *msg)
{
	char dgram[2048], num[16];
	size_t at = 0;

	snprintf(num, sizeof(num), "%d", prio & LOG_PRIMASK);
	at = put_field(dgram, sizeof(dgram), at, "PRIORITY", num);
	snprintf(num, sizeof(num), "%u", (unsigned)(lg.facility >> 3));
	at = put_field(dgram, sizeof(dgram), at, "SYSLOG_FACILITY", num);
	at = put_field(dgram, sizeof(dgram), at, "SYSLOG_IDENTIFIER", lg.ident);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	at = put_field(dgram, sizeof(dgram), at, "SYSLOG_PID", num);
	for (unsigned i = 0; i < nf; i++)
		at = put_field(dgram, sizeof(dgram), at, f[i].key, f[i].value);
	at = put_field(dgram, sizeof(dgram), at, "MESSAGE", msg);
	if (at >= sizeof(dgram))
		return false;
	return send_journal(dgram, at);
}

static bool send_syslog(const char *line, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t r;

		if (!ensure_connected())
			return false;
		/* Stream sockets take a NUL after each line, as glibc does. */
		r = send(lg.fd, line, len + (lg.type == SOCK_STREAM),
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r >= 0)
			return true;
		if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
			return false; /* busy: drop the line, keep the socket */
		disconnect(); /* syslog restarted: reconnect once */
		lg.last_connect = 0;
	}
	return false;
}

static const char *prio_word(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	default:
		return "";
	}
}

static void vlog(int prio, const struct log_field *fields, unsigned nfields,
		 const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void vlog(int prio, const struct log_field *fields, unsigned nfields,
		 const char *fmt, va_list ap)
{
	char line[1024], msg[900], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	bool sent;
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&lg.lock);
	if (lg.stderr_journal) {
		/* Under systemd: natively, fields and all. */
		if (!send_native(prio, fields, nfields, msg))
			lg.lost++;
		if (lg.to_stderr)
			fprintf(stderr, "%s: %s%s\n", lg.ident, prio_word(prio),
				msg);
		pthread_mutex_unlock(&lg.lock);
		return;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "<%d>%s %s[%d]: %s",
		     (int)lg.facility | (prio & LOG_PRIMASK), stamp, lg.ident,
		     (int)getpid(), msg);
	if (n < 0) {
		pthread_mutex_unlock(&lg.lock);
		return;
	}
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	sent = send_syslog(line, (size_t)n);
	if (!sent)
		lg.lost++;
	/* A line syslog did not take goes to stderr, except into the
	 * journal's stream: when journald is too busy to take a datagram,
	 * a blocking write to it would stall the packet path. */
	if (lg.to_stderr || (!sent && !lg.stderr_journal) ||
	    (lg.errors_to_stderr && (prio & LOG_PRIMASK) <= LOG_ERR))
		fprintf(stderr, "%s: %s%s\n", lg.ident, prio_word(prio), msg);
	pthread_mutex_unlock(&lg.lock);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields(int prio, const struct log_field *fields, unsigned nfields,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fields, nfields, fmt, ap);
	va_end(ap);
}

uint64_t log_lost(void)
{
	return lg.lost;
}

void log_close(void)
{
	disconnect();
	journal_disconnect();
}

void ratelimit_init(struct ratelimit *rl, uint32_t rate, uint32_t burst,
		    uint64_t now_ms)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	rl->tokens = rate ? (uint64_t)burst * 1000 : 0;
	rl->last_ms = now_ms;
	rl->last_report_ms = now_ms;
}

void ratelimit_set(struct ratelimit *rl, uint32_t rate, uint32_t burst)
{
	rl->rate = rate;
	rl->burst = burst;
	if (!rate)
		rl->tokens = 0;
	else if (rl->tokens > (uint64_t)burst * 1000)
		rl->tokens = (uint64_t)burst * 1000;
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms)
{
	if (now_ms > rl->last_ms) {
		uint64_t cap = (uint64_t)rl->burst * 1000;

		rl->tokens += (now_ms - rl->last_ms) * rl->rate;
		if (rl->tokens > cap)
			rl->tokens = cap;
		rl->last_ms = now_ms;
	}
	if (rl->tokens >= 1000) {
		rl->tokens -= 1000;
		return true;
	}
	rl->suppressed++;
	return false;
}

uint64_t ratelimit_report(struct ratelimit *rl, uint64_t now_ms)
{
	uint64_t n = rl->suppressed;

	if (!n || now_ms - rl->last_report_ms < 1000)
		return 0;
	rl->suppressed = 0;
	rl->last_report_ms = now_ms;
	return n;
}
