#!/bin/bash
# Config golden files, as pfctl's regress tests do it: `nfqtrackd -t` on
# each okN.conf must print exactly okN.out, and on each failN.conf must
# exit 1 printing exactly failN.err. With -q (the unit's ExecStartPre=),
# the same check says one line for a good file, and the same problems,
# nothing else, for a bad one.
set -u
daemon=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$2" || exit 1
pass=0 failed=0
# golden CONF RC WANT OPTION...: nfqtrackd OPTION... -c CONF exits RC and
# prints WANT (standard output and error, or error alone with RC 1).
golden() {
	local conf=$1 want_rc=$2 want=$3 out rc
	shift 3
	if [ "$want_rc" -eq 0 ]; then
		out=$("$daemon" "$@" -c "$conf" 2>&1)
	else
		out=$("$daemon" "$@" -c "$conf" 2>&1 >/dev/null)
	fi
	rc=$?
	if [ $rc -eq "$want_rc" ] && [ "$out" = "$want" ]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		echo "FAIL - $* $conf (exit $rc):"
		diff <(echo "$out") <(echo "$want") | head -20
	fi
}
for conf in ok*.conf; do
	golden "$conf" 0 "$(cat "${conf%.conf}.out")" -t
	golden "$conf" 0 "$conf: configuration OK" -t -q
done
for conf in fail*.conf; do
	golden "$conf" 1 "$(cat "${conf%.conf}.err")" -t
	golden "$conf" 1 "$(cat "${conf%.conf}.err")" -t -q
done
echo "config golden files: $pass passed, $failed failed"
[ $failed -eq 0 ]
