#!/usr/bin/python3
"""dgramsink SOCKET OUT SECONDS: bind a Unix datagram socket at SOCKET and
write each datagram that arrives to OUT as one JSON line
{"t": seconds since start, "fields": {KEY: VALUE}} (KEY=VALUE lines, as
systemd's notification and journal protocols send them), for SECONDS at
most. Used by the tests as systemd's and journald's stand-in."""
import json
import os
import socket
import sys
import time

path, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
start = time.monotonic()
with open(out, "a", buffering=1) as f:
    while time.monotonic() - start < seconds:
        sock.settimeout(max(0.01, seconds - (time.monotonic() - start)))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        fields = {}
        for line in data.decode("utf-8", "replace").split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        f.write(json.dumps({"t": round(time.monotonic() - start, 3),
                            "fields": fields}) + "\n")
