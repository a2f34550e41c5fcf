# Helper of 19-ctl-abuse.sh: control socket clients that misbehave, each
# bounded in time, each printing one line that says what the daemon did
# to it.
#
#   ctlabuse.py huge PATH BYTES       BYTES of request with no newline:
#       "huge sent=N reply=FIRST_LINE" or "huge sent=N reply=closed"
#   ctlabuse.py garbage PATH BYTES    random bytes (newlines included):
#       "garbage reply=FIRST_LINE" or "garbage reply=closed"
#   ctlabuse.py half PATH N SECONDS   N clients each send half a request
#       and wait: "half connected=C closed=K" (K: closed by the daemon
#       within SECONDS)
#   ctlabuse.py many PATH N           N clients connected at once, then
#       each asks for the version: "many ok=A busy=B closed=C hung=H"
#   ctlabuse.py noread PATH N SECONDS N clients ask for the flow list and
#       never read it: "noread connected=C closed=K" (K: closed by the
#       daemon within SECONDS)
#   ctlabuse.py trickle PATH SECONDS  a request a byte every 0.5 s, for at
#       most SECONDS: "trickle sent=N reply=FIRST_LINE seconds=S"
import os
import select
import socket
import sys
import time


def connect(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def first_line(s, timeout=10.0):
    """The reply's first line, or "closed" if the daemon hung up first."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if b"\n" not in data:
        return "closed"
    return data.split(b"\n", 1)[0].decode("ascii", "replace")


def closed_by_peer(s):
    """True if the daemon has closed s (EOF or reset), without waiting."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(65536) == b""
    except OSError:
        return True


def huge(path, nbytes):
    s = connect(path)
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < nbytes:
            sent += s.send(chunk[: nbytes - sent])
    except OSError:
        pass  # the daemon gave up on us first: fine
    print(f"huge sent={sent} reply={first_line(s)}", flush=True)
    s.close()


def garbage(path, nbytes):
    s = connect(path)
    try:
        s.sendall(os.urandom(nbytes))
    except OSError:
        pass
    print(f"garbage reply={first_line(s)}", flush=True)
    s.close()


def wait_closed(socks, seconds):
    deadline = time.monotonic() + seconds
    closed = set()
    while time.monotonic() < deadline and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i not in closed and closed_by_peer(s):
                closed.add(i)
        time.sleep(0.1)
    return len(closed)


def half(path, n, seconds):
    socks = []
    for _ in range(n):
        try:
            s = connect(path)
            s.sendall(b"NFQT/1 sta")
            socks.append(s)
        except OSError:
            pass
    closed = wait_closed(socks, seconds)
    print(f"half connected={len(socks)} closed={closed}", flush=True)
    for s in socks:
        s.close()


def many(path, n):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(path))
        except OSError:
            pass
    for s in socks:
        try:
            s.sendall(b"NFQT/1 version\n")
        except OSError:
            pass  # turned away already: its reply is waiting
    counts = {"ok": 0, "busy": 0, "closed": 0, "hung": 0}
    for s in socks:
        line = first_line(s, 10.0)
        if line == "NFQT/1 OK":
            counts["ok"] += 1
        elif line.startswith("NFQT/1 ERR busy"):
            counts["busy"] += 1
        elif line == "closed":
            counts["closed"] += 1
        else:
            counts["hung"] += 1
        s.close()
    counts["closed"] += n - len(socks)  # never connected
    print("many " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


def noread(path, n, seconds):
    socks = []
    for _ in range(n):
        try:
            s = connect(path)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"NFQT/1 list\n")
            socks.append(s)
        except OSError:
            pass
    # Not reading: closed_by_peer reads, so only look once the time is up.
    time.sleep(seconds)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            while True:
                if s.recv(1 << 20) == b"":
                    closed += 1
                    break
        except BlockingIOError:
            pass  # data, no end: still open
        except OSError:
            closed += 1
    print(f"noread connected={len(socks)} closed={closed}", flush=True)
    for s in socks:
        s.close()


def trickle(path, seconds):
    """A request a byte every 0.5 s, for at most SECONDS."""
    s = connect(path)
    req = b"NFQT/1 version\n"
    start = time.monotonic()
    sent = 0
    while sent < len(req) and time.monotonic() - start < seconds:
        if select.select([s], [], [], 0)[0]:
            break  # an answer, or the end: first_line reads it
        try:
            sent += s.send(req[sent:sent + 1])
        except OSError:
            break
        time.sleep(0.5)
    line = first_line(s, 2.0)
    took = time.monotonic() - start
    print(f"trickle sent={sent} reply={line} seconds={took:.0f}", flush=True)
    s.close()


def main():
    mode, path = sys.argv[1], sys.argv[2]
    args = [int(a) for a in sys.argv[3:]]
    {"huge": huge, "garbage": garbage, "half": half, "many": many,
     "noread": noread, "trickle": trickle}[mode](path, *args)


main()
