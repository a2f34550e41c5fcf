#!/bin/bash
# make bench: every figure in one run, printed as one table.
#
# Network (needs root): a generator namespace sends UDP to a receiver
# namespace over a veth pair; the receiver's INPUT queues it to NFQUEUE 0
# (--queue-bypass, as deployed; no conntrack in these namespaces). For
# each FLOWS x SIZES configuration, RUNS rounds of, interleaved so that
# the machine's drifts spread over all of them alike:
#   a  no queue: what the kernel alone delivers
#   b  tests/bin/bench_bare, an accept-all loop with batch verdicts
#   c  src/nfqtrackd, full tracking (the bench config below)
#   cm c with verdict_mode = mark: the queue rule in mangle INPUT skipping
#      marked packets, each accept carrying the state mark
#   cr c with verdict_mode = repeat: the queue rule in filter INPUT
#      skipping marked packets, each packet NF_REPEATed with its mark and
#      taken through the chain again (in the verdict's system call, so on
#      the consumer's CPU time, as the rest of its delivery is)
# with the same load (tests/bin/flowgen tx for SECS seconds), generator on
# GEN_CPU, consumer on CONS_CPU, receiver on RX_CPU. Figures are medians.
# A consumer's packets are the queue's id_sequence (the namespace's
# /proc/net/netfilter/nfnetlink_queue) less user_dropped; its CPU is
# utime + stime from /proc/PID/stat over the load, startup excluded.
# Drain: b and c stopped (SIGSTOP) while DRAIN_N packets queue up, then
# resumed; verdicts/s is the receiver's rate while they drain (b, c, and
# with cm and cr among the cases, c in mark and repeat mode). Case mq
# drains the same way with nfqtrackd on two queues (queues = 0-1, threads
# pinned, iptables --queue-balance 0:1), beside c on one: how the
# consumer scales with queues, once the generator has left the cores to
# it. The drain load comes from DRAIN_ADDRS source addresses, so that the
# kernel spreads it over the queues.
# Real software (tests/bench/real.sh, cases web and bulk): nginx and wrk,
# iperf3, between two namespaces of their own, with no queue, the kernel's
# conntrack, the bare loop on every packet and on SYN/FIN/RST only, and
# nfqtrackd under the shipped rules; its REAL_* knobs pass through.
# Engine: tests/bin/engine_bench (no network), callgrind instructions
# per packet when valgrind is installed, and nfqtrackd --replay over the
# captures in CORPUS when there are any.
#
# Environment: RUNS SECS FLOWS SIZES CASES (of: a b c cm cr drain engine
# callgrind replay mq web bulk) DAEMON_CONF_EXTRA (config lines for c, overriding the
# bench config's) GEN_CPU CONS_CPU RX_CPU DRAIN_N DRAIN_FLOWS
# ENGINE_FLOWS ENGINE_LOOKUPS DRAM_MIB CORPUS OUT (results directory).
# Only processes started here are ever signalled, by PID; namespaces are
# removed on exit, on failure and on ^C alike.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$TOP/tests/lib/netns.sh"
BIN=$TOP/tests/bin
NFQTRACKD=$TOP/src/nfqtrackd
RUNS=${RUNS:-3}
SECS=${SECS:-3}
FLOWS=${FLOWS:-1 1000 100000}
SIZES=${SIZES:-64 1400}
CASES=${CASES:-a b c cm cr drain mq web bulk engine callgrind replay}
DAEMON_CONF_EXTRA=${DAEMON_CONF_EXTRA:-}
GEN_CPU=${GEN_CPU:-0}
CONS_CPU=${CONS_CPU:-1}
RX_CPU=${RX_CPU:-1}
DRAIN_N=${DRAIN_N:-60000}
DRAIN_FLOWS=${DRAIN_FLOWS:-1000}
DRAIN_ADDRS=${DRAIN_ADDRS:-64}
NQ=1 # queues the consumer under test reads
ENGINE_FLOWS=${ENGINE_FLOWS:-1000,1000000,10000000}
ENGINE_LOOKUPS=${ENGINE_LOOKUPS:-4000000}
DRAM_MIB=${DRAM_MIB:-1024}
CORPUS=${CORPUS:-$(cd "$TOP/.." && pwd)/shared/corpus}
OUT=${OUT:-$TOP/tests/bench/results}
COPY=128
RCVBUF=8388608
QMAXLEN=4096
PORT=9000
NS_G=nfqtb-$$-g
NS_R=nfqtb-$$-r
SRC=10.77.1.1
DST=10.77.0.254
HZ=$(getconf CLK_TCK)
T=$(mktemp -d /tmp/nfqtb.XXXXXX)
chmod 755 "$T"
PIDS=()

has() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	netns_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# stop_pid PID: SIGTERM, then at most 5 s before SIGKILL; forget it.
stop_pid() {
	kill -CONT "$1" 2>/dev/null
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget_pid "$1"
}

# wait_for COMMAND...: until it succeeds, at most 10 s.
wait_for() {
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# The generator and the receiver namespaces, a veth pair between them;
# a static neighbour, so that no ARP rides along with the load.
net_up() {
	netns_add "$NS_G" "$NS_R" || return 1
	netns_veth "$NS_G" vg "$NS_R" vr || return 1
	netns_addr "$NS_G" vg 10.77.0.1/16 || return 1
	netns_addr "$NS_R" vr "$DST/16" || return 1
	netns_neigh "$NS_G" vg "$(netns_mac "$NS_R" vr)" "$DST"
}

# The queues' lines in the receiver namespace, queues 0 to NQ-1 summed:
# "total dropped udropped id_sequence", or nothing until all are bound.
qstat() {
	ip netns exec "$NS_R" cat /proc/net/netfilter/nfnetlink_queue |
		awk -v nq="$NQ" '$1 < nq { n++; t += $3; d += $6; u += $7; i += $8 }
			END { if (n == nq) print t, d, u, i }'
}
queue_bound() { [ -n "$(qstat)" ]; }
udp_bound() {
	ip netns exec "$NS_R" cat /proc/net/udp |
		grep -qi ":$(printf %04X $PORT) "
}

# cpu_ticks PID: user + system clock ticks of the whole process.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

kv() { grep -o "\\b$2=[^ ]*" "$1" 2>/dev/null | head -1 | cut -d= -f2; }

# write_daemon_conf FILE MAXLEN RCVBUF: the bench config for nfqtrackd,
# DAEMON_CONF_EXTRA's keys replacing ours (a key set twice is an error).
write_daemon_conf() {
	local extra_keys
	extra_keys=$(printf '%s\n' "$DAEMON_CONF_EXTRA" |
		awk -F= '/=/ { gsub(/[ \t]/, "", $1); print $1 }')
	{
		cat <<-EOF
			# nfqtrackd as tests/bench/run.sh runs it
			ctl_socket = $T/ctl
			syslog_socket = $T/no-syslog
			user = root
			max_flows = 1048576
			copy_range = $COPY
			queue_maxlen = $2
			rcvbuf = $3
			fail_open = no
		EOF
	} | awk -v skip="$extra_keys" '
		BEGIN { n = split(skip, k, "\n"); for (i = 1; i <= n; i++) s[k[i]] = 1 }
		{ key = $1 } !(key in s)' >"$1"
	[ -n "$DAEMON_CONF_EXTRA" ] && printf '%s\n' "$DAEMON_CONF_EXTRA" >>"$1"
	return 0
}

# queue_rule CASE QUEUES: the receiver's rule that sends the load to
# QUEUES (netns_queue_target) for CASE, every other rule gone: none for a;
# filter INPUT for b and c; for cm, mangle INPUT and for cr filter INPUT,
# skipping packets marked SEEN (the default mark_mask's 0x01000000).
queue_rule() {
	local skip=
	ip netns exec "$NS_R" iptables -F INPUT
	ip netns exec "$NS_R" iptables -t mangle -F INPUT
	case $1 in
	a) return 0 ;;
	cm | cr) skip="-m mark ! --mark 0x01000000/0x01000000" ;;
	esac
	# shellcheck disable=SC2046,SC2086
	ip netns exec "$NS_R" iptables $([ "$1" = cm ] && echo -t mangle) \
		-A INPUT -p udp --dport $PORT $skip -j NFQUEUE $(netns_queue_target "$2")
}

