#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""synth - write the agreement test's synthetic capture: one flow per case,
each on ports of its own, for the cases where nfqtrackd once differed from
the kernel's tracker (issue 18). tests/agree/run.sh replays it through the
kernel and through nfqtrackd --replay and compares state, flags, presence,
counters and seconds left.

  synth.py FILE      writes FILE, prints one line per case: PORT NAME

The whole capture lasts a few seconds (tcpreplay plays it in real time).
"""
import struct
import sys
import os

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
from mkpcap import (C4, S4, C6, S6, ETH_IP4, ETH_IP6, SYN, ACK, FIN, RST,  # noqa: E402
                    PSH, Capture, csum, icmp, ip4, ip6, tcp, udp)

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class Conn:
    """Both ends of one TCP connection on client port sport."""

    def __init__(self, cap, sport, six=False):
        self.cap, self.sport, self.six = cap, sport, six
        self.c, self.s = (C6, S6) if six else (C4, S4)
        self.cs, self.ss = 1000 * sport, 7000 * sport

    def send(self, up, seq, ack, flags, data=b"", **kw):
        a, b = (self.c, self.s) if up else (self.s, self.c)
        ps, pd = (self.sport, 80) if up else (80, self.sport)
        seg = tcp(a, b, ps, pd, seq, ack, flags, data, **kw)
        (self.cap.v6 if self.six else self.cap.v4)(6, seg, up, dt=0.002)

    def up(self, flags, data=b"", seq=None, ack=None, **kw):
        self.send(True, self.cs if seq is None else seq,
                  (self.ss if flags & ACK else 0) if ack is None else ack,
                  flags, data, **kw)
        if seq is None:
            self.cs += len(data) + bool(flags & SYN) + bool(flags & FIN)

    def down(self, flags, data=b"", seq=None, ack=None, **kw):
        self.send(False, self.ss if seq is None else seq,
                  (self.cs if flags & ACK else 0) if ack is None else ack,
                  flags, data, **kw)
        if seq is None:
            self.ss += len(data) + bool(flags & SYN) + bool(flags & FIN)

    def handshake(self):
        self.up(SYN, syn_opts=True)
        self.down(SYN | ACK, syn_opts=True)
        self.up(ACK)


# --- 1: an invalid reply is no reply ---------------------------------------

@case
def syn_then_invalid_finack(cap, port):
    t = Conn(cap, port)
    t.up(SYN, syn_opts=True)
    t.down(FIN | ACK, seq=5)  # no FIN answers a SYN


@case
def syn_then_synack_acking_far(cap, port):
    t = Conn(cap, port)
    t.up(SYN, syn_opts=True)
    t.down(SYN | ACK, ack=t.cs + 100000, syn_opts=True)


@case
def syn_then_rstack_acking_far(cap, port):
    t = Conn(cap, port)
    t.up(SYN, syn_opts=True)
    t.down(RST | ACK, seq=0, ack=t.cs + 100000)


@case
def syn_invalid_finack_then_rst(cap, port):
    t = Conn(cap, port)
    t.up(SYN, syn_opts=True)
    t.down(FIN | ACK, seq=5)
    t.down(RST | ACK, seq=0)  # the only real answer: the flow goes


@case
def midstream_forged_syn(cap, port):
    t = Conn(cap, port)
    t.up(ACK, b"x" * 10)
    t.down(SYN, seq=123)  # no SYN from the server in ESTABLISHED
    t.up(ACK, b"y" * 10)


# --- 2: what is counted ----------------------------------------------------

@case
def syn_retransmitted(cap, port):
    t = Conn(cap, port)
    t.up(SYN, syn_opts=True)
    t.up(SYN, seq=t.cs - 1, syn_opts=True)
    t.down(SYN | ACK, syn_opts=True)
    t.up(ACK)
    t.up(ACK | PSH, b"GET / HTTP/1.0\r\n\r\n")
    t.down(ACK | PSH, b"HTTP/1.0 200 OK\r\n\r\n")


@case
def synack_retransmitted(cap, port):
    t = Conn(cap, port)
    t.up(SYN, syn_opts=True)
    t.down(SYN | ACK, syn_opts=True)
    t.down(SYN | ACK, seq=t.ss - 1, syn_opts=True)
    t.up(ACK)


@case
def invalid_in_established(cap, port):
    t = Conn(cap, port)
    t.handshake()
    t.up(ACK | PSH, b"a" * 100)
    t.down(ACK)
    t.down(ACK | PSH, b"b" * 50, seq=t.ss + 3000000)  # far out of window
    t.up(ACK | PSH, b"c" * 20)


@case
def closed_by_fin(cap, port):
    t = Conn(cap, port, six=True)
    t.handshake()
    t.up(ACK | PSH, b"q" * 30)
    t.down(ACK | PSH, b"r" * 300)
    t.up(FIN | ACK)
    t.down(FIN | ACK)
    t.up(ACK)


@case
def udp_answered(cap, port):
    for i in range(3):
        cap.v4(17, udp(C4, S4, port, 53, b"q" * (20 + i)), True, dt=0.002)
        cap.v4(17, udp(S4, C4, 53, port, b"a" * (60 + i)), False, dt=0.002)


@case
def icmp_reply_sent_the_request_way(cap, port):
    # The kernel's tuple holds the type: an echo reply that goes the way
    # of the request belongs to no flow and opens none (invalid).
    rest = struct.pack("!HH", port, 1)
    cap.v4(1, icmp(8, 0, rest, b"p" * 32), True, dt=0.002)
    cap.v4(1, icmp(0, 0, rest, b"p" * 32), True, dt=0.002)


@case
def icmp_echo_each_way_same_id(cap, port):
    # Both ends ping each other with one identifier: two flows.
    rest = struct.pack("!HH", port, 1)
    cap.v6(58, icmp(128, 0, rest, b"a" * 16, C6, S6), True, dt=0.002)
    cap.v6(58, icmp(128, 0, rest, b"b" * 24, S6, C6), False, dt=0.002)
    cap.v6(58, icmp(129, 0, rest, b"b" * 24, C6, S6), True, dt=0.002)
    cap.v6(58, icmp(129, 0, rest, b"a" * 16, S6, C6), False, dt=0.002)


def udplite(src, dst, sport, dport, data, cover=0):
    """UDP-Lite (RFC 3828): the checksum covers the first cover bytes (0:
    all), under a pseudo-header holding the whole length, and 17 where
    the RFC has 136: the kernel's tracker sums it so, and would hold the
    RFC's sum bad under AGREE_CHECKSUM=1."""
    seg = struct.pack("!HHHH", sport, dport, cover, 0) + data
    ph = struct.pack("!4s4sBBH", src, dst, 0, 17, len(seg))
    c = csum(ph + (seg[:cover] if cover else seg)) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


