// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * http.c - the metrics listener, over libmicrohttpd in external epoll
 * mode (see http.h for why no thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "http.h"
#include "metrics.h"

#define BODY_START (16 << 10) /* the metrics are about 7 KiB */

struct http_server {
	struct MHD_Daemon *mhd;
	int epfd;
	http_render_fn render;
	void *arg;
	char *body; /* the last rendering, grown when it did not fit */
	size_t cap;
};

static const char index_page[] =
	"<html><head><title>nfqtrackd</title></head><body>\n"
	"<p>nfqtrackd: <a href=\"/metrics\">/metrics</a></p>\n"
	"</body></html>\n";

/* Queue a response of len bytes at data (copied), with its type. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, const void *data, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)data,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO; /* out of memory: the client is dropped */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result metrics(struct http_server *s, struct MHD_Connection *c)
{
	size_t n;

	/* Kept for the next request: it grows once, if ever. */
	while ((n = s->render(s->arg, s->body, s->cap)) >= s->cap) {
		char *bigger = realloc(s->body, n + 64);

		if (!bigger)
			return MHD_NO;
		s->body = bigger;
		s->cap = n + 64;
	}
	return reply(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, s->body, n);
}

/* Every request is answered from its headers alone: a body (POST) is
 * never read, only refused. HEAD gets GET's headers; libmicrohttpd leaves
 * out the body. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static const char not_found[] = "not found: try /metrics\n";
	static const char not_allowed[] = "only GET and HEAD\n";
	const char *text = "text/plain; charset=utf-8";

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, not_allowed,
			     sizeof(not_allowed) - 1);
	if (!strcmp(url, "/metrics"))
		return metrics(cls, c);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
			     index_page, sizeof(index_page) - 1);
	return reply(c, MHD_HTTP_NOT_FOUND, text, not_found,
		     sizeof(not_found) - 1);
}

/* A listening socket on addr, bound here so that errno says exactly what
 * went wrong (libmicrohttpd's own bind only says that it failed). */
static int listen_on(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned int len;
	int fd, one = 1, saved;

	if (conf_listen_addr(addr, &ss, &len) != 0) {
		snprintf(err, errlen,
			 "metrics_listen: '%s' is not ADDR:PORT or "
			 "[ADDR6]:PORT",
			 addr);
		errno = EINVAL;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, HTTP_CONNECTIONS_MAX) < 0) {
		saved = errno;
		snprintf(err, errlen, "metrics_listen: cannot listen on %s: %s",
			 addr, strerror(saved));
		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

struct http_server *http_open(const char *addr, http_render_fn render,
			      void *arg, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	int fd = -1;

	if (!s || !(s->body = malloc(BODY_START))) {
		snprintf(err, errlen, "metrics_listen: out of memory");
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->cap = BODY_START;
	s->render = render;
	s->arg = arg;
	fd = listen_on(addr, err, errlen);
	if (fd < 0)
		goto fail;
	/* No thread flag: external mode, run by http_run() alone. */
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, answer, s,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)HTTP_CONNECTIONS_MAX,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				  (unsigned int)HTTP_PER_ADDRESS_MAX,
				  MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)HTTP_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				  (size_t)HTTP_MEMORY_MAX, MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen,
			 "metrics_listen: cannot start the HTTP server on %s",
			 addr);
		close(fd);
		errno = EIO;
		goto fail;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen,
			 "metrics_listen: libmicrohttpd without epoll");
		http_close(s);
		errno = ENOSYS;
		return NULL;
	}
	s->epfd = info->epoll_fd;
	return s;
fail:
	free(s->body);
	free(s);
	return NULL;
}

int http_fd(const struct http_server *s)
{
	return s->epfd;
}

int http_timeout(const struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(s->mhd, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void http_run(struct http_server *s)
{
	MHD_run(s->mhd);
}

void http_close(struct http_server *s)
{
	if (!s)
		return;
	if (s->mhd)
		MHD_stop_daemon(s->mhd); /* closes the listening socket too */
	free(s->body);
	free(s);
}
