// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_corpus.c - real captures as test input. Every packet of every
 * capture under the corpus directory (CORPUS_DIR, or $NFQT_CORPUS) goes
 * through pkt_parse(), which must keep its invariants, and through a whole
 * engine, one per file, whose counters must add up; then known answers for
 * particular files, checked by hand against tshark. The corpus is not part
 * of a clone: without it the binary says so and passes. No capture bytes
 * are copied into the repository; they are read at test time only.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "pkt.h"
#include "testutil.h"

#ifndef CORPUS_DIR
#define CORPUS_DIR "../shared/corpus"
#endif

#define MAX_FLOWS 4096
#define SWEEP_EVERY 1000
#define MAX_DEPTH 16
#define MAX_GROUPS 64
#define MAX_LINKS 32

static const char *corpus;
static char *groups[MAX_GROUPS]; /* top-level folders, then "." */
static int ngroups;

static const struct hash_key hkey = { 0x0123456789abcdefull,
				      0xfedcba9876543210ull };

/* ---- link layers --------------------------------------------------------- */

enum link { L_NONE, L_ETH, L_SLL, L_SLL2, L_RAW, L_NULL };

static enum link link_of(int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);

	switch (dlt) {
	case DLT_EN10MB:
		return L_ETH;
	case DLT_LINUX_SLL:
		return L_SLL;
	case DLT_LINUX_SLL2:
		return L_SLL2;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return L_RAW;
	case DLT_NULL:
	case DLT_LOOP:
		return L_NULL;
	}
	/* DLT_RAW is 12 on most systems and 14 on OpenBSD, and captures
	 * from either may carry either: take 14 as raw IP where it names
	 * nothing else. */
	if (name ? !strcmp(name, "RAW") : dlt == 14)
		return L_RAW;
	return L_NONE;
}

