#!/bin/bash
# SIGSTOP until the queue overflows: a stopped daemon reads nothing, so the
# kernel's queue (queue_maxlen = 64) fills. With fail_open = yes the
# kernel then passes every packet unfiltered and uncounted: traffic flows,
# the kernel numbers only the 64 queued, and the NFQUEUE rules' counters
# tell the rest. With fail_open = no it drops them and counts each in
# kernel_queue_dropped. After SIGCONT the daemon takes the 64 waiting
# packets and tracks new traffic by itself, and its counters add up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

MAXLEN=64
UDP_N=2000
CONNS=10
export TCP_CMD_WAIT=60

# kernel_queue FIELD: queue 0's line in the server's
# /proc/net/netfilter/nfnetlink_queue, read directly (the daemon is
# stopped): total, dropped, user_dropped or id.
kernel_queue() {
	ip netns exec "$NS_S" awk -v f="$1" '$1 == 0 {
		print (f == "total" ? $3 : f == "dropped" ? $6 : f == "user_dropped" ? $7 : $8)
	}' /proc/net/netfilter/nfnetlink_queue
}

# wait_drained: after SIGCONT, until the daemon has emptied the queue.
wait_drained() {
	for _ in $(seq 100); do
		[ "$(counter kernel_queue_total)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# scenario NAME FAIL_OPEN: a fresh daemon with a 64-packet queue, the
# echo server and CONNS connections; then the stop, the overflow, the
# continue.
scenario() {
	local n=$1 fo=$2 id0 r rules bypassed
	write_conf "$T/$n.conf" <<-EOF
		queue_maxlen = $MAXLEN
		fail_open = $fo
	EOF
	start_daemon "$T/$n.conf" || { fail "$n: daemon start"; return 1; }
	start_server
	tcp_client "$V4_S"
	expect "$n: $CONNS connections" "$(tcp_cmd open $CONNS 3000)" "open ok=$CONNS fail=0"
	check_accounting "$n: before SIGSTOP"
	zero_queue_rules
	id0=$QUEUE_ID0

	kill -STOP "$DAEMON_PID"
	if [ "$fo" = yes ]; then
		# Each of the first 64 datagrams waits in the queue for 100 ms
		# and gets no echo in time; then fail-open passes the rest.
		r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" \
			-n "$UDP_N" -f 20 -w 100 -t 60)
		echo "# $n: stopped: $r"
		expect_ge "$n: stopped: UDP is echoed past the full queue (fail-open)" \
			"$(field recv "$r")" $((UDP_N * 95 / 100))
		expect "$n: stopped: the connections echo (fail-open)" \
			"$(tcp_cmd echo 3000)" "echo ok=$CONNS fail=0"
		expect "$n: stopped: nothing counted as queue_dropped" "$(kernel_queue dropped)" 0
	else
		r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" \
			-n "$UDP_N" -f 20 -t 60)
		echo "# $n: stopped: $r"
		expect "$n: stopped: all sent" "$(field sent "$r")" "$UDP_N"
		expect "$n: stopped: beyond the queue, dropped and counted" \
			"$(kernel_queue dropped)" $((UDP_N - MAXLEN))
	fi
	expect "$n: stopped: the queue holds queue_maxlen packets" "$(kernel_queue total)" "$MAXLEN"
	expect "$n: stopped: the kernel numbered only those" "$(($(kernel_queue id) - id0))" "$MAXLEN"
	expect "$n: stopped: no socket overrun" "$(kernel_queue user_dropped)" 0

	kill -CONT "$DAEMON_PID"
	check "$n: continued: the daemon empties the queue by itself" wait_drained
	rules=$(bypassed_packets)
	bypassed=${rules%/*}
	echo "# $n: packets that met the full queue/queued by the rules: $rules"
	if [ "$fo" = yes ]; then
		expect_ge "$n: the rules queued more than the kernel numbered: fail-open passed them" \
			"$bypassed" $((UDP_N - MAXLEN))
	else
		expect "$n: every packet not numbered is in kernel_queue_dropped" \
			"$(counter kernel_queue_dropped)" "$bypassed"
	fi
	snapshot
	p0=${S[packets]}
	f0=${S[flows_created]}
	# From an address of their own: ephemeral ports drawn again from the
	# same address can repeat a 5-tuple the flood left in the table.
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -s "$V4_NEW" -p "$PORT" \
		-n 100 -f 5 -w 1000)
	expect "$n: continued: new UDP echoes" "$r" "udp sent=100 recv=100"
	expect "$n: continued: the connections echo" "$(tcp_cmd echo 3000)" "echo ok=$CONNS fail=0"
	snapshot
	expect_ge "$n: continued: the new packets are tracked" "$((S[packets] - p0))" 200
	expect "$n: continued: the new flows too" "$((S[flows_created] - f0))" 5
	check_accounting "$n: after SIGCONT"
	tcp_done
	stop_pid "$SERVER_PID"
	stop_daemon TERM
	expect "$n: SIGTERM: exit status 0" "$DAEMON_RC" 0
}

setup_net || { fail "network setup"; done_testing; }
V4_NEW=10.231.0.17
ip -n "$NS_C" addr add "$V4_NEW/24" dev veth-c || { fail "second client address"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
scenario fail_open=yes yes
scenario fail_open=no no
done_testing
