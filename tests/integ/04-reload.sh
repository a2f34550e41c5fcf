#!/bin/bash
# SIGHUP: a broken file is reported (file:line) and the old limits stay;
# a good one applies the new limit live, keeps every flow, and a new
# bucket count rehashes them without losing one. Lowering the limit below
# the count keeps the flows and admits no new one. A new fastpath_table
# waits for a restart, with a warning.
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 10
buckets = 64
log_rate = 100
log_burst = 100
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

tcp_client "$V4_S"
expect "10 connections under max_flows = 10" "$(tcp_cmd open 10 3000)" "open ok=10 fail=0"

# A broken file: the error names file and line; nothing changes.
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 100
log_rate = 100
log_burst = 100
max_flow = 12
EOF
kill -HUP "$DAEMON_PID"
check "the broken line is reported as file:line" wait_syslog \
	"^daemon\.err nfqtrackd\[[0-9]+\]: $T/nfqtrack.conf:6: unknown key 'max_flow'\$"
check "and the reload refused" wait_syslog \
	"^daemon\.err nfqtrackd\[[0-9]+\]: reload failed: 1 problem in $T/nfqtrack.conf; the running configuration stays in force\$"
expect "max_flows unchanged" "$(counter flows_max)" 10
expect "reload_errors counted" "$(counter reload_errors)" 1
expect "the old limit still holds" "$(tcp_cmd open 2 2500)" "open ok=0 fail=2"

# A good file with a higher limit and 16 times the buckets.
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 15
buckets = 1024
log_rate = 100
log_burst = 100
EOF
kill -HUP "$DAEMON_PID"
check "reload logged with the new limits" wait_syslog \
	'^daemon\.notice nfqtrackd\[[0-9]+\]: reloaded: queue 0, max_flows 15, buckets 1024,'
expect "max_flows is 15" "$(counter flows_max)" 15
for _ in $(seq 30); do [ "$(counter rehashing)" = 0 ] && break; sleep 0.1; done
expect "the rehash finished" "$(counter rehashing)" 0
expect "buckets is 1024" "$(counter buckets)" 1024
expect "no flow lost in the rehash" "$(counter flows)" 10
expect "existing connections kept working" "$(tcp_cmd echo 3000)" "echo ok=10 fail=0"
expect "5 more connections fit" "$(tcp_cmd open 5 3000)" "open ok=5 fail=0"
expect "and the 16th does not" "$(tcp_cmd open 1 2500)" "open ok=0 fail=1"

# Lower the limit below the count: nothing is evicted, nothing new fits.
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 5
log_rate = 100
log_burst = 100
EOF
kill -HUP "$DAEMON_PID"
check "lowering is explained" wait_syslog \
	'15 flows are above the new max_flows 5: they are kept'
expect "all 15 flows kept" "$(counter flows)" 15
expect "all 15 connections still work" "$(tcp_cmd echo 3000)" "echo ok=15 fail=0"
expect "no new connection" "$(tcp_cmd open 1 2500)" "open ok=0 fail=1"
expect "buckets derived from max_flows again" "$(counter buckets)" 64
expect "reloads counted" "$(counter reloads)" 3

# The fast path's table name takes a restart: the reload keeps the one in
# force and says so.
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 5
log_rate = 100
log_burst = 100
fastpath_table = nfqt_other
EOF
r=$("$NFQTRACKCTL" -s "$CTL" reload)
expect "reload with a new fastpath_table: done, with a warning" "$?:$r" \
	"0:reloaded $T/nfqtrack.conf
warning: fastpath_table: a new name takes a restart; staying on nfqtrack"
expect "config shows the name in force" \
	"$("$NFQTRACKCTL" -s "$CTL" config | grep '^fastpath_table')" "fastpath_table = nfqtrack"

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
