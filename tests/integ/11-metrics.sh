#!/bin/bash
# Prometheus metrics: GET /metrics from the daemon's own loop, parsed by the
# official client's parser; its values are `nfqtrackctl stats`'s; HEAD,
# POST (405), an unknown path (404) and / answer as they should;
# `nfqtrackctl metrics` prints the same text, listener or not. Hostile
# clients (50 idle connections, one byte a second, 1 MB of garbage) cost
# connection slots only: packets pass and /metrics answers all along, and
# idle clients are dropped after 5 s. A changed metrics_listen on reload is
# a warning, the old listener stays; one that cannot be bound stops the
# start with the address and the reason.
. "$(dirname "$0")/lib.sh"

MPORT=9469
HTTP_PER_ADDRESS=4 # HTTP_PER_ADDRESS_MAX in include/http.h
URL=http://$V4_S:$MPORT
HERE=$TOP/tests/integ
# The Debian package's parser.
python_with prometheus_client.parser python3-prometheus-client
if ! command -v curl >/dev/null; then
	echo "# $TEST: curl is missing: run 'make deps' (make check does)"
	exit 1
fi

ctl() { "$NFQTRACKCTL" -s "$CTL" "$@"; }
prom() { $PY "$HERE/prom.py" "$@"; }
# scrape CURL_ARGS...: from the server's namespace, over lo, which is not
# queued: a scrape moves no packet counter.
scrape() { ip netns exec "$NS_S" curl -sS --max-time 5 "$@"; }
# From the client's namespace: through the queue, as a remote scraper.
bad() { ip netns exec "$NS_C" timeout 30 $PY "$HERE/badclients.py" "$@"; }
packets_pass() {
	quiet ip netns exec "$NS_C" ping -q -c 3 -i 0.2 -W 1 "$V4_S" &&
		[ "$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 10 -f 1 -w 1000)" = "udp sent=10 recv=10" ]
}

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
metrics_listen = $V4_S:$MPORT
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server
check "the start line names the listener" wait_syslog "metrics on http://$V4_S:$MPORT;"

r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 20 -f 4 -w 1000)
expect "UDP through the queue" "$r" "udp sent=20 recv=20"
check "ICMP through the queue" quiet ip netns exec "$NS_C" ping -q -c 3 -i 0.2 -W 1 "$V4_S"

# GET /metrics: status, type, and the official parser's reading.
code=$(scrape -D "$T/head1" -o "$T/m1" -w '%{http_code}' "$URL/metrics")
expect "GET /metrics: 200" "$code" 200
expect "content type" "$(grep -i '^content-type:' "$T/head1" | tr -d '\r')" \
	"Content-Type: text/plain; version=0.0.4; charset=utf-8"
n=$(prom check "$T/m1")
expect_ge "prometheus_client parses it: series" "$n" 70

# The values are the stats', read just before and just after.
for try in 1 2 3; do
	ctl -o json stats >"$T/s1.json"
	scrape -o "$T/m2" "$URL/metrics"
	ctl -o json stats >"$T/s2.json"
	r=$(prom stats "$T/s1.json" "$T/m2" "$T/s2.json" 2>&1) && break
done
check "every mirrored counter matches nfqtrackctl stats ($r compared)" \
	quiet prom stats "$T/s1.json" "$T/m2" "$T/s2.json"
expect "nfqtrack_flows: 4 UDP + 1 ICMP" "$(prom value "$T/m2" nfqtrack_flows)" 5
expect "UDP flows by protocol" \
	"$(prom value "$T/m2" 'nfqtrack_flows_by_protocol{protocol="udp"}')" 4
expect "flows created" "$(prom value "$T/m2" nfqtrack_flows_created_total)" 5
expect "no drop for want of room" \
	"$(prom value "$T/m2" 'nfqtrack_drops_total{reason="table_full"}')" 0
start=$(prom value "$T/m2" nfqtrack_start_time_seconds)
now=$(date +%s)
check "start time: in the last 10 minutes ($start)" \
	test "$start" -le "$now" -a "$start" -ge $((now - 600))

# nfqtrackctl metrics: the same text, parsed the same. The link's own
# IPv6 traffic (neighbour discovery, MLD) may pass the queue between two
# reads: they are taken back to back, up to three times, as above.
for try in 1 2 3; do
	scrape -o "$T/m4" "$URL/metrics"
	ctl metrics >"$T/m3"
	rc=$?
	[ $rc = 0 ] && prom same "$T/m4" "$T/m3" >/dev/null 2>&1 && break
done
expect "nfqtrackctl metrics: exit 0" "$rc" 0
check "nfqtrackctl metrics: the same series and values as GET" \
	quiet prom same "$T/m4" "$T/m3"
r=$(ctl metrics extra 2>&1)
expect "metrics takes no arguments" "$?" 2

# HEAD, POST, unknown path, /.
scrape -I -o "$T/head2" "$URL/metrics"
expect "HEAD /metrics: 200" "$(head -1 "$T/head2" | tr -d '\r')" "HTTP/1.1 200 OK"
len=$(awk -F': ' 'tolower($1) == "content-length" { print $2 }' "$T/head2" | tr -d '\r')
expect_ge "HEAD: GET's length" "$len" 4000
expect "POST /metrics: 405" "$(scrape -o /dev/null -w '%{http_code}' -d x "$URL/metrics")" 405
scrape -D "$T/head3" -o /dev/null -X DELETE "$URL/metrics"
expect "405 says what is allowed" "$(grep -i '^allow:' "$T/head3" | tr -d '\r')" "Allow: GET, HEAD"
expect "GET /nothing: 404" "$(scrape -o /dev/null -w '%{http_code}' "$URL/nothing")" 404
expect "GET /metrics/: 404" "$(scrape -o /dev/null -w '%{http_code}' "$URL/metrics/")" 404
check "GET / points at /metrics" grep -q 'href="/metrics"' <(scrape "$URL/")

