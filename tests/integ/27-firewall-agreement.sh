#!/bin/bash
# Firewall agreement (issue 15): the same server firewall written twice,
# (K) on the kernel's connection tracker (`-m conntrack --ctstate`) and (N)
# the shipped conf/nfqtrack-stateful.rules and nfqtrack6-stateful.rules,
# loaded as shipped (eth0 edited as their comments say) on nfqtrackd's
# state marks (verdict_mode = mark, invalid_verdict = accept), each in a
# client and server namespace pair of its own, the same addresses in both.
# K is made from the shipped file itself: its filter table with each mark
# match replaced by the conntrack match it stands for, as `nfqtrackd
# --marks` prints the translation, so the two cannot drift apart. The same
# probes go to both, IPv4 and IPv6: an open and a closed port, replies to
# the server's own TCP and DNS-like UDP, ping both ways, an ICMP error for
# a live flow (RELATED), and packets crafted with scapy: some that must
# pass (a SYN, data in window, a bare ACK picked up mid-stream as NEW, an
# ICMP error about a live flow), and INVALID ones that must not
# (out-of-window data, a stray SYN-ACK, a RST for nothing, an ICMP error
# for no flow). Whether a crafted packet passed filter INPUT is read off
# raw sockets in the server namespace, which get a copy of every packet
# delivered locally, after LOCAL_IN, and of no other. Then N again with
# the queue rules at the top of filter INPUT and OUTPUT (`-m mark ! --mark
# SEEN/SEEN -j NFQUEUE`) and verdict_mode = repeat. Then both in
# nftables: the files' filter tables (IPv4 and IPv6 merged) as one inet
# table, made by (ip6)iptables-translate except for the mark matches,
# which are the nftables lines of `nfqtrackd --marks` (N(nft)), or for K,
# the conntrack matches translated (`ct state`, K(nft)); for N(nft), the
# raw and mangle tables stay the shipped files' (there is no nftables
# queue statement to use on every kernel), verdict_mode = mark, and the
# iptables filter table is empty with policy ACCEPT. Every probe must get
# its expected outcome from K and from each N; the table of outcomes is
# printed.
. "$(dirname "$0")/lib.sh"

HERE=$TOP/tests/integ
python_with scapy.all python3-scapy
for tool in nft iptables-translate ip6tables-translate; do
	command -v "$tool" >/dev/null && continue
	echo "# $TEST: $tool is missing: run 'make deps' (make check does)"
	exit 1
done

# K's pair; N's is lib.sh's NS_C and NS_S.
NS_KC=nfqt-$$-kc
NS_KS=nfqt-$$-ks

# pair CLIENT_NS SERVER_NS: the two namespaces joined by veth-c and
# veth-s, IPv4 and IPv6, static neighbours; no rule.
pair() {
	netns_add "$1" "$2" &&
		netns_veth "$1" veth-c "$2" veth-s &&
		netns_addr "$1" veth-c "$V4_C/24" "$V6_C/64" &&
		netns_addr "$2" veth-s "$V4_S/24" "$V6_S/64" &&
		netns_neigh "$1" veth-c "$(netns_mac "$2" veth-s)" "$V4_S" "$V6_S" &&
		netns_neigh "$2" veth-s "$(netns_mac "$1" veth-c)" "$V4_C" "$V6_C"
}

# kernel_rules FILE OUT: K's firewall from the shipped FILE: its filter
# table, each mark match replaced by the conntrack match that `nfqtrackd
# --marks` says it stands for (its iptables lines: "MATCH  -m mark --mark
# V/M"); no raw or mangle rule (no notrack, no queue). Fails if a mark
# match is left.
kernel_rules() {
	"$NFQTRACKD" --marks -c /dev/null | sed -n '/^# iptables/,/^# nftables/p' |
		sed -n 's|^\(.*[^ ]\)  *\(-m mark --mark 0x[0-9a-f]*/0x[0-9a-f]*\)$|s#\2\\b#-m conntrack \1#|p' \
		>"$T/marks.sed"
	[ "$(wc -l <"$T/marks.sed")" -ge 9 ] || return 1
	sed -n '/^\*filter/,/^COMMIT/p' "$1" | grep -v '^#' | sed -f "$T/marks.sed" >"$2"
	! grep -q -- '-m mark' "$2"
}

