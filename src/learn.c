// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * learn.c - the flows judge admitted in the kernel, made the daemon's,
 * and the budget renewed. See learn.h.
 */
#include "learn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "carrier.h"
#include "carrier_map.h"
#include "engine.h"
#include "fastpath.h"

#define LEARN_BATCH 64 /* SYNs through the engine at once */
/* A grant's lease: renewed each tick (ENGINE_TICK_MS), so that a tick
 * late under load does not stop the kernel's admissions, yet a daemon
 * killed stops them within a third of a second. */
#define LEASE_MS 300
/* The least grant while there is room: a tick's new connections on a
 * quiet server. */
#define GRANT_FLOOR 64

enum grant_state {
	GRANT_OFF, /* nothing granted beyond what was learned */
	GRANT_ON, /* renewed each turn */
	GRANT_REVOKED, /* revoked this turn: judges running then may take */
};

struct learner {
	struct carrier *car;
	struct engine *engine; /* during a turn */
	enum grant_state grant;
	bool on;
	/* The engine's fastpath_admitted at the last turn (primed: read
	 * once). */
	uint64_t admitted;
	bool primed;
	unsigned n; /* SYNs in the batch */
	uint8_t head[LEARN_BATCH][CARRIER_SYN_HEAD];
	struct engine_input in[LEARN_BATCH];
	struct engine_result res[LEARN_BATCH];
	struct fastpath_tuple tuple[LEARN_BATCH];
	int error; /* a take-back failed this turn (errno) */
};

struct learner *learner_new(struct carrier *car)
{
	struct learner *l = calloc(1, sizeof(*l));

	if (l)
		l->car = car;
	return l;
}

void learner_free(struct learner *l)
{
	free(l);
}

int learner_set(struct learner *l, bool on)
{
	if (carrier_judge(l->car, on) < 0)
		return -1;
	l->on = on;
	return 0;
}

/* The batch through the engine: each SYN as if from the queue. */
static void flush(struct learner *l)
{
	struct fastpath_tuple no[LEARN_BATCH];
	unsigned k = 0;

	if (!l->n)
		return;
	engine_kernel_learned(l->engine, l->n);
	engine_packets(l->engine, l->in, l->n, l->res);
	for (unsigned i = 0; i < l->n; i++)
		if (!l->res[i].fast_admit)
			no[k++] = l->tuple[i];
	/* The removals the engine queued (a reopen's old connection). */
	engine_fastpath_sync(l->engine);
	/* admit made the entries before it wrote the record: once removed,
	 * they stay so. */
	if (k) {
		engine_kernel_unlearned(l->engine, k);
		if (carrier_forget(l->car, no, k) < 0)
			l->error = errno;
	}
	l->n = 0;
}

static void on_syn(void *arg, const struct carrier_syn *syn)
{
	struct learner *l = arg;
	unsigned i = l->n;

	if (carrier_syn_tuple(syn, &l->tuple[i]) < 0)
		return; /* not admit's: nothing was admitted for it */
	memcpy(l->head[i], syn->head, syn->len);
	/* Its checksum the kernel's TCP checks: the daemon's would be of a
	 * head, and a loopback or veth packet's may be partial. */
	l->in[i] = (struct engine_input){ .buf = l->head[i],
					  .caplen = syn->len,
					  .wirelen = syn->wirelen };
	if (++l->n == LEARN_BATCH)
		flush(l);
}

/* The grant for the next tick: what the limits leave (half their room),
 * no more than twice the last tick's demand (at least GRANT_FLOOR), so
 * that places sit idle in the kernel's hands no longer than a tick's
 * demand. The demand is every admission to the fast path in the last
 * tick (fastpath_admitted): the SYNs learned from the kernel and the
 * flows the daemon admitted from the queue, those past the grant among
 * them, so that a burst is the kernel's from its second tick, not after
 * doubling from the floor. */
static uint32_t grant_size(struct learner *l, uint64_t demand)
{
	uint32_t room = engine_kernel_room(l->engine);
	uint64_t want = demand > GRANT_FLOOR / 2 ? 2 * demand : GRANT_FLOOR;

	return room < want ? room : (uint32_t)want;
}

/* The grant: renewed (on, with room), revoked (off, or no room: the
 * kernel takes no more once judges running now are done, which the next
 * turn may count on, and the places it held and did not use are the
 * daemon's again). */
static int regrant(struct learner *l, uint64_t demand)
{
	uint32_t n = l->on ? grant_size(l, demand) : 0;
	int64_t held;

	if (n) {
		held = carrier_grant(l->car, n, LEASE_MS);
		l->grant = GRANT_ON;
	} else if (l->grant == GRANT_ON) {
		/* What is held stays counted this turn: a judge may be
		 * taking from the old grant as it goes. */
		l->grant = GRANT_REVOKED;
		return carrier_revoke(l->car) < 0 ? -1 : 0;
	} else {
		held = carrier_unlearned(l->car);
		l->grant = GRANT_OFF;
	}
	if (held < 0)
		return -1;
	engine_kernel_hold(l->engine, (uint32_t)held);
	return 0;
}

int learner_turn(struct learner *l, struct engine *e)
{
	uint64_t admitted, demand;
	int64_t back;
	int n;

	l->engine = e;
	l->error = 0;
	n = carrier_learn(l->car, on_syn, l);
	flush(l);
	if (n < 0)
		return -1;
	/* After the ring is read: a record read this turn is never one
	 * of the units returned. */
	back = carrier_settle(l->car);
	if (back < 0)
		return -1;
	engine_kernel_filtered(l->engine, (uint32_t)back);
	/* Every turn, on or off, so that a grant turned on by a reload
	 * sees the last tick's demand, not all since the last time on.
	 * The first turn has none to tell. */
	admitted = e->st.fastpath_admitted;
	demand = l->primed ? admitted - l->admitted : 0;
	l->admitted = admitted;
	l->primed = true;
	if (regrant(l, demand) < 0)
		return -1;
	if (l->error) {
		errno = l->error;
		return -1;
	}
	return n;
}
