#!/bin/bash
# The kernel fast path (fastpath = yes, issue 16) with real traffic: the
# daemon admits each flow, the kernel carries its established packets in
# nfqtrackd's nftables table (inet nfqtrack: sets est4/6, close4/6,
# udp4/6), and the queue sees the rest. Under the shipped rules
# (conf/nfqtrack.rules, nfqtrack6.rules: the NFQUEUE rules skip packets
# marked SEEN) and the shipped stateful rules (nfqtrack-stateful.rules,
# verdict_mode = mark), IPv4 and IPv6, with timeouts of seconds so that
# the daemon's checks of its fast flows come within the test:
#   traffic  many short connections cost the queue a packet or so each and
#            are all admitted (flows_created); a long connection is in the
#            est set, ESTABLISHED and fast in the daemon after a check,
#            stays while busy for longer than every list timeout, moves
#            to closing when it closes, and the daemon's table empties
#            after the close timeout; no kernel element without its flow
#   udp      a flow admitted after fastpath_udp_after packets with a reply,
#            DNS-like one-datagram flows not
#   limits   max_flows refuses new connections as without the fast path;
#            an evicted fast flow's elements leave the kernel; a SYN flood
#            from a /24 meets max_new_per_source (flood.sh)
#   death    kill -9: admitted connections keep flowing in the kernel, new
#            ones pass by --queue-bypass (the stateful rules: to the open
#            port only, fail-closed), the table stays; a restart
#            recreates it empty and picks the connections up through the
#            queue; SIGTERM removes the table
#   reload   SIGHUP and nfqtrackctl reload keep the elements; fastpath = no
#            removes the table and traffic goes on through the queue; yes
#            again recreates it
#   flush    empties the daemon's table and the kernel's sets; connections
#            go on, picked up again
#   queues   queues = 0-1: flows admitted from both queues, one table
#   blocked  a port the host's firewall closes before the queue rules:
#            no flow for its SYNs, judged in the kernel or not
# With NFQT_CARRIER=bpf and NFQT_KADMIT=1 (35-fastpath-kernel-admit.sh),
# new TCP connections admitted in the kernel under the daemon's budget,
# wherever there is one queue, and besides, each short connection learned
# and none of its packets queued.
# With NFQT_CARRIER=bpf, the same with the
# BPF carrier: no sets (the checks' names still say sets), the live
# entries of its map (lib.sh's carrier_flows, with bpftool) read where
# the sets' elements are, and besides, no dead entry left once its flow
# is gone (the daemon removes them, where the kernel's garbage collection
# removes the sets' expired elements).
QUEUE_RULES=no
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

FT=nfqtrack     # the table's name (fastpath_table's default)
T_OPEN=2        # timeout_tcp_syn_recv: an admitted flow's first check
T_EST=3         # timeout_tcp_established: the est elements' idle timeout
T_CLOSE=2       # timeout_tcp_time_wait and _close: the close elements'
T_UDP=4         # timeout_udp_stream: the udp elements'
UDP_AFTER=8     # fastpath_udp_after
SHORT=60        # short connections per run
BUSY_SECS=9     # a busy flow's steady traffic: more than T_OPEN + 2 T_EST
export TCP_CMD_WAIT=30

nsx() { ip netns exec "$NS_S" "$@"; }