# repeat_rules FILE OUT: the shipped FILE (eth0 edited) with its mangle
# NFQUEUE rules moved to the top of the filter chains, for verdict_mode =
# repeat.
repeat_rules() {
	awk '
		/^\*/ { table = $1 }
		table == "*mangle" && /-j NFQUEUE/ { q[n++] = $0; next }
		table == "*filter" && /^-A / && !done {
			for (i = 0; i < n; i++) print q[i]
			done = 1
		}
		{ print }
	' "$1" >"$2"
	[ "$(grep -c -- '-j NFQUEUE' "$2")" = 2 ]
}

# nft_chains FAM FILE OUT: the filter table of FILE (iptables-restore
# format, IPv4 or IPv6 as FAM says) as nftables rules, one "CHAIN<tab>RULE"
# line for each -A line, in order, and "CHAIN<tab>policy POLICY" for each
# chain. Each mark match becomes the nftables match that `nfqtrackd
# --marks` prints for the same conntrack match (its lines "MATCH  -m mark
# --mark V/M" and "MATCH  meta mark ..."); the rest of the rule is
# (ip6)iptables-translate's. Fails on a mark match --marks does not know,
# and on a rule the translator cannot translate.
nft_chains() {
	local fam=$1 tr=iptables-translate chain mark rest line
	[ "$fam" = 6 ] && tr=ip6tables-translate
	"$NFQTRACKD" --marks -c /dev/null >"$T/marks.txt" || return 1
	sed -n '/^\*filter/,/^COMMIT/p' "$2" | grep -v '^#' | awk '
		# --marks: "MATCH  TRANSLATION" (two spaces or more between).
		FNR == NR {
			if (/^# iptables/) sect = "ipt"
			else if (/^# nftables/) sect = "nft"
			else if (!/^#/ && match($0, /  +/)) {
				k = substr($0, 1, RSTART - 1)
				v = substr($0, RSTART + RLENGTH)
				if (sect == "ipt") ipt[v] = k; else nft[k] = v
			}
			next
		}
		/^:/ { print substr($1, 2) "|policy " $2; next }
		/^-A / {
			m = ""
			for (v in ipt)
				if (i = index($0 " ", " " v " ")) {
					m = m nft[ipt[v]] " "
					$0 = substr($0, 1, i - 1) substr($0, i + length(v) + 1)
				}
			if ($0 ~ /-m mark/) { print "unknown mark match: " $0; exit 1 }
			print $2 "|" m "|" $0
		}
	' "$T/marks.txt" - >"$T/nft$fam.raw" || { cat "$T/nft$fam.raw"; return 1; }
	: >"$3"
	while IFS='|' read -r chain mark rest; do
		if [ "${mark#policy }" != "$mark" ]; then
			printf '%s\t%s\n' "$chain" "$mark" >>"$3"
			continue
		fi
		# shellcheck disable=SC2086
		line=$($tr $rest) || return 1
		# nft 'add rule ip filter INPUT iifname "lo" counter accept'
		line=${line#nft \'add rule ip* filter "$chain" }
		line=${line%\'}
		case $line in nft* | *\#* | '')
			echo "$rest: $tr gave: $line"
			return 1
			;;
		esac
		printf '%s\t%s%s\n' "$chain" "$mark" "${line/counter /}" >>"$3"
	done <"$T/nft$fam.raw"
}

# nft_rules FILE4 FILE6 OUT: the filter tables of FILE4 (IPv4) and FILE6
# (IPv6) as one nftables inet table, "filter", with a base chain at
# priority filter for each of their chains, and their policies (the two
# files must agree on them). The two files' rules are merged as diff
# merges two versions: their longest common sequence once, a rule of one
# file only with `meta nfproto` of its family, each where its file has it;
# so each family meets its own file's rules in its own order, and no rule
# of the other.
nft_rules() {
	nft_chains 4 "$1" "$T/nft4.chains" && nft_chains 6 "$2" "$T/nft6.chains" || return 1
	awk -F '\t' '
		FNR == 1 { f++ }
		f == 1 { a[++na] = $0; next }
		{ b[++nb] = $0 }
		END {
			for (i = na + 1; i >= 1; i--)
				for (j = nb + 1; j >= 1; j--)
					if (i > na || j > nb) L[i, j] = 0
					else if (a[i] == b[j]) L[i, j] = L[i + 1, j + 1] + 1
					else if (L[i + 1, j] >= L[i, j + 1]) L[i, j] = L[i + 1, j]
					else L[i, j] = L[i, j + 1]
			i = j = 1
			while (i <= na || j <= nb) {
				if (i <= na && j <= nb && a[i] == b[j]) { r[++n] = a[i++]; j++ }
				else if (j > nb || (i <= na && L[i + 1, j] >= L[i, j + 1]))
					r[++n] = fam(a[i++], "ipv4")
				else
					r[++n] = fam(b[j++], "ipv6")
			}
			print "table inet filter {"
			for (j = 1; j <= n; j++) {
				split(r[j], c, "\t")
				if (!(c[1] in seen)) order[++nc] = c[1]
				seen[c[1]] = 1
			}
			for (k = 1; k <= nc; k++) {
				printf "%s\tchain %s {\n", (k > 1 ? "\n" : ""), tolower(order[k])
				for (j = 1; j <= n; j++) {
					split(r[j], c, "\t")
					if (c[1] != order[k]) continue
					if (c[2] ~ /^policy /)
						printf "\t\ttype filter hook %s priority filter; %s;\n",
						    tolower(c[1]), tolower(c[2])
					else
						print "\t\t" c[2]
				}
				print "\t}"
			}
			print "}"
		}
		# A rule of one family only; a policy must be in both.
		function fam(s, p,  c) {
			split(s, c, "\t")
			if (c[2] ~ /^policy /) { print "policies differ: " s; exit 1 }
			return c[1] "\tmeta nfproto " p " " c[2]
		}
	' "$T/nft4.chains" "$T/nft6.chains" >"$3"
}

# empty_filter FILE OUT: FILE with its filter table emptied and every
# policy there ACCEPT (nftables is the filter then); raw and mangle as they
# are.
empty_filter() {
	awk '
		/^\*/ { table = $1 }
		table == "*filter" && /^:/ { print $1 " ACCEPT [0:0]"; next }
		table == "*filter" && /^-A / { next }
		{ print }
	' "$1" >"$2"
	grep -q '^\*filter' "$2" &&
		! sed -n '/^\*filter/,/^COMMIT/p' "$2" | grep -q -e '^-A' -e 'DROP'
}

# start_pair_services SIDE CLIENT_NS SERVER_NS: the probes' listeners and
# the server's raw-socket watch (its log is $T/raw-SIDE.log); they run the
# probes asked on $T/SIDE-c.sock and $T/SIDE-s.sock.
start_pair_services() {
	local side=$1 i
	: >"$T/raw-$side.log"
	ip netns exec "$3" "$PY" "$HERE/fwprobe.py" serve "$T/raw-$side.log" \
		"$T/$side-s.sock" >"$T/serve-$side.out" 2>&1 &
	PIDS+=($!)
	ip netns exec "$2" "$PY" "$HERE/fwprobe.py" peer "$T/$side-c.sock" \
		>"$T/peer-$side.out" 2>&1 &
	PIDS+=($!)
	for i in $(seq 100); do
		grep -q ready "$T/serve-$side.out" && grep -q ready "$T/peer-$side.out" &&
			return 0
		sleep 0.1
	done
	echo "# $side: services did not start:"
	cat "$T/serve-$side.out" "$T/peer-$side.out"
	return 1
}

# The probes, in order (the crafted ICMP error about a live flow quotes
# the DNS-like exchange before it): NAME|FROM|ARGS|EXPECTED. FROM is c (the
# client, toward the server) or s (the server, toward the client); in
# ARGS, DST is the other end, SRC this one, LOG the server's raw watch.
PROBES=(
	"tcp 80 in: open port, listener|c|tcp DST 80|connected"
	"tcp 8080 in: closed port, listener|c|tcp DST 8080|timeout"
	"udp 5353 in: closed port, listener|c|udp DST 5353|timeout"
	"ping in|c|ping DST|reply"
	"server's tcp out, its replies|s|tcp DST 9000|connected"
	"server's udp out (DNS-like), its reply|s|dns DST|reply"
	"server's ping out, its reply|s|ping DST|reply"
	"port unreachable, server's udp (RELATED)|s|unreach DST|refused"
	"crafted SYN to 80 (control, NEW)|c|crafted syn DST SRC LOG|passed"
	"crafted data in window (control)|c|crafted inwin DST SRC LOG|passed"
	"crafted bare ACK to 80 (pickup, NEW)|c|crafted ack DST SRC LOG|passed"
	"crafted data out of window (INVALID)|c|crafted oow DST SRC LOG|dropped"
	"crafted stray SYN-ACK to 80 (INVALID)|c|crafted synack DST SRC LOG|dropped"
	"crafted RST for nothing to 80 (INVALID)|c|crafted rst DST SRC LOG|dropped"
	"crafted port unreach., live flow (RELATED)|c|crafted icmp-flow DST SRC LOG|passed"
	"crafted port unreach., no flow (INVALID)|c|crafted icmp-noflow DST SRC LOG|dropped"
)

# run_probes SIDE PAIR LOG: every probe, IPv4 then IPv6, run by PAIR's
# services (start_pair_services), the server's raw watch writing LOG; the
# outcomes go to OUT[SIDE,family,index].
declare -A OUT
run_probes() {
	local side=$1 fam i name from args want dst src r ca sa
	for fam in 4 6; do
		if [ $fam = 4 ]; then ca=$V4_C sa=$V4_S; else ca=$V6_C sa=$V6_S; fi
		for i in "${!PROBES[@]}"; do
			IFS='|' read -r name from args want <<<"${PROBES[$i]}"
			if [ "$from" = c ]; then dst=$sa src=$ca; else dst=$ca src=$sa; fi
			args=${args//DST/$dst}
			args=${args//SRC/$src}
			args=${args//LOG/$3}
			# shellcheck disable=SC2086
			r=$(timeout -k 2 20 "$PY" "$HERE/fwprobe.py" ask "$T/$2-$from.sock" \
				$args 2>>"$T/probes-$side.err")
			OUT[$side,$fam,$i]=${r:-error}
		done
	done
}

nsx() { ip netns exec "$NS_S" "$@"; }

# nfq_run SIDE RULES4 RULES6 MODE [NFT]: N's rules loaded whole (replacing
# the last run's), and the nftables ruleset NFT if given; nfqtrackd
# started with verdict_mode = MODE, the probes, its accounting; SIDE names
# the column.
nfq_run() {
	local side=$1 mode=$4 nft=${5:-} k
	nsx nft flush ruleset &&
		nsx iptables-restore "$2" && nsx ip6tables-restore "$3" &&
		{ [ -z "$nft" ] || nsx nft -f "$nft"; }
	expect "$side: the rules loaded" "$?" 0
	write_conf "$T/$side.conf" <<-CONF
		verdict_mode = $mode
		invalid_verdict = accept
	CONF
	if ! start_daemon "$T/$side.conf"; then
		fail "$side: nfqtrackd with verdict_mode = $mode did not start"
		for k in "${!PROBES[@]}"; do
			OUT[$side,4,$k]=no-daemon OUT[$side,6,$k]=no-daemon
		done
		return 1
	fi
	run_probes "$side" N "$T/raw-N.log"
	echo "# $side: $("$NFQTRACKCTL" -s "$CTL" stats | awk '
		/^(packets|accepted|dropped|already_marked|state_[a-z]+) / {
			printf "%s=%s ", $1, $2
		}')"
	check_accounting "$side"
	stop_daemon
	expect "$side: nfqtrackd exit status" "$DAEMON_RC" 0
}

start_syslog || { fail "syslog"; done_testing; }
pair "$NS_KC" "$NS_KS" || { fail "K: network setup"; done_testing; }
pair "$NS_C" "$NS_S" || { fail "N: network setup"; done_testing; }

for f in nfqtrack nfqtrack6; do
	sed 's/\<eth0\>/veth-s/g' "$TOP/conf/$f-stateful.rules" >"$T/$f-n.rules"
	check "$f-stateful.rules: the kernel's twin made from it" \
		kernel_rules "$T/$f-n.rules" "$T/$f-k.rules"
	check "$f-stateful.rules: the repeat variant made from it" \
		repeat_rules "$T/$f-n.rules" "$T/$f-r.rules"
	check "$f-stateful.rules: its raw and mangle tables alone" \
		empty_filter "$T/$f-n.rules" "$T/$f-nq.rules"
	check "$f-stateful.rules: the kernel's twin with no iptables filter" \
		empty_filter "$T/$f-k.rules" "$T/$f-kq.rules"
done
check "the stateful files' filter tables in nftables" \
	nft_rules "$T/nfqtrack-n.rules" "$T/nfqtrack6-n.rules" "$T/n.nft"
check "the kernel's twin in nftables" \
	nft_rules "$T/nfqtrack-k.rules" "$T/nfqtrack6-k.rules" "$T/k.nft"
# Every nftables line of --marks is a match nft and the kernel take, the
# ones the firewall does not use too.
{
	echo "table inet marks {"
	echo "	chain c {"
	sed -n '/^# nftables/,$p' "$T/marks.txt" | sed -n 's/^.*  \(meta mark .*\)$/\t\t\1 accept/p'
	echo "	}"
	echo "}"
} >"$T/marks.nft"
expect_ge "nftables lines of nfqtrackd --marks" "$(grep -c 'meta mark' "$T/marks.nft")" 11
check "nftables lines of nfqtrackd --marks: nft -c takes them" \
	ip netns exec "$NS_S" nft -c -f "$T/marks.nft"
echo "# K's IPv4 filter table (made from nfqtrack-stateful.rules):"
grep '^-A' "$T/nfqtrack-k.rules" | sed 's/^/#   /'
echo "# N(nft)'s filter, nftables (made from both stateful files):"
sed 's/^/#   /' "$T/n.nft"
echo "# K(nft)'s differs in:"
diff "$T/n.nft" "$T/k.nft" | grep '^[<>]' | sed 's/^/#   /'

ip netns exec "$NS_KS" iptables-restore "$T/nfqtrack-k.rules" &&
	ip netns exec "$NS_KS" ip6tables-restore "$T/nfqtrack6-k.rules"
expect "K: the rules loaded" "$?" 0
start_pair_services K "$NS_KC" "$NS_KS" || { fail "K: services"; done_testing; }
start_pair_services N "$NS_C" "$NS_S" || { fail "N: services"; done_testing; }

run_probes K K "$T/raw-K.log"
ksx() { ip netns exec "$NS_KS" "$@"; }
ksx nft flush ruleset && ksx iptables-restore "$T/nfqtrack-kq.rules" &&
	ksx ip6tables-restore "$T/nfqtrack6-kq.rules" && ksx nft -f "$T/k.nft"
expect "K(nft): the rules loaded" "$?" 0
run_probes KF K "$T/raw-K.log"
nfq_run N "$T/nfqtrack-n.rules" "$T/nfqtrack6-n.rules" mark
nfq_run R "$T/nfqtrack-r.rules" "$T/nfqtrack6-r.rules" repeat
nfq_run NF "$T/nfqtrack-nq.rules" "$T/nfqtrack6-nq.rules" mark "$T/n.nft"

# The table, and a verdict on each row: every column got the expected
# outcome.
COLS=(K N R KF NF)
declare -A TITLE=([K]=K [N]="N(mark)" [R]="N(repeat)" [KF]="K(nft)" [NF]="N(nft)")
row() {
	local fmt='# %-44s %-4s %-9s' c
	for c in "${COLS[@]}"; do fmt+=' %-9s'; done
	# shellcheck disable=SC2059
	printf "$fmt\n" "$@"
}
titles=()
for c in "${COLS[@]}"; do titles+=("${TITLE[$c]}"); done
row probe fam expected "${titles[@]}"
for fam in 4 6; do
	for i in "${!PROBES[@]}"; do
		IFS='|' read -r name _ _ want <<<"${PROBES[$i]}"
		got=() wants=()
		for c in "${COLS[@]}"; do got+=("${OUT[$c,$fam,$i]}") wants+=("$want"); done
		row "$name" "IPv$fam" "$want" "${got[@]}"
	done
done
# want_for COLUMN PROBE WANT: the outcome COLUMN must give. With the fast
# path on (NFQT_FASTPATH=1), the kernel carries a connection nfqtrackd
# admitted with the ESTABLISHED mark and no window tracking (fastpath in
# nfqtrack.conf(5)): data far out of window on it passes where the
# kernel's tracker (K) drops it. Every other probe is a packet of no
# admitted flow, or in window, and agrees.
want_for() {
	if [ "$FASTPATH" = 1 ] && [ "${1#K}" = "$1" ] &&
		[[ $2 == "crafted data out of window"* ]]; then
		echo passed
	else
		echo "$3"
	fi
}
for fam in 4 6; do
	for i in "${!PROBES[@]}"; do
		IFS='|' read -r name _ _ want <<<"${PROBES[$i]}"
		got=() wants=()
		for c in "${COLS[@]}"; do
			got+=("${OUT[$c,$fam,$i]}")
			wants+=("$(want_for "$c" "$name" "$want")")
		done
		expect "IPv$fam $name: ${titles[*]}" "${got[*]}" "${wants[*]}"
	done
done
done_testing
