#!/bin/bash
# The limits live: shadow mode counts and logs what it would drop and drops
# nothing; the warning mark, the interval report with its top source and
# `nfqtrackctl top` say who holds the table; a reload turns enforcement on
# (the same limit now refuses), then makes the client exempt (its flows
# leave the source counts, and it is no longer refused); early_drop evicts
# and says so.
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
# policy MAX_FLOWS [more lines]: the test's configuration. Shadow mode
# passes connections it does not track, whose later packets are then
# picked up mid-stream: no budget for them, which a table of 16 would cut
# to one flow that they churn through (check_policy tests the budget).
policy() {
	local max=$1
	shift
	write_conf "$T/nfqtrack.conf" <<-EOF
		max_flows = $max
		midstream_max_percent = 100
		max_flows_per_source = 10
		warn_at = 50
		report_interval = 1
		log_rate = 1000
		log_burst = 1000
		$*
	EOF
}
policy 16 "enforce = no"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

# Shadow mode: 15 connections from one source over a limit of 10.
tcp_client "$V4_S"
r=$(tcp_cmd open 15 3000)
expect "shadow mode: every connection is made" "$r" "open ok=15 fail=0"
r=$(tcp_cmd echo 3000)
expect "and works" "$r" "echo ok=15 fail=0"
snapshot
expect "nothing dropped" "${S[dropped]}" 0
expect "shadow mode shows in stats" "${S[enforce]}" 0
expect_ge "what would be dropped is counted" "${S[would_drop_source_limit]}" 5
expect "would_drop is the sum of its reasons" "${S[would_drop]}" \
	"$((S[would_drop_source_limit] + S[would_drop_table_full] + S[would_drop_proto_cap] + S[would_drop_source_rate] + S[would_drop_invalid] + S[would_drop_malformed] + S[would_drop_fragment] + S[would_drop_chain_full]))"
check "a would-drop line names limit, source and packet" wait_syslog \
	"source limit \(10/10 flows from $V4_C\), would drop packet: TCP $V4_C:[0-9]+ -> $V4_S:$PORT\$"
check "the warning mark is logged" wait_syslog \
	"flow table [0-9]+% full: [0-9]+ of 16 flows \(warn_at = 50\)\$"
check "the interval report names the source" wait_syslog \
	"would drop [0-9]+ packets in 1 s: source_limit [0-9]+ \(top: $V4_C [0-9]+\)"
top=$("$NFQTRACKCTL" -s "$CTL" top)
echo "$top" | sed 's/^/# /'
expect "top: the header" "$(echo "$top" | head -1 | tr -s ' ')" "SOURCE FLOWS NEW/S REFUSED"
expect "top: the client first" "$(echo "$top" | awk 'NR == 2 { print $1 }')" "$V4_C"
expect "top: the client holds 10 flows" \
	"$(echo "$top" | awk -v s="$V4_C" '$1 == s { print $2 }')" 10
refused=$(echo "$top" | awk -v s="$V4_C" '$1 == s { print $4 }')
expect_ge "top: and was refused some" "$refused" 5
json=$("$NFQTRACKCTL" -s "$CTL" -o json top -n 1)
check "top -o json is an array of objects" python3 -c '
import json, sys
a = json.loads(sys.argv[1])
assert len(a) == 1 and a[0]["source"] == sys.argv[2] and a[0]["flows"] == 10, a
' "$json" "$V4_C"
r=$("$NFQTRACKCTL" -s "$CTL" top -n 0 2>&1)
expect "top -n 0: refused" "$?:$r" "1:nfqtrackctl: top: '0' is not a count from 1 to 1000"
tcp_cmd close >/dev/null

# Enforce: the same limit now refuses, live, after a reload.
tcp_done
sleep 1 # the shadow connections' flows are closing, not gone
policy 16 "enforce = yes
timeout_tcp_time_wait = 1
timeout_tcp_close = 1"
kill -HUP "$DAEMON_PID"
check "reload logged with the limits" wait_syslog \
	"limits: on_full early_drop, enforce yes, reserve 0, per source \(/32, /64\) 10 flows"