# start_consumer CASE DRAIN: b, c, cm or cr bound to queue 0 in the
# receiver namespace on CONS_CPU; CONS_PID.
start_consumer() {
	CONS_PID=
	case $1 in
	b)
		local q=$QMAXLEN r=$RCVBUF
		[ "$2" = 1 ] && q=65536 r=$((DRAIN_N * 4096))
		ip netns exec "$NS_R" taskset -c "$CONS_CPU" "$BIN/bench_bare" \
			-c $COPY -r "$r" -Q "$q" -N -t 600 >>"$T/bare.out" 2>&1 &
		;;
	c | cm | cr)
		local conf=$T/bench
		[ "$2" = 1 ] && conf=$T/drain
		ip netns exec "$NS_R" taskset -c "$CONS_CPU" "$NFQTRACKD" -e \
			-c "$conf${1#c}.conf" >>"$T/nfqtrackd.out" 2>&1 &
		;;
	mq)
		# Every CPU: pin_threads puts one queue's thread on each.
		ip netns exec "$NS_R" "$NFQTRACKD" -e -c "$T/drain-mq.conf" \
			>>"$T/nfqtrackd.out" 2>&1 &
		;;
	*) return 0 ;;
	esac
	CONS_PID=$!
	PIDS+=("$CONS_PID")
	wait_for queue_bound || {
		echo "# case $1: the queue was not bound:" >&2
		tail -5 "$T/bare.out" "$T/nfqtrackd.out" 2>/dev/null >&2
		return 1
	}
}

start_rx() {
	ip netns exec "$NS_R" taskset -c "$1" "$BIN/flowgen" rx -p $PORT \
		-t "$2" -i "$3" ${4:+-n "$4"} >"$T/rx.out" 2>&1 &
	RX_PID=$!
	PIDS+=("$RX_PID")
	wait_for udp_bound
}

# measure CASE FLOWS SIZE RUN: one run; appends a row to $OUT/runs.tsv.
measure() {
	local c=$1 f=$2 s=$3 run=$4 q0 q1 c0=0 c1=0 rx pkts verd cpu drops bypass
	queue_rule "$c" 0 || return 1
	start_consumer "$c" 0 || return 1
	start_rx "$RX_CPU" $((SECS + 20)) 1000 || return 1
	q0=$(qstat)
	[ -n "$CONS_PID" ] && c0=$(cpu_ticks "$CONS_PID")
	ip netns exec "$NS_G" taskset -c "$GEN_CPU" "$BIN/flowgen" tx \
		-s $SRC -d $DST -p $PORT -S "$s" -f "$f" -t "$SECS" >"$T/tx.out" 2>&1
	wait "$RX_PID"
	forget_pid "$RX_PID"
	q1=$(qstat)
	[ -n "$CONS_PID" ] && c1=$(cpu_ticks "$CONS_PID")
	[ -n "$CONS_PID" ] && stop_pid "$CONS_PID"
	rx=$(kv "$T/rx.out" pps)
	pkts=$(kv "$T/rx.out" pkts)
	# verdicted: ids handed out less those the socket dropped; drops: the
	# queue's full-queue and full-socket counts; bypass: received but
	# never verdicted (fail-open), when the consumer is bound throughout.
	read -r verd cpu drops bypass < <(echo "${q0:-0 0 0 0} ${q1:-0 0 0 0}" |
		awk -v t0="$c0" -v t1="$c1" -v hz="$HZ" -v rx="${pkts:-0}" -v c="$c" '{
			v = ($8 - $4) - ($7 - $3); d = ($6 - $2) + ($7 - $3)
			if (c == "a") { print "-", "-", "-", "-"; exit }
			b = rx - v; if (b < 0) b = 0
			u = "-"; if (v > 0) u = sprintf("%.3f", (t1 - t0) / hz * 1e6 / v)
			printf "%d %s %d %d\n", v, u, d, b }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$s" "$c" "$run" \
		"$(kv "$T/tx.out" pps)" "${rx:-0}" "${pkts:-0}" "$verd" "$cpu" \
		"$drops" "$bypass" >>"$OUT/runs.tsv"
	printf '  %-6s flows %-6s size %-4s run %s: tx %8s rx %8s pps, verdicted %8s, %6s us/pkt, drops %s bypass %s\n' \
		"$c" "$f" "$s" "$run" "$(kv "$T/tx.out" pps)" "${rx:-0}" "$verd" "$cpu" "$drops" "$bypass"
}

