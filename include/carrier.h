/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * carrier.h - the BPF carrier: admitted flows carried in a BPF hash map
 * through iptables' bpf match, off the queue (fastpath_carrier = bpf).
 *
 * The kernel half is src/carrier.bpf.c (what it does per packet is
 * described there); this is the user-space half. Two programs, `carry`
 * and `admit`, and two maps, `flows` and `conf`, are pinned in one
 * directory of a BPF file system (CARRIER_DIR_DEFAULT), where the rules
 * name the programs (`-m bpf --object-pinned DIR/carry`). Loading needs
 * CAP_BPF, once, before the daemon drops its privileges; the maps after
 * that need only their pins' permissions (carrier_load() gives them to
 * the daemon's user), so the daemon keeps CAP_NET_ADMIN alone.
 *
 * The engine reaches the carrier through its callbacks
 * (engine_fastpath_ops), with the types of fastpath.h, as it does the
 * nftables sets: carrier_query(), carrier_forget(), carrier_flush().
 * Each is a few bpf(2) calls per flow, never on the packet path.
 */
#ifndef NFQT_CARRIER_H
#define NFQT_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fastpath.h"

#define CARRIER_DIR_DEFAULT "/sys/fs/bpf/nfqtrack"
#define CARRIER_DIR_MAX 96 /* bytes with the NUL */

/*
 * Load the programs and maps and pin them in dir (made if missing; its
 * parent must be a BPF file system), the flow map sized for max_entries
 * entries (two per flow). Maps pinned there already, by an earlier run,
 * are kept and their flows with them when they fit (same layout and
 * size); otherwise, and with fresh, everything in dir is replaced, and
 * rules that name the old programs keep them (and the old maps) until
 * they are loaded again. The programs' pins are replaced either way.
 * Then gid (-1: leave it) may enter dir and uid and gid read and write
 * the maps: the daemon's user, which opens them without a capability.
 * Needs CAP_BPF. Returns 0 (the maps kept), 1 (made afresh), or -1 with
 * a message in err.
 */
int carrier_load(const char *dir, uint32_t max_entries, bool fresh, uid_t uid,
		 gid_t gid, char *err, size_t errlen);

/* Remove dir's pins and dir. The programs and maps live on while rules
 * name them. Returns 0 (also when there was nothing) or -1, err. */
int carrier_unload(const char *dir, char *err, size_t errlen);

struct carrier; /* the pinned maps, opened: one thread's */

/* Open dir's maps. Returns NULL with a message in err (errno set). */
struct carrier *carrier_open(const char *dir, char *err, size_t errlen);
void carrier_close(struct carrier *c);

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
 * out is FP_SET_NONE; timeout_ms is its state's timeout; expires_ms what
 * is left of it. reset is not supported (counters are read as they are):
 * -1 with EOPNOTSUPP. Two bpf(2) calls per flow and one more. Returns 0
 * or -1 with errno (out untouched).
 */
int carrier_query(struct carrier *c, const struct fastpath_tuple *t,
		  unsigned int n, bool reset, struct fastpath_flow *out);

/* Remove n <= FASTPATH_BATCH_MAX flows' entries, both directions
 * (missing ones are no error). 0 or -1 with errno. */
int carrier_forget(struct carrier *c, const struct fastpath_tuple *t,
		   unsigned int n);

/* Remove every entry (nfqtrackctl flush; a start). 0 or -1, errno. */
int carrier_flush(struct carrier *c);

#endif
