// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flowgen - the tests' one traffic tool, for the integration tests, the
 * soak and the benchmarks, run between the network namespaces they make
 * (tests/lib/netns.sh). Every mode is bounded in count and in time.
 *
 * Through the stack (sock.c): real TCP connections and UDP flows.
 *
 *   flowgen serve -p PORT [-t SECS]
 *	TCP and UDP echo server on PORT (IPv4 and IPv6).
 *   flowgen client -d ADDR [-s SRC] -p PORT [-t SECS]
 *	Reads commands on stdin, answers one line each:
 *	  open N MS   open N more TCP connections at once, wait up to MS
 *	              -> "open ok=X fail=Y"
 *	  echo MS     one round trip on every open connection
 *	              -> "echo ok=X fail=Y"
 *	  close       close them all -> "close n=X"
 *	  churn N RATE MS
 *	              open N new TCP connections, one every 1000/RATE ms
 *	              (at most 64 under way at once), each: connect, send a
 *	              line, wait for its echo, close. One not done within MS
 *	              of its start failed. The connections held by open are
 *	              left alone. -> "churn ok=X fail=Y max_ms=Z", Z the
 *	              slowest success
 *	  quit
 *   flowgen udp -d ADDR [-s SRC] -p PORT -n COUNT [-f FLOWS] [-w MS] [-i MS]
 *	Send COUNT datagrams spread over FLOWS source ports; with -w, wait
 *	up to MS for each echo; with -i, start one every MS milliseconds.
 *	-> "udp sent=X recv=Y"
 *
 * -s SRC sends from that address of the host (clients and udp).
 *
 * These exit by themselves after -t SECS (default 60, at most a day, for
 * the soak) at the latest.
 *
 * Raw UDP load for the benchmark (raw.c).
 *
 *   flowgen tx -s SRC -d DST -p DPORT [-S SIZE] [-f FLOWS] [-a ADDRS]
 *                  [-n COUNT] [-t SECONDS]
 *
 *	Sends COUNT packets (default and at most 100000000) or for SECONDS
 *	(default 3, at most 60), whichever ends first, in sendmmsg() batches
 *	of 64. Each carries SIZE bytes of UDP payload (default 64) from one
 *	of FLOWS flows (default 1): ADDRS source addresses from SRC up
 *	(default: one per 1000 flows) times as many source ports as it
 *	takes, visited in turn, so that every flow sees a packet before any
 *	sees its next one. The source addresses must be on the link's
 *	subnet for the receiver to take them.
 *	-> "tx sent=N secs=S pps=P"
 *
 *   flowgen rx -p PORT [-n COUNT] [-t SECONDS] [-i IDLE_MS]
 *
 *	Counts UDP datagrams to PORT until COUNT have come (default no
 *	limit), IDLE_MS pass without one once the first has come (default
 *	1000), or SECONDS have passed (default 30, at most 600). The rate
 *	is over the time from the first datagram to the last, so waiting
 *	for traffic does not dilute it.
 *	-> "rx pkts=N secs=S pps=P"
 *
 * Spoofed-source floods (flood.c).
 *
 *   flowgen flood -m syn|udp -s SRC_CIDR -d DST_ADDR -p DPORT[-DPORT2]
 *                 [-r PPS] [-t SECONDS] [-n COUNT]
 *
 *	syn: TCP SYNs as a real stack sends them (correct checksums, random
 *	     sequence number, an MSS option, random source port).
 *	udp: small UDP datagrams from random source ports.
 *
 *	Each packet's source address is the next one of SRC_CIDR (a /32 or
 *	/128 is one address) in a scrambled order that visits every address
 *	of the range before any repeats (for IPv6 only the low 64 bits
 *	vary); its destination port is a random one of DPORT..DPORT2.
 *	At most PPS packets a second (default 20000, sent in bursts of about
 *	a millisecond's worth), for at most SECONDS (default 5, at most 60)
 *	or COUNT packets (default 1000000, at most 10000000).
 *	-> "flood sent=N seconds=S.SS pps=P"; exit 1 on errors.
 *
 * The raw modes (tx, rx, flood) refuse to run in the initial network
 * namespace, and the senders (tx, flood) in one with a default route:
 * their packets must stay between the tests' namespaces.
 */
#include <stdio.h>
#include <string.h>

#include "flowgen.h"

static const struct mode {
	const char *name;
	int (*run)(int argc, char **argv);
} modes[] = {
	{ "serve", flowgen_sock_main }, { "client", flowgen_sock_main },
	{ "udp", flowgen_sock_main },	{ "tx", flowgen_tx_main },
	{ "rx", flowgen_rx_main },	{ "flood", flowgen_flood_main },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc >= 2 && i < sizeof(modes) / sizeof(modes[0]);
	     i++)
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].run(argc - 1, argv + 1);
	fprintf(stderr, "usage: flowgen serve|client|udp|tx|rx|flood "
			"[OPTION...] (see tests/tools/flowgen/main.c)\n");
	return 2;
}
