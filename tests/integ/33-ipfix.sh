#!/bin/bash
# IPFIX export against real collectors: nfdump's nfcapd on an IPv4
# address and pmacct's nfacctd on an IPv6 one, in a namespace of their
# own behind the server (a link not queued). Real traffic with accounting
# = yes: TCP over IPv4 closed (TIME_WAIT, expiring: end of flow
# detected), TCP over IPv6 kept open (periodic records of
# ipfix_active_timeout, then the daemon's stop: forced end), UDP
# (expired: idle timeout), ICMP and ICMPv6 (flushed: forced end). The
# flows nfdump reads back (nfdump -o raw; the records of a flow summed)
# must be those of `nfqtrackctl list`, with the same packet and byte
# counts both ways, which are what the kernel's conntrack counted at the
# client's end (the traffic sent), and ping's exactly what ping sent;
# nfacctd, which reads no RFC 5103 reverse element, the original
# direction's. Without accounting, the records carry no counters.
# Templates are resent on schedule; a reload with a bad collector
# address fails with its file and line and changes nothing; one that
# adds a collector nobody listens on counts its lost records and leaves
# the others alone.
. "$(dirname "$0")/lib.sh"

for t in nfcapd nfdump nfacctd; do
	if ! command -v "$t" >/dev/null; then
		echo "# $TEST: $t is missing (Debian packages nfdump, pmacct: make deps)"
		exit 1
	fi
done

setup_net || { fail "network setup"; done_testing; }
# The kernel counts the same packets at the client's end (as in
# 06-list.sh): the traffic sent, by a tracker that is not ours.
for ipt in iptables ip6tables; do
	ip netns exec "$NS_C" $ipt -A OUTPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
	ip netns exec "$NS_C" $ipt -A INPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
done
ip netns exec "$NS_C" sysctl -qw net.netfilter.nf_conntrack_acct=1
# The collectors' namespace, reached from the server over a link of its
# own, outside the queue.
V4_A=10.232.0.1
V6_A=fd00:232::1
netns_add "$NS_A" &&
	netns_veth "$NS_A" veth-a "$NS_S" veth-x &&
	netns_addr "$NS_A" veth-a "$V4_A/24" "$V6_A/64" &&
	netns_addr "$NS_S" veth-x 10.232.0.2/24 fd00:232::2/64 ||
	{ fail "collectors' link"; done_testing; }

mkdir -p "$T/nf"
ip netns exec "$NS_A" nfcapd -b "$V4_A" -p 4739 -B 8000000 -t 3600 \
	-w "$T/nf" >"$T/nfcapd.log" 2>&1 &
NFCAPD=$!
PIDS+=("$NFCAPD")
cat >"$T/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: $V6_A
nfacctd_port: 4740
plugins: print[p]
aggregate[p]: src_host, dst_host, src_port, dst_port, proto
print_output[p]: csv
print_output_file[p]: $T/nfacctd.csv
print_output_file_append[p]: true
print_refresh_time[p]: 1
EOF
ip netns exec "$NS_A" nfacctd -f "$T/nfacctd.conf" >"$T/nfacctd.log" 2>&1 &
NFACCTD=$!
PIDS+=("$NFACCTD")

start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
accounting = yes
ipfix_collector = $V4_A:4739, [$V6_A]:4740
ipfix_template_interval = 1
ipfix_observation_domain = 17
ipfix_active_timeout = 2
timeout_tcp_time_wait = 3
timeout_udp = 3
timeout_udp_stream = 3
EOF
cp "$T/nfqtrack.conf" "$T/nfqtrack.conf.good"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
check "exporting to both (syslog)" wait_syslog "ipfix: exporting to \\[$V6_A\\]:4740"
start_server

