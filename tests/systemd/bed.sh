# shellcheck shell=bash
# The systemd test bed, sourced by tests/systemd/run.sh: a Debian 12 tree
# booted by systemd-nspawn with systemd as PID 1, journald, and a network
# namespace of its own, on a host whose PID 1 need not be systemd.
#
#   bed_base             the Debian tree, made once by debootstrap from the
#                        host's apt mirror and kept in BED_CACHE (about
#                        2.5 min the first time); a new package list makes a
#                        new one
#   bed_tree NAME        a live tree for one run: an overlay over the base,
#                        so that the base stays clean and a run costs no copy
#   bed_boot             boot it; returns once systemd reports the boot done
#   bed ARGV...          run ARGV in the container, as root, in all of its
#                        namespaces; exits with ARGV's status
#   bed_poweroff, bed_reboot
#   bed_cleanup          power off, unmount, remove the cgroups and the tree
#                        (the caller's EXIT trap)
#
# Why the flags: with no systemd on the host there is no machined and no
# system bus, so nspawn must neither register the machine (--register=no)
# nor ask for a scope unit (--keep-unit); it then runs in the cgroup it is
# started in, which must be one of its own, never the root. nspawn also
# insists that /run/systemd/nspawn, where it keeps mount propagation state,
# is a tmpfs. --private-network: the container has only lo, and whatever
# links, namespaces and firewall rules a test makes inside never reach the
# host. --capability=CAP_BPF and --system-call-filter=bpf: nspawn's own
# capability set and seccomp filter leave out both (every process of the
# container, root's too, gets EPERM from bpf(2)), and the unit's drop-in
# for fastpath_carrier = bpf (README) can only give what the container
# has; on a host nothing takes them away.

BED_CACHE=${BED_CACHE:-/var/cache/nfqtrack-bed}
BED_WORK=${BED_WORK:-/var/tmp/nfqtrack-bed}
BED_SUITE=bookworm
# systemd and its tools, the firewalls (iptables, nftables, and ufw for
# the ufw test) and the traffic tools, by debootstrap; then, by apt-get in
# the tree (debootstrap's own resolver fails on some of their
# dependencies, lintian's), the packages that make and make deb need
# (NFQ_BUILD_PACKAGES: the Makefile's DEB_BUILD and DEB_PKG), which bring
# the run-time libraries with them. The container has no network to fetch
# anything later.
BED_CORE="systemd systemd-sysv dbus iproute2 iptables nftables ufw procps python3 passwd \
	util-linux"
BED_EXTRA=${NFQ_BUILD_PACKAGES:-gcc libc6-dev make pkg-config libmnl-dev \
	libnetfilter-queue-dev libnfnetlink-dev check libpcap-dev libmicrohttpd-dev \
	libsystemd-dev libcap-ng-dev libnftables-dev build-essential dpkg-dev debhelper lintian}
BED_NAME=
BED_ROOT=
BED_RUN=
BED_NSPAWN=
BED_LEADER=
BED_CGROUPS=
BED_TMPFS=

bed_log() { echo "# bed: $*"; }

