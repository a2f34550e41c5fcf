#!/bin/bash
# Started as root, nfqtrackd binds the queue and its control socket, then
# runs as its user with CAP_NET_ADMIN and nothing else (/proc/PID/status);
# the socket is root's, of the configured group, mode 0660, so members of
# the group may use nfqtrackctl and others may not; queue changes on reload
# still work; user = root stays root; a missing user stops the start with
# a message that says what to do. The BPF carrier: loaded with CAP_BPF,
# which then goes.
. "$(dirname "$0")/lib.sh"

if ! getent passwd nfqtrack >/dev/null; then
	echo "# $TEST: user nfqtrack is missing: run 'make user' (make check does)"
	exit 1
fi
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status"; }

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF
user = nfqtrack
group = nfqtrack
EOF
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
uid=$(id -u nfqtrack)
gid=$(id -g nfqtrack)
expect "runs as the user" "$(status Uid)" "$uid"
expect "and its group" "$(status Gid)" "$gid"
expect "no supplementary groups" "$(awk '$1 == "Groups:" { print NF - 1 }' "/proc/$DAEMON_PID/status")" 0
expect "effective capabilities: CAP_NET_ADMIN only" "$(status CapEff)" 0000000000001000
expect "permitted: the same" "$(status CapPrm)" 0000000000001000
expect "bounding set empty: nothing can come back" "$(status CapBnd)" 0000000000000000
expect "nothing inheritable" "$(status CapInh)" 0000000000000000
expect "nothing ambient" "$(status CapAmb)" 0000000000000000
expect "no new privileges" "$(status NoNewPrivs)" 1
check "the start line says so" wait_syslog \
	"running as uid $uid gid $gid, capabilities: net_admin\$"
expect "control socket: root, group nfqtrack, 0660" "$(stat -c '%U %G %a' "$CTL")" "root nfqtrack 660"
expect "its directory: nfqtrack's, 0750" "$(stat -c '%U %G %a' "$(dirname "$CTL")")" "nfqtrack nfqtrack 750"

start_server
tcp_client "$V4_S"
r=$(tcp_cmd open 2 3000)
expect "traffic flows" "$r" "open ok=2 fail=0"
expect "and is tracked" "$(counter flows)" 2
# From one snapshot: two reads apart, a packet may come in between.
snapshot
expect_ge "kernel queue counters still read" "${S[kernel_id_sequence]}" 1
expect "and match" "${S[kernel_id_sequence]}" "$((S[queue_packets] + S[kernel_queue_total]))"

# The socket: group members may use it, others may not.
r=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$NFQTRACKCTL" -s "$CTL" count 2>&1)
expect "not in the group: not reachable (exit 3)" "$?" 3
expect "not in the group: permission denied" "$r" \
	"nfqtrackctl: cannot reach nfqtrackd at $CTL: Permission denied"
r=$(setpriv --reuid=nobody --regid=nogroup --groups="$gid" "$NFQTRACKCTL" -s "$CTL" count 2>&1)
expect "in the group: answered" "$?:$r" "0:2"

# CAP_NET_ADMIN is enough for what a reload changes in the queue.
cat >>"$T/nfqtrack.conf" <<EOF
queue_maxlen = 2048
rcvbuf = 16M
EOF
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload with new queue parameters" "$?" 0
sleep 0.3
if grep -q "cannot change the queue's parameters" "$SYSLOG"; then
	fail "queue parameters changed without root"
else
	ok "queue parameters changed without root"
fi
r=$(tcp_cmd echo 3000)
expect "traffic still flows" "$r" "echo ok=2 fail=0"
tcp_done
check_accounting "dropped privileges"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
check "the control socket is removed" test ! -e "$CTL"

# user = root: stays root.
write_conf "$T/nfqtrack.conf" <<<"user = root"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start as root"; done_testing; }
expect "user = root: uid 0" "$(status Uid)" 0
check_accounting "as root"
stop_daemon TERM

