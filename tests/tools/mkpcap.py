#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""mkpcap - write a small Ethernet pcap with a bit of everything nfqtrackd
tracks, so that a test of --replay (valgrind's) has a capture in any clone:

  mkpcap.py FILE

IPv4 and IPv6 TCP connections opened, used and closed by FIN (to
TIME_WAIT) and by RST; a half-open connection; UDP queries answered and
unanswered (100 ports: more flows than a 64-flow table holds, so that
early_drop evicts); ICMP and ICMPv6 echoes; an ICMP port unreachable
for a UDP flow; a VLAN-tagged packet; a non-first fragment; a truncated
TCP header; an ARP frame (not IP). A 40 s pause in the middle lets
flows time out. Checksums are right. Prints the number of frames.
"""
import struct
import sys

ETH_IP4, ETH_IP6, ETH_VLAN, ETH_ARP = 0x0800, 0x86DD, 0x8100, 0x0806
C4, S4 = bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])
C6 = bytes.fromhex("fd000009000000000000000000000001")
S6 = bytes.fromhex("fd000009000000000000000000000002")
MAC_C, MAC_S = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, frag=0, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                    frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ip6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, src,
                       dst) + payload


def l4sum(src, dst, proto, seg):
    if len(src) == 4:
        ph = struct.pack("!4s4sBBH", src, dst, 0, proto, len(seg))
    else:
        ph = struct.pack("!16s16sIxxxB", src, dst, len(seg), proto)
    return csum(ph + seg)


def tcp(src, dst, sport, dport, seq, ack, flags, data=b"", syn_opts=False):
    opts = b""
    if syn_opts:  # MSS 1460, SACK permitted, window scale 7
        opts = bytes([2, 4, 5, 180, 4, 2, 3, 3, 7, 1])
        opts += b"\0" * (-len(opts) % 4)
    off = (20 + len(opts)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags,
                      65535, 0, 0) + opts + data
    c = l4sum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = l4sum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(typ, code, rest, data, src=None, dst=None):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    c = csum(m) if src is None else l4sum(src, dst, 58, m)
    return m[:2] + struct.pack("!H", c) + m[4:]


class Capture:
    def __init__(self):
        self.frames = []
        self.us = 1700000000 * 1000000

    def add(self, ethertype, pkt, to_server=True, dt=0.001, vlan=None):
        self.us += int(dt * 1000000)
        dst, src = (MAC_S, MAC_C) if to_server else (MAC_C, MAC_S)
        eth = dst + src
        if vlan is not None:
            eth += struct.pack("!HH", ETH_VLAN, vlan)
        self.frames.append((self.us, eth + struct.pack("!H", ethertype) + pkt))

    def v4(self, proto, seg, up=True, **kw):
        a, b = (C4, S4) if up else (S4, C4)
        self.add(ETH_IP4, ip4(a, b, proto, seg), up, **kw)

    def v6(self, nh, seg, up=True, **kw):
        a, b = (C6, S6) if up else (S6, C6)
        self.add(ETH_IP6, ip6(a, b, nh, seg), up, **kw)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for us, frame in self.frames:
                f.write(struct.pack("<IIII", us // 1000000, us % 1000000,
                                    len(frame), len(frame)))
                f.write(frame)


def tcp_conn(cap, six, sport, close):
    """A connection on port 80: handshake, a request and its answer, then
    closed by FIN on both sides, by RST, or left open."""
    c, s = (C6, S6) if six else (C4, S4)
    send = cap.v6 if six else cap.v4
    proto = 6
    cs, ss = 1000 * sport, 7000 * sport

    def up(seq, ack, fl, data=b"", **kw):
        send(proto, tcp(c, s, sport, 80, seq, ack, fl, data, **kw), True)

    def down(seq, ack, fl, data=b"", **kw):
        send(proto, tcp(s, c, 80, sport, seq, ack, fl, data, **kw), False)

    up(cs, 0, SYN, syn_opts=True)
    down(ss, cs + 1, SYN | ACK, syn_opts=True)
    up(cs + 1, ss + 1, ACK)
    req, resp = b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\n\r\nhello\n"
    up(cs + 1, ss + 1, ACK | PSH, req)
    down(ss + 1, cs + 1 + len(req), ACK | PSH, resp)
    cs, ss = cs + 1 + len(req), ss + 1 + len(resp)
    up(cs, ss, ACK)
    if close == "fin":
        up(cs, ss, FIN | ACK)
        down(ss, cs + 1, ACK)
        down(ss, cs + 1, FIN | ACK)
        up(cs + 1, ss + 1, ACK)
    elif close == "rst":
        up(cs, ss, RST | ACK)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mkpcap.py FILE")
    cap = Capture()
    # ARP: not IP, skipped.
    cap.add(ETH_ARP, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_C,
                                 C4, b"\0" * 6, S4))
    for six in (False, True):
        tcp_conn(cap, six, 40001, "fin")
        tcp_conn(cap, six, 40002, "rst")
        tcp_conn(cap, six, 40003, "open")
    # A half-open connection: the SYN is never answered.
    cap.v4(6, tcp(C4, S4, 40004, 81, 1, 0, SYN, syn_opts=True))
    # UDP: a query answered, and its IPv6 twin.
    q = b"\x12\x34\x01\x00" + b"\0" * 8
    cap.v4(17, udp(C4, S4, 53001, 53, q))
    cap.v4(17, udp(S4, C4, 53, 53001, q), up=False)
    cap.v6(17, udp(C6, S6, 53001, 53, q))
    cap.v6(17, udp(S6, C6, 53, 53001, q), up=False)
    # ICMP echo and reply; ICMPv6 echo and reply.
    cap.v4(1, icmp(8, 0, struct.pack("!HH", 7, 1), b"ping"))
    cap.v4(1, icmp(0, 0, struct.pack("!HH", 7, 1), b"ping"), up=False)
    cap.v6(58, icmp(128, 0, struct.pack("!HH", 7, 1), b"ping", C6, S6))
    cap.v6(58, icmp(129, 0, struct.pack("!HH", 7, 1), b"ping", S6, C6),
           up=False)
    # A datagram to a closed port, and the port unreachable it earns,
    # quoting it (related to the flow).
    d = ip4(C4, S4, 17, udp(C4, S4, 53002, 9999, q))
    cap.v4(17, udp(C4, S4, 53002, 9999, q))
    cap.v4(1, icmp(3, 3, b"\0" * 4, d[:28]), up=False)
    # One packet with a VLAN tag.
    cap.add(ETH_IP4, ip4(C4, S4, 17, udp(C4, S4, 53003, 53, q)), vlan=42)
    # A non-first fragment, and a TCP header cut short.
    cap.add(ETH_IP4, ip4(C4, S4, 17, b"\0" * 16, frag=100, ident=9))
    cap.add(ETH_IP4, ip4(C4, S4, 6, tcp(C4, S4, 40005, 80, 1, 0, SYN)[:12]))
    # 100 unanswered datagrams to as many ports: a 64-flow table fills.
    for i in range(100):
        cap.v4(17, udp(C4, S4, 30000 + i, 1000 + i, q))
    # 40 s later, the unanswered UDP flows (30 s) have expired; the open
    # connections go on.
    cap.v4(17, udp(C4, S4, 53004, 53, q), dt=40.0)
    tcp_conn(cap, False, 40006, "fin")
    cap.write(sys.argv[1])
    print(len(cap.frames))


if __name__ == "__main__":
    main()
