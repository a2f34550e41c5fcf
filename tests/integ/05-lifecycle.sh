#!/bin/bash
# Starting, refusing to start, answering bad requests, stopping cleanly:
# a second daemon on the same queue or socket is refused with a clear
# message; a bad config at start exits 1 naming file and line; control
# requests that make no sense get an error reply; nfqtrackctl says when
# no daemon runs; after SIGTERM the queue is unbound and, thanks to
# --queue-bypass, traffic flows on without the daemon.
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
start_server

printf 'max_flows = 100\nbuckets = 100\n' >"$T/bad.conf"
out=$("$NFQTRACKD" -c "$T/bad.conf" -t 2>&1)
rc=$?
expect "bad config: exit status 1" "$rc" 1
expect "bad config: file, line and problem" "$(echo "$out" | head -1)" \
	"nfqtrackd: $T/bad.conf:2: buckets: 100 is not a power of two (or 0 to derive it from max_flows)"
out=$("$NFQTRACKD" -c "$T/missing.conf" 2>&1)
expect "missing -c file: exit status 1" "$?" 1
expect "missing -c file: says so" "$(echo "$out" | head -1)" \
	"nfqtrackd: $T/missing.conf: cannot read: No such file or directory"

out=$("$NFQTRACKCTL" -s "$CTL" stats 2>&1)
expect "nfqtrackctl without a daemon: exit status 3" "$?" 3
expect "nfqtrackctl without a daemon: says so" "$out" \
	"nfqtrackctl: cannot reach nfqtrackd at $CTL: No such file or directory (is it running?)"

write_conf "$T/nfqtrack.conf" </dev/null
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
check "traffic flows with the daemon" \
	quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"
expect "socket mode 0660, not world-writable" "$(stat -c %a "$CTL")" 660

# A second daemon: the control socket is taken.
out=$(ip netns exec "$NS_S" "$NFQTRACKD" -c "$T/nfqtrack.conf" 2>&1)
expect "second daemon, same socket: exit status 1" "$?" 1
check "second daemon, same socket: says why" \
	grep -q "control socket: $CTL is in use: is another nfqtrackd running?" <<<"$out"
# A second daemon on another socket: the queue is taken.
out=$(ip netns exec "$NS_S" "$NFQTRACKD" -c "$T/nfqtrack.conf" -s "$T/ctl2" 2>&1)
expect "second daemon, same queue: exit status 1" "$?" 1
check "second daemon, same queue: says why" \
	grep -q "queue 0 is already bound by another process" <<<"$out"
check "the first daemon is unharmed" quiet "$NFQTRACKCTL" -s "$CTL" version

# Requests nfqtrackctl would never send.
r=$(printf 'NFQT/1 frobnicate\n' | "$CTLSEND" "$CTL")
expect "unknown command: error reply" "$r" "NFQT/1 ERR unknown command 'frobnicate'
."
r=$(printf 'NFQT/9 stats\n' | "$CTLSEND" "$CTL")
expect "unknown version: error reply" "$r" "NFQT/1 ERR unsupported protocol version (this daemon speaks NFQT/1)
."
r=$(printf 'GET / HTTP/1.0\r\n\r\n' | "$CTLSEND" "$CTL")
expect "not our protocol: error reply" "$(echo "$r" | head -1)" \
	'NFQT/1 ERR not a control request (expected "NFQT/1 <command>")'
r=$(head -c 10000 /dev/zero | tr '\0' 'x' | "$CTLSEND" "$CTL")
expect "oversized request: error reply" "$(echo "$r" | head -1)" \
	"NFQT/1 ERR request too long (4095 bytes at most)"
r=$(printf 'NFQT/1 st\001ats\n' | "$CTLSEND" "$CTL")
expect "binary request: error reply" "$(echo "$r" | head -1)" \
	"NFQT/1 ERR request has control characters"
r=$(printf 'NFQT/1 stats now\n' | "$CTLSEND" "$CTL")
expect "stray argument: error reply" "$(echo "$r" | head -1)" \
	"NFQT/1 ERR stats takes no arguments"
out=$("$NFQTRACKCTL" -s "$CTL" frobnicate 2>&1)
expect "nfqtrackctl unknown command: exit status 2" "$?" 2
expect "the daemon still answers" "$(counter flows)" 1

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
check "the control socket is removed" test ! -e "$CTL"
check "the queue is unbound" \
	bash -c "! ip netns exec $NS_S grep -qE '^ +0 ' /proc/net/netfilter/nfnetlink_queue"
check "--queue-bypass: traffic flows on without the daemon" \
	quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"
done_testing