static unsigned rd16be(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int ip_ethertype(unsigned et)
{
	return et == 0x0800 || et == 0x86dd;
}

/* AF_INET and the BSDs' AF_INET6 values, in either byte order. */
static int null_family(const uint8_t *p)
{
	uint32_t le = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		      (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	uint32_t be = (uint32_t)p[3] | (uint32_t)p[2] << 8 |
		      (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;

	return le == 2 || le == 24 || le == 28 || le == 30 || be == 2 ||
	       be == 24 || be == 28 || be == 30;
}

/* Where the IP header starts in a frame, or -1 if it carries no IP. */
static long ip_offset(enum link l, const uint8_t *d, size_t cap)
{
	size_t off;
	unsigned et;

	switch (l) {
	case L_ETH:
		if (cap < 14)
			return -1;
		off = 12;
		et = rd16be(d + off);
		/* Up to two 802.1Q / 802.1ad tags. */
		for (int i = 0;
		     i < 2 && (et == 0x8100 || et == 0x88a8 || et == 0x9100);
		     i++) {
			off += 4;
			if (cap < off + 2)
				return -1;
			et = rd16be(d + off);
		}
		return ip_ethertype(et) ? (long)off + 2 : -1;
	case L_SLL:
		return cap >= 16 && ip_ethertype(rd16be(d + 14)) ? 16 : -1;
	case L_SLL2:
		return cap >= 20 && ip_ethertype(rd16be(d)) ? 20 : -1;
	case L_RAW:
		return 0;
	case L_NULL:
		return cap >= 4 && null_family(d) ? 4 : -1;
	case L_NONE:
		break;
	}
	return -1;
}

/* ---- walking the corpus -------------------------------------------------- */

struct link_count {
	char name[32];
	uint64_t files;
};

/* on_full for the engine that run_file() makes. */
static uint32_t on_full = CONF_FULL_EARLY_DROP;

struct tally {
	uint64_t files, unopenable, read_errors, link_skipped;
	uint64_t frames, non_ip, packets;
	uint64_t kinds[4], errs[PKT_ERR_COUNT];
	uint64_t flows_created, fragments, icmp_related, untracked;
	uint64_t invalid, table_full, evicted;
	struct link_count links[MAX_LINKS];
	int nlinks;
};

static void count_link(struct tally *t, int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);
	char buf[32];
	int i;

	if (!name) {
		snprintf(buf, sizeof(buf), "DLT%d", dlt);
		name = buf;
	}
	for (i = 0; i < t->nlinks; i++)
		if (!strcmp(t->links[i].name, name))
			break;
	if (i == t->nlinks) {
		if (t->nlinks == MAX_LINKS)
			return;
		snprintf(t->links[t->nlinks++].name, sizeof(t->links[0].name),
			 "%s", name);
	}
	t->links[i].files++;
}

/* Run one capture through the parser and a fresh engine with a table of
 * max_flows. */
static void run_file(const char *path, uint32_t max_flows, struct tally *t)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	uint64_t kinds[4] = { 0 }, errs[PKT_ERR_COUNT] = { 0 }, sum;
	struct pcap_pkthdr *h;
	const u_char *d;
	struct engine e;
	struct conf c;
	long first = 0;
	uint64_t n = 0, frame = 0;
	enum link l;
	pcap_t *pc;
	int r;

	t->files++;
	pc = pcap_open_offline(path, errbuf);
	if (!pc) {
		t->unopenable++;
		return;
	}
	l = link_of(pcap_datalink(pc));
	if (l == L_NONE) {
		t->link_skipped++;
		count_link(t, pcap_datalink(pc));
		pcap_close(pc);
		return;
	}
	conf_defaults(&c);
	c.max_flows = max_flows;
	c.on_full = on_full;
	ck_assert_msg(engine_init(&e, tu_params(&c), &hkey, 0) == 0,
		      "engine_init");

	while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
		struct engine_result res;
		size_t cap, wire;
		enum pkt_kind k;
		const char *why;
		uint8_t *copy;
		struct pkt p;
		long off;

		t->frames++;
		frame++;
		off = ip_offset(l, d, h->caplen);
		if (off < 0) {
			t->non_ip++;
			continue;
		}
		cap = h->caplen - (size_t)off;
		wire = h->len > (size_t)off ? h->len - (size_t)off : 0;
		copy = tu_exact(d + off, cap);
		k = pkt_parse(&p, copy, cap, wire, 0);
		why = tu_pkt_invariant(&p, k, cap, wire);
		ck_assert_msg(!why, "%s: frame %llu: %s", path,
			      (unsigned long long)frame, why);
		kinds[k]++;
		errs[p.err]++;

		if (!n++)
			first = h->ts.tv_sec;
		/* Whole seconds from the first packet, in milliseconds: a
		 * capture's clock may jump back, the engine's never does. */
		engine_set_time(&e, h->ts.tv_sec > first ?
					    (uint64_t)(h->ts.tv_sec - first) *
						    1000 :
					    0);
		engine_packet(&e, copy, cap, wire, 0, &res);
		ck_assert_msg(res.pkt.kind == p.kind && res.pkt.err == p.err,
			      "%s: the engine parsed frame %llu otherwise",
			      path, (unsigned long long)frame);
		if (n % SWEEP_EVERY == 0)
			engine_tick(&e);
		free(copy);
	}
	if (r == -1)
		t->read_errors++;
	pcap_close(pc);

	/* Every packet is counted once, and every drop once. */
	ck_assert_msg(e.st.packets == n, "%s: packets", path);
	ck_assert_msg(e.st.packets == e.st.accepted + e.st.dropped,
		      "%s: packets != accepted + dropped", path);
	sum = 0;
	for (int i = 0; i < DROP_REASON_COUNT; i++)
		sum += e.st.drop[i];
	ck_assert_msg(e.st.dropped == sum, "%s: dropped != sum of drop[]",
		      path);
	/* invalid_verdict = accept: only a full table drops, and
	 * copy_range_verdict = drop what the capture cut inside the
	 * headers. */
	ck_assert_msg(
		e.st.drop[DROP_MALFORMED] == e.st.malformed[PKT_ERR_COPY_RANGE],
		"%s: drops for malformed packets other than copy_range", path);
	ck_assert_msg(e.st.dropped == e.st.drop[DROP_TABLE_FULL] +
					      e.st.drop[DROP_MALFORMED],
		      "%s: drops other than table_full and copy_range", path);
	/* The engine saw what the parser saw. */
	sum = 0;
	for (int i = 1; i < PKT_ERR_COUNT; i++) {
		ck_assert_msg(e.st.malformed[i] == errs[i],
			      "%s: malformed[%s] %llu, parser %llu", path,
			      pkt_err_name((enum pkt_err)i),
			      (unsigned long long)e.st.malformed[i],
			      (unsigned long long)errs[i]);
		sum += e.st.malformed[i];
	}
	ck_assert_msg(sum == kinds[PKT_MALFORMED], "%s: malformed", path);
	ck_assert_msg(e.st.fragments == kinds[PKT_FRAGMENT], "%s: fragments",
		      path);
	ck_assert_msg(e.table.count <= max_flows, "%s: %u flows", path,
		      e.table.count);
	ck_assert_msg(e.table.count <= e.st.flows_created,
		      "%s: more flows than were created", path);

	t->packets += n;
	for (int i = 0; i < 4; i++)
		t->kinds[i] += kinds[i];
	for (int i = 0; i < PKT_ERR_COUNT; i++)
		t->errs[i] += errs[i];
	t->flows_created += e.st.flows_created;
	t->fragments += e.st.fragments;
	t->icmp_related += e.st.icmp_related;
	t->untracked += e.st.untracked;
	t->table_full += e.st.drop[DROP_TABLE_FULL];
	t->evicted += e.st.flows_evicted;
	for (int i = 0; i < INV_REASON_COUNT; i++)
		t->invalid += e.st.invalid[i];
	if (getenv("NFQT_CORPUS_VERBOSE"))
		printf("%s: %llu packets, %llu malformed, %llu fragments, "
		       "%llu flows, %llu icmp related, %llu untracked\n",
		       path, (unsigned long long)n,
		       (unsigned long long)kinds[PKT_MALFORMED],
		       (unsigned long long)e.st.fragments,
		       (unsigned long long)e.st.flows_created,
		       (unsigned long long)e.st.icmp_related,
		       (unsigned long long)e.st.untracked);
	engine_destroy(&e);
}

