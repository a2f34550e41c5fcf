/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mutex.h - a pthread mutex as a group's lock (policy.h's struct
 * policy_lock): the daemon's, and the threaded tests'. Outside the core,
 * which links no thread library.
 */
#ifndef NFQT_MUTEX_H
#define NFQT_MUTEX_H

#include <pthread.h>

#include "policy.h"

struct mutex {
	pthread_mutex_t m;
};

/* Make m. Returns 0, or -1 with errno set. */
int mutex_init(struct mutex *m);
void mutex_destroy(struct mutex *m);

/* m as a group's lock, for group_init(). */
struct policy_lock mutex_lock_ops(struct mutex *m);

#endif
