/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctlclient.h - the control socket's client side (nfqtrackctl, tests):
 * one request, its reply, bounded in time. The protocol is ctl.h's.
 */
#ifndef NFQT_CTLCLIENT_H
#define NFQT_CTLCLIENT_H

#include <stddef.h>

#include "ctl.h"

enum ctl_status {
	CTL_OK = 0, /* reply body in out */
	CTL_ERR_DAEMON = 1, /* the daemon said no: message in out */
	CTL_ERR_REPLY = 2, /* the reply made no sense: message in err */
	CTL_ERR_CONNECT = 3, /* daemon not reachable: message in err */
};

/* Send request (the words after the version) to the daemon at path and
 * wait up to timeout_ms for the whole reply. */
enum ctl_status ctl_call(const char *path, const char *request, int timeout_ms,
			 struct ctl_reply *out, char *err, size_t errlen);

/*
 * The same, passing the body to body() as it arrives instead of holding it
 * (for replies of any size); timeout_ms bounds each wait, not the whole.
 * A daemon's error message goes to errmsg. When the reply is cut short
 * (CTL_ERR_REPLY), part of the body may have been passed on already.
 */
enum ctl_status
ctl_call_stream(const char *path, const char *request, int timeout_ms,
		void (*body)(void *arg, const char *data, size_t len),
		void *arg, struct ctl_reply *errmsg, char *err, size_t errlen);

#endif
