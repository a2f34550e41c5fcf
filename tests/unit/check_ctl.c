// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_ctl.c - the control protocol: request parsing, reply framing, and
 * a server and client talking over a real Unix socket, including clients
 * that misbehave and a stale socket left by a dead daemon.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctlclient.h"
#include "testutil.h"

static int parse(struct ctl_request *r, const char *line, const char **why)
{
	return ctl_parse_request(r, line, strlen(line), why);
}

START_TEST(good_requests)
{
	struct ctl_request r;
	const char *why = NULL;

	ck_assert_int_eq(parse(&r, "NFQT/1 stats", &why), 0);
	ck_assert_int_eq(r.argc, 1);
	ck_assert_str_eq(r.argv[0], "stats");
	ck_assert_int_eq(parse(&r, "NFQT/1  list\tproto tcp\r", &why), 0);
	ck_assert_int_eq(r.argc, 3);
	ck_assert_str_eq(r.argv[2], "tcp");
}
END_TEST

START_TEST(bad_requests)
{
	struct ctl_request r;
	const char *why = NULL;
	char big[CTL_REQUEST_MAX + 10];
	char many[512] = "NFQT/1 x";

	ck_assert_int_eq(parse(&r, "", &why), -1);
	ck_assert_int_eq(parse(&r, "stats", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "not a control request"));
	ck_assert_int_eq(parse(&r, "NFQT/2 stats", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "unsupported protocol version"));
	ck_assert_int_eq(parse(&r, "NFQT/1", &why), -1);
	ck_assert_str_eq(why, "missing command");
	ck_assert_int_eq(parse(&r, "NFQT/1 st\x01ts", &why), -1);
	ck_assert_str_eq(why, "request has control characters");
	ck_assert_int_eq(ctl_parse_request(&r, "NFQT/1 a\0b", 10, &why), -1);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(ctl_parse_request(&r, big, sizeof(big), &why), -1);
	ck_assert_str_eq(why, "request too long");
	for (int i = 0; i < CTL_ARGS_MAX; i++)
		strcat(many, " y");
	ck_assert_int_eq(parse(&r, many, &why), -1);
	ck_assert_str_eq(why, "too many arguments");
}
END_TEST

START_TEST(reply_buffer)
{
	struct ctl_reply r = { 0 };

	for (int i = 0; i < 10000; i++)
		ctl_reply_printf(&r, "key%d %d\n", i, i);
	ck_assert(!r.error);
	ck_assert_ptr_nonnull(strstr(r.data, "key9999 9999\n"));
	ctl_reply_error(&r, "bad %s", "thing");
	ck_assert(r.error);
	ck_assert_str_eq(r.data, "bad thing");
	ctl_reply_printf(&r, "ignored after an error");
	ck_assert_str_eq(r.data, "bad thing");
	ctl_reply_free(&r);
	ck_assert_ptr_null(r.data);
}
END_TEST

/* A long reply in chunks: "lines N" sends N numbered lines, 1000 a chunk;
 * "broken" fails after its first chunk; "empty N" makes N empty chunks
 * (a filter that matches nothing), then one line. */
struct chunks {
	int next, total;
	bool broken;
};

static int more_calls; /* chunks made, of any reply */

static bool more_empty(void *state, struct ctl_reply *rep)
{
	struct chunks *c = state;

	more_calls++;
	if (c->next++ < c->total)
		return true;
	ctl_reply_printf(rep, "found\n");
	return false;
}

static bool more_lines(void *state, struct ctl_reply *rep)
{
	struct chunks *c = state;

	if (c->broken && c->next > 0) {
		ctl_reply_error(rep, "gone wrong");
		return true;
	}
	for (int i = 0; i < 1000 && c->next < c->total; i++)
		ctl_reply_printf(rep, "line %d\n", c->next++);
	return c->next < c->total;
}

/* The stream's source: lines to give when asked, and its end. */
static struct {
	int pending, given, freed;
} stream;

static bool more_stream(void *state, struct ctl_reply *rep)
{
	(void)state;
	for (; stream.pending; stream.pending--)
		ctl_reply_printf(rep, "event %d\n", stream.given++);
	return !rep->ending;
}