@case
def udplite_answered(cap, port):
    # Linux 6.18 still tracks UDP-Lite as UDP, by ports (the DCCP tracker
    # went, this one stayed): a query, its answer, an 8-byte coverage.
    cap.v4(136, udplite(C4, S4, port, 5004, b"q" * 40), True, dt=0.002)
    cap.v4(136, udplite(S4, C4, 5004, port, b"a" * 80, cover=8), False,
           dt=0.002)


# --- 3: fragments, reassembled before conntrack ------------------------------

def frags4(cap, src, dst, proto, payload, pieces, ident, up):
    """IPv4 fragments of one datagram: pieces are (offset, length, more)
    in the order sent, offsets and lengths in bytes of payload."""
    for off, n, more in pieces:
        fo = (off // 8) | (0x2000 if more else 0)
        cap.add(ETH_IP4, ip4(src, dst, proto, payload[off:off + n], fo,
                             ident), up, dt=0.002)


def frags6(cap, src, dst, nh, payload, pieces, ident, up):
    for off, n, more in pieces:
        fh = struct.pack("!BBHI", nh, 0, off | (1 if more else 0), ident)
        cap.add(ETH_IP6, ip6(src, dst, 44, fh + payload[off:off + n]), up,
                dt=0.002)


def dns(port, n, src, dst, sport, dport):
    return udp(src, dst, sport, dport, bytes([port & 0xff]) * n)


@case
def udp_fragmented_both_ways(cap, port):
    q = dns(port, 3000, C4, S4, port, 53)
    frags4(cap, C4, S4, 17, q, [(0, 1480, True), (1480, 1480, True),
                                (2960, len(q) - 2960, False)], port, True)
    a = dns(port, 2000, S4, C4, 53, port)
    # out of order, the last first
    frags4(cap, S4, C4, 17, a, [(1480, len(a) - 1480, False),
                                (0, 1480, True)], port, False)


@case
def udp_fragment_duplicated(cap, port):
    q = dns(port, 2000, C4, S4, port, 53)
    frags4(cap, C4, S4, 17, q, [(0, 1000, True), (0, 1000, True),
                                (1000, len(q) - 1000, False)], port, True)


@case
def udp_fragments_overlapping(cap, port):
    # the second overlaps the first: the datagram is dropped; the next
    # one, whole, opens the flow
    q = dns(port, 2000, C4, S4, port, 53)
    frags4(cap, C4, S4, 17, q, [(0, 1000, True),
                                (992, len(q) - 992, False)], port, True)
    cap.v4(17, dns(port, 100, C4, S4, port, 53), True, dt=0.002)


@case
def udp_fragment_never_completed(cap, port):
    q = dns(port, 2000, C4, S4, port, 53)
    frags4(cap, C4, S4, 17, q, [(0, 1000, True)], port, True)


@case
def icmp_echo_fragmented(cap, port):
    data = bytes(3000)
    req = icmp(8, 0, struct.pack("!HH", port, 1), data)
    frags4(cap, C4, S4, 1, req, [(0, 1480, True), (1480, 1480, True),
                                 (2960, len(req) - 2960, False)], port, True)
    rep = icmp(0, 0, struct.pack("!HH", port, 1), data)
    frags4(cap, S4, C4, 1, rep, [(0, 1480, True), (1480, 1480, True),
                                 (2960, len(rep) - 2960, False)], port, False)


@case
def udp6_fragmented(cap, port):
    q = dns(port, 3000, C6, S6, port, 53)
    frags6(cap, C6, S6, 17, q, [(0, 1448, True), (1448, 1448, True),
                                (2896, len(q) - 2896, False)], port, True)
    a = dns(port, 1800, S6, C6, 53, port)
    frags6(cap, S6, C6, 17, a, [(1448, len(a) - 1448, False),
                                (0, 1448, True)], port, False)


@case
def udp6_fragment_unaligned(cap, port):
    # a first fragment of 1001 bytes with more to come: dropped alone
    q = dns(port, 2000, C6, S6, port, 53)
    frags6(cap, C6, S6, 17, q, [(0, 1001, True), (1008, len(q) - 1008,
                                                  False)], port, True)


@case
def udp6_many_extension_headers(cap, port):
    # 20 destination options headers before UDP: the kernel walks any
    # number of them (ipv6_skip_exthdr); nfqtrackd once stopped at 16.
    def chain(seg):
        hdrs = b"".join(struct.pack("!BB6s", 60 if i < 19 else 17, 0,
                                    bytes([1, 4, 0, 0, 0, 0]))
                        for i in range(20))
        return hdrs + seg
    cap.v6(60, chain(dns(port, 30, C6, S6, port, 53)), True, dt=0.002)
    cap.v6(60, chain(dns(port, 60, S6, C6, 53, port)), False, dt=0.002)


# --- 4: SCTP, by the kernel's state machine ----------------------------------

def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def chunk(ctype, body=b"", flags=0):
    c = struct.pack("!BBH", ctype, flags, 4 + len(body)) + body
    return c + b"\0" * (-len(c) % 4)


def sctp(sport, dport, vtag, *chunks):
    p = struct.pack("!HHII", sport, dport, vtag, 0) + b"".join(chunks)
    # the CRC32c goes in little-endian byte order
    return p[:8] + struct.pack("<I", crc32c(p)) + p[12:]


INIT, INIT_ACK, SCTP_DATA, SACK, HB, HB_ACK, ABORT = 1, 2, 0, 3, 4, 5, 6
SHUTDOWN, SHUTDOWN_ACK, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE = \
    7, 8, 10, 11, 14


class Assoc:
    """Both ends of an SCTP association on client port sport."""

    def __init__(self, cap, sport, six=False):
        self.cap, self.sport, self.six = cap, sport, six
        self.atag, self.btag = 0x1000000 + sport, 0x2000000 + sport
        self.tsn = 1

    def send(self, up, vtag, *chunks):
        ps, pd = (self.sport, 3868) if up else (3868, self.sport)
        (self.cap.v6 if self.six else self.cap.v4)(
            132, sctp(ps, pd, vtag, *chunks), up, dt=0.002)

    def up(self, *chunks, vtag=None):
        self.send(True, self.btag if vtag is None else vtag, *chunks)

    def down(self, *chunks, vtag=None):
        self.send(False, self.atag if vtag is None else vtag, *chunks)

    def init(self, tag):
        return struct.pack("!IIHHI", tag, 65536, 10, 10, 1)

    def handshake(self):
        self.up(chunk(INIT, self.init(self.atag)), vtag=0)
        self.down(chunk(INIT_ACK, self.init(self.btag) +
                        struct.pack("!HH", 7, 12) + b"cookie12"))
        self.up(chunk(COOKIE_ECHO, b"cookie12"))
        self.down(chunk(COOKIE_ACK))

    def data(self, up, n=20):
        d = chunk(SCTP_DATA, struct.pack("!IHHI", self.tsn, 0, 0, 0) +
                  b"d" * n, flags=3)
        self.tsn += 1
        (self.up if up else self.down)(d)
        sack = chunk(SACK, struct.pack("!IIHH", self.tsn - 1, 65536, 0, 0))
        (self.down if up else self.up)(sack)


@case
def sctp_established(cap, port):
    a = Assoc(cap, port)
    a.handshake()
    a.data(True)
    a.data(False, 100)


@case
def sctp_shut_down(cap, port):
    a = Assoc(cap, port)
    a.handshake()
    a.data(True)
    a.up(chunk(SHUTDOWN, struct.pack("!I", a.tsn - 1)))
    a.down(chunk(SHUTDOWN_ACK))
    a.up(chunk(SHUTDOWN_COMPLETE))


@case
def sctp_init_unanswered_retransmitted(cap, port):
    a = Assoc(cap, port)
    a.up(chunk(INIT, a.init(a.atag)), vtag=0)
    a.up(chunk(INIT, a.init(a.atag)), vtag=0)


@case
def sctp_wrong_vtag(cap, port):
    a = Assoc(cap, port)
    a.handshake()
    a.up(chunk(SCTP_DATA, struct.pack("!IHHI", 9, 0, 0, 0) + b"x" * 8,
               flags=3), vtag=0xdead)
    a.down(chunk(SACK, struct.pack("!IIHH", 0, 65536, 0, 0)), vtag=0xbeef)


@case
def sctp_heartbeat_pickup(cap, port):
    a = Assoc(cap, port)
    hb = struct.pack("!HH", 1, 12) + b"hbinfo12"
    a.up(chunk(HB, hb))
    a.down(chunk(HB_ACK, hb))
    a.data(True)


@case
def sctp_data_cannot_open(cap, port):
    a = Assoc(cap, port)
    a.data(True)


@case
def sctp_aborted(cap, port):
    a = Assoc(cap, port, six=True)
    a.handshake()
    a.data(True)
    a.down(chunk(ABORT))


@case
def sctp_cookie_echoed(cap, port):
    a = Assoc(cap, port, six=True)
    a.up(chunk(INIT, a.init(a.atag)), vtag=0)
    a.down(chunk(INIT_ACK, a.init(a.btag)))
    a.up(chunk(COOKIE_ECHO, b"cookie12"))


# --- DCCP: by addresses alone, as the kernel since its DCCP tracker went -----

def dccp(sport, dport, ptype, seq):
    """A DCCP generic header with 24-bit sequence numbers (X = 0); its
    checksum is left 0: the kernel's generic tracker reads none of it."""
    return struct.pack("!HHBBHBBH", sport, dport, 3, 0, 0, ptype << 1, 0,
                       seq & 0xffff)


@case
def dccp_two_connections_one_flow(cap, port):
    # Two connections on other ports and a reply to the first: Linux 6.17
    # and later keep one flow for the address pair, replied, ports 0.
    cap.v4(33, dccp(port, 5001, 0, 1), True, dt=0.002)  # REQUEST
    cap.v4(33, dccp(5001, port, 1, 7), False, dt=0.002)  # RESPONSE
    cap.v4(33, dccp(port + 1000, 5002, 0, 1), True, dt=0.002)
    cap.v6(33, dccp(port, 5001, 0, 1)[:4], True, dt=0.002)  # cut short


# --- 5: what a router takes in: groups, link-local, broadcast ----------------

@case
def mdns_multicast(cap, port):
    g4, g6 = bytes([224, 0, 0, 251]), bytes.fromhex("ff0200000000000000000000000000fb")
    cap.add(ETH_IP4, ip4(C4, g4, 17, udp(C4, g4, port, 5353, b"m" * 30)),
            True, dt=0.002)
    cap.add(ETH_IP6, ip6(C6, g6, 17, udp(C6, g6, port, 5353, b"m" * 30)),
            True, dt=0.002)


@case
def ipv6_link_local(cap, port):
    a = bytes.fromhex("fe800000000000000000000000000001")
    b = bytes.fromhex("fe800000000000000000000000000002")
    cap.add(ETH_IP6, ip6(a, b, 17, udp(a, b, port, 547, b"q" * 40)), True,
            dt=0.002)
    cap.add(ETH_IP6, ip6(b, a, 17, udp(b, a, 547, port, b"a" * 60)), False,
            dt=0.002)


@case
def limited_broadcast(cap, port):
    z, bc = bytes(4), bytes([255] * 4)
    cap.add(ETH_IP4, ip4(z, bc, 17, udp(z, bc, port, 67, b"d" * 240)), True,
            dt=0.002)


def write(path):
    cap = Capture()
    names = []
    for i, fn in enumerate(CASES):
        port = 40001 + i
        fn(cap, port)
        names.append((port, fn.__name__))
        cap.us += 20000
    cap.write(path)
    return names


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: synth.py FILE")
    for port, name in write(sys.argv[1]):
        print(port, name)


if __name__ == "__main__":
    main()
