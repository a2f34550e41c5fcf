#!/bin/bash
# Headers past the copy range (issue 13, finding 1): IPv6 SYNs whose TCP
# header lies behind a 264-byte destination options header, sent from one
# address to a listening server, 20 of them, each from a port of its own.
# The server's kernel answers every one it gets. Under
# max_new_per_source = 1 at most one may be answered; with the old
# behaviour (copy_range = 256, copy_range_verdict = accept) all 20 are,
# which shows the packets are the attack. Then the same SYNs with the
# default copy_range of 512, which holds their headers: tracked, and the
# rate limit lets one through.
. "$(dirname "$0")/lib.sh"

# synsend.py SRC DST PORT N SPORT0: N SYNs from SRC to DST:PORT behind
# 264 bytes of destination options, through a raw socket; prints how many
# were answered with a SYN-ACK within a second.
cat >"$T/synsend.py" <<'PY'
import socket, struct, sys, time
src, dst = sys.argv[1], sys.argv[2]
port, n, sport0 = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s6 = socket.inet_pton(socket.AF_INET6, src)
d6 = socket.inet_pton(socket.AF_INET6, dst)


def csum(b):
    b += b'\0' * (len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


rx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
rx.settimeout(0.1)
tx = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
# Two options of an unknown type that a receiver skips (RFC 4727's
# experimental 0x1e): Linux takes no PadN longer than 7 bytes.
opts = (struct.pack('!BBBB', 6, 32, 0x1e, 255) + b'\0' * 255 +
        struct.pack('!BB', 0x1e, 3) + b'\0' * 3)
for i in range(n):
    tcp = struct.pack('!HHIIBBHHH', sport0 + i, port, 1000 + i, 0, 5 << 4,
                      0x02, 65535, 0, 0)
    c = csum(s6 + d6 + struct.pack('!IxxxB', len(tcp), 6) + tcp)
    body = opts + tcp[:16] + struct.pack('!H', c) + tcp[18:]
    hdr = struct.pack('!IHBB', 6 << 28, len(body), 60, 64) + s6 + d6
    tx.sendto(hdr + body, (dst, 0))
got, end = set(), time.time() + 1.0
while time.time() < end:
    try:
        p = rx.recv(2048)
    except socket.timeout:
        continue
    sp, dp = struct.unpack('!HH', p[:4])
    if sp == port and sport0 <= dp < sport0 + n and p[13] & 0x12 == 0x12:
        got.add(dp)
print(len(got))
PY

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
start_server

# scenario NAME SPORT0 [config lines on stdin]: the SYN-ACKs seen go to
# ANSWERED, the daemon's counters to S.
scenario() {
	ANSWERED=
	write_conf "$T/$1.conf"
	start_daemon "$T/$1.conf" || { fail "$1: daemon"; return 1; }
	ANSWERED=$(ip netns exec "$NS_C" python3 "$T/synsend.py" "$V6_C" \
		"$V6_S" "$PORT" 20 "$2")
	snapshot
	stop_daemon
	echo "# $1: $ANSWERED of 20 SYNs answered;" \
		"malformed_copy_range=${S[malformed_copy_range]:-}" \
		"dropped_source_rate=${S[dropped_source_rate]:-}"
}

scenario old 41000 <<CONF
max_new_per_source = 1
copy_range = 256
copy_range_verdict = accept
CONF
expect "old way: the SYNs went past the copy range" "${S[malformed_copy_range]:-}" 20
expect "old way: every SYN answered, past max_new_per_source = 1" "$ANSWERED" 20

scenario short_copy 42000 <<CONF
max_new_per_source = 1
copy_range = 256
CONF
expect "copy_range 256: the SYNs went past the copy range" "${S[malformed_copy_range]:-}" 20
expect "copy_range 256: none answered (copy_range_verdict = drop)" "$ANSWERED" 0

scenario default_copy 43000 <<CONF
max_new_per_source = 1
CONF
expect "default copy_range: the headers were read" "${S[malformed_copy_range]:-}" 0
expect "default copy_range: one SYN answered (max_new_per_source = 1)" "$ANSWERED" 1
expect "default copy_range: 19 refused by the rate limit" "${S[dropped_source_rate]:-}" 19

done_testing
