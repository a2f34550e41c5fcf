#!/bin/bash
# Memory pressure: a max_flows whose tables would not fit in MemAvailable
# is refused at start, at once, with the figures and exit status 1, before
# anything is allocated or bound (not an OOM kill later); one beyond the
# key's range is a config error with file:line. On reload (nfqtrackctl
# reload and SIGHUP alike) a max_flows too large for memory is refused and
# the running configuration, flows and connections stay.
. "$(dirname "$0")/lib.sh"

FLOW_BYTES=124 # an IPv6 flow (68) and its TCP state (56): a full table's worst; buckets add more
CONNS=10
export TCP_CMD_WAIT=60

avail_mib=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
# Twice what is available, in flows, within the key's range (2^30).
big=$((avail_mib * 1024 * 1024 / FLOW_BYTES * 2))
[ "$big" -gt 1073741824 ] && big=1073741824
echo "# MemAvailable ${avail_mib} MiB; max_flows = $big needs at least $((big * FLOW_BYTES >> 20)) MiB"
if [ $((big * FLOW_BYTES >> 20)) -le "$avail_mib" ]; then
	echo "# $TEST: skipped: even max_flows = 2^30 fits in this machine's memory"
	exit 77
fi

# start_refused NAME: nfqtrackd with $T/NAME.conf, as a real start, which
# must end by itself; its stderr, status, peak memory and seconds.
start_refused() {
	local t0=$SECONDS
	ip netns exec "$NS_S" timeout 30 /usr/bin/time -f 'maxrss_kb=%M' -o "$T/$1.time" \
		"$NFQTRACKD" -e -c "$T/$1.conf" 2>"$T/$1.err"
	RC=$?
	SECS=$((SECONDS - t0))
	RSS=$(sed -n 's/^maxrss_kb=//p' "$T/$1.time")
}

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }

write_conf "$T/big.conf" <<<"max_flows = $big"
start_refused big
expect "too large for memory: exit status 1" "$RC" 1
check "the message names max_flows, what it needs and what there is" grep -qE \
	"^nfqtrackd: error: max_flows = $big needs [0-9]+ MiB of memory for the flow and source tables, but only [0-9]+ MiB are available\$" \
	"$T/big.err"
check "the same in syslog" wait_syslog \
	"^daemon\.err nfqtrackd\[[0-9]+\]: max_flows = $big needs [0-9]+ MiB of memory"
echo "# refused in ${SECS}s, peak RSS ${RSS:-?} kB"
check "refused at once" test "$SECS" -le 5
check "before allocating the tables (peak RSS under 64 MB)" test "${RSS:-999999}" -lt 65536
check "no control socket left" test ! -e "$CTL"
check "no queue bound" \
	bash -c "! ip netns exec $NS_S grep -qE '^ +0 ' /proc/net/netfilter/nfnetlink_queue"

write_conf "$T/range.conf" <<<"max_flows = 4000000000"
start_refused range
expect "beyond the key's range: exit status 1" "$RC" 1
expect "beyond the key's range: file:line" "$(head -1 "$T/range.err")" \
	"nfqtrackd: $T/range.conf:3: max_flows: 4000000000 is out of range (1 to 1073741824)"

# A running daemon asked to grow past memory.
write_conf "$T/nfqtrack.conf" <<<"max_flows = 1000"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server
tcp_client "$V4_S"
expect "$CONNS connections" "$(tcp_cmd open $CONNS 3000)" "open ok=$CONNS fail=0"

write_conf "$T/nfqtrack.conf" <<<"max_flows = $big"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload past memory: refused, exit 1, with the reason" "$?:$r" \
	"1:nfqtrackctl: reload failed: max_flows = $big needs more memory than is available; the running configuration stays in force"
check "syslog has the figures" wait_syslog \
	"^daemon\.err nfqtrackd\[[0-9]+\]: max_flows = $big needs [0-9]+ MiB of memory for the flow and source tables, but only [0-9]+ MiB are available\$"
expect "max_flows stays 1000" "$(counter flows_max)" 1000
expect "the running configuration says so" \
	"$("$NFQTRACKCTL" -s "$CTL" config | awk '$1 == "max_flows" { print $3 }')" 1000
kill -HUP "$DAEMON_PID"
check "SIGHUP: refused the same way" wait_syslog \
	"reload failed: max_flows = $big needs more memory than is available; the running configuration stays in force\$"
expect "reload_errors counted" "$(counter reload_errors)" 2
check "the daemon lives" kill -0 "$DAEMON_PID"
expect "memory stays small" "$(($(counter memory_bytes) < 64 * 1024 * 1024))" 1
expect "the connections still echo" "$(tcp_cmd echo 3000)" "echo ok=$CONNS fail=0"
expect "and their flows stay" "$(counter flows)" "$CONNS"

write_conf "$T/nfqtrack.conf" <<<"max_flows = 2000"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "a reload that fits is done" "$?:$r" "0:reloaded $T/nfqtrack.conf"
expect "max_flows is 2000" "$(counter flows_max)" 2000
expect "the connections echo" "$(tcp_cmd echo 3000)" "echo ok=$CONNS fail=0"
check_accounting "end"

tcp_done
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
