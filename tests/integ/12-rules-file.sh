#!/bin/bash
# The shipped firewall rules (conf/nfqtrack.rules and nfqtrack6.rules),
# loaded as their comments say, with the interface name edited in: they
# add to the rules already there and remove none; before the daemon runs
# and after it stops, --queue-bypass lets traffic through; while it runs,
# it sees and tracks both directions and the kernel tracks nothing; the
# command in the comments takes them out again, exactly.
. "$(dirname "$0")/lib.sh"

QUEUE_RULES=no setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
nsx() { ip netns exec "$NS_S" "$@"; }
# rules IPT: the server namespace's rules in both tables, counters aside.
rules() { { nsx "$1" -S -t raw; nsx "$1" -S; } | sort; }

# Rules of the admin's own, which loading must keep.
nsx iptables -A INPUT -p tcp --dport 22 -j ACCEPT
nsx ip6tables -A INPUT -p tcp --dport 22 -j ACCEPT
before4=$(rules iptables)
before6=$(rules ip6tables)

for f in nfqtrack nfqtrack6; do
	check "$f.rules says how to load it" grep -q \
		"^#     ip6*tables-restore --noflush /etc/nfqtrack/$f.rules\$" "$TOP/conf/$f.rules"
	sed 's/\<eth0\>/veth-s/g' "$TOP/conf/$f.rules" >"$T/$f.rules"
done
nsx iptables-restore --noflush "$T/nfqtrack.rules"
expect "IPv4: loaded" "$?" 0
nsx ip6tables-restore --noflush "$T/nfqtrack6.rules"
expect "IPv6: loaded" "$?" 0
for ipt in iptables ip6tables; do
	[ $ipt = iptables ] && before=$before4 || before=$before6
	after=$(rules $ipt)
	expect "$ipt: the admin's rules kept, four added" \
		"$(comm -23 <(echo "$before") <(echo "$after") | wc -l) $(comm -13 <(echo "$before") <(echo "$after") | wc -l)" \
		"0 4"
	expect "$ipt: both directions queued with --queue-bypass" \
		"$(nsx $ipt -S | grep -c -- '-j NFQUEUE --queue-num 0 --queue-bypass')" 2
	expect "$ipt: packets marked SEEN (the fast path's) are not queued" \
		"$(nsx $ipt -S | grep -c -- '-m mark ! --mark 0x1000000/0x1000000 -j NFQUEUE')" 2
done

start_server
check "no daemon yet: IPv4 passes (bypass)" \
	quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"
check "no daemon yet: IPv6 passes (bypass)" \
	quiet ip netns exec "$NS_C" ping -6 -q -c 2 -i 0.2 -W 1 "$V6_S"

write_conf "$T/nfqtrack.conf" </dev/null
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
nsx conntrack -F 2>/dev/null
tcp_client "$V4_S"
r=$(tcp_cmd open 3 3000)
expect "TCP/IPv4 through the daemon" "$r" "open ok=3 fail=0"
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V6_S" -p "$PORT" -n 10 -f 2 -w 1000)
expect "UDP/IPv6 through the daemon" "$r" "udp sent=10 recv=10"
expect "tracked by nfqtrackd: 3 TCP, 2 UDP" \
	"$("$NFQTRACKCTL" -s "$CTL" list -p tcp 2>/dev/null | wc -l) $("$NFQTRACKCTL" -s "$CTL" list -p udp 2>/dev/null | wc -l)" "3 2"
check "established: replies were seen (OUTPUT is queued too)" \
	test "$("$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null | wc -l)" -eq 3
expect "tracked by the kernel: nothing (CT --notrack)" \
	"$(nsx conntrack -L 2>/dev/null | wc -l)" 0

check_accounting "end"
stop_daemon TERM
expect "daemon stopped: exit 0" "$DAEMON_RC" 0
r=$(tcp_cmd echo 3000)
expect "daemon stopped: the open connections go on (bypass)" "$r" "echo ok=3 fail=0"
check "daemon stopped: new traffic passes" \
	quiet ip netns exec "$NS_C" ping -6 -q -c 2 -i 0.2 -W 1 "$V6_S"
tcp_done

# Out again, with the command from the files' comments.
for f in nfqtrack nfqtrack6; do
	[ $f = nfqtrack ] && ipt=iptables || ipt=ip6tables
	cmd=$(grep -Fo "sed 's/^-A /-D /' /etc/nfqtrack/$f.rules | $ipt-restore --noflush" \
		"$TOP/conf/$f.rules")
	check "$f.rules says how to remove it" test -n "$cmd"
	nsx sh -c "${cmd//\/etc\/nfqtrack/$T}"
	[ $ipt = iptables ] && before=$before4 || before=$before6
	check "$ipt: removed, the admin's rules left alone" test "$(rules $ipt)" = "$before"
done
done_testing