static int not_dot(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Every file under path, in name order; folders too if recurse. */
static void walk(const char *path, int depth, int recurse, struct tally *t)
{
	struct dirent **ents;
	int n = scandir(path, &ents, not_dot, alphasort);

	ck_assert_msg(n >= 0, "cannot read %s", path);
	for (int i = 0; i < n; i++) {
		char *sub;
		struct stat st;

		ck_assert(asprintf(&sub, "%s/%s", path, ents[i]->d_name) > 0);
		if (stat(sub, &st) == 0) {
			if (S_ISDIR(st.st_mode) && recurse && depth < MAX_DEPTH)
				walk(sub, depth + 1, 1, t);
			else if (S_ISREG(st.st_mode))
				run_file(sub, MAX_FLOWS, t);
		}
		free(sub);
		free(ents[i]);
	}
	free(ents);
}

static void print_tally(const char *name, const struct tally *t)
{
	printf("check_corpus: %s: files %llu (unopenable %llu, read errors "
	       "%llu, link type skipped %llu",
	       name, (unsigned long long)t->files,
	       (unsigned long long)t->unopenable,
	       (unsigned long long)t->read_errors,
	       (unsigned long long)t->link_skipped);
	for (int i = 0; i < t->nlinks; i++)
		printf("%s%s %llu", i ? ", " : ": ", t->links[i].name,
		       (unsigned long long)t->links[i].files);
	printf("); frames %llu, non-IP %llu, IP packets %llu: flow %llu, "
	       "fragment %llu, icmp_error %llu, malformed %llu",
	       (unsigned long long)t->frames, (unsigned long long)t->non_ip,
	       (unsigned long long)t->packets,
	       (unsigned long long)t->kinds[PKT_FLOW],
	       (unsigned long long)t->kinds[PKT_FRAGMENT],
	       (unsigned long long)t->kinds[PKT_ICMP_ERROR],
	       (unsigned long long)t->kinds[PKT_MALFORMED]);
	for (int i = 1, sep = 0; i < PKT_ERR_COUNT; i++) {
		if (!t->errs[i])
			continue;
		printf("%s%s %llu", sep++ ? ", " : " (",
		       pkt_err_name((enum pkt_err)i),
		       (unsigned long long)t->errs[i]);
	}
	if (t->kinds[PKT_MALFORMED])
		printf(")");
	printf("; engine: flows created %llu, fragments %llu, icmp related "
	       "%llu, untracked %llu, invalid %llu, table full %llu\n",
	       (unsigned long long)t->flows_created,
	       (unsigned long long)t->fragments,
	       (unsigned long long)t->icmp_related,
	       (unsigned long long)t->untracked, (unsigned long long)t->invalid,
	       (unsigned long long)t->table_full);
	fflush(stdout);
}

/* One top-level folder per loop index; the last one is the top level's
 * own files. */
START_TEST(whole_corpus)
{
	struct tally t;
	char *path;
	int top = !strcmp(groups[_i], ".");

	memset(&t, 0, sizeof(t));
	if (top)
		path = strdup(corpus);
	else
		ck_assert(asprintf(&path, "%s/%s", corpus, groups[_i]) > 0);
	walk(path, 0, !top, &t);
	print_tally(top ? "(top level)" : groups[_i], &t);
	free(path);
}
END_TEST

/* ---- known answers ------------------------------------------------------- */

struct frame {
	uint8_t *ip; /* exact-size heap copy from the IP header on */
	size_t cap, wire;
	long sec;
};

struct capture {
	struct frame f[256];
	size_t n; /* IP frames, at most 256 */
	size_t frames; /* all frames */
};

/* Load the IP packets of corpus file rel. False (and a message saying the
 * test is skipped) if it is not there. */
static bool load(const char *rel, struct capture *c)
{
	char errbuf[PCAP_ERRBUF_SIZE], *path;
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *pc;
	enum link l;

	memset(c, 0, sizeof(*c));
	ck_assert(asprintf(&path, "%s/%s", corpus, rel) > 0);
	if (access(path, R_OK) != 0) {
		printf("check_corpus: skipped: %s is not there\n", path);
		free(path);
		return false;
	}
	pc = pcap_open_offline(path, errbuf);
	ck_assert_msg(pc, "%s", errbuf);
	l = link_of(pcap_datalink(pc));
	ck_assert_msg(l != L_NONE, "%s: link type %d", path, pcap_datalink(pc));
	while (pcap_next_ex(pc, &h, &d) == 1 && c->n < 256) {
		long off = ip_offset(l, d, h->caplen);
		struct frame *f = &c->f[c->n];

		c->frames++;
		if (off < 0)
			continue;
		f->cap = h->caplen - (size_t)off;
		f->wire = h->len > (size_t)off ? h->len - (size_t)off : 0;
		f->ip = tu_exact(d + off, f->cap);
		f->sec = h->ts.tv_sec;
		c->n++;
	}
	pcap_close(pc);
	free(path);
	return true;
}

static void unload(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->f[i].ip);
}

/* Parse frame i (0-based) of c with flags. */
static enum pkt_kind parse_frame(struct pkt *p, const struct capture *c,
				 size_t i, unsigned int flags)
{
	enum pkt_kind k;
	const char *why;

	ck_assert_msg(i < c->n, "frame %zu of %zu", i, c->n);
	k = pkt_parse(p, c->f[i].ip, c->f[i].cap, c->f[i].wire, flags);
	why = tu_pkt_invariant(p, k, c->f[i].cap, c->f[i].wire);
	ck_assert_msg(!why, "frame %zu: %s", i, why);
	return k;
}

static void expect_addr(const uint8_t *got, int family, const char *want)
{
	uint8_t a[16] = { 0 };

	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, want, a),
			 1);
	ck_assert_msg(!memcmp(got, a, 16), "address is not %s", want);
}

/* Run all of c through a fresh engine (defaults, max_flows 4096). */
static void run_engine(struct engine *e, const struct capture *c,
		       unsigned int flags)
{
	struct engine_result r;
	struct conf conf;

	conf_defaults(&conf);
	conf.max_flows = MAX_FLOWS;
	ck_assert_int_eq(engine_init(e, tu_params(&conf), &hkey, 0), 0);
	for (size_t i = 0; i < c->n; i++) {
		engine_set_time(e,
				c->f[i].sec > c->f[0].sec ?
					(uint64_t)(c->f[i].sec - c->f[0].sec) *
						1000 :
					0);
		engine_packet(e, c->f[i].ip, c->f[i].cap, c->f[i].wire, flags,
			      &r);
	}
}

