#!/bin/bash
# Agreement with the kernel's connection tracker on the same packets.
#
# Each capture is rewritten for the wire by tests/bin/pcap2wire (Ethernet
# to the tracker's MAC, other link headers and VLAN tags gone, truncated
# packets padded, TTLs raised so that forwarding passes every packet on,
# loopback addresses made routable), then replayed in real time
# by tcpreplay into a network namespace whose kernel tracks connections and
# forwards everything into a sink namespace: the kernel confirms a
# connection only once a packet leaves its routing, so forwarding is what
# puts every flow into its table. conntrack -L there is then compared,
# flow by flow, with nfqtrackd --replay --dump on the same rewritten file:
# state, flags and presence; then the per-direction packet and byte
# counters (nf_conntrack_acct = 1 against accounting = yes) and the
# seconds left, within 2 s. Flows the kernel never confirms because its
# IP layer drops their packets first (martian addresses, IPv4 options it
# refuses: never queued live either) are counted apart, by name.
#
# First comes a synthetic capture written by tests/agree/synth.py, one
# flow per case where the two trackers once differed; it needs no corpus,
# and every one of its flows must agree in every way.
#
#   tests/agree/run.sh [CAPTURE...]   default: the synthetic capture and
#                                     the list below, from $CORPUS
#                                     (../shared/corpus)
#   NFQTRACKD=path (another build, to measure before and after),
#   AGREE_JOBS=4 (captures at once), AGREE_MAX_SECONDS=30 (longer
#   captures are left out, as real-time replay takes their length),
#   AGREE_CHECKSUM=0 (the router's nf_conntrack_checksum; 1 is the
#   kernel's default, under which packets with bad checksums are invalid
#   to it while nfqtrackd, which does not check them, takes them)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${CORPUS:-$(cd "$top/.." && pwd)/shared/corpus}
jobs=${AGREE_JOBS:-4}
max_seconds=${AGREE_MAX_SECONDS:-30}
checksum=${AGREE_CHECKSUM:-0}
nfqtrackd=${NFQTRACKD:-$top/src/nfqtrackd}
out=$top/tests/out/agree

if [ "$(id -u)" != 0 ]; then
	echo "kernel agreement: skipped: needs root (network namespaces)"
	exit 0
fi
for tool in tcpreplay conntrack python3 "$top/tests/bin/pcap2wire"; do
	command -v $tool >/dev/null || {
		echo "kernel agreement: $tool is missing: run make deps" >&2
		exit 1
	}
done

rm -rf "$out"
mkdir -p "$out"

# The synthetic capture: a flow for each case where the trackers once
# differed (tests/agree/synth.py), always first, in any clone.
synth=$out/synthetic.pcap
python3 "$top/tests/agree/synth.py" "$synth" >"$out/synthetic.cases" || exit 1
# The corpus' traces and the synthetic capture are compared alike: state,
# flags, presence, then counters (nf_conntrack_acct against accounting)
# and seconds left.
printf 'accounting = yes\n' >"$out/nfqtrack.conf"

