#!/bin/bash
# The soak (make soak, not part of check): nfqtrackd for SOAK_SECONDS
# (default 600) under mixed traffic with its table held full, sampled every
# SAMPLE seconds for its memory, its file descriptors and its counters.
#
# The network is the integration tests' (tests/integ/lib.sh, flood.sh): a
# client and an attacker namespace, each joined to the server's, whose
# traffic on both links goes through queue 0. The table is small
# (max_flows = 2000, on_full = early_drop) and the traffic wants more:
#   - the client holds HELD TCP connections (assured: never evicted), opens
#     CHURN_RATE new ones a second, each closed at once and so left in
#     TIME_WAIT for 120 s, sends DNS-like queries over IPv4 and IPv6 from
#     new ports (answered: unassured UDP flows), and pings over both;
#   - the attacker floods from one address (10.66.0.1), which the
#     per-source limits hold to max_new_per_source (30/s) and, when its
#     flows live long enough, max_flows_per_source (400: the client, whose
#     flows early_drop takes as fast, needs some 300), and from forged
#     sources in 10.66.128.0/17, a flow each, more sources than the source
#     table holds; these unanswered flows are what early_drop takes first.
# Every traffic loop is bounded in count and in time, and stops at the
# deadline. At the end it prints the samples and a summary, and asserts:
# the RSS flat after the warm-up (the last sample within 2% or 1 MiB of
# the one at WARMUP seconds), the fd count constant, packets == accepted +
# dropped in every sample, drops only for the limits' reasons, the client's
# held connections all alive, its new connections and queries served, the
# daemon alive throughout and exiting 0 on SIGTERM.
. "$(dirname "$0")/../integ/lib.sh"
. "$(dirname "$0")/../integ/flood.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE=10          # seconds between samples
WARMUP=60          # the RSS baseline: the sample at this time
MAX_FLOWS=2000
HELD=50            # connections the client keeps open throughout
CHURN_RATE=5       # new client connections a second, each closed at once
QUERY_INTERVAL=200 # ms between the client's queries (IPv4 and IPv6 each)
ATTACK_RATE=500    # datagrams a second from the attacker's one address
SPOOF_RATE=60      # datagrams a second from forged sources
ATTACK_SRC=10.66.0.1/32
SPOOF_SRC=10.66.128.0/17
ALLOWED_DROPS="table_full proto_cap source_limit source_rate"
export TCP_CMD_WAIT=60

if [ "$SOAK_SECONDS" -lt $((WARMUP + 2 * SAMPLE)) ] ||
	[ "$SOAK_SECONDS" -gt 86000 ]; then
	echo "# soak: SOAK_SECONDS must be $((WARMUP + 2 * SAMPLE)) to 86000"
	exit 2
fi

# every_until DEADLINE NAME COMMAND...: run COMMAND (itself bounded in
# time) again and again until SECONDS reaches DEADLINE, its output
# appended to $T/NAME.out. Started in the background; on SIGTERM it ends
# the COMMAND under way, so that cleanup leaves nothing behind.
every_until() {
	local deadline=$1 name=$2 child=
	shift 2
	trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 0' TERM
	while [ "$SECONDS" -lt "$deadline" ]; do
		"$@" >>"$T/$name.out" 2>&1 &
		child=$!
		wait "$child"
		child=
	done
}

# background NAME COMMAND...: every_until the deadline, in the background.
background() {
	every_until "$DEADLINE" "$@" &
	PIDS+=($!)
	LOOPS+=($!)
}

# remaining [MAX]: seconds left before the deadline, at most MAX, at
# least 1.
remaining() {
	local r=$((DEADLINE - SECONDS))
	[ "$r" -gt "${1:-$r}" ] && r=$1
	[ "$r" -lt 1 ] && r=1
	echo "$r"
}

flood_for() {
	local src=$1 rate=$2 secs
	secs=$(remaining 60)
	ip netns exec "$NS_A" "$FLOWGEN" flood -m udp -s "$src" -d "$V4_S" \
		-p 10000-60000 -r "$rate" -t "$secs" -n $((rate * secs))
}

queries_for() {
	local n=$(($(remaining 30) * 1000 / QUERY_INTERVAL))
	ip netns exec "$NS_C" "$FLOWGEN" udp -d "$1" -p "$PORT" -n "$n" \
		-f "$n" -w 500 -i "$QUERY_INTERVAL" -t 60
}

ping_for() {
	local secs
	secs=$(remaining 30)
	ip netns exec "$NS_C" ping -q -n -i 0.2 -c $((secs * 5)) -w $((secs + 5)) "$1"
}

# sum_field NAME FILE: the sum of NAME=X over the lines of FILE.
sum_field() {
	grep -o "\b$1=[0-9]*" "$2" 2>/dev/null | awk -F= '{ n += $2 } END { print n + 0 }'
}