#define LOAD_OR_SKIP(c, rel)           \
	do {                           \
		if (!load((rel), (c))) \
			return;        \
	} while (0)

/*
 * pcapplusplus IPv4-TSO: an echo request 10.0.0.4 > 1.1.1.1 (id 1) of 59
 * bytes whose total length field is 0, as TSO leaves it.
 */
START_TEST(kat_ipv4_tso)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "pcapplusplus/PacketExamples/IPv4-TSO.pcap");
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.f[0].cap, 59);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_LENGTH);
	ck_assert_int_eq(parse_frame(&p, &c, 0, PKT_F_GSO), PKT_FLOW);
	ck_assert_uint_eq(p.family, 4);
	ck_assert_uint_eq(p.proto, IPPROTO_ICMP);
	expect_addr(p.src, 4, "10.0.0.4");
	expect_addr(p.dst, 4, "1.1.1.1");
	ck_assert_uint_eq(p.icmp_type, 8);
	ck_assert_uint_eq(p.icmp_query, 1);
	ck_assert_uint_eq(p.sport, 1); /* identifier */
	ck_assert_uint_eq(p.dport, 8 << 8); /* echo, code 0 */
	ck_assert_uint_eq(p.ip_len, 59);
	ck_assert_uint_eq(p.l4_off, 20);
	ck_assert_uint_eq(p.l4_len, 39);
	unload(&c);
}
END_TEST

/*
 * tcpdump bigtcp-ipv4 / bigtcp-ipv6: 80052- and 80040-byte Linux BIG TCP
 * packets, IPv4 total length 0 and IPv6 payload length 0 with no jumbo
 * option. Only the GSO flag makes them flows.
 */
START_TEST(kat_bigtcp)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "tcpdump/bigtcp-ipv4.pcap");
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_LENGTH);
	ck_assert_int_eq(parse_frame(&p, &c, 0, PKT_F_GSO), PKT_FLOW);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	expect_addr(p.src, 4, "10.25.132.13");
	expect_addr(p.dst, 4, "10.25.132.11");
	ck_assert_uint_eq(p.ip_len, 80052);
	unload(&c);

	LOAD_OR_SKIP(&c, "tcpdump/bigtcp-ipv6.pcap");
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_L4_SHORT);
	ck_assert_int_eq(parse_frame(&p, &c, 0, PKT_F_GSO), PKT_FLOW);
	ck_assert_uint_eq(p.proto, IPPROTO_TCP);
	expect_addr(p.src, 6, "2604:1380:4091:ce00::b");
	expect_addr(p.dst, 6, "2604:1380:4091:ce00::d");
	ck_assert_uint_eq(p.sport, 43267);
	ck_assert_uint_eq(p.dport, 41219);
	ck_assert_uint_eq(p.tcp_seq, 0x8707a699);
	ck_assert_uint_eq(p.tcp_ack, 0xe5840de4);
	ck_assert_uint_eq(p.tcp_flags, TCPF_PSH | TCPF_ACK);
	ck_assert_uint_eq(p.tcp_doff, 32);
	ck_assert_uint_eq(p.tcp_win, 426);
	ck_assert_uint_eq(p.ip_len, 80040);
	ck_assert_uint_eq(p.l4_len, 80000);
	unload(&c);
}
END_TEST

/*
 * pcapplusplus ip4_fragments: NFS over UDP, 10.118.213.212:789 >
 * 10.118.213.211:2049, 9 datagrams of 8320 bytes in 6 fragments each (3
 * first fragments sent twice, some later ones too) and 3 unfragmented
 * replies: 53 packets, 41 of them non-first fragments.
 */
START_TEST(kat_ipv4_fragments)
{
	static struct capture c;
	size_t kinds[4] = { 0 }, first = 0;
	struct engine e;
	struct pkt p;

	LOAD_OR_SKIP(&c, "pcapplusplus/PcapExamples/ip4_fragments.pcap");
	ck_assert_uint_eq(c.n, 53);
	for (size_t i = 0; i < c.n; i++) {
		enum pkt_kind k = parse_frame(&p, &c, i, 0);

		kinds[k]++;
		if (k == PKT_FRAGMENT) {
			ck_assert_uint_eq(p.frag, PKT_FRAG_LATER);
			ck_assert_uint_eq(p.proto, IPPROTO_UDP);
			ck_assert_uint_eq(p.l4_off, 20);
		}
		if (p.frag == PKT_FRAG_FIRST) {
			first++;
			ck_assert_msg(k == PKT_FLOW,
				      "frame %zu, a first fragment: kind %d "
				      "err %s, want a flow",
				      i + 1, k, pkt_err_name(p.err));
			ck_assert_uint_eq(p.sport, 789);
			ck_assert_uint_eq(p.dport, 2049);
			ck_assert_uint_eq(p.ip_len, 1500);
		}
	}
	ck_assert_uint_eq(kinds[PKT_FRAGMENT], 41);
	ck_assert_uint_eq(first, 9);
	ck_assert_uint_eq(kinds[PKT_FLOW], 12);
	ck_assert_uint_eq(kinds[PKT_MALFORMED], 0);

	run_engine(&e, &c, 0);
	ck_assert_uint_eq(e.st.fragments, 41);
	ck_assert_uint_eq(e.st.flows_created, 1);
	engine_destroy(&e);
	unload(&c);
}
END_TEST

/*
 * suricata-verify defrag/bug-6887-defrag-ipv4-tcp-syn (raw IPv4 link
 * type): a SYN from 1.1.1.1 to 2.2.2.2 in three 8-byte fragments. The
 * first holds only 8 bytes of the TCP header.
 */
