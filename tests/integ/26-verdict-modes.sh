#!/bin/bash
# verdict_mode = mark and repeat through the real kernel: the state marks
# reach the rules after the queue rule, and those rules match them as they
# would match --ctstate. mark: the queue rule in mangle INPUT/OUTPUT, the
# filter table's rules see the marks. repeat: the queue rule in filter
# INPUT/OUTPUT skips marked packets, the packet goes through the chain
# again and meets the rules after it (those above it see it twice). The
# handshake's SYN is counted by the NEW match, the rest by ESTABLISHED,
# the server's packets in the REPLY direction, data as ASSURED, UDP's
# first packet NEW; a mark the admin set in other bits (mangle
# PREROUTING) survives. The loop guard: a queue rule that does not skip
# marked packets, in repeat mode: traffic still flows, in bounded time,
# every packet comes back once and is counted already_marked. A reload
# switches the mode under held connections without losing one. A 4-bit
# mark_mask writes the state alone.
# (The shipped stateful rules and the firewall agreement are tested
# elsewhere: this is the plumbing.)
QUEUE_RULES=no
. "$(dirname "$0")/lib.sh"

SEEN=0x01000000
ADMIN=0x00000042 # the admin's own mark, in bits outside mark_mask

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }

S4() { ip netns exec "$NS_S" iptables "$@"; }

# count TABLE CHAIN NAME: packets through the rule commented NAME.
count() {
	S4 -t "$1" -L "$2" -v -x -n |
		awk -v n="/* $3 */" 'index($0, n) { print $1; exit }'
}

# counting_rules CHAIN DEV: rules that only count, by mark, after the
# queue rule (filter table); each named by its comment, CHAIN's initial
# (in_, out_) before it.
counting_rules() {
	local ch=$1 io=-i p=in
	[ "$ch" = OUTPUT ] && io=-o p=out
	r() { local name=$1; shift; S4 -A "$ch" "$io" veth-s "$@" -m comment --comment "${p}_$name"; }
	r all
	r new -m mark --mark 0x03000000/0x0f000000
	r syn_new -p tcp --syn -m mark --mark 0x03000000/0x0f000000
	r est -m mark --mark 0x05000000/0x0f000000
	r est_rel -m mark --mark 0x05000000/0x0d000000
	r none -m mark --mark 0x01000000/0x0f000000
	r unseen -m mark ! --mark $SEEN/$SEEN
	r reply -m mark --mark 0x11000000/0x11000000
	r assured -m mark --mark 0x21000000/0x21000000
	r syn_assured -p tcp --syn -m mark --mark 0x21000000/0x21000000
	r synack_est_reply -p tcp --tcp-flags SYN,ACK SYN,ACK \
		-m mark --mark 0x15000000/0x1f000000
	r udp_new -p udp -m mark --mark 0x03000000/0x0f000000
	r udp_est -p udp -m mark --mark 0x05000000/0x0f000000
	r admin -m mark --mark $ADMIN/0xff
}

# load_rules MODE: the server's rules for mark, repeat, or loop (repeat
# with a queue rule that does not skip marked packets), counters at 0.
load_rules() {
	local target skip="-m mark ! --mark $SEEN/$SEEN"
	target=$(netns_queue_target "$QUEUES")
	S4 -t raw -F && S4 -t mangle -F && S4 -F || return 1
	S4 -t raw -A PREROUTING -i veth-s -j CT --notrack
	S4 -t raw -A OUTPUT -o veth-s -j CT --notrack
	S4 -t mangle -A PREROUTING -i veth-s -j MARK --set-xmark $ADMIN/0xff
	case $1 in
	mark)
		# shellcheck disable=SC2086
		S4 -t mangle -A INPUT -i veth-s $skip -j NFQUEUE $target &&
			S4 -t mangle -A OUTPUT -o veth-s $skip -j NFQUEUE $target
		;;
	repeat | loop)
		[ "$1" = loop ] && skip=
		S4 -A INPUT -i veth-s -m comment --comment in_above
		S4 -A OUTPUT -o veth-s -m comment --comment out_above
		# shellcheck disable=SC2086
		S4 -A INPUT -i veth-s $skip -j NFQUEUE $target &&
			S4 -A OUTPUT -o veth-s $skip -j NFQUEUE $target
		;;
	esac || return 1
	counting_rules INPUT && counting_rules OUTPUT
}

