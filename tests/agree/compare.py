#!/usr/bin/python3
"""Compare two flow listings in conntrack -L format, flow by flow.

compare.py KERNEL OURS -> prints "flows=N agree=M only_kernel=A
only_ours=B differ=C" and, after it, one line per disagreement.

A flow is its protocol and original tuple; two listings agree on it when
both have it with the same state and the same [UNREPLIED] and [ASSURED]
flags. Apart from that, it counts the flows present in both whose
per-direction packet and byte counters agree (when both listings have
them: nf_conntrack_acct = 1, accounting = yes), and those whose seconds
left agree within TOLERANCE seconds (the kernel is listed a moment after
the capture's last packet; --replay dumps at that packet's time).
"""
import ipaddress
import re
import struct
import sys

TOLERANCE = 2
FIELD = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(.*?)\s*(mark=.*)?$")


def load(path):
    """{key: (state, flags)}, {key: (counters, seconds left)}"""
    flows, extra = {}, {}
    with open(path) as f:
        for line in f:
            m = FIELD.match(line.strip())
            if not m:
                continue
            name, num, left, rest = m.group(1, 2, 3, 4)
            words = rest.split()
            counters = tuple(w for w in words
                             if w.startswith(("packets=", "bytes=")))
            words = [w for w in words
                     if not w.startswith(("packets=", "bytes="))]
            state = words[0] if words and "=" not in words[0] else ""
            if state:
                words = words[1:]
            # the original tuple: key=value words up to the second src=
            orig, i = [], 0
            while i < len(words) and not (
                    words[i].startswith("src=") and orig):
                if words[i].startswith("["):
                    break
                orig.append(words[i])
                i += 1
            key = (num, " ".join(orig))
            flags = " ".join(w for w in words if w.startswith("["))
            flows[key] = (state, flags)
            extra[key] = (counters, int(left))
    return flows, extra


def multicast(key):
    """Is the flow's original destination a multicast or broadcast
    address? The test network's kernel neither joins those groups nor
    routes multicast, so it never confirms such flows: a limit of the test,
    not of either tracker."""
    for word in key[1].split():
        if word.startswith("dst="):
            addr = ipaddress.ip_address(word[4:])
            return addr.is_multicast or (
                addr.version == 4 and str(addr).endswith(".255"))
    return False


def martian(key):
    """Addresses a kernel's IP layer refuses before any netfilter hook
    that confirms a flow: sources in 0.0.0.0/8, multicast or 240.0.0.0/4,
    destinations in 0.0.0.0/8 or 240.0.0.0/4 (but for broadcast), IPv6
    multicast or IPv4-mapped sources. On a host such packets never reach
    an NFQUEUE rule; only a replay sees them."""
    addrs = dict(w.split("=", 1) for w in key[1].split()
                 if w.startswith(("src=", "dst=")))
    try:
        src = ipaddress.ip_address(addrs["src"])
        dst = ipaddress.ip_address(addrs["dst"])
    except (KeyError, ValueError):
        return False
    if src.version == 4:
        bad4 = (ipaddress.ip_network("0.0.0.0/8"),
                ipaddress.ip_network("240.0.0.0/4"))
        return (src.is_multicast or any(src in n for n in bad4) or
                (dst != ipaddress.ip_address("255.255.255.255") and
                 any(dst in n for n in bad4)))
    return src.is_multicast or src.ipv4_mapped is not None


def options_refused(opts):
    """Would a kernel's IP layer drop an IPv4 packet with these options on
    input? ip_options_compile() refuses malformed ones (IpInHdrErrors),
    and ip_rcv_options() drops a source route unless accept_source_route
    is set on all interfaces, which it is not by default. Either way it
    happens after conntrack's PREROUTING hook made an entry and before any
    hook confirms one."""
    i, seen = 0, set()
    while i < len(opts):
        kind = opts[i]
        if kind == 0:  # IPOPT_END
            return False
        if kind == 1:  # IPOPT_NOOP
            i += 1
            continue
        if i + 1 >= len(opts):
            return True
        n = opts[i + 1]
        if n < 2 or n > len(opts) - i:
            return True
        o = opts[i:i + n]
        if kind in (131, 137):  # LSRR, SSRR
            if n < 3 or o[2] < 4 or "srr" in seen:
                return True
            seen.add("srr")
        elif kind == 7:  # RR
            if "rr" in seen or n < 3 or o[2] < 4:
                return True
            if o[2] <= n and o[2] + 3 > n:
                return True
            seen.add("rr")
        elif kind == 68:  # TIMESTAMP
            if "ts" in seen or n < 4 or o[2] < 5:
                return True
            if o[2] <= n:
                if o[2] + 3 > n:
                    return True
                if (o[3] & 0xF) in (1, 3) and o[2] + 7 > n:
                    return True
            elif o[3] >> 4 == 15:
                return True
            seen.add("ts")
        elif kind == 148:  # RA
            if n < 4:
                return True
        elif kind == 134:  # CIPSO: its own checks; none in the corpus
            if "cipso" in seen:
                return True
            seen.add("cipso")
        i += n
    return "srr" in seen


