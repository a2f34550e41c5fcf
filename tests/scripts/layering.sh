#!/bin/sh
# make check-format: the core's files include no configuration parser, no
# threads, no stdio, and of the project's headers only the core's own.
#   tests/scripts/layering.sh "CORE MODULES" "CORE HEADERS WITHOUT A CORE .c"
cd "$(dirname "$0")/../.." || exit 1
core=$1
hdrs=$2
ok=" "
for m in $core $hdrs; do ok="$ok$m.h "; done
files=
for m in $core; do files="$files src/$m.c include/$m.h"; done
for m in $hdrs; do files="$files include/$m.h"; done
fail=0
for f in $files; do
		[ -e "$f" ] || continue
		for bad in conf.h pthread.h stdio.h; do
			if grep -Eq "^#[[:space:]]*include[[:space:]]*[<\"]$bad[>\"]" "$f"; then
				echo "$f: the core includes $bad" >&2
				fail=1
			fi
		done
		for h in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
			case "$ok" in
			*" $h "*) ;;
			*) echo "$f: the core includes $h, which is not the core's" >&2
			   fail=1 ;;
			esac
		done
done
[ $fail = 0 ] && echo "layering OK"
exit $fail
