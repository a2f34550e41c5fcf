#!/bin/bash
# nfqtrackd with fastpath = yes: its table made at start, TCP admitted at
# the SYN and UDP after fastpath_udp_after packets with a reply; their
# packets then pass by the kernel, off the queue (the queue rules skip
# SEEN, as the shipped ones do); list shows them [FAST]; flush empties the
# sets; a reload turns it off (the table goes, connections carry on
# through the queue) and on again; the stop removes the table; a kill -9
# leaves it, and a start with fastpath = no removes it; a client reusing
# its port has each connection counted and admitted. With
# NFQT_CARRIER=bpf (34-fastpath-bpf.sh), the same with the BPF carrier:
# its map's entries counted where the sets' elements are.
QUEUE_RULES=no
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
# The server's side untracked by the kernel and queued (QUEUES), but for
# packets marked SEEN (the fast path's, or judged already).
target=$(netns_queue_target "$QUEUES")
for ipt in iptables ip6tables; do
	ip netns exec "$NS_S" $ipt -t raw -A PREROUTING -i veth-s -j CT --notrack
	ip netns exec "$NS_S" $ipt -t raw -A OUTPUT -o veth-s -j CT --notrack
	# shellcheck disable=SC2086
	ip netns exec "$NS_S" $ipt -A INPUT -i veth-s -m mark ! --mark 0x01000000/0x01000000 -j NFQUEUE $target
	# shellcheck disable=SC2086
	ip netns exec "$NS_S" $ipt -A OUTPUT -o veth-s -m mark ! --mark 0x01000000/0x01000000 -j NFQUEUE $target
done
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/on.conf" <<EOF
fastpath = yes
fastpath_udp_after = 8
EOF
write_conf "$T/off.conf" </dev/null
cp "$T/on.conf" "$T/nfqtrack.conf"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server
nft_s() { ip netns exec "$NS_S" nft "$@" 2>/dev/null; }
elements() {
	if [ "$CARRIER" = bpf ]; then
		carrier_entries "$1"
	else
		nft_s list set inet nfqtrack "$1" | grep -c 'expires'
	fi
}
check "the table is made at start" nft_s list table inet nfqtrack

tcp_client "$V4_S"
r=$(tcp_cmd open 5 3000)
expect "5 TCP connections open" "$r" "open ok=5 fail=0"
for _ in $(seq 20); do
	r=$(tcp_cmd echo 3000)
	[ "$r" = "echo ok=5 fail=0" ] || break
done
expect "data flows on all of them, 20 times" "$r" "echo ok=5 fail=0"
snapshot
expect "the 5 SYNs admitted" "${S[fastpath_admitted]}" 5
expect "5 fast flows" "${S[fastpath_flows]}" 5
# 5 SYNs; the handshakes and 200 echoes went by the kernel.
expect_ge "the kernel carried the echoes: few packets queued (20 at most)" 20 "${S[queue_packets]}"
expect "fast flows listed [FAST]" "$("$NFQTRACKCTL" -s "$CTL" list 2>/dev/null | grep -c '\[FAST\]')" 5
expect "and \"fast\": true in JSON" "$("$NFQTRACKCTL" -s "$CTL" -o json list 2>/dev/null | grep -o '"fast":true' | wc -l)" 5
expect "both directions in est4" "$(elements est4)" 10
tcp_done

# The same over IPv6.
tcp_client "$V6_S"
r=$(tcp_cmd open 2 3000)
expect "2 TCP/IPv6 connections open" "$r" "open ok=2 fail=0"
for _ in $(seq 10); do
	r=$(tcp_cmd echo 3000)
done
expect "TCP/IPv6 data" "$r" "echo ok=2 fail=0"
expect "both directions in est6" "$(elements est6)" 4
expect "7 SYNs admitted" "$(counter fastpath_admitted)" 7
tcp_client "$V4_S"
r=$(tcp_cmd open 5 3000)
expect "5 TCP connections open again" "$r" "open ok=5 fail=0"

