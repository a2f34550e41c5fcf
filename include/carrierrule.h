/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * carrierrule.h - the BPF carrier's rules in the fast path's nftables
 * table (fastpath_carrier = bpf).
 *
 * The table's chains are made from text (fastpath_rules()); what nft's
 * language cannot say is a rule that runs an eBPF program. The kernel
 * can: an xtables match inside an nftables rule (nft_compat), the bpf
 * match (xt_bpf) naming the program by a descriptor of the process that
 * adds the rule, which is checked and held by the rule from then on.
 * These rules are sent here over nf_tables netlink, in one batch:
 *   fast_in, fast_out  the carry program; a match jumps to `carried`,
 *                      which marks the packet ESTABLISHED (past the
 *                      queue);
 *   admit              the admit program, after the admit mark is
 *                      cleared (the packet's verdict carried it).
 * `nft list table inet T` shows them as `xt match "bpf"`.
 */
#ifndef NFQT_CARRIERRULE_H
#define NFQT_CARRIERRULE_H

#include <stddef.h>

/*
 * Append the three rules to table's chains (made by fastpath_apply()
 * for the bpf carrier), naming the programs of descriptors carry_fd and
 * admit_fd. Needs CAP_NET_ADMIN. One netlink batch, all or nothing;
 * blocking, at most a few seconds. Returns 0 or -1 with a message in
 * err (errno set).
 */
int carrier_rules_add(const char *table, int carry_fd, int admit_fd, char *err,
		      size_t errlen);

#endif