static void stream_free(void *state)
{
	(void)state;
	stream.freed++;
}

static void handler(void *arg, const struct ctl_request *req,
		    struct ctl_reply *rep)
{
	(*(int *)arg)++;
	if (!strcmp(req->argv[0], "stream")) {
		rep->more = more_stream;
		rep->more_free = stream_free;
		rep->stream = true;
	} else if (!strcmp(req->argv[0], "hello")) {
		ctl_reply_printf(rep, "greeting %s\n",
				 req->argc > 1 ? req->argv[1] : "world");
	} else if (!strcmp(req->argv[0], "raw") && req->argc == 2) {
		/* body exactly as given, "_" for newlines */
		for (const char *p = req->argv[1]; *p; p++)
			ctl_reply_printf(rep, "%c", *p == '_' ? '\n' : *p);
	} else if (!strcmp(req->argv[0], "empty") && req->argc == 2) {
		struct chunks *c = calloc(1, sizeof(*c));

		c->total = atoi(req->argv[1]);
		rep->more = more_empty;
		rep->more_state = c;
		rep->more_free = free;
	} else if (!strcmp(req->argv[0], "lines") ||
		   !strcmp(req->argv[0], "broken")) {
		struct chunks *c = calloc(1, sizeof(*c));

		c->total = req->argc > 1 ? atoi(req->argv[1]) : 0;
		c->broken = !strcmp(req->argv[0], "broken");
		rep->more = more_lines;
		rep->more_state = c;
		rep->more_free = free;
	} else {
		ctl_reply_error(rep, "unknown command '%s'", req->argv[0]);
	}
}

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Serve until child exits; return its exit status. */
static int serve_until(struct ctl_server *s, pid_t child, int *calls)
{
	int status;

	for (;;) {
		struct pollfd p = { .fd = ctl_server_fd(s), .events = POLLIN };

		poll(&p, 1, 50);
		ctl_server_run(s, ms(), handler, calls);
		ctl_server_expire(s, ms());
		if (waitpid(child, &status, WNOHANG) == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
	}
}

static char dir[64], sock[128];

static void setup(void)
{
	strcpy(dir, "/tmp/check_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sub/ctl", dir);
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(round_trip)
{
	char err[256];
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	struct stat st;
	int calls = 0;
	pid_t child;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	child = fork();
	if (child == 0) {
		struct ctl_reply rep;
		enum ctl_status r = ctl_call(sock, "hello there", 5000, &rep,
					     err, sizeof(err));

		if (r != CTL_OK || strcmp(rep.data, "greeting there\n"))
			_exit(1);
		ctl_reply_free(&rep);
		r = ctl_call(sock, "nope", 5000, &rep, err, sizeof(err));
		if (r != CTL_ERR_DAEMON || strcmp(rep.data, "unknown command "
							    "'nope'"))
			_exit(2);
		ctl_reply_free(&rep);
		_exit(0);
	}
	ck_assert_int_eq(serve_until(s, child, &calls), 0);
	ck_assert_int_eq(calls, 2);
	ctl_server_close(s);
	ck_assert_int_eq(access(sock, F_OK), -1);
}
END_TEST

struct tally {
	size_t bytes, lines;
	int last;
};

static void tally(void *arg, const char *data, size_t len)
{
	struct tally *t = arg;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			t->lines++;
	}
	t->bytes += len;
}

START_TEST(long_replies_stream)
{
	char err[256];
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	int calls = 0;
	pid_t child;

	ck_assert_ptr_nonnull(s);
	child = fork();
	if (child == 0) {
		struct ctl_reply rep, em;
		struct tally t = { 0 };
		int bad = 0;

		/* 100000 lines, streamed to the caller as they come. */
		if (ctl_call_stream(sock, "lines 100000", 5000, tally, &t, &em,
				    err, sizeof(err)) != CTL_OK ||
		    t.lines != 100000)
			bad |= 1;
		/* The same, whole, through ctl_call. */
		if (ctl_call(sock, "lines 2500", 5000, &rep, err,
			     sizeof(err)) != CTL_OK ||
		    strncmp(rep.data, "line 0\nline 1\n", 14) ||
		    strcmp(rep.data + rep.len - 10, "line 2499\n"))
			bad |= 2;
		ctl_reply_free(&rep);
		/* Empty, and bodies whose end is near the end mark. */
		if (ctl_call(sock, "lines 0", 5000, &rep, err, sizeof(err)) !=
			    CTL_OK ||
		    rep.len)
			bad |= 4;
		ctl_reply_free(&rep);
		for (int i = 0; i < 4; i++) {
			static const char *const raw[] = { "_", "a_", "ab_",
							   "._" };
			static const char *const want[] = { "\n", "a\n", "ab\n",
							    ".\n" };
			char req[32];

			snprintf(req, sizeof(req), "raw %s", raw[i]);
			if (ctl_call(sock, req, 5000, &rep, err, sizeof(err)) !=
				    CTL_OK ||
			    strcmp(rep.data, want[i]))
				bad |= 8 << i;
			ctl_reply_free(&rep);
		}
		/* Cut short after the first chunk: the client must notice. */
		t = (struct tally){ 0 };
		if (ctl_call_stream(sock, "broken 5000", 5000, tally, &t, &em,
				    err, sizeof(err)) != CTL_ERR_REPLY ||
		    !strstr(err, "incomplete"))
			bad |= 128;
		_exit(bad);
	}
	ck_assert_int_eq(serve_until(s, child, &calls), 0);
	ck_assert_int_eq(calls, 8);
	ctl_server_close(s);
}
END_TEST

/* The socket belongs to the group that may use nfqtrackctl, and the
 * directory made for it to the daemon's user, who must remove it. */
START_TEST(socket_owners)
{
	char err[256], sub[160];
	struct ctl_server *s;
	struct stat st;

	if (geteuid() != 0) {
		printf("check_ctl: socket_owners skipped: needs root\n");
		return;
	}
	s = ctl_server_open(sock, 65534, 65534, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, 65534);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0750);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);
	ctl_server_close(s);
}
END_TEST

