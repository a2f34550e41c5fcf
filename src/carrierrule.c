// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * carrierrule.c - the BPF carrier's rules: xtables bpf matches inside the
 * fast path's nftables table, over nf_tables netlink. See carrierrule.h.
 */
#include "carrierrule.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_bpf.h>

#include "fastpathnl.h"

#define RULES 5

/* An expression: the bpf match (revision 1) on program fd. The kernel
 * wants the match's whole struct, its own pointer at the end zeroed. */
static void put_match(struct nlmsghdr *nlh, int fd)
{
	struct xt_bpf_info_v1 info;
	struct nlattr *el, *data;

	memset(&info, 0, sizeof(info));
	info.mode = XT_BPF_MODE_FD_ELF;
	info.fd = fd;
	el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "match");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_MATCH_NAME, "bpf");
	mnl_attr_put_u32(nlh, NFTA_MATCH_REV, htonl(1));
	mnl_attr_put(nlh, NFTA_MATCH_INFO, sizeof(info), &info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, el);
}

/* An expression: jump to chain. */
static void put_jump(struct nlmsghdr *nlh, const char *chain)
{
	struct nlattr *el, *data, *imm, *verdict;

	el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "immediate");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_u32(nlh, NFTA_IMMEDIATE_DREG, htonl(NFT_REG_VERDICT));
	imm = mnl_attr_nest_start(nlh, NFTA_IMMEDIATE_DATA);
	verdict = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
	mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)NFT_JUMP));
	mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
	mnl_attr_nest_end(nlh, verdict);
	mnl_attr_nest_end(nlh, imm);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, el);
}

/* A rule appended to table's chain: the match on fd, then a jump to
 * then_chain if there is one. Returns the message's length. */
static size_t put_rule(char *buf, uint32_t seq, const char *table,
		       const char *chain, int fd, const char *then_chain)
{
	struct nlmsghdr *nlh = fastpath_nl_put_msg(
		buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
		NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq, 0);
	struct nlattr *exprs;

	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	exprs = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	put_match(nlh, fd);
	if (then_chain)
		put_jump(nlh, then_chain);
	mnl_attr_nest_end(nlh, exprs);
	return nlh->nlmsg_len;
}

/* The kernel's answers to the batch: an ack per rule, or an error (the
 * whole batch then undone). 0, or an errno. */
static int answers(struct mnl_socket *sock, uint32_t seq0)
{
	char buf[8192];
	uint32_t portid = mnl_socket_get_portid(sock);
	int acks = 0;

	while (acks < RULES) {
		ssize_t n = mnl_socket_recvfrom(sock, buf, sizeof(buf));
		const struct nlmsghdr *h = (const void *)buf;
		int left = (int)n;

		if (n < 0)
			return errno == EAGAIN ? ETIMEDOUT : errno;
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_pid != portid || h->nlmsg_seq < seq0 ||
			    h->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(h);
			if (e->error)
				return -e->error;
			acks++;
		}
	}
	return 0;
}

int carrier_rules_add(const char *table, const struct carrier_rule_progs *p,
		      char *err, size_t errlen)
{
	char buf[8192];
	struct timeval tmo = { .tv_sec = 3 };
	struct mnl_socket *sock;
	uint32_t seq = (uint32_t)time(NULL), seq0;
	size_t len = 0;
	int e;

	sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!sock || mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		snprintf(err, errlen, "netlink: %s", strerror(e));
		goto out;
	}
	/* Bounded: an answer that never comes is an error, not a hang. */
	setsockopt(mnl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &tmo,
		   sizeof(tmo));
	len += fastpath_nl_put_msg(buf + len, NFNL_MSG_BATCH_BEGIN, 0, seq++,
				   NFNL_SUBSYS_NFTABLES)
		       ->nlmsg_len;
	seq0 = seq;
	for (int i = 0; i < 2; i++) {
		const char *chain = i ? "fast_out" : "fast_in";

		len += put_rule(buf + len, seq++, table, chain, p->carry_fd,
				"carried");
		len += put_rule(buf + len, seq++, table, chain, p->judge_fd,
				"judged");
	}
	len += put_rule(buf + len, seq++, table, "admit", p->admit_fd, NULL);
	len += fastpath_nl_put_msg(buf + len, NFNL_MSG_BATCH_END, 0, seq++,
				   NFNL_SUBSYS_NFTABLES)
		       ->nlmsg_len;
	if (mnl_socket_sendto(sock, buf, len) < 0) {
		e = errno;
		snprintf(err, errlen, "netlink: %s", strerror(e));
		goto out;
	}
	e = answers(sock, seq0);
	if (e)
		snprintf(err, errlen,
			 "cannot add the bpf match rules to table %s: %s",
			 table, strerror(e));
out:
	if (sock)
		mnl_socket_close(sock);
	errno = e;
	return e ? -1 : 0;
}
