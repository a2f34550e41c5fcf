// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * engine_bench - the tracking engine alone, with no socket: how fast
 * engine_packet() opens flows and finds them again at 1k, 1M and 10M
 * flows, what a flow costs in memory, and, measured in the same run, how
 * long one random access to DRAM takes on this machine, so that a lookup
 * can be read as a number of memory accesses.
 *
 *   engine_bench [-f FLOWS,...] [-l LOOKUPS] [-d MIB] [-c CHUNK] [-e] [-a]
 *
 *	-f  table sizes to measure (default 1000,1000000,10000000); the
 *	    table is made for exactly that many flows (max_flows), then
 *	    filled
 *	-l  packets of established flows fed per size (default 4000000)
 *	-d  MiB of the DRAM pointer chase (default 1024; 0: skip it)
 *	-c  packets built per chunk (default 65536)
 *	-e  flow events on: a consumer of every type on a hub (evhub.h), the
 *	    engine's sink pointed at a worker's ring before each chunk and
 *	    the ring drained after it (untimed, as the main thread does)
 *	-a  accounting = yes
 *
 * Flows alternate TCP and UDP over IPv4, from up to 1024 client addresses
 * to one server. A TCP flow opens with a real handshake; its later
 * packets alternate 100-byte segments from the client (copy range 40,
 * as NFQUEUE delivers them) and the server's acknowledgements, so that
 * every one is valid and in its window; UDP alternates directions too.
 * The established packets visit the flows in random order.
 *
 * Packets are built beforehand, a chunk at a time, outside the timed
 * part: the clock runs only around feed_create() and feed_lookup(),
 * which do nothing but call engine_packet(). Those two are what
 * `valgrind --tool=callgrind --toggle-collect=feed_lookup` counts.
 * The engine's clock stands still, so nothing expires and engine_tick()
 * never runs.
 *
 * Then what verifying checksums costs (checksum = yes, for packets the
 * kernel has not verified): 1000 flows, client packets of 64, 576 and
 * 1500 bytes copied whole with right checksums, fed in turn without
 * PKT_F_CSUM and with it, the same packets in the same run.
 *
 * Output, one line per measurement, key=value:
 *   engine flows=N create_pps= lookup_pps= lookup_ns= create_pkts=
 *          lookup_pkts= rss_per_flow= engine_per_flow= table_per_flow=
 *          invalid= dropped=
 *   csum bytes=N nocheck_ns= check_ns= verified= invalid=
 *   dram mib=M ns=
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "evhub.h"

/* -e: the hub, its one consumer's count, the worker's ring. */
static bool events_on, acct_on;
static struct evhub hub;
static struct evhub_feed *feed;
static uint64_t events_seen;

static void count_events(void *arg, const struct flow_event *ev, unsigned n)
{
	(void)arg;
	(void)ev;
	events_seen += n;
}

static struct evhub_consumer counter = { count_events,		NULL, NULL,
					 (1u << FEV_TYPES) - 1, 60,   NULL };

/* Before a chunk, as a worker before a batch. */
static void events_before(struct engine *e)
{
	if (events_on)
		evhub_feed_sink(feed, &hub, e);
}

/* After it, as the main thread on its wake-up. */
static void events_after(void)
{
	if (events_on)
		evhub_drain(&hub, feed);
}

/* The engine parameters of configuration c, in a static struct. */
static const struct engine_params *params_of(const struct conf *c)
{
	static struct engine_params p;

	params_from_conf(&p, c);
	return &p;
}

#define SLOT 64 /* bytes per built packet: headers only */
#define SEG 100 /* TCP payload bytes per client segment (not copied) */
#define SERVER 0xc0000201u /* 192.0.2.1 */
#define CLIENT_NET 0x0a000000u /* 10.0.0.0 */
#define PORTS_PER_CLIENT 16384
#define T_START_MS 1000000