# set_mode MODE: verdict_mode MODE by a reload.
set_mode() {
	write_conf "$T/nfqtrack.conf" <<-EOF
		verdict_mode = $1
	EOF
	"$NFQTRACKCTL" -s "$CTL" reload >/dev/null
}

# traffic: 5 TCP connections opened, echoed on, closed; 10 UDP datagrams
# over 2 flows, echoed.
traffic() {
	local label=$1 r
	tcp_client "$V4_S"
	expect "$label: 5 TCP connections" "$(tcp_cmd open 5 3000)" "open ok=5 fail=0"
	expect "$label: data on them" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
	tcp_cmd close >/dev/null
	tcp_done
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 10 -f 2 -w 1000)
	expect "$label: UDP echoed" "$r" "udp sent=10 recv=10"
	sleep 0.3
}

# check_marks LABEL: what the counting rules saw of traffic().
check_marks() {
	local l=$1 c
	declare -A C
	for c in all new syn_new est est_rel none unseen reply assured \
		syn_assured synack_est_reply udp_new udp_est admin; do
		C[in_$c]=$(count filter INPUT "in_$c")
		C[out_$c]=$(count filter OUTPUT "out_$c")
	done
	echo "# $l: INPUT all=${C[in_all]} new=${C[in_new]} est=${C[in_est]}" \
		"assured=${C[in_assured]} reply=${C[in_reply]} udp_new=${C[in_udp_new]};" \
		"OUTPUT all=${C[out_all]} est=${C[out_est]} reply=${C[out_reply]}" \
		"synack=${C[out_synack_est_reply]}"
	expect_ge "$l: INPUT packets reached the rules after the queue" "${C[in_all]}" 30
	expect "$l: every INPUT packet marked (none unseen)" "${C[in_unseen]}" 0
	expect "$l: every OUTPUT packet marked (none unseen)" "${C[out_unseen]}" 0
	expect "$l: no packet with the state left NONE (INPUT)" "${C[in_none]}" 0
	expect "$l: no packet with the state left NONE (OUTPUT)" "${C[out_none]}" 0
	expect "$l: the 5 SYNs matched NEW" "${C[in_syn_new]}" 5
	expect "$l: NEW in INPUT: the SYNs and each UDP flow's first datagrams" \
		"$((C[in_new] - C[in_udp_new]))" 5
	expect_ge "$l: UDP's first datagrams NEW" "${C[in_udp_new]}" 2
	expect "$l: INPUT is NEW or ESTABLISHED" "$((C[in_new] + C[in_est]))" "${C[in_all]}"
	expect "$l: ESTABLISHED,RELATED as one match" "${C[in_est_rel]}" "${C[in_est]}"
	expect "$l: the client's packets are ORIGINAL" "${C[in_reply]}" 0
	expect "$l: the server's packets are REPLY" "${C[out_reply]}" "${C[out_all]}"
	expect "$l: the server's packets are ESTABLISHED" "${C[out_est]}" "${C[out_all]}"
	expect "$l: each SYN-ACK ESTABLISHED in the REPLY direction" "${C[out_synack_est_reply]}" 5
	expect_ge "$l: data of assured connections ASSURED" "${C[in_assured]}" 5
	expect "$l: no SYN ASSURED" "${C[in_syn_assured]}" 0
	expect_ge "$l: UDP replies ESTABLISHED" "${C[out_udp_est]}" 10
	expect "$l: the admin's mark in other bits survived" "${C[in_admin]}" "${C[in_all]}"
}

write_conf "$T/nfqtrack.conf" <<EOF
verdict_mode = mark
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server
check "verdict_mode = mark in the running configuration" \
	sh -c "'$NFQTRACKCTL' -s '$CTL' config | grep -qx 'verdict_mode = mark'"

# mark: the queue rule in mangle, the marks in filter.
load_rules mark || fail "mark rules"
traffic mark
check_marks mark
check_accounting mark
expect "mark: nothing came back marked" "$(counter already_marked)" 0

# repeat: the queue rule in filter, skipping marked packets.
set_mode repeat || fail "reload to repeat"
load_rules repeat || fail "repeat rules"
traffic repeat
check_marks repeat
above=$(count filter INPUT in_above)
expect "repeat: the rule above the queue rule saw each INPUT packet twice" \
	"$above" "$((2 * $(count filter INPUT in_all)))"
expect "repeat: nothing came back marked" "$(counter already_marked)" 0
check_accounting repeat