# ping_totals FILE: "received/transmitted" over all the runs in FILE.
ping_totals() {
	awk '/packets transmitted/ { t += $1; r += $4 } END { print r + 0 "/" t + 0 }' "$1"
}

setup_net || { fail "network setup"; done_testing; }
setup_attacker || { fail "attacker setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }

write_conf "$T/soak.conf" <<EOF
max_flows = $MAX_FLOWS
on_full = early_drop
max_flows_per_source = 400
max_new_per_source = 30
max_new_per_source_burst = 60
EOF
start_daemon "$T/soak.conf" || { fail "daemon start"; done_testing; }

LIFETIME=$((SOAK_SECONDS + 120))
ip netns exec "$NS_S" "$FLOWGEN" serve -p "$PORT" -t "$LIFETIME" >/dev/null &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
sleep 0.2
coproc TCPC { ip netns exec "$NS_C" "$FLOWGEN" client -d "$V4_S" -p "$PORT" -t "$LIFETIME"; }
PIDS+=("$TCPC_PID")
r=$(tcp_cmd open "$HELD" 3000)
expect "$HELD connections held from the start" "$r" "open ok=$HELD fail=0"

START=$SECONDS
DEADLINE=$((START + SOAK_SECONDS))
LOOPS=()
background attack flood_for "$ATTACK_SRC" "$ATTACK_RATE"
background spoof flood_for "$SPOOF_SRC" "$SPOOF_RATE"
background query4 queries_for "$V4_S"
background query6 queries_for "$V6_S"
background ping4 ping_for "$V4_S"
background ping6 ping_for "$V6_S"

# The client's churn paces the samples: SAMPLE seconds of new connections,
# an echo on the held ones, then the sample.
printf '# %5s %9s %4s %5s %5s %10s %10s %8s %8s %8s %8s %8s %6s %6s\n' \
	t rss_kib fds flows full% packets accepted dropped src_rate \
	src_lim tbl_full evicted churn held >"$T/samples"
declare -A DROP_SEEN
NEW_OK=0 NEW_N=0 LOST_MAX=0 ACCOUNT_BAD=0 SAMPLES=0 FULL_MIN=100 FDS_SEEN=()
RSS_FIRST='' RSS_WARM='' RSS_WARM_T='' RSS_LAST=''
while [ "$SECONDS" -lt "$DEADLINE" ]; do
	r=$(tcp_cmd churn $((CHURN_RATE * SAMPLE)) "$CHURN_RATE" 3000)
	churn_ok=$(field ok "$r")
	churn_ok=${churn_ok:-0}
	NEW_OK=$((NEW_OK + churn_ok))
	NEW_N=$((NEW_N + CHURN_RATE * SAMPLE))
	r=$(field ok "$(tcp_cmd echo 3000)")
	lost=$((HELD - ${r:-0}))
	[ "$lost" -gt "$LOST_MAX" ] && LOST_MAX=$lost
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		fail "nfqtrackd died at $((SECONDS - START)) s"
		break
	fi
	snapshot
	t=$((SECONDS - START))
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status")
	fds=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
	SAMPLES=$((SAMPLES + 1))
	[ -z "$RSS_WARM" ] && [ "$t" -ge "$WARMUP" ] && RSS_WARM=$rss RSS_WARM_T=$t
	[ -z "$RSS_FIRST" ] && RSS_FIRST=$rss
	RSS_LAST=$rss
	FDS_SEEN+=("$fds")
	full=$((${S[flows]:-0} * 100 / MAX_FLOWS))
	[ "$t" -ge "$WARMUP" ] && [ "$full" -lt "$FULL_MIN" ] && FULL_MIN=$full
	if [ "${S[packets]:-x}" != "$((${S[accepted]:--1} + ${S[dropped]:--1}))" ]; then
		ACCOUNT_BAD=$((ACCOUNT_BAD + 1))
		echo "# at $t s: packets=${S[packets]:-} accepted=${S[accepted]:-} dropped=${S[dropped]:-}"
	fi
	for k in "${!S[@]}"; do
		case $k in dropped_*) [ "${S[$k]}" -gt 0 ] && DROP_SEEN[${k#dropped_}]=${S[$k]} ;; esac
	done
	printf '  %5d %9d %4d %5d %5d %10d %10d %8d %8d %8d %8d %8d %6s %6s\n' \
		"$t" "$rss" "$fds" "${S[flows]}" "$full" "${S[packets]}" \
		"${S[accepted]}" "${S[dropped]}" "${S[dropped_source_rate]}" \
		"${S[dropped_source_limit]}" "${S[dropped_table_full]}" \
		"${S[flows_evicted]}" "$churn_ok/$((CHURN_RATE * SAMPLE))" \
		"$((HELD - lost))/$HELD" >>"$T/samples"
	echo "# soak: $t/$SOAK_SECONDS s: rss $rss KiB, $fds fds, ${S[flows]} flows," \
		"${S[dropped]} dropped, ${S[flows_evicted]} evicted"
done
for p in "${LOOPS[@]}"; do
	wait "$p"
	forget_pid "$p"
done
CPU=$(cpu_seconds "$DAEMON_PID")
snapshot
stop_daemon TERM

echo "# soak: $SOAK_SECONDS s, max_flows=$MAX_FLOWS, samples every $SAMPLE s"
cat "$T/samples"
QUERY_OK=$(($(sum_field recv "$T/query4.out") + $(sum_field recv "$T/query6.out")))
QUERY_N=$(($(sum_field sent "$T/query4.out") + $(sum_field sent "$T/query6.out")))
SUMMARY="packets=${S[packets]} pps=$((S[packets] / SOAK_SECONDS))"
SUMMARY="$SUMMARY accepted=${S[accepted]} dropped=${S[dropped]}"
for k in $(printf '%s\n' "${!S[@]}" | sort); do
	case $k in
	dropped_* | evicted_* | invalid_* | malformed_*)
		[ "${S[$k]}" -gt 0 ] && SUMMARY="$SUMMARY $k=${S[$k]}" ;;
	esac
done
echo "# summary: $SUMMARY"
echo "# summary: flows_created=${S[flows_created]} flows_expired=${S[flows_expired]}" \
	"flows_evicted=${S[flows_evicted]} flows_unsourced=${S[flows_unsourced]}" \
	"sources_full=${S[sources_full]} sources_reclaimed=${S[sources_reclaimed]}" \
	"kernel_queue_dropped=${S[kernel_queue_dropped]:-}" \
	"kernel_user_dropped=${S[kernel_user_dropped]:-}"
echo "# summary: rss first=${RSS_FIRST}KiB at_${RSS_WARM_T:-?}s=${RSS_WARM}KiB" \
	"last=${RSS_LAST}KiB; fds $(printf '%s\n' "${FDS_SEEN[@]}" | sort -un | paste -sd, -);" \
	"table full >= $FULL_MIN% after warm-up; daemon cpu ${CPU}s"
echo "# summary: client: new connections $NEW_OK/$NEW_N ($(pct "$NEW_OK" "$NEW_N")%)," \
	"queries $QUERY_OK/$QUERY_N ($(pct "$QUERY_OK" "$QUERY_N")%)," \
	"pings v4 $(ping_totals "$T/ping4.out") v6 $(ping_totals "$T/ping6.out")," \
	"held lost at most $LOST_MAX/$HELD; attacker sent" \
	"$(sum_field sent "$T/attack.out"), forged $(sum_field sent "$T/spoof.out")"

expect_ge "samples, the daemon alive at each" "$SAMPLES" $((SOAK_SECONDS / SAMPLE - 1))
expect "nfqtrackd exits 0 on SIGTERM" "$DAEMON_RC" 0
# RSS_WARM + 2% or + 1 MiB, whichever is more.
rss_max=$((${RSS_WARM:-0} + (${RSS_WARM:-0} / 50 > 1024 ? ${RSS_WARM:-0} / 50 : 1024)))
check "RSS flat after the warm-up (${RSS_WARM:-?} KiB at ${RSS_WARM_T:-?} s, $RSS_LAST KiB at the end, limit $rss_max)" \
	[ "${RSS_LAST:-0}" -le "$rss_max" ]
expect "fd count constant" "$(printf '%s\n' "${FDS_SEEN[@]}" | sort -un | paste -sd, -)" \
	"${FDS_SEEN[0]:-}"
expect "packets == accepted + dropped in every sample" "$ACCOUNT_BAD" 0
for reason in "${!DROP_SEEN[@]}"; do
	case " $ALLOWED_DROPS " in
	*" $reason "*) ok "drops for $reason (${DROP_SEEN[$reason]}), a limit's" ;;
	*) fail "drops for $reason (${DROP_SEEN[$reason]}): no limit explains them" ;;
	esac
done
expect_ge "the attacker's one address held by the per-source limits (drops)" \
	$((${S[dropped_source_rate]:-0} + ${S[dropped_source_limit]:-0})) 1
expect_ge "the table at least 90% full after the warm-up (lowest %)" "$FULL_MIN" 90
expect "the client's held connections all alive at every sample" "$LOST_MAX" 0
expect_pct_ge "the client's new connections succeed" "$NEW_OK" "$NEW_N" 99
expect_pct_ge "the client's queries are answered" "$QUERY_OK" "$QUERY_N" 99
TCPC_PID=${TCPC_PID:-}
tcp_done
stop_pid "$SERVER_PID"
done_testing