START_TEST(unreachable)
{
	struct ctl_reply rep;
	char err[256];

	ck_assert_int_eq(ctl_call(sock, "hello", 1000, &rep, err, sizeof(err)),
			 CTL_ERR_CONNECT);
	ck_assert_ptr_nonnull(strstr(err, "(is it running?)"));
}
END_TEST

START_TEST(stale_socket_replaced_live_one_refused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *s, *s2;
	char err[256];
	int fd;

	/* A socket file nobody listens on: what a killed daemon leaves. */
	ck_assert_int_eq(mkdir(strcat(strcpy(err, dir), "/sub"), 0755), 0);
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	s = ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	s2 = ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	ck_assert_ptr_null(s2);
	ck_assert_ptr_nonnull(strstr(err, "is in use"));
	ctl_server_close(s);
	/* Never delete something that is not a socket. */
	fd = creat(sock, 0600);
	close(fd);
	ck_assert_ptr_null(
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "exists and is not a socket"));
	ck_assert_int_eq(access(sock, F_OK), 0);
}
END_TEST

START_TEST(misbehaving_clients)
{
	char err[256];
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	int calls = 0;
	pid_t child;

	ck_assert_ptr_nonnull(s);
	child = fork();
	if (child == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fds[40], ok = 0;
		struct ctl_reply rep;

		strcpy(sa.sun_path, sock);
		/* 40 silent clients: more than the server serves. */
		for (int i = 0; i < 40; i++) {
			fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
			connect(fds[i], (struct sockaddr *)&sa, sizeof(sa));
		}
		/* Once their deadline passes, service resumes. */
		for (int i = 0; i < 100 && !ok; i++) {
			usleep(100000);
			ok = ctl_call(sock, "hello", 2000, &rep, err,
				      sizeof(err)) == CTL_OK;
		}
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(serve_until(s, child, &calls), 0);
	ctl_server_close(s);
}
END_TEST

/* A client of s in this process, connected; the server, on its clock at
 * now, has accepted it. */
static int connect_to(struct ctl_server *s, uint64_t now, int *calls)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	strcpy(sa.sun_path, sock);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ctl_server_run(s, now, handler, calls);
	return fd;
}

