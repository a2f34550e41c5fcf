#!/bin/bash
# Run every integration test (tests/integ/NN-*.sh), or those named
# (run.sh 21-multiqueue.sh ...), each in namespaces of its own, and sum
# up. A test exits 0 (passed), 77 (skipped) or else.
set -u
cd "$(dirname "$0")" || exit 1
passed=0 failed=0 skipped=0 failures=
[ $# -gt 0 ] || set -- [0-9][0-9]-*.sh
for t in "$@"; do
	[ -f "$t" ] || { echo "# $t: no such test" >&2; exit 1; }
	start=$(date +%s)
	timeout -k 10 300 ./"$t"
	rc=$?
	echo "# $t: exit $rc in $(($(date +%s) - start)) s"
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) failures="$failures $t" ;;
	esac
done
echo "integration tests: $passed passed, $failed failed, $skipped skipped${failures:+ (failed:$failures)}"
[ "$failed" -eq 0 ]
