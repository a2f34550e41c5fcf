#!/bin/bash
# Control socket abuse: a 10 MB request, binary garbage, half-written
# requests left open in every client slot, 300 clients at once, clients
# that ask for a big flow list and never read it. Each gets an error or a
# disconnect, within the 5 s a client may take; nfqtrackctl is turned away
# ("busy") only while every slot is held, and served as before afterwards;
# and the packet path does not notice: a ping and a UDP stream run through
# the whole abuse without loss. Reloads back to back are rate limited.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

HERE=$TOP/tests/integ
PY=/usr/bin/python3 # the system's: no module beyond the standard library
SLOTS=16            # MAX_CLIENTS in src/ctl.c
FLOWS=10000         # flows in the table, for a long list
UDP_N=1500          # the UDP stream's datagrams, one every 20 ms
PINGS=250           # the ping's, one every 100 ms

ctl() { "$NFQTRACKCTL" -s "$CTL" "$@"; }
abuse() { timeout 60 $PY "$HERE/ctlabuse.py" "$1" "$CTL" "${@:2}"; }

setup_net || { fail "network setup"; done_testing; }
setup_attacker || { fail "attacker setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 100000
timeout_udp = 600
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

# Many flows, so that a list is megabytes: forged sources, one flow each.
r=$(ip netns exec "$NS_A" "$FLOWGEN" flood -m udp -s "$SPOOF4" -d "$V4_S" -p "$PORT" \
	-r 5000 -n "$FLOWS" -t 10)
echo "# $r"
for _ in $(seq 50); do [ "$(ctl count)" -ge "$FLOWS" ] && break; sleep 0.1; done
expect_ge "a table of $FLOWS flows" "$(ctl count)" "$FLOWS"
bytes=$(ctl list 2>/dev/null | wc -c)
expect_ge "the list is megabytes" "$bytes" 1000000
check_accounting "before the abuse"

# The packet path, measured all through the abuse.
ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n "$UDP_N" -f 4 \
	-w 500 -i 20 -t 90 >"$T/udp.out" 2>&1 &
UDP_PID=$!
PIDS+=("$UDP_PID")
ip netns exec "$NS_C" ping -n -q -c "$PINGS" -i 0.1 -W 1 -w 60 "$V4_S" >"$T/ping.out" 2>&1 &
PING_PID=$!
PIDS+=("$PING_PID")
t0=$SECONDS

r=$(abuse huge $((10 << 20)))
echo "# $r"
check "10 MB request: an error or a disconnect" \
	grep -qE '^huge sent=[0-9]+ reply=(NFQT/1 ERR request too long \(4095 bytes at most\)|closed)$' <<<"$r"
r=$(abuse garbage 100000)
echo "# $r"
check "binary garbage: an error or a disconnect" \
	grep -qE '^garbage reply=(NFQT/1 ERR .+|closed)$' <<<"$r"
check "nfqtrackctl is served" quiet ctl stats

# Half-written requests in every slot: others are turned away until the
# daemon drops them, 5 s on.
abuse half "$SLOTS" 10 >"$T/half.out" &
HALF_PID=$!
PIDS+=("$HALF_PID")
sleep 1
# The daemon says busy, takes what the client sent (a socket closed with
# unread data would reset it before it reads the answer) and hangs up; a
# request still in flight then may yet see a reset, rarely.
busy=0 other=0 reset=0
for _ in $(seq 10); do
	r=$(ctl stats 2>&1)
	case "$?:$r" in
	"1:nfqtrackctl: busy: too many control clients") busy=$((busy + 1)) ;;
	"3:nfqtrackctl: talking to nfqtrackd at $CTL: Connection reset by peer") reset=$((reset + 1)) ;;
	*) other=$((other + 1)); echo "# $r" ;;
	esac
