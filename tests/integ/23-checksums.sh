#!/bin/bash
# Checksums (issue 13, finding 3): a client holds two connections, as many
# as max_flows_per_source = 2 allows, and forges a RST for one of them with
# a wrong checksum, which the server's stack discards; then it sends data
# on that connection and opens a third. Before, the RST moved the flow to
# CLOSE, where it stopped counting for its source, and the third opened.
# The server's device verifies no checksum for packets from the client's
# raw socket (NFQA_SKB_CSUM_NOTVERIFIED), so nfqtrackd verifies it.
. "$(dirname "$0")/lib.sh"

# badrst.py SERVER PORT DEV: two connections, a RST with a wrong checksum
# for the first (its sequence numbers read off DEV), data on it, then a
# third connection; prints "third=1" if the third connected, else 0.
cat >"$T/badrst.py" <<'PY'
import socket, struct, sys, time
srv, port, dev = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
sniff.bind((dev, 0))
sniff.setblocking(False)


def csum(b):
    b += b'\0' * (len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


a = socket.create_connection((srv, port), timeout=2)
a.send(b'a' * 10)
b = socket.create_connection((srv, port), timeout=2)
b.send(b'b' * 10)
time.sleep(0.3)
me, aport = a.getsockname()
nxt = None
while True:
    try:
        f = sniff.recv(4096)
    except BlockingIOError:
        break
    if f[12:14] != b'\x08\x00' or f[23] != 6:
        continue
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack('!H', ip[2:4])[0]
    t = ip[ihl:tot]
    sp, dp, seq, ack = struct.unpack('!HHII', t[:12])
    if socket.inet_ntoa(ip[12:16]) == me and sp == aport:
        doff = (t[12] >> 4) * 4
        nxt = (seq + len(t) - doff + (1 if t[13] & 3 else 0), ack)
if nxt is None:
    print('third=? (no segment of the first connection seen)')
    sys.exit(1)
src, dst = socket.inet_aton(me), socket.inet_aton(srv)
tcp = struct.pack('!HHIIBBHHH', aport, port, nxt[0], nxt[1], 5 << 4,
                  0x14, 65535, 0, 0)
c = csum(src + dst + struct.pack('!xBH', 6, len(tcp)) + tcp) ^ 0x5a5a
tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0,
                 src, dst)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.sendto(ip + tcp, (srv, 0))
time.sleep(0.2)
a.send(b'still here')
time.sleep(0.2)
try:
    socket.create_connection((srv, port), timeout=2)
    print('third=1')
except OSError:
    print('third=0')
PY

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
start_server

write_conf "$T/limit.conf" <<CONF
max_flows_per_source = 2
CONF
start_daemon "$T/limit.conf" || { fail "daemon"; done_testing; }
OUT=$(ip netns exec "$NS_C" python3 "$T/badrst.py" "$V4_S" "$PORT" veth-c)
snapshot
echo "# $OUT; invalid_checksum=${S[invalid_checksum]:-}" \
	"checksums_verified=${S[checksums_verified]:-}" \
	"dropped_source_limit=${S[dropped_source_limit]:-}"
expect "the RST with a wrong checksum was held invalid" "${S[invalid_checksum]:-}" 1
expect "no third connection past max_flows_per_source = 2" "$OUT" third=0
expect_ge "the third connection was refused for its source" \
	"${S[dropped_source_limit]:-0}" 1
stop_daemon

done_testing
