#!/bin/bash
# nfqtrackctl events (issue 17): the flows' events as conntrack -E prints
# them, from real traffic.
#
# First against the kernel's own tracker on the very same packets: the
# client namespace tracks its traffic with the kernel's conntrack (as
# 06-list does) and `conntrack -E` runs there, while nfqtrackd queues the
# server's side, with accounting on both (nf_conntrack_acct = 1,
# accounting = yes) and the same short UDP and ICMP timeouts. TCP over
# IPv4 and IPv6 (kept open, closed to TIME_WAIT, a closed port's RST),
# UDP answered and not, ping both families; then the UDP and ICMP flows
# expire and both tables are flushed. The NEW lines must be the kernel's
# in the same order, and the DESTROY lines the kernel's, counters
# included (the seconds left and the kernel's [USERSPACE] portid= and our
# reason= aside); every flow listed had its NEW, every flow gone its one
# DESTROY with the reason it went (expired, closed, flushed). The UPDATE
# lines are compared and their differences shown. Several subscribers at
# once: -o json, -e NEW with -p udp, -t with -e DESTROY and --src.
#
# Then a daemon with a table of 16: unanswered UDP flows past it are
# evicted (reason=evicted(early_drop)); a reload with max_new_per_source
# refuses a burst ([REFUSED] reason=source_rate limit= count=); a
# subscriber that never reads is attached while 20,000 forged flows go
# through the queue: no packet waits for it (none lost in the queue, every
# flow in the table, nothing lost by the workers' rings), and when it reads at
# last it finds what fit its buffer and "# N events lost" for the rest,
# kept + lost being every flow. At the stop every flow left ends
# (reason=stopped), the stream's end mark comes and nfqtrackctl exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

command -v conntrack >/dev/null || {
	echo "# $TEST: conntrack is missing: run 'make deps' (make check does)"
	exit 1
}
ctl() { "$NFQTRACKCTL" -s "$CTL" "$@"; }

# events_bg NAME ARGS...: a subscriber writing to $T/NAME.ev; its PID in
# SUB[NAME].
declare -A SUB
events_bg() {
	local name=$1
	shift
	"$NFQTRACKCTL" -s "$CTL" events "$@" >"$T/$name.ev" 2>"$T/$name.err" &
	SUB[$name]=$!
	PIDS+=("$!")
}

# stop_sub NAME: ^C it, as an admin would; its exit status in SUB_RC.
stop_sub() {
	kill -INT "${SUB[$1]}" 2>/dev/null
	wait "${SUB[$1]}"
	SUB_RC=$?
	forget_pid "${SUB[$1]}"
}