# The first Debian mirror apt uses here, so that the bed comes from where
# the machine's own packages come from.
bed_mirror() {
	local m=
	[ -r /etc/apt/sources.list.d/debian.sources ] &&
		m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
	[ -z "$m" ] && [ -r /etc/apt/sources.list ] &&
		m=$(awk '$1 == "deb" && $3 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
	echo "${m:-http://deb.debian.org/debian}"
}

# A unit that is of no use in a container and would only add lines to the
# journal, or a getty to its console.
bed_masked_units="console-getty.service getty@.service apt-daily.timer \
	apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer systemd-timesyncd.service"

# bed_apt_in TREE PACKAGE...: apt-get install in TREE, chrooted, with the
# host's network and name servers, /proc and /dev for the maintainer
# scripts; nothing is started (no systemd runs there).
bed_apt_in() {
	local t=$1 rc
	shift
	cp /etc/resolv.conf "$t/etc/resolv.conf" 2>/dev/null
	mount -t proc proc "$t/proc" || return 1
	mount --bind /dev "$t/dev" || { umount "$t/proc"; return 1; }
	timeout 1200 chroot "$t" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive sh -c \
		'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
		sh "$@"
	rc=$?
	umount "$t/dev"
	umount "$t/proc"
	return $rc
}

# bed_base: prints the base tree's path; made under a lock when missing, so
# that two runs never debootstrap at once.
bed_base() {
	local key dir t0 rc old
	key=$(echo "$BED_SUITE $(bed_mirror) $BED_CORE / $BED_EXTRA" | tr -s ' \t\n' ' ' | md5sum | cut -c1-12)
	dir=$BED_CACHE/base-$key
	mkdir -p "$BED_CACHE" || return 1
	(
		flock -w 900 9 || { echo "bed: cache lock busy" >&2; exit 1; }
		[ -x "$dir/lib/systemd/systemd" ] && exit 0
		t0=$(date +%s)
		echo "# bed: debootstrap $BED_SUITE from $(bed_mirror) into $dir (once; about 2.5 min)" >&2
		rm -rf --one-file-system "$dir.tmp"
		timeout 1200 debootstrap --variant=minbase \
			--include="$(echo $BED_CORE | tr ' ' ,)" \
			"$BED_SUITE" "$dir.tmp" "$(bed_mirror)" >"$BED_CACHE/debootstrap.log" 2>&1 &&
			bed_apt_in "$dir.tmp" $BED_EXTRA >>"$BED_CACHE/debootstrap.log" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			tail -n 5 "$BED_CACHE/debootstrap.log" >&2
			echo "bed: making the tree failed ($rc), log in $BED_CACHE/debootstrap.log" >&2
			rm -rf --one-file-system "$dir.tmp"
			exit 1
		fi
		for u in $bed_masked_units; do
			ln -sfn /dev/null "$dir.tmp/etc/systemd/system/$u"
		done
		# A persistent journal, as on an installed machine: it outlives a
		# reboot of the container.
		mkdir -p "$dir.tmp/var/log/journal"
		mv "$dir.tmp" "$dir"
		echo "# bed: base tree made in $(($(date +%s) - t0)) s" >&2
		# Trees of older package lists (700 MB each), unless a run's
		# overlay still stands on one.
		for old in "$BED_CACHE"/base-*; do
			[ "$old" = "$dir" ] || grep -qF "lowerdir=$old," /proc/mounts ||
				rm -rf --one-file-system "$old"
		done
	) 9>"$BED_CACHE/lock" || return 1
	echo "$dir"
}

# bed_tree NAME: a fresh live tree, an overlay over the base.
bed_tree() {
	local base
	base=$(bed_base) || return 1
	BED_NAME=$1
	BED_RUN=$BED_WORK/$BED_NAME
	BED_ROOT=$BED_RUN/root
	mkdir -p "$BED_RUN/upper" "$BED_RUN/work" "$BED_ROOT" || return 1
	mount -t overlay overlay \
		-o "lowerdir=$base,upperdir=$BED_RUN/upper,workdir=$BED_RUN/work" \
		"$BED_ROOT" || return 1
	echo "$BED_NAME" >"$BED_ROOT/etc/hostname"
	# A machine ID of its own (an installed machine has one), kept across
	# reboots so that its journal is one.
	tr -d '-' </proc/sys/kernel/random/uuid >"$BED_ROOT/etc/machine-id"
}

bed_nspawn_alive() {
	[ -n "$BED_NSPAWN" ] && kill -0 "$BED_NSPAWN" 2>/dev/null
}

bed_cgroup_dirs() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup/nfqtrack-$BED_NAME"
	else
		# Hybrid (v1 controllers, v2 in unified/): systemd in the container
		# is given the v2 hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY), as a
		# Debian 12 host would boot it; the v1 name=systemd one is where
		# nspawn looks for its own cgroup.
		local d
		for d in unified systemd; do
			[ -d "/sys/fs/cgroup/$d" ] && echo "/sys/fs/cgroup/$d/nfqtrack-$BED_NAME"
		done
	fi
}

bed_remove_cgroups() {
	local d sub
	for d in $BED_CGROUPS; do
		[ -d "$d" ] || continue
		# Deepest first; a cgroup with a process left in it stays, and says so.
		for sub in $(find "$d" -mindepth 1 -type d 2>/dev/null | sort -r) "$d"; do
			rmdir "$sub" 2>/dev/null
		done
		[ -d "$d" ] && bed_log "cgroup $d still in use"
	done
}

