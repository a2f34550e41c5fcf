#!/bin/bash
# make bench's real-software rows (called by tests/bench/run.sh, or alone):
# software nobody here wrote, between a client and a server namespace
# joined by a veth pair, the server namespace's rules deciding what its
# traffic costs.
#   web   nginx serves a small static file to wrk, one short request per
#         connection (Connection: close); req/s as wrk counts them
#   bulk  one iperf3 TCP transfer from the client to the server; Gb/s as
#         the receiver counts them
# Each for these cases (REAL_CASES), interleaved within each round:
#   a   no queue, no rule: what the kernel alone does
#   k   the kernel's conntrack: one stateful rule (-m conntrack) on INPUT
#   b   tests/bin/bench_bare on every packet, under the shipped rules
#   bg  b taking GSO packets whole (-G), as nfqtrackd does; b has the
#       kernel segment them before they are queued
#   bs  bench_bare with only TCP SYN, FIN and RST queued: one rule before
#       the shipped ones accepts the rest
#   b1  bench_bare with only the pure SYN queued: the ceiling of any design
#       that holds one packet per connection for the daemon's answer
#   c   nfqtrackd, default configuration, under the shipped rules
#   cm  nfqtrackd with verdict_mode = mark under the shipped stateful
#       firewall (conf/nfqtrack-stateful.rules, its open ports made the
#       bench's): the state marks' cost, batches split where marks change
#   cs  cm with mark_mask = 0x0f000000: the state alone in the mark
#   f   c with fastpath = yes: admitted flows carried by the kernel's
#       nftables sets, off the queue (the shipped rules skip SEEN packets)
#   fm  cm with fastpath = yes
#   fb  f with fastpath_carrier = bpf: the same flows carried in the BPF
#       carrier's map (src/carrier.bpf.c) instead of the sets
#   fbk fb with fastpath_kernel_admit = yes: a new connection's SYN admitted
#       in the kernel under the daemon's budget and learned from the
#       carrier's ring on the daemon's tick, never queued (the design's
#       second half, built: xr's ceiling in nfqtrackd)
#   fk  f with the pure SYN admitted by an iptables rule (the verdict's
#       admit mark set in the kernel), never queued: the fast path's
#       kernel work alone, without a round trip; the ceiling of any
#       design that carries flows in its sets and admits without waiting
#       for the daemon (not a mode nfqtrackd has: it sees no flow)
#   xb  the bare loop bound, and flows carried in a BPF hash map instead
#       of nftables sets: tests/bench/carrier.bpf.c, an iptables bpf
#       match in INPUT and OUTPUT that marks SEEN a packet of a flow in
#       the map, and puts a pure SYN's flow in it, so nothing is queued:
#       fk's ceiling for that design (needs clang, bpftool, libbpf-dev;
#       skipped, saying so, without them)
#   xr  xb with admission in the kernel under budgets (carrier.bpf.c built
#       with -DCARRIER_BUDGETS): a pure SYN is matched only while its
#       source's budget and the global one last, and its flow goes to a
#       ring buffer that tests/bin/bench_ringreader drains and refills
#       the budgets from every 10 ms, as a daemon's tick would. The
#       ceiling of the design the README proposes, the daemon's reading
#       included (its CPU is the consumer's). A SYN over budget
#       (XR_BUDGET small) goes to the bare loop, which admits nothing:
#       its flow's packets are all queued
#   ce  c with accounting = yes and IPFIX export to nfcapd (nfdump's
#       collector) in the server namespace: what export costs, and whether
#       it keeps up (records sent and lost, from stats)
#   cv  ce with an `nfqtrackctl events` subscriber writing every event
#       (NEW, each UPDATE, DESTROY) to a file, as `conntrack -E > file`:
#       the worst case of events, and whether the subscriber keeps up
# "The shipped rules" are conf/nfqtrack.rules with eth0 replaced by the
# server's veth end: notrack in raw, INPUT and OUTPUT to queue 0.
# Every process and both namespaces are made fresh for each run, so that
# no TIME_WAIT socket or conntrack entry of a run meets the next; in the
# client namespace net.ipv4.tcp_tw_reuse = 1, or wrk runs out of ports.
# Figures are means of REAL_RUNS rounds. CPU is utime + stime: from
# /proc/PID/stat over the load for the consumer, nginx (master and
# workers) and the iperf3 server; from getrusage (bash's times) for wrk
# and the iperf3 client, which exit with the load. "total" is the sum of
# all of these; the kernel's network work is in it, charged to whichever
# of them it ran in. Queued packets are the queue's id_sequence.
#
# Environment: ROWS (web bulk) REAL_CASES (a k b bs b1 c cm f fb fbk fm fk xb xr ce cv) REAL_RUNS (2)
# REAL_SECS (10) WRK_CONNS (32) WRK_THREADS (1) NGINX_WORKERS (1)
# XR_BUDGET (1000: xr's budgets, each refilled to it every 10 ms)
# OUT (results directory). Only processes started here are signalled, by
# PID; the namespaces are removed on exit, on failure and on ^C alike.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$TOP/tests/lib/netns.sh"
NFQTRACKD=$TOP/src/nfqtrackd
NFQTRACKCTL=$TOP/src/nfqtrackctl
BARE=$TOP/tests/bin/bench_bare
RINGREADER=$TOP/tests/bin/bench_ringreader
ROWS=${ROWS:-web bulk}
REAL_CASES=${REAL_CASES:-a k b bs b1 c cm f fb fbk fm fk xb xr ce cv}
REAL_RUNS=${REAL_RUNS:-2}
REAL_SECS=${REAL_SECS:-10}
WRK_CONNS=${WRK_CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
NGINX_WORKERS=${NGINX_WORKERS:-1}
XR_BUDGET=${XR_BUDGET:-1000}
OUT=${OUT:-$TOP/tests/bench/results}
NS_C=nfqtb-$$-wc
NS_S=nfqtb-$$-ws
DEV=ws
CLI=10.78.0.1
SRV=10.78.0.2
HTTP_PORT=8080
IPERF_PORT=5201
ADMIT_MARK=0x00800000 # fastpath_admit_mark's default
SEEN_MARK=0x01000000  # the bit the shipped rules' NFQUEUE rules skip
HZ=$(getconf CLK_TCK)
T=$(mktemp -d /tmp/nfqtb-real.XXXXXX)
# libbpf takes a dot in a map's pin path for an underscore: none here.
BPFFS=/run/nfqtb-bpf-$$
chmod 755 "$T"
PIDS=()

cleanup() {
	stop_all
	netns_cleanup
	# xb's and xr's BPF file system: its pins (and with the namespaces' rules
	# gone, its program and map) go with it.
	if [ -d "$BPFFS" ]; then
		mountpoint -q "$BPFFS" && umount "$BPFFS"
		rmdir "$BPFFS"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for COMMAND...: until it succeeds, at most 10 s.
wait_for() {
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# children PID: the PIDs of its child processes.
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null
}

# cpu_ticks PID...: user + system clock ticks of these processes, summed.
cpu_ticks() {
	local p t=0 n
	for p in "$@"; do
		n=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${n:-0}))
	done
	echo $t
}

