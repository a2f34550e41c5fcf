// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flowgen - the tests' one traffic tool: what is shared by its modes
 * (main.c lists them). sock.c: real TCP and UDP through the stack
 * (serve, client, udp); raw.c: the benchmark's raw UDP load and its
 * receiver (tx, rx); flood.c: spoofed-source floods (flood).
 */
#ifndef FLOWGEN_H
#define FLOWGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Set by SIGINT and SIGTERM once flowgen_on_signals() has run. */
extern volatile sig_atomic_t flowgen_stop;

/* "flowgen: " and the message on stderr, then exit(1). */
void flowgen_fatal(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t flowgen_now_ns(void);

/* The number S of option -OPT, from MIN to MAX, or flowgen_fatal(). */
long flowgen_num(const char *opt, const char *s, long min, long max);

/* The seconds of -t S, more than 0 and at most MAX, or flowgen_fatal(). */
double flowgen_seconds(const char *s, double max);

/* SIGINT and SIGTERM set flowgen_stop; with RESTART, interrupted system
 * calls restart (signal(2)'s way), else they fail with EINTR. */
void flowgen_on_signals(bool restart);

/* Packets sent from raw sockets (forged sources, the bench's load) must
 * stay between the namespaces a test made: refuse to run in the network
 * namespace of PID 1 and, for a SENDER, in one with a default route. */
void flowgen_check_namespace(bool sender);

/* The modes: argv[0] is the mode's name; each returns the exit status. */
int flowgen_sock_main(int argc, char **argv); /* serve, client, udp */
int flowgen_tx_main(int argc, char **argv);
int flowgen_rx_main(int argc, char **argv);
int flowgen_flood_main(int argc, char **argv);

#endif