tcp_client "$V4_S"
expect "3 IPv4 connections" "$(tcp_cmd open 3 3000)" "open ok=3 fail=0"
expect "carry data" "$(tcp_cmd echo 3000)" "echo ok=3 fail=0"
tcp_client "$V6_S" # the first closes its 3: TIME_WAIT
expect "2 IPv6 connections" "$(tcp_cmd open 2 3000)" "open ok=2 fail=0"
expect "carry data" "$(tcp_cmd echo 3000)" "echo ok=2 fail=0"
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 4 -f 2 -w 1000)
expect "UDP answered" "$r" "udp sent=4 recv=4"
check "ICMP: 3 echo requests answered" quiet ip netns exec "$NS_C" ping -q -c 3 -i 0.2 -W 1 "$V4_S"
check "ICMPv6: 2 echo requests answered" quiet ip netns exec "$NS_C" ping -6 -q -c 2 -i 0.2 -W 1 "$V6_S"
"$NFQTRACKCTL" -s "$CTL" -o json list >"$T/list1.json"
ip netns exec "$NS_C" conntrack -L >"$T/kernel" 2>/dev/null
expect "flows in the table" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/list1.json")" 9

# ICMP out now (forced end); UDP and the closed TCP expire (3 s) while
# the IPv6 connections carry more data across an active timeout (2 s).
check "flush ICMP" quiet "$NFQTRACKCTL" -s "$CTL" flush -p icmp
check "flush ICMPv6" quiet "$NFQTRACKCTL" -s "$CTL" flush -p icmpv6

# A bad collector: the reload fails, naming file and line; export goes on.
sed -i "s/^ipfix_collector = .*/ipfix_collector = $V4_A:4739, collector.example:4739/" "$T/nfqtrack.conf"
out=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "bad collector: reload fails" "$?" 1
line=$(grep -n '^ipfix_collector' "$T/nfqtrack.conf" | cut -d: -f1)
check "bad collector: file, line and address named" \
	grep -qF "$T/nfqtrack.conf:$line: ipfix_collector: 'collector.example:4739' is not ADDR:PORT" <<<"$out"
# A third collector nobody listens on: its records are counted lost (its
# ICMP port unreachable fails the next send), the others' go on.
cp "$T/nfqtrack.conf.good" "$T/nfqtrack.conf"
echo "ipfix_collector = [$V6_A]:4741" >>"$T/nfqtrack.conf"
check "reload adds a collector" quiet "$NFQTRACKCTL" -s "$CTL" reload
check "exporting to it (syslog)" wait_syslog "ipfix: exporting to \\[$V6_A\\]:4741"

sleep 2.5
expect "more data on IPv6" "$(tcp_cmd echo 3000)" "echo ok=2 fail=0"
sleep 2.5
"$NFQTRACKCTL" -s "$CTL" -o json list >"$T/list2.json"
expect "left in the table: the IPv6 connections" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/list2.json")" 2
snapshot
expect_ge "templates resent on schedule (1 s)" "${S[ipfix_templates]:-0}" 8
expect_ge "the unheard collector's records counted lost" "${S[ipfix_records_lost]:-0}" 1
metrics=$("$NFQTRACKCTL" -s "$CTL" metrics)
check "metrics: nfqtrack_ipfix_records_total" grep -q "^nfqtrack_ipfix_records_total ${S[ipfix_records]}$" <<<"$metrics"

stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
check "stop line: records sent" wait_syslog "ipfix: [0-9]+ records sent in [0-9]+ messages, [0-9]+ lost"
sleep 0.5
kill -INT "$NFACCTD"
wait "$NFACCTD"
forget_pid "$NFACCTD"
stop_pid "$NFCAPD"

nfdump -R "$T/nf" -o raw >"$T/nfdump.raw" 2>"$T/nfdump.err"
expect "nfdump reads what nfcapd stored" "$?" 0
python3 "$TOP/tests/integ/ipfixcmp.py" list "$T/list1.json" "$T/list2.json" >"$T/ours"
python3 "$TOP/tests/integ/ipfixcmp.py" list "$T/list1.json" >"$T/ours1"
python3 "$TOP/tests/integ/ipfixcmp.py" conntrack "$T/kernel" >"$T/kernel.n"
if diff "$T/kernel.n" "$T/ours1" >"$T/diff0"; then
	ok "nfqtrackctl list counted the traffic as the kernel's conntrack at the client did ($(wc -l <"$T/ours1") flows)"
else
	fail "nfqtrackctl list and the client's conntrack -L differ:"
	cat "$T/diff0"
