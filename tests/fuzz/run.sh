#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run the libFuzzer targets built in DIR, one at a time (the machine may be
# shared: never two fuzzers at once).
#
#   run.sh probe CC                  can CC link a libFuzzer target? If not,
#                                    print why and fail
#   run.sh check DIR SECS NAME...    each target over its committed seeds,
#                                    every regression input, then SECS s of
#                                    fuzzing; fails on any crash
#   run.sh fuzz DIR SECS NAME...     SECS s of fuzzing each, corpus kept in
#                                    DIR/corpus/NAME; a summary table
#
# Seeds: tests/fuzz/seeds/NAME (committed, from mkseeds.py committed);
# DIR/run-seeds/conf, the config files of conf/ and tests/conf/, copied
# afresh each run (mkseeds.py conf); and DIR/seeds/NAME derived from the
# captures in $CORPUS when it exists.
# Regression inputs, tests/fuzz/regress/NAME, once crashed a target; they
# are run first, on their own, so that one never hides behind another.
# Crash inputs go to a fresh directory under DIR/artifacts, named in the
# report.
set -u

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: run.sh probe CC | check|fuzz DIR SECS NAME...}

if [ "$mode" = probe ]; then
	cc=${2:-clang}
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "$cc not found (Debian package clang)"
		exit 1
	fi
	t=$(mktemp -d) || exit 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' >"$t/p.c"
	if ! "$cc" -fsanitize=fuzzer,address -o "$t/p" "$t/p.c" \
		>"$t/log" 2>&1; then
		echo "$cc cannot link with -fsanitize=fuzzer (libFuzzer is in" \
			"the Debian package libclang-rt-14-dev; make deps" \
			"installs it): $(head -1 "$t/log")"
		rm -rf "$t"
		exit 1
	fi
	rm -rf "$t"
	exit 0
fi

dir=${2:?DIR}
secs=${3:?SECS}
shift 3
art=$(mktemp -d "${TMPDIR:-/tmp}/nfqtrack-fuzz.XXXXXX") || exit 1
corpus=${CORPUS:-}

# Seeds derived from the corpus captures: made once, remade when the
# script that makes them changes.
if [ -n "$corpus" ] && [ -d "$corpus" ] &&
	{ [ ! -e "$dir/seeds/.done" ] ||
		[ "$here/mkseeds.py" -nt "$dir/seeds/.done" ]; }; then
	rm -rf "$dir/seeds"
	python3 "$here/mkseeds.py" corpus "$corpus" "$dir/seeds" &&
		touch "$dir/seeds/.done"
fi

# The conf target's seeds: the golden files and the shipped config as
# they are now.
rm -rf "$dir/run-seeds"
python3 "$here/mkseeds.py" conf "$dir/run-seeds" || exit 1

# Options for every run: inputs up to 16 KiB (a capture seed, a packet
# sequence); an input that takes over 10 s or 2 GB is a finding too.
opts="-max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1"
fail=0
summary=

# The number after "key:" on the last line of log $1 that has it.
stat_of() {
	sed -n "s/.*[ :]$2[: ] *\([0-9][0-9]*\).*/\1/p" "$1" | tail -1
}

for name in "$@"; do
	bin=$dir/fuzz_$name
	log=$art/$name.log
	regress=$here/regress/$name
	dirs=
	for d in "$here/seeds/$name" "$dir/run-seeds/$name" \
		"$dir/seeds/$name" "$regress"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	if [ -z "$dirs" ]; then
		echo "fuzz_$name: no seeds" >&2
		fail=1
		continue
	fi
	mkdir -p "$art/$name"

	if [ "$mode" = check ] && [ -d "$regress" ] &&
		[ -n "$(ls "$regress")" ]; then
		# shellcheck disable=SC2086
		if ! "$bin" $opts -artifact_prefix="$art/$name/" \
			"$regress"/* >"$art/$name.regress.log" 2>&1; then
			echo "fuzz_$name: a regression input crashes it again:"
			grep -E 'ERROR|SUMMARY|Running|abort|deadly' \
				"$art/$name.regress.log" | head -20
			fail=1
			continue
		fi
	fi

	if [ "$mode" = fuzz ]; then
		work=$dir/corpus/$name
	else
		work=$art/$name.corpus
	fi
	mkdir -p "$work"
	# The first directory is where libFuzzer adds what it finds; the
	# committed seeds stay as they are.
	# shellcheck disable=SC2086
	"$bin" $opts -max_total_time="$secs" -artifact_prefix="$art/$name/" \
		"$work" $dirs >"$log" 2>&1
	rc=$?
	execs=$(stat_of "$log" number_of_executed_units)
	rate=$(stat_of "$log" average_exec_per_sec)
	cov=$(stat_of "$log" cov)
	ft=$(stat_of "$log" ft)
	units=$(stat_of "$log" corp)
	crashes=$(find "$art/$name" -type f | wc -l)
	line=$(printf '%-14s %10s %8s %6s %7s %7s %7s' "fuzz_$name" \
		"${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
		"${units:-?}" "$crashes")
	summary="$summary$line
"
	if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
		echo "fuzz_$name: FAILED (exit $rc), log $log:"
		grep -E 'ERROR|SUMMARY|abort|deadly|Test unit written' "$log" |
			head -20
		find "$art/$name" -type f | sed 's/^/  crash input: /'
		fail=1
	fi
done

printf '%-14s %10s %8s %6s %7s %7s %7s\n' target execs exec/s cov ft \
	corpus crashes
printf '%s' "$summary"
if [ $fail -ne 0 ]; then
	echo "fuzz: crash inputs and logs in $art (add each input to" \
		"tests/fuzz/regress/NAME once fixed)"
	exit 1
fi
rm -rf "$art"
echo "fuzz: no crash"