listening() {
	ip netns exec "$NS_S" cat /proc/net/tcp |
		awk -v p="$(printf ':%04X' "$1")" '$2 ~ p "$" && $4 == "0A" { f = 1 } END { exit !f }'
}

qstat() {
	ip netns exec "$NS_S" cat /proc/net/netfilter/nfnetlink_queue |
		awk '$1 == 0 { print $8 }'
}
queue_bound() { [ -n "$(qstat)" ]; }

net_up() {
	netns_add "$NS_C" "$NS_S" || return 1
	netns_veth "$NS_C" wc "$NS_S" "$DEV" || return 1
	netns_addr "$NS_C" wc "$CLI/24" || return 1
	netns_addr "$NS_S" "$DEV" "$SRV/24" || return 1
	netns_neigh "$NS_C" wc "$(netns_mac "$NS_S" "$DEV")" "$SRV" || return 1
	netns_neigh "$NS_S" "$DEV" "$(netns_mac "$NS_C" wc)" "$CLI" || return 1
	ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_tw_reuse=1
}

# rules CASE: the server namespace's rules for CASE.
rules() {
	local ipt="ip netns exec $NS_S iptables"
	case $1 in
	a) return 0 ;;
	k)
		$ipt -A INPUT -i $DEV -m conntrack \
			--ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
		return
		;;
	cm | cs | fm)
		sed -e "s/\\<eth0\\>/$DEV/g" \
			-e "s/--dport 80 /--dport $HTTP_PORT /" \
			-e "/--dport 22 /a -A INPUT -p tcp --dport $IPERF_PORT -j ACCEPT" \
			"$TOP/conf/nfqtrack-stateful.rules" |
			ip netns exec "$NS_S" iptables-restore
		return
		;;
	esac
	sed "s/\\<eth0\\>/$DEV/g" "$TOP/conf/nfqtrack.rules" |
		ip netns exec "$NS_S" iptables-restore --noflush || return 1
	case $1 in
	bs)
		$ipt -I INPUT 1 -i $DEV -p tcp --tcp-flags SYN,FIN,RST NONE \
			-j ACCEPT || return 1
		$ipt -I OUTPUT 1 -o $DEV -p tcp --tcp-flags SYN,FIN,RST NONE \
			-j ACCEPT || return 1
		;;
	b1)
		$ipt -I INPUT 1 -i $DEV -p tcp ! --tcp-flags SYN,ACK,FIN,RST SYN \
			-j ACCEPT || return 1
		$ipt -I OUTPUT 1 -o $DEV -p tcp ! --tcp-flags SYN,ACK,FIN,RST SYN \
			-j ACCEPT || return 1
		;;
	xb | xr)
		# A fresh program and maps each run.
		rm -f "$BPFFS"/carrier*
		bpftool prog load "$T/$1.bpf.o" "$BPFFS/carrier" type socket \
			pinmaps "$BPFFS" 2>"$T/bpf.err" ||
			{ cat "$T/bpf.err" >&2; return 1; }
		$ipt -I INPUT 1 -i $DEV -m bpf --object-pinned "$BPFFS/carrier" \
			-j MARK --or-mark "$SEEN_MARK" || return 1
		$ipt -I OUTPUT 1 -o $DEV -m bpf --object-pinned "$BPFFS/carrier" \
			-j MARK --or-mark "$SEEN_MARK" || return 1
		if [ "$1" = xr ]; then
			"$RINGREADER" "$BPFFS" "$CLI" "$XR_BUDGET" \
				>"$T/ringreader.out" 2>&1 &
			READER_PID=$!
			PIDS+=("$READER_PID")
		fi
		;;
	fk)
		# The admission chain (priority 10) adds its elements.
		$ipt -I INPUT 1 -i $DEV -p tcp --tcp-flags SYN,ACK,FIN,RST SYN \
			-j ACCEPT || return 1
		$ipt -I INPUT 1 -i $DEV -p tcp --tcp-flags SYN,ACK,FIN,RST SYN \
			-j MARK --or-mark "$ADMIT_MARK" || return 1
		;;
	esac
}

