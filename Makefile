# nfqtrack - userspace connection tracking over NFQUEUE.
#
#   make                 build src/nfqtrackd and src/nfqtrackctl
#   make check           install missing packages, build, run every test
#                        (among them check-valgrind: nfqtrackd --replay
#                        under valgrind's memcheck, tests/scripts/valgrind.sh;
#                        check-fastpath: the limit tests with fastpath = yes,
#                        with each carrier)
#   make demo            install missing packages, build, show it working
#   make bench           install missing packages, build, measure: packets/s
#                        and CPU per packet of no queue, an accept-all loop
#                        and nfqtrackd side by side, nfqtrackd also in
#                        verdict_mode mark and repeat; drain rate; the engine
#                        alone at 1k-10M flows against DRAM latency; bytes
#                        per flow; callgrind instructions per packet; corpus
#                        replay (tests/bench/run.sh; RUNS, SECS, FLOWS,
#                        SIZES, CASES, DAEMON_CONF_EXTRA; not part of check)
#   make soak            install missing packages, build, run nfqtrackd for
#                        SOAK_SECONDS (600) of mixed traffic against a full
#                        table, sampling RSS, fds and counters every 10 s
#                        (tests/soak/soak.sh; not part of check)
#   make SAN=1 check     the same with AddressSanitizer and UBSan
#   make SAN=thread ...  the same with ThreadSanitizer
#   make fuzz            install missing packages, build the libFuzzer targets
#                        in tests/fuzz with clang (ASan, UBSan; their own
#                        objects in tests/fuzz/build, never mixed with gcc's)
#                        and run each for FUZZ_SECONDS (60) from its seeds,
#                        one after the other; a summary per target; crash
#                        inputs are kept and named. make check runs them for
#                        a few seconds each (check-fuzz)
#   make check-san       unit and integration tests and the corpus replay
#                        under AddressSanitizer and UBSan, any report
#                        fatal (CI runs it after check: .ci/run)
#   make check-tsan      unit tests and the threaded integration tests (a
#                        thread per queue: queues = 0-1) under
#                        ThreadSanitizer (SAN=thread), any race fatal; known
#                        ones named in tests/tsan.supp (CI runs it after
#                        check-san)
#   make check-systemd   as root: deploy it in a Debian 12 container booted
#                        with systemd (nspawn, cached debootstrap tree):
#                        the README's walkthrough as written, the unit's
#                        start, status, journal, reload, watchdog, stop and
#                        a reboot; the .deb installed and purged
#                        (tests/systemd/run.sh; CI runs it after check-tsan)
#   make install         PREFIX, DESTDIR, SYSCONFDIR, SBINDIR, MANDIR, UNITDIR,
#                        SYSUSERSDIR; without DESTDIR, also creates the user
#   make user            create the system user and group nfqtrack if missing
#   make deb             install missing packages, build the Debian package
#                        (debian/, dpkg-buildpackage -us -uc -b on a copy of
#                        the tree) into build/deb/, check it with lintian
#   make V=1             show the commands

VERSION    := 0.1.0

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
# systemd reads units and sysusers.d files under /usr/local/lib as well as
# /usr/lib (and /etc), so both follow PREFIX.
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
RUNSTATEDIR ?= /run
DESTDIR    ?=

CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wpointer-arith -Wformat=2 -Wundef -Wvla -Wcast-align
ifeq ($(WERROR),1)
WARN       += -Werror
endif
HARDEN     := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ifeq ($(SAN),1)
CFLAGS     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
HARDEN     := -fPIE
LDFLAGS    += -fsanitize=address,undefined
# Any report ends the program with a failure: UBSan's are fatal by the flag
# above and by halt_on_error; ASan's always are, and leaks count.
export ASAN_OPTIONS ?= detect_leaks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif
ifeq ($(SAN),thread)
CFLAGS     := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
HARDEN     := -fPIE
LDFLAGS    += -fsanitize=thread
# Any data race ends the program with a failure (exit 66); the known ones,
# each named and explained, are in tests/tsan.supp.
export TSAN_OPTIONS ?= halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$(abspath tests/tsan.supp)
endif
CPPFLAGS   += -Iinclude -DVERSION='"$(VERSION)"' \
              -DSYSCONFDIR='"$(SYSCONFDIR)"' -DRUNSTATEDIR='"$(RUNSTATEDIR)"'
