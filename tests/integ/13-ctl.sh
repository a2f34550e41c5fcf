#!/bin/bash
# nfqtrackctl against a live daemon: count, get (either direction, TCP,
# UDP, ICMP, IPv6; a flow that is not there), flush (by filter, then all),
# config (what nfqtrackd -t prints), reload (done; or refused with
# FILE:LINE and the running configuration kept), JSON output, and the exit
# statuses: 0 ok, 1 refused by the daemon, 2 usage, 3 not reachable.
. "$(dirname "$0")/lib.sh"

ctl() { "$NFQTRACKCTL" -s "$CTL" "$@"; }

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
max_flows = 100
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

tcp_client "$V4_S"
r=$(tcp_cmd open 3 3000)
expect "3 TCP connections" "$r" "open ok=3 fail=0"
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 2 -f 2 -w 500)
expect "2 UDP flows" "$r" "udp sent=2 recv=2"
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V6_S" -p "$PORT" -n 1 -f 1 -w 500)
expect "1 UDP flow over IPv6" "$r" "udp sent=1 recv=1"
quiet ip netns exec "$NS_C" ping -q -c 1 -W 1 "$V4_S"

expect "count" "$(ctl count)" 7
expect "count -o json" "$(ctl -o json count)" '{"flows": 7}'

# get: a TCP flow by its tuple, both ways round.
line=$(ctl list -p tcp 2>/dev/null | head -1)
sport=$(echo "$line" | grep -o 'sport=[0-9]*' | head -1 | cut -d= -f2)
r=$(ctl get -p tcp --src "$V4_C" --dst "$V4_S" --sport "$sport" --dport "$PORT")
expect "get: the flow's conntrack line" "$r" "$line"
r=$(ctl get -p tcp --src "$V4_S" --dst "$V4_C" --sport "$PORT" --dport "$sport")
expect "get: found from the reply direction too" "$r" "$line"
r=$(ctl -o json get -p tcp --src "$V4_C" --dst "$V4_S" --sport "$sport" --dport "$PORT")
check "get -o json: one object with the tuple" python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["proto"] == "tcp" and o["sport"] == int(sys.argv[2]), o
' "$r" "$sport"
uport=$(ctl list -p udp -f ipv6 2>/dev/null | grep -o 'sport=[0-9]*' | head -1 | cut -d= -f2)
r=$(ctl get -p udp --src "$V6_C" --dst "$V6_S" --sport "$uport" --dport "$PORT")
check "get: an IPv6 UDP flow" grep -q "^udp      17 .* src=$V6_C dst=$V6_S sport=$uport dport=$PORT" <<<"$r"
id=$(ctl list -p icmp 2>/dev/null | grep -o ' id=[0-9]*' | head -1 | cut -d= -f2)
r=$(ctl get -p icmp --src "$V4_C" --dst "$V4_S" --icmp-id "$id")
check "get: an ICMP echo flow by id" grep -q "^icmp     1 .* type=8 code=0 id=$id " <<<"$r"
r=$(ctl get -p tcp --src "$V4_C" --dst "$V4_S" --sport 1 --dport 2 2>&1)
expect "get: no such flow, exit 1" "$?:$r" "1:nfqtrackctl: no such flow"
r=$(ctl get -p tcp --src "$V4_C" 2>&1)
expect "get: an incomplete tuple, exit 1" "$?:$r" "1:nfqtrackctl: get needs proto=, src= and dst="
r=$(ctl get --state ESTABLISHED 2>&1)
expect "get: a filter of list's, usage error" "$?:$r" "2:nfqtrackctl: --state does not go with get"

# flush: by filter, then everything; the client's connections carry on,
# picked up mid-stream.
r=$(ctl flush -p udp 2>&1)
expect "flush -p udp" "$?:$r" "0:nfqtrackctl: 3 flow entries have been deleted."
expect "only the UDP flows went" "$(ctl count)" 4
expect "none is left" "$(ctl list -p udp 2>/dev/null | wc -l)" 0
expect "flows_flushed counted" "$(counter flows_flushed)" 3
r=$(ctl -o json flush)
expect "flush everything, -o json" "$r" '{"deleted": 4}'
expect "the table is empty" "$(ctl count)" 0
r=$(tcp_cmd echo 3000)
expect "the connections still work, picked up again" "$r" "echo ok=3 fail=0"
expect "their flows are back" "$(ctl count)" 3
check "the flush is logged" wait_syslog "flush: 4 flows removed by request\$"

# config: what nfqtrackd -t prints for the same file.
expect "config is nfqtrackd -t's" "$(ctl config)" \
	"$("$NFQTRACKD" -t -c "$T/nfqtrack.conf" | sed 1d)"

# reload: done, or refused with the problem and the old settings kept.
write_conf "$T/nfqtrack.conf" <<<"max_flows = 200"
r=$(ctl reload)
expect "reload: done" "$?:$r" "0:reloaded $T/nfqtrack.conf"
expect "reload: in force" "$(counter flows_max)" 200
printf 'max_flows = 300\non_full = sometimes\n' | write_conf "$T/nfqtrack.conf"
r=$(ctl reload 2>&1)
expect "reload: a bad file, exit 1 with FILE:LINE" "$?:$r" \
	"1:nfqtrackctl: $T/nfqtrack.conf:4: on_full: 'sometimes' is not drop, early_drop or evict_idle; reload failed: 1 problem in $T/nfqtrack.conf; the running configuration stays in force"
expect "reload: the running configuration stays" "$(counter flows_max)" 200
expect "reload: counted" "$(counter reload_errors)" 1
r=$(ctl reload extra 2>&1)
expect "reload takes no arguments" "$?" 2

ctl frobnicate >/dev/null 2>&1
expect "unknown command: usage error" "$?" 2
"$NFQTRACKCTL" -s "$T/nowhere" count >/dev/null 2>&1
expect "no daemon: exit 3" "$?" 3

tcp_done
check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
