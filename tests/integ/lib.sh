# shellcheck shell=bash
# Shared by the integration tests: each test sources this file, which makes
# a client and a server network namespace joined by a veth pair, queues the
# server's traffic to NFQUEUE 0 as a real deployment would, and removes it
# all on exit, on failure and on ^C alike. Only processes started here are
# ever signalled, by PID.

set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$TOP/tests/lib/netns.sh"
NFQTRACKD=$TOP/src/nfqtrackd
NFQTRACKCTL=$TOP/src/nfqtrackctl
FLOWGEN=$TOP/tests/bin/flowgen
CTLSEND=$TOP/tests/bin/ctlsend
TEST=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/nfqt-$TEST.XXXXXX")
chmod 755 "$T"
NS_C=nfqt-$$-c
NS_S=nfqt-$$-s
NS_A=nfqt-$$-a
V4_C=10.231.0.1
V4_S=10.231.0.2
V6_C=fd00:231::1
V6_S=fd00:231::2
PORT=5000
# The queues the links' rules and write_conf's configs use: 0, as
# deployed, or A-B for a thread per queue (make check-tsan runs tests that
# way); QUEUES_LOG is how the daemon's start and reload lines name them.
QUEUES=${QUEUES:-0}
case $QUEUES in
*-*) QUEUES_LOG="queues $QUEUES" ;;
*) QUEUES_LOG="queue $QUEUES" ;;
esac
# NFQT_FASTPATH=1 runs a test with the kernel fast path (issue 16): every
# config write_conf makes has fastpath = yes, and queue_link's NFQUEUE
# rules skip the packets marked SEEN (SEEN_SKIP), as the shipped rules do,
# so that the packets of flows the daemon admitted stay in the kernel.
# Tests with rules of their own load the shipped files, which skip them.
FASTPATH=${NFQT_FASTPATH:-0}
# NFQT_CARRIER=bpf: what carries the admitted flows wherever the fast path
# is on (fastpath_carrier; nftables, the default, otherwise).
CARRIER=${NFQT_CARRIER:-nftables}
# NFQT_KADMIT=1 (with NFQT_CARRIER=bpf): and the kernel admits new TCP
# connections under the daemon's budget (fastpath_kernel_admit = yes),
# wherever the config has one queue.
KADMIT=${NFQT_KADMIT:-0}
SEEN_SKIP=(-m mark ! --mark 0x01000000/0x01000000)
CTL=$T/run/ctl
SYSLOG=$T/syslog.txt
DAEMON_PID=
PIDS=()
PASSED=0
FAILED=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	netns_cleanup
	if [ "$FAILED" -eq 0 ]; then
		rm -rf "$T"
	else
		echo "# logs kept in $T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $TEST: $*"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $TEST: $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# expect DESCRIPTION ACTUAL EXPECTED
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1 ($2)"
	else
		fail "$1: got '$2', expected '$3'"
	fi
}

# expect_ge DESCRIPTION ACTUAL MINIMUM
expect_ge() {
	if [ -n "$2" ] && [ "$2" -ge "$3" ]; then
		ok "$1 ($2 >= $3)"
	else
		fail "$1: got '$2', expected at least $3"
	fi
}

