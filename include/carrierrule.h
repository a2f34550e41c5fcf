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
 *                      queue); then the judge program, a match jumping
 *                      to `judged` (NEW, past the queue, to be admitted);
 *   admit              the admit program, after the admit mark is
 *                      cleared (the packet's verdict carried it).
 * `nft list table inet T` shows them as `xt match "bpf"`.
 */
#ifndef NFQT_CARRIERRULE_H
#define NFQT_CARRIERRULE_H

#include <stddef.h>

/* The programs the rules name, by descriptor. */
struct carrier_rule_progs {
	int carry_fd, judge_fd, admit_fd;
};

/*
 * Append the five rules to table's chains (made by fastpath_apply() for
 * the bpf carrier), naming the programs of p. Needs CAP_NET_ADMIN. One
 * netlink batch, all or nothing; blocking, at most a few seconds.
 * Returns 0 or -1 with a message in err (errno set).
 */
int carrier_rules_add(const char *table, const struct carrier_rule_progs *p,
		      char *err, size_t errlen);

#endif
