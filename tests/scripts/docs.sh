#!/bin/bash
# Documentation stays in step with the code: every configuration key is in
# the shipped config (commented out, with its default), in nfqtrack.conf(5)
# and in the README; the shipped config parses to the built-in defaults;
# every nfqtrackd option and every metric is in nfqtrackd(8); the state
# marks' translation table in the README and nfqtrack.conf(5) is
# nfqtrackd --marks's; the man pages
# render without warnings; the README's install line has every build
# package; the unit file passes systemd-analyze verify
# once installed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
daemon=$top/${1:-src/nfqtrackd}
pass=0 failed=0
ok() { pass=$((pass + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }

defaults=$("$daemon" -t -c /dev/null | sed 1d | sed 's/  #.*//')
while IFS= read -r line; do
	key=${line%% =*}
	if grep -q "^#$key = " "$top/conf/nfqtrack.conf"; then ok; else
		bad "conf/nfqtrack.conf does not list $key"; fi
	if grep -q "^\.BR $key \" (default " "$top/man/nfqtrack.conf.5"; then ok; else
		bad "nfqtrack.conf(5) does not describe $key with its default"; fi
	if grep -qw -- "$key" "$top/README.md"; then ok; else
		bad "README.md does not mention $key"; fi
done <<<"$defaults"

# The README's install line (step 1) installs what the build needs: the
# Makefile's DEB_BUILD but the unit tests' framework (check). The systemd
# test bed has them all already, so it cannot tell.
readme_apt=$(awk '/^```sh install-source/ { on = 1; next } on && /^apt-get install / { print; exit }' "$top/README.md")
for pkg in $(make -s -C "$top" -pn 2>/dev/null | awk -F' := ' '$1 == "DEB_BUILD" { print $2; exit }'); do
	[ "$pkg" = check ] && continue
	if [[ " $readme_apt " == *" $pkg "* ]]; then ok; else
		bad "the README's install line lacks $pkg (DEB_BUILD)"; fi
done

# The shipped file parses to the defaults, and so does it with every
# commented-out key switched on: the defaults it states are the real ones.
t=$(mktemp)
for f in "$top/conf/nfqtrack.conf" "$t"; do
	sed 's/^#\([a-z_0-9]* = \)/\1/' "$top/conf/nfqtrack.conf" >"$t"
	if [ "$("$daemon" -t -c "$f" | sed 1d)" = "$("$daemon" -t -c /dev/null | sed 1d)" ]
	then ok; else bad "$f does not parse to the built-in defaults"; fi
done
# The man page states the same defaults.
grep -oE '^\.BR [a-z_0-9]+ " \(default [^;)]+' "$top/man/nfqtrack.conf.5" |
	sed -E 's/^\.BR ([a-z_0-9]+) " \(default (.*)/\1 = \2/' >"$t"
if [ "$("$daemon" -t -c "$t" | sed 1d)" = "$("$daemon" -t -c /dev/null | sed 1d)" ]
then ok; else bad "nfqtrack.conf(5) states defaults that are not the built-in ones"; fi
rm -f "$t"

# Every counter of the engine is described in nfqtrackctl(8): those that a
# replay of an empty capture prints.
t=$(mktemp)
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x01\0\0\0' >"$t"
counters=$("$daemon" --replay "$t" 2>/dev/null | awk '$1 !~ /^replay_/ { print $1 }')
rm -f "$t"
if [ "$(echo "$counters" | wc -w)" -gt 50 ]; then ok; else
	bad "nfqtrackd --replay printed no counters to check"; fi
for c in $counters; do
	if grep -qw -- "$c" "$top/man/nfqtrackctl.8"; then ok; else
		bad "nfqtrackctl(8) does not describe the counter $c"; fi
done

# Every metric is described in nfqtrackd(8), under METRICS.
metrics=$(grep -o '"nfqtrack_[a-z_]*"' "$top/src/metrics.c" | tr -d '"' | sort -u)
if [ "$(echo "$metrics" | wc -w)" -gt 30 ]; then ok; else
	bad "src/metrics.c: no metric names found to check"; fi
section=$(sed -n '/^\.SH METRICS/,/^\.SH /p' "$top/man/nfqtrackd.8")
for m in $metrics; do
	if grep -qw -- "$m" <<<"$section"; then ok; else
		bad "nfqtrackd(8) does not describe the metric $m under METRICS"; fi
done

# The translation table of the README (Stateful firewall) and of
# nfqtrack.conf(5) (STATE MARKS) is the one nfqtrackd --marks prints for
# the default mask: each conntrack match with its iptables and nftables
# mark match, on one row of the README, on consecutive lines of the page.
marks=$("$daemon" --marks -c /dev/null 2>/dev/null)
ipt=$(echo "$marks" | sed -n '/^# iptables/,/^# nftables/{/^#/d;p;}')
nft=$(echo "$marks" | sed -n '/^# nftables/,${/^#/d;p;}')
if [ "$(echo "$ipt" | wc -l)" -ge 9 ] && [ "$(echo "$nft" | wc -l)" = "$(echo "$ipt" | wc -l)" ]
then ok; else bad "nfqtrackd --marks printed no translation table to check"; fi
page=$(sed 's/\\-/-/g' "$top/man/nfqtrack.conf.5")
while IFS=$'\t' read -r ct m n; do
	n=${n#*$'\t'}
	if awk -v a="$ct" -v b="\`$m\`" -v c="\`$n\`" \
		'index($0, a) && index($0, b) && index($0, c) { f = 1 } END { exit !f }' \
		"$top/README.md"; then ok
	else bad "README.md: no row of the translation table with $ct, $m, $n"; fi
	if awk -v a="$ct" -v b=".B $m" -v c=".B $n" '
		($0 == ".B " a || $0 == a) { i = NR }
		NR == i + 1 && $0 == b { j = NR }
		NR == j + 2 && NR == i + 3 && $0 == c { f = 1 }
		END { exit !f }' <<<"$page"; then ok
	else bad "nfqtrack.conf(5): no entry of the translation table with $ct, $m, $n"; fi
done < <(paste <(echo "$ipt" | sed 's/  \+/\t/') <(echo "$nft" | sed 's/  \+/\t/'))

for opt in $("$daemon" -h | grep -oE '^  (-[a-zA-Z], |    )--[a-z]+' | tr -d ','); do
	if grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$top/man/nfqtrackd.8"; then ok
	else bad "nfqtrackd(8) does not document $opt"; fi
done

for page in "$top"/man/*.[0-9]; do
	out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1)
	if [ -z "$out" ]; then ok; else bad "$(basename "$page"): groff: $out"; fi
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	if [ -z "$out" ]; then ok; else bad "$(basename "$page"): man: $out"; fi
done

# make install puts exactly these files under DESTDIR, and nothing else;
# make uninstall takes them all away again.
d=$(mktemp -d)
make -s -C "$top" install DESTDIR="$d" >/dev/null
want="/etc/nfqtrack/nfqtrack-stateful.rules
/etc/nfqtrack/nfqtrack.conf
/etc/nfqtrack/nfqtrack.rules
/etc/nfqtrack/nfqtrack6-stateful.rules
/etc/nfqtrack/nfqtrack6.rules
/etc/nfqtrack/ufw/before.init
/etc/nfqtrack/ufw/before.rules.sed
/usr/local/lib/systemd/system/nfqtrack.service
/usr/local/lib/sysusers.d/nfqtrack.conf
/usr/local/sbin/nfqtrackctl
/usr/local/sbin/nfqtrackd
/usr/local/share/man/man5/nfqtrack.conf.5
/usr/local/share/man/man8/nfqtrackctl.8
/usr/local/share/man/man8/nfqtrackd.8"
if [ "$(cd "$d" && find . -type f | sed 's/^[.]//' | LC_ALL=C sort)" = "$want" ]; then ok
else bad "make install DESTDIR=: unexpected files: $(cd "$d" && find . -type f)"; fi
# ufw's before.init is copied to /etc/ufw as it is: it must run.
if [ -x "$d/etc/nfqtrack/ufw/before.init" ]; then ok
else bad "make install: /etc/nfqtrack/ufw/before.init is not executable"; fi
echo "# changed" >>"$d/etc/nfqtrack/nfqtrack.conf"
make -s -C "$top" install DESTDIR="$d" >/dev/null
if grep -q '^# changed' "$d/etc/nfqtrack/nfqtrack.conf"; then ok
else bad "make install overwrote an existing config"; fi
make -s -C "$top" uninstall DESTDIR="$d" >/dev/null
if [ "$(cd "$d" && find . -type f)" = "./etc/nfqtrack/nfqtrack.conf" ]; then ok
else bad "make uninstall left: $(cd "$d" && find . -type f)"; fi
rm -rf "$d"

# The unit file, with ExecStart pointed at the built daemon.
if command -v systemd-analyze >/dev/null; then
	d=$(mktemp -d)
	mkdir -p "$d/man/man5" "$d/man/man8"
	cp "$top"/man/*.5 "$d/man/man5/"
	cp "$top"/man/*.8 "$d/man/man8/"
	sed "s|/usr/local/sbin|$top/src|g" "$top/systemd/nfqtrack.service" \
		>"$d/nfqtrack.service"
	out=$(MANPATH=$d/man systemd-analyze verify "$d/nfqtrack.service" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then ok; else
		bad "systemd-analyze verify: $out"; fi
	# The hardening, as systemd rates it: 2.0 or lower is "OK".
	out=$(systemd-analyze security --offline=yes --no-pager \
		"$d/nfqtrack.service" 2>&1)
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for nfqtrack.service: \([0-9.]*\) .*/\1/p')
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		ok; echo "# systemd-analyze security: $score"
	else bad "systemd-analyze security rates the unit ${score:-?} (want <= 2.0): $out"; fi
	out=$(systemd-analyze security --offline=yes --threshold=20 \
		"$d/nfqtrack.service" >/dev/null 2>&1)
	if [ $? -eq 0 ]; then ok; else bad "systemd-analyze security --threshold=20 failed"; fi
	rm -rf "$d"
fi
echo "documentation: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
