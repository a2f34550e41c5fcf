// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flowgen's socket modes: real TCP connections and UDP flows through the
 * stack, for the integration tests and the soak (main.c: serve, client,
 * udp). Every loop is bounded in count and time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flowgen.h"

#define MAX_CONNS 4096
#define CHURN_INFLIGHT 64

static struct sockaddr_storage peer, local;
static socklen_t peer_len, local_len; /* local_len 0: any source */

static void die(const char *what)
{
	flowgen_fatal("%s: %s", what, strerror(errno));
}

static long now_ms(void)
{
	return (long)(flowgen_now_ns() / 1000000);
}

static void set_peer(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	int r = getaddrinfo(addr, port, &hints, &ai);

	if (r) {
		fprintf(stderr, "flowgen: %s: %s\n", addr, gai_strerror(r));
		exit(2);
	}
	memcpy(&peer, ai->ai_addr, ai->ai_addrlen);
	peer_len = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* A socket towards the peer, from the -s address if one was given
 * (port chosen by the kernel); -1 on failure. */
static int peer_socket(int type)
{
	int fd = socket(peer.ss_family, type, 0);

	if (fd >= 0 && local_len &&
	    bind(fd, (struct sockaddr *)&local, local_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* serve */

static int serve(int port, int secs)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port) };
	int one = 1, zero = 0, lfd, ufd, ep;
	long deadline = now_ms() + secs * 1000L;
	struct epoll_event ev = { .events = EPOLLIN };

	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ufd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || ufd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(ufd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4096) < 0)
		die("bind/listen");
	ep = epoll_create1(0);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.fd = ufd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	printf("serving on port %d\n", port);
	fflush(stdout);
	while (now_ms() < deadline) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 200);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[2048];
			ssize_t r;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
			} else if (fd == ufd) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);

				while ((r = recvfrom(ufd, buf, sizeof(buf), 0,
						     (struct sockaddr *)&from,
						     &fl)) > 0) {
					sendto(ufd, buf, (size_t)r, 0,
					       (struct sockaddr *)&from, fl);
					fl = sizeof(from);
				}
			} else {
				r = read(fd, buf, sizeof(buf));
				if (r > 0)
					(void)!write(fd, buf, (size_t)r);
				else if (r == 0 || errno != EAGAIN)
					close(fd);
			}
		}
	}
	return 0;
}

/* client */

static int conns[MAX_CONNS];
static int nconns;

static void cmd_open(int n, int ms)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int ok = 0, fail = 0, pending = 0;
	long deadline = now_ms() + ms;

	if (!p || n <= 0 || nconns + n > MAX_CONNS) {
		printf("open error\n");
		free(p);
		return;
	}
	for (int i = 0; i < n; i++) {
		p[i].fd = peer_socket(SOCK_STREAM | SOCK_NONBLOCK);
		p[i].events = POLLOUT;
		if (p[i].fd < 0 ||
		    (connect(p[i].fd, (struct sockaddr *)&peer, peer_len) < 0 &&
		     errno != EINPROGRESS)) {
			if (p[i].fd >= 0)
				close(p[i].fd);
			p[i].fd = -1;
			fail++;
		} else {
			pending++;
		}
	}
	while (pending && now_ms() < deadline) {
		int r = poll(p, (nfds_t)n, (int)(deadline - now_ms()));

		if (r <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err) {
				close(p[i].fd);
				fail++;
			} else {
				conns[nconns++] = p[i].fd;
				ok++;
			}
			p[i].fd = -1;
			pending--;
		}
	}
	for (int i = 0; i < n; i++) {
		if (p[i].fd >= 0) {
			close(p[i].fd); /* still connecting: a failure */
			fail++;
		}
	}
	free(p);
	printf("open ok=%d fail=%d\n", ok, fail);
}

