#!/bin/bash
# The kernel fast path's table and elements against the real kernel: the
# table nfqtrackd --fastpath-rules prints loads with nft -f; fastpath_apply()
# makes it, real TCP and UDP (v4 and v6, over the veth pair) are admitted by
# the admit mark and carried, fastpath_query() finds both directions in the
# right set with the right timeout and counters that match the packets
# sent (reset zeroes them), and one direction when the other is gone; a
# FIN or RST moves a flow to close in the kernel, forget and flush remove,
# apply(keep) keeps the elements and takes new rules (and makes a missing
# table), remove deletes (tests/bin/fpkernel test, TAP lines). The table
# lives in the server namespace; the echo server is the client's.
QUEUE_RULES=no
. "$(dirname "$0")/lib.sh"

FPKERNEL=$TOP/tests/bin/fpkernel
if [ ! -x "$FPKERNEL" ]; then
	echo "# $TEST: $FPKERNEL is missing: run 'make tests/bin/fpkernel'"
	exit 1
fi

setup_net || { fail "network setup"; done_testing; }

# The printed table loads as it is, twice (it replaces itself), and goes.
printf 'fastpath = yes\nfastpath_table = nfqt_fpk_rules\n' >"$T/fp.conf"
if "$NFQTRACKD" --fastpath-rules -c "$T/fp.conf" >"$T/rules.nft" 2>"$T/rules.err"; then
	ok "nfqtrackd --fastpath-rules"
else
	fail "nfqtrackd --fastpath-rules: $(cat "$T/rules.err")"
fi
check "nft -f loads the printed table" ip netns exec "$NS_S" nft -f "$T/rules.nft"
check "nft -f loads it again over itself" ip netns exec "$NS_S" nft -f "$T/rules.nft"
expect "its sets" "$(ip netns exec "$NS_S" nft list sets inet 2>/dev/null | grep -c 'set [a-z]*[46] {')" 6
printf 'fastpath = yes\nfastpath_table = nfqt_fpk_rules\naccounting = yes\nfastpath_udp_after = 0\nmark_mask = 0x0f000000\n' >"$T/fp2.conf"
"$NFQTRACKD" --fastpath-rules -c "$T/fp2.conf" >"$T/rules2.nft" 2>&1
check "nft -f loads the accounting, no-UDP, 4-bit variant" ip netns exec "$NS_S" nft -f "$T/rules2.nft"
check "and the table goes" ip netns exec "$NS_S" nft delete table inet nfqt_fpk_rules

ip netns exec "$NS_C" "$FLOWGEN" serve -p "$PORT" -t 120 >/dev/null &
PIDS+=($!)
sleep 0.3

ip netns exec "$NS_S" "$FPKERNEL" test "$V4_C" "$V6_C" "$PORT" >"$T/fpkernel.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"FAIL - "*) fail "${line#FAIL - }" ;;
	*) echo "$line" ;;
	esac
done <"$T/fpkernel.out"
expect "fpkernel's exit status" "$rc" 0
expect "no table left behind" "$(ip netns exec "$NS_S" nft list tables 2>/dev/null | wc -l)" 0

done_testing