# start_consumer CASE: CONS_PID, or none for a and k.
start_consumer() {
	CONS_PID=
	case $1 in
	b | bg | bs | b1 | xb | xr)
		# shellcheck disable=SC2046
		ip netns exec "$NS_S" "$BARE" -c 128 -r 8388608 -Q 4096 -N \
			$([ "$1" = bg ] && echo -G) -t 600 >>"$T/bare.out" 2>&1 &
		;;
	c | cm | cs | f | fb | fbk | fm | fk | ce | cv)
		if [ "$1" = ce ] || [ "$1" = cv ]; then
			rm -rf "$T/nf" && mkdir -p "$T/nf"
			ip netns exec "$NS_S" nfcapd -b 127.0.0.1 -p 4739 -B 8000000 \
				-t 3600 -w "$T/nf" >>"$T/nfcapd.out" 2>&1 &
			PIDS+=("$!")
		fi
		ip netns exec "$NS_S" "$NFQTRACKD" -e -c "$T/nfqtrackd-$1.conf" \
			>>"$T/nfqtrackd.out" 2>&1 &
		;;
	*) return 0 ;;
	esac
	CONS_PID=$!
	PIDS+=("$CONS_PID")
	wait_for queue_bound || {
		echo "# real $1: the queue was not bound:" >&2
		tail -5 "$T/bare.out" "$T/nfqtrackd.out" 2>/dev/null >&2
		return 1
	}
	if [ "$1" = cv ]; then
		"$NFQTRACKCTL" -s "$T/ctl" events >"$T/events.out" 2>&1 &
		PIDS+=("$!")
	fi
}

