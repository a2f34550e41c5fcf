/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * learn.h - admission in the kernel (fastpath_kernel_admit): the flows
 * the BPF carrier's judge admitted, made the daemon's own, and the
 * budget it admits them under, renewed.
 *
 * judge (carrier.bpf.c) admits a new TCP connection's pure SYN in the
 * kernel while a budget the daemon granted lasts, and admit, once the
 * admin's filter has accepted it, writes the SYN to a ring. On each tick
 * the worker's learner reads the ring and puts each SYN through the
 * engine as if it had come from the queue: the flow is made, counted,
 * limited and told (NEW) as any other, a reopen or a retransmission
 * decided by the tracker. A SYN the engine would not let the kernel
 * carry (not admissible: a port reused while the daemon has the old
 * connection established, a limit lowered by a reload) has its entries
 * taken back from the kernel. The units taken for SYNs whose record
 * never came (the filter dropped them) are counted returned. Then it
 * grants anew: at most half the room the limits leave
 * (engine_kernel_room()); what the kernel holds counts as taken by every
 * limit until it is learned or returned, so that no limit is ever
 * passed. Turned off, the grant is revoked, and what was taken of it is
 * learned as before.
 *
 * One learner per daemon, with a single queue (the configuration says
 * so), used by that queue's thread alone.
 */
#ifndef NFQT_LEARN_H
#define NFQT_LEARN_H

#include <stdbool.h>
#include <stdint.h>

struct carrier;
struct engine;

struct learner;

/* A learner of car's ring, judge off. NULL with errno (out of memory). */
struct learner *learner_new(struct carrier *car);
void learner_free(struct learner *l);

/* Kernel admission on or off (judge's flag in the carrier, one bpf(2)
 * call; off revokes the grant over the next two turns). 0 or -1 with
 * errno. */
int learner_set(struct learner *l, bool on);

/*
 * One turn, on the worker's tick (and at its end): learn what the kernel
 * admitted since the last, through e, then renew the grant (or, off,
 * revoke it). A few bpf(2) calls, none per flow but the take-backs'.
 * Returns the SYNs learned, or -1 with errno (a bpf(2) call failed;
 * nothing was lost: the next turn tries again).
 */
int learner_turn(struct learner *l, struct engine *e);

#endif
