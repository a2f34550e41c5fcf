#!/bin/bash
# The shipped stateful firewall (conf/nfqtrack-stateful.rules and its IPv6
# twin, eth0 -> veth-s, verdict_mode = mark) while nfqtrackd is absent or
# stalled, and while its verdict_mode is switched under traffic.
#
# Part 1: what each file's header promises. Probes from the client, each
# once over IPv4 and once over IPv6, all of a case at once:
#   open     TCP to port 80, a listener behind an open port
#   closed   TCP to port 5000, a listener behind no open port
#   out      the server's own new TCP connection to the client: its
#            replies come back in only as ESTABLISHED (marked by nfqtrackd,
#            or by the FAIL-OPEN line while nfqtrackd is not there)
#   ping     ICMP echo request, accepted statelessly
# A probe "pass"es when the connection is made and echoes a line (ping: a
# reply) within PROBE_MS. The cases, for the file as shipped (fail-closed)
# and with its FAIL-OPEN line uncommented, by
#     sed '/^# FAIL-OPEN/{n;s/^#//}'
#   running    nfqtrackd marks:       open, out, ping pass; closed fails
#   stopped    no daemon on the queue: --queue-bypass passes every packet
#              on unmarked: fail-closed: open and ping pass, closed and out
#              fail (the replies have no state); fail-open: all pass
#   stalled    fail_open = yes, SIGSTOP, the queue (queue_maxlen = MAXLEN)
#              filled by datagrams: the kernel passes every further packet
#              on unmarked, as stopped
#   restarted, continued (SIGCONT): back to running
# and with fail_open = no, stalled: every new packet finds the queue full
# and is dropped (counted in the queue's queue_dropped), every probe
# fails, the open port and ping too; continued: running. The daemon's
# counters add up (check_accounting) before each stop and after each
# continue. The table of cases is printed at the end of part 1.
#
# Part 2: reloads switching verdict_mode under traffic. The shipped files
# queue in mangle, so repeat works there too: the packet re-enters mangle
# INPUT, skips the queue rule by its mark (a counting rule above it shows
# two passes per queued packet in repeat mode, one in mark mode). Long-lived
# TCP connections, CONNS inbound to the open port 22 and CONNS outbound
# from the server (whose replies need the ESTABLISHED mark), echo without
# pause while `nfqtrackctl reload` switches mark -> repeat -> mark ->
# accept -> mark. Every round of echoes in the mark and repeat phases must
# succeed on every connection and the daemon must keep each of them as the
# same ESTABLISHED flow (nfqtrackctl list), none made anew. In accept
# mode nfqtrackd sets no mark: the inbound connections flow on by the
# open-port rule, the outbound ones stall (their replies meet the policy
# DROP) and recover by TCP's retransmissions once marks are back, within
# a few seconds; nfqtrackd keeps tracking them all the while.
. "$(dirname "$0")/lib.sh"

MAXLEN=16     # the stalled daemon's queue
PROBE_MS=1500 # a probe's time to connect, then to echo
PING_WAIT=1.5 # the same for ping -W, in seconds
OPEN=80       # an open port of the shipped file
CLOSED=5000   # a port it does not open
OUT=6000      # the client's listener for the server's own connections
CONNS=4       # part 2: connections each way
LONG_IN=22    # part 2: the open port they use inbound
LONG_OUT=6001 # part 2: the client's port they use outbound
PROBES=(open closed out ping)
RUNNING="pass fail pass pass"
FAILCLOSED="pass fail fail pass"
ALLPASS="pass pass pass pass"
ALLFAIL="fail fail fail fail"
STALLED_PID=
TABLE=()

# The stalled daemon is continued on every way out, so that cleanup's
# SIGTERM ends it.
resume_stalled() {
	[ -n "$STALLED_PID" ] && kill -CONT "$STALLED_PID" 2>/dev/null
	STALLED_PID=
}
trap 'resume_stalled; cleanup' EXIT