# start_server ROW: nginx or the iperf3 server in the server namespace;
# SRV_PIDS (nginx's workers too).
start_server() {
	local p
	case $1 in
	web)
		rm -f "$T/nginx.pid"
		ip netns exec "$NS_S" nginx -p "$T/" -e "$T/nginx.err" \
			-c "$T/nginx.conf" >>"$T/nginx.out" 2>&1 &
		p=$!
		PIDS+=("$p")
		wait_for listening $HTTP_PORT || return 1
		# Its workers, so that they too are counted, and stopped.
		read -ra SRV_PIDS <<<"$p $(children "$p" | tr '\n' ' ')"
		;;
	bulk)
		ip netns exec "$NS_S" iperf3 -s -B "$SRV" -p $IPERF_PORT \
			>>"$T/iperf3-s.out" 2>&1 &
		p=$!
		PIDS+=("$p")
		wait_for listening $IPERF_PORT || return 1
		SRV_PIDS=("$p")
		;;
	esac
	PIDS+=("${SRV_PIDS[@]:1}")
}

# client ROW: the load, in the foreground; its output in $T/client.out,
# its CPU (getrusage of the shell that waited for it) in $T/client.times.
client() {
	local cmd
	case $1 in
	web)
		cmd="wrk -t $WRK_THREADS -c $WRK_CONNS -d ${REAL_SECS}s \
-H 'Connection: close' http://$SRV:$HTTP_PORT/index.html"
		;;
	bulk) cmd="iperf3 -c $SRV -p $IPERF_PORT -t $REAL_SECS -J" ;;
	esac
	rm -f "$T/client.pid"
	ip netns exec "$NS_C" bash -c "$cmd >'$T/client.out' 2>&1 &
echo \$! >'$T/client.pid'; wait \$!; times >'$T/client.times'" &
	CLIENT_PID=$!
	PIDS+=("$CLIENT_PID")
	# The client itself, so that it too is stopped on failure.
	wait_for test -s "$T/client.pid" && PIDS+=("$(cat "$T/client.pid")")
	wait "$CLIENT_PID"
}

# times_ticks FILE: the children's user + system time of bash's times, in
# clock ticks.
times_ticks() {
	sed -n 2p "$1" | awk -v hz="$HZ" '{
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, /m|s/); t += a[1] * 60 + a[2]
		}
		printf "%.0f\n", t * hz }'
}

# stop_all: every process started here, SIGTERM, then at most 5 s before
# SIGKILL.
stop_all() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}