# fp_conf FILE [KEY=VALUE...]: a config with the fast path on and short
# timeouts, each key as given (a key set twice is an error).
fp_conf() {
	local f=$1 kv
	declare -A c=(
		[fastpath]=yes [fastpath_udp_after]=$UDP_AFTER
		[timeout_tcp_syn_recv]=$T_OPEN [timeout_tcp_established]=$T_EST
		[timeout_tcp_time_wait]=$T_CLOSE [timeout_tcp_close]=$T_CLOSE
		[timeout_udp_stream]=$T_UDP [log_rate]=1000 [log_burst]=1000
	)
	shift
	for kv in "$@"; do c[${kv%%=*}]=${kv#*=}; done
	for kv in "${!c[@]}"; do echo "$kv = ${c[$kv]}"; done | sort | write_conf "$f"
}

# shipped_rules KIND [QUEUE_TARGET]: the server's rules replaced by the
# shipped files (KIND "" or "-stateful"), eth0 -> veth-s and veth-sa,
# queue 0 or QUEUE_TARGET ("--queue-balance 0:1").
shipped_rules() {
	local f ipt out c
	for ipt in iptables ip6tables; do
		nsx $ipt -t raw -F && nsx $ipt -t mangle -F && nsx $ipt -F || return 1
		for c in INPUT FORWARD OUTPUT; do nsx $ipt -P $c ACCEPT || return 1; done
	done
	for f in nfqtrack nfqtrack6; do
		[ $f = nfqtrack ] && ipt=iptables || ipt=ip6tables
		out=$T/$f$1.rules
		# Each line for veth-s again for veth-sa, the attacker's link
		# (flood.sh).
		sed 's/\<eth0\>/veth-s/g' "$TOP/conf/$f$1.rules" | awk '
			{ print }
			/-[io] veth-s / { l = $0; gsub(/veth-s /, "veth-sa ", l); print l }
		' >"$out"
		[ -z "${2:-}" ] || sed -i "s/--queue-num 0/$2/" "$out"
		if [ -n "$1" ]; then
			nsx $ipt-restore "$out" || return 1
		else
			nsx $ipt-restore --noflush "$out" || return 1
		fi
		# Above the queue rules, a rule that counts the TCP packets
		# that reach them (tcp_queued).
		QTABLE=filter
		[ -z "$1" ] || QTABLE=mangle
		nsx $ipt -t $QTABLE -I INPUT 1 -i veth-s -p tcp "${SEEN_SKIP[@]}" \
			-m comment --comment tcpq &&
			nsx $ipt -t $QTABLE -I OUTPUT 1 -o veth-s -p tcp "${SEEN_SKIP[@]}" \
				-m comment --comment tcpq || return 1
	done
}

# tcp_queued: the TCP packets on veth-s that reached the queue rules (not
# marked SEEN by the fast path) since the rules were loaded.
tcp_queued() {
	local ipt c
	for ipt in iptables ip6tables; do
		for c in INPUT OUTPUT; do
			nsx $ipt -t "$QTABLE" -L $c -v -x -n
		done
	done | awk '/\/\* tcpq \*\// { n += $1 } END { print n + 0 }'
}

# table_there: nfqtrackd's table exists in the server namespace.
table_there() { nsx nft list table inet "$FT" >/dev/null 2>&1; }

# elems SET...: the elements of the sets, one a line: "SET SRC DST PROTO
# SPORT DPORT". With the BPF carrier, its map's live entries of those
# classes, as carrier_flows lists them (a dead one, like an expired
# element, left out).
elems() {
	local s
	if [ "$CARRIER" = bpf ]; then
		carrier_flows "$@"
		return 0
	fi
	for s in "$@"; do
		nsx nft -j list set inet "$FT" "$s" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for o in d.get("nftables", []):
    s = o.get("set")
    if not s:
        continue
    for e in s.get("elem", []):
        v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        if isinstance(v, dict) and "concat" in v:
            print(s["name"], *v["concat"])
'
	done
}

ALLSETS=(est4 close4 udp4 est6 close6 udp6)

# nelems SET...: how many elements the sets hold.
nelems() { elems "$@" | wc -l; }

# digest SET...: the sets' elements in one word (sorted, summed).
digest() { elems "$@" | sort | md5sum | cut -c1-12; }

# held SET...: what the kernel holds for the sets, as elems prints it:
# their elements (an expired one goes by the kernel's garbage
# collection); with the BPF carrier, its map's entries, the dead ones
# too, which stay until the daemon removes them (when it frees the flow,
# or finds them dead at a check).
held() {
	if [ "$CARRIER" = bpf ]; then
		carrier_flows -a "$@"
	else
		elems "$@"
	fi
}

# flows [FILTER...]: the daemon's flows, one a line: "PROTO SRC SPORT DST
# DPORT STATE FAST" (FAST: fast or slow; STATE - for no state).
flows() {
	"$NFQTRACKCTL" -s "$CTL" -o json list "$@" 2>/dev/null | python3 -c '
import json, sys
try:
    fl = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for f in fl:
    print(f["proto"], f["src"], f.get("sport", "-"), f["dst"], f.get("dport", "-"),
          f.get("state", "-"), "fast" if f.get("fast") else "slow")
'
}

# orphans: kernel elements of no flow in the daemon's table (each must
# belong to one, else its packets would pass untracked past the limits;
# with the BPF carrier, a dead entry must not outlive its flow either,
# else the map fills up).
orphans() {
	python3 - <(flows) <(held "${ALLSETS[@]}") <<-'EOF'
		import sys
		known = set()
		for l in open(sys.argv[1]):
		    p, s, sp, d, dp = l.split()[:5]
		    known.add((s, d, p, sp, dp))
		    known.add((d, s, p, dp, sp))
		n = 0
		for l in open(sys.argv[2]):
		    name, s, d, p, sp, dp = l.split()
		    if (s, d, p, sp, dp) not in known:
		        n += 1
		        print("# orphan:", l.strip(), file=sys.stderr)
		print(n)
	EOF
}

# flow_of ADDR SPORT: the TCP flow from ADDR:SPORT to the server's PORT in
# the daemon ("" if none), as flows prints it.
flow_of() { flows -p tcp --src "$1" | awk -v s="$2" -v p="$PORT" '$3 == s && $5 == p'; }

# client_port: the source port of the client's one established
# connection to PORT.
client_port() {
	ip netns exec "$NS_C" ss -Htn state established "( dport = :$PORT )" |
		awk '{ n = split($3, a, ":"); print a[n]; exit }'
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# link_packets: packets through the client's veth, both ways.
link_packets() {
	ip -n "$NS_C" -s -j link show veth-c | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["packets"] + s["tx"]["packets"])'
}

# in_est FAM SRC SPORT DST: both directions of the TCP flow SRC:SPORT ->
# DST:PORT are in est<FAM>.
in_est() {
	local e
	e=$(elems "est$1")
	echo "$e" | grep -q "^est$1 $2 $4 tcp $3 $PORT\$" &&
		echo "$e" | grep -q "^est$1 $4 $2 tcp $PORT $3\$"
}

# Conditions to wait for.
# state_is ADDR SPORT "STATE FAST", is_fast ADDR SPORT, closing_or_gone
# ADDR SPORT: of that flow (flow_of).
# echo_until SECS COMMAND...: the long connection echoes every 0.5 s (it
# stays busy) until COMMAND succeeds, at most SECS seconds.
echo_until() {
	local n=$1
	shift
	for _ in $(seq $((n * 2))); do
		tcp_cmd echo 2000 >/dev/null
		"$@" && return 0
		sleep 0.5
	done
	return 1
}
state_is() { [ "$(flow_of "$1" "$2" | awk '{ print $6 " " $7 }')" = "$3" ]; }
is_fast() { [ "$(flow_of "$1" "$2" | awk '{ print $7 }')" = fast ]; }
no_tcp_flows() { [ -z "$(flows -p tcp)" ]; }
not_in_est() { ! in_est "$@"; }
table_gone() { ! table_there; }
udp_fast() { [ "$(flows -p udp | grep -c ' fast$')" -ge 1 ]; }
no_udp_fast() { ! udp_fast; }
# nelems_is N SET...: the sets hold N elements.
nelems_is() { [ "$(nelems "${@:2}")" = "$1" ]; }
# reloads_logged N: syslog has N lines "reloaded: ...".
reloads_logged() { [ "$(grep -c ' reloaded: ' "$SYSLOG")" -ge "$1" ]; }
# set_empty SET: there, and empty.
set_empty() { nsx nft list set inet "$FT" "$1" >/dev/null 2>&1 && nelems_is 0 "$1"; }
# map_empty: the BPF carrier's map is there, with no live entry, and the
# table has no set.
map_empty() {
	local l
	l=$(carrier_flows) && [ -z "$l" ] &&
		! nsx nft list table inet "$FT" 2>/dev/null | grep -q '^[[:space:]]*set '
}
# counter_ge NAME N: the daemon's counter NAME is N or more.
counter_ge() { [ "$(counter "$1")" -ge "$2" ]; }
# established N: the daemon has N TCP flows ESTABLISHED.
established() {
	[ "$("$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null | wc -l)" = "$1" ]
}
closing_or_gone() {
	case $(flow_of "$1" "$2" | awk '{ print $6 }') in
	"" | TIME_WAIT | CLOSE | FIN_WAIT | LAST_ACK | CLOSE_WAIT) return 0 ;;
	*) return 1 ;;
	esac
}