# drain CASE RUN: queue DRAIN_N packets to a stopped consumer, resume it,
# time the drain by the receiver's rate.
drain() {
	local c=$1 run=$2 q c0 c1 queued rx n queues=0
	NQ=1
	if [ "$c" = mq ]; then
		NQ=2
		queues=0-1
	fi
	queue_rule "$c" $queues || return 1
	start_consumer "$c" 1 || return 1
	kill -STOP "$CONS_PID"
	# The receiver on the generator's CPU: idle by the time it drains.
	start_rx "$GEN_CPU" 60 2000 "$DRAIN_N" || return 1
	ip netns exec "$NS_G" taskset -c "$GEN_CPU" "$BIN/flowgen" tx \
		-s $SRC -d $DST -p $PORT -S 64 -f "$DRAIN_FLOWS" -a "$DRAIN_ADDRS" \
		-n "$DRAIN_N" -t 10 >"$T/tx.out" 2>&1
	# Until every packet sent is queued (or the queue stops growing).
	n=-1
	for _ in $(seq 50); do
		q=$(qstat)
		[ "${q%% *}" = "$n" ] && break
		n=${q%% *}
		sleep 0.1
	done
	queued=${q%% *}
	c0=$(cpu_ticks "$CONS_PID")
	kill -CONT "$CONS_PID"
	wait "$RX_PID"
	forget_pid "$RX_PID"
	c1=$(cpu_ticks "$CONS_PID")
	q=$(qstat)
	stop_pid "$CONS_PID"
	rx=$(kv "$T/rx.out" pps)
	n=$(kv "$T/rx.out" pkts)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$run" "$queued" "${n:-0}" "${rx:-0}" \
		"$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="${n:-0}" \
			'BEGIN { if (n > 0) printf "%.3f", (b - a) / hz * 1e6 / n; else print "-" }')" \
		>>"$OUT/drain.tsv"
	printf '  drain %s run %s: %s queued, %s drained at %s verdicts/s (queue drops %s)\n' \
		"$c" "$run" "$queued" "${n:-0}" "${rx:-0}" "$(echo "$q" | awk '{ print $2 + $3 }')"
	NQ=1
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# col F S C N: column N of runs.tsv for flows F, size S, case C, median.
col() {
	awk -F'\t' -v f="$1" -v s="$2" -v c="$3" -v n="$4" \
		'$1 == f && $2 == s && $3 == c && $n != "-" { print $n }' "$OUT/runs.tsv" | median
}

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x != "-" && y != "-" && y > 0) printf "%.2f", x / y; else print "-" }'; }
fmt() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.0f", x }'; }

mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
REPORT=$OUT/bench-$STAMP.txt
: >"$OUT/runs.tsv"
: >"$OUT/drain.tsv"
: >"$OUT/engine.txt"
: >"$OUT/real.txt"

for bin in "$BIN/flowgen" "$BIN/bench_bare" "$BIN/engine_bench" "$NFQTRACKD"; do
	[ -x "$bin" ] || { echo "bench: $bin is missing: run 'make bench'" >&2; exit 1; }
done

