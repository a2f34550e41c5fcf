// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl.c - control socket protocol and server; see ctl.h (the client:
 * ctlclient.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define MAX_CLIENTS 16
/* A client has this long from connecting to send its request whole, and
 * may then leave its reply untaken this long at a time; reading does not
 * extend the first, so that a client trickling a byte at a time cannot
 * hold a slot. */
#define CLIENT_DEADLINE_S 5
#define CLIENT_DEADLINE_MS (CLIENT_DEADLINE_S * 1000)
/* And it must have taken its whole reply this long after connecting, so
 * that a client reading just fast enough cannot either: a list of a
 * million flows takes some 3 s (24-ctl-walk.sh). */
#define CLIENT_TOTAL_MS 60000
#define STR_(x) #x
#define STR(x) STR_(x)
#define REPLY_MAX (64u << 20)

int ctl_parse_request(struct ctl_request *req, const char *line, size_t len,
		      const char **why)
{
	char *p, *save = NULL, *word;

	req->argc = 0;
	if (len >= sizeof(req->buf)) {
		*why = "request too long";
		return -1;
	}
	memcpy(req->buf, line, len);
	req->buf[len] = '\0';
	if (len && req->buf[len - 1] == '\r')
		req->buf[--len] = '\0';
	for (p = req->buf; p < req->buf + len; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t') {
			*why = "request has control characters";
			return -1;
		}
	}
	word = strtok_r(req->buf, " \t", &save);
	if (!word || strncmp(word, "NFQT/", 5)) {
		*why = "not a control request (expected \"" CTL_VERSION
		       " <command>\")";
		return -1;
	}
	if (strcmp(word, CTL_VERSION)) {
		*why = "unsupported protocol version (this daemon speaks " CTL_VERSION
		       ")";
		return -1;
	}
	while ((word = strtok_r(NULL, " \t", &save))) {
		if (req->argc == CTL_ARGS_MAX) {
			*why = "too many arguments";
			return -1;
		}
		req->argv[req->argc++] = word;
	}
	if (!req->argc) {
		*why = "missing command";
		return -1;
	}
	return 0;
}