# measure ROW CASE RUN: one run; a row of $OUT/real.tsv: row case run
# rate units (req or bytes) consumer_ticks total_ticks queued
# flows_created errors.
measure() {
	local row=$1 c=$2 run=$3 q0=0 q1=0 c0=0 c1=0 s0 s1 ct rate units flows=- err=0 batch=
	# xr's reader (rules() starts it): its CPU is the consumer's too.
	local READER_PID=
	net_up || return 1
	rules "$c" || return 1
	start_consumer "$c" || return 1
	start_server "$row" || { echo "# real: $row server did not start" >&2; return 1; }
	# shellcheck disable=SC2086
	[ -n "$CONS_PID" ] && q0=$(qstat) && c0=$(cpu_ticks "$CONS_PID" $READER_PID)
	s0=$(cpu_ticks "${SRV_PIDS[@]}")
	client "$row"
	s1=$(cpu_ticks "${SRV_PIDS[@]}")
	if [ -n "$CONS_PID" ]; then
		q1=$(qstat)
		# shellcheck disable=SC2086
		c1=$(cpu_ticks "$CONS_PID" $READER_PID)
		if [ "${c#[cf]}" != "$c" ]; then
			# fbk: the last connections' SYNs, admitted in the
			# kernel, are learned on the daemon's next tick.
			[ "$c" = fbk ] && sleep 0.2
			"$NFQTRACKCTL" -s "$T/ctl" stats >"$T/stats" 2>/dev/null
			flows=$(awk '$1 == "flows_created" { print $2 }' "$T/stats")
			# How well the verdicts batch: packets per verdict
			# message (a mark change splits a batch).
			batch=$(awk '$1 == "queue_packets" { p = $2 }
				$1 == "queue_verdict_msgs" { m = $2 }
				END { if (m > 0) printf ", %.1f pkts per verdict message", p / m }' "$T/stats")
			[ "$c" = fbk ] && batch="$batch$(awk '
				{ v[$1] = $2 }
				END { printf ", %d learned from the kernel, %d taken back", v["fastpath_learned"], v["fastpath_unlearned"] }' "$T/stats")"
			[ "$c" = ce ] && batch="$batch$(awk '
				{ v[$1] = $2 }
				END { printf ", IPFIX records %d, %d lost", v["ipfix_records"], v["ipfix_records_lost"] }' "$T/stats")"
			[ "$c" = cv ] && batch="$batch$(awk '
				FNR == NR { v[$1] = $2; next }
				/^ *\[/ { n++ }
				/^# [0-9]+ events lost/ { sl += $2 }
				END { printf ", events %d emitted, %d lost in the workers, %d read by the subscriber, %d lost to it; IPFIX records %d, %d lost", v["events_emitted"], v["events_lost"], n, sl, v["ipfix_records"], v["ipfix_records_lost"] }' "$T/stats" "$T/events.out")"
		fi
	fi
	ct=$(times_ticks "$T/client.times")
	case $row in
	web)
		rate=$(awk '/^Requests\/sec:/ { print $2 }' "$T/client.out")
		units=$(awk '/ requests in / { print $1 }' "$T/client.out")
		err=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }
			/Non-2xx/ { n += $NF } END { }' "$T/client.out" | head -1)
		;;
	bulk)
		read -r rate units < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_received"]
print(e["bits_per_second"] / 1e9, e["bytes"])' "$T/client.out" 2>/dev/null)
		;;
	esac
	[ -n "${rate:-}" ] || {
		echo "# real $row $c: no result from the client:" >&2
		tail -5 "$T/client.out" >&2
		rate=0 units=0
	}
	stop_all
	netns_cleanup
	# bench_bare's own count, when it stops: packets per receive call,
	# how well it batches.
	case $c in
	b | bg | bs | b1)
		batch=$(tail -1 "$T/bare.out" | awk '{ for (i = 1; i <= NF; i++) {
				split($i, kv, "="); v[kv[1]] = kv[2] }
			if (v["recv_calls"] > 0) printf ", %.1f pkts per receive", v["pkts"] / v["recv_calls"] }')
		;;
	xr) batch=", $(awk '/^admitted/ { print $2 }' "$T/ringreader.out") flows read from the ring" ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$c" "$run" \
		"$rate" "$units" $((c1 - c0)) $((c1 - c0 + s1 - s0 + ct)) \
		$((q1 - q0)) "${flows:--}" "${err:-0}" >>"$OUT/real.tsv"
	printf '  %-4s %-2s run %s: %s %s, %s %s, queued %s, consumer %s ticks, total %s ticks%s\n' \
		"$row" "$c" "$run" "$rate" "$([ "$row" = web ] && echo req/s || echo Gb/s)" \
		"$units" "$([ "$row" = web ] && echo requests || echo bytes)" \
		$((q1 - q0)) $((c1 - c0)) $((c1 - c0 + s1 - s0 + ct)) \
		"$([ "$flows" != - ] && echo ", flows_created $flows")$([ "${err:-0}" != 0 ] && echo ", socket errors $err")$batch"
}

for bin in "$BARE" "$NFQTRACKD" "$NFQTRACKCTL"; do
	[ -x "$bin" ] || { echo "real: $bin is missing: run 'make bench'" >&2; exit 1; }
done
for cmd in nginx wrk iperf3 python3; do
	command -v $cmd >/dev/null ||
		{ echo "real: $cmd is missing: 'make bench-deps' installs it" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "real: needs root (namespaces, iptables)" >&2; exit 1; }