traces=("$@")
if [ ${#traces[@]} -eq 0 ] && [ ! -d "$corpus" ]; then
	echo "kernel agreement: no corpus at $corpus: the synthetic cases only"
	traces=("$synth")
elif [ ${#traces[@]} -eq 0 ]; then
	cd "$corpus" || exit 1
	traces=(
		zeek/echo-connections.pcap
		pcapplusplus/PcapExamples/example.pcap
		ndpi/teams.pcap
		ndpi/synscan.pcap
		pcapplusplus/pcap_examples/http-packets.pcap
		pcapplusplus/PcapExamples/three_http_streams.pcap
		pcapplusplus/PcapExamples/four_ipv6_http_streams.pcap
		pcapplusplus/PcapExamples/one_*.pcap
		pcapplusplus/PcapExamples/unidirectional_tcp_stream_with_missing_packet.pcap
		zeek/tcp/*.pcap
		zeek/icmp/*.pcap
		suricata-verify/tcp-*/*.pcap
		suricata-verify/firewall/*/*.pcap
		suricata-verify/bug-6244-*/*.pcap
		suricata-verify/bug-7264-*/*.pcap
		suricata-verify/alert-testmyids-midstream*/*.pcap
		suricata-verify/eve-overlap-payload-*/*.pcap
	)
	traces=("$synth" "${traces[@]/#/$corpus/}")
fi

# agree_one N CAPTURE: writes $out/N.result ("name flows agree ...").
agree_one() {
	local n=$1 cap=$2 name a b c mac cmac secs link res
	name=${cap#"$corpus"/}
	name=${name#"$out"/}
	a=nfqt-ag$$-$n-a b=nfqt-ag$$-$n-b c=nfqt-ag$$-$n-c
	local dir=$out/$n
	mkdir -p "$dir"
	echo "$cap" >"$dir/capture"
	# shellcheck disable=SC2064
	trap "ip netns del $a 2>/dev/null; ip netns del $b 2>/dev/null; ip netns del $c 2>/dev/null" RETURN

	read -r link secs < <("$nfqtrackd" --replay "$cap" 2>/dev/null |
		awk '/^replay_linktype/ { l = $2 } /^replay_trace_seconds/ { s = $2 } END { print l, s }')
	if [ -z "$secs" ] || awk -v s="$secs" -v m="$max_seconds" 'BEGIN { exit !(s > m) }'; then
		echo "$name skipped: ${secs:-?} s long (AGREE_MAX_SECONDS=$max_seconds)" >"$dir/result"
		return
	fi
	ip netns add "$a" && ip netns add "$b" && ip netns add "$c" || return
	ip link add va netns "$a" type veth peer name vb netns "$b"
	ip link add vs netns "$b" type veth peer name vc netns "$c"
	for l in "$a va" "$b vb" "$b vs" "$c vc"; do
		set -- $l
		# big enough for what captures hold (TSO, jumbo frames)
		ip -n "$1" link set "$2" mtu 65535 up
	done
	mac=$(ip -n "$b" -br link show vb | awk '{ print $3 }')
	cmac=$(ip -n "$c" -br link show vc | awk '{ print $3 }')
	ip netns exec "$b" sysctl -qw net.netfilter.nf_conntrack_checksum="$checksum" \
		net.netfilter.nf_conntrack_acct=1 \
		net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.vb.rp_filter=0 \
		net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.igmp_max_memberships=100000
	ip -n "$b" addr add 10.255.255.1/30 dev vs
	ip -n "$b" route add default via 10.255.255.2 dev vs
	ip -n "$b" neigh replace 10.255.255.2 lladdr "$cmac" dev vs nud permanent
	ip -n "$b" -6 route add default via fe80::2 dev vs
	ip -n "$b" -6 neigh replace fe80::2 lladdr "$cmac" dev vs nud permanent
	for ipt in iptables ip6tables; do
		ip netns exec "$b" $ipt -t mangle -A PREROUTING \
			-m conntrack --ctstate NEW -j ACCEPT
		# Whatever the router would send itself (a RST or an ICMP
		# error from a local address it owns, a group report) goes
		# before its conntrack sees it: the capture's packets only.
		ip netns exec "$b" $ipt -t raw -A OUTPUT -j DROP
	done
	if ! "$top/tests/bin/pcap2wire" "$cap" "$dir/wire.pcap" "$mac" \
		2>"$dir/pcap2wire.log"; then
		echo "$name skipped: $(cat "$dir/pcap2wire.log")" >"$dir/result"
		return
	fi
	"$nfqtrackd" -c "$out/nfqtrack.conf" --replay "$dir/wire.pcap" \
		--dump >"$dir/ours.txt" \
		2>"$dir/ours.stats"
	# A router forwards no multicast and no link-local traffic; it takes
	# them in when it is their destination. So it joins the groups the
	# capture sends to and owns the IPv6 link-local addresses it talks
	# to: such flows are then confirmed on local input. (A namespace
	# joins 20 IPv4 groups at most unless told otherwise: see the
	# igmp_max_memberships above.)
	python3 "$top/tests/agree/compare.py" --local "$dir/ours.txt" |
		while read -r what addr; do
			case $what in
			join) ip -n "$b" addr add "$addr" dev vb autojoin ;;
			own) ip -n "$b" addr add "$addr" dev vb nodad ;;
			esac
		done 2>"$dir/local.log"
	# Real time, but tcpreplay falls behind under load: zeek's
	# echo-connections (82,582 packets in 6.5 s) took 21 s on two busy
	# cores. A replay cut short leaves the kernel half the capture.
	limit=$((${secs%.*} * 5 + 60))
	timeout "$limit" ip netns exec "$a" tcpreplay -q -i va \
		"$dir/wire.pcap" >"$dir/tcpreplay.log" 2>&1
	[ $? -eq 124 ] && echo "replay cut short at $limit s" >"$dir/cut"
	sleep 0.3
	ip netns exec "$b" conntrack -L >"$dir/kernel.txt" 2>/dev/null
	# what the kernel's IP layer refused before conntrack could confirm
	ip netns exec "$b" nstat -az 2>/dev/null |
		grep -E 'In(Hdr|Addr)Errors|InDiscards|InTruncated|ReasmFails' \
			>"$dir/nstat.txt"
	python3 "$top/tests/agree/compare.py" --wire "$dir/wire.pcap" \
		"$dir/kernel.txt" "$dir/ours.txt" >"$dir/compare.txt"
	echo "$name $(head -1 "$dir/compare.txt")" >"$dir/result"
}

n=0
for cap in "${traces[@]}"; do
	[ -f "$cap" ] || continue
	n=$((n + 1))
	agree_one "$n" "$cap" &
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
done
wait

total=0 agreed=0 timing=0 mcast=0 mart=0 ipopt=0 failed=0
sboth=0 scounted=0 scounters=0 stimer=0
field() { echo "$1" | sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }
printf '%-58s %6s %6s %6s %8s %6s\n' capture flows agree % counters timer
for i in $(seq 1 "$n"); do
	r=$out/$i/result
	if [ ! -f "$r" ]; then
		echo "$(cat "$out/$i/capture"): no result (namespace setup failed?)"
		failed=$((failed + 1))
		continue
	fi
	line=$(cat "$r")
	case $line in
	*skipped*)
		echo "$line"
		continue
		;;
	esac
	name=${line%% *}
	[ -f "$(dirname "$r")/cut" ] &&
		echo "$name: $(cat "$(dirname "$r")/cut") (load): run it again alone"
	flows=$(field "$line" flows)
	agree=$(field "$line" agree)
	t=$(field "$line" udp_timing)
	m=$(field "$line" multicast)
	x=$(field "$line" martian)
	o=$(field "$line" ip_options)
	both=$(field "$line" both)
	counted=$(field "$line" counted)
	counters=$(field "$line" counters)
	timer=$(field "$line" timer)
	total=$((total + flows))
	agreed=$((agreed + agree))
	timing=$((timing + t))
	mcast=$((mcast + m))
	mart=$((mart + x))
	ipopt=$((ipopt + o))
	sboth=$((sboth + both))
	scounted=$((scounted + counted))
	scounters=$((scounters + counters))
	stimer=$((stimer + timer))
	cmp=$(dirname "$r")/compare.txt
	if [ "$name" = synthetic.pcap ]; then
		# Built for the test: every case must agree in every way.
		if [ "$agree" -ne "$flows" ] || [ "$counted" -ne "$both" ] ||
			[ "$counters" -ne "$counted" ] || [ "$timer" -ne "$both" ]; then
			failed=$((failed + 1))
			echo "synthetic cases that differ:"
			sed -n '2,$p' "$cmp" | awk 'NR == FNR { n[$1] = $2; next }
				{ for (p in n) if (index($0, "=" p " ")) {
					print n[p] ": " $0; next } print }' \
				"$out/synthetic.cases" -
		fi
	elif [ $((agree + t + m + x + o)) -ne "$flows" ]; then
		failed=$((failed + 1))
		grep -v '^counters\|^timer' "$cmp" | sed -n '2,$p' | head -20
	fi
	printf '%-58s %6d %6d %6s %8s %6s\n' "$name" "$flows" "$agree" \
		"$(awk -v a="$agree" -v f="$flows" 'BEGIN { printf "%.1f", f ? 100 * a / f : 100 }')" \
		"$counters/$counted" "$timer/$both"
done
printf 'kernel agreement: %d of %d flows (%s%%) in state, flags and presence; of the %d flows both list, counters agree on %d of %d counted, seconds left (within 2 s) on %d; apart: %d UDP flows at the 2 s mark, %d multicast flows the test kernel cannot confirm, %d flows of martian addresses its IP layer refuses, %d flows of packets whose IPv4 options it refuses; details in %s\n' \
	"$agreed" "$total" \
	"$(awk -v a="$agreed" -v f="$total" 'BEGIN { printf "%.2f", f ? 100 * a / f : 100 }')" \
	"$sboth" "$scounters" "$scounted" "$stimer" \
	"$timing" "$mcast" "$mart" "$ipopt" "$out"
# Every flow must agree, but for replay timing at the UDP stream mark,
# which may touch at most 1% of the flows, multicast flows the test
# network's kernel never confirms (it joins no group and routes none), and
# martian addresses its IP layer drops before conntrack confirms anything
# (on a host, those never reach an NFQUEUE rule either), and packets whose
# IPv4 options it refuses (malformed, or a source route), alike. The synthetic
# cases must agree in counters and seconds left too.
if [ "$failed" -ne 0 ] || [ $((timing * 100)) -gt "$total" ]; then
	echo "kernel agreement: FAILED ($failed captures disagree)"
	exit 1
fi