# As the unit starts it: systemd makes /run/nfqtrack (RuntimeDirectory=,
# the user's, 0750), lets the group read the kernel's queue counters
# (ExecStartPre=+), and starts the daemon as the user with CAP_NET_ADMIN
# ambient (User=, AmbientCapabilities=, CapabilityBoundingSet=), the calls
# of @privileged and @resources failing with EPERM (SystemCallFilter=).
# setpriv and sysfilter.py (a real seccomp filter) do the same here. There
# is nothing left to drop, no chown to make, and all of it works.
SYSFILTER=("$TOP/tests/tools/sysfilter.py" @privileged @resources --)
chmod 0711 "$T"
rm -rf "$T/run"
install -d -o nfqtrack -g nfqtrack -m 0750 "$T/run"
ip netns exec "$NS_S" chgrp nfqtrack /proc/net/netfilter/nfnetlink_queue
write_conf "$T/nfqtrack.conf" </dev/null
chmod 0644 "$T/nfqtrack.conf"
ip netns exec "$NS_S" setpriv --reuid=nfqtrack --regid=nfqtrack --init-groups \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	--bounding-set=-all,+net_admin --no-new-privs \
	"${SYSFILTER[@]}" "$NFQTRACKD" -e -c "$T/nfqtrack.conf" 2>>"$T/daemon.err" &
wait_daemon $! || { fail "daemon start as the user"; done_testing; }
expect "as systemd starts it: uid" "$(status Uid)" "$uid"
expect "as systemd starts it: CAP_NET_ADMIN only" "$(status CapEff)" 0000000000001000
line="running as uid $uid gid $gid, capabilities: net_admin\$"
for _ in $(seq 50); do
	[ "$(grep -c "$line" "$SYSLOG")" -ge 2 ] && break
	sleep 0.1
done
expect "the start line says so (the second start's)" "$(grep -c "$line" "$SYSLOG")" 2
expect "control socket: the user's, group nfqtrack, 0660" \
	"$(stat -c '%U %G %a' "$CTL")" "nfqtrack nfqtrack 660"