static void cmd_echo(int ms)
{
	static const char msg[] = "flowgen\n";
	int ok = 0, fail = 0;
	long deadline = now_ms() + ms;
	struct pollfd *p = calloc((size_t)nconns + 1, sizeof(*p));
	size_t *got = calloc((size_t)nconns + 1, sizeof(*got));
	int pending = 0;

	for (int i = 0; i < nconns; i++) {
		p[i].fd = conns[i];
		p[i].events = POLLIN;
		if (send(conns[i], msg, sizeof(msg) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(msg) - 1) {
			p[i].fd = -1;
			fail++;
		} else {
			pending++;
		}
	}
	while (pending && now_ms() < deadline) {
		if (poll(p, (nfds_t)nconns, (int)(deadline - now_ms())) <= 0)
			continue;
		for (int i = 0; i < nconns; i++) {
			char buf[64];
			ssize_t r;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			r = read(p[i].fd, buf, sizeof(buf));
			if (r <= 0) {
				fail++;
				p[i].fd = -1;
				pending--;
				continue;
			}
			got[i] += (size_t)r;
			if (got[i] >= sizeof(msg) - 1) {
				ok++;
				p[i].fd = -1;
				pending--;
			}
		}
	}
	fail += pending;
	free(p);
	free(got);
	printf("echo ok=%d fail=%d\n", ok, fail);
}

/*
 * churn: new connections at a steady rate, as a client population would
 * open them, each one measured from its own start. When 64 are under way
 * the next waits, so that a dead server costs bounded resources; a late
 * start is still timed from when it really started.
 */
struct churn_conn {
	int fd; /* -1: a free slot */
	long start;
	size_t got;
	int connected;
};

static void churn_end(struct churn_conn *c, int *count, int *inflight)
{
	close(c->fd);
	c->fd = -1;
	(*count)++;
	(*inflight)--;
}

static void cmd_churn(int n, int rate, int ms)
{
	static const char msg[] = "flowgen\n";
	struct churn_conn c[CHURN_INFLIGHT];
	struct pollfd p[CHURN_INFLIGHT];
	int ok = 0, fail = 0, started = 0, inflight = 0;
	long t0 = now_ms(), deadline, max_ms = 0;

	if (n <= 0 || n > 1000000 || rate <= 0 || rate > 100000 || ms <= 0) {
		printf("churn error\n");
		return;
	}
	deadline = t0 + (long)n * 1000 / rate + ms + 2000;
	for (int k = 0; k < CHURN_INFLIGHT; k++)
		c[k].fd = -1;
	while ((started < n || inflight) && now_ms() < deadline) {
		long now = now_ms(), wake = deadline;

		while (started < n && inflight < CHURN_INFLIGHT &&
		       now >= t0 + (long)started * 1000 / rate) {
			int k = 0, fd;

			while (c[k].fd >= 0)
				k++;
			started++;
			fd = peer_socket(SOCK_STREAM | SOCK_NONBLOCK);
			if (fd < 0 || (connect(fd, (struct sockaddr *)&peer,
					       peer_len) < 0 &&
				       errno != EINPROGRESS)) {
				if (fd >= 0)
					close(fd);
				fail++;
				continue;
			}
			c[k] = (struct churn_conn){ .fd = fd, .start = now };
			inflight++;
		}
		if (started < n && inflight < CHURN_INFLIGHT)
			wake = t0 + (long)started * 1000 / rate;
		for (int k = 0; k < CHURN_INFLIGHT; k++) {
			p[k].fd = c[k].fd;
			p[k].events = c[k].connected ? POLLIN : POLLOUT;
			p[k].revents = 0;
			if (c[k].fd < 0)
				continue;
			if (now - c[k].start >= ms) {
				churn_end(&c[k], &fail, &inflight);
				p[k].fd = -1;
			} else if (c[k].start + ms < wake) {
				wake = c[k].start + ms;
			}
		}
		if (poll(p, CHURN_INFLIGHT,
			 wake > now ? (int)(wake - now) : 0) <= 0)
			continue;
		for (int k = 0; k < CHURN_INFLIGHT; k++) {
			char buf[64];
			int err = 0;
			socklen_t el = sizeof(err);
			ssize_t r;

			if (p[k].fd < 0 || !p[k].revents)
				continue;
			if (!c[k].connected) {
				getsockopt(c[k].fd, SOL_SOCKET, SO_ERROR, &err,
					   &el);
				if (err || send(c[k].fd, msg, sizeof(msg) - 1,
						MSG_NOSIGNAL) !=
						   (ssize_t)sizeof(msg) - 1)
					churn_end(&c[k], &fail, &inflight);
				else
					c[k].connected = 1;
				continue;
			}
			r = read(c[k].fd, buf, sizeof(buf));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				churn_end(&c[k], &fail, &inflight);
				continue;
			}
			c[k].got += (size_t)r;
			if (c[k].got >= sizeof(msg) - 1) {
				long took = now_ms() - c[k].start;

				if (took > max_ms)
					max_ms = took;
				churn_end(&c[k], &ok, &inflight);
			}
		}
	}
	for (int k = 0; k < CHURN_INFLIGHT; k++)
		if (c[k].fd >= 0)
			churn_end(&c[k], &fail, &inflight);
	fail += n - started; /* never started: out of time */
	printf("churn ok=%d fail=%d max_ms=%ld\n", ok, fail, max_ms);
}