done_testing() {
	if [ -n "$DAEMON_PID" ] && [ -s "$T/daemon.err" ] &&
		grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$T/daemon.err"; then
		fail "sanitizer report from nfqtrackd"
		sed -n '1,40p' "$T/daemon.err"
	fi
	echo "# $TEST: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# queue_link NS DEV SDEV ADDR4 SADDR4 ADDR6 SADDR6: a veth pair from
# namespace NS (DEV) to the server's (SDEV), IPv4 /24 and IPv6 /64, static
# neighbours (so that no neighbour discovery rides along with the counted
# traffic); the server's traffic on SDEV goes untracked by the kernel and
# through queue 0 (QUEUES), with --queue-bypass, exactly as the README
# deploys it (skipping SEEN packets with NFQT_FASTPATH=1); with
# QUEUE_RULES=no, the link only (the test loads rules of its own).
# tests/lib/netns.sh does each step.
queue_link() {
	local ns=$1 dev=$2 sdev=$3 a4=$4 s4=$5 a6=$6 s6=$7
	netns_veth "$ns" "$dev" "$NS_S" "$sdev" || return 1
	netns_addr "$ns" "$dev" "$a4/24" "$a6/64" || return 1
	netns_addr "$NS_S" "$sdev" "$s4/24" "$s6/64" || return 1
	netns_neigh "$ns" "$dev" "$(netns_mac "$NS_S" "$sdev")" "$s4" "$s6" || return 1
	netns_neigh "$NS_S" "$sdev" "$(netns_mac "$ns" "$dev")" "$a4" "$a6" || return 1
	[ "${QUEUE_RULES:-yes}" = yes ] || return 0
	if [ "$FASTPATH" = 1 ]; then
		netns_queue_link "$NS_S" "$sdev" "$QUEUES" "${SEEN_SKIP[@]}"
	else
		netns_queue_link "$NS_S" "$sdev" "$QUEUES"
	fi
}

# The network: client --veth-- server, IPv4 and IPv6, the server's side
# queued (queue_link).
setup_net() {
	netns_add "$NS_C" "$NS_S" || return 1
	queue_link "$NS_C" veth-c veth-s "$V4_C" "$V4_S" "$V6_C" "$V6_S"
}

# A real syslog daemon, listening on $T/log.sock, writing what it receives
# as "facility.severity program[pid]: message" lines to $SYSLOG.
start_syslog() {
	cat >"$T/rsyslog.conf" <<-EOF
		global(workDirectory="$T")
		module(load="imuxsock" SysSock.Use="off")
		input(type="imuxsock" Socket="$T/log.sock" RateLimit.Interval="0")
		template(name="t" type="string" string="%syslogfacility-text%.%syslogseverity-text% %programname%[%procid%]:%msg%\n")
		*.* action(type="omfile" file="$SYSLOG" template="t")
	EOF
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" 2>"$T/rsyslog.err" &
	PIDS+=($!)
	for _ in $(seq 50); do
		[ -S "$T/log.sock" ] && return 0
		sleep 0.1
	done
	echo "# rsyslogd did not start:" && cat "$T/rsyslog.err"
	return 1
}

# write_conf FILE [key = value lines on stdin]: the test's config, pointed
# at this test's syslog and control sockets.
write_conf() {
	{
		echo "ctl_socket = $CTL"
		echo "syslog_socket = $T/log.sock"
		cat
		# Last: the test's line numbers stay as they are.
		[ "$QUEUES" = 0 ] || echo "queues = $QUEUES"
	} >"$1"
	# A key set twice is an error: not over the test's own.
	[ "$FASTPATH" = 0 ] || grep -q '^fastpath *=' "$1" || echo "fastpath = yes" >>"$1"
	[ "$CARRIER" = nftables ] || grep -q '^fastpath_carrier *=' "$1" ||
		echo "fastpath_carrier = $CARRIER" >>"$1"
	[ "$KADMIT" = 0 ] || grep -Eq '^(fastpath_kernel_admit|queues) *=' "$1" ||
		echo "fastpath_kernel_admit = yes" >>"$1"
}

# carrier_flows [CLASS...]: the BPF carrier's live entries, one a line
# as the nftables carrier's sets list their elements (31-fastpath-
# traffic.sh's elems): "CLASS SRC DST PROTO SPORT DPORT", CLASS the set
# that carrier would hold the entry in: est4 est6 (state OPEN or EST),
# close4 close6 (CLOSING or CLOSE), udp4 udp6 (UDP); those asked for, in
# that order (all six without one). From the running daemon's `flows`
# map, or else the newest (maps are not a namespace's: a unit test's
# carrier may be there too), and the timeouts in the `conf`
# map of the programs that use it. An entry whose state's timeout ran
# out carries nothing and is left out, as nft leaves an expired element
# out, though it stays in the map until the daemon removes it. From the
# raw bytes of include/carrier_map.h: the key's addresses at 0 and 16,
# ports at 32 and 34 (network order), proto at 36, family at 37; the
# value's last_ns at 0 and state at 32, the conf's timeout_ns[state] at
# 8 * state (little-endian; CLOCK_MONOTONIC, as bpf_ktime_get_ns()).
# Fails without a map. carrier_flows -a [CLASS...]: the dead ones too.
carrier_flows() {
	DAEMON_PID=$DAEMON_PID python3 - "$@" <<-'EOF'
		import ipaddress, json, os, subprocess, sys, time
		def bpftool(*args):
		    r = subprocess.run(("bpftool", "-j") + args, capture_output=True, text=True)
		    try:
		        return json.loads(r.stdout)
		    except ValueError:
		        return None
		def le(b, at, n):
		    return int.from_bytes(bytes(b[at:at + n]), "little")
		def raw(e, f):
		    return [int(x, 16) for x in e[f]]
		dead = sys.argv[1:2] == ["-a"]
		want = sys.argv[1 + dead:] or ["est4", "close4", "udp4", "est6", "close6", "udp6"]
		maps = bpftool("map", "show") or []
		ids = [m["id"] for m in maps if m.get("name") == "flows" and m.get("bytes_key") == 40]
		if not ids:
		    sys.exit(1)
		# The running daemon's, by the map_id of its descriptors
		# (another process's carrier, a unit test's, may be newer).
		own = set()
		fdinfo = "/proc/%s/fdinfo" % (os.environ.get("DAEMON_PID") or "-")
		for fd in os.listdir(fdinfo) if os.path.isdir(fdinfo) else []:
		    try:
		        for line in open(os.path.join(fdinfo, fd)):
		            if line.startswith("map_id:"):
		                own.add(int(line.split()[1]))
		    except OSError:
		        pass
		flows = max([i for i in ids if i in own] or ids)
		confs = {m["id"] for m in maps if m.get("name") == "conf"}
		conf = [i for p in bpftool("prog", "show") or [] if flows in p.get("map_ids", [])
		        for i in p["map_ids"] if i in confs]
		if not conf:
		    print("# carrier_flows: no conf map beside flows", flows, file=sys.stderr)
		    sys.exit(1)
		tmo = raw(bpftool("map", "dump", "id", str(conf[0]))[0], "value")
		now = time.monotonic_ns()
		kinds = ("est", "est", "close", "close", "udp")
		lines = []
		for e in bpftool("map", "dump", "id", str(flows)) or []:
		    k, v = raw(e, "key"), raw(e, "value")
		    st, fam = le(v, 32, 4), k[37]
		    if st >= len(kinds):
		        continue
		    t = le(tmo, 8 * st, 8)
		    if not dead and (not t or now - le(v, 0, 8) > t):
		        continue
		    cls = kinds[st] + str(fam)
		    if cls not in want:
		        continue
		    ip = ipaddress.ip_address
		    n = 4 if fam == 4 else 16
		    proto = {6: "tcp", 17: "udp"}.get(k[36], str(k[36]))
		    lines.append((want.index(cls), cls, ip(bytes(k[0:n])), ip(bytes(k[16:16 + n])),
		                  proto, k[32] << 8 | k[33], k[34] << 8 | k[35]))
		for l in sorted(lines, key=lambda l: l[0]):
		    print(*l[1:])
	EOF
}

# carrier_entries CLASS: how many entries carrier_flows lists in CLASS;
# "none" without a map.
carrier_entries() {
	local l
	l=$(carrier_flows "$1") || { echo none; return; }
	grep -c . <<<"$l"
}

# start_daemon CONF: run nfqtrackd in the server namespace and wait until
# it answers on its control socket.
start_daemon() {
	ip netns exec "$NS_S" "$NFQTRACKD" -e -c "$1" 2>>"$T/daemon.err" &
	wait_daemon $!
}

# wait_daemon PID: a daemon this test started some other way; wait until
# it answers on its control socket.
wait_daemon() {
	DAEMON_PID=$1
	PIDS+=("$DAEMON_PID")
	for _ in $(seq 100); do
		"$NFQTRACKCTL" -s "$CTL" version >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# nfqtrackd did not come up:"
	cat "$T/daemon.err"
	return 1
}

# stop_daemon [SIGNAL]: stop it; its exit status goes to DAEMON_RC.
stop_daemon() {
	kill -"${1:-TERM}" "$DAEMON_PID"
	wait "$DAEMON_PID"
	DAEMON_RC=$?
	forget_pid "$DAEMON_PID"
}

# forget_pid PID: take a process that has been waited for off the cleanup
# list, so that cleanup never signals its PID once the system reuses it.
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# stop_pid PID: end one process this test started, and forget it.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	forget_pid "$1"
}