ALL_CFLAGS := -std=gnu11 -pthread $(WARN) $(HARDEN) $(CFLAGS) -MMD -MP
LDFLAGS    += -pie -Wl,-z,relro,-z,now
LIBS_NFQ   := -lnetfilter_queue -lmnl
# The fast path: its table through libnftables, its elements over libmnl.
LIBS_NFT    = $(shell pkg-config --libs libnftables 2>/dev/null || echo -lnftables) -lmnl
LIBS_CHECK  = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)
# The BPF carrier (fastpath_carrier = bpf): its kernel half compiled by
# clang for BPF (the asm/ headers are under the multiarch directory) and
# linked into nfqtrackd whole (src/carrier_obj.S); its user half on libbpf.
BPF_CC     ?= clang
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Iinclude \
              -I/usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)
CARRIER_OBJS := src/carrier.o src/carrier_obj.o
LIBS_BPF   := -lbpf

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# The pure core: packets to verdicts, no configuration parser, no threads,
# no stdio (check-format checks what its files include:
# tests/scripts/layering.sh).
# Headers of its own beyond its modules': timeout.h, params.h, and
# fastpath.h for its types (the engine reaches the kernel through
# callbacks; src/fastpath.c and src/fastpathnl.c are the daemon's).
CORE       := hash slab prefix flow source pkt tcp sctp defrag proto policy \
              engine enginelife enginefast group flowevent
CORE_HDRS  := timeout params fastpath
# What the daemon, the CLI, the tests and the fuzzers link beside it: the
# configuration and its translation to parameters, logging, reports,
# control protocol, listings, replay, metrics, threads, state marks.
SUPPORT    := conf params mutex log report droplog ctl ctlclient dump replay metrics \
              pause mark evhub evsub ipfix export
CORE_OBJS  := $(CORE:%=src/%.o) $(SUPPORT:%=src/%.o)
DAEMON_OBJS := src/nfqtrackd.o src/daemon.o src/worker.o src/ctlcmd.o \
               src/reload.o src/replaycli.o src/cmdtab.o src/queue.o \
               src/privs.o src/notify.o src/http.o src/fastpath.o \
               src/fastpathnl.o src/carrierrule.o src/learn.o $(CARRIER_OBJS)
CTL_OBJS   := src/nfqtrackctl.o src/cmdtab.o
LIB        := src/libnfqtrack.a

UNIT_TESTS := $(patsubst tests/unit/%.c,tests/bin/%,$(wildcard tests/unit/check_*.c))
TOOLS      := tests/bin/flowgen tests/bin/ctlsend tests/bin/pcap2wire \
              tests/bin/fpkernel
BENCH_BINS := tests/bin/flowgen tests/bin/bench_bare tests/bin/engine_bench \
              tests/bin/bench_ringreader