# busy LABEL FAM CLIENT SPORT: the client's one connection echoes steadily
# for BUSY_SECS, longer than every list timeout: the daemon shows it
# ESTABLISHED and fast all along, never expires it (none of its packets
# reaches the queue rules, counted by rules of its own: a flow picked up
# again would be queued).
busy() {
	local l=$1 c=$3 p=$4 ipt=iptables n=0 seen=0 k
	[ "$2" = 4 ] || ipt=ip6tables
	nsx $ipt -t "$QTABLE" -I INPUT 1 -i veth-s -p tcp --sport "$p" "${SEEN_SKIP[@]}" \
		-m comment --comment busy
	nsx $ipt -t "$QTABLE" -I OUTPUT 1 -o veth-s -p tcp --dport "$p" "${SEEN_SKIP[@]}" \
		-m comment --comment busy
	for k in $(seq $((BUSY_SECS * 4))); do
		[ "$(tcp_cmd echo 2000)" = "echo ok=1 fail=0" ] && n=$((n + 1))
		state_is "$c" "$p" "ESTABLISHED fast" && seen=$((seen + 1))
		sleep 0.25
	done
	expect "$l: busy for ${BUSY_SECS}s: every echo round" "$n" $((BUSY_SECS * 4))
	expect "$l: busy: the daemon showed it ESTABLISHED and fast all along" "$seen" \
		$((BUSY_SECS * 4))
	expect "$l: busy: none of its packets queued: never expired, never picked up again" \
		"$({ nsx $ipt -t "$QTABLE" -L INPUT -v -x -n
			nsx $ipt -t "$QTABLE" -L OUTPUT -v -x -n; } |
			awk '/\/\* busy \*\// { n += $1 } END { print n + 0 }')" 0
	nsx $ipt -t "$QTABLE" -D INPUT 1 && nsx $ipt -t "$QTABLE" -D OUTPUT 1
	snapshot
	echo "# $l: busy: fastpath_checks=${S[fastpath_checks]:-?}" \
		"fastpath_alive=${S[fastpath_alive]:-?}"
}