# rules VARIANT: the shipped files on veth-s, as shipped (closed) or with
# the FAIL-OPEN line uncommented (open), loaded into the server.
rules() {
	local f in out
	for f in nfqtrack-stateful nfqtrack6-stateful; do
		in=$TOP/conf/$f.rules
		out=$T/$f-$1.rules
		if [ "$1" = open ]; then
			sed '/^# FAIL-OPEN/{n;s/^#//}' "$in"
		else
			cat "$in"
		fi | sed 's/\<eth0\>/veth-s/g' >"$out"
	done
	ip netns exec "$NS_S" iptables-restore <"$T/nfqtrack-stateful-$1.rules" &&
		ip netns exec "$NS_S" ip6tables-restore <"$T/nfqtrack6-stateful-$1.rules"
}

# kernel_queue FIELD: queue 0's total (packets waiting) or dropped (found
# it full, without fail-open), read in the server's
# /proc/net/netfilter/nfnetlink_queue (the daemon may be stopped).
kernel_queue() {
	ip netns exec "$NS_S" awk -v f="$1" '$1 == 0 { print (f == "total" ? $3 : $6) }' \
		/proc/net/netfilter/nfnetlink_queue
}

# stall: SIGSTOP the daemon, then fill its queue with datagrams (the
# firewall drops them) until it holds MAXLEN packets.
stall() {
	local i
	kill -STOP "$DAEMON_PID"
	STALLED_PID=$DAEMON_PID
	ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p 9 -n $((MAXLEN * 2)) -f 4 >/dev/null
	for i in $(seq 50); do
		[ "$(kernel_queue total)" = "$MAXLEN" ] && return 0
		sleep 0.1
	done
	return 1
}

# resume: SIGCONT, and wait until the daemon has emptied its queue.
resume() {
	local i
	resume_stalled
	for i in $(seq 50); do
		[ "$(counter kernel_queue_total)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# probe_tcp NS ADDR PORT: pass (connected and echoed), fail (no
# connection) or half (connected, no echo).
probe_tcp() {
	local r
	r=$(printf 'open 1 %d\necho %d\nquit\n' "$PROBE_MS" "$PROBE_MS" |
		timeout 10 ip netns exec "$1" "$FLOWGEN" client -d "$2" -p "$3" -t 8 2>&1)
	case $r in
	*"open ok=1"*"echo ok=1 "*) echo pass ;;
	*"open ok=0"*) echo fail ;;
	*) echo half ;;
	esac
}

probe_ping() {
	if timeout 10 ip netns exec "$NS_C" ping -c 1 -W "$PING_WAIT" -q "$1" >/dev/null 2>&1; then
		echo pass
	else
		echo fail
	fi
}

# probe CASE EXPECTED: every probe over both families at once; a row of
# TABLE each, a failure for each mismatch.
probe() {
	local c=$1 fam s cl p i exp got pids=() bad=0
	read -r -a exp <<<"$2"
	for fam in 4 6; do
		if [ $fam = 4 ]; then s=$V4_S cl=$V4_C; else s=$V6_S cl=$V6_C; fi
		probe_tcp "$NS_C" "$s" $OPEN >"$T/p$fam.open" &
		pids+=($!)
		probe_tcp "$NS_C" "$s" $CLOSED >"$T/p$fam.closed" &
		pids+=($!)
		probe_tcp "$NS_S" "$cl" $OUT >"$T/p$fam.out" &
		pids+=($!)
		probe_ping "$s" >"$T/p$fam.ping" &
		pids+=($!)
	done
	PIDS+=("${pids[@]}")
	for p in "${pids[@]}"; do
		wait "$p"
		forget_pid "$p"
	done
	for i in 0 1 2 3; do
		p=${PROBES[$i]}
		got=()
		for fam in 4 6; do
			got+=("$(cat "$T/p$fam.$p")")
			if [ "${got[-1]}" != "${exp[$i]}" ]; then
				fail "$c: ipv$fam $p: got ${got[-1]}, expected ${exp[$i]}"
				bad=1
			fi
		done
		TABLE+=("$(printf '%-36s %-7s %-9s %-5s %s' "$c" "$p" "${exp[$i]}" "${got[0]}" "${got[1]}")")
	done
	[ $bad = 1 ] || ok "$c: every probe as expected ($2)"
}

print_table() {
	local r
	printf '# %-36s %-7s %-9s %-5s %s\n' case probe expected ipv4 ipv6
	for r in "${TABLE[@]}"; do
		echo "# $r"
	done
}

