# Helper of 11-metrics.sh: HTTP clients that misbehave, each bounded in
# time, each printing one line that says what the server did to it.
#
#   badclients.py idle HOST PORT N SECONDS     N connections that never
#       send, held SECONDS: "idle connected=C early=E closed=K" (E: closed
#       by the server within a second, K: by the end)
#   badclients.py slow HOST PORT SECONDS       a request one byte a second:
#       "slow sent=N closed=yes|no"
#   badclients.py garbage HOST PORT BYTES      BYTES of random bytes and no
#       newline: "garbage status=CODE" or "garbage status=closed"
import os
import select
import socket
import sys
import time


def connect(host, port, timeout=2.0):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def closed_by_peer(s):
    """True if the server has closed s (EOF or reset), without waiting."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def idle(host, port, n, seconds):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(host, port))
        except OSError:
            pass
    time.sleep(1)
    early = sum(closed_by_peer(s) for s in socks)
    time.sleep(seconds - 1)
    closed = sum(closed_by_peer(s) for s in socks)
    print(f"idle connected={len(socks)} early={early} closed={closed}", flush=True)
    for s in socks:
        s.close()


def slow(host, port, seconds):
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 64
    s = connect(host, port)
    sent = 0
    closed = "no"
    for i in range(int(seconds)):
        if closed_by_peer(s):
            closed = "yes"
            break
        try:
            s.send(req[i:i + 1])
        except OSError:
            closed = "yes"
            break
        sent += 1
        time.sleep(1)
    print(f"slow sent={sent} closed={closed}", flush=True)
    s.close()


def garbage(host, port, nbytes):
    s = connect(host, port, 5.0)
    data = os.urandom(nbytes).replace(b"\n", b"x").replace(b"\r", b"x")
    try:
        s.sendall(data)
    except OSError:
        pass  # the server gave up on us first: fine
    status = "closed"
    s.settimeout(5.0)
    try:
        head = s.recv(64)
        if head.startswith(b"HTTP/1."):
            status = head.split()[1].decode()
    except OSError:
        pass
    print(f"garbage status={status}", flush=True)
    s.close()


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "idle":
        idle(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "slow":
        slow(host, port, float(sys.argv[4]))
    elif mode == "garbage":
        garbage(host, port, int(sys.argv[4]))
    else:
        sys.exit(f"unknown mode {mode}")


main()