mkdir -p "$OUT" "$T/www"
: >"$OUT/real.tsv"
head -c 1024 /dev/zero | tr '\0' 'x' >"$T/www/index.html"
cat >"$T/nginx.conf" <<EOF
# nginx as tests/bench/real.sh runs it: one small static file, no logs
daemon off;
worker_processes $NGINX_WORKERS;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_timeout 0;
	client_body_temp_path $T/tmp;
	server {
		listen $SRV:$HTTP_PORT backlog=4096;
		root $T/www;
	}
}
EOF
mkdir -p "$T/tmp"
# The default configuration, less what a run here must change.
cat >"$T/nfqtrackd-c.conf" <<EOF
ctl_socket = $T/ctl
syslog_socket = $T/no-syslog
user = root
EOF
{ cat "$T/nfqtrackd-c.conf"; echo "verdict_mode = mark"; } >"$T/nfqtrackd-cm.conf"
{ cat "$T/nfqtrackd-cm.conf"; echo "mark_mask = 0x0f000000"; } >"$T/nfqtrackd-cs.conf"
{ cat "$T/nfqtrackd-c.conf"; echo "fastpath = yes"; } >"$T/nfqtrackd-f.conf"
{ cat "$T/nfqtrackd-cm.conf"; echo "fastpath = yes"; } >"$T/nfqtrackd-fm.conf"
cp "$T/nfqtrackd-f.conf" "$T/nfqtrackd-fk.conf"
{ cat "$T/nfqtrackd-f.conf"; echo "fastpath_carrier = bpf"; } >"$T/nfqtrackd-fb.conf"
{ cat "$T/nfqtrackd-fb.conf"; echo "fastpath_kernel_admit = yes"; } >"$T/nfqtrackd-fbk.conf"
{ cat "$T/nfqtrackd-c.conf"; printf 'accounting = yes\nipfix_collector = 127.0.0.1:4739\n'; } >"$T/nfqtrackd-ce.conf"
{ cat "$T/nfqtrackd-ce.conf"; } >"$T/nfqtrackd-cv.conf"
for f in c cm cs f fb fbk fm fk ce cv; do
	"$NFQTRACKD" -t -c "$T/nfqtrackd-$f.conf" >/dev/null ||
		{ echo "real: the nfqtrackd config ($f) is refused" >&2; exit 1; }
done

# xb's and xr's programs, built here for this kernel's BPF; a case is
# left out, saying why, where it cannot be.
for x in xb xr; do
	[[ " $REAL_CASES " == *" $x "* ]] || continue
	why='' defs=''
	[ $x = xr ] && defs=-DCARRIER_BUDGETS
	if ! command -v clang >/dev/null || ! command -v bpftool >/dev/null; then
		why="clang or bpftool missing (make bench-deps installs them)"
	elif [ $x = xr ] && [ ! -x "$RINGREADER" ]; then
		why="$RINGREADER is missing: run 'make bench'"
	elif ! clang -O2 -g -target bpf ${defs:+"$defs"} \
		-I"/usr/include/$(gcc -print-multiarch 2>/dev/null)" \
		-c "$TOP/tests/bench/carrier.bpf.c" -o "$T/$x.bpf.o" 2>"$T/bpf.err"; then
		why="carrier.bpf.c does not build: $(head -1 "$T/bpf.err")"
	elif ! mountpoint -q "$BPFFS" &&
		{ ! mkdir -p "$BPFFS" || ! mount -t bpf bpf "$BPFFS"; }; then
		why="no BPF file system"
	fi
	if [ -n "$why" ]; then
		echo "# real: case $x skipped: $why" >&2
		REAL_CASES=$(echo " $REAL_CASES " | sed "s/ $x / /")
	fi
done

echo "== real software: rows {$ROWS}, cases {$REAL_CASES}, $REAL_RUNS rounds of $REAL_SECS s"
for run in $(seq "$REAL_RUNS"); do
	for row in $ROWS; do
		for c in $REAL_CASES; do
			measure "$row" "$c" "$run" ||
				{ echo "real: $row $c failed" >&2; exit 1; }
		done
	done
done