static void reply_vappend(struct ctl_reply *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void reply_vappend(struct ctl_reply *r, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (r->error && r->len)
		return; /* an error message stays as it is */
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if (r->len + (size_t)n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *d;

		while (cap < r->len + (size_t)n + 1)
			cap *= 2;
		if (cap > REPLY_MAX || !(d = realloc(r->data, cap))) {
			free(r->data);
			r->data = strdup("reply too large");
			r->len = r->data ? strlen(r->data) : 0;
			r->cap = r->len + 1;
			r->error = true;
			return;
		}
		r->data = d;
		r->cap = cap;
	}
	vsnprintf(r->data + r->len, r->cap - r->len, fmt, ap);
	r->len += (size_t)n;
}

void ctl_reply_printf(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vappend(r, fmt, ap);
	va_end(ap);
}

void ctl_reply_error(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;

	r->len = 0;
	r->error = true;
	va_start(ap, fmt);
	reply_vappend(r, fmt, ap);
	va_end(ap);
}

void ctl_reply_free(struct ctl_reply *r)
{
	free(r->data);
	if (r->more_free)
		r->more_free(r->more_state);
	memset(r, 0, sizeof(*r));
}

/* Server. */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct client {
	int fd; /* -1: free slot */
	char in[CTL_REQUEST_MAX];
	size_t inlen;
	char *out; /* what to send now: framed reply, or the next chunk */
	size_t outlen, outoff;
	uint64_t deadline_ms; /* the next: request whole, or progress */
	uint64_t end_ms; /* the last: reply taken whole */
	ctl_more_fn more; /* the rest of a long reply */
	void *more_state;
	void (*more_free)(void *state);
	bool stream; /* a reply with no end, in the stream set */
	bool idle; /* a stream with nothing to send: not watched for
		    * writing until ctl_server_kick() finds some */
	bool eof; /* a stream whose client closed its side: not watched
		   * for reading */
	bool ending; /* a stream asked to end */
};

struct ctl_server {
	int listen_fd;
	int epfd;
	int stream_epfd; /* the streams' clients */
	char path[108];
	struct client clients[MAX_CLIENTS];
};

/* Has it had its request answered (it may be waiting for the next chunk,
 * which can be empty)? */
static bool replying(const struct client *c)
{
	return c->out || c->more;
}

static void client_close(struct ctl_server *s, struct client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(c->stream ? s->stream_epfd : s->epfd, EPOLL_CTL_DEL, c->fd,
		  NULL);
	close(c->fd);
	free(c->out);
	if (c->more_free)
		c->more_free(c->more_state);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Give path (the daemon's own, just made) the owner and group asked for,
 * by a call only when one of them differs: started by systemd as its user,
 * nothing differs, and the unit's SystemCallFilter=~@privileged would turn
 * any chown into EPERM. A symlink put at path is changed itself, never
 * followed. (uid_t)-1 and (gid_t)-1 keep what is there. Returns 0 or -1
 * with errno. */
static int set_owner(const char *path, uid_t owner, gid_t group)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -1;
	if ((owner == (uid_t)-1 || owner == st.st_uid) &&
	    (group == (gid_t)-1 || group == st.st_gid))
		return 0;
	return fchownat(AT_FDCWD, path, owner, group, AT_SYMLINK_NOFOLLOW);
}

/* The socket's directory, made if missing: owned by dir_owner, so that
 * the daemon can remove its socket once it no longer runs as root, and by
 * group, whose members must reach the socket. */
static int parent_dir(const char *path, uid_t dir_owner, gid_t group, char *err,
		      size_t errlen)
{
	char copy[108], *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &st) == 0)
		return 0;
	if (errno != ENOENT || mkdir(dir, 0750) < 0 ||
	    set_owner(dir, dir_owner, group) < 0) {
		snprintf(err, errlen, "cannot create directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove a socket left by a daemon that died; refuse to touch anything
 * else, and refuse to take over from a daemon that is alive. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen,
			 "%s is in use: is another nfqtrackd "
			 "running?",
			 path);
		return -1;
	}
	if (unlink(path) < 0) {
		snprintf(err, errlen, "cannot remove stale %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

struct ctl_server *ctl_server_open(const char *path, uid_t dir_owner,
				   gid_t group, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl_server *s = calloc(1, sizeof(*s));
	mode_t old;
	int r;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->listen_fd = s->epfd = s->stream_epfd = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	err[0] = '\0';
	if (parent_dir(path, dir_owner, group, err, errlen) < 0 ||
	    clear_stale(path, err, errlen) < 0)
		goto fail;
	s->listen_fd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		goto fail;
	old = umask(0117); /* srw-rw----, from the first instant */
	r = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || set_owner(path, (uid_t)-1, group) < 0 ||
	    listen(s->listen_fd, MAX_CLIENTS) < 0)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stream_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || s->stream_epfd < 0)
		goto fail;
	ev.data.ptr = NULL; /* NULL: the listening socket */
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
		goto fail;
	return s;
fail:
	if (!err[0])
		snprintf(err, errlen, "cannot listen on %s: %s", path,
			 strerror(errno));
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (!err[0] || strstr(err, "cannot listen"))
			unlink(path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->stream_epfd >= 0)
		close(s->stream_epfd);
	free(s);
	return NULL;
}

int ctl_server_fd(const struct ctl_server *s)
{
	return s->epfd;
}

int ctl_server_stream_fd(const struct ctl_server *s)
{
	return s->stream_epfd;
}

/* Watch stream client c for what it may do now: take what is to send
 * (unless idle), close (unless it closed its side already: a reading end
 * at EOF stays readable). Hang-ups are always reported. */
static void stream_watch(struct ctl_server *s, struct client *c, int op)
{
	struct epoll_event ev = { .data.ptr = c };

	ev.events = (c->idle ? 0 : EPOLLOUT) | (c->eof ? 0 : EPOLLIN);
	if (epoll_ctl(s->stream_epfd, op, c->fd, &ev) < 0)
		client_close(s, c);
}

/* Frame the reply and start sending it. */
static void client_answer(struct ctl_server *s, struct client *c,
			  struct ctl_reply *rep)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	size_t n;
	char *out;

	n = strlen(CTL_VERSION) + 8 + rep->len + 4;
	out = malloc(n);
	if (!out) {
		client_close(s, c);
		return;
	}
	if (rep->error)
		c->outlen = (size_t)snprintf(out, n, "%s ERR %.*s\n.\n",
					     CTL_VERSION, (int)rep->len,
					     rep->data ? rep->data : "");
	else
		c->outlen = (size_t)snprintf(out, n, "%s OK\n%.*s%s",
					     CTL_VERSION, (int)rep->len,
					     rep->data ? rep->data : "",
					     rep->more ? "" : ".\n");
	if (!rep->error && rep->more) {
		c->more = rep->more;
		c->more_state = rep->more_state;
	}
	c->more_free = rep->more_free; /* the client owns it now */
	rep->more_free = NULL;
	c->out = out;
	c->outoff = 0;
	if (!rep->error && rep->more && rep->stream) {
		/* No deadline: its buffer is bounded, their number too
		 * (evsub.h), and it may wait for events for days. */
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->stream = true;
		c->deadline_ms = c->end_ms = UINT64_MAX;
		stream_watch(s, c, EPOLL_CTL_ADD);
		return;
	}
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_read(struct ctl_server *s, struct client *c, ctl_handler h,
			void *arg)
{
	struct ctl_reply rep = { 0 };
	struct ctl_request req;
	const char *why;
	char *nl;
	ssize_t r;

	r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (r <= 0) {
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(s, c); /* gone before asking anything */
		return;
	}
	c->inlen += (size_t)r;
	nl = memchr(c->in, '\n', c->inlen);
	if (!nl) {
		if (c->inlen < sizeof(c->in))
			return; /* wait for the rest */
		ctl_reply_error(&rep, "request too long (%d bytes at most)",
				CTL_REQUEST_MAX - 1);
	} else if (ctl_parse_request(&req, c->in, (size_t)(nl - c->in), &why) <
		   0) {
		ctl_reply_error(&rep, "%s", why);
	} else {
		h(arg, &req, &rep);
	}
	client_answer(s, c, &rep);
	ctl_reply_free(&rep);
}

/* The next chunk of a long reply, and the end mark after the last. */
static void client_refill(struct ctl_server *s, struct client *c)
{
	struct ctl_reply chunk = { .ending = c->ending };
	bool more = c->more(c->more_state, &chunk);

	if (!more) {
		c->more = NULL;
		ctl_reply_printf(&chunk, ".\n");
	}
	if (chunk.error) {
		/* Too late to say ERR: cut the reply short, without the end
		 * mark, so that the client knows it is incomplete. */
		ctl_reply_free(&chunk);
		client_close(s, c);
		return;
	}
	free(c->out);
	c->out = chunk.data;
	c->outlen = chunk.len;
	c->outoff = 0;
	/* A stream with nothing to say waits for ctl_server_kick(),
	 * unwatched for writing. */
	if (c->stream && c->idle != !c->outlen) {
		c->idle = !c->outlen;
		stream_watch(s, c, EPOLL_CTL_MOD);
	}
}

/* Send what the client takes; once it has taken all, make the next chunk
 * of a long reply: one a call, empty or not (a filter that matches
 * nothing makes empty ones), so that a turn of the loop does a bounded
 * share and packets go on between turns. The socket stays writable: the
 * next turn comes at once. */
static void client_write(struct ctl_server *s, struct client *c,
			 uint64_t now_ms)
{
	if (c->outoff < c->outlen) {
		ssize_t r = send(c->fd, c->out + c->outoff,
				 c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				client_close(s, c);
			return;
		}
		c->outoff += (size_t)r;
	}
	/* It is reading, or waits for the next chunk: on to the next
	 * deadline, but not past the end (a stream has none). */
	if (!c->stream)
		c->deadline_ms = now_ms + CLIENT_DEADLINE_MS;
	if (c->deadline_ms > c->end_ms)
		c->deadline_ms = c->end_ms;
	if (c->outoff < c->outlen)
		return;
	if (!c->more) {
		client_close(s, c);
		return;
	}
	client_refill(s, c);
}

/* Send a client a last answer, if it will take it at once, before it is
 * hung up on. */
static void last_word(int fd, const char *msg, size_t len)
{
	char sink[512];

	send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	/* Take what the client has sent: closing a socket with unread data
	 * resets the peer, which may then never read the answer. Bounded:
	 * a request is small, and a flood is not our problem to read. */
	for (int i = 0;
	     i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
}

static void accept_clients(struct ctl_server *s, uint64_t now_ms)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *c = NULL;
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (int i = 0; i < MAX_CLIENTS && !c; i++)
			if (s->clients[i].fd < 0)
				c = &s->clients[i];
		if (!c) {
			static const char busy[] = CTL_VERSION
				" ERR busy: too many control clients\n.\n";

			last_word(fd, busy, sizeof(busy) - 1);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->inlen = 0;
		c->deadline_ms = now_ms + CLIENT_DEADLINE_MS;
		c->end_ms = now_ms + CLIENT_TOTAL_MS;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			client_close(s, c);
	}
}

void ctl_server_run(struct ctl_server *s, uint64_t now_ms, ctl_handler h,
		    void *arg)
{
	struct epoll_event evs[MAX_CLIENTS + 1];
	int n = epoll_wait(s->epfd, evs, MAX_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;

		if (!c)
			accept_clients(s, now_ms);
		else if (c->fd < 0)
			continue; /* closed earlier in this round */
		else if (replying(c))
			client_write(s, c, now_ms);
		else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(s, c, h, arg);
	}
}

void ctl_server_run_streams(struct ctl_server *s, uint64_t now_ms)
{
	struct epoll_event evs[MAX_CLIENTS];
	int n = epoll_wait(s->stream_epfd, evs, MAX_CLIENTS, 0);

	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;
		char sink[512];
		ssize_t r;

		if (c->fd < 0)
			continue;
		if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
			client_close(s, c); /* gone */
			continue;
		}
		if (evs[i].events & EPOLLIN) {
			/* It has nothing to say after its request: what it
			 * says is dropped; its end of the socket closed,
			 * it may still read. */
			r = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (r == 0) {
				c->eof = true;
				stream_watch(s, c, EPOLL_CTL_MOD);
			} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
				client_close(s, c);
			}
			if (c->fd < 0)
				continue;
		}
		if (evs[i].events & EPOLLOUT)
			client_write(s, c, now_ms);
	}
}