# UDP: 8 packets with a reply through the queue, the rest by the kernel.
snapshot
q0=${S[queue_packets]}
a0=${S[fastpath_admitted]}
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 50 -f 1 -w 1000)
expect "UDP echoed" "$r" "udp sent=50 recv=50"
snapshot
expect "UDP admitted once" "${S[fastpath_admitted]}" $((a0 + 1))
expect_ge "UDP: at most 9 of its 100 packets queued" 9 "$((S[queue_packets] - q0))"
expect "both directions in udp4" "$(elements udp4)" 2

# flush: the daemon's table and the kernel's sets. 13 fast flows: the 7
# closed (the kernel saw their FINs; the daemon has not asked yet), the 5
# open, the UDP one.
r=$("$NFQTRACKCTL" -s "$CTL" flush 2>&1)
expect "flush" "$r" "nfqtrackctl: 13 flow entries have been deleted."
expect "est4 emptied" "$(elements est4)" 0
expect "close4 emptied" "$(elements close4)" 0
expect "close6 emptied" "$(elements close6)" 0
expect "udp4 emptied" "$(elements udp4)" 0
snapshot
expect "their elements forgotten" "${S[fastpath_forgotten]}" 13
a0=${S[fastpath_admitted]}
# The connections carry on: picked up through the queue, admitted again.
r=$(tcp_cmd echo 3000)
expect "the connections carry on after the flush" "$r" "echo ok=5 fail=0"
expect_ge "picked up and admitted again" "$(counter fastpath_admitted)" $((a0 + 5))

# A reload turns it off: the table goes, the connections carry on.
cp "$T/off.conf" "$T/nfqtrack.conf"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload off" "$(echo "$r" | head -1)" "reloaded $T/nfqtrack.conf"
check "the table is gone" bash -c "! ip netns exec $NS_S nft list table inet nfqtrack >/dev/null 2>&1"
r=$(tcp_cmd echo 3000)
expect "the connections carry on with it off" "$r" "echo ok=5 fail=0"
expect "no fast flow left" "$(counter fastpath_flows)" 0
cp "$T/on.conf" "$T/nfqtrack.conf"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload on" "$(echo "$r" | head -1)" "reloaded $T/nfqtrack.conf"
check "the table is back" nft_s list table inet nfqtrack
r=$(tcp_cmd echo 3000)
expect "and with it on again" "$r" "echo ok=5 fail=0"
tcp_done

snapshot
expect "no fast path error" "${S[fastpath_errors]}" 0
expect "nothing dropped" "${S[dropped]}" 0
stop_daemon
expect "nfqtrackd exit status" "$DAEMON_RC" 0
check "the stop removes the table" bash -c "! ip netns exec $NS_S nft list table inet nfqtrack >/dev/null 2>&1"

# The checks with the kernel, on short timeouts: established connections
# found alive in est and kept (ESTABLISHED, assured); closed ones (the
# kernel saw their FINs) found gone, and reclaimed.
write_conf "$T/short.conf" <<EOF
fastpath = yes
timeout_tcp_syn_recv = 2
timeout_tcp_established = 4
timeout_tcp_time_wait = 3
EOF
start_daemon "$T/short.conf" || { fail "daemon start, short timeouts"; done_testing; }
tcp_client "$V4_S"
r=$(tcp_cmd open 3 3000)
expect "3 TCP connections open" "$r" "open ok=3 fail=0"
for _ in 1 2 3 4; do
	r=$(tcp_cmd echo 3000)
	sleep 1
done
expect "data flows" "$r" "echo ok=3 fail=0"
snapshot
expect_ge "checked with the kernel" "${S[fastpath_checks]}" 3
expect_ge "found alive" "${S[fastpath_alive]}" 3
expect "and kept, ESTABLISHED and assured" \
	"$("$NFQTRACKCTL" -s "$CTL" list 2>/dev/null | grep -c 'ESTABLISHED .*\[ASSURED\] \[FAST\]')" 3
tcp_done
for _ in $(seq 30); do
	[ "$(counter flows)" = 0 ] && break
	sleep 0.5
done
snapshot
expect "closed in the kernel, reclaimed" "${S[flows]}" 0
expect_ge "found gone" "${S[fastpath_ended]}" 3
expect "no fast path error" "${S[fastpath_errors]}" 0
stop_daemon
expect "nfqtrackd exit status" "$DAEMON_RC" 0