static int client(int secs)
{
	char line[256];
	long deadline = now_ms() + secs * 1000L;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm((unsigned)secs + 1);
	while (now_ms() < deadline && fgets(line, sizeof(line), stdin)) {
		int a = 0, b = 0;

		int c = 0;

		if (sscanf(line, "open %d %d", &a, &b) == 2) {
			cmd_open(a, b);
		} else if (sscanf(line, "churn %d %d %d", &a, &b, &c) == 3) {
			cmd_churn(a, b, c);
		} else if (sscanf(line, "echo %d", &a) == 1) {
			cmd_echo(a);
		} else if (!strncmp(line, "close", 5)) {
			for (int i = 0; i < nconns; i++)
				close(conns[i]);
			printf("close n=%d\n", nconns);
			nconns = 0;
		} else if (!strncmp(line, "quit", 4)) {
			break;
		} else {
			printf("error unknown command\n");
		}
	}
	return 0;
}

/* udp */

static int udp(int count, int flows, int wait_ms, int interval_ms)
{
	int *fds = calloc((size_t)flows, sizeof(*fds));
	int sent = 0, recvd = 0;
	long t0 = now_ms();

	if (!fds || flows <= 0 || count < 0)
		return 2;
	for (int f = 0; f < flows; f++) {
		fds[f] = peer_socket(SOCK_DGRAM);
		if (fds[f] < 0 ||
		    connect(fds[f], (struct sockaddr *)&peer, peer_len) < 0)
			die("udp socket");
	}
	for (int i = 0; i < count; i++) {
		int fd = fds[i % flows];
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "flowgen %d", i);
		long due = t0 + (long)i * interval_ms;

		if (due > now_ms())
			poll(NULL, 0, (int)(due - now_ms()));
		if (send(fd, buf, (size_t)n, 0) == n)
			sent++;
		if (wait_ms) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, wait_ms) == 1 &&
			    recv(fd, buf, sizeof(buf), 0) > 0)
				recvd++;
		}
	}
	printf("udp sent=%d recv=%d\n", sent, recvd);
	for (int f = 0; f < flows; f++)
		close(fds[f]);
	free(fds);
	return 0;
}

int flowgen_sock_main(int argc, char **argv)
{
	const char *addr = NULL, *port = NULL, *src = NULL;
	int secs = 60, count = 0, flows = 1, wait_ms = 0, interval_ms = 0, opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "d:s:p:t:n:f:w:i:")) != -1) {
		switch (opt) {
		case 'd':
			addr = optarg;
			break;
		case 's':
			src = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 't':
			secs = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'f':
			flows = atoi(optarg);
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 'i':
			interval_ms = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (secs <= 0 || secs > 86400 || !port)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)secs + 5); /* a hard stop, whatever happens */
	if (!strcmp(argv[0], "serve"))
		return serve(atoi(port), secs);
	if (!addr)
		return 2;
	if (src) {
		set_peer(src, "0");
		local = peer;
		local_len = peer_len;
	}
	set_peer(addr, port);
	if (!strcmp(argv[0], "client"))
		return client(secs);
	if (!strcmp(argv[0], "udp"))
		return udp(count, flows, wait_ms, interval_ms);
	return 2;
}
