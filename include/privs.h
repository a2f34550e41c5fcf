/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * privs.h - run with CAP_NET_ADMIN and nothing more.
 *
 * Started as root, the daemon does what needs root (bind the queue, make
 * the control socket), then becomes its own user, keeping only
 * CAP_NET_ADMIN, which later queue changes (a reload's new queue length or
 * buffer) need: libcap-ng does the switch in the one order that neither
 * loses the capability nor keeps any other, and clears the bounding set
 * so nothing can come back. Started as that user already (systemd's
 * User= with AmbientCapabilities=CAP_NET_ADMIN), there is nothing to do
 * but drop what else it was given (CAP_BPF, which the BPF carrier needs
 * at start: carrier.h).
 */
#ifndef NFQT_PRIVS_H
#define NFQT_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

struct privs_ids {
	uid_t uid; /* of user */
	gid_t gid; /* user's primary group */
	gid_t group; /* of the control socket */
	int keep_root; /* user = root */
};

/*
 * Look up user and group. Returns 0, or -1 with a message that says how
 * to fix it in err.
 */
int privs_lookup(struct privs_ids *ids, const char *user, const char *group,
		 char *err, size_t errlen);

/*
 * Become ids->uid/gid with CAP_NET_ADMIN only, if running as root and the
 * user is not root; not root, keep CAP_NET_ADMIN (if there) and drop
 * every other capability. Returns 1 when it switched, 0 when it did not,
 * or -1 with a message in err.
 */
int privs_drop(const struct privs_ids *ids, char *err, size_t errlen);

/* "uid 998 gid 998, capabilities: net_admin" for the start line. */
void privs_describe(char *buf, size_t len);

#endif