# variant NAME RULES STOPPED: part 1 for one file.
variant() {
	local v=$1 stopped=$3 d0
	rules "$2" || { fail "$v: iptables-restore"; return 1; }
	start_daemon "$T/mark.conf" || { fail "$v: daemon start"; return 1; }
	probe "$v: running" "$RUNNING"
	check_accounting "$v: before SIGTERM"
	stop_daemon TERM
	probe "$v: stopped (queue-bypass)" "$stopped"
	start_daemon "$T/mark.conf" || { fail "$v: daemon restart"; return 1; }
	probe "$v: restarted" "$RUNNING"
	check "$v: SIGSTOP, queue filled to $MAXLEN" stall
	d0=$(kernel_queue dropped)
	probe "$v: stalled, fail_open=yes" "$stopped"
	expect "$v: stalled: the queue still full" "$(kernel_queue total)" "$MAXLEN"
	expect "$v: stalled: fail-open passed the rest, none counted dropped" \
		"$(kernel_queue dropped)" "$d0"
	check "$v: SIGCONT, the daemon empties its queue" resume
	probe "$v: continued" "$RUNNING"
	check_accounting "$v: after SIGCONT"
	stop_daemon TERM
}

# The client's side of part 2: a flowgen client in NS, driven through two
# FIFOs. conn_start NAME NS ADDR PORT sets NAME_W and NAME_R (its fds).
conn_start() {
	local n=$1 w r
	mkfifo "$T/$n.in" "$T/$n.out" || return 1
	# Opened read-write, our ends never block, whether the client
	# starts or not; conn_cmd's read is bounded.
	exec {w}<>"$T/$n.in" {r}<>"$T/$n.out"
	ip netns exec "$2" "$FLOWGEN" client -d "$3" -p "$4" -t 120 <"$T/$n.in" >"$T/$n.out" &
	PIDS+=($!)
	eval "${n}_W=$w ${n}_R=$r"
}

# conn_cmd NAME COMMAND...: one command, its answer.
conn_cmd() {
	local w r reply
	eval "w=\$${1}_W r=\$${1}_R"
	shift
	echo "$*" >&"$w"
	read -r -t 10 reply <&"$r" || reply="(no answer)"
	echo "$reply"
}

# echo_loop NAME: echo rounds on all of NAME's connections, back to back
# until $T/stop exists; each round a line "PHASE_AT_START PHASE_AT_END
# ANSWER" in $T/NAME.log.
echo_loop() {
	local a b r
	while [ ! -e "$T/stop" ]; do
		a=$(cat "$T/phase")
		r=$(conn_cmd "$1" echo 2000)
		b=$(cat "$T/phase")
		echo "$a $b $r" >>"$T/$1.log"
		sleep 0.05
	done
}

# long_flows: the ESTABLISHED TCP flows of part 2's connections, by
# their original tuple, sorted.
long_flows() {
	"$NFQTRACKCTL" -s "$CTL" list -p tcp --state ESTABLISHED 2>/dev/null |
		awk -v i="dport=$LONG_IN" -v o="dport=$LONG_OUT" '{
			t = ""
			for (f = 1; f <= NF; f++)
				if ($f ~ /^(src|dst|sport|dport)=/) {
					t = t " " $f
					if ($f ~ /^dport=/)
						break
				}
			if ($f == i || $f == o)
				print t
		}' | sort
}

# mangle_passes: "PASSES QUEUED" since the last zeroing: packets that
# entered the server's mangle INPUT on veth-s (the counting rule), and
# those its NFQUEUE rule sent to the queue. The counting rule has no
# target: its "in" column is the fifth.
mangle_passes() {
	ip netns exec "$NS_S" iptables -w -t mangle -L INPUT -v -x -n |
		awk '$3 == "NFQUEUE" { q += $1 } NR > 2 && $5 == "veth-s" { p += $1 }
			END { print p + 0, q + 0 }'
}

