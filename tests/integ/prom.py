# Helper of 11-metrics.sh: reads Prometheus text with the official client's
# parser, the way a Prometheus server would judge it.
#
#   prom.py check FILE                  parses, every family has help and
#                                       type: prints the series count
#   prom.py value FILE SERIES           one series' value
#   prom.py stats S1.json FILE S2.json  each metric mirrored from
#                                       `nfqtrackctl -o json stats`, read
#                                       before (S1) and after (S2), lies
#                                       between the two (equal if they are)
#   prom.py same FILE1 FILE2            the same series; the same values but
#                                       for packet counters (FILE2 later)
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    series = {}
    for fam in text_string_to_metric_families(text):
        if not fam.documentation or fam.type not in ("counter", "gauge"):
            sys.exit(f"{fam.name}: no HELP, or a TYPE that is not counter or gauge")
        for s in fam.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            key = s.name + ("{" + labels + "}" if labels else "")
            if key in series:
                sys.exit(f"{key}: twice")
            series[key] = s.value
    if not series:
        sys.exit("no series")
    return series


def mirror(stats):
    """The series that mirror a counter of `nfqtrackctl stats`."""
    fixed = {
        "flows": "nfqtrack_flows",
        "flows_max": "nfqtrack_flows_max",
        "flows_exempt": "nfqtrack_flows_exempt",
        "sources": "nfqtrack_sources",
        "accepted": 'nfqtrack_packets_total{verdict="accept"}',
        "dropped": 'nfqtrack_packets_total{verdict="drop"}',
        "untracked": "nfqtrack_untracked_packets_total",
        "flows_created": "nfqtrack_flows_created_total",
        "flows_expired": "nfqtrack_flows_expired_total",
        "flows_flushed": "nfqtrack_flows_flushed_total",
        "queue_packets": "nfqtrack_queue_packets_total",
        "queue_enobufs": "nfqtrack_queue_enobufs_total",
        "kernel_queue_dropped": "nfqtrack_kernel_queue_dropped_total",
        "kernel_user_dropped": "nfqtrack_kernel_user_dropped_total",
        "reloads": "nfqtrack_config_reloads_total",
        "reload_errors": "nfqtrack_config_reload_errors_total",
        "ipfix_records": "nfqtrack_ipfix_records_total",
        "ipfix_records_lost": "nfqtrack_ipfix_records_lost_total",
        "ipfix_messages": "nfqtrack_ipfix_messages_total",
        "ipfix_templates": "nfqtrack_ipfix_templates_total",
    }
    prefixed = {
        "flows_": "nfqtrack_flows_by_protocol{protocol=\"%s\"}",
        "dropped_": "nfqtrack_drops_total{reason=\"%s\"}",
        "state_": "nfqtrack_packets_by_state_total{state=\"%s\"}",
        "would_drop_": "nfqtrack_would_drops_total{reason=\"%s\"}",
        "malformed_": "nfqtrack_malformed_packets_total{reason=\"%s\"}",
        "invalid_": "nfqtrack_invalid_packets_total{reason=\"%s\"}",
        "evicted_": "nfqtrack_flows_evicted_total{reason=\"%s\"}",
    }
    out = {}
    for k in stats:
        if k in fixed:
            out[k] = fixed[k]
            continue
        for p, fmt in prefixed.items():
            rest = k[len(p):]
            if k.startswith(p) and (p != "flows_" or rest in ("tcp", "udp", "icmp", "other")):
                out[k] = fmt % rest
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        print(len(load(sys.argv[2])))
    elif cmd == "value":
        v = load(sys.argv[2]).get(sys.argv[3])
        print("missing" if v is None else int(v))
    elif cmd == "stats":
        s1 = json.load(open(sys.argv[2]))
        m = load(sys.argv[3])
        s2 = json.load(open(sys.argv[4]))
        bad = []
        pairs = mirror(s1)
        for k, series in pairs.items():
            if series not in m:
                bad.append(f"{series} missing")
            elif not s1[k] <= m[series] <= s2[k]:
                bad.append(f"{series} = {m[series]}, stats {k} {s1[k]}..{s2[k]}")
        v = f'nfqtrack_build_info{{version="{s1["version"]}"}}'
        if m.get(v) != 1:
            bad.append(f"{v} missing")
        if bad:
            sys.exit("; ".join(bad))
        print(len(pairs))
    elif cmd == "same":
        a, b = load(sys.argv[2]), load(sys.argv[3])
        if set(a) != set(b):
            sys.exit(f"series differ: {sorted(set(a) ^ set(b))}")
        moving = ("nfqtrack_packets_total", "nfqtrack_untracked_packets_total",
                  "nfqtrack_packets_by_state_total",
                  "nfqtrack_queue_packets_total", "nfqtrack_kernel_queue_length")
        bad = [k for k in a if a[k] != b[k] and not k.startswith(moving)]
        bad += [k for k in a if k.startswith(moving) and b[k] < a[k] and "length" not in k]
        if bad:
            sys.exit(f"values differ: {bad}")
        print(len(a))
    else:
        sys.exit(f"unknown command {cmd}")


main()
