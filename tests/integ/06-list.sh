#!/bin/bash
# nfqtrackctl list: the flow table in conntrack -L's format, with filters
# and JSON. The client namespace has the kernel's own connection tracking
# switched on, so the kernel tracks the very same packets from the other
# end: both listings must agree flow for flow, state for state, and, with
# accounting on both sides (nf_conntrack_acct = 1, accounting = yes),
# packet and byte counts (the seconds left aside).
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
for ipt in iptables ip6tables; do
	ip netns exec "$NS_C" $ipt -A OUTPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
	ip netns exec "$NS_C" $ipt -A INPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
done
ip netns exec "$NS_C" sysctl -qw net.netfilter.nf_conntrack_acct=1
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<<"accounting = yes"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

mixed_traffic
check "ICMP" quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"
check "ICMPv6" quiet ip netns exec "$NS_C" ping -6 -q -c 2 -i 0.2 -W 1 "$V6_S"
sleep 0.3

# The third field is the seconds left: the two clocks differ a little.
normal() { awk '{ $3 = ""; print }' | sed 's/ mark=.*//' | sort; }
"$NFQTRACKCTL" -s "$CTL" list >"$T/ours" 2>"$T/ours.err"
expect "nfqtrackctl list: exit status 0" "$?" 0
ip netns exec "$NS_C" conntrack -L 2>/dev/null >"$T/kernel"
normal <"$T/ours" >"$T/ours.n"
normal <"$T/kernel" >"$T/kernel.n"
expect "the kernel tracked what we sent" "$(wc -l <"$T/kernel.n")" 10
check "the counters are there" grep -q " packets=[1-9][0-9]* bytes=[1-9]" "$T/ours.n"
if diff "$T/kernel.n" "$T/ours.n" >"$T/diff"; then
	ok "same flows, states, flags and counters as conntrack -L ($(wc -l <"$T/ours.n") flows)"
else
	fail "listings differ from the kernel's:"
	cat "$T/diff"
fi
check "flow count on stderr, as conntrack does" \
	grep -qx "nfqtrackctl: $(wc -l <"$T/ours") flow entries have been shown." "$T/ours.err"
check "lines end as conntrack's do" \
	bash -c "! grep -v ' mark=0 use=1$' '$T/ours'"

count() { "$NFQTRACKCTL" -s "$CTL" list "$@" 2>/dev/null | wc -l; }
expect "--proto tcp" "$(count -p tcp)" 5
expect "--proto tcp --state TIME_WAIT" "$(count -p tcp --state TIME_WAIT)" 3
expect "--state ESTABLISHED" "$(count --state established)" 2
expect "-f ipv6" "$(count -f ipv6)" 3
expect "--proto udp" "$(count --proto udp)" 3
expect "--proto icmp" "$(count -p icmp)" 1
expect "--dst with a prefix" "$(count --dst 10.231.0.0/24)" 7
expect "--src" "$(count --src "$V4_C" -p 17)" 3
expect "--addr matches either end" "$(count --addr "$V4_S")" 7
expect "--addr IPv6 prefix" "$(count --addr fd00:231::/64)" 3
expect "no match" "$(count --src 192.0.2.1)" 0

json=$("$NFQTRACKCTL" -s "$CTL" -o json list -p tcp)
check "-o json list is a JSON array of the flows" python3 -c '
import json, sys
flows = json.loads(sys.argv[1])
assert len(flows) == 5, flows
tw = [f for f in flows if f["state"] == "TIME_WAIT"]
assert len(tw) == 3 and all(f["assured"] and not f["unreplied"] for f in tw), tw
assert all(f["dport"] == 5000 and f["reply_sport"] == 5000 for f in flows)
' "$json"
check "empty JSON listing is []" test "$("$NFQTRACKCTL" -s "$CTL" -o json list --src 192.0.2.1)" = "[]"

out=$("$NFQTRACKCTL" -s "$CTL" list --state FROB 2>&1)
expect "bad filter: exit status 1" "$?" 1
expect "bad filter: says why" "$out" "nfqtrackctl: state=FROB: unknown TCP or SCTP state"
out=$("$NFQTRACKCTL" -s "$CTL" stats -p tcp 2>&1)
expect "filters on stats: usage error" "$?" 2

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