# blocked: a port the host's firewall closes, by a rule before the queue
# rule (as ufw's are). Its SYNs never reach the queue, and those judge
# admitted in the kernel (before the filter) are no flows either: no
# record, no entries, their units back to the daemon (fastpath_filtered).
blocked() {
	local c0 k0 f0 r
	c0=$(counter flows_created)
	k0=$(counter fastpath_learned)
	f0=$(counter fastpath_filtered)
	nsx iptables -I INPUT 1 -i veth-s -p tcp --dport 81 -j DROP
	r=$(ip netns exec "$NS_C" "$FLOWGEN" client -d "$V4_S" -p 81 -t 10 \
		<<<"open 5 1500" | head -1)
	nsx iptables -D INPUT -i veth-s -p tcp --dport 81 -j DROP
	expect "blocked: 5 connections to a port the firewall closes fail" \
		"$r" "open ok=0 fail=5"
	# The units come back at the second turn after they were taken.
	sleep 0.3
	expect "blocked: no flow for them" "$(($(counter flows_created) - c0))" 0
	expect "blocked: none learned" "$(($(counter fastpath_learned) - k0))" 0
	expect "blocked: none in the daemon's table" \
		"$(flows -p tcp | awk '$5 == 81' | wc -l)" 0
	if [ "$KADMIT" != 0 ]; then
		expect_ge "blocked: their SYNs judged in the kernel, units returned" \
			"$(($(counter fastpath_filtered) - f0))" 5
		expect "blocked: no entry in the kernel's map" \
			"$(carrier_flows -a | awk '$6 == 81' | wc -l)" 0
	fi
}

# traffic LABEL FAM CLIENT SERVER [busy]: the short connections and the
# long one, busy if asked, then closed (see the header).
traffic() {
	local l=$1 f=$2 c=$3 s=$4 r p0 q0 q1 p1 a0 k0 p n
	a0=$(counter fastpath_admitted)
	k0=$(counter fastpath_learned)
	q0=$(tcp_queued)
	p0=$(link_packets)
	tcp_client "$s"
	r=$(tcp_cmd churn "$SHORT" 100 3000)
	expect "$l: $SHORT short connections" "$(field ok "$r")" "$SHORT"
	q1=$(tcp_queued)
	p1=$(link_packets)
	echo "# $l: $SHORT short connections: $((p1 - p0)) packets on the link," \
		"$((q1 - q0)) TCP packets queued"
	# Admitted in the kernel, the last are learned on the next tick.
	[ "$KADMIT" = 0 ] || wait_for 2 counter_ge fastpath_learned $((k0 + SHORT))
	expect "$l: a flow each in the daemon" "$(flows -p tcp | wc -l)" "$SHORT"
	expect "$l: all admitted" "$(($(counter fastpath_admitted) - a0))" "$SHORT"
	if [ $((q1 - q0)) -le $((3 * SHORT)) ]; then
		ok "$l: the queue saw $((q1 - q0)) of their packets, at most 3 per connection"
	else
		fail "$l: the queue saw $((q1 - q0)) of their packets, more than 3 per connection"
	fi
	expect_ge "$l: the link carried at least 8 per connection" $((p1 - p0)) $((8 * SHORT))
	if [ "$KADMIT" != 0 ]; then
		expect "$l: each admitted in the kernel, learned" \
			"$(($(counter fastpath_learned) - k0))" "$SHORT"
		expect "$l: none taken back" "$(counter fastpath_unlearned)" 0
		expect "$l: not one of their packets queued" "$((q1 - q0))" 0
	fi

	# The long one.
	tcp_client "$s"
	expect "$l: a long connection" "$(tcp_cmd open 1 3000)" "open ok=1 fail=0"
	expect "$l: it echoes" "$(tcp_cmd echo 3000)" "echo ok=1 fail=0"
	p=$(client_port)
	check "$l: both its directions are in est$f" in_est "$f" "$c" "$p" "$s"
	check "$l: fast in the daemon" is_fast "$c" "$p"
	echo "# $l: the long flow, admitted: $(flow_of "$c" "$p")"
	# Echoing while it waits: idle for T_EST, its elements would expire
	# (as they should) before or at the first check, T_OPEN + 1 s after
	# the admission, and the busy test's first packet be picked up again.
	check "$l: ESTABLISHED and fast after the daemon's check (${T_OPEN}s)" \
		echo_until $((T_OPEN + 3)) state_is "$c" "$p" "ESTABLISHED fast"

	[ "${5:-}" != busy ] || busy "$l" "$f" "$c" "$p"
	expect "$l: no kernel element without its flow" "$(orphans)" 0

	# Closed: out of est, closing or gone in the daemon, then gone.
	tcp_done
	check "$l: closed: out of est$f at once" wait_for 2 not_in_est "$f" "$c" "$p" "$s"
	check "$l: closed: the daemon has it closing, or gone" \
		wait_for $((T_EST + 3)) closing_or_gone "$c" "$p"
	check "$l: the daemon's table empties after the close timeout" \
		wait_for $((T_EST + 2 * T_CLOSE + 4)) no_tcp_flows
	n=$(nelems "est$f" "close$f")
	expect "$l: the kernel's sets empty" "$n" 0
	[ "$n" = 0 ] || { held "est$f" "close$f"; flows; } | sed 's/^/# left: /'
	[ "$CARRIER" != bpf ] ||
		expect "$l: the map holds none of them, dead or alive" \
			"$(held "est$f" "close$f" | wc -l)" 0
}