# switch_mode MODE PHASE: edit the config, nfqtrackctl reload, and check
# that the daemon runs MODE and that every part 2 flow is still there.
# The echo rounds are labelled to-PHASE during the reload, PHASE once it
# is done: a round labelled PHASE at its start and at its end ran
# entirely in MODE. The mangle counters start from zero with PHASE.
switch_mode() {
	echo "to-$2" >"$T/phase"
	sed -i "s/^verdict_mode = .*/verdict_mode = $1/" "$T/long.conf"
	check "reload to verdict_mode = $1" quiet "$NFQTRACKCTL" -s "$CTL" reload
	expect "the daemon runs verdict_mode = $1" \
		"$("$NFQTRACKCTL" -s "$CTL" config | awk '$1 == "verdict_mode" { print $3 }')" "$1"
	ip netns exec "$NS_S" iptables -w -t mangle -Z INPUT
	echo "$2" >"$T/phase"
	check "verdict_mode = $1: the same $((2 * CONNS)) ESTABLISHED flows" \
		test "$(long_flows)" = "$FLOWS0"
}

# phase SECONDS: let the rounds run, then report the passes per queued
# packet since the switch (PASSES, QUEUED).
phase() {
	sleep "$1"
	read -r PASSES QUEUED <<<"$(mangle_passes)"
	echo "# phase $(cat "$T/phase"): mangle INPUT passes $PASSES, queued $QUEUED"
}

# rounds NAME PHASES...: the rounds of NAME that started and ended in one
# of PHASES; prints "TOTAL OK" (ok: echo ok=CONNS fail=0).
rounds() {
	local n=$1
	shift
	awk -v want=" $* " -v good="echo ok=$CONNS fail=0" '
		index(want, " " $1 " ") && index(want, " " $2 " ") {
			t++
			if ($3 " " $4 " " $5 == good)
				g++
		}
		END { print t + 0, g + 0 }' "$T/$n.log"
}

QUEUE_RULES=no setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
for f in mark no; do
	write_conf "$T/$f.conf" <<-EOF
		verdict_mode = mark
		queue_maxlen = $MAXLEN
		fail_open = $([ $f = mark ] && echo yes || echo no)
	EOF
done
for p in $OPEN $CLOSED; do
	ip netns exec "$NS_S" "$FLOWGEN" serve -p "$p" -t 120 >/dev/null &
	PIDS+=($!)
done
ip netns exec "$NS_C" "$FLOWGEN" serve -p $OUT -t 120 >/dev/null &
OUT_SERVER=$!
PIDS+=("$OUT_SERVER")
sleep 0.2

# Part 1.
check "FAIL-OPEN: the sed uncomments one line" test "$(
	sed '/^# FAIL-OPEN/{n;s/^#//}' "$TOP/conf/nfqtrack-stateful.rules" |
		diff "$TOP/conf/nfqtrack-stateful.rules" - | grep -c '^>')" = 1
variant fail-closed closed "$FAILCLOSED"
variant fail-open open "$ALLPASS"
rules closed || fail "fail_open=no: iptables-restore"
if start_daemon "$T/no.conf"; then
	check "fail_open=no: SIGSTOP, queue filled to $MAXLEN" stall
	d0=$(kernel_queue dropped)
	probe "fail_open=no: stalled, queue full" "$ALLFAIL"
	expect "fail_open=no: stalled: the queue still full" "$(kernel_queue total)" "$MAXLEN"
	d1=$(kernel_queue dropped)
	echo "# fail_open=no: stalled: the probes' packets that found the queue full and were dropped: $((d1 - d0))"
	expect_ge "fail_open=no: stalled: those drops counted (queue_dropped)" $((d1 - d0)) 8
	check "fail_open=no: SIGCONT, the daemon empties its queue" resume
	probe "fail_open=no: continued" "$RUNNING"
	check_accounting "fail_open=no: after SIGCONT"
	stop_daemon TERM
else
	fail "fail_open=no: daemon start"
fi
print_table
# The client's listener goes, and with it any half-open connection of the
# "out" probes that would still send SYN-ACKs.
stop_pid "$OUT_SERVER"

# Part 2.
ip netns exec "$NS_S" iptables -t mangle -I INPUT 1 -i veth-s
write_conf "$T/long.conf" <<-EOF
	verdict_mode = mark