done
expect "every slot held: nfqtrackctl is turned away, never served" "$other" 0
echo "# busy $busy, reset $reset of 10"
expect_ge "and told busy (exit 1), nearly always" "$busy" 8
wait "$HALF_PID"
forget_pid "$HALF_PID"
r=$(cat "$T/half.out")
expect "half-written requests: all dropped within 10 s" "$r" \
	"half connected=$SLOTS closed=$SLOTS"
check "then nfqtrackctl is served" quiet ctl stats

# A request a byte at a time: reading more does not buy more time.
r=$(abuse trickle 20)
echo "# $r"
check "trickled request: told so and dropped 5 s on" \
	grep -qE '^trickle sent=[0-9]+ reply=NFQT/1 ERR request not complete within 5 s seconds=[5-7]$' <<<"$r"

r=$(abuse many 300)
echo "# $r"
expect "300 clients at once: each answered or turned away, none left hanging" \
	"$(field hung "$r")" 0
expect "and all counted" \
	"$(($(field ok "$r") + $(field busy "$r") + $(field closed "$r")))" 300
expect_ge "some were turned away busy" "$(field busy "$r")" 1
check "then nfqtrackctl is served" quiet ctl stats

# Big lists nobody reads: a few clients, so that slots are left.
abuse noread 4 10 >"$T/noread.out" &
NOREAD_PID=$!
PIDS+=("$NOREAD_PID")
sleep 1
check "unread lists pending: nfqtrackctl is served" quiet ctl stats
expect_ge "and a full list still comes" "$(ctl list 2>/dev/null | wc -l)" "$FLOWS"
wait "$NOREAD_PID"
forget_pid "$NOREAD_PID"
r=$(cat "$T/noread.out")
expect "unread lists: all dropped within 10 s" "$r" "noread connected=4 closed=4"
echo "# abuse over in $((SECONDS - t0)) s"

wait "$UDP_PID"
forget_pid "$UDP_PID"
wait "$PING_PID"
forget_pid "$PING_PID"
r=$(cat "$T/udp.out")
echo "# UDP during the abuse: $r"
expect "the UDP stream was echoed all through" "$r" "udp sent=$UDP_N recv=$UDP_N"
p=$(grep -oE '[0-9]+ received' "$T/ping.out" | cut -d' ' -f1)
rtt=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/\([0-9.]*\)/.*|avg \1 ms, max \2 ms|p' "$T/ping.out")
echo "# ping during the abuse: ${p:-0}/$PINGS received, $rtt"
expect "every ping answered" "${p:-0}" "$PINGS"
max=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/[0-9.]*/\([0-9]*\).*|\1|p' "$T/ping.out")
check "no ping took 500 ms" test "${max:-1000}" -lt 500

# Reloads back to back: each reads the file, stops the queues a moment
# and writes log lines, so the socket takes 5 at once, then one a second.
t0=$SECONDS
reloaded=0 refused=0
for _ in $(seq 30); do
	r=$(ctl reload 2>&1)
	case "$?:$r" in
	"0:reloaded "*) reloaded=$((reloaded + 1)) ;;
	"1:nfqtrackctl: too many reloads (5 at once, then one a second): try again in a second") refused=$((refused + 1)) ;;
	*) echo "# $r" ;;
	esac
done
el=$((SECONDS - t0))
echo "# 30 reloads in $el s: $reloaded done, $refused refused"
check "30 reloads at once: 5, then one a second, done" \
	test "$reloaded" -ge 5 -a "$reloaded" -le $((5 + el + 1))
expect "the others refused, with the reason" "$((reloaded + refused))" 30
sleep 1.2
r=$(ctl reload 2>&1)
expect "a second later, a reload is done again" "$?:${r%%$'\n'*}" "0:reloaded $T/nfqtrack.conf"

expect "the daemon still answers" "$(ctl version)" "version $("$NFQTRACKD" -V | awk '{ print $NF }')"
expect "no flow was lost" "$(ctl count)" "$(ctl list 2>/dev/null | wc -l)"
check_accounting "after the abuse"

stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
