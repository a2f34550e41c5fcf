/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * http.h - the metrics listener: GET or HEAD /metrics over HTTP, served
 * by libmicrohttpd from the caller's own event loop.
 *
 * No thread of its own: libmicrohttpd runs in external mode over an epoll
 * set of its own, whose descriptor the caller adds to its loop, so that
 * the counters are read in the thread that writes them and the packet
 * path takes no lock. Every socket is non-blocking; clients are bounded
 * in number (in all and per address), in memory and in idle time, so
 * that a slow or hostile client costs a connection slot and no more.
 *
 *	/metrics  200, the text of the render callback (Prometheus 0.0.4)
 *	/         200, a line pointing at /metrics
 *	other     404; a method other than GET or HEAD: 405
 */
#ifndef NFQT_HTTP_H
#define NFQT_HTTP_H

#include <stddef.h>

#define HTTP_CONNECTIONS_MAX 16 /* clients at once */
#define HTTP_PER_ADDRESS_MAX 4 /* clients at once from one address */
#define HTTP_TIMEOUT_S 5 /* a client idle this long is dropped */
#define HTTP_MEMORY_MAX 8192 /* bytes per client: a longer request fails */

/* Write the metrics into buf (len bytes); return the length of the whole
 * text, as snprintf() does. */
typedef size_t (*http_render_fn)(void *arg, char *buf, size_t len);

struct http_server;

/*
 * Listen on addr ("127.0.0.1:9469", "[::1]:9469", as metrics_listen has
 * it), serving what render(arg) writes. Binds at once, so that it can be
 * called before privileges are dropped. Returns NULL with errno set and a
 * message naming the address in err.
 */
struct http_server *http_open(const char *addr, http_render_fn render,
			      void *arg, char *err, size_t errlen);

/* A descriptor that becomes readable when the server has work. */
int http_fd(const struct http_server *s);

/* Milliseconds until http_run() is due even without the descriptor
 * becoming readable (a client's timeout, work left over); -1: never. */
int http_timeout(const struct http_server *s);

/* Do the work that is ready: accept, read, answer, write, time out.
 * Never blocks. */
void http_run(struct http_server *s);

/* Close every client and the listening socket. NULL is fine. */
void http_close(struct http_server *s);

#endif