# bed_boot: boot the live tree; waits (at most 60 s) until systemd has
# finished booting.
bed_boot() {
	local i st t0 d
	t0=$(date +%s.%N)
	if ! mountpoint -q /sys/fs/cgroup; then
		echo "bed: no cgroup file system on /sys/fs/cgroup" >&2
		return 1
	fi
	mkdir -p /run/systemd/nspawn
	if ! mountpoint -q /run/systemd/nspawn; then
		mount -t tmpfs -o mode=0755,size=16m tmpfs /run/systemd/nspawn || return 1
		BED_TMPFS=1
	fi
	BED_CGROUPS=$(bed_cgroup_dirs)
	bed_remove_cgroups
	for d in $BED_CGROUPS; do mkdir -p "$d" || return 1; done
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
	# setsid: the container has no controlling terminal of ours; the shell
	# joins the cgroups, then becomes nspawn.
	setsid bash -c '
		for d in $1; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec env SYSTEMD_COLORS=0 systemd-nspawn --quiet --boot \
			--directory="$2" --machine="$3" --register=no --keep-unit \
			--private-network --capability=CAP_BPF \
			--system-call-filter=bpf \
			--link-journal=no --console=read-only \
			--timezone=off --resolv-conf=off
	' bed "$BED_CGROUPS" "$BED_ROOT" "$BED_NAME" </dev/null >>"$BED_RUN/console.log" 2>&1 &
	BED_NSPAWN=$!
	BED_LEADER=
	for i in $(seq 150); do
		bed_nspawn_alive || break
		BED_LEADER=$(cat "/proc/$BED_NSPAWN/task/"*/children 2>/dev/null | awk '{ print $1; exit }')
		[ -n "$BED_LEADER" ] && [ "$(cat "/proc/$BED_LEADER/comm" 2>/dev/null)" = systemd ] && break
		BED_LEADER=
		sleep 0.1
	done
	if [ -z "$BED_LEADER" ]; then
		tail -n 20 "$BED_RUN/console.log" >&2
		echo "bed: the container's systemd did not start" >&2
		return 1
	fi
	# systemctl answers once PID 1's private socket is up (a few ms in);
	# --wait then returns when the boot is done. Before PID 1 has made
	# /run/systemd/system, systemctl says "offline" (not booted with
	# systemd): asked too early, so ask again.
	st=
	for i in $(seq 100); do
		st=$(bed timeout 60 systemctl is-system-running --wait 2>/dev/null)
		case $st in
		'' | offline | unknown) ;;
		*) break ;;
		esac
		bed_nspawn_alive || break
		sleep 0.1
	done
	bed_log "booted $BED_NAME in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: ${st:-no answer}"
	case $st in
	running | degraded) return 0 ;;
	esac
	tail -n 20 "$BED_RUN/console.log" >&2
	return 1
}

# bed ARGV...: ARGV inside, with a clean environment, as a root login
# would have it (no pager: the output goes to the test).
bed() {
	[ -n "$BED_LEADER" ] || return 125
	nsenter -t "$BED_LEADER" -a -r -w -- /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER=cat PAGER=cat \
		SYSTEMD_COLORS=0 "$@"
}

# bed_wait_nspawn SECONDS: wait for nspawn to exit; its status in
# BED_EXIT.
BED_EXIT=
bed_wait_nspawn() {
	local i
	for i in $(seq $(($1 * 10))); do
		bed_nspawn_alive || break
		sleep 0.1
	done
	bed_nspawn_alive && return 1
	wait "$BED_NSPAWN" 2>/dev/null
	BED_EXIT=$?
	BED_NSPAWN= BED_LEADER=
}

# bed_poweroff: systemctl poweroff (30 s), then SIGTERM to nspawn, which
# asks the container's systemd to halt (30 s), then SIGKILL.
bed_poweroff() {
	bed_nspawn_alive || return 0
	bed systemctl poweroff --no-block >/dev/null 2>&1
	bed_wait_nspawn 30 && return 0
	bed_log "poweroff took over 30 s: SIGTERM to nspawn"
	kill -TERM "$BED_NSPAWN" 2>/dev/null
	bed_wait_nspawn 30 && return 0
	bed_log "nspawn still there: SIGKILL"
	kill -KILL "$BED_NSPAWN" 2>/dev/null
	bed_wait_nspawn 10
}

# bed_reboot: systemctl reboot; nspawn exits with 133 for it (systemd's
# systemd-nspawn@.service would start it again; here the bed does), then
# the same tree boots again.
bed_reboot() {
	bed systemctl reboot --no-block >/dev/null 2>&1 || return 1
	bed_wait_nspawn 60 || return 1
	[ "$BED_EXIT" = 133 ] || { bed_log "nspawn exited $BED_EXIT on reboot, not 133"; return 1; }
	bed_boot
}

# bed_cleanup: everything bed_tree and bed_boot made, in reverse; safe to
# call twice and after a failure at any point.
bed_cleanup() {
	bed_poweroff
	bed_remove_cgroups
	if [ -n "$BED_ROOT" ] && mountpoint -q "$BED_ROOT"; then
		umount "$BED_ROOT" || umount -l "$BED_ROOT"
	fi
	# --one-file-system: never into a mount that failed to go.
	[ -n "$BED_RUN" ] && rm -rf --one-file-system "$BED_RUN"
	BED_ROOT= BED_RUN=
	# The tmpfs, if this run mounted it and no other nspawn runs now.
	if [ -n "$BED_TMPFS" ] && ! pgrep -x systemd-nspawn >/dev/null; then
		umount /run/systemd/nspawn 2>/dev/null
		BED_TMPFS=
	fi
}
