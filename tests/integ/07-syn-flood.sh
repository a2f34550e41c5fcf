#!/bin/bash
# SYN floods against the table limit. An attacker namespace sends SYNs with
# forged sources to the listening server while a legitimate client holds
# established connections and opens new ones at a modest rate. With the
# kernel's policy (on_full = drop, no per-source limit) the flood fills the
# table and the client's new connections fail, as they do when
# nf_conntrack's table fills; early_drop and per-source limits must keep
# every established connection and at least 99% of the new ones. Each
# scenario runs against a fresh daemon and prints its figures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

FLOOD_RATE=${FLOOD_RATE:-20000} # the attacker's SYNs per second
FLOOD_SECS=${FLOOD_SECS:-6}     # how long it floods
FLOOD_LEAD=0.5                  # the flood's head start: the table fills
MAX_FLOWS=2000                  # small, so that the flood fills it at once
HELD=20                         # connections established before the flood
CHURN_RATE=20                   # the client's new connections per second,
CHURN_N=100                     # as many as fit in the flood after the lead
CHURN_MS=2000                   # one not echoed by then failed (1 SYN retry)
QUERY_N=0
export TCP_CMD_WAIT=60

setup_net || { fail "network setup"; done_testing; }
setup_attacker || { fail "attacker setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
echo "# server: tcp_syncookies=$(ip netns exec "$NS_S" sysctl -n net.ipv4.tcp_syncookies)" \
	"somaxconn=$(ip netns exec "$NS_S" sysctl -n net.core.somaxconn)" \
	"tcp_max_syn_backlog=$(ip netns exec "$NS_S" sysctl -n net.ipv4.tcp_max_syn_backlog)"

# The kernel's failure, reproduced: new connections fail, old ones live.
kernel_like() {
	expect_pct_lt "$1: the client's new connections mostly fail" \
		"$NEW_OK" "$CHURN_N" 50
	expect "$1: established connections survive" "$LOST" 0
}

protected() {
	expect "$1: no established connection lost" "$LOST" 0
	expect_pct_ge "$1: the client's new connections succeed" \
		"$NEW_OK" "$CHURN_N" 99
}

source_limited() {
	protected "$1"
	expect_ge "$1: the attacking /24 was limited" \
		"$((${S[dropped_source_limit]:-0} + ${S[dropped_source_rate]:-0}))" 1
}

no_loss() {
	expect "$1: no established connection lost" "$LOST" 0
}

flood_scenario on_full=drop syn "$SPOOF4" "$PORT" kernel_like <<EOF
on_full = drop
EOF

flood_scenario on_full=early_drop syn "$SPOOF4" "$PORT" protected <<EOF
on_full = early_drop
EOF

flood_scenario per_source+early_drop syn 10.66.7.0/24 "$PORT" source_limited <<EOF
on_full = early_drop
source_prefix4 = 24
max_flows_per_source = 100
max_new_per_source = 50
EOF

flood_scenario per_source+drop syn 10.66.7.0/24 "$PORT" no_loss <<EOF
on_full = drop
source_prefix4 = 24
max_flows_per_source = 100
max_new_per_source = 50
EOF

done_testing