# learned: with NFQT_KADMIT, a tick and a little more, so that what the
# kernel admitted before the call is the daemon's (learned each 0.1 s).
learned() { [ "$KADMIT" = 0 ] || sleep 0.15; }

# counter KEY: one counter from `nfqtrackctl stats`.
counter() {
	learned
	"$NFQTRACKCTL" -s "$CTL" stats | awk -v k="$1" '$1 == k { print $2 }'
}

# snapshot: all counters at one instant, into the array S (S[packets]...),
# so that counters compared with each other come from the same moment.
declare -A S
snapshot() {
	local k v
	S=()
	learned
	while read -r k v; do
		S[$k]=$v
	done < <("$NFQTRACKCTL" -s "$CTL" stats)
}

# check_accounting LABEL [BYPASS]: the counters of one snapshot add up.
# Every packet the daemon read from the queue went to the tracker, or was
# passed by the loop guard of verdict_mode mark and repeat (queue_packets =
# packets + already_marked), and got one verdict (packets = accepted +
# dropped, dropped = the sum of dropped_*). The kernel numbers each packet
# it hands to the daemon's socket (kernel_id_sequence, from 0 when this
# daemon bound the queue); one it numbered that the daemon has not read is
# waiting (kernel_queue_total) or was lost to a full socket buffer:
# counted in kernel_user_dropped without fail-open, nowhere with it. At
# most BYPASS packets may be lost that way uncounted (default 0, "any":
# no limit); UNDELIVERED says how many were. Packets that found the queue
# full get no number (kernel_queue_dropped, or passed by fail-open): the
# NFQUEUE rules' counters tell those (flood.sh's bypassed_packets). For a
# quiet moment: a packet numbered while the counters are read is retried.
check_accounting() {
	local label=$1 bypass=${2:-0} k sum try lost
	for try in 1 2 3; do
		snapshot
		lost=$((${S[kernel_id_sequence]:-0} - ${S[queue_packets]:-0} -
			${S[kernel_queue_total]:-0} - ${S[kernel_user_dropped]:-0}))
		[ "$lost" -ge 0 ] && { [ "$bypass" = any ] || [ "$lost" -le "$bypass" ]; } && break
		sleep 0.5
	done
	sum=0
	for k in "${!S[@]}"; do
		[[ $k == dropped_* ]] && sum=$((sum + S[$k]))
	done
	echo "# accounting $label: packets=${S[packets]:-} accepted=${S[accepted]:-}" \
		"dropped=${S[dropped]:-} queue_packets=${S[queue_packets]:-}" \
		"kernel_id_sequence=${S[kernel_id_sequence]:-} kernel_queue_total=${S[kernel_queue_total]:-}" \
		"kernel_user_dropped=${S[kernel_user_dropped]:-} kernel_queue_dropped=${S[kernel_queue_dropped]:-}" \
		"lost_uncounted=$lost"
	if [ -z "${S[packets]:-}" ] || [ -z "${S[kernel_id_sequence]:-}" ]; then
		fail "$label: accounting: no counters from the daemon"
		return 1
	fi
	expect "$label: packets = accepted + dropped" \
		"${S[packets]}" "$((S[accepted] + S[dropped]))"
	expect "$label: dropped = the sum of dropped_*" "${S[dropped]}" "$sum"
	# The SYNs the kernel admitted went to the tracker from its ring.
	expect "$label: every packet read from the queue went to the tracker or the loop guard" \
		"${S[queue_packets]}" \
		"$((S[packets] + ${S[already_marked]:-0} - ${S[fastpath_learned]:-0}))"
	if [ "$lost" -ge 0 ] && { [ "$bypass" = any ] || [ "$lost" -le "$bypass" ]; }; then
		ok "$label: the kernel's numbering accounts for every packet" \
			"(${S[kernel_id_sequence]} = ${S[queue_packets]} read" \
			"+ ${S[kernel_queue_total]} waiting + ${S[kernel_user_dropped]} user_dropped" \
			"+ $lost uncounted, at most $bypass)"
	else
		fail "$label: the kernel numbered ${S[kernel_id_sequence]} packets:" \
			"${S[queue_packets]} read, ${S[kernel_queue_total]} waiting," \
			"${S[kernel_user_dropped]} user_dropped leave $lost, expected 0..$bypass"
	fi
	UNDELIVERED=$lost
}

