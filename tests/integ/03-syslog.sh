#!/bin/bash
# Drop lines are rate-limited (log_rate per second, log_burst at once), and
# one line says how many were suppressed; every drop is either logged or
# counted as suppressed. Start, reload and stop lines state the limits.
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 1
on_full = drop
log_rate = 1
log_burst = 3
syslog_facility = local3
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

check "startup line states the limits" wait_syslog \
	'^local3\.notice nfqtrackd\[[0-9]+\]: nfqtrackd [0-9.]+ starting: queue 0, max_flows 1, buckets 64, fail_open yes'

# 40 datagrams from 40 source ports: the first makes the one flow, the
# other 39 are dropped within a few milliseconds.
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 40 -f 40)
expect "40 datagrams sent" "$r" "udp sent=40 recv=0"
expect "39 dropped for table_full" "$(counter dropped_table_full)" 39

check "suppression line arrives" wait_syslog \
	'^local3\.warning nfqtrackd\[[0-9]+\]: [0-9]+ drop messages suppressed$' 4
logged=$(grep -c 'table full (1/1 flows), dropping packet: UDP' "$SYSLOG")
suppressed=$(grep -E 'drop messages suppressed$' "$SYSLOG" |
	awk '{ s += $3 } END { print s + 0 }')
expect_ge "burst lines logged" "$logged" 3
if [ "$logged" -le 4 ]; then
	ok "no more than burst + rate lines ($logged)"
else
	fail "$logged drop lines for a burst of 3 at 1/s"
fi
expect "logged + suppressed = dropped" "$((logged + suppressed))" 39
expect "log_suppressed counter agrees" "$(counter log_suppressed)" "$suppressed"

write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 7
syslog_facility = local3
EOF
kill -HUP "$DAEMON_PID"
check "reload line states the new limits" wait_syslog \
	'^local3\.notice nfqtrackd\[[0-9]+\]: reloaded: queue 0, max_flows 7, '

check_accounting "end"
stop_daemon INT
expect "SIGINT: exit status 0" "$DAEMON_RC" 0
check "stop line gives the final counters" wait_syslog \
	'^local3\.notice nfqtrackd\[[0-9]+\]: stopping \(SIGINT\): [0-9]+ packets, [0-9]+ accepted, 39 dropped \(table_full 39, malformed 0, invalid 0, fragment 0, source_limit 0, source_rate 0, proto_cap 0, chain_full 0, source_table_full 0, exempt_cap 0, midstream_cap 0\), 0 would drop; 1/7 flows, 1 created, 0 expired, 0 evicted$'
done_testing
