#!/bin/bash
# nfqtrackd --replay --dump under valgrind's memcheck: any invalid read or
# write, use of uninitialised memory, bad free, or a definite or indirect
# leak fails the test. Two captures: a small one written here by
# tests/tools/mkpcap.py (TCP, UDP, ICMP, v4 and v6), so that the test
# never does nothing in a clone, and the largest capture of the packet
# corpus when there is one; each through a table that holds it and one of
# 64 flows (early_drop, as in check-replay) with accounting on.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${CORPUS:-$(cd "$top/.." && pwd)/shared/corpus}
nfqtrackd=$top/src/nfqtrackd
if ! command -v valgrind >/dev/null; then
	echo "valgrind: missing (make deps installs it)" >&2
	exit 1
fi
if ldd "$nfqtrackd" | grep -qE 'lib[at]san'; then
	echo "valgrind: skipped: nfqtrackd is built with a sanitizer (SAN=1 or SAN=thread), which valgrind cannot run"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'max_flows = 64\naccounting = yes\n' >"$tmp/small.conf"
printf 'max_flows = 16384\n' >"$tmp/big.conf"

failed=0

# memcheck NAME CONF CAPTURE: one replay under memcheck, a line of
# figures, and its report when it fails.
memcheck() {
	local start=$SECONDS rc
	timeout 600 valgrind --tool=memcheck --error-exitcode=1 \
		--leak-check=full --errors-for-leak-kinds=definite,indirect \
		--log-file="$tmp/$1.vg" \
		"$nfqtrackd" -c "$2" --replay "$3" --dump >/dev/null 2>"$tmp/$1.err"
	rc=$?
	echo "valgrind $1: $3: $(awk '/^packets /{ print $2 }' "$tmp/$1.err") IP packets;" \
		"$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1 errors/p' "$tmp/$1.vg");" \
		"$(if grep -q 'All heap blocks were freed' "$tmp/$1.vg"; then
			echo 'all heap blocks freed'
		else
			sed -n 's/^==[0-9]*== *\([a-z ]*\(lost\|reachable\): [0-9,]* bytes\).*/\1/p' \
				"$tmp/$1.vg" | paste -sd, -
		fi)" \
		"($((SECONDS - start)) s)"
	if [ $rc -ne 0 ]; then
		echo "FAIL - valgrind $1: exit status $rc"
		grep -v '^==[0-9]*== *$' "$tmp/$1.vg" | head -60
		tail -5 "$tmp/$1.err"
		failed=$((failed + 1))
	fi
}

python3 "$top/tests/tools/mkpcap.py" "$tmp/mkpcap.pcap" >/dev/null || exit 1
memcheck mkpcap "$tmp/big.conf" "$tmp/mkpcap.pcap"
memcheck mkpcap-64 "$tmp/small.conf" "$tmp/mkpcap.pcap"

if [ ! -d "$corpus" ]; then
	echo "valgrind corpus: skipped: no corpus at $corpus (it is not part of a clone)"
else
	largest=$(find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) \
		-printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
	if [ -n "$largest" ]; then
		memcheck corpus "$tmp/big.conf" "$largest"
		memcheck corpus-64 "$tmp/small.conf" "$largest"
	else
		echo "valgrind corpus: skipped: no capture in $corpus"
	fi
fi
[ "$failed" -eq 0 ]
