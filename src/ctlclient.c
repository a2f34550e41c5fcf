// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctlclient.c - the control socket's client side: send a request, take
 * the reply; see ctlclient.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlclient.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now = mono_ms();
	int r;

	if (now >= deadline) {
		errno = ETIMEDOUT;
		return -1;
	}
	r = poll(&p, 1,
		 deadline == UINT64_MAX ?
			 -1 :
			 (int)(deadline - now < INT_MAX ? deadline - now :
							  INT_MAX));
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return r < 0 ? -1 : 0;
}

/* Connect and send the request. Returns the socket, or -1 with err set. */
static int call_open(const char *path, const char *request, uint64_t deadline,
		     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *msg = NULL;
	size_t sent = 0, mlen;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot reach nfqtrackd at %s: %s%s",
			 path, strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED ?
				 " (is it running?)" :
				 "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (asprintf(&msg, "%s %s\n", CTL_VERSION, request) < 0)
		goto fail;
	mlen = strlen(msg);
	while (sent < mlen) {
		ssize_t r;

		if (wait_fd(fd, POLLOUT, deadline) < 0)
			goto fail;
		r = send(fd, msg + sent, mlen - sent, MSG_NOSIGNAL);
		/* A daemon with every client slot taken answers "busy" and
		 * hangs up before reading: read that answer, not EPIPE. */
		if (r < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			int e = errno;
			char c;

			if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
				break;
			errno = e;
		}
		if (r < 0 && errno != EINTR)
			goto fail;
		if (r > 0)
			sent += (size_t)r;
	}
	free(msg);
	return fd;
fail:
	snprintf(err, errlen, "talking to nfqtrackd at %s: %s", path,
		 strerror(errno));
	free(msg);
	close(fd);
	return -1;
}

/* A deadline timeout_ms from now; none for a negative one. */
static uint64_t after_ms(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : mono_ms() + (uint64_t)timeout_ms;
}

/*
 * How much of the body's len bytes at p can go on: its whole lines, but
 * for a last one that is ".\n" at the start of a line (last: the byte
 * before p), which may be the end mark. A line that fills half the
 * buffer goes on in part, but for its last two bytes.
 */
static size_t body_ready(const char *p, size_t len, char last)
{
	const char *nl = len ? memrchr(p, '\n', len) : NULL;
	size_t end, start;

	if (!nl)
		return len > 32768 ? len - 2 : 0;
	end = (size_t)(nl - p) + 1;
	start = end - 1;
	while (start && p[start - 1] != '\n')
		start--;
	if (end - start == 2 && p[start] == '.' &&
	    (start ? p[start - 1] == '\n' : last == '\n'))
		return start;
	return end;
}

enum ctl_status
ctl_call_stream(const char *path, const char *request, int timeout_ms,
		void (*body)(void *arg, const char *data, size_t len),
		void *arg, struct ctl_reply *errmsg, char *err, size_t errlen)
{
	uint64_t deadline = after_ms(timeout_ms);
	char buf[65536], head[CTL_REQUEST_MAX];
	size_t headlen = 0, keep = 0;
	bool in_body = false, ok = false;
	char last = '\n'; /* the last byte passed on */
	int fd;

	memset(errmsg, 0, sizeof(*errmsg));
	fd = call_open(path, request, deadline, err, errlen);
	if (fd < 0)
		return CTL_ERR_CONNECT;
	/* The body goes on as it comes, a whole line at a time (a stream's
	 * lines at once), but a last line ".\n" is held back until the end:
	 * it must be the end mark. */
	for (;;) {
		size_t n, off = 0, give;
		ssize_t r;

		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto io_error;
		r = read(fd, buf + keep, sizeof(buf) - keep);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto io_error;
		if (r == 0)
			break;
		deadline = after_ms(timeout_ms);
		n = keep + (size_t)r;
		if (!in_body) {
			char *nl = memchr(buf, '\n', n);
			size_t part = nl ? (size_t)(nl - buf) : n;

			if (headlen + part >= sizeof(head))
				goto garbled;
			memcpy(head + headlen, buf, part);
			headlen += part;
			head[headlen] = '\0';
			keep = 0;
			if (!nl)
				continue;
			in_body = true;
			ok = !strcmp(head, CTL_VERSION " OK");
			off = part + 1;
		}
		give = body_ready(buf + off, n - off, last);
		if (give) {
			if (ok)
				body(arg, buf + off, give);
			last = buf[off + give - 1];
			off += give;
		}
		keep = n - off;
		memmove(buf, buf + off, keep);
	}
	close(fd);
	/* The end mark: ".\n" at the start of a line. */
	if (!in_body || keep != 2 || memcmp(buf, ".\n", 2) || last != '\n')
		goto incomplete;
	if (ok)
		return CTL_OK;
	if (!strncmp(head, CTL_VERSION " ERR ", strlen(CTL_VERSION) + 5)) {
		ctl_reply_printf(errmsg, "%s", head + strlen(CTL_VERSION) + 5);
		errmsg->error = true;
		return CTL_ERR_DAEMON;
	}
	snprintf(err, errlen, "unexpected reply from %s: %.80s", path, head);
	return CTL_ERR_REPLY;
garbled:
	close(fd);
incomplete:
	snprintf(err, errlen, "incomplete or garbled reply from %s", path);
	return CTL_ERR_REPLY;
io_error:
	snprintf(err, errlen, "talking to nfqtrackd at %s: %s", path,
		 strerror(errno));
	close(fd);
	return CTL_ERR_CONNECT;
}

static void collect(void *arg, const char *data, size_t len)
{
	ctl_reply_printf(arg, "%.*s", (int)len, data);
}

enum ctl_status ctl_call(const char *path, const char *request, int timeout_ms,
			 struct ctl_reply *out, char *err, size_t errlen)
{
	struct ctl_reply errmsg;
	enum ctl_status st;

	memset(out, 0, sizeof(*out));
	st = ctl_call_stream(path, request, timeout_ms, collect, out, &errmsg,
			     err, errlen);
	if (st == CTL_ERR_DAEMON) {
		ctl_reply_free(out);
		*out = errmsg;
		return st;
	}
	ctl_reply_free(&errmsg);
	if (st != CTL_OK)
		ctl_reply_free(out);
	else if (!out->data)
		ctl_reply_printf(out, "%s", "");
	return st;
}
