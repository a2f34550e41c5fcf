#!/bin/bash
# make check-systemd: nfqtrack deployed as an admin deploys it, under a real
# systemd (PID 1 of a Debian 12 container, with its journald), with the
# real iptables and the real kernel NFQUEUE in the container's own network
# namespace; nothing stands in for anything. TAP output.
#
# 1. From source: a copy of this clone in the container, and the README's
#    deployment walkthrough run there command by command, exactly as
#    written (its ```sh blocks, tests/systemd/readme.awk). Then, on the
#    unit it installed: the Status= line; the ExecStartPre check's single
#    line in the journal; a reload that lowers max_flows, TCP connections
#    beyond it from a client namespace, the drops in the journal with
#    their NFQTRACK_* fields; a broken reload (non-zero exit, FILE:LINE in
#    the journal, the old limit kept); nfqtrackctl for a member of group
#    nfqtrack and not for others; systemd-analyze security; the watchdog
#    (SIGSTOP: restarted within WatchdogSec); systemctl stop; queues = 0-1
#    with pin_threads = yes; fastpath = yes (the daemon's nftables table
#    made under the sandbox, connections carried, the table gone at stop);
#    fastpath_carrier = bpf (refused without the README's drop-in, with it
#    loaded, CAP_BPF dropped, connections carried, the table gone);
#    a reboot (active at boot, bound before the network is up, traffic
#    tracked).
# 2. From the Debian package (when the tree has debian/): a fresh
#    container, the README's walkthrough with its make deb and apt install
#    in place of make install, the same checks of the running unit, then
#    apt purge, which must leave nothing of ours (files, the user's
#    processes).
# 3. ufw on nfqtrackd's state: a fresh container, the README's install
#    block and its ufw block (```sh ufw) as written, with Debian's ufw
#    package; then probes from the client namespace and from the container
#    (allowed and closed ports, replies to the container's own TCP and UDP
#    connections, a stray SYN-ACK), nfqtrackctl list, ufw limit, ufw
#    reload, the daemon stopped, ufw disable.
#
# Needs root, systemd-nspawn and debootstrap (make check-systemd installs
# them). The base tree is cached in BED_CACHE (/var/cache/nfqtrack-bed);
# each container runs on an overlay of it that is removed at the end, on
# failure too. OUT (tests/out/systemd) keeps what the checks saw;
# BED_PHASES="source deb ufw" (the default) picks the parts to run.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/systemd
. "$HERE/bed.sh"
OUT=${OUT:-$TOP/tests/out/systemd}
TAG=${BED_TAG:-nfqbed}-$$
N=0
FAILED=0
SKIPPED=0
INSTALL=0
T0=$(date +%s)
SETUP=0
SETUP_T=
# The container's addresses: the README's examples (nfqtrackctl get,
# flush) name a client 192.0.2.7 and a server 198.51.100.1.
CLIENT=192.0.2.7
SERVER=198.51.100.1

ok() {
	N=$((N + 1))
	echo "ok $N - $*"
}
notok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $*"
}
skip() {
	N=$((N + 1))
	SKIPPED=$((SKIPPED + 1))
	echo "ok $N - # SKIP $*"
}
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
# note FILE: the lines of FILE as TAP comments.
note() { sed 's/^/#   /' "$1"; }
setup_begin() { SETUP_T=$(date +%s); }
setup_end() { SETUP=$((SETUP + $(date +%s) - SETUP_T)); }

