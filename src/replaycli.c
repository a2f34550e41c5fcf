// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * replaycli.c - nfqtrackd --replay: a capture through the engine, its
 * counters printed, and with --dump the flow table left; see replaycli.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hash.h"
#include "dump.h"
#include "metrics.h"
#include "replay.h"
#include "replaycli.h"

static void emit_line(void *arg, const char *key, uint64_t value)
{
	fprintf(arg, "%s %" PRIu64 "\n", key, value);
}

/* The group's rows of the counters table (metrics.h), as `nfqtrackctl
 * stats` prints them: a replay has no queue and no daemon. */
static void emit_counters(const struct group *g, FILE *out)
{
	struct group_gauges gg;
	struct engine_stats st;
	struct metrics_input in = { .gauges = &gg, .stats = &st };

	group_gauges(g, &gg);
	group_stats(g, &st);
	in.flows_expired = group_expired(g);
	metrics_stats(&in, METRICS_ENGINE, emit_line, out);
}

struct dump {
	const struct engine *e;
	bool json;
	uint64_t shown;
};

static int dump_flow(const struct flow *f, void *arg)
{
	struct dump *dp = arg;
	uint32_t left = engine_flow_left(dp->e, f);
	char line[DUMP_LINE_MAX];

	if (!left)
		return 0; /* expired, not yet reclaimed: gone */
	dump_format(line, sizeof(line), f, left, engine_flow_acct(dp->e, f),
		    dp->json);
	if (dp->json)
		fputs(dp->shown ? ",\n" : "[\n", stdout);
	fputs(line, stdout);
	dp->shown++;
	return 0;
}

int replaycli_run(const struct conf *c, const char *path, int dump)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct dump dp = { .e = e, .json = dump == 2 };
	FILE *out = dump ? stderr : stdout;
	struct engine_params p;
	struct hash_key hkey;
	struct replay_stats rs;
	char err[512];
	int ret = 0;

	params_from_conf(&p, c);
	if (!e || hash_key_random(&hkey) < 0 ||
	    engine_init(e, &p, &hkey, 0) < 0) {
		fprintf(stderr, "nfqtrackd: cannot make the flow table: %s\n",
			strerror(errno));
		free(e);
		return 1;
	}
	if (replay_file(e, path, &rs, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqtrackd: %s\n", err);
		ret = 1;
	}
	fprintf(out, "replay_file %s\n", path);
	fprintf(out, "replay_linktype %s\n", rs.linktype);
	emit_line(out, "replay_frames", rs.frames);
	emit_line(out, "replay_not_ip", rs.not_ip);
	emit_line(out, "replay_fragments", rs.defrag.fragments);
	emit_line(out, "replay_reassembled", rs.defrag.reassembled);
	for (int i = 0; i < DEFRAG_DROP_COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "replay_fragments_dropped_%s",
			 defrag_drop_name((enum defrag_drop)i));
		emit_line(out, name, rs.defrag.dropped[i]);
	}
	fprintf(out, "replay_trace_seconds %.3f\n", rs.trace_seconds);
	fprintf(out, "replay_wall_seconds %.3f\n", rs.wall_seconds);
	emit_line(out, "replay_packets_per_second",
		  rs.wall_seconds > 0 ?
			  (uint64_t)((double)rs.packets / rs.wall_seconds) :
			  0);
	emit_counters(engine_group(e), out);
	if (dump) {
		flow_table_walk(&e->table, dump_flow, &dp);
		if (dp.json)
			printf(dp.shown ? "\n]\n" : "[]\n");
	}
	engine_destroy(e);
	free(e);
	return ret;
}