# udp LABEL FAM SERVER: a stream admitted after UDP_AFTER packets with a
# reply; one-datagram flows not.
udp() {
	local l=$1 f=$2 s=$3 r q0 q1
	q0=$(counter queue_packets)
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$s" -p "$PORT" -n 30 -f 1 -w 500 -t 20)
	expect "$l: a UDP stream, every datagram answered" "$r" "udp sent=30 recv=30"
	q1=$(counter queue_packets)
	echo "# $l: UDP stream of 60 packets: $((q1 - q0)) queued"
	if [ $((q1 - q0)) -le $((UDP_AFTER + 4)) ]; then
		ok "$l: queued until admitted ($((q1 - q0)) <= $UDP_AFTER + 4)"
	else
		fail "$l: $((q1 - q0)) of its 60 packets queued, admitted after $UDP_AFTER"
	fi
	expect "$l: both its directions in udp$f" "$(nelems "udp$f")" 2
	check "$l: fast in the daemon" udp_fast
	q0=$(counter queue_packets)
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$s" -p "$PORT" -n 10 -f 10 -w 500 -t 20)
	expect "$l: 10 DNS-like flows answered" "$r" "udp sent=10 recv=10"
	expect "$l: each queued whole (query, answer)" "$(($(counter queue_packets) - q0))" 20
	expect "$l: none admitted" "$(nelems "udp$f")" 2
	expect "$l: no kernel element without its flow" "$(orphans)" 0
	check "$l: the stream's elements expire (${T_UDP}s)" \
		wait_for $((T_UDP + 2)) nelems_is 0 "udp$f"
	check "$l: and the daemon forgets it" wait_for $((T_UDP + 2)) no_udp_fast
	[ "$CARRIER" != bpf ] ||
		expect "$l: the map holds none of it, dead or alive" "$(held "udp$f" | wc -l)" 0
}