def refused(wire):
    """{(protocol, address pair)} of a wire capture (pcap2wire's: classic
    pcap, Ethernet, untagged) whose IPv4 packets all carry options that
    the IP layer refuses (options_refused)."""
    bad, good = set(), set()
    with open(wire, "rb") as f:
        data = f.read()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(order + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        key = (str(ip[9]), frozenset((str(ipaddress.ip_address(ip[12:16])),
                                      str(ipaddress.ip_address(ip[16:20])))))
        if ihl > 20 and options_refused(ip[20:ihl]):
            bad.add(key)
        else:
            good.add(key)
    return bad - good


def local(path):
    """compare.py --local OURS: what the test router must take in for the
    flows of OURS to be confirmed as on a host: "join GROUP/LEN" for
    multicast destinations, "own ADDR/128" for IPv6 link-local ones."""
    seen = set()
    flows, _ = load(path)
    for key in flows:
        for word in key[1].split():
            if not word.startswith("dst="):
                continue
            try:
                addr = ipaddress.ip_address(word[4:])
            except ValueError:
                break
            bits = 32 if addr.version == 4 else 128
            if addr.is_multicast:
                line = "join %s/%d" % (addr, bits)
            elif addr.version == 6 and addr.is_link_local:
                line = "own %s/%d" % (addr, bits)
            else:
                break
            if line not in seen:
                seen.add(line)
                print(line)
            break


def main():
    if sys.argv[1] == "--local":
        local(sys.argv[2])
        return
    wire = None
    if sys.argv[1] == "--wire":
        wire = refused(sys.argv[2])
        del sys.argv[1:3]
    (kernel, kx), (ours, ox) = load(sys.argv[1]), load(sys.argv[2])
    keys = set(kernel) | set(ours)
    agree = [k for k in keys if kernel.get(k) == ours.get(k)]
    only_k = [k for k in keys if k not in ours]
    only_o = [k for k in keys if k not in kernel]
    mcast = [k for k in only_o if multicast(k) and not martian(k)]
    mart = [k for k in only_o if martian(k)]
    # Packets whose IPv4 options the IP layer refuses: the kernel drops
    # them before confirming a flow; live, they never reach a queue rule
    # in INPUT or FORWARD either. Only a replay sees them.
    opts = [k for k in only_o if not martian(k) and not multicast(k) and
            wire and (k[0], frozenset(
                w[4:] for w in k[1].split()
                if w.startswith(("src=", "dst=")))) in wire]
    differ = [k for k in keys
              if k in kernel and k in ours and kernel[k] != ours[k]]
    # UDP becomes assured when replies go on past two seconds: replayed
    # in real time, packets a few milliseconds from that mark can land on
    # either side of it. Such flows are counted apart, not hidden.
    timing = [k for k in differ
              if k[0] == "17" and kernel[k][0] == ours[k][0] and
              kernel[k][1].replace("[ASSURED]", "").strip() ==
              ours[k][1].replace("[ASSURED]", "").strip()]
    both = [k for k in keys if k in kernel and k in ours]
    counted = [k for k in both if kx[k][0] and ox[k][0]]
    counters = [k for k in counted if kx[k][0] == ox[k][0]]
    timer = [k for k in both
             if abs(kx[k][1] - ox[k][1]) <= TOLERANCE]
    print("flows=%d agree=%d only_kernel=%d only_ours=%d differ=%d "
          "udp_timing=%d multicast=%d martian=%d ip_options=%d both=%d "
          "counted=%d counters=%d timer=%d" %
          (len(keys), len(agree), len(only_k), len(only_o), len(differ),
           len(timing), len(mcast), len(mart), len(opts), len(both),
           len(counted), len(counters), len(timer)))
    for k in sorted(set(counted) - set(counters)):
        print("counters proto %s %s: kernel %s, ours %s" %
              (k[0], k[1], " ".join(kx[k][0]), " ".join(ox[k][0])))
    for k in sorted(set(both) - set(timer)):
        print("timer proto %s %s %s: kernel %d s left, ours %d" %
              (k[0], k[1], kernel[k][0], kx[k][1], ox[k][1]))
    for k in sorted(differ):
        print("differ proto %s %s: kernel %s, ours %s" %
              (k[0], k[1], " ".join(kernel[k]).strip(),
               " ".join(ours[k]).strip()))
    for k in sorted(only_k):
        print("only_kernel proto %s %s %s" % (k[0], k[1],
                                              " ".join(kernel[k]).strip()))
    for k in sorted(only_o):
        print("only_ours proto %s %s %s" % (k[0], k[1],
                                            " ".join(ours[k]).strip()))


if __name__ == "__main__":
    main()
