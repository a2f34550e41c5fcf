#!/usr/bin/python3
# The probes of 27-firewall-agreement.sh. Two long-running processes per
# namespace pair, started with `ip netns exec`, each answering probe
# requests on a Unix socket (a path, reachable from any network
# namespace) by running the probe in a child of its own, in its own
# namespace, scapy already imported:
#
#   fwprobe.py serve LOG SOCK  server: TCP 80 and 8080 (each says "ok"),
#                              UDP echo on 5353, and raw sockets that write
#                              to LOG, one line each, the transport bytes
#                              (hex) of every TCP, UDP, ICMP and ICMPv6
#                              packet delivered locally: a packet is there
#                              only if it passed filter INPUT
#   fwprobe.py peer SOCK       client: TCP 9000 (says "ok"), UDP echo on 53
#   fwprobe.py ask SOCK PROBE ARGS...  run one probe (probe() below) where
#                              SOCK's process is; print its outcome, a word
#
# Packets are crafted with scapy (python3-scapy) and sent whole through an
# IPPROTO_RAW socket, so that no scapy routing or neighbour lookup is
# involved.
import errno
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

WAIT = 1.5  # seconds before a silent exchange counts as "timeout"
SEEN_WAIT = 1.0  # seconds a crafted packet has to show up in LOG
DNS_SPORT = 5301  # the server's DNS-like query comes from this port
UNREACH_PORT = 9999  # nothing listens there on the client


def fam(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def listen_tcp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', port))
    s.listen(64)
    return s


def bind_udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', port))
    return s


def serve(tcp_ports, udp_ports, ctl, log=None):
    """Accept on the TCP ports (say "ok", then read and forget), echo on
    the UDP ports; with LOG, watch the raw sockets too; run each probe
    asked on CTL in a child. Until killed."""
    import scapy.all  # noqa: F401 (once, for every child)
    lst = {listen_tcp(p): 'listen' for p in tcp_ports}
    lst.update({bind_udp(p): 'udp' for p in udp_ports})
    out = None
    if log:
        out = open(log, 'a', buffering=1)
        for f, protos in ((socket.AF_INET, (6, 17, 1)),
                          (socket.AF_INET6, (6, 17, 58))):
            for p in protos:
                lst[socket.socket(f, socket.SOCK_RAW, p)] = ('raw', f)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(ctl)
    u.listen(8)
    lst[u] = 'ctl'
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no zombies
    print('ready', flush=True)
    while True:
        for s in select.select(list(lst), [], [])[0]:
            kind = lst[s]
            if kind == 'ctl':
                c, _ = s.accept()
                if os.fork() == 0:
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    try:
                        args = c.makefile().readline().split()
                        r = probe(args)
                    except Exception as e:  # a word for the table
                        r = 'error:' + type(e).__name__
                    c.sendall((r + '\n').encode())
                    os._exit(0)
                c.close()
            elif kind == 'listen':
                c, _ = s.accept()
                c.setblocking(False)
                try:
                    c.send(b'ok\n')
                except OSError:
                    pass
                lst[c] = 'conn'
            elif kind == 'conn':
                try:
                    d = s.recv(4096)
                except OSError:
                    d = b''
                if not d:
                    del lst[s]
                    s.close()
            elif kind == 'udp':
                d, a = s.recvfrom(4096)
                s.sendto(d, a)
            else:
                d = s.recv(65535)
                if kind[1] == socket.AF_INET:
                    d = d[(d[0] & 15) * 4:]  # IPv4 raw: the IP header too
                out.write(d.hex() + '\n')


def tcp_connect(dst, port):
    try:
        c = socket.create_connection((dst, port), timeout=WAIT)
        ok = c.recv(3) == b'ok\n'
        c.close()
        return 'connected' if ok else 'no-greeting'
    except socket.timeout:
        return 'timeout'
    except ConnectionRefusedError:
        return 'refused'
    except OSError as e:
        return errno.errorcode.get(e.errno, 'error')


def udp_query(dst, port, sport=0):
    s = socket.socket(fam(dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::' if fam(dst) == socket.AF_INET6 else '0.0.0.0', sport))
    s.settimeout(WAIT)
    s.connect((dst, port))
    try:
        s.send(b'\x12\x34 query')
        return 'reply' if s.recv(4096) == b'\x12\x34 query' else 'garbled'
    except socket.timeout:
        return 'timeout'
    except ConnectionRefusedError:
        return 'refused'
    finally:
        s.close()


def ping(dst):
    r = subprocess.run(['ping', '-n', '-q', '-c', '1', '-W', str(int(WAIT)),
                        dst], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return 'reply' if r.returncode == 0 else 'timeout'


def unreach(dst):
    """A connected UDP socket sends to a closed port of DST: DST answers
    port unreachable, which the socket reports as ECONNREFUSED only if the
    ICMP error got through."""
    s = socket.socket(fam(dst), socket.SOCK_DGRAM)
    s.settimeout(WAIT)
    s.connect((dst, UNREACH_PORT))
    try:
        s.send(b'anyone?')
        s.recv(4096)
        return 'reply'
    except ConnectionRefusedError:
        return 'refused'
    except socket.timeout:
        return 'timeout'
    finally:
        s.close()


def send_crafted(pkt, log):
    """Send the whole packet; "passed" if its transport bytes show up in
    LOG (the server's raw sockets) within SEEN_WAIT, else "dropped"."""
    from scapy.all import IP
    raw = bytes(pkt)
    if isinstance(pkt, IP):
        f, dst, l4 = socket.AF_INET, (pkt.dst, 0), raw[(raw[0] & 15) * 4:]
    else:
        f, dst, l4 = socket.AF_INET6, (pkt.dst, 0, 0, 0), raw[40:]
    want = l4.hex()
    start = os.path.getsize(log)
    s = socket.socket(f, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(raw, dst)
    s.close()
    deadline = time.monotonic() + SEEN_WAIT
    while time.monotonic() < deadline:
        with open(log) as fh:
            fh.seek(start)
            if any(line.strip() == want for line in fh):
                return 'passed'
        time.sleep(0.05)
    return 'dropped'


def l3(src, dst):
    from scapy.all import IP, IPv6
    return IPv6(src=src, dst=dst) if ':' in dst else IP(src=src, dst=dst)


def live_seqs(dst, port):
    """A live connection to DST:PORT, and the next sequence number this
    end sends and the one it expects (TCP_REPAIR reads them exactly)."""
    c = socket.create_connection((dst, port), timeout=WAIT)
    if c.recv(3) != b'ok\n':
        raise OSError('no greeting')
    c.send(b'hello')
    time.sleep(0.2)  # acknowledged
    TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, 2)  # send queue
    snd = struct.unpack('I', c.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ,
                                          4))[0]
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, 1)  # receive queue
    rcv = struct.unpack('I', c.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ,
                                          4))[0]
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, -1)  # off, no probe
    return c, c.getsockname()[1], snd, rcv