NET=no
if has a || has b || has c || has drain; then
	if [ "$(id -u)" != 0 ]; then
		echo "# bench: network cases skipped: they need root (namespaces, iptables)"
	else
		NET=yes
	fi
fi

if [ $NET = yes ]; then
	net_up || { echo "bench: network setup failed" >&2; exit 1; }
	write_daemon_conf "$T/bench.conf" $QMAXLEN $RCVBUF
	write_daemon_conf "$T/drain.conf" 65536 $((DRAIN_N * 4096))
	for m in mark repeat; do
		DAEMON_CONF_EXTRA="$DAEMON_CONF_EXTRA
verdict_mode = $m" write_daemon_conf "$T/bench${m:0:1}.conf" $QMAXLEN $RCVBUF
		DAEMON_CONF_EXTRA="$DAEMON_CONF_EXTRA
verdict_mode = $m" write_daemon_conf "$T/drain${m:0:1}.conf" 65536 $((DRAIN_N * 4096))
	done
	DAEMON_CONF_EXTRA="$DAEMON_CONF_EXTRA
queues = 0-1
pin_threads = yes" write_daemon_conf "$T/drain-mq.conf" 65536 $((DRAIN_N * 4096))
	"$NFQTRACKD" -t -c "$T/bench.conf" >/dev/null ||
		{ echo "bench: the bench config is refused" >&2; exit 1; }
	echo "== network: flows {$FLOWS} x size {$SIZES}, $RUNS runs of $SECS s, cases: $CASES"
	for run in $(seq "$RUNS"); do
		for f in $FLOWS; do
			for s in $SIZES; do
				for c in a b c cm cr; do
					has $c || continue
					measure "$c" "$f" "$s" "$run" ||
						{ echo "bench: case $c failed" >&2; exit 1; }
				done
			done
		done
	done
	if has drain || has mq; then
		echo "== drain: $DRAIN_N packets queued to a stopped consumer"
		for run in $(seq "$RUNS"); do
			for c in b c cm cr mq; do
				case $c in
				mq) has mq ;;
				cm | cr) has drain && has "$c" ;;
				*) has drain ;;
				esac || continue
				drain "$c" "$run" || { echo "bench: drain $c failed" >&2; exit 1; }
			done
		done
	fi
	netns_cleanup
fi

ROWS=
for r in web bulk; do
	has $r && ROWS="$ROWS${ROWS:+ }$r"