struct trace {
	uint8_t *buf; /* chunk slots of SLOT bytes */
	uint16_t *caplen, *wirelen;
	uint32_t n, cap;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "engine_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Resident set in bytes, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	if (f)
		fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* MemAvailable in bytes, from /proc/meminfo; 0 if unknown. */
static uint64_t mem_available(void)
{
	unsigned long long kib = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kib << 10;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: the order of visits and the permutation of the chase. */
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Flow i's endpoints and initial sequence numbers. */
static uint32_t client_of(uint32_t i)
{
	return CLIENT_NET + i / PORTS_PER_CLIENT;
}

static uint16_t sport_of(uint32_t i)
{
	return (uint16_t)(1024 + i % PORTS_PER_CLIENT);
}

static uint32_t cisn(uint32_t i)
{
	return i * 2654435761u;
}

static uint32_t sisn(uint32_t i)
{
	return ~(i * 2246822519u);
}

/* One IPv4 packet of flow i into the trace, from the client or not. */
static void add(struct trace *t, uint32_t i, bool from_client, uint8_t flags,
		uint32_t seq, uint32_t ack, uint16_t payload)
{
	uint8_t *b = t->buf + (size_t)t->n * SLOT;
	bool tcp = !(i & 1);
	uint16_t l4 = tcp ? 20 : 8, port = tcp ? 80 : 53;

	memset(b, 0, SLOT);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(20 + l4 + payload));
	b[8] = 64;
	b[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	put32(b + 12, from_client ? client_of(i) : SERVER);
	put32(b + 16, from_client ? SERVER : client_of(i));
	put16(b + 20, from_client ? sport_of(i) : port);
	put16(b + 22, from_client ? port : sport_of(i));
	if (tcp) {
		put32(b + 24, seq);
		put32(b + 28, ack);
		b[32] = 5 << 4;
		b[33] = flags;
		put16(b + 34, 65535);
	} else {
		put16(b + 24, (uint16_t)(8 + payload));
	}
	t->caplen[t->n] = (uint16_t)(20 + l4);
	t->wirelen[t->n] = (uint16_t)(20 + l4 + payload);
	t->n++;
}

/* The packets that open flow i: a TCP handshake, or one UDP datagram. */
static void add_open(struct trace *t, uint32_t i)
{
	if (i & 1) {
		add(t, i, true, 0, 0, 0, 32);
		return;
	}
	add(t, i, true, 0x02, cisn(i), 0, 0); /* SYN */
	add(t, i, false, 0x12, sisn(i), cisn(i) + 1, 0); /* SYN-ACK */
	add(t, i, true, 0x10, cisn(i) + 1, sisn(i) + 1, 0); /* ACK */
}

/* Visit k of established flow i: even visits the client sends a segment,
 * odd ones the server acknowledges it, so each stays in its window. */
static void add_visit(struct trace *t, uint32_t i, uint32_t k)
{
	uint32_t j = k / 2;

	if (i & 1)
		add(t, i, !(k & 1), 0, 0, 0, 32);
	else if (!(k & 1))
		add(t, i, true, 0x18, cisn(i) + 1 + j * SEG, sisn(i) + 1, SEG);
	else
		add(t, i, false, 0x10, sisn(i) + 1, cisn(i) + 1 + (j + 1) * SEG,
		    0);
}

/* The timed parts: nothing but engine_packet() over a built chunk. Not
 * inlined, so that callgrind can count them alone. */
__attribute__((noinline)) void feed_create(struct engine *e,
					   const struct trace *t);
__attribute__((noinline)) void feed_lookup(struct engine *e,
					   const struct trace *t);

__attribute__((noinline)) void feed_lookup_batch(struct engine *e,
						 const struct trace *t);

static uint64_t accepted;

void feed_create(struct engine *e, const struct trace *t)
{
	struct engine_result r;

	for (uint32_t p = 0; p < t->n; p++) {
		engine_packet(e, t->buf + (size_t)p * SLOT, t->caplen[p],
			      t->wirelen[p], 0, &r);
		accepted += r.verdict == VERDICT_ACCEPT;
	}
}

void feed_lookup(struct engine *e, const struct trace *t)
{
	struct engine_result r;

	for (uint32_t p = 0; p < t->n; p++) {
		engine_packet(e, t->buf + (size_t)p * SLOT, t->caplen[p],
			      t->wirelen[p], 0, &r);
		accepted += r.verdict == VERDICT_ACCEPT;
	}
}

/* The same packets as the daemon feeds them: engine_packets() on batches
 * of 64, the most one receive from the queue brings. */
void feed_lookup_batch(struct engine *e, const struct trace *t)
{
	static struct engine_input in[64];
	static struct engine_result r[64];

	for (uint32_t p = 0; p < t->n; p += 64) {
		unsigned n = t->n - p < 64 ? t->n - p : 64;

		for (unsigned i = 0; i < n; i++)
			in[i] = (struct engine_input){
				t->buf + (size_t)(p + i) * SLOT,
				t->caplen[p + i], t->wirelen[p + i], 0
			};
		engine_packets(e, in, n, r);
		for (unsigned i = 0; i < n; i++)
			accepted += r[i].verdict == VERDICT_ACCEPT;
	}
}

static uint64_t invalid_count(const struct engine *e)
{
	uint64_t n = 0;

	for (int i = 0; i < INV_REASON_COUNT; i++)
		n += e->st.invalid[i];
	for (int i = 0; i < PKT_ERR_COUNT; i++)
		n += e->st.malformed[i];
	return n + e->st.tcp_ignored;
}

static void bench_engine(uint32_t nflows, uint64_t lookups, struct trace *t)
{
	static const struct hash_key hkey = { 0x0123456789abcdefULL,
					      0xfedcba9876543210ULL };
	struct engine *e = calloc(1, sizeof(*e));
	uint32_t *visits = calloc(nflows, sizeof(*visits));
	uint64_t rss0, rss1, created = 0, looked = 0, looked_b = 0;
	double tc = 0, tl = 0, tl_b = 0, t0;
	struct conf c;

	if (!e || !visits)
		die("calloc");
	conf_defaults(&c);
	c.max_flows = nflows;
	c.accounting = acct_on;
	/* Leave half of what is free to the rest of the machine. */
	if (mem_available() &&
	    group_bytes(params_of(&c), 1) > mem_available() / 2) {
		printf("engine flows=%" PRIu32
		       " skipped=memory need_mib=%" PRIu64 "\n",
		       nflows, group_bytes(params_of(&c), 1) >> 20);
		free(e);
		free(visits);
		return;
	}
	rss0 = rss_bytes();
	if (engine_init(e, params_of(&c), &hkey, T_START_MS) < 0)
		die("engine_init");

	for (uint32_t i = 0; i < nflows;) {
		t->n = 0;
		while (i < nflows && t->n + 3 <= t->cap)
			add_open(t, i++);
		events_before(e);
		t0 = now_s();
		feed_create(e, t);
		tc += now_s() - t0;
		events_after();
		created += t->n;
	}
	rss1 = rss_bytes();
	if (e->table.count != nflows)
		fprintf(stderr,
			"engine_bench: %" PRIu32 " flows in the table, "
			"expected %" PRIu32 "\n",
			e->table.count, nflows);

	/* Chunks in turn one packet at a time and in batches, side by
	 * side on the same table. */
	for (unsigned chunk = 0; looked + looked_b < 2 * lookups; chunk++) {
		bool batch = chunk & 1;
		uint64_t *done = batch ? &looked_b : &looked;

		t->n = 0;
		while (t->n < t->cap && *done + t->n < lookups) {
			uint32_t i = (uint32_t)(rnd() % nflows);

			add_visit(t, i, visits[i]++);
		}
		events_before(e);
		t0 = now_s();
		if (batch)
			feed_lookup_batch(e, t);
		else
			feed_lookup(e, t);
		*(batch ? &tl_b : &tl) += now_s() - t0;
		events_after();
		*done += t->n;
	}

	printf("engine flows=%" PRIu32 " create_pkts=%" PRIu64
	       " create_pps=%.0f lookup_pkts=%" PRIu64
	       " lookup_pps=%.0f lookup_ns=%.1f batch_pps=%.0f batch_ns=%.1f"
	       " rss_per_flow=%.1f"
	       " engine_per_flow=%.1f table_per_flow=%.1f invalid=%" PRIu64
	       " dropped=%" PRIu64 " events=%" PRIu64 " events_lost=%" PRIu64
	       "\n",
	       nflows, created, tc > 0 ? (double)created / tc : 0.0, looked,
	       tl > 0 ? (double)looked / tl : 0.0,
	       looked ? tl * 1e9 / (double)looked : 0.0,
	       tl_b > 0 ? (double)looked_b / tl_b : 0.0,
	       looked_b ? tl_b * 1e9 / (double)looked_b : 0.0,
	       (double)(rss1 - rss0) / nflows,
	       (double)group_memory(engine_group(e)) / nflows,
	       (double)flow_table_populated_bytes(&e->table) / nflows,
	       invalid_count(e), e->st.dropped, events_seen, hub.lost);
	engine_destroy(e);
	free(e);
	free(visits);
}

/* The transport checksum of IPv4 packet b (len bytes, TCP or UDP), filled
 * in: RFC 1071, 16 bits at a time. */
static void fill_csum(uint8_t *b, size_t len)
{
	size_t at = b[9] == IPPROTO_TCP ? 36 : 26;
	uint32_t sum = b[9] + (uint32_t)(len - 20);

	put16(b + at, 0);
	for (size_t i = 12; i < 20; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	for (size_t i = 20; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(b + at, (uint16_t)~sum);
}

#define CSUM_FLOWS 1000
#define CSUM_PKTS 2048
#define CSUM_SLOT 1536

__attribute__((noinline)) void feed_whole(struct engine *e, const uint8_t *buf,
					  const uint16_t *len, uint32_t n,
					  unsigned flags);

void feed_whole(struct engine *e, const uint8_t *buf, const uint16_t *len,
		uint32_t n, unsigned flags)
{
	struct engine_result r;

	for (uint32_t p = 0; p < n; p++) {
		engine_packet(e, buf + (size_t)p * CSUM_SLOT, len[p], len[p],
			      flags, &r);
		accepted += r.verdict == VERDICT_ACCEPT;
	}
}

/* The cost of checksums: see the top of the file. */
static void bench_csum(uint64_t lookups, struct trace *t)
{
	static const struct hash_key hkey = { 1, 2 };
	static const uint16_t sizes[] = { 64, 576, 1500 };
	uint8_t *buf = aligned_alloc(64, (size_t)CSUM_PKTS * CSUM_SLOT);
	uint16_t *len = calloc(CSUM_PKTS, sizeof(*len));
	struct engine *e = calloc(1, sizeof(*e));
	struct conf c;

	if (!buf || !len || !e)
		die("malloc");
	conf_defaults(&c);
	c.max_flows = CSUM_FLOWS;
	if (engine_init(e, params_of(&c), &hkey, T_START_MS) < 0)
		die("engine_init");
	t->n = 0;
	for (uint32_t i = 0; i < CSUM_FLOWS; i++)
		add_open(t, i);
	feed_create(e, t);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t done[2] = { 0, 0 }, verified, invalid;
		double took[2] = { 0, 0 };

		for (uint32_t p = 0; p < CSUM_PKTS; p++) {
			uint32_t i = p % CSUM_FLOWS, k = p / CSUM_FLOWS;
			bool tcp = !(i & 1);
			uint16_t hl = tcp ? 40 : 28, pay = sizes[s] - hl;
			uint8_t *b = buf + (size_t)p * CSUM_SLOT;

			t->n = 0;
			add(t, i, true, 0x18, cisn(i) + 1 + k * pay,
			    sisn(i) + 1, pay);
			memcpy(b, t->buf, hl);
			for (uint16_t j = hl; j < sizes[s]; j++)
				b[j] = (uint8_t)rnd();
			len[p] = sizes[s];
			fill_csum(b, len[p]);
		}
		verified = e->st.checksums_verified;
		invalid = invalid_count(e);
		for (unsigned round = 0; done[0] + done[1] < 2 * lookups;
		     round++) {
			unsigned check = round & 1;
			double t0 = now_s();

			feed_whole(e, buf, len, CSUM_PKTS,
				   check ? PKT_F_CSUM : 0);
			took[check] += now_s() - t0;
			done[check] += CSUM_PKTS;
		}
		printf("csum bytes=%u nocheck_ns=%.1f check_ns=%.1f "
		       "verified=%" PRIu64 " invalid=%" PRIu64 "\n",
		       sizes[s], took[0] * 1e9 / (double)done[0],
		       took[1] * 1e9 / (double)done[1],
		       e->st.checksums_verified - verified,
		       invalid_count(e) - invalid);
	}
	engine_destroy(e);
	free(e);
	free(buf);
	free(len);
}

/*
 * The latency of one random DRAM access: a walk along a random cycle
 * through every cache line of a buffer far larger than the last-level
 * cache, each load's address coming from the one before, so that none
 * can start early. 4 KiB pages, as the flow table has: TLB misses are in
 * both figures alike.
 */
static void bench_dram(size_t mib)
{
	size_t lines = (mib << 20) / 64, steps = 20000000, pos = 0;
	uint64_t *mem;
	double t0, dt;

	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	madvise(mem, mib << 20, MADV_NOHUGEPAGE);
	/* Sattolo's shuffle of the identity: one cycle through all lines. */
	for (size_t i = 0; i < lines; i++)
		mem[i * 8] = i;
	for (size_t i = lines - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % i), v = mem[i * 8];

		mem[i * 8] = mem[j * 8];
		mem[j * 8] = v;
	}
	t0 = now_s();
	for (size_t s = 0; s < steps; s++)
		pos = mem[pos * 8];
	dt = now_s() - t0;
	printf("dram mib=%zu ns=%.1f end=%zu\n", mib, dt * 1e9 / (double)steps,
	       pos % 10);
	munmap(mem, mib << 20);
}

int main(int argc, char **argv)
{
	const char *flows = "1000,1000000,10000000";
	uint64_t lookups = 4000000;
	size_t mib = 1024;
	struct trace t = { .cap = 65536 };
	char *list, *tok, *save;
	int opt;

	while ((opt = getopt(argc, argv, "f:l:d:c:ea")) != -1) {
		switch (opt) {
		case 'f':
			flows = optarg;
			break;
		case 'l':
			lookups = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			t.cap = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			events_on = true;
			break;
		case 'a':
			acct_on = true;
			break;
		default:
			fprintf(stderr, "usage: engine_bench [-f FLOWS,...] "
					"[-l LOOKUPS] [-d MIB] [-c CHUNK] "
					"[-e] [-a]\n");
			return 2;
		}
	}
	if (events_on) {
		feed = malloc(sizeof(*feed));
		if (!feed)
			die("malloc");
		evhub_init(&hub, 0, 0);
		evhub_feed_init(feed);
		evhub_add(&hub, &counter);
	}
	if (t.cap < 3)
		t.cap = 3;
	t.buf = aligned_alloc(64, (size_t)t.cap * SLOT);
	t.caplen = calloc(t.cap, sizeof(*t.caplen));
	t.wirelen = calloc(t.cap, sizeof(*t.wirelen));
	list = strdup(flows);
	if (!t.buf || !t.caplen || !t.wirelen || !list)
		die("malloc");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mib)
		bench_dram(mib);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long n = strtoul(tok, NULL, 10);

		if (n < 1 || n > (1u << 30)) {
			fprintf(stderr, "engine_bench: -f %s: 1 to 2^30\n",
				tok);
			return 2;
		}
		bench_engine((uint32_t)n, lookups, &t);
	}
	if (t.cap >= 3 * CSUM_FLOWS)
		bench_csum(lookups, &t);
	if (accepted == 0)
		fprintf(stderr, "engine_bench: nothing accepted\n");
	free(list);
	free(t.buf);
	free(t.caplen);
	free(t.wirelen);
	return 0;
}
