#!/bin/bash
# The classic case: a web server behind a proxy churns through short
# connections; each leaves a TIME_WAIT flow for two minutes, the table fills
# with them and new connections fail (nf_conntrack's "table full, dropping
# packet"). With on_full = early_drop (the default), the closed connections
# make room and none fails. The client churns N connections (connect, one
# round trip, close) at RATE a second through a table of MAX_FLOWS.
. "$(dirname "$0")/lib.sh"

MAX_FLOWS=100
N=400
RATE=100
export TCP_CMD_WAIT=60

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
start_server
for policy in drop early_drop; do
	write_conf "$T/$policy.conf" <<-EOF
		max_flows = $MAX_FLOWS
		on_full = $policy
	EOF
	start_daemon "$T/$policy.conf" || { fail "$policy: daemon start"; continue; }
	tcp_client "$V4_S"
	r=$(tcp_cmd churn "$N" "$RATE" 2000)
	ok_n=$(field ok "$r")
	snapshot
	echo "# figures on_full=$policy: $r; flows=${S[flows]}" \
		"evicted_early_drop=${S[evicted_early_drop]}" \
		"dropped_table_full=${S[dropped_table_full]}"
	if [ "$policy" = drop ]; then
		expect "drop: the first $MAX_FLOWS fit, the rest fail" "$ok_n" "$MAX_FLOWS"
		expect_ge "drop: their SYNs were refused" "${S[dropped_table_full]}" $((N - MAX_FLOWS))
	else
		expect "early_drop: every connection is made" "$ok_n" "$N"
		expect_ge "early_drop: TIME_WAIT flows made room" "${S[evicted_early_drop]}" $((N - MAX_FLOWS))
		expect "early_drop: nothing refused" "${S[dropped]}" 0
		expect "early_drop: the table stays at its size" "${S[flows]}" "$MAX_FLOWS"
	fi
	tcp_done
	check_accounting "$policy"
	stop_daemon TERM
	expect "$policy: exit status 0" "$DAEMON_RC" 0
done
done_testing
