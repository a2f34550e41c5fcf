// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctlsend - write raw bytes to a Unix stream socket and print what comes
 * back, for testing how the daemon treats requests nfqtrackctl would never
 * send.
 *
 *   ctlsend SOCKET [-n] < request
 *	Sends standard input as it is, then (unless -n) shuts down the
 *	writing side, and copies the reply to standard output. Gives up
 *	after 10 seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	ssize_t r;
	int fd;

	if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: ctlsend SOCKET [-n] < request\n");
		return 2;
	}
	alarm(10);
	signal(SIGPIPE, SIG_IGN);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "ctlsend: %s: %s\n", argv[1], strerror(errno));
		return 3;
	}
	while ((r = read(0, buf, sizeof(buf))) > 0)
		if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
			break;
	if (argc < 3 || strcmp(argv[2], "-n"))
		shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, stdout);
	return 0;
}
