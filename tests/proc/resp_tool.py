#!/usr/bin/python3
"""resp_tool.py - send a script of Redis commands to a server and print each
reply on one line, exactly typed, so that two servers' answers can be
compared (tests/proc/test_resp_compat.sh) or checked (test_node_multi.sh).

Usage: resp_tool.py PORT [--pipe] < SCRIPT

SCRIPT: one command per line, words split as a shell does (quotes and
backslash escapes); inside a word, \\xHH stands for the byte HH (binary
keys and values).  Blank lines and lines starting with '#' are skipped.  A
line "N> CMD ..." sends on connection N (1..9, default 1; each opened on
first use).  With --pipe, the commands are written as they are read and
the replies read at the end (as client libraries pipeline).

Output, one line per command, prefixed by the command's line number:
  +OK            simple string       -ERR text       error
  :5             integer             "bytes"         bulk (Python repr escapes)
  (nil)          null bulk           (nil-array)     null array
  [a, b]         array of the above, nested as needed
"""
import shlex
import socket
import sys


def encode(words):
    out = [b"*%d\r\n" % len(words)]
    for w in words:
        out.append(b"$%d\r\n%s\r\n" % (len(w), w))
    return b"".join(out)


def to_bytes(word):
    # \xHH escapes inside words give raw bytes (for binary keys and values)
    b = word.encode("utf-8", "surrogateescape")
    if b"\\x" not in b:
        return b
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i:i + 2] == b"\\x" and i + 4 <= len(b):
            out.append(int(b[i + 2:i + 4], 16))
            i += 4
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        i = self.buf.index(b"\r\n")
        ln, self.buf = self.buf[:i], self.buf[i + 2:]
        return ln

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        ln = self.line()
        kind, rest = ln[:1], ln[1:]
        if kind in (b"+", b"-"):
            return kind.decode() + rest.decode("utf-8", "replace")
        if kind == b":":
            return ":" + rest.decode()
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return "(nil)"
            return '"' + repr(self.exact(n))[2:-1].replace('"', '\\"') + '"'
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return "(nil-array)"
            return "[" + ", ".join(self.reply() for _ in range(n)) + "]"
        raise ValueError("bad reply line %r" % ln)


def main():
    port = int(sys.argv[1])
    pipe = "--pipe" in sys.argv[2:]
    conns = {}
    pending = {}  # conn -> [line numbers] (pipe mode)
    results = []
    for lineno, raw in enumerate(sys.stdin, 1):
        text = raw.rstrip("\n")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        cid = 1
        if len(text) > 2 and text[0].isdigit() and text[1] == ">":
            cid, text = int(text[0]), text[2:].lstrip()
        if cid not in conns:
            conns[cid] = Conn(port)
        words = [to_bytes(w) for w in shlex.split(text)]
        c = conns[cid]
        c.send(encode(words))
        if pipe:
            pending.setdefault(cid, []).append(lineno)
            continue
        try:
            results.append((lineno, c.reply()))
        except (EOFError, OSError) as e:
            results.append((lineno, "(closed: %s)" % e))
            del conns[cid]
    for cid, lines in pending.items():
        for lineno in lines:
            try:
                results.append((lineno, conns[cid].reply()))
            except (EOFError, OSError) as e:
                results.append((lineno, "(closed: %s)" % e))
    for lineno, r in sorted(results):
        print("%d %s" % (lineno, r))


if __name__ == "__main__":
    main()
