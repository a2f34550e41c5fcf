// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * carrier.c - the BPF carrier's user-space half: load and pin the
 * programs and maps of carrier.bpf.c (linked in by carrier_obj.S), and
 * read and remove the flows' entries for the engine. See carrier.h.
 */
#include "carrier.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "carrier_map.h"

/* The object carrier.bpf.c compiles to, from carrier_obj.S. */
extern const char carrier_bpf_obj[];
extern const char carrier_bpf_obj_end[];

static const char *const prog_names[] = { "carry", "admit" };
static const char *const map_names[] = { "flows", "conf" };

struct carrier {
	int flows, conf; /* the maps' descriptors */
};

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* dir/name into buf; false when it does not fit. */
static bool pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len;
}

/* libbpf's own messages (a verifier's log among them) would go to
 * stderr, which the daemon does not read: the calls' errors say what
 * failed. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int carrier_unload(const char *dir, char *err, size_t errlen)
{
	static const char *const names[] = { "carry", "admit", "flows",
					     "conf" };
	char path[CARRIER_DIR_MAX + 16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!pin_path(path, sizeof(path), dir, names[i])) {
			say(err, errlen, "%s: path too long", dir);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			say(err, errlen, "cannot remove %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	if (rmdir(dir) < 0 && errno != ENOENT) {
		say(err, errlen, "cannot remove %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Were the maps pinned in dir before this load? */
static bool maps_pinned(const char *dir)
{
	char path[CARRIER_DIR_MAX + 16];

	return pin_path(path, sizeof(path), dir, "flows") &&
	       access(path, F_OK) == 0;
}

/*
 * One attempt: open the embedded object, size the flow map, point the
 * maps at their pins (libbpf reuses a pinned map whose type, sizes and
 * flags match, and fails on one that does not), load, pin the programs.
 */
