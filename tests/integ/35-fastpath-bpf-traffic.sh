#!/bin/bash
# 31-fastpath-traffic.sh with fastpath_carrier = bpf: the same real
# traffic under the shipped rules and the stateful rules, death, reload,
# flush, limits and queues, the flows carried in the BPF carrier's map
# (src/carrier.bpf.c) through the rules nfqtrackd adds to its table;
# bpftool reads the map where 31 reads the sets.
command -v bpftool >/dev/null ||
	{ echo "# 35-fastpath-bpf-traffic: skipped: no bpftool (make deps installs it)"; exit 77; }
NFQT_CARRIER=bpf exec "$(dirname "$0")/31-fastpath-traffic.sh" "$@"
