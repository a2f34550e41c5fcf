#!/bin/bash
# Config golden files, as pfctl's regress tests do it: `nfqtrackd -t` on
# each okN.conf must print exactly okN.out, and on each failN.conf must
# exit 1 printing exactly failN.err.
set -u
daemon=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$2" || exit 1
pass=0 failed=0
for conf in ok*.conf; do
	out=$("$daemon" -t -c "$conf" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = "$(cat "${conf%.conf}.out")" ]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		echo "FAIL - $conf (exit $rc):"
		diff <(echo "$out") "${conf%.conf}.out" | head -20
	fi
done
for conf in fail*.conf; do
	out=$("$daemon" -t -c "$conf" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 1 ] && [ "$out" = "$(cat "${conf%.conf}.err")" ]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		echo "FAIL - $conf (exit $rc):"
		diff <(echo "$out") "${conf%.conf}.err" | head -20
	fi
done
echo "config golden files: $pass passed, $failed failed"
[ $failed -eq 0 ]