START_TEST(kat_ipv4_tiny_first_fragment)
{
	static struct capture c;
	struct engine e;
	struct pkt p;

	LOAD_OR_SKIP(&c, "suricata-verify/defrag/"
			 "bug-6887-defrag-ipv4-tcp-syn/frag-ip-tcp-syn.pcap");
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_FRAGMENT);
	for (size_t i = 1; i < 3; i++) {
		ck_assert_int_eq(parse_frame(&p, &c, i, 0), PKT_FRAGMENT);
		ck_assert_uint_eq(p.proto, IPPROTO_TCP);
		expect_addr(p.src, 4, "1.1.1.1");
		expect_addr(p.dst, 4, "2.2.2.2");
		ck_assert_uint_eq(p.l4_len, 8);
	}
	run_engine(&e, &c, 0);
	ck_assert_uint_eq(e.st.malformed[PKT_ERR_FRAGMENT], 1);
	ck_assert_uint_eq(e.st.fragments, 2);
	ck_assert_uint_eq(e.st.flows_created, 0);
	engine_destroy(&e);
	unload(&c);
}
END_TEST

/*
 * zeek ipv6-fragmented-dns: DNS between 2001:470:1f11:81f:d138:5f55:6d4:
 * 1fe2 and 2607:f740:b::f93 (port 53). Frames 4, 7 and 8 are non-first
 * fragments (fragment header: transport at 48); frame 6 is the first
 * fragment of a 1800-byte answer to port 51851, whose UDP length is the
 * whole datagram's.
 */
START_TEST(kat_ipv6_fragments)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "zeek/ipv6-fragmented-dns.pcap");
	ck_assert_uint_eq(c.n, 8);
	for (size_t i = 0; i < 8; i++) {
		enum pkt_kind k = parse_frame(&p, &c, i, 0);

		ck_assert_uint_eq(p.family, 6);
		ck_assert_uint_eq(p.proto, IPPROTO_UDP);
		if (i == 3 || i == 6 || i == 7) {
			ck_assert_int_eq(k, PKT_FRAGMENT);
			ck_assert_uint_eq(p.l4_off, 48);
			expect_addr(p.src, 6, "2607:f740:b::f93");
		} else if (i != 5) {
			ck_assert_int_eq(k, PKT_FLOW);
			ck_assert_uint_eq(p.frag, PKT_FRAG_NONE);
			ck_assert_uint_eq(p.l4_off, 40);
		}
	}
	ck_assert_int_eq(parse_frame(&p, &c, 1, 0), PKT_FLOW);
	ck_assert_uint_eq(p.sport, 53);
	ck_assert_uint_eq(p.dport, 51850);
	ck_assert_int_eq(parse_frame(&p, &c, 5, 0), PKT_FLOW);
	ck_assert_uint_eq(p.frag, PKT_FRAG_FIRST);
	ck_assert_uint_eq(p.sport, 53);
	ck_assert_uint_eq(p.dport, 51851);
	ck_assert_uint_eq(p.l4_off, 48);
	ck_assert_uint_eq(p.ip_len, 1480);
	unload(&c);
}
END_TEST

/*
 * zeek ipv6-http-atomic-frag: HTTP over IPv6 where 2001:db8:1::2 puts an
 * atomic fragment header (offset 0, M clear) on every segment it sends.
 * Those are whole packets: flows with the transport header at 48.
 */
START_TEST(kat_ipv6_atomic_fragments)
{
	static struct capture c;
	size_t atomic = 0;
	struct engine e;
	struct pkt p;

	LOAD_OR_SKIP(&c, "zeek/ipv6-http-atomic-frag.pcap");
	ck_assert_uint_eq(c.n, 38);
	for (size_t i = 2; i < c.n; i++) {
		ck_assert_int_eq(parse_frame(&p, &c, i, 0), PKT_FLOW);
		ck_assert_uint_eq(p.proto, IPPROTO_TCP);
		ck_assert_uint_eq(p.frag, PKT_FRAG_NONE);
		if (p.l4_off == 48) {
			atomic++;
			expect_addr(p.src, 6, "2001:db8:1::2");
			ck_assert_uint_eq(p.dport, 80);
		} else {
			ck_assert_uint_eq(p.l4_off, 40);
			ck_assert_uint_eq(p.sport, 80);
		}
	}
	ck_assert_uint_eq(atomic, 18);
	/* Frame 4: the first SYN, from port 36951. */
	ck_assert_int_eq(parse_frame(&p, &c, 3, 0), PKT_FLOW);
	ck_assert_uint_eq(p.tcp_flags, TCPF_SYN);
	ck_assert_uint_eq(p.sport, 36951);
	run_engine(&e, &c, 0);
	ck_assert_uint_eq(e.st.fragments, 0);
	ck_assert_uint_eq(e.st.flows_created, 4);
	ck_assert_uint_eq(e.st.untracked, 2); /* neighbour discovery */
	engine_destroy(&e);
	unload(&c);
}
END_TEST

/*
 * zeek icmp-destunreach-udp: 192.168.1.102 tells 192.168.1.1 that port
 * 59207 is unreachable (type 3 code 3), quoting the DNS answer from port
 * 53; the 180-byte packet holds 176 bytes of IP and a 4-byte trailer.
 * icmp-destunreach-no-context: type 3 with nothing quoted.
 */