done
if [ -n "$ROWS" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "# bench: $ROWS skipped: they need root (namespaces, iptables)"
	else
		ROWS=$ROWS OUT=$OUT "$TOP/tests/bench/real.sh" ||
			{ echo "bench: the real-software rows failed" >&2; exit 1; }
	fi
fi

if has engine; then
	echo "== engine: $ENGINE_FLOWS flows, $ENGINE_LOOKUPS established packets each, DRAM chase over $DRAM_MIB MiB"
	taskset -c "$CONS_CPU" "$BIN/engine_bench" -f "$ENGINE_FLOWS" \
		-l "$ENGINE_LOOKUPS" -d "$DRAM_MIB" | tee -a "$OUT/engine.txt"
fi

CG=
if has callgrind; then
	if command -v valgrind >/dev/null; then
		echo "== callgrind: instructions per packet (1000 flows, toggle-collect on the timed functions)"
		for fn in feed_create feed_lookup; do
			valgrind --tool=callgrind --toggle-collect=$fn \
				--callgrind-out-file="$T/cg.$fn" "$BIN/engine_bench" \
				-f 1000 -l 200000 -d 0 >"$T/cg.$fn.txt" 2>"$T/cg.$fn.err" ||
				{ echo "bench: valgrind failed:" >&2; tail -5 "$T/cg.$fn.err" >&2; }
		done
		cg_create=$(awk '/^totals:/ { t = $2 } END { print t + 0 }' "$T/cg.feed_create" 2>/dev/null)
		cg_lookup=$(awk '/^totals:/ { t = $2 } END { print t + 0 }' "$T/cg.feed_lookup" 2>/dev/null)
		n_create=$(kv "$T/cg.feed_create.txt" create_pkts)
		n_lookup=$(kv "$T/cg.feed_lookup.txt" lookup_pkts)
		CG=$(awk -v a="$cg_create" -v n="$n_create" -v b="$cg_lookup" -v m="$n_lookup" \
			'BEGIN { printf "%.0f %.0f", (n > 0) ? a / n : 0, (m > 0) ? b / m : 0 }')
		echo "callgrind Ir/pkt: opening ${CG% *}, established ${CG#* }" | tee -a "$OUT/engine.txt"
		# The flow events' cost (nfqtrackctl events, IPFIX export), side
		# by side: none wanted (above), every type through a worker's
		# ring to a consumer (-e), and that with accounting (-a), which
		# IPFIX needs for its counters.
		for v in "a:-a" "e:-e" "ea:-e -a"; do
			for fn in feed_create feed_lookup; do
				# shellcheck disable=SC2086
				valgrind --tool=callgrind --toggle-collect=$fn \
					--callgrind-out-file="$T/cg.$fn.${v%%:*}" "$BIN/engine_bench" \
					-f 1000 -l 200000 -d 0 ${v#*:} >"$T/cg.$fn.${v%%:*}.txt" 2>/dev/null
			done
			a=$(awk '/^totals:/ { t = $2 } END { print t + 0 }' "$T/cg.feed_create.${v%%:*}" 2>/dev/null)
			b=$(awk '/^totals:/ { t = $2 } END { print t + 0 }' "$T/cg.feed_lookup.${v%%:*}" 2>/dev/null)
			awk -v a="$a" -v n="$(kv "$T/cg.feed_create.${v%%:*}.txt" create_pkts)" \
				-v b="$b" -v m="$(kv "$T/cg.feed_lookup.${v%%:*}.txt" lookup_pkts)" -v w="${v#*:}" \
				'BEGIN { printf "callgrind Ir/pkt with %s: opening %.0f, established %.0f\n", \
					w == "-a" ? "accounting" : w == "-e" ? "events (all types, to a consumer)" : \
					"events and accounting", (n > 0) ? a / n : 0, (m > 0) ? b / m : 0 }' |
				tee -a "$OUT/engine.txt"
		done
	else
		echo "# callgrind: skipped: valgrind is not installed (make deps installs it)"
	fi
fi

REPLAY=
if has replay; then
	if [ -d "$CORPUS" ]; then
		echo "== replay: nfqtrackd --replay over every capture in $CORPUS"
		printf 'max_flows = 65536\n' >"$T/replay.conf"
		REPLAY=$(find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 |
			sort -z | xargs -0 -n 1 sh -c 'timeout 60 "$0" -c "$1" --replay "$2" 2>/dev/null' \
				"$NFQTRACKD" "$T/replay.conf" |
			awk '$1 == "replay_file" { n++ } $1 == "packets" { p += $2 }
			     $1 == "replay_wall_seconds" { w += $2 }
			     END { printf "%d %d %.3f %.0f", n, p, w, (w > 0) ? p / w : 0 }')
		echo "replay files=${REPLAY%% *} packets/s=${REPLAY##* }" | tee -a "$OUT/engine.txt"
	else
		echo "# replay: skipped: no corpus at $CORPUS (it is not part of a clone)"
	fi
fi

# The table.
{
	echo "nfqtrack benchmark, $(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs:" \
		"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "settings: RUNS=$RUNS SECS=$SECS GEN_CPU=$GEN_CPU CONS_CPU=$CONS_CPU RX_CPU=$RX_CPU copy=$COPY rcvbuf=$RCVBUF queue_maxlen=$QMAXLEN${DAEMON_CONF_EXTRA:+ extra: $(echo "$DAEMON_CONF_EXTRA" | tr '\n' ';')}"
	if [ -s "$OUT/runs.tsv" ]; then
		echo
		echo "a: no queue, b: accept-all loop, c: nfqtrackd; pps received, medians of $RUNS"
		printf '%-13s | %8s | %8s | %8s | %5s | %8s | %8s | %7s | %9s | %s\n' \
			"flows size" "a pps" "b pps" "c pps" "c/b" "b us/pkt" "c us/pkt" "c/b cpu" "drops b/c" "bypass b/c"
		for f in $FLOWS; do
			for s in $SIZES; do
				a=$(col "$f" "$s" a 6); b=$(col "$f" "$s" b 6); c=$(col "$f" "$s" c 6)
				bu=$(col "$f" "$s" b 9); cu=$(col "$f" "$s" c 9)
				printf '%-13s | %8s | %8s | %8s | %5s | %8s | %8s | %7s | %9s | %s\n' \
					"$f $s" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$(ratio "$c" "$b")" \
					"$bu" "$cu" "$(ratio "$cu" "$bu")" \
					"$(fmt "$(col "$f" "$s" b 10)")/$(fmt "$(col "$f" "$s" c 10)")" \
					"$(fmt "$(col "$f" "$s" b 11)")/$(fmt "$(col "$f" "$s" c 11)")"
			done
		done
	fi
	if grep -q '	c[mr]	' "$OUT/runs.tsv" 2>/dev/null; then
		echo
		echo "verdict_mode: c accept, cm mark (queue rule in mangle), cr repeat (in filter, chain taken twice); pps received, medians of $RUNS"
		printf '%-13s | %8s | %8s | %8s | %8s | %8s | %8s | %7s | %7s\n' \
			"flows size" "c pps" "cm pps" "cr pps" "c us/pkt" "cm us/pkt" "cr us/pkt" "cm/c cpu" "cr/c cpu"
		for f in $FLOWS; do
			for s in $SIZES; do
				cu=$(col "$f" "$s" c 9); mu=$(col "$f" "$s" cm 9); ru=$(col "$f" "$s" cr 9)
				printf '%-13s | %8s | %8s | %8s | %8s | %8s | %8s | %7s | %7s\n' \
					"$f $s" "$(fmt "$(col "$f" "$s" c 6)")" "$(fmt "$(col "$f" "$s" cm 6)")" \
					"$(fmt "$(col "$f" "$s" cr 6)")" "$cu" "$mu" "$ru" \
					"$(ratio "$mu" "$cu")" "$(ratio "$ru" "$cu")"
			done
		done
	fi
	if [ -s "$OUT/drain.tsv" ]; then
		echo
		echo "drain: $DRAIN_N packets queued to a stopped consumer, then resumed"
		printf '%-5s | %8s | %8s | %11s | %8s\n' case queued drained verdicts/s "us/pkt"
		for c in b c cm cr mq; do
			grep -q "^$c	" "$OUT/drain.tsv" || continue
			printf '%-5s | %8s | %8s | %11s | %8s\n' "$c" \
				"$(fmt "$(awk -F'\t' -v c=$c '$1 == c { print $3 }' "$OUT/drain.tsv" | median)")" \
				"$(fmt "$(awk -F'\t' -v c=$c '$1 == c { print $4 }' "$OUT/drain.tsv" | median)")" \
				"$(fmt "$(awk -F'\t' -v c=$c '$1 == c { print $5 }' "$OUT/drain.tsv" | median)")" \
				"$(awk -F'\t' -v c=$c '$1 == c && $6 != "-" { print $6 }' "$OUT/drain.tsv" | median)"
		done
		db=$(awk -F'\t' '$1 == "b" { print $5 }' "$OUT/drain.tsv" | median)
		dc=$(awk -F'\t' '$1 == "c" { print $5 }' "$OUT/drain.tsv" | median)
		dm=$(awk -F'\t' '$1 == "mq" { print $5 }' "$OUT/drain.tsv" | median)
		echo "c/b drain rate: $(ratio "$dc" "$db")"
		for c in cm cr; do
			dx=$(awk -F'\t' -v c=$c '$1 == c { print $5 }' "$OUT/drain.tsv" | median)
			[ "$dx" = - ] || echo "$c/c drain rate: $(ratio "$dx" "$dc")"
		done
		[ "$dm" = - ] || echo "mq/c drain rate (2 queues, 2 threads / 1 queue; $(nproc) CPUs): $(ratio "$dm" "$dc")"
	fi
	if [ -s "$OUT/real.txt" ]; then
		echo
		cat "$OUT/real.txt"
	fi
	if grep -q '^engine\|^dram' "$OUT/engine.txt"; then
		dram=$(kv "$OUT/engine.txt" ns)
		echo
		echo "engine alone (IPv4 TCP+UDP, flows made beforehand; established packets one at a time (engine_packet) and in batches of 64 as the daemon feeds them (engine_packets); DRAM: random pointer chase over $DRAM_MIB MiB = ${dram:--} ns)"
		printf '%10s | %10s | %10s | %8s | %8s | %10s | %8s | %8s | %10s | %10s | %10s\n' \
			flows "open pps" "estab pps" "ns/pkt" "x DRAM" "batch pps" "ns/pkt" "x DRAM" "RSS B/flow" "eng B/flow" "tbl B/flow"
		grep '^engine ' "$OUT/engine.txt" | while read -r line; do
			echo "$line" >"$T/line"
			if [ -n "$(kv "$T/line" skipped)" ]; then
				printf '%10s | skipped: needs %s MiB\n' "$(kv "$T/line" flows)" "$(kv "$T/line" need_mib)"
				continue
			fi
			ns=$(kv "$T/line" lookup_ns)
			bns=$(kv "$T/line" batch_ns)
			printf '%10s | %10s | %10s | %8s | %8s | %10s | %8s | %8s | %10s | %10s | %10s\n' \
				"$(kv "$T/line" flows)" "$(fmt "$(kv "$T/line" create_pps)")" \
				"$(fmt "$(kv "$T/line" lookup_pps)")" "$ns" "$(ratio "$ns" "${dram:--}")" \
				"$(fmt "$(kv "$T/line" batch_pps)")" "$bns" "$(ratio "$bns" "${dram:--}")" \
				"$(kv "$T/line" rss_per_flow)" "$(kv "$T/line" engine_per_flow)" \
				"$(kv "$T/line" table_per_flow)"
			inv=$(kv "$T/line" invalid)
			[ "${inv:-0}" = 0 ] || echo "  warning: $inv packets were invalid or ignored: the trace is not what it should be"
		done
	fi
	if grep -q '^csum ' "$OUT/engine.txt"; then
		echo
		echo "checksums (checksum = yes, for packets the kernel has not verified): the same packets of 1000 flows, copied whole, fed in turn without and with the check in one run"
		printf '%6s | %12s | %12s | %6s | %10s\n' bytes "no check ns" "check ns" ratio "ns/byte +"
		grep '^csum ' "$OUT/engine.txt" | while read -r line; do
			echo "$line" >"$T/line"
			b=$(kv "$T/line" bytes)
			n0=$(kv "$T/line" nocheck_ns)
			n1=$(kv "$T/line" check_ns)
			printf '%6s | %12s | %12s | %6s | %10s\n' "$b" "$n0" "$n1" \
				"$(ratio "$n1" "$n0")" \
				"$(awk -v a="$n1" -v z="$n0" -v b="$b" 'BEGIN { printf "%.3f", (a - z) / b }')"
			inv=$(kv "$T/line" invalid)
			[ "${inv:-0}" = 0 ] || echo "  warning: $inv packets were invalid: the checksums are not right"
		done
	fi
	if [ -n "$CG" ]; then
		echo "callgrind: ${CG% *} instructions per opening packet, ${CG#* } per established packet (1000 flows)"
	fi
	if [ -n "$REPLAY" ]; then
		read -r rf rp rw rpps <<<"$REPLAY"
		echo "corpus replay: $rf captures, $rp IP packets in $rw s of replay: $rpps packets/s"
	fi
} >"$REPORT"
cp "$REPORT" "$OUT/last.txt"
echo
cat "$REPORT"
echo "(written to $REPORT)"
