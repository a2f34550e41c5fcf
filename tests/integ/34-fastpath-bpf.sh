#!/bin/bash
# 30-fastpath.sh with fastpath_carrier = bpf: the same flows, the same
# counters and lists, carried in the BPF carrier's map (src/carrier.bpf.c)
# through the rules nfqtrackd adds to its table; bpftool reads the map.
command -v bpftool >/dev/null ||
	{ echo "# 34-fastpath-bpf: skipped: no bpftool (make deps installs it)"; exit 77; }
NFQT_CARRIER=bpf exec "$(dirname "$0")/30-fastpath.sh" "$@"