/* connect_to(), and send request req whole. */
static int ask(struct ctl_server *s, uint64_t now, int *calls, const char *req)
{
	int fd = connect_to(s, now, calls);

	ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	return fd;
}

/* What the server has for the client, without waiting: appended to buf
 * (of size cap, holding *len) as far as it goes; returns false at end of
 * stream. */
static bool drain(int fd, char *buf, size_t cap, size_t *len)
{
	char sink[65536];

	for (int i = 0; i < 64; i++) {
		ssize_t r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (r == 0)
			return false;
		if (r < 0)
			return errno == EAGAIN;
		if ((size_t)r > cap - 1 - *len)
			r = (ssize_t)(cap - 1 - *len); /* the start is enough */
		memcpy(buf + *len, sink, (size_t)r);
		*len += (size_t)r;
		buf[*len] = '\0';
	}
	return true;
}

/* A client that sends its request a byte a second is told, 5 s after it
 * connected, that its time is up, and hung up on: reading does not give it
 * more time. (Clock: the server's, made up.) */
START_TEST(trickled_request_times_out)
{
	static const char req[] = "NFQT/1 hello\n";
	char err[256], got[256] = "";
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	uint64_t now = 1000;
	int calls = 0, fd, i;
	size_t len = 0;
	bool open = true;

	ck_assert_ptr_nonnull(s);
	fd = connect_to(s, now, &calls);
	for (i = 0; i < 12 && open; i++) {
		ck_assert_int_eq(send(fd, req + i, 1, MSG_NOSIGNAL), 1);
		now += 1000;
		ctl_server_run(s, now, handler, &calls);
		ctl_server_expire(s, now);
		open = drain(fd, got, sizeof(got), &len);
	}
	ck_assert(!open);
	ck_assert_int_eq(i, 5);
	ck_assert_str_eq(got,
			 "NFQT/1 ERR request not complete within 5 s\n.\n");
	ck_assert_int_eq(calls, 0);
	close(fd);
	ctl_server_close(s);
}
END_TEST

/* A client that takes its reply just fast enough never to be idle for 5 s
 * is cut short all the same, 60 s after it connected, without the end
 * mark; a slot is not its to keep. */
START_TEST(slow_reader_is_cut_short)
{
	char err[256], head[64] = "";
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	uint64_t now = 1000;
	int calls = 0, fd, i;
	size_t len = 0;
	bool open = true;

	ck_assert_ptr_nonnull(s);
	fd = ask(s, now, &calls, "NFQT/1 lines 100000000\n");
	for (i = 0; i < 200 && open; i++) {
		ctl_server_run(s, now, handler, &calls);
		ctl_server_expire(s, now);
		open = drain(fd, head, sizeof(head), &len);
		now += 4000;
	}
	ck_assert_int_eq(calls, 1);
	ck_assert_msg(!open, "still served after %d s", i * 4);
	ck_assert_uint_ge(now, 1000 + 60000);
	ck_assert_uint_le(now, 1000 + 60000 + 8000);
	ck_assert(!strncmp(head, "NFQT/1 OK\nline 0\n", 17));
	close(fd);
	ctl_server_close(s);
}
END_TEST

/* A reply that takes long to make, if little to send: one chunk a turn
 * of the server, never more, so that the loop goes back to the packets
 * between any two; and the client, not idle meanwhile, gets it whole. */
START_TEST(one_chunk_a_turn)
{
	char err[256], got[64] = "";
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	int calls = 0, fd, turns, most = 0;
	uint64_t now = 1000;
	size_t len = 0;
	bool open = true;

	ck_assert_ptr_nonnull(s);
	fd = ask(s, now, &calls, "NFQT/1 empty 3000\n");
	more_calls = 0;
	for (turns = 0; turns < 10000 && open; turns++) {
		int before = more_calls;

		ctl_server_run(s, now, handler, &calls);
		ctl_server_expire(s, now);
		if (more_calls - before > most)
			most = more_calls - before;
		open = drain(fd, got, sizeof(got), &len);
		now += 2; /* 3000 chunks in 6 s: never 5 s idle */
	}
	ck_assert_int_eq(most, 1);
	ck_assert_int_eq(more_calls, 3001);
	ck_assert_int_ge(turns, 3001);
	ck_assert_str_eq(got, "NFQT/1 OK\nfound\n.\n");
	close(fd);
	ctl_server_close(s);
}
END_TEST

