#!/bin/bash
# 31-fastpath-traffic.sh with fastpath_carrier = bpf and
# fastpath_kernel_admit = yes: the same real traffic, death, reload,
# flush and limits, the flows carried in the BPF carrier's map (bpftool
# reads it where 31 reads the sets), new TCP connections admitted by the
# carrier's judge program within the budget the daemon grants and
# learned from its ring. The two-queue section runs without the key
# (it needs one queue): there the daemon admits every flow into the
# carrier, as with the key off.
command -v bpftool >/dev/null ||
	{ echo "# 35-fastpath-kernel-admit: skipped: no bpftool (make deps installs it)"; exit 77; }
NFQT_CARRIER=bpf NFQT_KADMIT=1 exec "$(dirname "$0")/31-fastpath-traffic.sh" "$@"
