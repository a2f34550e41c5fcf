#!/bin/bash
# Control requests that walk a large table do not stall the packet path:
# with over a million flows, clients that loop `list` and `flush` with a
# filter that matches nothing (no output to pace them) and `top 1000` are
# served a bounded share a turn of the event loop, so a ping through the
# queue meanwhile keeps its round trip in milliseconds. (Walking the whole
# table in one turn took the ping's maximum from some ms to over 100.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

FLOWS=1000000 # at least, in the table
LISTERS=4     # clients looping `list` with a filter that matches nothing
SECS=8        # how long they loop, the ping running all along
PINGS=600     # one every 10 ms
MAX_RTT=100   # ms: the ping's worst round trip may not reach it (some
              # 25 on a loaded 2-core machine; 820 when a walk took a turn)
AVG_RTT=10    # ms: nor its average (1.5; 222)

ctl() { "$NFQTRACKCTL" -s "$CTL" "$@"; }

# Under the sanitizers (make check-san, check-tsan) a walk is several
# times slower: the round trips say nothing there, and a million flows
# walked by six clients at once outlast nfqtrackctl's 10 s. There the test walks a
# tenth of the table, for what the sanitizers see, and times nothing.
TIMED=yes
if ldd "$NFQTRACKD" 2>/dev/null | grep -qE 'lib[at]san'; then
	TIMED=no FLOWS=100000
	echo "# built with the sanitizers: $FLOWS flows, round trips not judged"
fi

setup_net || { fail "network setup"; done_testing; }
setup_attacker || { fail "attacker setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 1100000
timeout_udp = 600
queue_maxlen = 65536
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }

# A million flows: forged sources from random ports, one datagram each, to
# a closed port. Rounds until the table holds them (the queue may let some
# pass unseen under the load), bounded.
for _ in 1 2 3 4 5 6; do
	n=$(ctl count)
	[ "${n:-0}" -ge "$FLOWS" ] && break
	r=$(ip netns exec "$NS_A" "$FLOWGEN" flood -m udp -s "$SPOOF4" -d "$V4_S" \
		-p 9 -r 150000 -n $((FLOWS + 50000 - ${n:-0})) -t 30)
	echo "# $r"
done
n=$(ctl count)
expect_ge "a table of $FLOWS flows" "${n:-0}" "$FLOWS"

# ping_rtt SECONDS: ping through the queue for so long, one every 10 ms;
# prints "SENT RECEIVED AVG_MS MAX_MS" (rounded up). A loaded machine (a
# sanitizer build beside other work) may send fewer than asked before the
# deadline: what counts is that every one sent is answered.
ping_rtt() {
	ip netns exec "$NS_C" ping -n -q -c $(($1 * 100)) -i 0.01 -W 1 \
		-w $(($1 + 5)) "$V4_S" >"$T/ping.out" 2>&1
	local sent got avg max
	sent=$(grep -oE '[0-9]+ packets transmitted' "$T/ping.out" | cut -d' ' -f1)
	got=$(grep -oE '[0-9]+ received' "$T/ping.out" | cut -d' ' -f1)
	read -r avg max < <(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/\([0-9.]*\)/.*|\1 \2|p' "$T/ping.out")
	awk -v s="${sent:-0}" -v g="${got:-0}" -v a="${avg:-9999}" \
		-v m="${max:-9999}" \
		'BEGIN { printf "%d %d %d %d\n", s, g, a + 0.999, m + 0.999 }'
}

read -r sent got idle_avg idle_max < <(ping_rtt 3)
echo "# ping alone: $got/$sent answered (300 asked), avg ${idle_avg} ms, max ${idle_max} ms"

# Alone, for the record: a whole listing, and one that matches nothing.
t0=$(date +%s%N)
lines=$(ctl list 2>/dev/null | wc -l)
t1=$(date +%s%N)
ctl list --src 192.0.2.99 >/dev/null 2>&1
t2=$(date +%s%N)
echo "# alone: list of $lines flows in $(((t1 - t0) / 1000000)) ms, no-match list in $(((t2 - t1) / 1000000)) ms"
expect_ge "a whole listing shows them" "$lines" "$FLOWS"

# loop OUT CMD...: run nfqtrackctl CMD... over and over for SECS seconds;
# OUT gets "RUNS FAILURES".
loop() {
	local out=$1 runs=0 bad=0 end=$((SECONDS + SECS))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		ctl "$@" >/dev/null 2>&1 || bad=$((bad + 1))
		runs=$((runs + 1))
	done
	echo "$runs $bad" >"$out"
}
for i in $(seq "$LISTERS"); do
	loop "$T/list.$i" list --src 192.0.2.99 &
	PIDS+=($!)
done
loop "$T/flush" flush --src 192.0.2.99 &
PIDS+=($!)
loop "$T/top" top -n 1000 &
PIDS+=($!)
sleep 0.5
read -r sent got busy_avg busy_max < <(ping_rtt $((SECS - 2)))
for _ in $(seq $((LISTERS + 2))); do
	wait "${PIDS[-1]}" 2>/dev/null
	forget_pid "${PIDS[-1]}"
done
lists=0
for i in $(seq "$LISTERS"); do
	read -r runs bad <"$T/list.$i"
	lists=$((lists + runs))
	expect "list client $i: every list complete" "$bad" 0
done
read -r flushes bad <"$T/flush"
expect "flush client: every flush complete" "$bad" 0
read -r tops bad <"$T/top"
expect "top client: every top complete" "$bad" 0
echo "# walks of the $n-flow table in $SECS s: $lists lists, $flushes flushes; $tops tops"
expect_ge "the lists went on all along" "$lists" "$LISTERS"
echo "# ping beside them: $got/$sent answered ($(((SECS - 2) * 100)) asked), avg ${busy_avg} ms, max ${busy_max} ms"
expect_ge "the ping ran all along: sent" "$sent" $(((SECS - 2) * 50))
expect "every ping answered" "$got" "$sent"
if [ "$TIMED" = yes ]; then
	check "the ping's worst round trip stays under $MAX_RTT ms" \
		test "$busy_max" -lt "$MAX_RTT"
	check "and its average under $AVG_RTT ms" test "$busy_avg" -lt "$AVG_RTT"
fi
expect "no flow removed by the flushes" "$(counter flows_flushed)" 0

stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