# accounting = yes: the kernel's counters, read at the check, make the
# flow's: 50 datagrams each way, 8 of them through the queue, the rest by
# the kernel (the admitting one not counted twice). The datagrams take
# 2.5 s; the check comes 4 to 5 s after the admission, the flow's
# elements expire 4 s after the last one, the next check 5 to 6 s after.
write_conf "$T/acct.conf" <<EOF
fastpath = yes
accounting = yes
timeout_udp_stream = 4
EOF
start_daemon "$T/acct.conf" || { fail "daemon start, accounting"; done_testing; }
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 50 -f 1 -w 1000 -i 50)
expect "UDP echoed" "$r" "udp sent=50 recv=50"
sleep 3.5
expect_ge "checked" "$(counter fastpath_checks)" 1
expect "the kernel's counters added, each packet once" \
	"$("$NFQTRACKCTL" -s "$CTL" list 2>/dev/null | grep -o 'packets=[0-9]*' | tr '\n' ' ')" \
	"packets=50 packets=50 "
expect "no fast path error" "$(counter fastpath_errors)" 0
stop_daemon
expect "nfqtrackd exit status" "$DAEMON_RC" 0

# kill -9 leaves the table (admitted flows would pass, unseen, until their
# elements expire); a start with fastpath = no removes it, says so once,
# and the connections come back through the queue.
tables() { nft_s list tables inet | tr '\n' ' '; }
start_daemon "$T/on.conf" || { fail "daemon start, fast path on"; done_testing; }
tcp_client "$V4_S"
r=$(tcp_cmd open 2 3000)
expect "2 TCP connections open" "$r" "open ok=2 fail=0"
stop_daemon KILL
expect "kill -9 leaves the table" "$(tables)" "table inet nfqtrack "
start_daemon "$T/off.conf" || { fail "daemon start, fast path off"; done_testing; }
expect "fastpath = no: the table left is removed" "$(tables)" ""
check "and logged" wait_syslog "fastpath: removed table nfqtrack, left by an earlier run"
r=$(tcp_cmd echo 3000)
expect "the connections carry on through the queue" "$r" "echo ok=2 fail=0"
expect_ge "picked up by the queue" "$(counter flows)" 2
tcp_done
stop_daemon
start_daemon "$T/off.conf" || { fail "daemon start, no table left"; done_testing; }
stop_daemon
expect "no table: logged once, not at every start" \
	"$(grep -c 'fastpath: removed table' "$SYSLOG")" 1
expect "nfqtrackd exit status" "$DAEMON_RC" 0

# Port reuse: N connections one after the other from one client port
# (tcp_tw_reuse: the client's TIME_WAIT gives way after a second), each
# closed by FINs the kernel carried, unseen by the daemon, whose flow is
# still in its handshake: each new SYN has a new number, so each is a new
# connection (flows_reopened, counted in flows_created too), admitted.
N=4
ip netns exec "$NS_C" sysctl -qw net.ipv4.tcp_tw_reuse=1
start_daemon "$T/on.conf" || { fail "daemon start, port reuse"; done_testing; }
r=$(ip netns exec "$NS_C" python3 - "$V4_C" "$V4_S" "$PORT" "$N" <<'PY'
import socket, sys, time
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ok = 0
for i in range(n):
    if i:
        time.sleep(1.2)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(3)
    try:
        s.bind((src, 40123))
        s.connect((dst, port))
        s.sendall(b"ping")
        ok += s.recv(4) == b"ping"
    except OSError as e:
        print("#", i, e, file=sys.stderr)
    s.close()
print(f"reuse ok={ok}")
PY
)
expect "$N connections from one port" "$r" "reuse ok=$N"
snapshot
expect "each one a flow" "${S[flows_created]}" "$N"
expect "each after the first a reopening" "${S[flows_reopened]}" $((N - 1))
expect "each admitted" "${S[fastpath_admitted]}" "$N"
expect "nothing dropped" "${S[dropped]}" 0
stop_daemon
expect "nfqtrackd exit status" "$DAEMON_RC" 0

done_testing