void ctl_server_kick(struct ctl_server *s)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];

		if (c->fd >= 0 && c->stream && c->idle && c->more)
			client_refill(s, c);
	}
}

void ctl_server_end_streams(struct ctl_server *s, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	bool left = true;

	for (int i = 0; i < MAX_CLIENTS; i++)
		s->clients[i].ending = true;
	while (left && mono_ms() < deadline) {
		struct pollfd p = { .fd = s->stream_epfd, .events = POLLIN };

		ctl_server_kick(s);
		left = false;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (s->clients[i].fd >= 0 && s->clients[i].stream)
				left = true;
		if (left && poll(&p, 1, 10) > 0)
			ctl_server_run_streams(s, mono_ms());
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].stream)
			client_close(s, &s->clients[i]);
}

void ctl_server_expire(struct ctl_server *s, uint64_t now_ms)
{
	static const char slow[] = CTL_VERSION
		" ERR request not complete within " STR(
			CLIENT_DEADLINE_S) " s\n.\n";

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];

		if (c->fd < 0 || now_ms < c->deadline_ms)
			continue;
		/* Still asking: it is told why. Past that, its reply is cut
		 * short, without the end mark: it knows it is incomplete. */
		if (!replying(c))
			last_word(c->fd, slow, sizeof(slow) - 1);
		client_close(s, c);
	}
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(s, &s->clients[i]);
	close(s->listen_fd);
	close(s->epfd);
	close(s->stream_epfd);
	unlink(s->path);
	free(s);
}