setup_net || { fail "network setup"; done_testing; }
setup_attacker || { fail "attacker setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
shipped_rules "" || { fail "the shipped rules"; done_testing; }
start_server

# --- The shipped rules: traffic, UDP, IPv4 and IPv6.
fp_conf "$T/fp.conf"
start_daemon "$T/fp.conf" || { fail "daemon start"; done_testing; }
check "the daemon made its table" table_there
if [ "$CARRIER" = bpf ]; then
	# No sets: the flows go in the carrier's map, made at the start.
	check "no set: the BPF carrier's map, empty" map_empty
else
	for s in "${ALLSETS[@]}"; do
		check "its set $s, empty" set_empty "$s"
	done
fi
traffic "IPv4" 4 "$V4_C" "$V4_S" busy
traffic "IPv6" 6 "$V6_C" "$V6_S"
blocked
udp "IPv4 UDP" 4 "$V4_S"
udp "IPv6 UDP" 6 "$V6_S"
snapshot
echo "# counters: $(for k in "${!S[@]}"; do [[ $k == fastpath* ]] && printf '%s=%s ' "$k" "${S[$k]}"; done)"
expect_ge "stats: fastpath_admitted" "${S[fastpath_admitted]:-}" $((2 * SHORT + 2))
expect_ge "stats: fastpath_checks" "${S[fastpath_checks]:-}" 1
expect_ge "stats: fastpath_alive" "${S[fastpath_alive]:-}" 1
expect_ge "stats: fastpath_ended" "${S[fastpath_ended]:-}" 1
expect "stats: fastpath_errors" "${S[fastpath_errors]:-}" 0
m=$("$NFQTRACKCTL" -s "$CTL" metrics)
check "metrics: nfqtrack_fastpath_admitted_total" grep -q '^nfqtrack_fastpath_admitted_total [1-9]' <<<"$m"
check "metrics: nfqtrack_fastpath_checks_total" grep -q '^nfqtrack_fastpath_checks_total ' <<<"$m"
check_accounting "traffic"

# --- Reload with fast flows alive; fastpath = no and back; flush.
tcp_client "$V4_S"
expect "reload: 5 connections" "$(tcp_cmd open 5 3000)" "open ok=5 fail=0"
expect "reload: they echo" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
n=$(nelems est4)
expect "reload: their 10 elements in est4" "$n" 10
if [ "$n" != 10 ]; then
	elems est4 | sed 's/^/# /'
	flows | sed 's/^/# /'
fi
before=$(digest est4)
cr0=$(counter flows_created)
sed -i "s/^log_rate = .*/log_rate = 999/" "$T/fp.conf"
n=$(grep -c ' reloaded: ' "$SYSLOG")
kill -HUP "$DAEMON_PID"
check "SIGHUP: reloaded" wait_for 5 reloads_logged $((n + 1))
expect "SIGHUP: the elements kept" "$(digest est4)" "$before"
expect "SIGHUP: they echo" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "nfqtrackctl reload" "$?" 0
expect "nfqtrackctl reload: the elements kept" "$(digest est4)" "$before"
expect "nfqtrackctl reload: they echo" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
expect "reloads: no flow lost and picked up again" "$(($(counter flows_created) - cr0))" 0
sed -i 's/^fastpath = yes/fastpath = no/' "$T/fp.conf"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload fastpath = no" "$?:$r" "0:$r"
check "fastpath = no: the table is gone" wait_for 2 table_gone
q0=$(counter queue_packets)
expect "fastpath = no: they echo" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
expect_ge "fastpath = no: through the queue" "$(($(counter queue_packets) - q0))" 10
sed -i 's/^fastpath = no/fastpath = yes/' "$T/fp.conf"
"$NFQTRACKCTL" -s "$CTL" reload >/dev/null 2>&1
expect "reload fastpath = yes" "$?" 0
check "fastpath = yes again: the table is back" wait_for 2 table_there
for k in 1 2 3; do tcp_cmd echo 3000 >/dev/null; sleep 0.2; done
expect "fastpath = yes again: they echo" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
check "fastpath = yes again: admitted again (10 elements)" wait_for 3 nelems_is 10 est4
expect "no kernel element without its flow" "$(orphans)" 0

r=$("$NFQTRACKCTL" -s "$CTL" flush 2>&1)
echo "# flush: $r"
expect "flush: the daemon's table is empty" "$(counter flows)" 0
expect "flush: the kernel's sets are empty" "$(nelems "${ALLSETS[@]}")" 0
[ "$CARRIER" != bpf ] ||
	expect "flush: the map is empty, dead or alive" "$(held "${ALLSETS[@]}" | wc -l)" 0
expect "flush: the connections go on" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
check "flush: picked up again, ESTABLISHED" wait_for 3 established 5
expect "flush: they echo again" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
expect "flush: and are admitted again" "$(nelems est4)" 10

# --- Daemon death with admitted connections.
check "death: admitted and checked" wait_for $((T_OPEN + 3)) established 5
{ stop_daemon KILL; } 2>/dev/null
expect "death: SIGKILL" "$DAEMON_RC" 137
check "death: the table is still there" table_there
q0=$(nsx iptables -L INPUT -v -x -n | awk '$3 == "NFQUEUE" { n += $1 } END { print n + 0 }')
ok_n=0
for k in 1 2 3 4 5; do
	[ "$(tcp_cmd echo 3000)" = "echo ok=5 fail=0" ] && ok_n=$((ok_n + 1))
	sleep 0.2
done
expect "death: the admitted connections keep flowing" "$ok_n" 5
expect "death: in the kernel, not past the queue rule" \
	"$(nsx iptables -L INPUT -v -x -n | awk '$3 == "NFQUEUE" { n += $1 } END { print n + 0 }')" "$q0"
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 2 -f 2 -w 500 -t 10)
expect "death: new flows pass (--queue-bypass)" "$r" "udp sent=2 recv=2"
tcp_client2() { ip netns exec "$NS_C" "$FLOWGEN" client -d "$V4_S" -p "$PORT" -t 10 <<<"open 1 2000"; }
expect "death: a new connection passes (--queue-bypass)" "$(tcp_client2 | head -1)" "open ok=1 fail=0"
start_daemon "$T/fp.conf" || { fail "restart"; done_testing; }
check "restart: the table is there" table_there
expect "restart: empty" "$(nelems "${ALLSETS[@]}")" 0
expect "restart: the connections echo" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
expect "restart: picked up through the queue, ESTABLISHED" \
	"$("$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null | wc -l)" 5