# wait_lines FILE PATTERN N: until FILE has N lines matching PATTERN (5 s).
wait_lines() {
	for _ in $(seq 50); do
		[ "$(grep -cE -- "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# cpu_ms workers|main: the daemon's CPU time so far, in ms, of its queues'
# threads (the packet path) or of its main thread (the subscribers).
cpu_ms() {
	local t f sum=0
	for t in /proc/"$DAEMON_PID"/task/*; do
		[ "${t##*/}" = "$DAEMON_PID" ] && [ "$1" = workers ] && continue
		[ "${t##*/}" != "$DAEMON_PID" ] && [ "$1" = main ] && continue
		read -r -a f <"$t/stat"
		sum=$((sum + f[13] + f[14]))
	done
	echo $((sum * 1000 / $(getconf CLK_TCK)))
}

setup_net || { fail "network setup"; done_testing; }
for ipt in iptables ip6tables; do
	ip netns exec "$NS_C" $ipt -A OUTPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
	ip netns exec "$NS_C" $ipt -A INPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
done
for s in acct=1 udp_timeout=3 udp_timeout_stream=3 icmp_timeout=3 icmpv6_timeout=3; do
	ip netns exec "$NS_C" sysctl -qw "net.netfilter.nf_conntrack_$s"
done
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
accounting = yes
timeout_udp = 3
timeout_udp_stream = 3
timeout_icmp = 3
timeout_icmpv6 = 3
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

ip netns exec "$NS_C" conntrack -E >"$T/kernel.ev" 2>"$T/kernel.err" &
KPID=$!
PIDS+=("$KPID")
events_bg all
events_bg json -o json
events_bg udpnew -e NEW -p udp
events_bg v6destroy -t -e destroy --src "$V6_C"
# One that stops reading after a line: its reader gone, it ends, status 0.
("$NFQTRACKCTL" -s "$CTL" events | head -1 >"$T/head.ev"
	echo "${PIPESTATUS[0]}" >"$T/head.rc") &
sleep 0.5

mixed_traffic
check "TCP to a closed port is refused" ip netns exec "$NS_C" \
	bash -c "! exec 3<>/dev/tcp/$V4_S/5998" 2>/dev/null
check "ICMP" quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"
check "ICMPv6" quiet ip netns exec "$NS_C" ping -6 -q -c 2 -i 0.2 -W 1 "$V6_S"
sleep 0.3

# Every flow in the table had its NEW: the tuples of list's lines.
tuple() { grep -oE 'src=[^ ]+ dst=[^ ]+ (sport=[0-9]+ dport=[0-9]+|type=[0-9]+ code=[0-9]+ id=[0-9]+)' | awk 'NR % 2 == 1'; }
ctl list 2>/dev/null | while read -r l; do echo "$l" | tuple | head -1; done | sort >"$T/listed"
grep '^ *\[NEW\]' "$T/all.ev" | while read -r l; do echo "$l" | tuple | head -1; done | sort >"$T/new.tuples"
expect "flows in the table" "$(wc -l <"$T/listed")" 10
expect "every flow in the table had a NEW" "$(comm -23 "$T/listed" "$T/new.tuples" | wc -l)" 0

# The UDP and ICMP flows expire (3 s) in both trackers. The kernel tells
# an expiry when it reaps the flow: its garbage collector may take a
# minute, a dump reaps what it meets expired at once.
sleep 4
for _ in $(seq 20); do
	ip netns exec "$NS_C" conntrack -L >/dev/null 2>&1
	[ "$(grep -cE '^\[DESTROY\] (udp|icmp)' "$T/kernel.ev")" -ge 5 ] && break
	sleep 0.5
done
tcp_done # the IPv6 client closes its 2
sleep 0.3
ip netns exec "$NS_C" conntrack -F 2>/dev/null
ctl flush 2>/dev/null
sleep 0.5
kill -TERM "$KPID"
wait "$KPID" 2>/dev/null
forget_pid "$KPID"
stop_sub all
expect "^C ends nfqtrackctl events with status 0" "$SUB_RC" 0
expect "a reader gone (| head -1) ends it with status 0" "$(cat "$T/head.rc" 2>/dev/null)" 0
check "and the count on stderr, as conntrack -E" \
	grep -qx "nfqtrackctl: $(grep -c '^ *\[' "$T/all.ev") flow events have been shown." "$T/all.err"

# The lines, normalized: no seconds left, none of the kernel's
# [USERSPACE] portid= nor our reason=.
norm() {
	sed -E 's/ \[USERSPACE\] portid=[0-9]+//; s/ progname=[^ ]+//; s/ reason=.*//' |
		awk '$4 ~ /^[0-9]+$/ { $4 = "" } { $1 = $1; print }' | tr -s ' '
}
for who in kernel all; do
	grep -E '^ *\[NEW\]' "$T/$who.ev" | norm >"$T/$who.new"
	grep -E '^ *\[DESTROY\]' "$T/$who.ev" | norm | grep -v ' dport=5998 ' | sort >"$T/$who.destroy"
	grep -E '^ *\[DESTROY\]' "$T/$who.ev" | norm | grep ' dport=5998 ' >"$T/$who.closed"
	grep -E '^ *\[UPDATE\]' "$T/$who.ev" | norm | sort >"$T/$who.update"
done
echo "# kernel: $(wc -l <"$T/kernel.new") NEW, $(wc -l <"$T/kernel.update") UPDATE, $(wc -l <"$T/kernel.destroy") DESTROY;" \
	"nfqtrackd: $(wc -l <"$T/all.new") NEW, $(wc -l <"$T/all.update") UPDATE, $(wc -l <"$T/all.destroy") DESTROY"
expect "the kernel saw the traffic" "$(wc -l <"$T/kernel.new")" 11
if diff "$T/kernel.new" "$T/all.new" >"$T/diff.new"; then
	ok "NEW lines as conntrack -E's, in the same order ($(wc -l <"$T/all.new"))"
else
	fail "NEW lines differ from conntrack -E's:"
	sed 's/^/# /' "$T/diff.new"
fi
if diff "$T/kernel.destroy" "$T/all.destroy" >"$T/diff.destroy"; then
	ok "DESTROY lines as conntrack -E's, counters included ($(wc -l <"$T/all.destroy"))"
else
	fail "DESTROY lines differ from conntrack -E's:"
	sed 's/^/# /' "$T/diff.destroy"
fi
# The connection to a closed port, apart: its RST ends it at once here
# (reason=closed), later in the kernel (CLOSE, 10 s), which counts the RST.
if diff "$T/kernel.closed" "$T/all.closed" >"$T/diff.closed"; then
	ok "a RST-refused connection's DESTROY as conntrack -E's, the RST counted"
else
	fail "a RST-refused connection's DESTROY differs from conntrack -E's:"
	sed 's/^/# /' "$T/diff.closed"
fi
if diff "$T/kernel.update" "$T/all.update" >"$T/diff.update"; then
	ok "UPDATE lines as conntrack -E's ($(wc -l <"$T/all.update"))"
else
	echo "# UPDATE lines that differ from conntrack -E's (not judged):"
	sed 's/^/# /' "$T/diff.update"
fi

# Each flow: one NEW, then one DESTROY, with the reason it went.
reasons=$(awk '
	/^ *\[(NEW|DESTROY)\]/ {
		t = $1; k = ""
		for (i = 2; i <= NF; i++)
			if ($i ~ /^(src|dst|sport|dport|type|code|id)=/ && !(($i) in seen)) {
				k = k " " $i; seen[$i] = 1
			}
		delete seen
		r = ""
		if (match($0, /reason=[^ ]+/)) r = substr($0, RSTART + 7, RLENGTH - 7)
		if (t == "[NEW]") { if (k in st) bad = bad " twice-new" k; st[k] = "new" }
		else { if (st[k] != "new") bad = bad " destroy-without-new" k; st[k] = "gone"; n[$2 " " r]++ }
	}
	END {
		for (k in st) if (st[k] != "gone") bad = bad " never-destroyed" k
		for (x in n) print x, n[x]
		if (bad) print "BAD" bad
	}' "$T/all.ev" | sort | tr '\n' ',')
expect "one NEW and one DESTROY a flow, and why it went" "$reasons" \
	"icmp expired 1,icmpv6 expired 1,tcp closed 1,tcp flushed 5,udp expired 3,"

check "-o json: an object a line, the same events" python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
n = sum(1 for l in open(sys.argv[2]) if l.startswith(("    [", " [", "[")))
assert len(evs) >= n, (len(evs), n)
d = [e for e in evs if e["type"] == "DESTROY"]
assert all("reason" in e and e["time"] > 1.6e9 for e in d), d
assert all(e["packets"] > 0 for e in d), d
assert {e["reason"] for e in d} == {"expired", "closed", "flushed"}, d
' "$T/json.ev" "$T/all.ev"
expect "-e NEW -p udp: only the UDP flows' NEW" \
	"$(grep -vc '^    \[NEW\] udp ' "$T/udpnew.ev")/$(grep -c . "$T/udpnew.ev")" "0/3"
expect "-t -e DESTROY --src: the IPv6 flows' DESTROY (2 TCP, a ping), stamped" \
	"$(grep -cE '^\[[0-9]{10}\.[0-9]{6}\]	\[DESTROY\] (tcp +6 .*src=fd00:231::1 .* reason=flushed|icmpv6 +58 src=fd00:231::1 .* reason=expired)$' "$T/v6destroy.ev")/$(grep -c . "$T/v6destroy.ev")" "3/3"
out=$(ctl events -e NEW,BOGUS 2>&1)
expect "-e with a bad type: status 1" "$?" 1
expect "and says why" "$out" \
	"nfqtrackctl: types=NEW,BOGUS: types are NEW, UPDATE, DESTROY, REFUSED or ALL"
out=$(ctl events -p foo 2>&1)
expect "a bad filter: says why" "$out" "nfqtrackctl: proto=foo: unknown protocol"
stop_daemon
expect "daemon exit status" "$DAEMON_RC" 0
for s in json udpnew v6destroy; do
	wait "${SUB[$s]}"
	rc=$?
	forget_pid "${SUB[$s]}"
	expect "$s: the daemon's stop ends the stream: status 0" "$rc" 0
done
out=$("$NFQTRACKCTL" -s "$CTL" events 2>&1)
expect "no daemon: status 3" "$?" 3
check "no daemon: says so" grep -q "is it running?" <<<"$out"

# A table of 16, early_drop.
write_conf "$T/nfqtrack2.conf" <<EOF
accounting = yes
max_flows = 16
timeout_udp = 600
queue_maxlen = 65536
EOF
start_daemon "$T/nfqtrack2.conf" || { fail "daemon 2 start"; done_testing; }
events_bg two
sleep 0.3
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p 9 -n 24 -f 24 -i 20)
expect "24 unanswered UDP flows" "$r" "udp sent=24 recv=0"
check "8 NEW over the table's 16" wait_lines "$T/two.ev" '^    \[NEW\] udp ' 24
check "8 evicted" wait_lines "$T/two.ev" '^\[DESTROY\] udp .* reason=evicted\(early_drop\)$' 8
expect "no other DESTROY" "$(grep -c DESTROY "$T/two.ev")" 8

# A burst over max_new_per_source is refused, and told.
cat >>"$T/nfqtrack2.conf" <<EOF
max_new_per_source = 1
max_new_per_source_burst = 2
EOF
sed -i 's/^max_flows = 16$/max_flows = 100000/' "$T/nfqtrack2.conf"
check "reload" quiet ctl reload
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p 9 -n 10 -f 10)
check "REFUSED lines: the limit, its count" wait_lines "$T/two.ev" \
	"^\[REFUSED\] udp +17 src=$V4_C dst=$V4_S sport=[0-9]+ dport=9 \[UNREPLIED\] src=$V4_S dst=$V4_C sport=9 dport=[0-9]+ reason=source_rate limit=1 count=[0-9]+$" 5

