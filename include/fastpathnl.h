/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fastpathnl.h - the kernel fast path's elements: the flows admitted to
 * the table of fastpath.h, read and removed with nf_tables netlink
 * messages (libmnl) on one socket per thread, batched, a few
 * microseconds per element; never the table itself (fastpath.h's
 * libnftables half). The worker wraps these in the engine's callbacks
 * (engine.h: struct engine_fastpath_ops).
 */
#ifndef NFQT_FASTPATHNL_H
#define NFQT_FASTPATHNL_H

#include <stdbool.h>

#include "fastpath.h"

struct fastpath_nl; /* one nf_tables netlink socket; one thread's */

/* Open a socket for table's elements. Returns NULL with errno set. */
struct fastpath_nl *fastpath_nl_open(const char *table);
void fastpath_nl_close(struct fastpath_nl *nl);

/*
 * Look up n <= FASTPATH_BATCH_MAX flows' elements in every set of their
 * family, both directions, and with reset, zero the counters read (the
 * caller adds them to its own). One send and the replies; blocking, a
 * few microseconds per flow. Returns 0 or -1 with errno (out untouched).
 */
int fastpath_query(struct fastpath_nl *nl, const struct fastpath_tuple *t,
		   unsigned int n, bool reset, struct fastpath_flow *out);

/* Remove n <= FASTPATH_BATCH_MAX flows' elements, both directions, from
 * every set (missing ones are no error). Returns 0 or -1 with errno. */
int fastpath_forget(struct fastpath_nl *nl, const struct fastpath_tuple *t,
		    unsigned int n);

/* Empty every set of the table (nfqtrackctl flush). 0 or -1, errno. */
int fastpath_flush(struct fastpath_nl *nl);

struct nlmsghdr;

/* An nf_tables request header at buf: type, flags beside NLM_F_REQUEST,
 * seq; res_id NFNL_SUBSYS_NFTABLES for a batch's begin and end (family
 * unspecified), 0 for a message of the inet family. Also the BPF
 * carrier's rules' (carrierrule.c). */
struct nlmsghdr *fastpath_nl_put_msg(char *buf, uint16_t type, uint16_t flags,
				     uint32_t seq, uint16_t res_id);

#endif