# The loop guard: the queue rule does not skip marked packets. Each
# packet comes back once after its NF_REPEAT, marked: accepted as it is.
load_rules loop || fail "loop rules"
snapshot
p0=${S[packets]} a0=${S[already_marked]}
start=$(date +%s%N)
tcp_client "$V4_S"
expect "loop: TCP connections still open" "$(tcp_cmd open 5 3000)" "open ok=5 fail=0"
expect "loop: data still flows" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
tcp_cmd close >/dev/null
tcp_done
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 10 -f 2 -w 1000)
expect "loop: UDP still echoed" "$r" "udp sent=10 recv=10"
ms=$((($(date +%s%N) - start) / 1000000))
sleep 0.3
snapshot
echo "# loop: $((S[packets] - p0)) packets tracked, $((S[already_marked] - a0)) back marked, in $ms ms"
expect_ge "loop: packets tracked" "$((S[packets] - p0))" 30
expect "loop: each came back once, marked, and was passed (already_marked)" \
	"$((S[already_marked] - a0))" "$((S[packets] - p0))"
check "loop: in bounded time ($ms ms)" test "$ms" -lt 10000
expect "loop: the guard's accept is final: rules after the queue rule see nothing" \
	"$(count filter INPUT in_all)" 0
expect "loop: the rules above the queue rules saw each packet twice" \
	"$(($(count filter INPUT in_above) + $(count filter OUTPUT out_above)))" \
	"$((2 * (S[packets] - p0)))"
check "already_marked as a metric" sh -c \
	"'$NFQTRACKCTL' -s '$CTL' metrics | grep -qx 'nfqtrack_already_marked_packets_total $((S[already_marked]))'"
check_accounting loop

# A reload switches the mode under held connections: none is lost, and
# packets after it carry the new mode's marks (none in accept mode).
load_rules mark || fail "mark rules"
set_mode mark || fail "reload to mark"
tcp_client "$V4_S"
expect "reload: 5 connections held" "$(tcp_cmd open 5 3000)" "open ok=5 fail=0"
flows=$(counter flows)
set_mode accept || fail "reload to accept"
S4 -Z INPUT
expect "reload: accept mode, the held connections carry on" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
expect "reload: accept mode leaves the marks alone" "$(count filter INPUT in_unseen)" "$(count filter INPUT in_all)"
expect "reload: accept mode keeps the admin's mark" "$(count filter INPUT in_admin)" "$(count filter INPUT in_all)"
set_mode mark || fail "reload back to mark"
S4 -Z INPUT
expect "reload: mark mode again, the held connections carry on" "$(tcp_cmd echo 3000)" "echo ok=5 fail=0"
expect "reload: marked again, ESTABLISHED" "$(count filter INPUT in_est)" "$(count filter INPUT in_all)"
expect "reload: no flow lost" "$(counter flows)" "$flows"
tcp_cmd close >/dev/null
tcp_done
check "the reload's settings line names the mode" \
	wait_syslog "reloaded: .*verdict_mode mark \(mark_mask 0x3f000000\)"
check_accounting reload

# The state alone (a 4-bit mark_mask): the same --ctstate values, no
# REPLY or ASSURED bits written, the admin's bits kept.
write_conf "$T/nfqtrack.conf" <<EOF
verdict_mode = mark
mark_mask = 0x0f000000
EOF
"$NFQTRACKCTL" -s "$CTL" reload >/dev/null || fail "reload to a 4-bit mask"
load_rules mark || fail "state-only rules"
traffic state-only
expect "state-only: every INPUT packet marked" "$(count filter INPUT in_unseen)" 0
expect "state-only: the 5 SYNs matched NEW" "$(count filter INPUT in_syn_new)" 5
expect "state-only: INPUT is NEW or ESTABLISHED" \
	"$(($(count filter INPUT in_new) + $(count filter INPUT in_est)))" \
	"$(count filter INPUT in_all)"
expect "state-only: the server's packets ESTABLISHED" \
	"$(count filter OUTPUT out_est)" "$(count filter OUTPUT out_all)"
expect "state-only: no REPLY bit" "$(count filter OUTPUT out_reply)" 0
expect "state-only: no ASSURED bit" "$(count filter INPUT in_assured)" 0
expect "state-only: the admin's mark in other bits survived" \
	"$(count filter INPUT in_admin)" "$(count filter INPUT in_all)"
check_accounting state-only

stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