def crafted(name, dst, src, log):
    from scapy.all import TCP, UDP, ICMP, ICMPv6DestUnreach, IP, IPv6
    v6 = ':' in dst
    if name == 'syn':  # control: a SYN to the open port is NEW
        return send_crafted(l3(src, dst) / TCP(sport=40001, dport=80,
                                                flags='S', seq=1000), log)
    if name == 'ack':  # a bare ACK for nothing: picked up mid-stream, NEW
        return send_crafted(l3(src, dst) / TCP(sport=40005, dport=80,
                                                flags='A', seq=5000,
                                                ack=6000), log)
    if name == 'synack':  # a SYN-ACK that answers nothing
        return send_crafted(l3(src, dst) / TCP(sport=40002, dport=80,
                                                flags='SA', seq=2000,
                                                ack=3000), log)
    if name == 'rst':  # a RST for no connection
        return send_crafted(l3(src, dst) / TCP(sport=40003, dport=80,
                                                flags='R', seq=4000), log)
    if name in ('oow', 'inwin'):
        c, sport, snd, rcv = live_seqs(dst, 80)
        # Far beyond what the server's window allows (2^30 ahead): out of
        # window. Or exactly the next byte: in window, the control.
        seq = (snd + (1 << 30)) & 0xffffffff if name == 'oow' else snd
        r = send_crafted(l3(src, dst) / TCP(sport=sport, dport=80,
                                             flags='PA', seq=seq, ack=rcv,
                                             window=502) /
                         (b'probe %s' % name.encode()), log)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack('ii', 1, 0))
        c.close()
        return r
    if name in ('icmp-noflow', 'icmp-flow'):
        # Port unreachable from the client, quoting a UDP datagram the
        # server sent it: one of no flow, or of the server's DNS-like
        # exchange (a live flow: the control).
        sport, dport = (40004, 9998) if name == 'icmp-noflow' else \
            (DNS_SPORT, 53)
        inner = l3(dst, src) / UDP(sport=sport, dport=dport) / b'\x12\x34 query'
        if v6:
            err = IPv6(src=src, dst=dst) / ICMPv6DestUnreach(code=4) / inner
        else:
            err = IP(src=src, dst=dst) / ICMP(type=3, code=3) / inner
        return send_crafted(err, log)
    raise ValueError('unknown crafted probe ' + name)


def probe(a):
    """One probe, its outcome."""
    if a[0] == 'tcp':  # tcp DST PORT
        return tcp_connect(a[1], int(a[2]))
    if a[0] == 'udp':  # udp DST PORT
        return udp_query(a[1], int(a[2]))
    if a[0] == 'dns':  # the server's DNS-like query, from DNS_SPORT
        return udp_query(a[1], 53, DNS_SPORT)
    if a[0] == 'ping':
        return ping(a[1])
    if a[0] == 'unreach':
        return unreach(a[1])
    if a[0] == 'crafted':  # crafted NAME DST SRC LOG
        return crafted(a[1], a[2], a[3], a[4])
    raise ValueError('unknown probe ' + a[0])


def main():
    a = sys.argv[1:]
    if a[0] == 'serve':
        serve((80, 8080), (5353,), a[2], a[1])
    elif a[0] == 'peer':
        serve((9000,), (53,), a[1])
    elif a[0] == 'ask':
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(15)
        c.connect(a[1])
        c.sendall((' '.join(a[2:]) + '\n').encode())
        print(c.makefile().readline().strip())
    else:
        raise SystemExit('usage: fwprobe.py serve LOG SOCK | peer SOCK | '
                         'ask SOCK PROBE ARGS...')


if __name__ == '__main__':
    main()