sleep 2.2 # TIME_WAIT and CLOSE flows expire
tcp_client "$V4_S"
r=$(tcp_cmd open 10 3000)
expect "10 connections fit the source limit" "$r" "open ok=10 fail=0"
r=$(tcp_cmd open 3 2500)
expect "the next ones are refused" "$r" "open ok=0 fail=3"
expect_ge "dropped for source_limit" "$(counter dropped_source_limit)" 3
check "a drop line names limit and source" wait_syslog \
	"source limit \(10/10 flows from $V4_C\), dropping packet: TCP $V4_C:[0-9]+ -> $V4_S:$PORT\$"
r=$(tcp_cmd echo 3000)
expect "the 10 still work" "$r" "echo ok=10 fail=0"

# Exempt the client: no longer counted per source, no longer refused
# (exempt sources may hold half the table: 20 flows).
policy 40 "exempt = $V4_C
exempt_max_percent = 50"
kill -HUP "$DAEMON_PID"
sleep 0.5
snapshot
expect "its flows are exempt now" "${S[flows_exempt]}" 10
expect "and out of the source table" "${S[sources]}" 0
r=$(tcp_cmd open 5 3000)
expect "an exempt source is not limited" "$r" "open ok=5 fail=0"
r=$(tcp_cmd echo 3000)
expect "all 15 work" "$r" "echo ok=15 fail=0"
tcp_done

# early_drop: the table, cut to 4 flows, holds the 15 closed connections
# (TIME_WAIT: no longer counted for their source, but still in the table);
# new flows take their places, and it says so.
policy 4 ""
kill -HUP "$DAEMON_PID"
sleep 0.5
expect "the closed connections are still there" "$(counter flows)" 15
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p 9 -n 8 -f 8)
expect "8 UDP flows sent to a closed port" "$r" "udp sent=8 recv=0"
expect "each evicted a closed connection" "$(counter evicted_early_drop)" 8
expect "no UDP flow refused" "$(counter dropped)" "$((S[dropped]))"
check "an eviction line says what made room for what" wait_syslog \
	"table full, evicted \(early_drop\) TCP $V4_C:[0-9]+ -> $V4_S:$PORT TIME_WAIT, idle [0-9]+ s, for UDP $V4_C:[0-9]+ -> $V4_S:9\$"
check "the interval report counts evictions" wait_syslog \
	"evicted [0-9]+ flows in 1 s: early_drop [0-9]+ \(top: $V4_C [0-9]+\)"

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0

# Shadow mode on the same packets counts exactly what enforcement drops:
# a capture (SYNs from three hosts of one /24 and from another host, at
# different rates, over 20 s) replayed with enforce = yes and = no.
python3 - "$T/syns.pcap" <<'EOF'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
for i in range(4000):
    t = i * 0.005
    host = (7, 8, 9, 77)[i % 4] if i % 5 else 200
    src = bytes((192, 0, 2, host)) if host != 200 else bytes((198, 51, 100, 1))
    tcp = struct.pack("!HHIIBBHHH", 1024 + i, 80, i, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0,
                     64, 6, 0, src, bytes((203, 0, 113, 1))) + tcp
    out.write(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(ip), len(ip)) + ip)
EOF
for enforce in yes no; do
	cat >"$T/shadow-$enforce.conf" <<-EOF
		max_flows = 1500
		on_full = drop
		source_prefix4 = 24
		max_flows_per_source = 1000
		max_new_per_source = 100
		enforce = $enforce
	EOF
	"$NFQTRACKD" -c "$T/shadow-$enforce.conf" --replay "$T/syns.pcap" \
		>"$T/shadow-$enforce.out" 2>&1
done
value() { awk -v k="$2" '$1 == k { print $2 }' "$T/shadow-$1.out"; }
expect "replay: shadow counts what enforce drops, by reason" \
	"$(value yes dropped_source_limit) $(value yes dropped_source_rate) $(value yes dropped_table_full)" \
	"$(value no would_drop_source_limit) $(value no would_drop_source_rate) $(value no would_drop_table_full)"
expect_ge "replay: refused for source_rate" "$(value yes dropped_source_rate)" 1
expect_ge "replay: refused for source_limit" "$(value yes dropped_source_limit)" 1
expect_ge "replay: refused for table_full" "$(value yes dropped_table_full)" 1
expect "replay: shadow mode drops nothing" "$(value no dropped)" 0
expect "replay: and would have dropped as many" "$(value no would_drop)" "$(value yes dropped)"
expect "replay: the same flows made" "$(value no flows_created)" "$(value yes flows_created)"
done_testing
