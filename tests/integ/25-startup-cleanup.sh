#!/bin/bash
# A start that fails cleans up what it made and nothing else: before the
# workers exist (an unknown user) and after (a control socket it cannot
# make), no descriptor it did not open is closed (standard input was once,
# by a cleanup that took 0 for an eventfd never made), and it exits 1 with
# the reason. And the control protocol is described once: every command
# nfqtrackctl's help lists is one the daemon knows, and what it does not
# list the daemon does not know.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { echo "# $TEST: strace is missing: skipped"; exit 77; }

# start_failing CONF [OPTION...]: run nfqtrackd under strace, standard
# input open on a file of ours; prints its exit status.
start_failing() {
	strace -f -qq -e trace=close -o "$T/strace.txt" \
		"$NFQTRACKD" -e -c "$@" <"$T/stdin" >/dev/null 2>"$T/err.txt"
	echo $?
}
# Descriptors 0-2 closed by the daemon (strace's own lines: "close(N)").
std_closed() {
	grep -cE '^[0-9]+ +close\([012]\)' "$T/strace.txt"
}

setup_net || { fail "network setup"; done_testing; }
: >"$T/stdin"
mkdir -p "$T/run"

write_conf "$T/nouser.conf" <<EOF2
user = nfqt-no-such-user
EOF2
rc=$(ip netns exec "$NS_S" bash -c "$(declare -f start_failing); T=$T NFQTRACKD=$NFQTRACKD start_failing $T/nouser.conf")
expect "unknown user: exit 1" "$rc" 1
check "unknown user: said why" grep -q "nfqt-no-such-user" "$T/err.txt"
expect "unknown user: no standard descriptor closed" "$(std_closed)" 0

: >"$T/notadir"
write_conf "$T/nosock.conf" <<<"user = root"
rc=$(ip netns exec "$NS_S" bash -c "$(declare -f start_failing); T=$T NFQTRACKD=$NFQTRACKD start_failing $T/nosock.conf -s $T/notadir/ctl")
expect "no control socket: exit 1" "$rc" 1
check "no control socket: said why" grep -q "control socket" "$T/err.txt"
expect "no control socket: no standard descriptor closed" "$(std_closed)" 0
check "no control socket: the workers' descriptors were closed" \
	grep -qE '^[0-9]+ +close\([3-9]' "$T/strace.txt"

# The command table, seen from both ends.
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" </dev/null
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
cmds=$("$NFQTRACKCTL" -h | sed -n '/^commands:/,/^options:/p' |
	grep -oE '^  [a-z]+' | tr -d ' ')
expect_ge "nfqtrackctl -h lists the commands" "$(echo "$cmds" | wc -l)" 10
# A stream (events) has no end of its own: every call is bounded (3 s).
for c in $cmds; do
	r=$(printf 'NFQT/1 %s\n' "$c" | timeout 3 "$CTLSEND" "$CTL" | head -1)
	case $r in
	*"unknown command"*) fail "the daemon does not know '$c': $r" ;;
	*) ok "the daemon knows '$c'" ;;
	esac
	# What the help says takes arguments (filters, -n) the daemon takes;
	# the rest it refuses by the same table.
	r2=$(printf 'NFQT/1 %s x=1\n' "$c" | timeout 3 "$CTLSEND" "$CTL" | head -1)
	timeout 3 "$NFQTRACKCTL" -s "$CTL" -p tcp "$c" >/dev/null 2>&1
	p=$?
	timeout 3 "$NFQTRACKCTL" -s "$CTL" -n 1 "$c" >/dev/null 2>&1
	n=$?
	if [ "$p" != 2 ] || [ "$n" != 2 ]; then # 2: a usage error
		case $r2 in
		*"takes no arguments"*) fail "'$c' takes options in nfqtrackctl, none in the daemon" ;;
		*) ok "'$c' takes arguments at both ends" ;;
		esac
	else
		expect "'$c' takes no arguments at either end" "$r2" \
			"NFQT/1 ERR $c takes no arguments"
	fi
done
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