EOF
start_daemon "$T/long.conf" || { fail "part 2: daemon start"; done_testing; }
ip netns exec "$NS_S" "$FLOWGEN" serve -p $LONG_IN -t 120 >/dev/null &
PIDS+=($!)
ip netns exec "$NS_C" "$FLOWGEN" serve -p $LONG_OUT -t 120 >/dev/null &
PIDS+=($!)
sleep 0.2
conn_start in "$NS_C" "$V4_S" $LONG_IN && conn_start out "$NS_S" "$V4_C" $LONG_OUT ||
	{ fail "part 2: clients"; done_testing; }
expect "$CONNS connections in to port $LONG_IN" "$(conn_cmd in open $CONNS 3000)" "open ok=$CONNS fail=0"
expect "$CONNS connections out to port $LONG_OUT" "$(conn_cmd out open $CONNS 3000)" "open ok=$CONNS fail=0"
sleep 0.2
FLOWS0=$(long_flows)
expect "the daemon has them as $((2 * CONNS)) ESTABLISHED flows" "$(echo "$FLOWS0" | grep -c .)" $((2 * CONNS))
CREATED0=$(counter flows_created)
echo mark1 >"$T/phase"
ip netns exec "$NS_S" iptables -w -t mangle -Z INPUT
LOOPS=()
for n in in out; do
	echo_loop $n &
	LOOPS+=($!)
done
PIDS+=("${LOOPS[@]}")
phase 1
switch_mode repeat repeat
phase 1.5
check "repeat: each queued packet passes mangle INPUT twice" \
	test $((10 * PASSES)) -ge $((18 * QUEUED)) -a "$QUEUED" -gt 0
switch_mode mark mark2
phase 1.5
check "mark: each queued packet passes mangle INPUT once" \
	test $((10 * PASSES)) -le $((11 * QUEUED + 20)) -a "$QUEUED" -gt 0
# Long enough for a round of 2 s to run in accept mode from its start to
# its end, short enough that TCP's backoff lets the stalled connections
# retransmit soon after it.
switch_mode accept accept
phase 5
t0=$(date +%s%N)
switch_mode mark mark3
for _ in $(seq 100); do
	[ "$(tail -n 1 "$T/out.log" | cut -d' ' -f3-)" = "echo ok=$CONNS fail=0" ] && break
	sleep 0.1
done
echo "# back to mark: the outbound connections echoed again $((($(date +%s%N) - t0) / 1000000)) ms after the reload began"
sleep 0.5
touch "$T/stop"
for p in "${LOOPS[@]}"; do
	wait "$p"
	forget_pid "$p"
done
for n in in out; do
	r=$(rounds $n mark1 to-repeat repeat to-mark2 mark2)
	echo "# $n: mark and repeat phases: rounds, all connections echoing: $r"
	check "$n: every round through mark -> repeat -> mark echoed on all $CONNS connections" \
		test "${r% *}" -ge 10 -a "${r% *}" = "${r#* }"
	echo "# $n: accept phase: rounds, all connections echoing: $(rounds $n accept); first and last:"
	grep -E '^accept accept ' "$T/$n.log" | sed -n '1p;$p' | sed "s/^/# $n: /"
	echo "# $n: back to mark: rounds, all connections echoing: $(rounds $n mark3)"
done
r=$(rounds in accept)
check "accept: the inbound connections flow on by the open-port rule" \
	test "${r% *}" -ge 1 -a "${r% *}" = "${r#* }"
r=$(rounds out accept)
check "accept: the outbound connections stall (no mark on their replies)" \
	test "${r% *}" -ge 1 -a "${r#* }" = 0
r=$(rounds out mark3)
check "back to mark: the outbound connections echo again" test "${r#* }" -ge 1
echo "# flows_created during the switches: $(($(counter flows_created) - CREATED0));" \
	"$("$NFQTRACKCTL" -s "$CTL" stats | awk '$1 ~ /^state_/ { printf " %s=%s", $1, $2 }')"
expect "no packet came to the queue marked already (the rule skips them)" \
	"$(counter already_marked)" 0
check "the same $((2 * CONNS)) ESTABLISHED flows at the end" test "$(long_flows)" = "$FLOWS0"
check_accounting "part 2"
done_testing