# Hostile clients, from the client's side (through the queue): they take
# slots, never the loop.
bad idle "$V4_S" "$MPORT" 50 7 >"$T/idle.out" &
IDLE=$!
PIDS+=("$IDLE")
sleep 1.5
check "packets pass while 50 idle connections are held" packets_pass
t0=$(date +%s%N)
code=$(scrape -o "$T/m4" -w '%{http_code}' "$URL/metrics")
t1=$(date +%s%N)
expect "and /metrics answers" "$code" 200
check "at once ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 1000
wait "$IDLE"
forget_pid "$IDLE"
r=$(cat "$T/idle.out")
c=$(field connected "$r")
expect_ge "idle clients: some connected ($r)" "$c" "$HTTP_PER_ADDRESS"
expect_ge "those past the limit per address were hung up on at once" \
	"$(field early "$r")" $((c - HTTP_PER_ADDRESS))
expect "every idle client was dropped within 7 s" "$(field closed "$r")" "$c"

bad slow "$V4_S" "$MPORT" 6 >"$T/slow.out" &
SLOW=$!
PIDS+=("$SLOW")
sleep 1
check "packets pass beside a client sending a byte a second" packets_pass
expect "/metrics answers meanwhile" "$(scrape -o /dev/null -w '%{http_code}' "$URL/metrics")" 200
wait "$SLOW"
forget_pid "$SLOW"
check "the slow client went on unharmed ($(cat "$T/slow.out"))" grep -q '^slow sent=6 ' "$T/slow.out"

r=$(bad garbage "$V4_S" "$MPORT" 1048576)
check "1 MB of garbage: refused or hung up on ($r)" \
	grep -qE '^garbage status=(4[0-9][0-9]|closed)$' <<<"$r"
check "packets pass after it" packets_pass
code=$(scrape -o "$T/m5" -w '%{http_code}' "$URL/metrics")
expect "/metrics after all that" "$code" 200
check "and still parses" quiet prom check "$T/m5"
check "the daemon is still there" kill -0 "$DAEMON_PID"

# A reload cannot move the listener: a warning, in the reply too.
write_conf "$T/nfqtrack.conf" <<EOF
metrics_listen = $V4_S:$((MPORT + 1))
EOF
r=$(ctl reload)
expect "reload with a new metrics_listen: done, with a warning" "$?:$r" \
	"0:reloaded $T/nfqtrack.conf
warning: metrics_listen changed: takes effect at restart; staying on $V4_S:$MPORT"
check "the warning is logged" wait_syslog "warning nfqtrackd\[[0-9]+\]: metrics_listen changed: takes effect at restart"
expect "config shows the listener in force" \
	"$(ctl config | grep '^metrics_listen')" "metrics_listen = $V4_S:$MPORT"
expect "the old address still answers" \
	"$(scrape -o /dev/null -w '%{http_code}' "$URL/metrics")" 200
scrape -o /dev/null "http://$V4_S:$((MPORT + 1))/metrics" 2>/dev/null
expect "the new one does not (curl: connection refused)" "$?" 7
scrape -o "$T/m6" "$URL/metrics"
expect "reloads counted" "$(prom value "$T/m6" nfqtrack_config_reloads_total)" 1

# A second daemon in the same namespace, on queue 1: its address is taken
# (exit 1, the address and the reason), not local, or off (nfqtrackctl
# metrics works all the same).
second_conf() {
	printf 'queue = 1\nctl_socket = %s\nsyslog_socket = %s\nmetrics_listen = %s\n' \
		"$T/run/ctl2" "$T/log.sock" "$1" >"$T/second.conf"
}
second() {
	second_conf "$1"
	ip netns exec "$NS_S" timeout 10 "$NFQTRACKD" -e -c "$T/second.conf" 2>&1
}
r=$(second "$V4_S:$MPORT")
expect "an address in use: exit 1" "$?" 1
check "naming the address and errno" grep -q "metrics_listen: cannot listen on $V4_S:$MPORT: Address already in use" <<<"$r"
r=$(second "192.0.2.1:$MPORT")
check "an address not ours: named, with errno" grep -q "metrics_listen: cannot listen on 192.0.2.1:$MPORT: Cannot assign requested address" <<<"$r"
second_conf off
ip netns exec "$NS_S" "$NFQTRACKD" -e -c "$T/second.conf" 2>>"$T/second.err" &
SECOND=$!
PIDS+=("$SECOND")
for _ in $(seq 100); do
	"$NFQTRACKCTL" -s "$T/run/ctl2" version >/dev/null 2>&1 && break
	sleep 0.05
done
"$NFQTRACKCTL" -s "$T/run/ctl2" metrics >"$T/m7"
expect "metrics_listen = off: nfqtrackctl metrics works" "$?" 0
check "and parses" quiet prom check "$T/m7"
stop_pid "$SECOND"

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
done_testing