START_TEST(kat_icmp_destunreach)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "zeek/icmp/icmp-destunreach-udp.pcap");
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.f[0].wire, 180);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_ICMP_ERROR);
	ck_assert_uint_eq(p.proto, IPPROTO_ICMP);
	expect_addr(p.src, 4, "192.168.1.102");
	expect_addr(p.dst, 4, "192.168.1.1");
	ck_assert_uint_eq(p.icmp_type, 3);
	ck_assert_uint_eq(p.icmp_code, 3);
	ck_assert_uint_eq(p.ip_len, 176);
	ck_assert_uint_eq(p.l4_len, 156);
	ck_assert_uint_eq(p.inner.family, 4);
	ck_assert_uint_eq(p.inner.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.inner.has_ports, 1);
	expect_addr(p.inner.src, 4, "192.168.1.1");
	expect_addr(p.inner.dst, 4, "192.168.1.102");
	ck_assert_uint_eq(p.inner.sport, 53);
	ck_assert_uint_eq(p.inner.dport, 59207);
	unload(&c);

	LOAD_OR_SKIP(&c, "zeek/icmp/icmp-destunreach-no-context.pcap");
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_ICMP_INNER);
	unload(&c);
}
END_TEST

/*
 * zeek icmp6-destunreach-ip6ext-udp: fe80::dead tells fe80::beef that
 * fe80::dead is unreachable, quoting a UDP datagram 30000 > 13000 behind
 * a hop-by-hop header. -ip6ext: the quote ends in no-next-header (59).
 * -ip6ext-trunc: the quote announces a hop-by-hop header it does not hold.
 */
START_TEST(kat_icmp6_quoted_ext_headers)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "zeek/icmp/icmp6-destunreach-ip6ext-udp.pcap");
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_ICMP_ERROR);
	ck_assert_uint_eq(p.icmp_type, 1);
	ck_assert_uint_eq(p.icmp_code, 0);
	expect_addr(p.src, 6, "fe80::dead");
	expect_addr(p.dst, 6, "fe80::beef");
	ck_assert_uint_eq(p.inner.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.inner.has_ports, 1);
	expect_addr(p.inner.src, 6, "fe80::beef");
	expect_addr(p.inner.dst, 6, "fe80::dead");
	ck_assert_uint_eq(p.inner.sport, 30000);
	ck_assert_uint_eq(p.inner.dport, 13000);
	unload(&c);

	LOAD_OR_SKIP(&c, "zeek/icmp/icmp6-destunreach-ip6ext.pcap");
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_ICMP_ERROR);
	ck_assert_uint_eq(p.inner.proto, IPPROTO_NONE);
	ck_assert_uint_eq(p.inner.has_ports, 0);
	unload(&c);

	LOAD_OR_SKIP(&c, "zeek/icmp/icmp6-destunreach-ip6ext-trunc.pcap");
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_ICMP_INNER);
	unload(&c);
}
END_TEST

/*
 * zeek ipv6-hbh-routing0: hop-by-hop (8 bytes) and a type 0 routing header
 * (40 bytes), then UDP 53 > 53 with 3 bytes of payload. ipv6_zero_len_ah:
 * frame 5 is an echo request (id 0, sequence 31) behind AH of length 0
 * (8 bytes), and frame 6 the parameter problem (type 4 code 1) about it.
 * ipv6-mobility-dst-opts: frame 2's 40-byte destination options header
 * is longer than its 36-byte payload.
 */
START_TEST(kat_ipv6_ext_headers)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "zeek/ipv6-hbh-routing0.pcap");
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_FLOW);
	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.l4_off, 88);
	ck_assert_uint_eq(p.l4_len, 11);
	ck_assert_uint_eq(p.ip_len, 99);
	ck_assert_uint_eq(p.sport, 53);
	ck_assert_uint_eq(p.dport, 53);
	unload(&c);

	LOAD_OR_SKIP(&c, "zeek/ipv6_zero_len_ah.pcap");
	ck_assert_uint_eq(c.n, 10);
	ck_assert_int_eq(parse_frame(&p, &c, 4, 0), PKT_FLOW);
	ck_assert_uint_eq(p.proto, IPPROTO_ICMPV6);
	ck_assert_uint_eq(p.l4_off, 48);
	ck_assert_uint_eq(p.l4_len, 158);
	ck_assert_uint_eq(p.icmp_type, 128);
	ck_assert_uint_eq(p.icmp_query, 1);
	ck_assert_uint_eq(p.sport, 0);
	ck_assert_int_eq(parse_frame(&p, &c, 5, 0), PKT_ICMP_ERROR);
	ck_assert_uint_eq(p.icmp_type, 4);
	ck_assert_uint_eq(p.icmp_code, 1);
	ck_assert_uint_eq(p.inner.proto, IPPROTO_ICMPV6);
	ck_assert_uint_eq(p.inner.icmp_type, 128);
	ck_assert_uint_eq(p.inner.has_ports, 1);
	expect_addr(p.inner.src, 6, "2000:1300::1");
	expect_addr(p.inner.dst, 6, "2000:1300::2");
	unload(&c);

	LOAD_OR_SKIP(&c, "zeek/ipv6-mobility-dst-opts.pcap");
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(parse_frame(&p, &c, 0, 0), PKT_FLOW);
	ck_assert_uint_eq(p.l4_off, 64);
	ck_assert_int_eq(parse_frame(&p, &c, 1, 0), PKT_MALFORMED);
	ck_assert_uint_eq(p.err, PKT_ERR_EXTHDR);
	unload(&c);
}
END_TEST