/* Is the stream set quiet (nothing to do for any stream)? */
static bool streams_quiet(struct ctl_server *s)
{
	struct pollfd p = { .fd = ctl_server_stream_fd(s), .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* A stream (nfqtrackctl events): no deadline, not watched while it has
 * nothing to say (no busy loop), woken by a kick, what its client says
 * after its request dropped, its last lines and the end mark at the end;
 * a client gone while idle is noticed and its state freed. */
START_TEST(stream_waits_for_kicks)
{
	char err[256], got[256] = "";
	struct ctl_server *s =
		ctl_server_open(sock, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	uint64_t now = 1000;
	int calls = 0, fd, fd2;
	size_t len = 0;

	ck_assert_ptr_nonnull(s);
	memset(&stream, 0, sizeof(stream));
	fd = ask(s, now, &calls, "NFQT/1 stream\n");
	ctl_server_run(s, now, handler, &calls);
	ck_assert_int_eq(calls, 1);
	ctl_server_run_streams(s, now);
	ck_assert(drain(fd, got, sizeof(got), &len));
	ck_assert_str_eq(got, "NFQT/1 OK\n");
	ck_assert(streams_quiet(s));
	/* Two minutes of nothing: still there. */
	now += 120000;
	ctl_server_expire(s, now);
	ctl_server_run(s, now, handler, &calls);
	ctl_server_kick(s);
	ck_assert(streams_quiet(s));
	ck_assert(drain(fd, got, sizeof(got), &len));
	stream.pending = 3;
	ctl_server_kick(s);
	ck_assert(!streams_quiet(s));
	ctl_server_run_streams(s, now);
	ck_assert(drain(fd, got, sizeof(got), &len));
	ck_assert_str_eq(got, "NFQT/1 OK\nevent 0\nevent 1\nevent 2\n");
	ctl_server_run_streams(s, now);
	ck_assert(streams_quiet(s));
	/* What it says is dropped; its side closed, it still reads. */
	ck_assert_int_eq(send(fd, "junk\n", 5, MSG_NOSIGNAL), 5);
	ctl_server_run_streams(s, now);
	ck_assert(streams_quiet(s));
	shutdown(fd, SHUT_WR);
	ctl_server_run_streams(s, now);
	ck_assert(streams_quiet(s));
	/* A second one, gone while idle. */
	fd2 = ask(s, now, &calls, "NFQT/1 stream\n");
	ctl_server_run(s, now, handler, &calls);
	ctl_server_run_streams(s, now);
	close(fd2);
	ctl_server_run_streams(s, now);
	ck_assert_int_eq(stream.freed, 1);
	/* The end: the last lines, the end mark, hung up on. */
	stream.pending = 2;
	ctl_server_end_streams(s, 1000);
	ck_assert(!drain(fd, got, sizeof(got), &len));
	ck_assert_str_eq(got, "NFQT/1 OK\nevent 0\nevent 1\nevent 2\n"
			      "event 3\nevent 4\n.\n");
	ck_assert_int_eq(stream.freed, 2);
	close(fd);
	ctl_server_close(s);
}
END_TEST

static Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("protocol");
	TCase *io = tcase_create("socket");

	tcase_add_test(tc, good_requests);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, reply_buffer);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(io, setup, teardown);
	tcase_set_timeout(io, 30);
	tcase_add_test(io, round_trip);
	tcase_add_test(io, long_replies_stream);
	tcase_add_test(io, socket_owners);
	tcase_add_test(io, unreachable);
	tcase_add_test(io, stale_socket_replaced_live_one_refused);
	tcase_add_test(io, misbehaving_clients);
	tcase_add_test(io, trickled_request_times_out);
	tcase_add_test(io, slow_reader_is_cut_short);
	tcase_add_test(io, one_chunk_a_turn);
	tcase_add_test(io, stream_waits_for_kicks);
	suite_add_tcase(s, io);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return tu_run(ctl_suite());
}
