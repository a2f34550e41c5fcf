#!/bin/bash
# What systemd sees (no systemd here: a stand-in socket receives it all):
# READY=1 once the queue is bound, STATUS= lines with the flows and the
# drop rate, WATCHDOG=1 at half of WatchdogSec from the event loop (and
# none while the loop is stopped), RELOADING=1 then READY=1 around a
# reload, STOPPING=1 at the end. Then the journal: with stderr being the
# journal (JOURNAL_STREAM), lines go natively to journald's socket (a
# stand-in again, in a private mount namespace) with fields that
# journalctl can match: NFQTRACK_REASON=table_full, NFQTRACK_SRC, ...
. "$(dirname "$0")/lib.sh"

SINK=$TOP/tests/tools/dgramsink.py
# field KEY FILE: the values KEY took, one per line, in order.
fields() {
	python3 -c '
import json, sys
for line in open(sys.argv[2]):
    v = json.loads(line)["fields"].get(sys.argv[1])
    if v is not None:
        print(v)
' "$1" "$2"
}

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 3
on_full = drop
EOF
python3 "$SINK" "$T/notify.sock" "$T/notify.txt" 40 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 \
	start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
sleep 0.3
expect "READY=1 once bound" "$(fields READY "$T/notify.txt" | head -1)" 1
expect "the first status" "$(fields STATUS "$T/notify.txt" | head -1)" "0/3 flows, 0 drops/s"
start_server
tcp_client "$V4_S"
r=$(tcp_cmd open 5 2500)
expect "3 connections fit, 2 do not" "$r" "open ok=3 fail=2"
sleep 1.3
check "the status line follows: 3/3 flows, drops/s" grep -q '"STATUS": "3/3 flows, [1-9][0-9]* drops/s"' "$T/notify.txt"

# Keep-alives: every half second; none while the loop is stopped.
n0=$(fields WATCHDOG "$T/notify.txt" | wc -l)
sleep 2
n1=$(fields WATCHDOG "$T/notify.txt" | wc -l)
expect_ge "WATCHDOG=1 about twice a second" $((n1 - n0)) 3
# Counted from a moment after the stop: a keep-alive sent just before it
# may still be on its way to the sink (seen under ASan).
kill -STOP "$DAEMON_PID"
sleep 0.2
n1=$(fields WATCHDOG "$T/notify.txt" | wc -l)
sleep 1.5
n2=$(fields WATCHDOG "$T/notify.txt" | wc -l)
kill -CONT "$DAEMON_PID"
expect "a stopped loop sends none (systemd would restart it)" $((n2 - n1)) 0
sleep 1.2
n3=$(fields WATCHDOG "$T/notify.txt" | wc -l)
expect_ge "they come back with the loop" $((n3 - n2)) 1

"$NFQTRACKCTL" -s "$CTL" reload >/dev/null
sleep 0.3
expect "a reload: RELOADING=1, then READY=1" \
	"$(python3 -c '
import json, sys
seq = [k for line in open(sys.argv[1]) for k in json.loads(line)["fields"]
       if k in ("READY", "RELOADING", "MONOTONIC_USEC")]
print(" ".join(seq))
' "$T/notify.txt")" "READY RELOADING MONOTONIC_USEC READY"
tcp_done
check_accounting "notify run"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
expect "STOPPING=1 at the end" "$(fields STOPPING "$T/notify.txt" | tail -1)" 1

syslog_lines=$(wc -l <"$SYSLOG")
# The journal, natively, with fields. journald's socket is a fixed path:
# the daemon and the stand-in run in a private mount namespace with their
# own /run/systemd.
ip netns exec "$NS_S" unshare --mount --propagation private bash -c '
	mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal || exit 1
	python3 "$1" /run/systemd/journal/socket "$2/journal.txt" 20 &
	echo $! >"$2/sink.pid"
	for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
	exec 2>"$2/journal.err"
	export JOURNAL_STREAM=$(stat -L -c %d:%i /dev/stderr)
	exec "$3" -c "$2/nfqtrack.conf"
' sh "$SINK" "$T" "$NFQTRACKD" &
wait_daemon $!
rc=$?
PIDS+=("$(cat "$T/sink.pid")")
[ $rc -eq 0 ] || { fail "daemon start under the journal"; done_testing; }
tcp_client "$V4_S"
r=$(tcp_cmd open 5 2500)
expect "journal run: 3 fit, 2 do not" "$r" "open ok=3 fail=2"
tcp_done
check_accounting "journal run"
stop_daemon TERM
sleep 0.2
check "the start line went to the journal" grep -q '"MESSAGE": "nfqtrackd [0-9.]* starting' "$T/journal.txt"
check "with priority notice and our identifier" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    f = json.loads(line)["fields"]
    if f.get("MESSAGE", "").startswith("nfqtrackd "):
        assert f["PRIORITY"] == "5" and f["SYSLOG_IDENTIFIER"] == "nfqtrackd", f
        break
else:
    raise SystemExit("no start line")
' "$T/journal.txt"
check "a drop line: warning, with NFQTRACK_REASON=table_full and the packet's fields" python3 -c '
import json, sys
drops = [json.loads(l)["fields"] for l in open(sys.argv[1])]
drops = [f for f in drops if f.get("NFQTRACK_REASON") == "table_full"]
assert drops, "no table_full line"
f = drops[0]
assert f["PRIORITY"] == "4", f
assert f["NFQTRACK_EVENT"] == "drop", f
assert f["NFQTRACK_PROTO"] == "TCP", f
assert f["NFQTRACK_SRC"] == sys.argv[2] and f["NFQTRACK_DST"] == sys.argv[3], f
assert f["NFQTRACK_DPORT"] == sys.argv[4] and f["NFQTRACK_SPORT"].isdigit(), f
assert f["MESSAGE"].startswith("table full (3/3 flows), dropping packet: TCP "), f
' "$T/journal.txt" "$V4_C" "$V4_S" "$PORT"
check "nothing went to stderr, which is the journal's stream" test ! -s "$T/journal.err"
expect "nor to syslog" "$(wc -l <"$SYSLOG")" "$syslog_lines"
done_testing
