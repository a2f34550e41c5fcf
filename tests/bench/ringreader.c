// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ringreader.c - make bench's `xr`: what a daemon's side of admission in
 * the kernel would cost (tests/bench/carrier.bpf.c built with
 * -DCARRIER_BUDGETS). Every 10 ms, as a daemon's tick: refill the global
 * budget and the one source's it was given, and drain the ring buffer of
 * admitted flows without having been woken. Not a part of nfqtrackd.
 *
 *	bench_ringreader DIR SOURCE [BUDGET]
 *
 * DIR holds the pinned maps; SOURCE is the IPv4 address granted a budget;
 * BUDGET (1000) is what each budget is set to per tick. On SIGTERM or
 * SIGINT it prints "admitted N" (flows read from the ring) and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int count_one(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(uint64_t *)ctx;
	return 0;
}

static int pinned(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "ringreader: %s: %s\n", path, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct ring_buffer *ring;
	int64_t budget = 1000;
	uint64_t admitted = 0;
	int ring_fd, global_fd, source_fd;
	uint32_t zero = 0, source;

	if (argc < 3 || inet_pton(AF_INET, argv[2], &source) != 1) {
		fprintf(stderr,
			"usage: bench_ringreader DIR SOURCE [BUDGET]\n");
		return 2;
	}
	if (argc > 3)
		budget = strtoll(argv[3], NULL, 10);
	ring_fd = pinned(argv[1], "carrier_admitted");
	global_fd = pinned(argv[1], "carrier_budget");
	source_fd = pinned(argv[1], "carrier_source_budget");
	if (ring_fd < 0 || global_fd < 0 || source_fd < 0)
		return 1;
	ring = ring_buffer__new(ring_fd, count_one, &admitted, NULL);
	if (!ring) {
		fprintf(stderr, "ringreader: ring buffer: %s\n",
			strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		if (bpf_map_update_elem(global_fd, &zero, &budget, BPF_ANY) ||
		    bpf_map_update_elem(source_fd, &source, &budget, BPF_ANY)) {
			fprintf(stderr, "ringreader: budget: %s\n",
				strerror(errno));
			return 1;
		}
		ring_buffer__consume(ring);
		nanosleep(&tick, NULL);
	}
	ring_buffer__consume(ring);
	printf("admitted %llu\n", (unsigned long long)admitted);
	ring_buffer__free(ring);
	return 0;
}
