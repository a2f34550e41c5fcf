// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_pcap.c - the capture replay (libpcap's reader, the link-layer
 * offsets, then the engine) under libFuzzer. The input is a pcap or pcapng
 * file. replay_file() takes a path, so the input goes to a memfd, read
 * back through /proc/self/fd: no file system, nothing left behind.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "replay.h"

static const struct hash_key hkey = { 0x0123456789abcdefULL, 42 };
static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_stats rs;
	struct engine e;
	struct conf c;
	struct engine_params p;
	char err[512];

	if (fd < 0) {
		fd = memfd_create("fuzz_pcap", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();

	conf_defaults(&c);
	c.max_flows = 16;
	c.max_flows_per_source = 4;
	params_from_conf(&p, &c);
	if (engine_init(&e, &p, &hkey, 0) < 0)
		abort();
	if (replay_file(&e, path, &rs, err, sizeof(err)) == 0 &&
	    rs.frames != rs.packets + rs.not_ip)
		abort();
	/* Fragments go to the reassembler; whole datagrams to the engine. */
	if (e.st.packets !=
		    rs.packets - rs.defrag.fragments + rs.defrag.reassembled ||
	    e.st.packets != e.st.accepted + e.st.dropped ||
	    e.table.count > c.max_flows)
		abort();
	engine_destroy(&e);
	return 0;
}