fi
python3 "$TOP/tests/integ/ipfixcmp.py" nfdump "$T/nfdump.raw" >"$T/theirs"
echo "# nfqtrackctl list:" && sed 's/^/#   /' "$T/ours"
echo "# nfdump:" && sed 's/^/#   /' "$T/theirs"
if diff "$T/ours" <(sed 's/ reasons=.*//' "$T/theirs") >"$T/diff"; then
	ok "nfdump shows the flows of nfqtrackctl list, packets and bytes both ways ($(wc -l <"$T/ours") flows, $(grep -c '^Flow Record' "$T/nfdump.raw") records)"
else
	fail "nfdump and nfqtrackctl list differ:"
	cat "$T/diff"
fi
# The end reason: a flow's last record's (records of the active timeout,
# 2, may come before it).
last() { sed 's/.*reasons=//; s/.*,//' | sort -u | tr '\n' ' '; }
expect "TCP over IPv4, expired in TIME_WAIT: end of flow detected (3)" \
	"$(awk '$1 == "tcp" && $2 !~ /:/' "$T/theirs" | last)" "3 "
expect "UDP, expired: idle timeout (1)" "$(awk '$1 == "udp"' "$T/theirs" | last)" "1 "
expect "ICMP, flushed: forced end (4)" "$(awk '$1 == "icmp"' "$T/theirs" | last)" "4 "
expect "ICMPv6, flushed: forced end (4)" "$(awk '$1 == "icmp6"' "$T/theirs" | last)" "4 "
expect "TCP over IPv6: records of the active timeout (2), then the stop's (4)" \
	"$(awk '$1 == "tcp" && $2 ~ /:/' "$T/theirs" | grep -c 'reasons=2,.*4$')" 2
# What ping sent: 3 and 2 requests and as many replies of 84 (IPv4) and
# 104 (IPv6) bytes.
expect "ICMP as ping sent it" "$(awk '$1 == "icmp" { print $6, $7, $8, $9 }' "$T/theirs")" "3 252 3 252"
expect "ICMPv6 as ping sent it" "$(awk '$1 == "icmp6" { print $6, $7, $8, $9 }' "$T/theirs")" "2 208 2 208"

python3 "$TOP/tests/integ/ipfixcmp.py" nfacctd "$T/nfacctd.csv" >"$T/nfacctd" 2>"$T/nfacctd.err"
echo "# nfacctd:" && sed 's/^/#   /' "$T/nfacctd"
# nfacctd: no ICMP type in its ports, the original direction only.
awk '{ if ($1 ~ /^icmp/) { $3 = 0; $5 = 0 } print $1, $2, $3, $4, $5, $6, $7 }' "$T/ours" | sort >"$T/ours.orig"
if diff "$T/ours.orig" <(sed 's/ipv6-icmp/icmp6/' "$T/nfacctd" | sort) >"$T/diff2"; then
	ok "nfacctd shows the same flows, the original direction's packets and bytes"
else
	fail "nfacctd and nfqtrackctl list differ:"
	cat "$T/diff2"
fi

# Without accounting: a record per flow all the same, with no counters.
mkdir -p "$T/nf2"
ip netns exec "$NS_A" nfcapd -b "$V4_A" -p 4739 -B 8000000 -t 3600 \
	-w "$T/nf2" >"$T/nfcapd2.log" 2>&1 &
NFCAPD=$!
PIDS+=("$NFCAPD")
write_conf "$T/nfqtrack2.conf" <<<"ipfix_collector = $V4_A:4739"
start_daemon "$T/nfqtrack2.conf" || { fail "daemon start"; done_testing; }
check "accounting = no: ICMP answered" quiet ip netns exec "$NS_C" ping -q -c 2 -i 0.2 -W 1 "$V4_S"
stop_daemon TERM
sleep 0.5
stop_pid "$NFCAPD"
nfdump -R "$T/nf2" -o raw >"$T/nfdump2.raw" 2>/dev/null
python3 "$TOP/tests/integ/ipfixcmp.py" nfdump "$T/nfdump2.raw" >"$T/theirs2"
expect "accounting = no: the flow, no counters, forced end at stop" \
	"$(cat "$T/theirs2")" "icmp $V4_C 0 $V4_S 8.0 0 0 0 0 reasons=4"
done_testing
