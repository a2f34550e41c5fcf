// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mutex.c - a pthread mutex as a group's lock; see mutex.h.
 */
#include <errno.h>

#include "mutex.h"

int mutex_init(struct mutex *m)
{
	errno = pthread_mutex_init(&m->m, NULL);
	return errno ? -1 : 0;
}

void mutex_destroy(struct mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

static void take(void *arg)
{
	pthread_mutex_lock(&((struct mutex *)arg)->m);
}

static void give(void *arg)
{
	pthread_mutex_unlock(&((struct mutex *)arg)->m);
}

struct policy_lock mutex_lock_ops(struct mutex *m)
{
	return (struct policy_lock){ .lock = take, .unlock = give, .arg = m };
}