# The one traffic tool: real TCP and UDP, the bench's load, floods.
FLOWGEN_SRCS := $(wildcard tests/tools/flowgen/*.c)

ALL_OBJS   := $(CORE_OBJS) $(DAEMON_OBJS) $(CTL_OBJS)

# Debian packages: to build, and to run the tests, the demo and the
# benchmarks.
DEB_BUILD  := gcc libc6-dev make pkg-config libmnl-dev libnetfilter-queue-dev \
              libnfnetlink-dev check libpcap-dev libmicrohttpd-dev libsystemd-dev \
              libcap-ng-dev libnftables-dev clang libbpf-dev
# nfdump (nfcapd) and pmacct (nfacctd): the IPFIX collectors of
# tests/integ/33-ipfix.sh.
DEB_TEST   := iptables iproute2 iputils-ping rsyslog procps clang-format python3 \
              man-db groff-base tcpreplay conntrack curl python3-prometheus-client \
              python3-scapy nftables bpftool \
              systemd valgrind libclang-rt-14-dev nfdump pmacct
# The real software of make bench's web and bulk rows (tests/bench/run.sh
# runs its own instances, in its namespaces, and stops them); bpftool
# loads the xb and xr cases' BPF program (clang and libbpf-dev, which
# build it and xr's reader, are in DEB_BUILD; bpftool is in DEB_TEST too:
# tests/integ/34-fastpath-bpf.sh reads the BPF carrier's map with it).
DEB_BENCH  := nginx wrk iperf3 bpftool
# To build the Debian package (make deb) and check it.
DEB_PKG    := build-essential dpkg-dev debhelper lintian
CORPUS     ?= $(abspath ../shared/corpus)
# The systemd test bed's host tools; its container gets DEB_BUILD and
# DEB_PKG, for make and make deb as the README has them.
DEB_BED    := systemd-container debootstrap

# The fuzz targets: clang with libFuzzer, ASan and UBSan, over the core
# compiled again into FUZZ_DIR (gcc's objects and flags stay out of it).
FUZZ_CC    ?= clang
FUZZ_CFLAGS := -std=gnu11 $(WARN) -g -O1 -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_DIR   := tests/fuzz/build
FUZZ_NAMES := packets conf ctl pcap ipfix
FUZZ_BINS  := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIB   := $(FUZZ_DIR)/libnfqtrack.a
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 5

.PHONY: all deps user check check-unit check-conf check-docs check-format \
        check-integration check-fastpath check-replay check-valgrind check-agree \
        check-fuzz check-san check-tsan check-integration-threaded check-systemd fuzz \
        fuzz-bins soak demo bench bench-deps install uninstall clean deb deb-deps FORCE

all: src/nfqtrackd src/nfqtrackctl

# Rebuild everything when the flags change (SAN=1 and back).
src/.cflags: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS)' > $@

src/%.o: src/%.c src/.cflags
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(LIB): $(CORE_OBJS) Makefile
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $(CORE_OBJS)

src/nfqtrackd: $(DAEMON_OBJS) $(LIB)
	$(call say,LD,$@)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_NFQ) -lpcap \
		-lcap-ng -lsystemd -lmicrohttpd $(LIBS_NFT) $(LIBS_BPF)

src/nfqtrackctl: $(CTL_OBJS) $(LIB)
	$(call say,LD,$@)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

tests/bin/check_%: tests/unit/check_%.c tests/unit/testutil.h tests/unit/enginetest.h tests/unit/ipfixdec.h $(LIB) src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -Itests/unit $(LDFLAGS) \
		-DCORPUS_DIR='"$(CORPUS)"' -o $@ $< $(LIB) $(LIBS_CHECK) -lpcap

# queue.c against a fake kernel: its netlink calls are wrapped by the test.
QUEUE_WRAP := mnl_socket_open2 mnl_socket_bind mnl_socket_get_fd \
              mnl_socket_get_portid mnl_socket_setsockopt mnl_socket_close \
              mnl_socket_sendto recvmmsg setsockopt
tests/bin/check_queue: tests/unit/check_queue.c tests/unit/testutil.h src/queue.o src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -Itests/unit $(LDFLAGS) \
		$(QUEUE_WRAP:%=-Wl,--wrap=%) -o $@ $< src/queue.o $(LIBS_NFQ) \
		$(LIBS_CHECK)

src/carrier.bpf.o: src/carrier.bpf.c include/carrier_map.h
	$(call say,BPF,$@)$(BPF_CC) $(BPF_CFLAGS) -c -o $@ $<

src/carrier_obj.o: src/carrier_obj.S src/carrier.bpf.o
	$(call say,AS,$@)$(CC) -c -o $@ $<

# The BPF carrier against the real kernel's BPF (loads it: as root).
tests/bin/check_carrier: tests/unit/check_carrier.c tests/unit/testutil.h $(CARRIER_OBJS) $(LIB) src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -Itests/unit $(LDFLAGS) \
		-o $@ $< $(CARRIER_OBJS) $(LIB) $(LIBS_BPF) $(LIBS_CHECK)

# The fast path's text against its module (which links libnftables).
tests/bin/check_fastpath: tests/unit/check_fastpath.c tests/unit/testutil.h src/fastpath.o $(LIB) src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -Itests/unit $(LDFLAGS) \
		-o $@ $< src/fastpath.o $(LIB) $(LIBS_NFT) $(LIBS_CHECK)

# The fast path against the real kernel (tests/integ/29-fastpath-kernel.sh).
tests/bin/fpkernel: tests/tools/fpkernel.c src/fastpath.o src/fastpathnl.o $(LIB) src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< \
		src/fastpath.o src/fastpathnl.o $(LIB) $(LIBS_NFT)

tests/bin/pcap2wire: tests/tools/pcap2wire.c $(LIB) src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< \
		$(LIB) -lpcap

tests/bin/%: tests/tools/%.c src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<

# Its dependencies are all written here: no .d file (one from when it
# was a single tests/tools/flowgen.c would name a file now gone).
tests/bin/flowgen: $(FLOWGEN_SRCS) tests/tools/flowgen/flowgen.h src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) \
		$(CPPFLAGS) $(LDFLAGS) -o $@ $(FLOWGEN_SRCS)

tests/bin/bench_bare: tests/bench/bare.c src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< \
		$(LIBS_NFQ)

# make bench's xr case (libbpf-dev: DEB_BUILD).
tests/bin/bench_ringreader: tests/bench/ringreader.c src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< \
		$$(pkg-config --libs libbpf)

tests/bin/engine_bench: tests/bench/engine_bench.c $(LIB) src/.cflags
	@mkdir -p tests/bin
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< \
		$(LIB)

$(FUZZ_DIR)/.cflags: FORCE
	@mkdir -p $(FUZZ_DIR)
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS) $(CPPFLAGS)' | cmp -s - $@ || \
		echo '$(FUZZ_CC) $(FUZZ_CFLAGS) $(CPPFLAGS)' > $@

$(FUZZ_DIR)/%.o: src/%.c $(FUZZ_DIR)/.cflags
	$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-MMD -MP $(CPPFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(CORE:%=$(FUZZ_DIR)/%.o) $(SUPPORT:%=$(FUZZ_DIR)/%.o) Makefile
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $(CORE:%=$(FUZZ_DIR)/%.o) \
		$(SUPPORT:%=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $(FUZZ_DIR)/.cflags
	$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP \
		$(CPPFLAGS) -Itests/unit -o $@ $< $(FUZZ_LIB) -lpcap

fuzz-bins: $(FUZZ_BINS)

# install_missing PACKAGES: apt-get install those not installed yet.
define install_missing
@missing=; for p in $(1); do \
		dpkg-query -W -f='$${db:Status-Status}\n' $$p 2>/dev/null | \
			grep -qx installed || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "$@: missing Debian packages:$$missing (run as root to install)" >&2; \
			exit 1; \
		fi; \
		echo "$@: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing \
			>/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEB_BUILD) $(DEB_TEST))

bench-deps:
	$(call install_missing,$(DEB_BENCH))

deb-deps:
	$(call install_missing,$(DEB_BUILD) $(DEB_PKG))

# The user and group nfqtrackd runs as (systemd/nfqtrack.sysusers), made if
# missing: by systemd-sysusers from that file where there is one, else by
# useradd with the same fields. Never removed: files may carry its IDs.
user:
	@if getent passwd nfqtrack >/dev/null && getent group nfqtrack >/dev/null; then \
		:; \
	elif command -v systemd-sysusers >/dev/null; then \
		echo "user: creating system user and group nfqtrack (systemd-sysusers)"; \
		systemd-sysusers $(abspath systemd/nfqtrack.sysusers); \
	else \
		echo "user: creating system user and group nfqtrack (useradd)"; \
		if getent group nfqtrack >/dev/null; then g="-g nfqtrack"; \
		else g=--user-group; fi; \
		useradd --system $$g --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin \
			--comment "nfqtrack connection tracking daemon" nfqtrack; \
	fi

check: deps user
	$(MAKE) --no-print-directory all $(UNIT_TESTS) $(TOOLS)
	$(MAKE) --no-print-directory check-format check-unit check-conf \
		check-docs check-integration check-fastpath check-replay \
		check-valgrind check-agree check-fuzz

# The unit tests, the integration tests and the corpus replay again under
# AddressSanitizer and UBSan (CI runs it after check). src/.cflags changes
# with SAN, so every object and test binary is rebuilt on the way in, and
# again by the next plain make.
check-san: deps user
	$(MAKE) --no-print-directory SAN=1 all $(UNIT_TESTS) $(TOOLS)
	$(MAKE) --no-print-directory SAN=1 check-unit check-integration \
		check-replay

# The unit tests and the integration tests that run a thread per queue
# under ThreadSanitizer (CI runs it after check-san). Those with queues of
# their own (pinning, two tables, reload and control across them) as they
# are; the reload storm and the control walks with QUEUES=0-1, which puts
# their traffic and config on two queues. Not the floods: their figures
# time the packet path, which TSan slows some tenfold.
TSAN_INTEG := 14-privileges.sh 21-multiqueue.sh
TSAN_INTEG_2Q := 18-hup-storm.sh 24-ctl-walk.sh
check-tsan: deps user
	$(MAKE) --no-print-directory SAN=thread all $(UNIT_TESTS) $(TOOLS)
	$(MAKE) --no-print-directory SAN=thread check-unit \
		check-integration-threaded

check-integration-threaded: all $(TOOLS)
	@echo "== threaded integration tests (two queues, a thread each)"
	@tests/integ/run.sh $(TSAN_INTEG) && \
		QUEUES=0-1 tests/integ/run.sh $(TSAN_INTEG_2Q)

# nfqtrack deployed under a real systemd, in a container (CI runs it after
# check-tsan). It builds in the container, from a copy of the clone, as
# the README has an admin do: make install, then make deb.
check-systemd:
	$(call install_missing,$(DEB_BED))
	@echo "== systemd test bed (a Debian 12 container booted with systemd)"
	@NFQ_BUILD_PACKAGES="$(DEB_BUILD) $(DEB_PKG)" timeout -k 120 3600 tests/systemd/run.sh

check-format:
	@echo "== clang-format"
	@out=$$(clang-format --dry-run $(wildcard src/*.c include/*.h tests/unit/*.c \
		tests/unit/*.h tests/tools/*.c tests/tools/flowgen/*.[ch] \
		tests/bench/*.c tests/fuzz/*.c) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; \
		echo "clang-format: run 'clang-format -i' on the files above" >&2; exit 1; fi; \
	echo "formatting OK"
	@echo "== core layering"
	@tests/scripts/layering.sh "$(CORE)" "$(CORE_HDRS)"

check-unit: $(UNIT_TESTS)
	@echo "== unit tests (Check)"
	@fail=0; for t in $(UNIT_TESTS); do \
		CK_DEFAULT_TIMEOUT=60 ./$$t || fail=1; \
	done; exit $$fail

check-conf: src/nfqtrackd
	@echo "== configuration golden files"
	@tests/conf/run.sh src/nfqtrackd tests/conf

check-docs: src/nfqtrackd
	@echo "== documentation"
	@tests/scripts/docs.sh src/nfqtrackd

check-integration: all $(TOOLS)
	@echo "== integration tests (real NFQUEUE in network namespaces)"
	@tests/integ/run.sh

# The limit tests and the firewall agreement again with the kernel fast
# path on (NFQT_FASTPATH=1: fastpath = yes in their configs, queue rules
# that skip SEEN as the shipped ones do; tests/integ/lib.sh), with each
# carrier (NFQT_CARRIER=bpf: fastpath_carrier = bpf), the BPF carrier's
# run with admission in the kernel (NFQT_KADMIT=1: fastpath_kernel_admit
# = yes), which sends the SYNs over its budget to the daemon as the key
# off does with every SYN. The fast path's own tests (29-, 30-, 31-,
# 34-, 35-fastpath*) are in check-integration.
FASTPATH_INTEG := 02-table-limit.sh 07-syn-flood.sh 08-udp-flood.sh \
		  09-policies.sh 10-time-wait.sh 27-firewall-agreement.sh
check-fastpath: all $(TOOLS)
	@echo "== limit and agreement tests with the fast path on"
	@NFQT_FASTPATH=1 tests/integ/run.sh $(FASTPATH_INTEG)
	@echo "== the same with the BPF carrier and admission in the kernel"
	@NFQT_FASTPATH=1 NFQT_CARRIER=bpf NFQT_KADMIT=1 tests/integ/run.sh \
		$(FASTPATH_INTEG)

check-replay: all
	@echo "== replay of every capture in the corpus"
	@CORPUS=$(CORPUS) tests/scripts/replay-corpus.sh

check-valgrind: all
	@echo "== valgrind memcheck on nfqtrackd --replay"
	@CORPUS=$(CORPUS) tests/scripts/valgrind.sh

check-agree: all $(TOOLS)
	@echo "== agreement with the kernel's conntrack on the same packets"
	@CORPUS=$(CORPUS) tests/agree/run.sh

# Without libFuzzer (libclang-rt-14-dev) these say so and pass: the
# fuzzers are a test of their own, not a build requirement.
check-fuzz:
	@echo "== fuzz targets (seeds, regressions, $(FUZZ_CHECK_SECONDS) s each)"
	@if why=$$(tests/fuzz/run.sh probe $(FUZZ_CC)); then \
		$(MAKE) --no-print-directory fuzz-bins && \
		CORPUS=$(CORPUS) tests/fuzz/run.sh check $(FUZZ_DIR) \
			$(FUZZ_CHECK_SECONDS) $(FUZZ_NAMES); \
	else echo "check-fuzz skipped: $$why"; fi

fuzz: deps
	@if why=$$(tests/fuzz/run.sh probe $(FUZZ_CC)); then \
		$(MAKE) --no-print-directory fuzz-bins && \
		CORPUS=$(CORPUS) tests/fuzz/run.sh fuzz $(FUZZ_DIR) \
			$(FUZZ_SECONDS) $(FUZZ_NAMES); \
	else echo "fuzz skipped: $$why"; exit 1; fi

# Not part of check: SOAK_SECONDS (600) of mixed traffic against a table
# held full; the daemon's memory, descriptors and counters sampled.
SOAK_SECONDS ?= 600
soak: deps user
	$(MAKE) --no-print-directory all $(TOOLS)
	@echo "== soak: $(SOAK_SECONDS) s against a full table (tests/soak/soak.sh)"
	@SOAK_SECONDS=$(SOAK_SECONDS) tests/soak/soak.sh

demo: deps user
	$(MAKE) --no-print-directory all $(TOOLS)
	@tests/scripts/demo.sh

# Figures, not pass or fail: the network part needs root (namespaces);
# results also go to tests/bench/results/.
bench: deps bench-deps
	$(MAKE) --no-print-directory all $(BENCH_BINS)
	@CORPUS=$(CORPUS) tests/bench/run.sh

# Files in SYSCONFDIR/nfqtrack that the admin edits: installed when missing,
# never overwritten; uninstalled only when unchanged. Executable ones (ufw's
# before.init) keep their x bit.
ETC_FILES  := conf/nfqtrack.conf conf/nfqtrack.rules conf/nfqtrack6.rules \
	      conf/nfqtrack-stateful.rules conf/nfqtrack6-stateful.rules \
	      conf/ufw/before.init conf/ufw/before.rules.sed

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/nfqtrack
	install -m 0755 src/nfqtrackd src/nfqtrackctl $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/nfqtrackd.8 man/nfqtrackctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/nfqtrack.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|/usr/local/sbin|$(SBINDIR)|g' systemd/nfqtrack.service > \
		$(DESTDIR)$(UNITDIR)/nfqtrack.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/nfqtrack.service
	install -m 0644 systemd/nfqtrack.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/nfqtrack.conf
	@for f in $(ETC_FILES); do \
		t=$(DESTDIR)$(SYSCONFDIR)/nfqtrack/$${f#conf/}; \
		if [ -e $$t ]; then echo "keeping the existing $$t"; \
		else m=0644; [ -x $$f ] && m=0755; \
			echo "install -D -m $$m $$f $$t"; install -D -m $$m $$f $$t || exit 1; fi; \
	done
	@if [ -z "$(DESTDIR)" ]; then $(MAKE) --no-print-directory user; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/nfqtrackd $(DESTDIR)$(SBINDIR)/nfqtrackctl \
		$(DESTDIR)$(MANDIR)/man8/nfqtrackd.8 \
		$(DESTDIR)$(MANDIR)/man8/nfqtrackctl.8 \
		$(DESTDIR)$(MANDIR)/man5/nfqtrack.conf.5 \
		$(DESTDIR)$(UNITDIR)/nfqtrack.service \
		$(DESTDIR)$(SYSUSERSDIR)/nfqtrack.conf
	@for f in $(ETC_FILES); do \
		t=$(DESTDIR)$(SYSCONFDIR)/nfqtrack/$${f#conf/}; \
		if [ -e $$t ] && cmp -s $$t $$f; then rm -f $$t; \
		elif [ -e $$t ]; then echo "keeping $$t: it was changed"; fi; \
	done; \
	rmdir $(DESTDIR)$(SYSCONFDIR)/nfqtrack/ufw $(DESTDIR)$(SYSCONFDIR)/nfqtrack \
		2>/dev/null || true

# The Debian package, built from a copy of the tree (what git tracks plus
# what it does not ignore; the whole tree outside git) in DEB_DIR, where
# dpkg-buildpackage leaves the .deb, .buildinfo and .changes beside it:
# nothing is written outside the tree. lintian must find no error and no
# warning.
DEB_DIR    := build/deb
DEB_SRC    := $(DEB_DIR)/nfqtrack-$(VERSION)

deb: deb-deps
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			tar --null -T - --ignore-failed-read -cf - | \
			tar -xf - -C $(DEB_SRC); \
	else \
		tar --exclude=./build --exclude-vcs -cf - . | tar -xf - -C $(DEB_SRC); \
	fi
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning --info $(DEB_DIR)/nfqtrack_$(VERSION)_*.changes
	@echo "deb: $$(ls $(DEB_DIR)/nfqtrack_$(VERSION)_*.deb)"

clean:
	rm -rf src/*.o src/*.d src/.cflags $(LIB) src/nfqtrackd src/nfqtrackctl \
		tests/bin tests/out $(FUZZ_DIR) build

-include $(ALL_OBJS:.o=.d) $(filter-out tests/bin/flowgen.d,$(wildcard tests/bin/*.d)) \
	$(wildcard $(FUZZ_DIR)/*.d)