check "restart: and admitted again" wait_for 3 nelems_is 10 est4
expect "restart: they go on" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
stop_daemon TERM
expect "SIGTERM: exit 0" "$DAEMON_RC" 0
check "SIGTERM: the table is gone" table_gone
expect "SIGTERM: the connections go on (--queue-bypass)" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
tcp_done

# --- Limits. max_flows: new connections beyond it refused exactly as
# without the fast path: once the daemon has checked the flows with the
# kernel (ESTABLISHED, assured), and right after the handshakes, which the
# daemon has not seen (the kernel's tracker would have them assured).
for when in "after the check" "before the check"; do
	fp_conf "$T/limit.conf" max_flows=10 timeout_tcp_established=60
	start_daemon "$T/limit.conf" || { fail "limit: daemon start"; done_testing; }
	tcp_client "$V4_S"
	expect "max_flows, $when: 10 connections" "$(tcp_cmd open 10 3000)" "open ok=10 fail=0"
	[ "$when" = "before the check" ] || check "max_flows: checked: ESTABLISHED" \
		wait_for $((T_OPEN + 3)) established 10
	expect "max_flows, $when: beyond it refused" "$(tcp_cmd open 2 1500)" "open ok=0 fail=2"
	expect_ge "max_flows, $when: dropped for table_full" "$(counter dropped_table_full)" 2
	expect "max_flows, $when: none evicted" "$(counter flows_evicted)" 0
	expect "max_flows, $when: the 10 echo" "$(tcp_cmd echo 3000)" "echo ok=10 fail=0"
	expect "max_flows, $when: 10 flows, 20 elements" "$(counter flows) $(nelems est4)" "10 20"
	expect "max_flows, $when: no kernel element without its flow" "$(orphans)" 0
	tcp_done
	stop_daemon TERM
done

# An evicted fast flow's elements leave the kernel: closed connections
# (closing in the kernel, TIME_WAIT in the daemon after its checks) make
# room for new ones under early_drop.
fp_conf "$T/evict.conf" max_flows=6 on_full=early_drop \
	timeout_tcp_time_wait=60 timeout_tcp_close=60
start_daemon "$T/evict.conf" || { fail "evict: daemon start"; done_testing; }
tcp_client "$V4_S"
expect "evict: 6 connections" "$(tcp_cmd open 6 3000)" "open ok=6 fail=0"
tcp_done
sleep 0.5
expect "evict: closed: closing in the kernel" "$(nelems close4)" 12
sleep $((T_OPEN + 3))
echo "# evict: $(flows -p tcp | awk '{ print $6 }' | sort | uniq -c | tr -s ' \n' ' ')"
tcp_client "$V4_S"
expect "evict: 2 new connections" "$(tcp_cmd open 2 3000)" "open ok=2 fail=0"
expect "evict: two fast flows evicted" "$(counter evicted_early_drop)" 2
expect "evict: their elements are gone: 8 closing, 4 new" "$(nelems close4) $(nelems est4)" "8 4"
expect "evict: no kernel element without its flow" "$(orphans)" 0
tcp_done
stop_daemon TERM

# A SYN flood from a /24 against per-source limits (flood.sh's scenario,
# its connections admitted to the fast path; it starts its own server).
stop_pid "$SERVER_PID"
FLOOD_RATE=10000 FLOOD_SECS=3 FLOOD_LEAD=0.5 MAX_FLOWS=2000 HELD=10
CHURN_RATE=20 CHURN_N=40 CHURN_MS=2000 QUERY_N=0
flooded() {
	expect "$1: no established connection lost" "$LOST" 0
	expect_pct_ge "$1: the client's new connections succeed" "$NEW_OK" "$CHURN_N" 99
	expect_ge "$1: the attacking /24 was limited" \
		"$((${S[dropped_source_limit]:-0} + ${S[dropped_source_rate]:-0}))" 1
	expect "$1: no kernel element without its flow" "$(orphans)" 0
}
flood_scenario "fast SYN flood" syn 10.66.7.0/24 "$PORT" flooded <<-EOF
	fastpath = yes
	timeout_tcp_syn_recv = $T_OPEN
	on_full = early_drop
	source_prefix4 = 24
	max_flows_per_source = 100
	max_new_per_source = 50
EOF

