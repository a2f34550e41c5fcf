/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timeout.h - the timeout classes: every flow has one, which names its
 * timeout (engine_params.timeouts) and, with exemption and evictability,
 * its age list. Part of the core: the trackers (tcp.c, sctp.c, proto.c)
 * pick a flow's class, the configuration (conf.c) names each class's key.
 */
#ifndef NFQT_TIMEOUT_H
#define NFQT_TIMEOUT_H

#include <stdint.h>

#include "sctp.h"
#include "tcp.h"

/* TCP flows use their state as class, or one of the two shorter ones the
 * kernel applies to retransmitting or unacknowledged connections; SCTP
 * flows one per state. */
enum tmo_class {
	TMO_TCP_FIRST = TCP_S_SYN_SENT,
	TMO_TCP_LAST = TCP_S_SYN_SENT2,
	TMO_TCP_RETRANS = TCP_S_COUNT,
	TMO_TCP_UNACK,
	TMO_UDP,
	TMO_UDP_STREAM,
	TMO_GRE,
	TMO_GRE_STREAM,
	TMO_ICMP,
	TMO_ICMPV6,
	TMO_GENERIC,
	/* SCTP flows: the class of state s is TMO_SCTP(s). */
	TMO_SCTP_CLOSED,
	TMO_SCTP_LAST = TMO_SCTP_CLOSED + SCTP_S_HEARTBEAT_SENT - 1,
	TMO_COUNT
};

#define TMO_SCTP(s) ((uint8_t)(TMO_SCTP_CLOSED + (s)-SCTP_S_CLOSED))

#endif
