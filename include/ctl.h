/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl.h - the control socket: protocol and server (the client side:
 * ctlclient.h).
 *
 * A Unix stream socket carries one request per connection:
 *
 *	request:  "NFQT/1 <command> [<argument> ...]\n"   (4096 bytes at most)
 *	reply:    "NFQT/1 OK\n" <body lines> ".\n"
 *	      or  "NFQT/1 ERR <message>\n" ".\n"
 *
 * The version word lets a newer nfqtrackctl talk to an older daemon and
 * get a clear error rather than garbage. Body lines are "key value" pairs
 * or records, never a lone ".". The server never blocks: it serves a
 * bounded number of clients, each with a deadline, from its own epoll set,
 * so a slow or hostile client cannot stall the packet path. A client has
 * 5 s from connecting to send its request whole (past that it is told so
 * and hung up on), may then leave its reply untaken for 5 s at a time, and
 * must have taken all of it 60 s after connecting (past either, the reply
 * is cut short, without its end mark).
 */
#ifndef NFQT_CTL_H
#define NFQT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_VERSION "NFQT/1"
#define CTL_REQUEST_MAX 4096
#define CTL_ARGS_MAX 16

struct ctl_request {
	int argc; /* argv[0] is the command */
	char *argv[CTL_ARGS_MAX];
	char buf[CTL_REQUEST_MAX];
};

/*
 * Parse one request (len bytes at line, no newline). Returns 0, or -1 and
 * sets *why to the problem. Pure: the fuzz target for the protocol.
 */
int ctl_parse_request(struct ctl_request *req, const char *line, size_t len,
		      const char **why);

struct ctl_reply;

/*
 * A reply too long to build at once: the handler sets more and more_state,
 * and the server calls more(more_state, rep) each time the client has
 * taken what was written, until it returns false. Each call should append
 * a bounded amount, so that the packet path never waits on a listing.
 * more_free(more_state) is called once, when the reply is done or the
 * client has gone.
 */
typedef bool (*ctl_more_fn)(void *state, struct ctl_reply *rep);

/* A growing reply body (bounded; past the bound it turns into an error). */
struct ctl_reply {
	char *data;
	size_t len, cap;
	bool error; /* data holds the error message */
	ctl_more_fn more;
	void *more_state;
	void (*more_free)(void *state);
	/* A stream (nfqtrackctl events): a reply with no end, more() called
	 * again whenever ctl_server_kick() is; an empty chunk means "nothing
	 * now". Its client has no deadline, and is served from the stream
	 * set (ctl_server_stream_fd()), which needs nothing paused. */
	bool stream;
	/* Set by the server in a stream's chunk when it is to end (the
	 * daemon stops): more() should return false once it has said all. */
	bool ending;
};

void ctl_reply_printf(struct ctl_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_reply_error(struct ctl_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_reply_free(struct ctl_reply *r);

/* Server side. */
typedef void (*ctl_handler)(void *arg, const struct ctl_request *req,
			    struct ctl_reply *rep);

struct ctl_server;

/*
 * Listen on path (mode 0660, group group), creating its directory if
 * missing (mode 0750, owned by dir_owner and group). A stale socket left
 * by a dead daemon is replaced; a live one is an error. (uid_t)-1 and
 * (gid_t)-1 leave owner and group as they come; so does an owner or group
 * that is already right: no chown is made then (a unit's
 * SystemCallFilter=~@privileged denies it), and none follows a symlink.
 * Returns NULL with a message in err.
 */
struct ctl_server *ctl_server_open(const char *path, uid_t dir_owner,
				   gid_t group, char *err, size_t errlen);

/* A descriptor that becomes readable when the server has work. */
int ctl_server_fd(const struct ctl_server *s);

/* Do the work that is ready (accept, read, answer, write). Never blocks. */
void ctl_server_run(struct ctl_server *s, uint64_t now_ms, ctl_handler h,
		    void *arg);

/*
 * The streams (ctl_reply.stream) are served from a second descriptor,
 * apart from requests, so that a subscriber taking its events needs none
 * of what requests need (the workers paused). ctl_server_run_streams()
 * sends what they take; ctl_server_kick() asks each stream that had
 * nothing to say for its next chunk (call it when events came: O(clients)).
 * ctl_server_end_streams() asks them for their last chunks and sends those
 * for at most timeout_ms, then hangs up on them (at stop). None blocks
 * but the last.
 */
int ctl_server_stream_fd(const struct ctl_server *s);
void ctl_server_run_streams(struct ctl_server *s, uint64_t now_ms);
void ctl_server_kick(struct ctl_server *s);
void ctl_server_end_streams(struct ctl_server *s, int timeout_ms);

/* Drop clients past their deadline. */
void ctl_server_expire(struct ctl_server *s, uint64_t now_ms);

/* Close every client and the socket, and remove the socket file. */
void ctl_server_close(struct ctl_server *s);

#endif