# mean ROW CASE EXPR: EXPR (awk, over the columns of real.tsv) averaged
# over the rounds; "-" when there is none.
mean() {
	awk -F'\t' -v r="$1" -v c="$2" -v hz="$HZ" '
		$1 == r && $2 == c { s += '"$3"'; n++ }
		END { if (n) print s / n; else print "-" }' "$OUT/real.tsv"
}
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x != "-" && y != "-" && y > 0) printf "%.2f", x / y; else print "-" }'; }
num() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "-") print "-"; else printf f, x }'; }

label() {
	case $1 in
	a) echo "no queue" ;;
	k) echo "kernel conntrack" ;;
	b) echo "bare loop, every packet" ;;
	bg) echo "bare loop + GSO, every packet" ;;
	bs) echo "bare loop, only SYN/FIN/RST queued" ;;
	b1) echo "bare loop, only the pure SYN queued" ;;
	c) echo "nfqtrackd, shipped rules" ;;
	cm) echo "nfqtrackd, mark, stateful rules" ;;
	cs) echo "cm, the state alone (4-bit mask)" ;;
	f) echo "nfqtrackd, fast path, shipped rules" ;;
	fb) echo "f, the BPF carrier" ;;
	fbk) echo "fb, admission in the kernel" ;;
	fm) echo "nfqtrackd, fast path, mark, stateful" ;;
	fk) echo "f, SYN admitted in the kernel (ceiling)" ;;
	xb) echo "BPF map carrier, SYN in the kernel" ;;
	xr) echo "xb, SYN under budgets, ring buffer" ;;
	ce) echo "nfqtrackd, accounting + IPFIX export" ;;
	cv) echo "ce + nfqtrackctl events to a file" ;;
	esac
}

# The table; mean's expressions are awk's, in single quotes.
# shellcheck disable=SC2016
{
	echo "real software, two namespaces, mean of $REAL_RUNS rounds of $REAL_SECS s:" \
		"web = nginx ($NGINX_WORKERS worker) to wrk ($WRK_THREADS thread, $WRK_CONNS connections," \
		"Connection: close), bulk = one iperf3 TCP transfer"
	printf '%-40s | %9s | %4s | %8s | %8s | %8s | %9s | %4s | %8s | %8s\n' \
		case "web req/s" /a "pkts/req" "us/req c" "us/req t" "bulk Gb/s" /a "ms/GB c" "ms/GB t"
	wa=$(mean web a '$4')
	ba=$(mean bulk a '$4')
	for c in $REAL_CASES; do
		w=$(mean web "$c" '$4')
		g=$(mean bulk "$c" '$4')
		printf '%-40s | %9s | %4s | %8s | %8s | %8s | %9s | %4s | %8s | %8s\n' \
			"$c  $(label "$c")" "$(num "$w" %.0f)" "$(ratio "$w" "$wa")" \
			"$(num "$(mean web "$c" '($5 > 0 ? $8 / $5 : 0)')" %.2f)" \
			"$(num "$(mean web "$c" '($5 > 0 ? $6 / hz * 1e6 / $5 : 0)')" %.1f)" \
			"$(num "$(mean web "$c" '($5 > 0 ? $7 / hz * 1e6 / $5 : 0)')" %.1f)" \
			"$(num "$g" %.2f)" "$(ratio "$g" "$ba")" \
			"$(num "$(mean bulk "$c" '($5 > 0 ? $6 / hz * 1e12 / $5 : 0)')" %.0f)" \
			"$(num "$(mean bulk "$c" '($5 > 0 ? $7 / hz * 1e12 / $5 : 0)')" %.0f)"
	done
	echo "pkts/req: packets queued per request; us/req, ms/GB: CPU of the consumer (c) and in total (t: consumer, server, client)"
	awk -F'\t' '$2 ~ /^[cf]/ && $2 != "fk" && $1 == "web" { printf "nfqtrackd (%s) flows_created, web run %s: %s for %s requests (%s socket errors)\n", $2, $3, $9, $5, $10 }
		$2 ~ /^[cf]/ && $2 != "fk" && $1 == "bulk" { printf "nfqtrackd (%s) flows_created, bulk run %s: %s\n", $2, $3, $9 }' "$OUT/real.tsv"
	awk -F'\t' '$10 > 0 && $1 == "web" { printf "warning: web %s run %s: %s socket errors\n", $2, $3, $10 }' "$OUT/real.tsv"
} >"$OUT/real.txt"
cat "$OUT/real.txt"