/* One file, one frame, one reason, checked by hand on the bytes. */
static void expect_malformed(const char *rel, size_t frame, enum pkt_err err)
{
	static struct capture c;
	struct pkt p;

	if (!load(rel, &c))
		return;
	ck_assert_int_eq(parse_frame(&p, &c, frame, 0), PKT_MALFORMED);
	ck_assert_msg(p.err == err, "%s frame %zu: %s, want %s", rel, frame + 1,
		      pkt_err_name(p.err), pkt_err_name(err));
	unload(&c);
}

START_TEST(kat_malformed)
{
	/* Version/IHL byte 0x44: a 16-byte header. */
	expect_malformed("tcpdump/ipv4_invalid_hdr_length.pcap", 0,
			 PKT_ERR_IHL);
	/* Total length 85 in a 70-byte packet. */
	expect_malformed("tcpdump/ipv4_invalid_total_length.pcap", 0,
			 PKT_ERR_LENGTH);
	/* Frames 2 and 4 say IP version 0 under ethertype 0x86dd. */
	expect_malformed("tcpdump/ipv6-bad-version.pcap", 1, PKT_ERR_VERSION);
	expect_malformed("tcpdump/ipv6-bad-version.pcap", 3, PKT_ERR_VERSION);
	/* Total length 40, TCP data offset 7 (28 bytes) in 20. */
	expect_malformed("pcapplusplus/PacketExamples/tcp-malformed.pcap", 0,
			 PKT_ERR_TCP_DOFF);
	/* 26 of 84 bytes captured: 6 bytes of the ICMP header. */
	expect_malformed("zeek/trunc/icmp-header-trunc.pcap", 0,
			 PKT_ERR_COPY_RANGE);
	/* 6 of 32 bytes captured: not even the IP header. */
	expect_malformed("zeek/trunc/ip4-trunc.pcap", 0, PKT_ERR_COPY_RANGE);
	/* Total length 0 (no TSO here). */
	expect_malformed("zeek/ip-bogus-header-len.pcap", 0, PKT_ERR_LENGTH);
}
END_TEST

/*
 * ndpi badpackets: 93 first fragments of DNS answers, each claiming a
 * total length of 1500 in a frame that holds less (the capture kept only
 * part of them, and says so by wirelen = caplen).
 */
START_TEST(kat_truncated_first_fragments)
{
	static struct capture c;
	struct pkt p;

	LOAD_OR_SKIP(&c, "ndpi/badpackets.pcap");
	ck_assert_uint_eq(c.n, 93);
	for (size_t i = 0; i < c.n; i++) {
		ck_assert_int_eq(parse_frame(&p, &c, i, 0), PKT_MALFORMED);
		ck_assert_uint_eq(p.err, PKT_ERR_LENGTH);
		ck_assert_uint_eq(p.family, 4);
	}
	unload(&c);
}
END_TEST

/* Run corpus file rel through run_file(). False (and a message saying the
 * test is skipped) if it is not there. */
static bool run_one(const char *rel, uint32_t max_flows, struct tally *t)
{
	char *path;
	bool ok;

	memset(t, 0, sizeof(*t));
	ck_assert(asprintf(&path, "%s/%s", corpus, rel) > 0);
	ok = access(path, R_OK) == 0;
	if (ok)
		run_file(path, max_flows, t);
	else
		printf("check_corpus: skipped: %s is not there\n", path);
	free(path);
	return ok;
}

/*
 * Flow counts that tshark's conversation tables give (SOURCES.md): every
 * TCP and UDP conversation is one flow.
 */
START_TEST(kat_engine_flow_counts)
{
	struct tally t;

	/* 1,994 half-open SYN flows. */
	if (run_one("ndpi/synscan.pcap", MAX_FLOWS, &t)) {
		ck_assert_uint_eq(t.packets, 2011);
		ck_assert_uint_eq(t.flows_created, 1994);
		ck_assert_uint_eq(t.table_full, 0);
	}
	/* 66 TCP and 70 UDP conversations, 4,631 packets. */
	if (run_one("pcapplusplus/PcapExamples/example.pcap", MAX_FLOWS, &t)) {
		ck_assert_uint_eq(t.packets, 4631);
		ck_assert_uint_eq(t.flows_created, 66 + 70);
	}
	/* 500 concurrent loopback connections, 82,582 packets. */
	if (run_one("zeek/echo-connections.pcap", MAX_FLOWS, &t)) {
		ck_assert_uint_eq(t.packets, 82582);
		ck_assert_uint_eq(t.flows_created, 500);
		ck_assert_uint_eq(t.kinds[PKT_FLOW], 82582);
	}
}
END_TEST

/*
 * ndpi synscan with room for 1,000 flows: 1,994 SYNs to distinct ports,
 * each of which opens a flow or is dropped because the table is full. The
 * RST answers (frames 14, 47, 118, 571, 1233) remove the flow they answer
 * at once (nothing came back before them), which frees a slot for a later
 * SYN, so more than 1,000 flows are created in all.
 */
START_TEST(kat_engine_table_full)
{
	struct tally t;
	bool ok;

	on_full = CONF_FULL_DROP;
	ok = run_one("ndpi/synscan.pcap", 1000, &t);
	on_full = CONF_FULL_EARLY_DROP;
	if (!ok)
		return;
	ck_assert_uint_eq(t.packets, 2011);
	ck_assert_uint_eq(t.flows_created + t.table_full, 1994);
	ck_assert_uint_gt(t.flows_created, 1000);
	ck_assert_uint_le(t.flows_created, 1005);
	ck_assert_uint_eq(t.evicted, 0);
	printf("check_corpus: synscan in 1,000 flows: %llu created, %llu "
	       "dropped for a full table\n",
	       (unsigned long long)t.flows_created,
	       (unsigned long long)t.table_full);
}
END_TEST