tcp_client "$V4_S"
r=$(tcp_cmd open 2 3000)
expect "traffic flows" "$r" "open ok=2 fail=0"
snapshot
expect_ge "kernel queue counters read through the group" "${S[kernel_id_sequence]}" 1
expect "and match" "${S[kernel_id_sequence]}" "$((S[queue_packets] + S[kernel_queue_total]))"
r=$(setpriv --reuid=nobody --regid=nogroup --groups="$gid" "$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "a group member reloads (ExecReload=)" "$?:$r" "0:reloaded $T/nfqtrack.conf"
r=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "another uid, not in the group: refused" "$?:$r" \
	"3:nfqtrackctl: cannot reach nfqtrackd at $CTL: Permission denied"
# With the directory open to all, the socket's own mode refuses it.
chmod o+x "$T/run"
r=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "the socket itself refuses it (0660)" "$?:$r" \
	"3:nfqtrackctl: cannot reach nfqtrackd at $CTL: Permission denied"
chmod o-x "$T/run"
expect "reloaded once only" "$(counter reloads)" 1
tcp_done
check_accounting "as the user"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0

# pin_threads = yes under the same filter: sched_setaffinity (@resources)
# is denied, so the threads run unpinned, with one warning that says how
# to allow it.
write_conf "$T/nfqtrack.conf" <<EOF
queues = 0-1
pin_threads = yes
EOF
ip netns exec "$NS_S" setpriv --reuid=nfqtrack --regid=nfqtrack --init-groups \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	--bounding-set=-all,+net_admin --no-new-privs \
	"${SYSFILTER[@]}" "$NFQTRACKD" -e -c "$T/nfqtrack.conf" 2>>"$T/daemon.err" &
wait_daemon $! || { fail "pin_threads = yes, started as the unit does"; done_testing; }
pinwarn='pin_threads: cannot pin the queue threads, sched_setaffinity: Operation not permitted .*SystemCallFilter=sched_setaffinity.*running them unpinned$'
check "one warning says why and how to allow it" wait_syslog "$pinwarn"
expect "one only" "$(grep -cE "$pinwarn" "$SYSLOG")" 1
expect "and no thread says it is pinned" "$(grep -c ': thread on CPU' "$SYSLOG")" 0
tcp_client "$V4_S"
r=$(tcp_cmd open 2 3000)
expect "traffic flows, unpinned" "$r" "open ok=2 fail=0"
tcp_done
check_accounting "unpinned"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0

# The BPF carrier (fastpath_carrier = bpf) as the unit starts it with the
# drop-in the README gives: CAP_BPF beside CAP_NET_ADMIN, the bpf and
# capset calls allowed again. nfqtrackd loads its programs, then drops CAP_BPF:
# CAP_NET_ADMIN alone, and the carrier works on (its maps through the
# descriptors it kept). Without CAP_BPF the start fails, saying why.
write_conf "$T/nfqtrack.conf" <<EOF
fastpath = yes
fastpath_carrier = bpf
EOF
ip netns exec "$NS_S" setpriv --reuid=nfqtrack --regid=nfqtrack --init-groups \
	--inh-caps=-all,+net_admin,+bpf --ambient-caps=-all,+net_admin,+bpf \
	--bounding-set=-all,+net_admin,+bpf --no-new-privs \
	"${SYSFILTER[@]:0:3}" +bpf +capset -- "$NFQTRACKD" -e -c "$T/nfqtrack.conf" 2>>"$T/daemon.err" &
wait_daemon $! || { fail "the BPF carrier, started as the unit does"; done_testing; }
expect "BPF carrier: CAP_BPF dropped after the load, CAP_NET_ADMIN only" "$(status CapEff)" 0000000000001000
expect "nothing permitted but it" "$(status CapPrm)" 0000000000001000
expect "nothing ambient" "$(status CapAmb)" 0000000000000000
tcp_client "$V4_S"
r=$(tcp_cmd open 2 3000)
expect "traffic flows" "$r" "open ok=2 fail=0"
r=$(tcp_cmd echo 3000)
expect "and on" "$r" "echo ok=2 fail=0"
expect_ge "admitted, to the BPF carrier" "$(counter fastpath_admitted)" 2
expect "the kernel asked without CAP_BPF: no error" "$(counter fastpath_errors)" 0
r=$("$NFQTRACKCTL" -s "$CTL" flush 2>&1)
expect "flush, the carrier's map with it" "$r" "nfqtrackctl: 2 flow entries have been deleted."
expect "no error" "$(counter fastpath_errors)" 0
tcp_done
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
ip netns exec "$NS_S" setpriv --reuid=nfqtrack --regid=nfqtrack --init-groups \
	--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	--bounding-set=-all,+net_admin --no-new-privs \
	"$NFQTRACKD" -e -c "$T/nfqtrack.conf" 2>"$T/nobpf.err"
expect "without CAP_BPF: exit status 1" "$?" 1
check "it says what is missing" grep -q \
	"fastpath: cannot load the BPF programs: Operation not permitted (loading needs CAP_BPF: nfqtrackd must start with it)" \
	"$T/nobpf.err"

# A user that does not exist: no start, and a message that says why.
write_conf "$T/nfqtrack.conf" <<<"user = nfqtrack-nobody-$$"
ip netns exec "$NS_S" "$NFQTRACKD" -e -c "$T/nfqtrack.conf" 2>"$T/nouser.err"
expect "a missing user: exit status 1" "$?" 1
check "it says which user and what to do" grep -q \
	"user 'nfqtrack-nobody-$$' does not exist: create it (make install does: useradd --system nfqtrack-nobody-$$), or set user = root to run as root" \
	"$T/nouser.err"
done_testing
