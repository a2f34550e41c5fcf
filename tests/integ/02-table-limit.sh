#!/bin/bash
# The table limit: with max_flows = N, N connections are made, the next new
# ones are dropped and logged, and the established ones keep working.
. "$(dirname "$0")/lib.sh"

N=20
setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = $N
log_rate = 100
log_burst = 100
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

tcp_client "$V4_S"
r=$(tcp_cmd open $N 3000)
expect "$N connections fit in max_flows = $N" "$r" "open ok=$N fail=0"
expect "the table is full" "$(counter flows)" "$N"

r=$(tcp_cmd open 5 2500)
expect "new connections beyond the limit fail" "$r" "open ok=0 fail=5"
dropped=$(counter dropped_table_full)
# Each of the 5 SYNs, and the retransmission the kernel sends after 1 s.
expect_ge "their SYNs were dropped for table_full" "$dropped" 10
expect "no other kind of drop" "$(counter dropped)" "$dropped"

r=$(tcp_cmd echo 3000)
expect "the $N established connections still work" "$r" "echo ok=$N fail=0"

r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 1 -w 500)
expect "a new UDP flow is dropped too" "$r" "udp sent=1 recv=0"
if ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S" >/dev/null; then
	fail "a new ICMP echo flow is dropped"
else
	ok "a new ICMP echo flow is dropped"
fi

check "drop lines in syslog name reason, limit, protocol and addresses" wait_syslog \
	"^daemon\.warning nfqtrackd\[[0-9]+\]: table full \($N/$N flows\), dropping packet: TCP $V4_C:[0-9]+ -> $V4_S:$PORT\$"
check "UDP drop line" wait_syslog \
	"table full \($N/$N flows\), dropping packet: UDP $V4_C:[0-9]+ -> $V4_S:$PORT\$"
check "ICMP drop line" wait_syslog \
	"table full \($N/$N flows\), dropping packet: ICMP $V4_C -> $V4_S type 8 code 0 id [0-9]+\$"
lines=$(grep -c 'table full' "$SYSLOG")
expect "one line per dropped packet (under log_rate)" "$lines" "$(counter dropped_table_full)"

# Closing frees nothing at once: TIME_WAIT holds the slots, as in the
# kernel.
r=$(tcp_cmd close)
expect "the table is still full after close" "$(counter flows)" "$N"

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