finish() {
	local rc=$?
	trap - EXIT INT TERM
	bed_cleanup
	[ "$N" -gt 0 ] && echo "1..$N"
	echo "# check-systemd: $((N - FAILED - SKIPPED)) passed, $FAILED failed, $SKIPPED skipped" \
		"in $(($(date +%s) - T0)) s (setup $SETUP s; the README's install steps, make and make deb in" \
		"the container, $INSTALL s); what the checks saw: $OUT"
	[ "$FAILED" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
	exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP check-systemd needs root (containers, namespaces)"
	trap - EXIT
	exit 0
fi
for t in systemd-nspawn debootstrap nsenter; do
	command -v "$t" >/dev/null || { notok "$t is missing (make check-systemd installs it)"; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT"

# put_helpers: the bed's own tools, in /root/bed of the live tree: the
# client namespace behind ens3 (the name the README's sed uses), and a TCP
# server and client.
put_helpers() {
	mkdir -p "$BED_ROOT/root/bed"
	cat >"$BED_ROOT/root/bed/net.sh" <<EOF
#!/bin/sh -e
# ens3, the server's interface, $SERVER; behind it the namespace client,
# $CLIENT. IPv4 only, so that the flows in the table are the test's.
ip netns add client
ip link add ens3 type veth peer name eth0 netns client
for ns in "" "ip netns exec client"; do
	\$ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip addr add $SERVER/24 dev ens3
ip link set ens3 up
ip route add 192.0.2.0/24 dev ens3
ip -n client addr add $CLIENT/24 dev eth0
ip -n client link set eth0 up
ip -n client link set lo up
ip -n client route add 198.51.100.0/24 dev eth0
EOF
	cat >"$BED_ROOT/root/bed/tcp.py" <<'EOF'
# tcp.py serve ADDR PORT: accept and hold every connection, discard input.
# tcp.py open ADDR PORT N HOLD [SPORT]: open N connections at once (the
# first from SPORT), wait at most 3 s for them, print connected=K, hold
# them HOLD seconds, close.
import selectors, socket, sys, time
if sys.argv[1] == "serve":
    s = socket.create_server((sys.argv[2], int(sys.argv[3])), backlog=128)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    while True:
        for k, _ in sel.select():
            if k.fileobj is s:
                c, _ = s.accept()
                sel.register(c, selectors.EVENT_READ)
            elif not k.fileobj.recv(4096):
                sel.unregister(k.fileobj)
                k.fileobj.close()
addr, port, n, hold = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
socks = []
for i in range(n):
    c = socket.socket()
    if i == 0 and len(sys.argv) > 6:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind(("", int(sys.argv[6])))
    c.setblocking(False)
    c.connect_ex((addr, port))
    socks.append(c)
sel = selectors.DefaultSelector()
for c in socks:
    sel.register(c, selectors.EVENT_WRITE)
done = 0
end = time.monotonic() + 3
while done < n and time.monotonic() < end:
    for k, _ in sel.select(max(0, end - time.monotonic())):
        sel.unregister(k.fileobj)
        if k.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            done += 1
print("connected=%d" % done, flush=True)
time.sleep(hold)
EOF
	cat >"$BED_ROOT/root/bed/udp.py" <<'EOF'
# udp.py serve ADDR PORT: send every datagram back.
# udp.py ask ADDR PORT: one datagram; print reply=yes if it comes back
# within 2 s, else reply=no.
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1] == "serve":
    s.bind((sys.argv[2], int(sys.argv[3])))
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(d, a)
s.settimeout(2)
s.sendto(b"query", (sys.argv[2], int(sys.argv[3])))
try:
    s.recvfrom(2048)
    print("reply=yes")
except socket.timeout:
    print("reply=no")
EOF
	cat >"$BED_ROOT/root/bed/synack.py" <<'EOF'
# synack.py SRC DST DPORT: one TCP SYN-ACK from SRC:40100 to DST:DPORT,
# of no connection (the kernel's tracker calls it INVALID), by a raw socket.
import socket, struct, sys
src, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
h = struct.pack("!HHIIBBHHH", 40100, dport, 1000, 2000, 5 << 4, 0x12, 64240, 0, 0)
ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
h = h[:16] + struct.pack("!H", csum(ph + h)) + h[18:]
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).sendto(h, (dst, 0))
EOF
	cat >"$BED_ROOT/root/bed/fields.py" <<'EOF'
# fields.py KEY...: journalctl -o json on stdin; each entry's KEY=VALUE for
# the keys asked, one entry a line.
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(" ".join("%s=%s" % (k, e.get(k, "")) for k in sys.argv[1:]))
EOF
}

# put_clone: the clone's files (what git tracks, as a fresh clone has them)
# in /root/nfqtrack of the live tree.
put_clone() {
	mkdir -p "$BED_ROOT/root/nfqtrack"
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$TOP" ls-files -z | (cd "$TOP" && tar --null -T - -cf -) |
			tar -xf - -C "$BED_ROOT/root/nfqtrack"
	else
		tar -C "$TOP" --exclude=./tests/out --exclude=./build --exclude='*.o' -cf - . |
			tar -xf - -C "$BED_ROOT/root/nfqtrack"
	fi
}

# net_up: the network, the server (a transient unit of the container's
# systemd, so that it ends with the container).
net_up() {
	bed sh /root/bed/net.sh &&
		bed systemd-run --quiet --unit=bed-server python3 /root/bed/tcp.py serve "$SERVER" 443
}

# connect N HOLD [SPORT]: from the client namespace; prints connected=K.
connect() {
	bed ip netns exec client python3 /root/bed/tcp.py open "$SERVER" 443 "$@"
}

# hold: one connection from $CLIENT:40000 (the README's example flow),
# held in a transient unit until it is stopped.
hold() {
	bed systemd-run --quiet --unit=bed-hold ip netns exec client \
		python3 /root/bed/tcp.py open "$SERVER" 443 1 600 40000
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() {
	local i n=$(($1 * 5))
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# conf_set KEY VALUE: in the installed nfqtrack.conf, as an admin edits it.
bed_not_active() { ! bed systemctl -q is-active nfqtrack; }

conf_set() {
	bed sed -i "/^#*$1 = /d" /etc/nfqtrack/nfqtrack.conf &&
		echo "$1 = $2" | bed tee -a /etc/nfqtrack/nfqtrack.conf >/dev/null
}

# The ExecStartPre= check's lines in the journal: those of the unit's
# current run (its invocation ID) that nfqtrackd wrote from another PID than
# the main one. (systemctl show forgets ExecStartPre's PID once the main
# process runs.)
pre_lines() {
	local inv main
	inv=$(bed systemctl show -p InvocationID --value nfqtrack)
	main=$(bed systemctl show -p MainPID --value nfqtrack)
	[ -n "$inv" ] || return 1
	bed journalctl -q -o json _SYSTEMD_INVOCATION_ID="$inv" SYSLOG_IDENTIFIER=nfqtrackd |
		bed python3 /root/bed/fields.py _PID MESSAGE |
		awk -v m="_PID=$main" '$1 != m { sub(/^_PID=[0-9]+ MESSAGE=/, ""); print }'
}

# readme KIND DIR [PASS...]: the walkthrough, run inside from DIR: the
# README's install block for KIND (```sh install-KIND, in place of step 1),
# then every ```sh block of its Deployment section in order; or the blocks
# whose info string is each PASS in turn. Each command is run alone, as
# pasted, and must exit 0 (one whose comment says "until ^C" is ended so
# after 3 s). After the rules are loaded a connection is held,
# so that the commands that follow have a flow to show.
readme() {
	local kind=$1 dir=$2 info cmd out rc i=0 label pass t passes
	shift 2
	passes=("$@")
	[ $# -gt 0 ] || passes=("sh install-$kind" sh)
	for pass in "${passes[@]}"; do
		while IFS= read -r -d '' info && IFS= read -r -d '' cmd; do
			[ "$info" = "$pass" ] || continue
			i=$((i + 1))
			label="README ($kind) \$ $(echo "$cmd" | head -n 1)"
			t=$(date +%s)
			case $cmd in
			*"until ^C"*)
				# A stream: ended after 3 s as the admin ends it,
				# by ^C (SIGINT to its process group), after
				# which it must exit 0.
				out=$(bed timeout --preserve-status -s INT -k 10 3 \
					bash -c "cd $dir && $cmd" 2>&1) ;;
			*) out=$(bed timeout -k 10 900 bash -c "cd $dir && $cmd" 2>&1) ;;
			esac
			rc=$?
			case $pass in "sh install-"*) INSTALL=$((INSTALL + $(date +%s) - t)) ;; esac
			printf '$ %s\n%s\n' "$cmd" "$out" >>"$OUT/readme-$kind.txt"
			if [ $rc -eq 0 ]; then ok "$label"; else
				notok "$label: exit $rc"
				echo "$out" | tail -n 15 | sed 's/^/#   /'
				# Nothing after a failed install could work.
				case $pass in "sh install-"*) return 1 ;; esac
			fi
			case $cmd in
			ip6tables-restore*) hold >/dev/null && sleep 1 ;;
			esac
		done < <(awk -f "$HERE/readme.awk" "$TOP/README.md")
	done
	[ $i -gt 1 ] || notok "README ($kind): no \`\`\`sh blocks in its Deployment section"
}

