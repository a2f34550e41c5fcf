#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seeds for the fuzz targets in tests/fuzz.

  mkseeds.py committed [DIR]      the hand-made seeds kept in the repository
                                  (DIR: tests/fuzz/seeds): packets, pcap, ctl,
                                  ipfix
  mkseeds.py conf DIR             the conf target's seeds, into DIR/conf: the
                                  shipped conf/nfqtrack.conf and every
                                  tests/conf/*.conf, read at each run (run.sh)
                                  so that no copy of them is kept apart
  mkseeds.py corpus CORPUS DIR    seeds derived from the captures under
                                  CORPUS (../shared/corpus), which is no part
                                  of a clone, into DIR/packets and DIR/pcap

Only the standard library: pcap and pcapng are read with struct. The
packets format is fuzz_packets.c's: CONF_BYTES configuration bytes, then
records of u8 clock, u8 flags, u16 big-endian length and the bytes.
Output is deterministic, so running it again changes no committed file.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

REC_GSO, REC_COPY, REC_TICK, REC_RECONF, REC_FLUSH, REC_LIST, REC_CSUM = (
    1, 2, 4, 8, 16, 32, 64)

# fuzz_packets.c's conf_from(): early_drop, 8 flows; and a tight one.
CONF_DEFAULT = bytes([0x03, 0x07, 0x00, 0x00, 0x00])
CONF_TIGHT = bytes([0x01, 0x01 | 0x20 | 0x80, 0x02 | 0x08, 0x55, 0x41])


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def with_csum(p, spoil=False):
    """IP packet p (no IPv6 extension headers) with its TCP, UDP or ICMP
    checksum filled in; spoiled on request."""
    v6 = p[0] >> 4 == 6
    off = 40 if v6 else (p[0] & 15) * 4
    proto = p[6] if v6 else p[9]
    at = off + {6: 16, 17: 6, 136: 6}.get(proto, 2)
    l4 = p[off:at] + b'\0\0' + p[at + 2:]
    if v6:
        pseudo = p[8:40] + struct.pack('!IxxxB', len(l4), proto)
    elif proto != 1:
        pseudo = p[12:20] + struct.pack('!xBH', proto, len(l4))
    else:
        pseudo = b''
    c = csum(pseudo + l4) ^ (0x5a5a if spoil else 0)
    return p[:at] + struct.pack('!H', c) + p[at + 2:]


def ip4(proto, src, dst, l4, ident=1, frag=0):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), ident, frag,
                      64, proto, 0, bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return hdr + l4


def ip6(nh, src, dst, l4):
    return struct.pack('!IHBB16s16s', 6 << 28, len(l4), nh, 64, bytes(src),
                       bytes(dst)) + l4


def tcp(sport, dport, flags, seq, ack, payload=b'', opts=b''):
    doff = (20 + len(opts)) // 4
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, doff << 4,
                       flags, 65535, 0, 0) + opts + payload


def udp(sport, dport, payload=b''):
    return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload


def icmp(typ, code, ident, seq=1, rest=None):
    body = rest if rest is not None else struct.pack('!HH', ident, seq)
    return struct.pack('!BBH', typ, code, 0) + body


C4, S4, X4 = [192, 0, 2, 7], [198, 51, 100, 1], [203, 0, 113, 9]
C6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [7]
S6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
MSS = bytes([2, 4, 5, 0xb4, 1, 3, 3, 7])  # MSS 1460, NOP, window scale 7


def handshake(ip, c, s, cp=40000, sp=80):
    """A whole TCP conversation: open, data both ways, close."""
    a, b = 1000, 900000
    return [
        ip(6, c, s, tcp(cp, sp, SYN, a, 0, opts=MSS)),
        ip(6, s, c, tcp(sp, cp, SYN | ACK, b, a + 1, opts=MSS)),
        ip(6, c, s, tcp(cp, sp, ACK, a + 1, b + 1)),
        ip(6, c, s, tcp(cp, sp, PSH | ACK, a + 1, b + 1, b'GET / HTTP/1.0\r\n\r\n')),
        ip(6, s, c, tcp(sp, cp, PSH | ACK, b + 1, a + 19, b'HTTP/1.0 200 OK\r\n\r\n')),
        ip(6, c, s, tcp(cp, sp, FIN | ACK, a + 19, b + 20)),
        ip(6, s, c, tcp(sp, cp, FIN | ACK, b + 20, a + 20)),
        ip(6, c, s, tcp(cp, sp, ACK, a + 20, b + 21)),
    ]


def v6(nh, c, s, l4):
    return ip6(nh, c, s, l4)


def records(pkts, clock=1, flags=0, conf=CONF_DEFAULT):
    out = bytearray(conf)
    for i, p in enumerate(pkts):
        f = flags | (REC_LIST if i == len(pkts) - 1 else 0)
        out += struct.pack('!BBH', clock, f, len(p)) + p
    return bytes(out)


def rec(data, clock=0, flags=0):
    return struct.pack('!BBH', clock, flags, len(data)) + data


def packets_seeds():
    tcp4 = handshake(ip4, C4, S4)
    tcp6 = handshake(lambda pr, c, s, l4: ip6(pr, c, s, l4), C6, S6)
    udp4 = [ip4(17, C4, S4, udp(5353, 53, b'\x12\x34' + b'\0' * 10)),
            ip4(17, S4, C4, udp(53, 5353, b'\x12\x34' + b'\x80' * 10)),
            ip4(17, C4, S4, udp(5353, 53, b'again'))]
    quoted = ip4(17, C4, S4, udp(5353, 53))[:28]
    icmp4 = [ip4(1, C4, S4, icmp(8, 0, 77)), ip4(1, S4, C4, icmp(0, 0, 77)),
             ip4(17, C4, X4, udp(1234, 33434)),
             ip4(1, X4, C4, icmp(3, 3, 0, rest=b'\0' * 4 +
                                 ip4(17, C4, X4, udp(1234, 33434))[:28])),
             ip4(1, S4, C4, icmp(11, 0, 0, rest=b'\0' * 4 + quoted))]
    icmp6 = [ip6(58, C6, S6, icmp(128, 0, 9)), ip6(58, S6, C6, icmp(129, 0, 9)),
             ip6(58, S6, C6, icmp(135, 0, 0, rest=b'\0' * 20)),
             ip6(17, C6, S6, udp(1000, 2000, b'x'))]
    # A fragmented UDP datagram, first and later fragment; GRE; SCTP.
    body = udp(7000, 7001, b'F' * 40)
    frags = [ip4(17, C4, S4, body[:24], ident=5, frag=0x2000),
             ip4(17, C4, S4, body[24:], ident=5, frag=3),
             ip4(47, C4, S4, b'\0\0\x08\0' + b'\0' * 20),
             ip4(132, C4, S4, b'\0\x50\0\x50' + b'\0' * 12)]
    # More flows than the table holds, from several sources.
    many = [ip4(17, [10, 0, i >> 4, i & 15], S4, udp(1000 + i, 53))
            for i in range(24)]
    many += [ip4(6, [10, 1, 0, i], S4, tcp(2000 + i, 443, SYN, i, 0))
             for i in range(8)]
    # SYNs whose TCP header lies behind 264 bytes of destination options:
    # copied whole, and cut at 256 bytes as the old copy_range did; a chain
    # of long extension headers of every kind.
    dstopts = (struct.pack('!BBBB', 6, 32, 1, 255) + b'\0' * 260)
    longsyn = [ip6(60, C6, S6, dstopts + tcp(41000 + i, 80, SYN, i, 0))
               for i in range(4)]
    chain = (struct.pack('!BB', 43, 7) + b'\0' * 62 +      # hop-by-hop
             struct.pack('!BBBB', 44, 15, 4, 0) + b'\0' * 124 +  # routing
             struct.pack('!BBHI', 51, 0, 0, 9) +             # fragment
             struct.pack('!BB', 60, 6) + b'\0' * 30 +        # AH
             struct.pack('!BBBB', 6, 31, 1, 250) + b'\0' * 252)
    longchain = ip6(0, C6, S6, chain + tcp(42000, 443, SYN, 1, 0, opts=MSS))
    # Checksums verified (REC_CSUM): a connection whose RST has a wrong
    # one and is followed by data; the same right; a long RST, too long to
    # check; UDP over IPv6 without one; ICMP both ways; a wrong UDP one.
    ck = [with_csum(p) for p in tcp4[:4]]
    a, b = 1000, 900000
    rst = ip4(6, C4, S4, tcp(40000, 80, RST | ACK, a + 19, b + 1))
    data = with_csum(ip4(6, C4, S4, tcp(40000, 80, PSH | ACK, a + 19, b + 1,
                                        b'more')))
    longrst = with_csum(ip4(6, C4, S4, tcp(40000, 80, RST | ACK, a + 23,
                                           b + 1, b'x' * 600)))
    sums = ([rec(p, flags=REC_CSUM) for p in ck] +
            [rec(with_csum(rst, spoil=True), flags=REC_CSUM),
             rec(data, flags=REC_CSUM),
             rec(longrst[:300], flags=REC_CSUM | REC_COPY),
             rec(with_csum(rst), flags=REC_CSUM),
             rec(data, flags=REC_CSUM | REC_LIST),
             rec(ip6(17, C6, S6, udp(1000, 2000, b'zero')), flags=REC_CSUM),
             rec(with_csum(ip4(1, C4, S4, icmp(8, 0, 5))), flags=REC_CSUM),
             rec(with_csum(ip4(1, S4, C4, icmp(0, 0, 5))), flags=REC_CSUM),
             rec(with_csum(ip4(17, C4, S4, udp(53, 53, b'q')), spoil=True),
                 flags=REC_CSUM)])
    return {
        'checksums': bytes([0x03, 0x07, 0x02, 0, 0]) + b''.join(sums),
        'long-exthdr': b''.join(
            [bytes([0x03, 0x07, 0x08, 0, 0])] +
            [rec(p) for p in longsyn] +
            [rec(p[:256], flags=REC_COPY) for p in longsyn] +
            [rec(longchain), rec(longchain[:300], flags=REC_COPY | 0xc0)]),
        'tcp4-handshake': records(tcp4),
        'tcp6-handshake': records(tcp6, flags=REC_TICK),
        'udp4': records(udp4, clock=100),
        'icmp4-echo-errors': records(icmp4),
        'icmp6': records(icmp6, clock=130),
        'fragments-gre-sctp': records(frags, conf=bytes([0x18, 7, 0, 0, 0])),
        'table-full': records(many, conf=CONF_TIGHT, flags=REC_TICK),
        'expiry': records(udp4 + tcp4[:3], clock=250, flags=REC_TICK,
                          conf=bytes([0x02, 3, 0, 0, 0x40])),
        'shadow-reconf-flush': CONF_DEFAULT + b''.join(
            [rec(p) for p in many[:12]] +
            [rec(CONF_TIGHT, flags=REC_RECONF),
             rec(b'proto=udp', flags=REC_FLUSH | REC_LIST),
             rec(b'src=10.0.0.0/24', flags=REC_FLUSH)] +
            [rec(p, clock=10, flags=REC_COPY | REC_LIST) for p in tcp4]),
    }


# pcap files: Ethernet, Linux cooked v1 and v2, raw IP, loopback.
def pcap_file(linktype, frames, nsec=False):
    magic = 0xa1b23c4d if nsec else 0xa1b2c3d4
    out = struct.pack('<IHHiIII', magic, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        out += struct.pack('<IIII', 1700000000 + i, 500 * i, len(f), len(f))
        out += f
    return out


def pcapng_file(linktype, frames):
    def block(btype, body):
        body += b'\0' * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack('<II', btype, n) + body + struct.pack('<I', n)
    out = block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack('<HHI', linktype, 0, 65535))
    for i, f in enumerate(frames):
        ts = (1700000000 + i) * 1000000
        out += block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff,
                                    len(f), len(f)) + f)
    return out


def eth(p, vlan=False):
    et = 0x86dd if p[0] >> 4 == 6 else 0x0800
    tag = struct.pack('!HH', 0x8100, 10) if vlan else b''
    return b'\x02' * 6 + b'\x04' * 6 + tag + struct.pack('!H', et) + p


def sll(p):
    et = 0x86dd if p[0] >> 4 == 6 else 0x0800
    return struct.pack('!HHH8sH', 0, 1, 6, b'\x02' * 8, et) + p


def sll2(p):
    et = 0x86dd if p[0] >> 4 == 6 else 0x0800
    return struct.pack('!HHIHBB8s', et, 0, 1, 1, 0, 6, b'\x02' * 8) + p


def pcap_seeds():
    tcp4 = handshake(ip4, C4, S4)
    mixed = tcp4[:3] + [ip6(58, C6, S6, icmp(128, 0, 9)),
                        ip4(17, C4, S4, udp(5353, 53))]
    return {
        'eth.pcap': pcap_file(1, [eth(p) for p in tcp4]),
        'eth-vlan-nsec.pcap': pcap_file(1, [eth(p, True) for p in mixed],
                                        nsec=True),
        'sll.pcap': pcap_file(113, [sll(p) for p in mixed] + [b'\0' * 16]),
        'sll2.pcap': pcap_file(276, [sll2(p) for p in mixed]),
        'raw.pcapng': pcapng_file(101, mixed),
        'loop.pcap': pcap_file(0, [struct.pack('<I', 2) + p for p in mixed]),
    }


def ctl_seeds():
    reqs = ['NFQT/1 stats', 'NFQT/1 list', 'NFQT/1 list json proto=tcp',
            'NFQT/1 list family=ipv6 state=ESTABLISHED src=2001:db8::/32',
            'NFQT/1 list addr=192.0.2.7 dst=198.51.100.0/24 proto=17',
            'NFQT/1 top 5 json', 'NFQT/1 flush proto=udp\r',
            'NFQT/1 get key=value', 'NFQT/1\tconfig', 'NFQT/2 stats',
            'GET / HTTP/1.0', 'NFQT/1 ' + ' '.join(['a'] * 17)]
    return {'req%02d' % i: r.encode() for i, r in enumerate(reqs)}


def ipfix_rec(flags, proto, end=1, state=0, tcp_flags=0, addr=b'',
              ports=(0, 0), start=0, last=0, counters=(0,) * 8):
    """A record of fuzz_ipfix.c: numbers in host (little-endian) order."""
    return (bytes([flags, proto, end, state, tcp_flags]) +
            addr.ljust(32, b'\0')[:32] + struct.pack('<HH', *ports) +
            struct.pack('<QQ', start, last) + struct.pack('<8Q', *counters))


def ipfix_seeds():
    top = 2 ** 64 - 1
    v4 = bytes([10, 0, 0, 1]) + bytes(12) + bytes([10, 0, 0, 2])
    v6 = bytes([0x20, 1, 0xd, 0xb8] + [0] * 11 + [1]) + bytes([0xff] * 16)
    one = ipfix_rec(2 | 4, 6, 1, 7, 0x1b, v4, (80, 40000), 1000, 5000,
                    (10, 8, 1000, 8000, 0, 0, 0, 0))
    return {
        'one-v4': struct.pack('>H', 1400) + bytes(8) + one,
        'extremes': b'\xff\xff' + b'\xff' * 8 + b''.join(
            ipfix_rec(f, p, e, 0xff, 0xff, v6, (65535, 65535), top, top,
                      (top,) * 4 + (c,) * 4)
            for f in range(16) for p, e, c in ((6, 7, 0), (58, 4, top),
                                              (1, 255, 1))),
        'zeros': bytes(2 + 8) + bytes(121) * 40,
        'mixed': struct.pack('>H', 200) + struct.pack('<q', -2 ** 63) +
        b''.join(ipfix_rec(i % 16, (6, 17, 1, 58, 47)[i % 5], i % 8,
                           i % 10, i, v4 if i % 2 else v6, (i, 65535 - i),
                           i * 1000, top - i, tuple(range(i, i + 8)))
                 for i in range(60)),
    }


def conf_seeds():
    out = {'nfqtrack.conf': open(os.path.join(TOP, 'conf/nfqtrack.conf'),
                                 'rb').read()}
    d = os.path.join(TOP, 'tests/conf')
    for n in sorted(os.listdir(d)):
        if n.endswith('.conf'):
            out[n] = open(os.path.join(d, n), 'rb').read()
    return out


def write(d, files):
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


def committed(top):
    write(os.path.join(top, 'packets'), packets_seeds())
    write(os.path.join(top, 'pcap'), pcap_seeds())
    write(os.path.join(top, 'ctl'), ctl_seeds())
    write(os.path.join(top, 'ipfix'), ipfix_seeds())


# Reading captures, for seeds from the corpus.
def read_frames(data):
    """(linktype, [(ts_ms, frame)]) of a pcap or pcapng file, or None."""
    if len(data) < 24:
        return None
    m = data[:4]
    for e in '<>':
        magic = struct.unpack(e + 'I', m)[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            div = 1000 if magic == 0xa1b2c3d4 else 1000000
            lt = struct.unpack(e + 'I', data[20:24])[0] & 0xffff
            out, off = [], 24
            while off + 16 <= len(data):
                s, sub, cap, _ = struct.unpack(e + 'IIII', data[off:off + 16])
                off += 16
                out.append((s * 1000 + sub // div, data[off:off + cap]))
                off += cap
            return lt, out
    if m == b'\x0a\x0d\x0d\x0a':
        return read_pcapng(data)
    return None


def read_pcapng(data):
    e, off, lts, out = '<', 0, [], []
    while off + 12 <= len(data):
        if data[off:off + 4] == b'\x0a\x0d\x0d\x0a':
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            lts = []
        btype, blen = struct.unpack(e + 'II', data[off:off + 8])
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 2:
            lts.append(struct.unpack(e + 'H', body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, hi, lo, cap, _ = struct.unpack(e + 'IIIII', body[:20])
            if iface < len(lts):
                out.append((lts[iface], ((hi << 32) | lo) // 1000,
                            body[20:20 + cap]))
        elif btype == 3 and len(body) >= 4 and lts:
            out.append((lts[0], None, body[4:]))
        off += blen
    if not out:
        return None
    lt = out[0][0]
    return lt, [(t or 0, f) for l, t, f in out if l == lt]


def ip_of(lt, f):
    """The IP packet in frame f of link type lt, as replay.c finds it."""
    if lt == 1:
        off = 12
        for _ in range(3):
            if off + 2 > len(f):
                return None
            et = struct.unpack('!H', f[off:off + 2])[0]
            if et not in (0x8100, 0x88a8):
                break
            off += 4
        off += 2
    elif lt == 113:
        et, off = (struct.unpack('!H', f[14:16])[0] if len(f) >= 16 else 0), 16
    elif lt == 276:
        et, off = (struct.unpack('!H', f[0:2])[0] if len(f) >= 20 else 0), 20
    elif lt in (0, 108):
        return f[4:] if len(f) > 4 and f[4] >> 4 in (4, 6) else None
    elif lt in (12, 14, 101, 228, 229):
        return f if f and f[0] >> 4 in (4, 6) else None
    else:
        return None
    return f[off:] if et in (0x0800, 0x86dd) else None


def clock_code(ms):
    """fuzz_packets.c's advance(): the code nearest to ms, not past it."""
    if ms < 1280:
        return ms // 10
    if ms < 96000:
        return 128 + ms // 1000
    return min(255, 223 + ms // 1200000) if ms >= 1200000 else 223


def corpus(src, dst, max_seeds=300, max_pcap=100):
    files = []
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(('.pcap', '.pcapng', '.cap')):
                files.append(os.path.join(root, n))
    files.sort()
    pk, pc = os.path.join(dst, 'packets'), os.path.join(dst, 'pcap')
    os.makedirs(pk, exist_ok=True)
    os.makedirs(pc, exist_ok=True)
    seeds = small = 0
    step = max(1, len(files) // max_seeds)
    for i, path in enumerate(files):
        data = open(path, 'rb').read()
        name = os.path.relpath(path, src).replace('/', '_')
        if len(data) <= 4096 and small < max_pcap:
            write(pc, {name: data})
            small += 1
        if i % step or seeds >= max_seeds:
            continue
        got = read_frames(data)
        if not got:
            continue
        lt, frames = got
        out, last = bytearray(CONF_TIGHT if i % 2 else CONF_DEFAULT), None
        for n, (ts, f) in enumerate(frames[:64]):
            p = ip_of(lt, f)
            if p is None:
                continue
            p = p[:2048]
            code = clock_code(max(0, ts - last)) if last is not None else 0
            last = ts
            flags = REC_TICK if n % 8 == 7 else 0
            out += struct.pack('!BBH', code, flags, len(p)) + p
            if len(out) > 16384:
                break
        if len(out) > 5:
            write(pk, {name: bytes(out)})
            seeds += 1
    print('mkseeds: %d packet seeds, %d capture seeds from %s'
          % (seeds, small, src))


def main(argv):
    if len(argv) >= 1 and argv[0] == 'committed':
        committed(argv[1] if len(argv) > 1 else os.path.join(HERE, 'seeds'))
    elif len(argv) == 2 and argv[0] == 'conf':
        write(os.path.join(argv[1], 'conf'), conf_seeds())
    elif len(argv) == 3 and argv[0] == 'corpus':
        corpus(argv[1], argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
