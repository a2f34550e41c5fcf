#!/usr/bin/python3
# sysfilter.py SET... [+CALL...] -- COMMAND [ARG...]
#
# Run COMMAND with the system calls of SET failing with EPERM, as the
# unit's SystemCallFilter=~SET with SystemCallErrorNumber=EPERM makes
# them fail. A SET is a call's name or a systemd group (@privileged), as
# `systemd-analyze syscall-filter` lists it, groups in groups included.
# +CALL allows CALL again, as a later SystemCallFilter=CALL (a drop-in's)
# does.
# Only the deny list: the unit's allow list (@system-service) is wider
# than anything nfqtrackd calls. The filter is a real seccomp filter,
# loaded by libseccomp (ctypes: no build dependency) just before the exec;
# run it last, after setpriv, whose own calls the filter would deny.
import ctypes
import errno
import os
import subprocess
import sys

SCMP_ACT_ALLOW = 0x7FFF0000


def scmp_act_errno(e):
    return 0x00050000 | (e & 0xFFFF)


def expand(name, seen):
    """The calls of a name or a group, groups resolved recursively."""
    if not name.startswith("@"):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         check=True, capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if word and not word.startswith("#"):
            calls |= expand(word, seen)
    return calls


def main():
    if "--" not in sys.argv[2:]:
        sys.exit("usage: sysfilter.py SET... -- COMMAND [ARG...]")
    cut = sys.argv.index("--", 1)
    sets, cmd = sys.argv[1:cut], sys.argv[cut + 1:]
    if not sets or not cmd:
        sys.exit("usage: sysfilter.py SET... -- COMMAND [ARG...]")
    calls, seen = set(), set()
    for s in sets:
        if not s.startswith("+"):
            calls |= expand(s, seen)
    calls -= {s[1:] for s in sets if s.startswith("+")}
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                     ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        sys.exit("sysfilter.py: seccomp_init failed")
    denied = 0
    for name in sorted(calls):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr == -1:  # not a call of this architecture
            continue
        r = lib.seccomp_rule_add(ctx, scmp_act_errno(errno.EPERM), nr, 0)
        if r < 0:
            sys.exit(f"sysfilter.py: {name}: {os.strerror(-r)}")
        denied += 1
    if denied == 0:
        sys.exit("sysfilter.py: no system call to deny")
    r = lib.seccomp_load(ctx)
    if r < 0:
        sys.exit(f"sysfilter.py: seccomp_load: {os.strerror(-r)}")
    os.execvp(cmd[0], cmd)


main()