# python_with MODULE PACKAGE: PY, a python3 that imports MODULE (from the
# Debian package PACKAGE, which make deps installs): the first python3 in
# PATH, else the system's; the test ends if neither has it.
python_with() {
	PY=python3
	"$PY" -c "import $1" 2>/dev/null || PY=/usr/bin/python3
	"$PY" -c "import $1" 2>/dev/null && return 0
	echo "# $TEST: $2 is missing: run 'make deps' (make check does)"
	exit 1
}

# quiet COMMAND...: run it with its output thrown away.
quiet() {
	"$@" >/dev/null 2>&1
}

# wait_syslog PATTERN [SECONDS]: wait until a line matching PATTERN
# (extended regex) has arrived in syslog.
wait_syslog() {
	local i
	for i in $(seq $((${2:-5} * 10))); do
		grep -qE -- "$1" "$SYSLOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A client namespace process that keeps TCP connections open and takes
# commands ("open N MS", "echo MS", "close"): tcp_client ADDR [SRC] starts it,
# tcp_cmd sends one command and prints its one-line answer.
tcp_client() {
	tcp_done
	coproc TCPC { ip netns exec "$NS_C" "$FLOWGEN" client -d "$1" ${2:+-s "$2"} -p "$PORT" -t 120; }
	PIDS+=("$TCPC_PID")
}

# tcp_done: end the client (it closes its connections).
tcp_done() {
	local pid=${TCPC_PID:-}
	if [ -n "$pid" ]; then
		echo quit >&"${TCPC[1]}" 2>/dev/null
		wait "$pid" 2>/dev/null
		forget_pid "$pid"
		TCPC_PID=
	fi
}

tcp_cmd() {
	local reply
	echo "$*" >&"${TCPC[1]}"
	read -r -t "${TCP_CMD_WAIT:-30}" reply <&"${TCPC[0]}" || reply="(no answer)"
	echo "$reply"
}

# mixed_traffic: from the client, to start_server's server, the same mix
# of flows every time, each step checked as it goes: 3 TCP connections
# over IPv4 that carry data and are then closed (TIME_WAIT), 2 over IPv6
# left open by the client still running (tcp_done closes them), 2 UDP
# flows answered (4 datagrams) and 1 to a closed port (5999), unanswered:
# 8 flows. Returns 0 when its 6 checks all passed, 1 otherwise.
mixed_traffic() {
	local r failed=$FAILED
	tcp_client "$V4_S"
	expect "3 connections stay open" "$(tcp_cmd open 3 3000)" "open ok=3 fail=0"
	expect "and carry data" "$(tcp_cmd echo 3000)" "echo ok=3 fail=0"
	tcp_client "$V6_S" # the first client closes its 3: TIME_WAIT
	expect "2 IPv6 connections" "$(tcp_cmd open 2 3000)" "open ok=2 fail=0"
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 4 -f 2 -w 1000)
	expect "UDP answered" "$r" "udp sent=4 recv=4"
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p 5999 -n 1 -w 300)
	expect "UDP to a closed port" "$r" "udp sent=1 recv=0"
	[ "$FAILED" -eq "$failed" ]
}

# field NAME "a=1 b=2": the value of NAME.
field() {
	echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
}

start_server() {
	ip netns exec "$NS_S" "$FLOWGEN" serve -p "$PORT" -t 120 >/dev/null &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	sleep 0.2
}

for bin in "$NFQTRACKD" "$NFQTRACKCTL" "$FLOWGEN" "$CTLSEND"; do
	if [ ! -x "$bin" ]; then
		echo "# $TEST: $bin is missing: run 'make check' (or 'make all tests/bin/flowgen tests/bin/ctlsend')"
		trap - EXIT
		rm -rf "$T"
		exit 1
	fi
done

if [ "$(id -u)" != 0 ]; then
	echo "# $TEST: skipped: needs root (network namespaces, iptables)"
	trap - EXIT
	rm -rf "$T"
	exit 77
fi