# The checks on an installed, running unit (from source or the package).
check_running() {
	local kind=$1 status
	check "$kind: nfqtrack is enabled" bed systemctl -q is-enabled nfqtrack
	# The chown fix's regression check: the unit starts, the control
	# socket is there.
	check "$kind: nfqtrack is active (the control socket was made under the unit)" \
		wait_for 10 bed systemctl -q is-active nfqtrack
	if bed journalctl -q -u nfqtrack | grep 'cannot listen' >"$OUT/listen-$kind.txt"; then
		notok "$kind: no 'cannot listen' in the journal"
		head -n 3 "$OUT/listen-$kind.txt" | sed 's/^/#   /'
	else ok "$kind: no 'cannot listen' in the journal"; fi
	status=$(bed systemctl status --no-pager nfqtrack)
	echo "$status" >"$OUT/status-$kind.txt"
	if echo "$status" | grep -Eq '^ +Status: "[0-9]+/[0-9]+ flows, [0-9.]+ drops/s"'; then
		ok "$kind: systemctl status shows the Status= line ($(echo "$status" | grep -E '^ +Status:' | sed 's/^ *//'))"
	else
		notok "$kind: systemctl status shows the Status= line"
		note "$OUT/status-$kind.txt"
	fi
	pre_lines >"$OUT/execstartpre-$kind.txt"
	if [ "$(wc -l <"$OUT/execstartpre-$kind.txt")" = 1 ]; then
		ok "$kind: ExecStartPre's nfqtrackd -t wrote one line ($(cat "$OUT/execstartpre-$kind.txt"))"
	else
		notok "$kind: ExecStartPre's nfqtrackd -t wrote one line, not $(wc -l <"$OUT/execstartpre-$kind.txt")"
		head -n 5 "$OUT/execstartpre-$kind.txt" | sed 's/^/#   /'
	fi
}

