#!/bin/bash
# SIGKILL under traffic: long-lived TCP connections echo through the
# daemon while a UDP stream runs; the daemon is killed, and with
# --queue-bypass traffic flows on without it (the kernel unbinds the queue
# when its socket closes); restarted over its stale control socket, it
# picks the open connections up mid-stream (tcp_loose) as ESTABLISHED.
# Three times over, no connection is reset: every one still echoes, no RST
# crosses the link and neither stack counts a reset. The counters of each
# new daemon add up (check_accounting).
. "$(dirname "$0")/lib.sh"

CONNS=50    # long-lived connections
CYCLES=3    # kill and restart, this many times
UDP_N=2000  # the UDP stream's datagrams, one every UDP_MS
UDP_MS=10
export TCP_CMD_WAIT=60

# tcp_stat NS NAME: one of a namespace's Tcp counters in /proc/net/snmp.
tcp_stat() {
	ip netns exec "$1" awk -v k="$2" '
		$1 == "Tcp:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
		$1 == "Tcp:" { print $col[k] }' /proc/net/snmp
}

# resets: RSTs the client saw either way (its iptables counting rules),
# RSTs each stack sent, and established connections each stack saw reset.
resets() {
	echo "rst_on_link=$(ip netns exec "$NS_C" iptables -w -L RSTCOUNT -v -x -n |
		awk '$3 == "RETURN" { n += $1 } END { print n + 0 }')" \
		"client_out_rsts=$(tcp_stat "$NS_C" OutRsts)" \
		"server_out_rsts=$(tcp_stat "$NS_S" OutRsts)" \
		"client_estab_resets=$(tcp_stat "$NS_C" EstabResets)" \
		"server_estab_resets=$(tcp_stat "$NS_S" EstabResets)"
}

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
# Count every RST in the client's namespace, whichever way it goes.
ip netns exec "$NS_C" iptables -N RSTCOUNT &&
	ip netns exec "$NS_C" iptables -A RSTCOUNT -j RETURN &&
	ip netns exec "$NS_C" iptables -A INPUT -p tcp --tcp-flags RST RST -j RSTCOUNT &&
	ip netns exec "$NS_C" iptables -A OUTPUT -p tcp --tcp-flags RST RST -j RSTCOUNT ||
	{ fail "RST counting rules"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 1000
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

tcp_client "$V4_S"
expect "$CONNS long-lived connections" "$(tcp_cmd open $CONNS 5000)" "open ok=$CONNS fail=0"
expect "they echo through the daemon" "$(tcp_cmd echo 5000)" "echo ok=$CONNS fail=0"
before=$(resets)
echo "# before: $before"

# A UDP stream through every kill and restart.
ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n "$UDP_N" -f 4 \
	-w 200 -i "$UDP_MS" -t 90 >"$T/udp.out" 2>&1 &
UDP_PID=$!
PIDS+=("$UDP_PID")
sleep 1

for cycle in $(seq "$CYCLES"); do
	c="kill $cycle"
	expect "$c: the daemon tracks the connections" \
		"$("$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null | wc -l)" "$CONNS"
	check_accounting "$c: before SIGKILL"
	{ stop_daemon KILL; } 2>/dev/null # no "Killed" from bash
	expect "$c: SIGKILL ends it" "$DAEMON_RC" 137
	check "$c: its control socket is left behind" test -S "$CTL"
	"$NFQTRACKCTL" -s "$CTL" stats >/dev/null 2>&1
	expect "$c: nfqtrackctl cannot reach it" "$?" 3
	check "$c: the kernel unbound the queue" \
		bash -c "! ip netns exec $NS_S grep -qE '^ +0 ' /proc/net/netfilter/nfnetlink_queue"
	expect "$c: the connections echo without the daemon" "$(tcp_cmd echo 5000)" \
		"echo ok=$CONNS fail=0"
	check "$c: ping passes without the daemon" \
		quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"

	start_daemon "$T/nfqtrack.conf" || { fail "$c: restart"; break; }
	ok "$c: restarted over the stale control socket"
	expect "$c: the connections echo through the new daemon" "$(tcp_cmd echo 5000)" \
		"echo ok=$CONNS fail=0"
	expect "$c: it picked them up mid-stream as ESTABLISHED" \
		"$("$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null | wc -l)" "$CONNS"
	sleep 1
done

wait "$UDP_PID"
forget_pid "$UDP_PID"
r=$(cat "$T/udp.out")
echo "# UDP stream through $CYCLES kills: $r"
expect "the UDP stream was all sent" "$(field sent "$r")" "$UDP_N"
# A kill loses what waits in the queue at that instant; little else.
expect_ge "the UDP stream was echoed through kills and restarts" \
	"$(field recv "$r")" $((UDP_N * 99 / 100))

expect "after $CYCLES kills, every connection still echoes" "$(tcp_cmd echo 5000)" \
	"echo ok=$CONNS fail=0"
after=$(resets)
echo "# after: $after"
for k in rst_on_link client_out_rsts server_out_rsts client_estab_resets server_estab_resets; do
	expect "no reset: $k unchanged" "$(field "$k" "$after")" "$(field "$k" "$before")"
done
expect "the last daemon dropped nothing" "$(counter dropped)" 0
check_accounting "after $CYCLES restarts"

tcp_done
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