static int load_once(const char *dir, uint32_t max_entries, char *err,
		     size_t errlen)
{
	char path[CARRIER_DIR_MAX + 16];
	struct bpf_object *obj;
	int rc = -1;

	obj = bpf_object__open_mem(
		carrier_bpf_obj,
		(size_t)(carrier_bpf_obj_end - carrier_bpf_obj), NULL);
	if (!obj) {
		say(err, errlen, "cannot open the BPF object: %s",
		    strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		struct bpf_map *m =
			bpf_object__find_map_by_name(obj, map_names[i]);

		if (!m || !pin_path(path, sizeof(path), dir, map_names[i]) ||
		    bpf_map__set_pin_path(m, path) < 0 ||
		    (i == 0 && bpf_map__set_max_entries(m, max_entries) < 0)) {
			say(err, errlen, "map %s: cannot set it up",
			    map_names[i]);
			goto out;
		}
	}
	if (bpf_object__load(obj) < 0) {
		say(err, errlen, "cannot load the BPF programs: %s",
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(obj, prog_names[i]);

		if (!p || !pin_path(path, sizeof(path), dir, prog_names[i]) ||
		    (unlink(path) < 0 && errno != ENOENT) ||
		    bpf_program__pin(p, path) < 0) {
			say(err, errlen, "cannot pin %s: %s", path,
			    strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	bpf_object__close(obj);
	return rc;
}

/* gid may enter dir; uid and gid read and write the maps. */
static int hand_over(const char *dir, uid_t uid, gid_t gid, char *err,
		     size_t errlen)
{
	char path[CARRIER_DIR_MAX + 16];

	if (gid == (gid_t)-1 && uid == (uid_t)-1)
		return 0;
	if (chown(dir, (uid_t)-1, gid) < 0 || chmod(dir, 0750) < 0) {
		say(err, errlen, "cannot give %s to the daemon: %s", dir,
		    strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 2; i++)
		if (!pin_path(path, sizeof(path), dir, map_names[i]) ||
		    chown(path, uid, gid) < 0 || chmod(path, 0660) < 0) {
			say(err, errlen, "cannot give %s to the daemon: %s",
			    path, strerror(errno));
			return -1;
		}
	return 0;
}

int carrier_load(const char *dir, uint32_t max_entries, bool fresh, uid_t uid,
		 gid_t gid, char *err, size_t errlen)
{
	bool kept;

	if (strlen(dir) >= CARRIER_DIR_MAX || strchr(dir, '.')) {
		/* libbpf takes a dot in a pin path for an underscore. */
		say(err, errlen,
		    "%s: not a usable directory name (at most %d "
		    "bytes, no dot)",
		    dir, CARRIER_DIR_MAX - 1);
		return -1;
	}
	libbpf_set_print(quiet);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		say(err, errlen, "cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fresh && carrier_unload(dir, err, errlen) < 0)
		return -1;
	if (fresh && mkdir(dir, 0700) < 0) {
		say(err, errlen, "cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	kept = maps_pinned(dir);
	if (load_once(dir, max_entries, err, errlen) < 0) {
		if (!kept)
			return -1;
		/* An earlier run's maps that do not fit (another size, an
		 * older layout): replaced. */
		if (carrier_unload(dir, err, errlen) < 0 ||
		    mkdir(dir, 0700) < 0 ||
		    load_once(dir, max_entries, err, errlen) < 0)
			return -1;
		kept = false;
	}
	if (hand_over(dir, uid, gid, err, errlen) < 0)
		return -1;
	return kept ? 0 : 1;
}

/* fd's key and value sizes are the ones this build uses. */
static bool map_fits(int fd, uint32_t key_size, uint32_t value_size)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       info.key_size == key_size && info.value_size == value_size;
}

struct carrier *carrier_open(const char *dir, char *err, size_t errlen)
{
	static const uint32_t sizes[2][2] = {
		{ sizeof(struct carrier_key), sizeof(struct carrier_flow) },
		{ sizeof(uint32_t), sizeof(struct carrier_conf) },
	};
	char path[CARRIER_DIR_MAX + 16];
	struct carrier *c;
	int fd[2] = { -1, -1 }, e;

	for (size_t i = 0; i < 2; i++) {
		if (!pin_path(path, sizeof(path), dir, map_names[i])) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		fd[i] = bpf_obj_get(path);
		if (fd[i] < 0)
			goto fail;
		if (!map_fits(fd[i], sizes[i][0], sizes[i][1])) {
			errno = EPROTO;
			goto fail;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->flows = fd[0];
	c->conf = fd[1];
	return c;
fail:
	e = errno;
	say(err, errlen, "cannot open %s: %s", path,
	    e == EPROTO ? "a map of another layout (load it again)" :
			  strerror(e));
	for (size_t i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	errno = e;
	return NULL;
}

void carrier_close(struct carrier *c)
{
	if (!c)
		return;
	close(c->flows);
	close(c->conf);
	free(c);
}

int carrier_configure(struct carrier *c, const struct fastpath_params *p,
		      bool on)
{
	const uint64_t s = 1000000000ull;
	struct carrier_conf v;
	uint32_t zero = 0;

	memset(&v, 0, sizeof(v));
	v.timeout_ns[CARRIER_OPEN] = p->timeout_open * s;
	v.timeout_ns[CARRIER_EST] = p->timeout_established * s;
	v.timeout_ns[CARRIER_CLOSING] = p->timeout_closing * s;
	v.timeout_ns[CARRIER_CLOSE] = p->timeout_close * s;
	v.timeout_ns[CARRIER_UDP] = p->timeout_udp * s;
	v.flags = (on ? CARRIER_F_ON : 0) |
		  (p->accounting ? CARRIER_F_ACCOUNTING : 0) |
		  (p->udp ? CARRIER_F_UDP : 0);
	return bpf_map_update_elem(c->conf, &zero, &v, BPF_ANY);
}

/* Direction dir of t (0: as the original direction's packets have it)
 * as the map's key. */
static void make_key(const struct fastpath_tuple *t, int dir,
		     struct carrier_key *k)
{
	size_t alen = t->family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->src, dir ? t->dst : t->src, alen);
	memcpy(k->dst, dir ? t->src : t->dst, alen);
	k->sport = htons(dir ? t->dport : t->sport);
	k->dport = htons(dir ? t->sport : t->dport);
	k->proto = t->proto;
	k->family = t->family;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An entry as the engine reads the sets' elements. */
static void elem_of(const struct carrier_flow *v, const struct carrier_conf *cf,
		    uint64_t now, struct fastpath_elem *e)
{
	static const uint8_t set_of[CARRIER_STATES] = {
		[CARRIER_OPEN] = FP_SET_EST,
		[CARRIER_EST] = FP_SET_EST,
		[CARRIER_CLOSING] = FP_SET_CLOSE,
		[CARRIER_CLOSE] = FP_SET_CLOSE,
		[CARRIER_UDP] = FP_SET_UDP,
	};
	uint64_t age, tmo;

	memset(e, 0, sizeof(*e));
	if (v->state >= CARRIER_STATES)
		return;
	tmo = cf->timeout_ns[v->state];
	/* A packet on another CPU may have written its time after ours
	 * was read. */
	age = now > v->last_ns ? now - v->last_ns : 0;
	if (age > tmo)
		return;
	e->set = set_of[v->state];
	e->timeout_ms = (uint32_t)(tmo / 1000000);
	e->expires_ms = (uint32_t)((tmo - age) / 1000000);
	e->packets = v->packets;
	e->bytes = v->bytes;
}

int carrier_query(struct carrier *c, const struct fastpath_tuple *t,
		  unsigned int n, bool reset, struct fastpath_flow *out)
{
	struct fastpath_flow got[FASTPATH_BATCH_MAX];
	struct carrier_conf cf;
	uint32_t zero = 0;
	uint64_t now;

	if (reset) {
		/* Read and zeroed at once would need the packet path's
		 * atomics from user space; the engine asks only with
		 * accounting, which this carrier does not offer yet. */
		errno = EOPNOTSUPP;
		return -1;
	}
	if (n > FASTPATH_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (bpf_map_lookup_elem(c->conf, &zero, &cf) < 0)
		return -1;
	now = monotonic_ns();
	for (unsigned int i = 0; i < n; i++)
		for (int d = 0; d < 2; d++) {
			struct carrier_key k;
			struct carrier_flow v;

			make_key(&t[i], d, &k);
			if (bpf_map_lookup_elem(c->flows, &k, &v) < 0) {
				if (errno != ENOENT)
					return -1;
				memset(&got[i].dir[d], 0,
				       sizeof(got[i].dir[d]));
				continue;
			}
			elem_of(&v, &cf, now, &got[i].dir[d]);
		}
	memcpy(out, got, n * sizeof(*out));
	return 0;
}

int carrier_forget(struct carrier *c, const struct fastpath_tuple *t,
		   unsigned int n)
{
	struct carrier_key keys[2 * FASTPATH_BATCH_MAX];
	uint32_t total = 2 * n, done = 0;

	if (n > FASTPATH_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (unsigned int i = 0; i < n; i++)
		for (int d = 0; d < 2; d++)
			make_key(&t[i], d, &keys[2 * i + d]);
	/* One call for the lot; the kernel stops at a key that is not
	 * there (count: those before it), which is skipped. */
	while (done < total) {
		uint32_t count = total - done;

		if (bpf_map_delete_batch(c->flows, &keys[done], &count, NULL) ==
		    0)
			break;
		if (errno != ENOENT)
			return -1;
		done += count + 1;
	}
	return 0;
}

int carrier_flush(struct carrier *c)
{
	struct carrier_key keys[1024];
	struct carrier_flow vals[1024];
	struct carrier_key in, next;
	bool first = true;

	/* Taken out in batches of 1024, to the end of the map (ENOENT). */
	for (;;) {
		uint32_t count = 1024;
		int rc = bpf_map_lookup_and_delete_batch(c->flows,
							 first ? NULL : &in,
							 &next, keys, vals,
							 &count, NULL);

		if (rc < 0 && errno != ENOENT)
			return -1;
		if (rc < 0)
			return 0;
		in = next;
		first = false;
	}
}
