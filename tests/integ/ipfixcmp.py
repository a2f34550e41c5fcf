#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The flows of `nfqtrackctl -o json list`, of `nfdump -o raw` and of
nfacctd's CSV (print plugin) as one table each, to compare (33-ipfix.sh).

  ipfixcmp.py list A.json [B.json...]   the flows, a later listing's
                                        counts over an earlier one's
  ipfixcmp.py nfdump RAW                the records, summed per flow (an
                                        active timeout's records and the
                                        last one add up), with the end
                                        reasons seen
  ipfixcmp.py nfacctd CSV               likewise; nfacctd reads no reverse
                                        element: the original direction
  ipfixcmp.py conntrack FILE            `conntrack -L` with nf_conntrack_acct:
                                        the kernel's count of the traffic

Each prints "proto src sport dst dport ipkt ibyt opkt obyt" lines, sorted;
nfdump's add " reasons=R,R" (flowEndReason values, in order seen), and
nfacctd's leave out the reply direction. ICMP's ports: 0 and "type.code".
"""
import csv
import json
import sys
from collections import OrderedDict

PROTO = {"1": "icmp", "6": "tcp", "17": "udp", "58": "icmp6"}


def from_list(paths):
    flows = OrderedDict()
    for p in paths:
        with open(p) as f:
            for fl in json.load(f):
                proto = PROTO.get(str(fl["protonum"]), str(fl["protonum"]))
                if proto in ("icmp", "icmp6"):
                    sport, dport = 0, "%d.%d" % (fl["type"], fl["code"])
                else:
                    sport, dport = fl.get("sport", 0), fl.get("dport", 0)
                key = (proto, fl["src"], str(sport), fl["dst"], str(dport))
                flows[key] = (fl["packets"], fl["bytes"],
                              fl["reply_packets"], fl["reply_bytes"])
    for k in sorted(flows):
        print(" ".join(k), *flows[k])


def from_nfdump(path):
    recs, cur = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Flow Record"):
                cur = {}
                recs.append(cur)
            elif cur is not None and "=" in line:
                k, v = line.split("=", 1)
                cur[k.strip()] = v.split()[0] if v.split() else ""
    flows = OrderedDict()
    for r in recs:
        proto = PROTO.get(r.get("proto", ""), r.get("proto", ""))
        if "ICMP" in r:
            sport, dport = "0", r["ICMP"]
        else:
            sport, dport = r.get("src port", "0"), r.get("dst port", "0")
        key = (proto, r["src addr"], sport, r["dst addr"], dport)
        c = flows.setdefault(key, [0, 0, 0, 0, []])
        c[0] += int(r.get("in packets", 0))
        c[1] += int(r.get("in bytes", 0))
        c[2] += int(r.get("out packets", 0))
        c[3] += int(r.get("out bytes", 0))
        c[4].append(str(int(r.get("end reason", "0"), 16)))
    for k in sorted(flows):
        c = flows[k]
        print(" ".join(k), *c[:4], "reasons=" + ",".join(c[4]))


def from_nfacctd(path):
    flows = OrderedDict()
    with open(path) as f:
        for row in csv.DictReader(f):
            if row.get("SRC_IP") in (None, "SRC_IP"):
                continue  # a header again (appended output)
            proto = row["PROTOCOL"].lower().replace("ipv6-icmp", "icmp6")
            key = (proto, row["SRC_IP"], row["SRC_PORT"], row["DST_IP"],
                   row["DST_PORT"])
            c = flows.setdefault(key, [0, 0])
            c[0] += int(row["PACKETS"])
            c[1] += int(row["BYTES"])
    for k in sorted(flows):
        print(" ".join(k), *flows[k])


def from_conntrack(path):
    flows = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) < 3:
                continue
            proto = PROTO.get(w[1], w[1])
            # Each key once per direction: the first is the original's.
            orig, reply = {}, {}
            for k, v in (x.split("=", 1) for x in w if "=" in x):
                (reply if k in orig else orig).setdefault(k, v)
            if proto in ("icmp", "icmp6"):
                sport, dport = "0", "%s.%s" % (orig["type"], orig["code"])
            else:
                sport, dport = orig.get("sport", "0"), orig.get("dport", "0")
            key = (proto, orig["src"], sport, orig["dst"], dport)
            flows[key] = (orig["packets"], orig["bytes"], reply["packets"],
                          reply["bytes"])
    for k in sorted(flows):
        print(" ".join(k), *flows[k])


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "list":
        from_list(args)
    elif what == "nfdump":
        from_nfdump(args[0])
    elif what == "nfacctd":
        from_nfacctd(args[0])
    elif what == "conntrack":
        from_conntrack(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
