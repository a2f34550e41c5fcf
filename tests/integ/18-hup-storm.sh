#!/bin/bash
# A SIGHUP storm under traffic: 300 SIGHUPs, 20 ms apart, the file
# replaced before each (renamed into place, as an editor or a config
# manager does) by a good one (a new max_flows each time, buckets moving
# between derived, 4096 and 16384, so that rehashes start while others
# run) or a broken one of six kinds. Signals that arrive during a reload
# merge into one, so fewer reloads than signals are done. Afterwards the
# daemon is alive, no flow was lost (the held connections echo and are
# listed), the last good file is in force, syslog holds each kind of
# error as file:line, and the counters add up.
. "$(dirname "$0")/lib.sh"

HUPS=300
CONNS=30
UDP_N=1500 # the UDP stream's datagrams, one every 10 ms
export TCP_CMD_WAIT=60
CONF=$T/nfqtrack.conf

BROKEN=(
	"max_flow = 12"
	"max_flows = banana"
	"buckets = 100"
	"max_flows = 4000000000"
	"on_full = sometimes"
	"max_flows"
)
WHY=(
	"unknown key 'max_flow'"
	"max_flows: 'banana' is not a number"
	"buckets: 100 is not a power of two \(or 0 to derive it from max_flows\)"
	"max_flows: 4000000000 is out of range \(1 to 1073741824\)"
	"on_full: 'sometimes' is not drop, early_drop or evict_idle"
	"expected 'key = value', got 'max_flows'"
)
BUCKETS=(0 4096 16384)

# put_conf LINES...: the file, replaced whole.
put_conf() {
	printf '%s\n' "$@" | write_conf "$CONF.new" && mv -f "$CONF.new" "$CONF"
}

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
put_conf "max_flows = 5000" "log_rate = 100"
start_daemon "$CONF" || { fail "daemon start"; done_testing; }
start_server

tcp_client "$V4_S"
expect "$CONNS long-lived connections" "$(tcp_cmd open $CONNS 5000)" "open ok=$CONNS fail=0"
ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n "$UDP_N" -f 4 \
	-w 200 -i 10 -t 90 >"$T/udp.out" 2>&1 &
UDP_PID=$!
PIDS+=("$UDP_PID")

t0=$SECONDS
echo_fail=0
for i in $(seq "$HUPS"); do
	if [ $((i % 2)) = 0 ]; then
		last_good=$((5000 + i))
		put_conf "max_flows = $last_good" "buckets = ${BUCKETS[$((i / 2 % 3))]}" "log_rate = 100"
	else
		put_conf "log_rate = 100" "${BROKEN[$((i / 2 % ${#BROKEN[@]}))]}"
	fi
	kill -HUP "$DAEMON_PID" || break
	sleep 0.02
	if [ $((i % 50)) = 0 ]; then
		r=$(tcp_cmd echo 5000)
		[ "$r" = "echo ok=$CONNS fail=0" ] || { echo_fail=$((echo_fail + 1)); echo "# after $i: $r"; }
	fi
done
echo "# $HUPS SIGHUPs in $((SECONDS - t0)) s"
check "the daemon is alive" kill -0 "$DAEMON_PID"
expect "the connections echoed all through the storm" "$echo_fail" 0

# The last signal's reload reads the last file: wait for it.
for _ in $(seq 50); do
	[ "$("$NFQTRACKCTL" -s "$CTL" config | awk '$1 == "max_flows" { print $3 }')" = "$last_good" ] && break
	sleep 0.1
done
expect "the last good file is in force" \
	"$("$NFQTRACKCTL" -s "$CTL" config | awk '$1 == "max_flows" { print $3 }')" "$last_good"
expect "flows_max too" "$(counter flows_max)" "$last_good"
snapshot
echo "# reloads=${S[reloads]} reload_errors=${S[reload_errors]} flows=${S[flows]} rehashing=${S[rehashing]}"
# A rehash moves 1% of the new bucket count per 100 ms tick: 16384 old
# buckets into 8192 take some 20 s.
for _ in $(seq 300); do [ "$(counter rehashing)" = 0 ] && break; sleep 0.1; done
expect "the last rehash finishes" "$(counter rehashing)" 0
expect_ge "reloads done" "${S[reloads]}" 10
expect_ge "refused ones among them" "${S[reload_errors]}" 5
check "and good ones" test "${S[reload_errors]}" -lt "${S[reloads]}"
for w in "${WHY[@]}"; do
	check "syslog: $CONF:4: ${w//\\/}" wait_syslog \
		"^daemon\.err nfqtrackd\[[0-9]+\]: $CONF:4: $w\$" 1
done
check "syslog: each refusal keeps the running configuration" wait_syslog \
	"reload failed: 1 problem in $CONF; the running configuration stays in force\$" 1
check "syslog: the last good reload" wait_syslog \
	"^daemon\.notice nfqtrackd\[[0-9]+\]: reloaded: $QUEUES_LOG, max_flows $last_good, " 5

wait "$UDP_PID"
forget_pid "$UDP_PID"
r=$(cat "$T/udp.out")
echo "# UDP stream through the storm: $r"
expect_ge "the UDP stream was echoed through the storm" "$(field recv "$r")" $((UDP_N * 99 / 100))
expect "after the storm, every connection echoes" "$(tcp_cmd echo 5000)" "echo ok=$CONNS fail=0"
expect "and every one is still listed ESTABLISHED" \
	"$("$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null | wc -l)" "$CONNS"
expect "no flow was made again: the held connections' stayed" \
	"$(counter flows_created)" "$((CONNS + 4))"
expect "nothing dropped" "$(counter dropped)" 0
check_accounting "after the storm"

tcp_done
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
