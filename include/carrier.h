/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * carrier.h - the BPF carrier: admitted flows carried in a BPF hash map,
 * off the queue (fastpath_carrier = bpf).
 *
 * The kernel half is src/carrier.bpf.c (what it does per packet is
 * described there); this is the user-space half: it loads the two
 * programs, `carry` and `admit`, and their maps, `flows` and `conf`, and
 * reads and removes the flows' entries. The programs run from the fast
 * path's nftables table, as xtables bpf matches that name them by file
 * descriptor (carrierrule.h): nothing is pinned, nothing is left in a
 * file system, and the kernel frees programs and maps when the table
 * and the daemon's descriptors are gone. Loading needs CAP_BPF, once, at
 * start; the descriptors serve after the daemon has dropped it.
 *
 * The engine reaches the carrier through its callbacks
 * (engine_fastpath_ops), with the types of fastpath.h, as it does the
 * nftables sets: carrier_query(), carrier_forget(), carrier_flush().
 * Each is a few bpf(2) calls per flow, never on the packet path. The
 * descriptors may be used from several threads at once.
 */
#ifndef NFQT_CARRIER_H
#define NFQT_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fastpath.h"

struct carrier; /* the programs and maps, loaded */

enum carrier_prog {
	CARRIER_PROG_CARRY,
	CARRIER_PROG_ADMIT,
	CARRIER_PROG_JUDGE
};

struct carrier_syn; /* carrier_map.h: a SYN judge admitted */

/*
 * Load the programs and maps, the flow map sized for max_entries entries
 * (two per flow), configured off (carrier_configure()). Needs CAP_BPF.
 * Returns NULL with a message in err (errno set).
 */
struct carrier *carrier_load(uint32_t max_entries, char *err, size_t errlen);

/* Close the descriptors: the kernel keeps what rules still name. */
void carrier_close(struct carrier *c);

/* The program's descriptor, for a rule to name. */
int carrier_prog_fd(const struct carrier *c, enum carrier_prog p);

/*
 * What the programs do: carry (on), with p's timeouts, UDP (p->udp) and
 * accounting (p->accounting: FIN and RST to the daemon, packets
 * counted). Off, every packet goes on to the queue. One bpf(2) call;
 * applies at once to every packet after it. 0 or -1 with errno.
 */
int carrier_configure(struct carrier *c, const struct fastpath_params *p,
		      bool on);

/*
 * Look up n <= FASTPATH_BATCH_MAX flows' entries, both directions, as
 * fastpath_query() does the sets' elements: an entry whose timeout ran
 * out is FP_SET_NONE (and removed); timeout_ms is its state's timeout;
 * expires_ms what is left of it. The counters are the entry's since its
 * admission, or with reset since the last reading with reset (the
 * program's counts cannot be read and zeroed at once from user space: a
 * map of what was read, of which admission, stands for the zeroing).
 * Two or, with reset, four bpf(2) calls per flow and one more. Returns
 * 0 or -1 with errno (out untouched).
 */
int carrier_query(struct carrier *c, const struct fastpath_tuple *t,
		  unsigned int n, bool reset, struct fastpath_flow *out);

/* Remove n <= FASTPATH_BATCH_MAX flows' entries, both directions
 * (missing ones are no error). 0 or -1 with errno. */
int carrier_forget(struct carrier *c, const struct fastpath_tuple *t,
		   unsigned int n);

/* Remove every entry (nfqtrackctl flush; a start). 0 or -1, errno. */
int carrier_flush(struct carrier *c);

/*
 * Admission in the kernel: judge admits a new TCP connection's pure SYN
 * while the budget lasts, and admit, once the admin's filter has
 * accepted it, records it for carrier_learn(). On or off
 * (off: every pure SYN goes to the queue, as with no judge rule), kept
 * across carrier_configure(). One bpf(2) call. 0 or -1 with errno.
 */
int carrier_judge(struct carrier *c, bool on);

/*
 * Grant judge n admissions beyond the flows learned so far (n cut to
 * carrier_ring_room()), for lease_ms from now: the kernel admits nothing
 * after that unless granted again (a daemon that died or stalls stops
 * renewing it). A grant is never taken back, as the kernel may be taking
 * from it while it is written: a smaller n leaves the earlier grant in
 * force. Returns how many the kernel holds now, admitted but not settled
 * or still to admit (granted less those learned or returned: n or more),
 * which the caller counts as taken until carrier_learn() hands them over
 * or carrier_settle() returns them; or -1 with errno. One bpf(2) call,
 * two when the grant grows.
 */
int64_t carrier_grant(struct carrier *c, uint32_t n, uint32_t lease_ms);

/*
 * Revoke the grant: the kernel admits no more once the judges running as
 * it is written are done (a turn later: carrier_unlearned() then counts
 * what they took). One bpf(2) call. 0 or -1 with errno.
 */
int carrier_revoke(struct carrier *c);

/* What the kernel admitted and is not settled yet (neither handed over
 * by carrier_learn() nor returned by carrier_settle()). One bpf(2) call.
 * The count, or -1 with errno. */
int64_t carrier_unlearned(struct carrier *c);

/*
 * Return the units judge took before the last call for which no record
 * has come (after carrier_learn()): their SYNs never reached admit (the
 * admin's filter dropped them, or a later SYN of the same tuple took the
 * place in the judged map), and no flow is the kernel's for them. A
 * turn, for every SYN, is far longer than a packet's way from judge's
 * hook to admit's; one that took longer is learned all the same when its
 * record comes, and taken off the count. One bpf(2) call. How many units
 * came back, or -1 with errno.
 */
int64_t carrier_settle(struct carrier *c);

/* The most records the ring holds: the largest grant. */
uint32_t carrier_ring_room(void);

/*
 * Hand each SYN judge admitted and admit recorded since the last call to
 * fn, oldest first;
 * each is then learned (no longer held by a grant). Reads the ring in
 * place: no system call. Returns how many, or -1 with errno. One thread
 * at a time.
 */
typedef void carrier_learn_fn(void *arg, const struct carrier_syn *syn);
int carrier_learn(struct carrier *c, carrier_learn_fn *fn, void *arg);

/* The tuple of a SYN judge admitted (its original direction, as the
 * engine's flows have it), from its head. 0, or -1 for a head judge
 * would not have admitted. */
int carrier_syn_tuple(const struct carrier_syn *syn, struct fastpath_tuple *t);

/* How many SYNs carrier_learn() has handed over since the load. */
uint64_t carrier_learned(const struct carrier *c);

#endif
