// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * privs.c - dropping root; see privs.h.
 */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privs.h"

int privs_lookup(struct privs_ids *ids, const char *user, const char *group,
		 char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	memset(ids, 0, sizeof(*ids));
	ids->keep_root = !strcmp(user, "root");
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen,
			 "user '%s' does not exist: create it (make install "
			 "does: useradd --system %s), or set user = root to "
			 "run as root",
			 user, user);
		return -1;
	}
	ids->uid = pw->pw_uid;
	ids->gid = pw->pw_gid;
	gr = getgrnam(group);
	if (!gr) {
		snprintf(err, errlen,
			 "group '%s' does not exist: create it (make install "
			 "does), or set group to one that does",
			 group);
		return -1;
	}
	ids->group = gr->gr_gid;
	return 0;
}

/*
 * Started as the user already, with more than CAP_NET_ADMIN (a unit that
 * also gives CAP_BPF, for the BPF carrier, loaded by now): the rest goes.
 * Dropping needs no privilege but capset(2), which the unit's
 * SystemCallFilter denies unless allowed with the rest; the kernel
 * clears an ambient capability with its inheritable one.
 */
static int drop_extra(char *err, size_t errlen)
{
	bool admin, extra = false;

	capng_get_caps_process();
	admin = capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN);
	for (unsigned int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap != CAP_NET_ADMIN &&
		    capng_have_capability(CAPNG_PERMITTED, cap))
			extra = true;
	if (!extra)
		return 0;
	capng_clear(CAPNG_SELECT_CAPS);
	if (admin)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
			     CAP_NET_ADMIN);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0) {
		snprintf(err, errlen,
			 "cannot drop the capabilities beyond CAP_NET_ADMIN "
			 "(capset: %s; under systemd, allow it beside bpf: "
			 "SystemCallFilter=bpf capset)",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int privs_drop(const struct privs_ids *ids, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return drop_extra(err, errlen);
	if (ids->keep_root)
		return 0;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
			 CAP_NET_ADMIN) < 0) {
		snprintf(err, errlen, "cannot keep CAP_NET_ADMIN");
		return -1;
	}
	/* Supplementary groups dropped: the user's own group only. */
	if (capng_change_id((int)ids->uid, (int)ids->gid,
			    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0) {
		snprintf(err, errlen,
			 "cannot become uid %u gid %u with CAP_NET_ADMIN: %s",
			 (unsigned)ids->uid, (unsigned)ids->gid,
			 strerror(errno));
		return -1;
	}
	/* Nothing this process runs may gain privileges back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
			 strerror(errno));
		return -1;
	}
	return 1;
}

void privs_describe(char *buf, size_t len)
{
	char *caps;

	capng_get_caps_process();
	caps = capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE);
	snprintf(buf, len, "uid %u gid %u, capabilities: %s",
		 (unsigned)geteuid(), (unsigned)getegid(),
		 caps && *caps ? caps : "none");
	free(caps);
}