# 8 subscribers at most: with 'two', 7 more are served, the ninth is not.
for i in 1 2 3 4 5 6 7; do events_bg "more$i" -e REFUSED --src 192.0.2.1; done
sleep 0.5
out=$(ctl events 2>&1)
expect "a ninth subscriber: status 1" "$?" 1
expect "and is told why" "$out" "nfqtrackctl: too many event subscribers (8 at once)"
for i in 1 2 3 4 5 6 7; do stop_sub "more$i"; done

# A subscriber that never reads, while a flood goes through the queue.
setup_attacker || { fail "attacker setup"; done_testing; }
FLOOD=20000 RATE=20000
# Under the sanitizers the daemon is several times slower: a slower flood.
ldd "$NFQTRACKD" 2>/dev/null | grep -qE 'lib[at]san' && RATE=4000
python3 - "$CTL" "$SPOOF4" "$T/lazy" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(("NFQT/1 events types=NEW src=%s\n" % sys.argv[2]).encode())
open(sys.argv[3] + ".ready", "w").close()
while not os.path.exists(sys.argv[3] + ".go"):
    time.sleep(0.1)
s.settimeout(2)
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except socket.timeout:
    pass
lines = data.decode().split("\n")
new = sum(1 for l in lines if l.startswith("    [NEW]"))
lost = sum(int(l.split()[1]) for l in lines if l.startswith("# "))
notes = sum(1 for l in lines if l.startswith("# "))
open(sys.argv[3], "w").write("%d %d %d\n" % (new, lost, notes))
EOF
LAZY=$!
PIDS+=("$LAZY")
for _ in $(seq 50); do [ -e "$T/lazy.ready" ] && break; sleep 0.1; done
sleep 0.3
snapshot
before_flows=${S[flows]}
w0=$(cpu_ms workers) m0=$(cpu_ms main)
r=$(ip netns exec "$NS_A" "$FLOWGEN" flood -m udp -s "$SPOOF4" -d "$V4_S" -p 9 -r $RATE -n $FLOOD -t 10)
sleep 1
w1=$(cpu_ms workers) m1=$(cpu_ms main)
echo "# flood with a subscriber that never reads: $r; CPU ms: queue thread $((w1 - w0)), main thread $((m1 - m0))"
snapshot
made=$((S[flows] - before_flows))
echo "# flows made: $made of $FLOOD packets; kernel_queue_dropped=${S[kernel_queue_dropped]} kernel_user_dropped=${S[kernel_user_dropped]} events_lost=${S[events_lost]:-?}"
expect "no packet lost in the queue" "$((S[kernel_queue_dropped] + S[kernel_user_dropped]))" 0
expect_ge "the flood's flows in the table" "$made" $((FLOOD * 99 / 100))
expect "the reading subscriber lost nothing" "$(grep -c '^# ' "$T/two.ev")" 0
flood_new=$(grep -c "^    \[NEW\] udp .*src=${SPOOF4%.0.0/16}\." "$T/two.ev")
expect "the reading subscriber: a NEW for each" "$flood_new" "$made"
touch "$T/lazy.go"
wait "$LAZY"
forget_pid "$LAZY"
read -r lazy_new lazy_lost lazy_notes <"$T/lazy"
echo "# the subscriber that never read: $lazy_new NEW kept, $lazy_lost lost, in $lazy_notes note(s)"
expect_ge "it kept a buffer's worth" "$lazy_new" 8192
expect_ge "and was told of the rest" "$lazy_lost" 1
expect "kept + lost = every flow" "$((lazy_new + lazy_lost))" "$made"
# The same flood again, without it: what the packet path spends.
before_flows=$(ctl count)
w0=$(cpu_ms workers) m0=$(cpu_ms main)
r=$(ip netns exec "$NS_A" "$FLOWGEN" flood -m udp -s "$SPOOF4" -d "$V4_S" -p 9 -r $RATE -n $FLOOD -t 10)
sleep 1
w1=$(cpu_ms workers) m1=$(cpu_ms main)
echo "# the same flood without it: $r; CPU ms: queue thread $((w1 - w0)), main thread $((m1 - m0)); $(($(ctl count) - before_flows)) flows made"

# The stop: every flow left ends, the stream with it.
snapshot
left=${S[flows]}
stop_daemon
expect "daemon 2 exit status" "$DAEMON_RC" 0
wait "${SUB[two]}"
expect "the stream ended by the stop: status 0" "$?" 0
forget_pid "${SUB[two]}"
stopped=$(grep -c ' reason=stopped$' "$T/two.ev")
lost=$(awk '/^# [0-9]+ events lost$/ { n += $2 } END { print n + 0 }' "$T/two.ev")
echo "# at the stop: $left flows, $stopped DESTROY reason=stopped told, $lost lost to the subscriber's buffer"
expect "every flow left: told stopped, or counted lost" "$((stopped + lost))" "$left"
check "nfqtrackctl says the daemon ended it" grep -q "the daemon ended the stream" "$T/two.err"

done_testing
