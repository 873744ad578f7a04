"""notify_listen.py SOCKET OUT [SECONDS] - a stand-in for systemd's notify
socket (tests/proc/test_node_service.sh): binds a unix datagram socket at
SOCKET ("@name": abstract namespace), appends every datagram received to
OUT (one per line, newlines inside shown as '|'), and exits after one that
holds STOPPING=1, or after SECONDS (default 60).  Writes 'listening' to
OUT.ready once bound.  Standard library only (Debian's /usr/bin/python3)."""
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 60.0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
with open(out + ".ready", "w") as f:
    f.write("listening\n")
while time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        data = s.recv(4096).decode("utf-8", "replace")
    except socket.timeout:
        break
    with open(out, "a") as f:
        f.write(data.replace("\n", "|") + "\n")
    if "STOPPING=1" in data.split("\n"):
        break