# --- The shipped stateful rules, verdict_mode = mark: the open port 80.
shipped_rules -stateful || { fail "the shipped stateful rules"; done_testing; }
PORT=80
start_server
fp_conf "$T/mark.conf" verdict_mode=mark
start_daemon "$T/mark.conf" || { fail "mark: daemon start"; done_testing; }
traffic "stateful IPv4" 4 "$V4_C" "$V4_S" busy
traffic "stateful IPv6" 6 "$V6_C" "$V6_S"
tcp_client "$V4_S"
expect "stateful: 3 connections" "$(tcp_cmd open 3 3000)" "open ok=3 fail=0"
check "stateful: admitted and checked" wait_for $((T_OPEN + 3)) established 3
# The server's own connections (their replies need the ESTABLISHED mark)
# to a listener in the client's namespace; one new connection, out or in.
ip netns exec "$NS_C" "$FLOWGEN" serve -p 9000 -t 120 >/dev/null &
PIDS+=($!)
sleep 0.2
out_conn() { ip netns exec "$NS_S" "$FLOWGEN" client -d "$V4_C" -p 9000 -t 10 <<<"open 1 1500" | head -1; }
in_conn() { ip netns exec "$NS_C" "$FLOWGEN" client -d "$V4_S" -p "$PORT" -t 10 <<<"open 1 1500" | head -1; }
expect "stateful: the server's own connection out" "$(out_conn)" "open ok=1 fail=0"
{ stop_daemon KILL; } 2>/dev/null
expect "stateful, death: the admitted connections keep flowing (ESTABLISHED mark from the kernel)" \
	"$(tcp_cmd echo 3000)" "echo ok=3 fail=0"
expect "stateful, death: a new connection to the open port passes (its rule needs no state)" \
	"$(in_conn)" "open ok=1 fail=0"
# With fastpath_kernel_admit, the kernel admits until the grant's lease
# (0.3 s from the dead daemon's last tick) runs out.
[ "$KADMIT" = 0 ] || sleep 0.4
expect "stateful, death: a new connection of the server's fails (fail-closed: its replies unmarked)" \
	"$(out_conn)" "open ok=0 fail=1"
start_daemon "$T/mark.conf" || { fail "mark: restart"; done_testing; }
expect "stateful, restart: they echo" "$(tcp_cmd echo 3000)" "echo ok=3 fail=0"
expect "stateful, restart: the server's connections pass again" "$(out_conn)" "open ok=1 fail=0"
tcp_done
check_accounting "stateful"
stop_daemon TERM
expect "stateful: SIGTERM: exit 0" "$DAEMON_RC" 0
check "stateful: SIGTERM: the table is gone" table_gone

# --- Two queues, one table.
shipped_rules "" "--queue-balance 0:1" || { fail "the rules for two queues"; done_testing; }
NSRC=8
mac=$(netns_mac "$NS_C" veth-c)
SRCS=()
for i in $(seq "$NSRC"); do
	a=10.231.0.$((100 + i))
	SRCS+=("$a")
	ip -n "$NS_C" addr add "$a/24" dev veth-c
	ip -n "$NS_S" neigh replace "$a" lladdr "$mac" dev veth-s nud permanent
done
fp_conf "$T/mq.conf" queues=0-1 timeout_tcp_time_wait=60 timeout_tcp_close=60
start_daemon "$T/mq.conf" || { fail "queues: daemon start"; done_testing; }
for a in "${SRCS[@]}"; do
	tcp_client "$V4_S" "$a"
	r=$(tcp_cmd open 2 3000)
	[ "$r" = "open ok=2 fail=0" ] || fail "queues: TCP from $a: $r"
	r=$(tcp_cmd echo 3000)
	[ "$r" = "echo ok=2 fail=0" ] || fail "queues: echo from $a: $r"
	# Left open: the client is replaced, its connections closed.
	tcp_done
done
snapshot
echo "# queues: queue 0 ${S[queue_0_packets]:-?} packets, queue 1 ${S[queue_1_packets]:-?}"
expect_ge "queues: queue 0 admitted flows" "${S[queue_0_packets]:-0}" 1
expect_ge "queues: queue 1 admitted flows" "${S[queue_1_packets]:-0}" 1
expect "queues: every connection admitted" "${S[fastpath_admitted]:-}" $((2 * NSRC))
expect "queues: one table holds them: close4" "$(nelems close4)" $((4 * NSRC))
expect "queues: no kernel element without its flow" "$(orphans)" 0
"$NFQTRACKCTL" -s "$CTL" flush >/dev/null 2>&1
expect "queues: flush empties both tables and the sets" "$(counter flows) $(nelems "${ALLSETS[@]}")" "0 0"
stop_daemon TERM
expect "queues: SIGTERM: exit 0" "$DAEMON_RC" 0
check "queues: the table is gone" table_gone
done_testing
