#!/bin/bash
# nfqtrackd --replay on every file of the packet corpus, twice (a table
# larger than any capture needs, and one of 64 flows so that the limit is
# hit): it must
# finish every one, exit 0, or exit 1 with a message naming the file (a
# link type it does not take, a file that is no capture); a crash or a
# sanitizer report fails the test.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${CORPUS:-$(cd "$top/.." && pwd)/shared/corpus}
nfqtrackd=$top/src/nfqtrackd
if [ ! -d "$corpus" ]; then
	echo "corpus replay: skipped: no corpus at $corpus (it is not part of a clone)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'max_flows = 16384\n' >"$tmp/big.conf"
printf 'max_flows = 64\n' >"$tmp/small.conf"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

files=0 replayed=0 refused=0 failed=0 packets=0 wall=0
while IFS= read -r -d '' f; do
	files=$((files + 1))
	for conf in "$tmp/big.conf" "$tmp/small.conf"; do
		timeout 60 "$nfqtrackd" -c "$conf" --replay "$f" --dump \
			>"$tmp/out" 2>"$tmp/err"
		rc=$?
		if grep -qE 'Sanitizer|runtime error:' "$tmp/err"; then
			echo "FAIL - $f: sanitizer report"
			head -20 "$tmp/err"
			failed=$((failed + 1))
		elif [ $rc -eq 1 ] && grep -qF "nfqtrackd: $f" "$tmp/err"; then
			[ "$conf" = "$tmp/big.conf" ] && refused=$((refused + 1))
		elif [ $rc -ne 0 ]; then
			echo "FAIL - $f: exit status $rc"
			tail -5 "$tmp/err"
			failed=$((failed + 1))
		elif [ "$conf" = "$tmp/big.conf" ]; then
			replayed=$((replayed + 1))
			packets=$((packets + $(awk '/^packets /{ print $2 }' "$tmp/err")))
		fi
	done
done < <(find "$corpus" -type f -print0 | sort -z)
echo "corpus replay: $files files: $replayed replayed ($packets IP packets), $refused refused with a message, $failed failed"
[ "$failed" -eq 0 ]
