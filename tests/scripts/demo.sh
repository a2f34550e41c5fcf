#!/bin/bash
# make demo: nfqtrackd doing its job in a throwaway pair of network
# namespaces. A client connects to a server through a veth pair; the
# server's traffic goes through NFQUEUE to nfqtrackd, on its built-in
# defaults except max_flows = 8. The client opens 8 connections (they fit),
# then 4 more (the table is full: dropped and logged), then shows that the
# first 8 still work. Everything it made is removed on exit.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
nfqtrackd=$top/src/nfqtrackd
nfqtrackctl=$top/src/nfqtrackctl
flowgen=$top/tests/bin/flowgen
tmp=$(mktemp -d /tmp/nfqtrack-demo.XXXXXX)
ns_c=nfqt-demo-$$-client
ns_s=nfqt-demo-$$-server
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$ns_c" 2>/dev/null
	ip netns del "$ns_s" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "demo: $*" >&2; exit 1; }
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m')
else bold= plain=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '  $ %s\n' "$*"; "$@"; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, iptables)"

say "Two network namespaces: client 10.77.0.1 --veth-- server 10.77.0.2"
ip netns add "$ns_c" && ip netns add "$ns_s" || die "cannot create namespaces"
ip link add veth-c netns "$ns_c" type veth peer name veth-s netns "$ns_s"
ip -n "$ns_c" addr add 10.77.0.1/24 dev veth-c
ip -n "$ns_s" addr add 10.77.0.2/24 dev veth-s
for ns in "$ns_c" "$ns_s"; do ip -n "$ns" link set lo up; done
ip -n "$ns_c" link set veth-c up
ip -n "$ns_s" link set veth-s up

say "Server firewall: kernel tracking off, traffic to NFQUEUE 0"
in_s() { ip netns exec "$ns_s" "$@"; }
run in_s iptables -t raw -A PREROUTING -i veth-s -j CT --notrack
run in_s iptables -t raw -A OUTPUT -o veth-s -j CT --notrack
run in_s iptables -A INPUT -i veth-s -j NFQUEUE --queue-num 0 --queue-bypass
run in_s iptables -A OUTPUT -o veth-s -j NFQUEUE --queue-num 0 --queue-bypass

say "nfqtrackd on its built-in defaults, except max_flows = 8"
# Its control socket and log stay in this demo's directory: nothing here
# touches an installed nfqtrackd or the system log.
cat >"$tmp/nfqtrack.conf" <<EOF
max_flows = 8
ctl_socket = $tmp/ctl
syslog_socket = $tmp/no-syslog-here
EOF
sed 's/^/  | /' "$tmp/nfqtrack.conf"
ip netns exec "$ns_s" "$nfqtrackd" -c "$tmp/nfqtrack.conf" 2>"$tmp/log" &
pids+=($!)
for _ in $(seq 50); do
	"$nfqtrackctl" -s "$tmp/ctl" version >/dev/null 2>&1 && break
	sleep 0.1
done
"$nfqtrackctl" -s "$tmp/ctl" version >/dev/null 2>&1 ||
	{ cat "$tmp/log"; die "nfqtrackd did not start"; }
sed 's/^/  log: /' "$tmp/log"

ip netns exec "$ns_s" "$flowgen" serve -p 8080 -t 60 >/dev/null &
pids+=($!)
sleep 0.2
coproc CLIENT { ip netns exec "$ns_c" "$flowgen" client -d 10.77.0.2 -p 8080 -t 60; }
pids+=("$CLIENT_PID")
ask() {
	local reply
	echo "$*" >&"${CLIENT[1]}"
	read -r -t 20 reply <&"${CLIENT[0]}" || reply="(no answer)"
	echo "$reply"
}

say "The client opens 8 TCP connections to the server (max_flows = 8)"
r=$(ask open 8 3000)
echo "  $r"
[ "$r" = "open ok=8 fail=0" ] || die "expected 8 connections, got: $r"

say "It tries 4 more: the table is full, their SYNs are dropped"
r=$(ask open 4 2500)
echo "  $r"
[ "$r" = "open ok=0 fail=4" ] || die "expected 4 refused connections, got: $r"

say "The first 8 connections still work"
r=$(ask echo 3000)
echo "  $r"
[ "$r" = "echo ok=8 fail=0" ] || die "expected 8 working connections, got: $r"

say "What nfqtrackd logged (it goes to syslog; here, stderr)"
grep 'dropping packet' "$tmp/log" | head -4 | sed 's/^/  log: /'
echo "  ... $(grep -c 'dropping packet' "$tmp/log") drop lines in all"

say "The client closes them and opens 4 new ones"
echo "  The kernel would keep their TIME_WAIT entries for 2 minutes and refuse"
echo "  new connections; with on_full = early_drop (the default), closed and"
echo "  half-open flows make room."
r=$(ask close)
echo "  $r"
sleep 0.3
r=$(ask open 4 3000)
echo "  $r"
[ "$r" = "open ok=4 fail=0" ] || die "expected 4 new connections, got: $r"
grep 'evicted' "$tmp/log" | head -2 | sed 's/^/  log: /'
r=$(ask echo 3000)
echo "  $r"
[ "$r" = "echo ok=4 fail=0" ] || die "expected 4 working connections, got: $r"

say "nfqtrackctl stats"
"$nfqtrackctl" -s "$tmp/ctl" stats |
	grep -E '^(flows|flows_max|packets|accepted|dropped|dropped_table_full|flows_created|flows_evicted|evicted_early_drop|kernel_queue_dropped) ' |
	sed 's/^/  /'

say "nfqtrackctl top: who holds the table"
"$nfqtrackctl" -s "$tmp/ctl" top | sed 's/^/  /'

ask quit >/dev/null
say "Stopping nfqtrackd (SIGTERM)"
kill -TERM "${pids[0]}"
wait "${pids[0]}"
echo "  exit status $?"
tail -1 "$tmp/log" | sed 's/^/  log: /'
say "Demo done: namespaces, rules and files removed."