/* The same with on_full = early_drop: every SYN opens its flow, the
 * oldest half-open one making room, and none is refused. */
START_TEST(kat_engine_early_drop)
{
	struct tally t;

	if (!run_one("ndpi/synscan.pcap", 1000, &t))
		return;
	ck_assert_uint_eq(t.flows_created, 1994);
	ck_assert_uint_eq(t.table_full, 0);
	ck_assert_uint_ge(t.evicted, 994 - 5);
	ck_assert_uint_le(t.evicted, 994);
	printf("check_corpus: synscan in 1,000 flows, early_drop: %llu "
	       "created, %llu evicted, %llu dropped\n",
	       (unsigned long long)t.flows_created,
	       (unsigned long long)t.evicted, (unsigned long long)t.table_full);
}
END_TEST

/*
 * zeek smtp: 192.168.1.1 sends four "fragmentation needed" (3/4) about
 * the SMTP connection 10.10.1.4:1470 > 74.53.140.153:25 (frames 26, 28,
 * 29, 30); all four belong to it. 6 TCP and 2 UDP conversations.
 * zeek ipv6_zero_len_ah: two echo flows (ids 13398 and 0), one parameter
 * problem about the second, four neighbour discovery messages.
 */
START_TEST(kat_engine_icmp_related)
{
	static const size_t errs[] = { 25, 27, 28, 29 };
	static struct capture c;
	struct engine e;
	struct pkt p;

	LOAD_OR_SKIP(&c, "zeek/smtp.pcap");
	ck_assert_uint_eq(c.n, 125);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(parse_frame(&p, &c, errs[i], 0),
				 PKT_ICMP_ERROR);
		expect_addr(p.src, 4, "192.168.1.1");
		expect_addr(p.dst, 4, "10.10.1.4");
		ck_assert_uint_eq(p.icmp_type, 3);
		ck_assert_uint_eq(p.icmp_code, 4);
		ck_assert_uint_eq(p.inner.proto, IPPROTO_TCP);
		ck_assert_uint_eq(p.inner.has_ports, 1);
		expect_addr(p.inner.src, 4, "10.10.1.4");
		expect_addr(p.inner.dst, 4, "74.53.140.153");
		ck_assert_uint_eq(p.inner.sport, 1470);
		ck_assert_uint_eq(p.inner.dport, 25);
	}
	run_engine(&e, &c, 0);
	ck_assert_uint_eq(e.st.icmp_related, 4);
	ck_assert_uint_eq(e.st.invalid[INV_ICMP_ERROR_FLOW], 0);
	ck_assert_uint_eq(e.st.flows_created, 6 + 2);
	engine_destroy(&e);
	unload(&c);

	LOAD_OR_SKIP(&c, "zeek/ipv6_zero_len_ah.pcap");
	run_engine(&e, &c, 0);
	ck_assert_uint_eq(e.st.packets, 10);
	ck_assert_uint_eq(e.st.flows_created, 2);
	ck_assert_uint_eq(e.st.icmp_related, 1);
	ck_assert_uint_eq(e.st.untracked, 4);
	for (int i = 0; i < INV_REASON_COUNT; i++)
		ck_assert_uint_eq(e.st.invalid[i], 0);
	engine_destroy(&e);
	unload(&c);
}
END_TEST

static Suite *corpus_suite(void)
{
	Suite *s = suite_create("corpus");
	TCase *tc;

	tc = tcase_create("walk");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, whole_corpus, 0, ngroups);
	suite_add_tcase(s, tc);

	tc = tcase_create("known");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, kat_ipv4_tso);
	tcase_add_test(tc, kat_bigtcp);
	tcase_add_test(tc, kat_ipv4_fragments);
	tcase_add_test(tc, kat_ipv4_tiny_first_fragment);
	tcase_add_test(tc, kat_ipv6_fragments);
	tcase_add_test(tc, kat_ipv6_atomic_fragments);
	tcase_add_test(tc, kat_icmp_destunreach);
	tcase_add_test(tc, kat_icmp6_quoted_ext_headers);
	tcase_add_test(tc, kat_ipv6_ext_headers);
	tcase_add_test(tc, kat_malformed);
	tcase_add_test(tc, kat_truncated_first_fragments);
	tcase_add_test(tc, kat_engine_flow_counts);
	tcase_add_test(tc, kat_engine_table_full);
	tcase_add_test(tc, kat_engine_early_drop);
	tcase_add_test(tc, kat_engine_icmp_related);
	suite_add_tcase(s, tc);
	return s;
}

/* The top-level folders, sorted, then "." for the top level's files. */
static void find_groups(void)
{
	struct dirent **ents;
	int n = scandir(corpus, &ents, not_dot, alphasort);

	for (int i = 0; i < n; i++) {
		char *sub;
		struct stat st;

		if (asprintf(&sub, "%s/%s", corpus, ents[i]->d_name) > 0) {
			if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
			    ngroups < MAX_GROUPS - 1)
				groups[ngroups++] = strdup(ents[i]->d_name);
			free(sub);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	groups[ngroups++] = strdup(".");
}

int main(void)
{
	struct stat st;
	int failed;

	corpus = getenv("NFQT_CORPUS");
	if (!corpus || !*corpus)
		corpus = CORPUS_DIR;
	if (stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("check_corpus: skipped: no corpus at %s (it is not part "
		       "of a clone)\n",
		       corpus);
		return EXIT_SUCCESS;
	}
	find_groups();
	failed = tu_run(corpus_suite());
	for (int i = 0; i < ngroups; i++)
		free(groups[i]);
	return failed;
}
