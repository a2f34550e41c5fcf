// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <string.h>

#include "pause.h"

int pause_init(struct pause *p)
{
	memset(p, 0, sizeof(*p));
	atomic_init(&p->requested, false);
	errno = pthread_mutex_init(&p->lock, NULL);
	if (errno)
		return -1;
	errno = pthread_cond_init(&p->parked_cond, NULL);
	if (errno) {
		pthread_mutex_destroy(&p->lock);
		return -1;
	}
	errno = pthread_cond_init(&p->resume_cond, NULL);
	if (errno) {
		pthread_cond_destroy(&p->parked_cond);
		pthread_mutex_destroy(&p->lock);
		return -1;
	}
	return 0;
}

void pause_destroy(struct pause *p)
{
	pthread_cond_destroy(&p->resume_cond);
	pthread_cond_destroy(&p->parked_cond);
	pthread_mutex_destroy(&p->lock);
}

void pause_enter(struct pause *p)
{
	pthread_mutex_lock(&p->lock);
	p->running++;
	pthread_mutex_unlock(&p->lock);
}

void pause_leave(struct pause *p)
{
	pthread_mutex_lock(&p->lock);
	p->running--;
	/* A controller waiting for this worker to park waits no more. */
	pthread_cond_signal(&p->parked_cond);
	pthread_mutex_unlock(&p->lock);
}

void pause_park(struct pause *p)
{
	uint64_t gen;

	pthread_mutex_lock(&p->lock);
	gen = p->generation;
	if (atomic_load_explicit(&p->requested, memory_order_relaxed)) {
		p->parked++;
		pthread_cond_signal(&p->parked_cond);
		/* The generation, not the flag: a pause that ends and a
		 * new one asked for before this thread wakes must not keep
		 * it asleep uncounted. */
		while (gen == p->generation)
			pthread_cond_wait(&p->resume_cond, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
}

void pause_all(struct pause *p, void (*wake)(void *arg), void *arg)
{
	pthread_mutex_lock(&p->lock);
	atomic_store_explicit(&p->requested, true, memory_order_release);
	pthread_mutex_unlock(&p->lock);
	if (wake)
		wake(arg);
	pthread_mutex_lock(&p->lock);
	while (p->parked < p->running)
		pthread_cond_wait(&p->parked_cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void pause_resume(struct pause *p)
{
	pthread_mutex_lock(&p->lock);
	atomic_store_explicit(&p->requested, false, memory_order_release);
	p->parked = 0;
	p->generation++;
	pthread_cond_broadcast(&p->resume_cond);
	pthread_mutex_unlock(&p->lock);
}