# From source: make && make install in a copy of the clone.
phase_source() {
	local a b pid pid2 t w line out n
	setup_begin
	bed_tree "$TAG-src" || { notok "source: a live tree"; setup_end; return; }
	put_clone
	put_helpers
	bed_boot || { notok "source: the container boots"; setup_end; return; }
	ok "source: the container boots with systemd as PID 1 ($(bed systemctl --version | head -n 1))"
	net_up || notok "source: the container's network"
	setup_end

	readme source /root/nfqtrack || return
	check_running source
	check "source: the shipped rules are loaded (iptables-save shows them on ens3)" \
		sh -c "[ \$(nsenter -t $BED_LEADER -n iptables-save | grep -c -- '-[io] ens3 \(-j CT --notrack\|-m mark ! --mark 0x1000000/0x1000000 -j NFQUEUE --queue-num 0 --queue-bypass\)') = 4 ]"
	check "source: the IPv6 rules are loaded" \
		sh -c "[ \$(nsenter -t $BED_LEADER -n ip6tables-save | grep -c -- '-[io] ens3 .*-j') = 4 ]"
	bed systemctl stop bed-hold 2>/dev/null

	# A good edit, a reload: the new limit is in force.
	bed nfqtrackctl flush >/dev/null 2>&1
	conf_set max_flows 4
	conf_set on_full drop
	check "source: systemctl reload after a good edit exits 0" bed systemctl reload nfqtrack
	check "source: max_flows = 4 in force" sh -c "[ \"\$(nsenter -t $BED_LEADER -a nfqtrackctl config 2>&1 | grep '^max_flows = ')\" = 'max_flows = 4' ]"
	bed nfqtrackctl flush >/dev/null 2>&1
	out=$(connect 8 0)
	if [ "$out" = connected=4 ]; then ok "source: 8 connections through a table of 4: 4 connected"; else
		notok "source: 8 connections through a table of 4: 4 connected ($out)"; fi
	bed journalctl -q -u nfqtrack -o json NFQTRACK_REASON=table_full >"$OUT/drops.json"
	bed python3 /root/bed/fields.py PRIORITY NFQTRACK_EVENT NFQTRACK_REASON NFQTRACK_PROTO \
		NFQTRACK_SRC NFQTRACK_DST NFQTRACK_DPORT <"$OUT/drops.json" >"$OUT/drops.fields"
	if grep -q "^PRIORITY=4 NFQTRACK_EVENT=drop NFQTRACK_REASON=table_full NFQTRACK_PROTO=[A-Za-z]* NFQTRACK_SRC=$CLIENT NFQTRACK_DST=$SERVER NFQTRACK_DPORT=443$" "$OUT/drops.fields"; then
		ok "source: the drops in journalctl -u nfqtrack -o json, with their fields ($(head -n 1 "$OUT/drops.fields"))"
	else
		notok "source: the drops in journalctl -u nfqtrack -o json, with their fields"
		head -n 3 "$OUT/drops.fields" | sed 's/^/#   /'
	fi
	bed journalctl -q -u nfqtrack NFQTRACK_REASON=table_full >"$OUT/drops.txt"
	if grep -q "$CLIENT" "$OUT/drops.txt" && ! grep -qv 'table full\|table_full' "$OUT/drops.txt"; then
		ok "source: journalctl -u nfqtrack NFQTRACK_REASON=table_full: $(wc -l <"$OUT/drops.txt") lines, only the table's drops"
	else
		notok "source: journalctl -u nfqtrack NFQTRACK_REASON=table_full: only the table's drops"
		head -n 5 "$OUT/drops.txt" | sed 's/^/#   /'
	fi

	# A broken edit: the reload fails, says where, keeps the old limits.
	conf_set max_flows lots
	line=$(bed grep -n '^max_flows = lots' /etc/nfqtrack/nfqtrack.conf | cut -d: -f1)
	a=$(bed date '+%Y-%m-%d %H:%M:%S')
	bed systemctl reload nfqtrack >"$OUT/reload-bad.txt" 2>&1
	check "source: systemctl reload after a broken edit exits non-zero" [ $? -ne 0 ]
	bed journalctl -q -u nfqtrack --since "$a" -o cat >"$OUT/reload-bad-journal.txt"
	if grep -q "/etc/nfqtrack/nfqtrack.conf:$line: " "$OUT/reload-bad-journal.txt"; then
		ok "source: the journal names FILE:LINE ($(grep -m 1 "/etc/nfqtrack/nfqtrack.conf:$line: " "$OUT/reload-bad-journal.txt"))"
	else
		notok "source: the journal names /etc/nfqtrack/nfqtrack.conf:$line"
		note "$OUT/reload-bad-journal.txt"
	fi
	check "source: the old max_flows = 4 kept" sh -c "[ \"\$(nsenter -t $BED_LEADER -a nfqtrackctl config 2>&1 | grep '^max_flows = ')\" = 'max_flows = 4' ]"
	check "source: still active after the broken reload" bed systemctl -q is-active nfqtrack
	conf_set max_flows 1000

	# nfqtrackctl: a member of group nfqtrack may, another user may not.
	bed useradd -M -G nfqtrack alice && bed useradd -M bob
	check "source: nfqtrackctl stats as a member of group nfqtrack" bed runuser -u alice -- sh -c 'nfqtrackctl stats -o json >/dev/null'
	out=$(bed runuser -u bob -- nfqtrackctl stats 2>&1)
	if [ $? -ne 0 ] && echo "$out" | grep -q 'Permission denied'; then
		ok "source: nfqtrackctl refused to a non-member ($out)"
	else notok "source: nfqtrackctl refused to a non-member ($out)"; fi

	bed systemd-analyze security nfqtrack.service >"$OUT/security.txt" 2>&1
	a=$(grep -o 'Overall exposure level for nfqtrack.service: [0-9.]*' "$OUT/security.txt" | awk '{ print $NF }')
	if [ -n "$a" ] && awk -v e="$a" 'BEGIN { exit !(e <= 1.5) }'; then
		ok "source: systemd-analyze security: exposure $a <= 1.5"
	else notok "source: systemd-analyze security: exposure ${a:-?} <= 1.5"; fi

	# The watchdog: a stopped loop is killed and restarted within
	# WatchdogSec (20 s) and RestartSec (1 s).
	w=$(bed systemctl show -p WatchdogUSec --value nfqtrack)
	pid=$(bed systemctl show -p MainPID --value nfqtrack)
	a=$(bed date '+%Y-%m-%d %H:%M:%S')
	t=$(date +%s)
	# Never "kill 0" (our own process group) if there is no main PID.
	[ "${pid:-0}" -gt 1 ] && bed kill -STOP "$pid"
	pid2=$pid
	for _ in $(seq 200); do
		pid2=$(bed systemctl show -p MainPID --value nfqtrack)
		[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] && bed systemctl -q is-active nfqtrack && break
		sleep 0.2
	done
	t=$(($(date +%s) - t))
	bed journalctl -q -u nfqtrack --since "$a" >"$OUT/watchdog.txt"
	if [ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] && [ "$t" -le 25 ] && grep -q 'Watchdog timeout' "$OUT/watchdog.txt"; then
		ok "source: SIGSTOP: watchdog timeout (WatchdogSec $w), restarted in $t s as PID $pid2 ($(grep -m 1 'Watchdog timeout' "$OUT/watchdog.txt" | sed 's/^.*]: //'))"
	else
		notok "source: SIGSTOP: restarted within WatchdogSec ($w): PID $pid -> $pid2 after $t s"
		tail -n 10 "$OUT/watchdog.txt" | sed 's/^/#   /'
	fi

	bed systemctl stop nfqtrack
	check "source: systemctl stop exits 0" [ $? -eq 0 ]
	check "source: it exited 0 (ExecMainStatus)" [ "$(bed systemctl show -p ExecMainStatus --value nfqtrack)" = 0 ]
	check "source: /run/nfqtrack is gone" bed test ! -e /run/nfqtrack

	# Two queues, pinned threads: starts, each thread pinned or one
	# warning that says why not.
	conf_set queues 0-1
	conf_set pin_threads yes
	a=$(bed date '+%Y-%m-%d %H:%M:%S')
	bed systemctl start nfqtrack
	check "source: queues = 0-1, pin_threads = yes: starts" wait_for 10 bed systemctl -q is-active nfqtrack
	bed journalctl -q -u nfqtrack --since "$a" -o cat >"$OUT/pin.txt"
	# Under the shipped unit sched_setaffinity is denied: one warning, or,
	# where a drop-in allows it, a CPU for each thread.
	a=$(grep -c 'pin_threads: cannot pin' "$OUT/pin.txt")
	b=$(grep -c 'queue [01]: thread on CPU' "$OUT/pin.txt")
	if [ "$a" = 1 ] || [ "$b" = 2 ]; then
		ok "source: pin_threads = yes under the unit: $(grep -m 1 'pin_threads: cannot pin\|thread on CPU' "$OUT/pin.txt")"
	else
		notok "source: pin_threads = yes under the unit: one warning ($a) or two pinned threads ($b)"
		note "$OUT/pin.txt"
	fi
	# The start line may not promise what the warning then takes back:
	# whether the threads are pinned is said by their own lines.
	check "source: the start line says no '(pinned)' when the threads run unpinned" \
		sh -c "! grep -q 'starting: .*(pinned)' '$OUT/pin.txt'"
	n=$(bed awk '$1 == 0 || $1 == 1' /proc/net/netfilter/nfnetlink_queue | wc -l)
	check "source: queues 0 and 1 bound" [ "$n" = 2 ]
	conf_set queues 0
	conf_set pin_threads no

	# The fast path under the unit's sandbox (CAP_NET_ADMIN and nothing
	# more): the daemon makes its nftables table, the kernel carries the
	# admitted connections, and the table goes at stop.
	conf_set fastpath yes
	a=$(bed date '+%Y-%m-%d %H:%M:%S')
	bed systemctl restart nfqtrack
	check "source: fastpath = yes: starts" wait_for 10 bed systemctl -q is-active nfqtrack
	check "source: fastpath = yes: its table inet nfqtrack is there" \
		sh -c "nsenter -t $BED_LEADER -n nft list table inet nfqtrack >'$OUT/fastpath-table.txt'"
	bed journalctl -q -u nfqtrack --since "$a" -p err -o cat >"$OUT/fastpath-err.txt"
	check "source: fastpath = yes: no error in the journal ($(head -n 1 "$OUT/fastpath-err.txt"))" \
		[ ! -s "$OUT/fastpath-err.txt" ]
	bed nfqtrackctl flush >/dev/null 2>&1
	connect 2 4 >"$OUT/fastpath-connect.txt" &
	pid=$!
	sleep 2
	bed nfqtrackctl list -p tcp >"$OUT/fastpath-list.txt" 2>&1
	n=$(grep -c '\[FAST\]' "$OUT/fastpath-list.txt")
	nsenter -t "$BED_LEADER" -n nft -n list set inet nfqtrack est4 >"$OUT/fastpath-est4.txt" 2>&1
	b=$(grep -o "$CLIENT \. $SERVER \. 6 \. [0-9]* \. 443\|$SERVER \. $CLIENT \. 6 \. 443 \. [0-9]*" \
		"$OUT/fastpath-est4.txt" | sort -u | wc -l)
	wait "$pid"
	if [ "$(cat "$OUT/fastpath-connect.txt")" = connected=2 ] && [ "$n" = 2 ] && [ "$b" = 4 ]; then
		ok "source: fastpath = yes: 2 connections carried by the kernel (list: $n [FAST]; est4: $b elements, both ways)"
	else
		notok "source: fastpath = yes: 2 connections carried ($(cat "$OUT/fastpath-connect.txt"), $n [FAST], $b elements)"
		note "$OUT/fastpath-list.txt"
		head -n 20 "$OUT/fastpath-est4.txt" | sed 's/^/#   /'
	fi
	bed systemctl stop nfqtrack
	check "source: fastpath = yes: stopped, the table is gone" \
		sh -c "! nsenter -t $BED_LEADER -n nft list table inet nfqtrack >/dev/null 2>&1"

	# The BPF carrier under the same sandbox, with the README's drop-in
	# (CAP_BPF, the bpf and capset calls): loaded at start, CAP_BPF
	# dropped after it, the connections carried in its map through the
	# table's xt bpf matches, the table gone at stop; without the drop-in
	# the start fails and says why.
	conf_set fastpath_carrier bpf
	a=$(bed date '+%Y-%m-%d %H:%M:%S')
	bed systemctl start nfqtrack
	# Restart=on-failure tries again: stopped, then asked.
	bed systemctl stop nfqtrack
	check "source: fastpath_carrier = bpf without the drop-in: fails" \
		bed_not_active
	bed journalctl -q -u nfqtrack --since "$a" -o cat >"$OUT/bpf-nocap.txt"
	check "source: and the journal says it needs CAP_BPF" \
		grep -q 'loading needs CAP_BPF' "$OUT/bpf-nocap.txt"
	bed systemctl reset-failed nfqtrack 2>/dev/null
	awk '/^      # \/etc\/systemd\/system\/nfqtrack.service.d\/bpf.conf/ { on = 1; next }
		on && /^      / { sub(/^      /, ""); print; next } on { exit }' \
		"$TOP/README.md" >"$OUT/bpf.conf"
	check "source: the README's drop-in, read from it" grep -q '^SystemCallFilter=bpf capset$' "$OUT/bpf.conf"
	bed mkdir -p /etc/systemd/system/nfqtrack.service.d
	bed tee /etc/systemd/system/nfqtrack.service.d/bpf.conf <"$OUT/bpf.conf" >/dev/null
	bed systemctl daemon-reload
	bed systemctl start nfqtrack
	check "source: fastpath_carrier = bpf with the drop-in: starts" wait_for 10 bed systemctl -q is-active nfqtrack
	# This run's lines (the failed starts above may share its second).
	inv=$(bed systemctl show -p InvocationID --value nfqtrack)
	bed journalctl -q "_SYSTEMD_INVOCATION_ID=$inv" -p err -o cat >"$OUT/bpf-err.txt"
	check "source: fastpath_carrier = bpf: no error in the journal ($(head -n 1 "$OUT/bpf-err.txt"))" \
		[ ! -s "$OUT/bpf-err.txt" ]
	pid=$(bed systemctl show -p MainPID --value nfqtrack)
	bed cat "/proc/$pid/status" >"$OUT/bpf-status.txt"
	check "source: fastpath_carrier = bpf: CAP_BPF dropped, CAP_NET_ADMIN only" \
		grep -q '^CapEff:[[:space:]]*0000000000001000$' "$OUT/bpf-status.txt"
	nsenter -t "$BED_LEADER" -n nft list table inet nfqtrack >"$OUT/bpf-table.txt" 2>&1
	check "source: fastpath_carrier = bpf: the table runs the programs" \
		[ "$(grep -c 'xt match "*bpf' "$OUT/bpf-table.txt")" = 5 ]
	connect 2 4 >"$OUT/bpf-connect.txt" &
	pid=$!
	sleep 2
	bed nfqtrackctl list -p tcp >"$OUT/bpf-list.txt" 2>&1
	n=$(grep -c '\[FAST\]' "$OUT/bpf-list.txt")
	q=$(bed nfqtrackctl stats 2>/dev/null | awk '$1 == "queue_packets" { print $2 }')
	wait "$pid"
	if [ "$(cat "$OUT/bpf-connect.txt")" = connected=2 ] && [ "$n" = 2 ] && [ "${q:-99}" -le 4 ]; then
		ok "source: fastpath_carrier = bpf: 2 connections carried by the kernel (list: $n [FAST]; $q packets queued)"
	else
		notok "source: fastpath_carrier = bpf: 2 connections carried ($(cat "$OUT/bpf-connect.txt"), $n [FAST], $q packets queued)"
		note "$OUT/bpf-list.txt"
	fi
	# Admission in the kernel, turned on by systemctl reload: the next
	# connections' SYNs never reach the queue, and the daemon (CAP_BPF
	# long gone) learns them from the carrier's ring.
	conf_set fastpath_kernel_admit yes
	bed systemctl reload nfqtrack
	# The first grant comes on the queue thread's next tick (0.1 s);
	# a SYN before it goes to the queue, as over any budget.
	sleep 0.5
	connect 2 4 >"$OUT/kadmit-connect.txt" &
	pid=$!
	sleep 2
	bed nfqtrackctl stats >"$OUT/kadmit-stats.txt" 2>&1
	wait "$pid"
	l=$(awk '$1 == "fastpath_learned" { print $2 }' "$OUT/kadmit-stats.txt")
	q1=$(awk '$1 == "queue_packets" { print $2 }' "$OUT/kadmit-stats.txt")
	# (Their SYNs queued would be 2 packets more; anything else the
	# bed's link carries meanwhile, one at most.)
	if [ "$(cat "$OUT/kadmit-connect.txt")" = connected=2 ] && [ "$l" = 2 ] &&
		[ $((${q1:-99} - ${q:-0})) -lt 2 ]; then
		ok "source: fastpath_kernel_admit: 2 connections admitted by the kernel, learned ($l), their SYNs not queued ($q then $q1)"
	else
		notok "source: fastpath_kernel_admit: 2 connections admitted by the kernel ($(cat "$OUT/kadmit-connect.txt"), $l learned, $q then ${q1:-?} packets queued)"
		note "$OUT/kadmit-stats.txt"
	fi
	conf_set fastpath_kernel_admit no
	bed systemctl stop nfqtrack
	check "source: fastpath_carrier = bpf: stopped, the table is gone" \
		sh -c "! nsenter -t $BED_LEADER -n nft list table inet nfqtrack >/dev/null 2>&1"
	bed rm -rf /etc/systemd/system/nfqtrack.service.d
	bed systemctl daemon-reload
	conf_set fastpath_carrier nftables
	conf_set fastpath no
	bed systemctl start nfqtrack

	# A reboot with the unit enabled: active at boot, the queue bound
	# before network-pre.target (before any interface is up), then the
	# traffic is tracked from its first packet.
	setup_begin
	if bed_reboot; then ok "source: the container reboots"; else
		notok "source: the container reboots"
		setup_end
		return
	fi
	setup_end
	check "source: after the reboot, nfqtrack is active" bed systemctl -q is-active nfqtrack
	a=$(bed systemctl show -p ActiveEnterTimestampMonotonic --value nfqtrack.service)
	b=$(bed systemctl show -p ActiveEnterTimestampMonotonic --value network-pre.target)
	if [ "${a:-0}" -gt 0 ] && [ "${b:-0}" -ge "$a" ]; then
		ok "source: ready (queue bound) before network-pre.target, by $(((b - a) / 1000)) ms"
	else notok "source: ready before network-pre.target (${a:-?} us, ${b:-?} us)"; fi
	check "source: queue 0 bound" sh -c "nsenter -t $BED_LEADER -n awk '\$1 == 0' /proc/net/netfilter/nfnetlink_queue | grep -q ."
	n=$(pre_lines | wc -l)
	check "source: ExecStartPre at boot wrote one line ($n)" [ "$n" = 1 ]
	net_up && bed iptables-restore --noflush /etc/nfqtrack/nfqtrack.rules
	out=$(connect 3 0)
	n=$(bed nfqtrackctl count 2>&1)
	if [ "$out" = connected=3 ] && [ "$n" = 3 ]; then ok "source: after the reboot, 3 connections tracked ($n flows)"; else
		notok "source: after the reboot, 3 connections tracked ($out, $n flows)"; fi
}

# From the Debian package: make deb and apt install in a copy of the clone
# in a fresh container (the base tree has the packages make deb wants).
phase_deb() {
	local files left pkgfiles
	if ! grep -q '^deb:' "$TOP/Makefile" || [ ! -d "$TOP/debian" ]; then
		skip "deb: this tree has no debian/ and no make deb yet: apt install/purge and the README walkthrough from the package not tested"
		return
	fi
	setup_begin
	bed_tree "$TAG-deb" || { notok "deb: a live tree"; setup_end; return; }
	put_clone
	put_helpers
	bed_boot || { notok "deb: the container boots"; setup_end; return; }
	net_up || notok "deb: the container's network"
	setup_end

	readme deb /root/nfqtrack || return
	check_running deb
	bed systemctl stop bed-hold 2>/dev/null

	# apt purge: nothing of ours left, no process of the user.
	pkgfiles=$(bed dpkg-query -L nfqtrack | bed sh -c 'while read -r f; do [ -d "$f" ] || echo "$f"; done')
	bed apt-get purge -y -q nfqtrack >"$OUT/purge.txt" 2>&1
	check "deb: apt-get purge nfqtrack" [ $? -eq 0 ]
	check "deb: no longer known to dpkg" sh -c "! nsenter -t $BED_LEADER -a dpkg-query -W -f '\${db:Status-Abbrev}' nfqtrack 2>/dev/null | grep -q ."
	files=
	for f in $pkgfiles /etc/nfqtrack /run/nfqtrack /var/lib/nfqtrack \
		/etc/systemd/system/multi-user.target.wants/nfqtrack.service; do
		bed test -e "$f" && files="$files $f"
	done
	if [ -z "$files" ]; then ok "deb: every file of the package, /etc/nfqtrack and /run/nfqtrack gone"; else
		notok "deb: left behind:$files"; fi
	# Debian keeps system users (the README says why); nothing may be
	# left that is theirs.
	files=$(bed sh -c 'getent passwd nfqtrack >/dev/null &&
		find / /run /var /tmp -xdev \( -user nfqtrack -o -group nfqtrack \) -print' | sort -u | tr '\n' ' ')
	check "deb: no file of user or group nfqtrack left${files:+ ($files)}" [ -z "$files" ]
	left=$(bed sh -c 'getent passwd nfqtrack >/dev/null && pgrep -u nfqtrack -l')
	check "deb: no process of user nfqtrack left${left:+ ($left)}" [ -z "$left" ]
	check "deb: the unit is gone" sh -c "! nsenter -t $BED_LEADER -a systemctl cat nfqtrack >/dev/null 2>&1"
}

# ufw on nfqtrackd's state, set up as the README's ufw block says, in a
# fresh container with Debian's ufw package.
# ufw_rules: the before.init rules loaded, as "IPv4 IPv6" counts of
# rules on ens3 that notrack or queue.
ufw_rules() {
	local ipt n=
	for ipt in iptables ip6tables; do
		n="$n$(bed "$ipt-save" | grep -c -- '-[io] ens3 .*-j \(CT --notrack\|NFQUEUE\)') "
	done
	echo "${n% }"
}
# counter RULE: the packets that an iptables rule (as iptables-save writes
# it, without -A) has matched.
counter() {
	bed iptables-save -c | awk -v r="$1" '{ c = $1; $1 = ""; sub(/^ -A /, "") }
		$0 == r { gsub(/[][]/, "", c); split(c, p, ":"); print p[1]; exit }'
}
# probe WHAT EXPECT COMMAND...: run COMMAND, its output must be EXPECT;
# the line goes to the probe table.
probe() {
	local what=$1 want=$2 out
	shift 2
	out=$("$@" 2>&1 | tail -n 1)
	printf '%-62s %-14s %s\n' "$what" "$out" "$([ "$out" = "$want" ] && echo ok || echo "NOT $want")" \
		>>"$OUT/ufw-probes.txt"
	if [ "$out" = "$want" ]; then ok "ufw: $what: $out"; else notok "ufw: $what: $out, not $want"; fi
}
out_tcp() { bed python3 /root/bed/tcp.py open "$CLIENT" 8080 1 0; }
out_udp() { bed python3 /root/bed/udp.py ask "$CLIENT" 53; }
in_tcp() { bed ip netns exec client python3 /root/bed/tcp.py open "$SERVER" "$@"; }

phase_ufw() {
	local a b n est inv
	setup_begin
	bed_tree "$TAG-ufw" || { notok "ufw: a live tree"; setup_end; return; }
	put_clone
	put_helpers
	bed_boot || { notok "ufw: the container boots"; setup_end; return; }
	# Servers: in the container on 22 (allowed), 443 (net_up: closed) and
	# 2222 (ufw limit); in the client namespace, a TCP and a UDP (DNS-like)
	# peer for the container's own connections.
	if net_up &&
		bed systemd-run --quiet --unit=bed-ssh python3 /root/bed/tcp.py serve "$SERVER" 22 &&
		bed systemd-run --quiet --unit=bed-limit python3 /root/bed/tcp.py serve "$SERVER" 2222 &&
		bed systemd-run --quiet --unit=bed-peer ip netns exec client \
			python3 /root/bed/tcp.py serve "$CLIENT" 8080 &&
		bed systemd-run --quiet --unit=bed-dns ip netns exec client \
			python3 /root/bed/udp.py serve "$CLIENT" 53; then
		ok "ufw: the container boots, the network and the servers are up ($(bed ufw version | head -n 1))"
	else notok "ufw: the container's network and servers"; fi
	setup_end

	readme ufw /root/nfqtrack "sh install-source" "sh ufw" || return
	: >"$OUT/ufw-probes.txt"
	check "ufw: nfqtrack is active" wait_for 10 bed systemctl -q is-active nfqtrack
	check "ufw: verdict_mode = mark in force" sh -c "nsenter -t $BED_LEADER -a nfqtrackctl config 2>&1 | grep -qx 'verdict_mode = mark'"
	bed ufw status verbose >"$OUT/ufw-status.txt" 2>&1
	if grep -q '^Status: active' "$OUT/ufw-status.txt" && grep -q '^22/tcp  *ALLOW IN' "$OUT/ufw-status.txt"; then
		ok "ufw: ufw status: active, 22/tcp allowed"
	else notok "ufw: ufw status: active, 22/tcp allowed"; note "$OUT/ufw-status.txt"; fi
	n=$(ufw_rules)
	check "ufw: before.init start loaded the notrack and queue rules on ens3 (IPv4 IPv6: $n)" [ "$n" = "4 4" ]
	n="$(bed iptables-save | grep -c -- '--comment nfqtrack ') $(bed ip6tables-save | grep -c -- '--comment nfqtrack ')"
	check "ufw: the mark lines of before.rules and before6.rules are loaded ($n)" [ "$n" = "4 4" ]

	# Probes. The client connects from outside the container's network
	# namespace; the container connects out to the client.
	probe "client -> 22/tcp (ufw allow 22/tcp)" connected=1 in_tcp 22 1 0
	probe "client -> 443/tcp (no rule: ufw's default deny)" connected=0 in_tcp 443 1 0
	est="ufw-before-input -m mark --mark 0x5000000/0xd000000 -m comment --comment nfqtrack -j ACCEPT"
	a=$(counter "$est")
	probe "container -> client 8080/tcp (reply ESTABLISHED by mark)" connected=1 out_tcp
	probe "container -> client 53/udp (reply ESTABLISHED by mark)" reply=yes out_udp
	b=$(counter "$est")
	check "ufw: the replies were accepted by the ESTABLISHED mark line (${a:-?} -> ${b:-?} packets)" \
		[ "${b:-0}" -gt "${a:-0}" ]
	inv="ufw-before-input -m mark --mark 0x9000000/0xf000000 -m comment --comment nfqtrack -j DROP"
	a=$(counter "$inv")
	bed ip netns exec client python3 /root/bed/synack.py "$CLIENT" "$SERVER" 22
	sleep 0.5
	b=$(counter "$inv")
	check "ufw: a stray SYN-ACK to the allowed port 22 dropped by the INVALID mark line (${a:-?} -> ${b:-?} packets)" \
		[ "${b:-0}" -gt "${a:-0}" ]
	bed nfqtrackctl list >"$OUT/ufw-list.txt" 2>&1
	n=0
	grep -q "^tcp .* src=$CLIENT dst=$SERVER sport=[0-9]* dport=22 " "$OUT/ufw-list.txt" && n=$((n + 1))
	grep -q "^tcp .* src=$SERVER dst=$CLIENT sport=[0-9]* dport=8080 " "$OUT/ufw-list.txt" && n=$((n + 1))
	grep -q "^udp .* src=$SERVER dst=$CLIENT sport=[0-9]* dport=53 " "$OUT/ufw-list.txt" && n=$((n + 1))
	if [ $n = 3 ]; then ok "ufw: nfqtrackctl list shows the flows to 22, 8080 and 53 ($(wc -l <"$OUT/ufw-list.txt") lines)"; else
		notok "ufw: nfqtrackctl list shows the flows to 22, 8080 and 53 ($n of 3)"; note "$OUT/ufw-list.txt"; fi

	# ufw limit: its --ctstate NEW -m recent never matches UNTRACKED
	# packets, so every connection is let in (the README says so).
	bed ufw limit 2222/tcp >/dev/null
	probe "client -> 2222/tcp x8 at once (ufw limit: a plain allow)" connected=8 in_tcp 2222 8 0

	# ufw reload runs before.init stop and start twice each: the rules are
	# there once, and the container's connections still get replies.
	check "ufw: ufw reload" bed ufw reload
	n=$(ufw_rules)
	check "ufw: after ufw reload, the rules once each (IPv4 IPv6: $n)" [ "$n" = "4 4" ]
	probe "after ufw reload: container -> client 8080/tcp" connected=1 out_tcp

	# nfqtrackd stopped: --queue-bypass, packets meet ufw unmarked:
	# stateless allowances hold, replies are not ESTABLISHED (fail-closed).
	bed systemctl stop nfqtrack
	check "ufw: systemctl stop nfqtrack" [ $? -eq 0 ]
	probe "nfqtrackd stopped: client -> 22/tcp" connected=1 in_tcp 22 1 0
	probe "nfqtrackd stopped: client -> 443/tcp" connected=0 in_tcp 443 1 0
	probe "nfqtrackd stopped: container -> client 8080/tcp (fail-closed)" connected=0 out_tcp
	probe "nfqtrackd stopped: container -> client 53/udp (fail-closed)" reply=no out_udp
	bed systemctl start nfqtrack
	check "ufw: systemctl start nfqtrack" wait_for 10 bed systemctl -q is-active nfqtrack
	probe "nfqtrackd back: container -> client 8080/tcp" connected=1 out_tcp

	# ufw disable: before.init stop takes the rules out; the kernel tracks
	# again and nothing is queued.
	check "ufw: ufw disable" bed ufw disable
	n=$(ufw_rules)
	check "ufw: after ufw disable, no notrack or queue rule left (IPv4 IPv6: $n)" [ "$n" = "0 0" ]
	a=$(bed nfqtrackctl count 2>&1)
	probe "ufw disabled: container -> client 8080/tcp" connected=1 out_tcp
	b=$(bed nfqtrackctl count 2>&1)
	check "ufw: after ufw disable, nfqtrackd sees no new flow ($a -> $b flows)" [ "${b:-x}" -le "${a:-0}" ]
	note "$OUT/ufw-probes.txt"
}

for phase in ${BED_PHASES:-source deb ufw}; do
	"phase_$phase"
	bed_cleanup
done
