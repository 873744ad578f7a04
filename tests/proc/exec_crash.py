#!/usr/bin/python3
"""exec_crash.py - transactions under kill -9 (tests/proc/test_node_exec_crash.sh).

  exec_crash.py burst PORT CLIENTS ACKFILE
      CLIENTS threads, one connection each, send in one write per round
      MULTI, INCR a, GET a, INCR b, INCR c:C, SADD s:C m:I, EXEC (I: the
      client's round), until the connection fails (the server is killed).
      Every EXEC reply must show a and b moved together (the INCR replies
      equal: no other command in between) and GET a reading the INCR before
      it; each acknowledged round is appended to ACKFILE (flushed at once)
      as "C I A", A the value INCR a answered.  A reply that breaks a rule
      is written as "BAD ..." and the client stops.

  exec_crash.py check PORT ACKFILE
      After the restart, no transaction half-applied and every acknowledged
      one there: a == b == the sum of the c:C; for each client c:C equals
      SCARD s:C, is at least its acknowledged rounds and at most one more
      (the round in flight), and every acknowledged m:I is a member; a is at
      least the largest acknowledged A.  Prints "ok ..." or "FAIL ..." lines;
      exits 1 on any failure.
Standard library only (Debian's /usr/bin/python3).
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipe_model import Conn, run_together  # noqa: E402


def run_burst(port, clients, ackfile):
    out = open(ackfile, "a")
    lock = threading.Lock()

    def client(cid):
        try:
            c = Conn(port)
            i = 0
            while True:
                c.send([["MULTI"], ["INCR", "a"], ["GET", "a"], ["INCR", "b"],
                        ["INCR", "c:%d" % cid], ["SADD", "s:%d" % cid, "m:%d" % i],
                        ["EXEC"]])
                replies = [c.reply() for _ in range(7)]
                r = replies[6]
                ok = (replies[0] == ("+", "OK") and
                      all(q == ("+", "QUEUED") for q in replies[1:6]) and
                      isinstance(r, list) and len(r) == 5 and
                      r[0] == r[2] and r[1] == str(r[0]) and r[4] == 1)
                with lock:
                    if not ok:
                        out.write("BAD %d %d %r\n" % (cid, i, replies))
                        out.flush()
                        return
                    out.write("%d %d %d\n" % (cid, i, r[0]))
                    out.flush()
                i += 1
        except (ConnectionError, OSError, ValueError):
            pass

    run_together((client, clients))
    return 0


def run_check(port, ackfile):
    acked = {}
    top = 0
    bad = 0
    for line in open(ackfile):
        f = line.split()
        if f[0] == "BAD":
            print("FAIL during the burst: %s" % line.strip())
            bad += 1
            continue
        cid, i, a = int(f[0]), int(f[1]), int(f[2])
        acked.setdefault(cid, []).append(i)
        top = max(top, a)
    c = Conn(port)

    def ask(*cmd):
        c.send([list(cmd)])
        return c.reply()

    a = int(ask("GET", "a") or 0)
    b = int(ask("GET", "b") or 0)
    total = 0
    for cid in sorted(acked):
        n = int(ask("GET", "c:%d" % cid) or 0)
        card = ask("SCARD", "s:%d" % cid)
        total += n
        k = len(acked[cid])
        if n != card or not k <= n <= k + 1:
            print("FAIL client %d: c=%d SCARD=%d acknowledged=%d" % (cid, n, card, k))
            bad += 1
        missing = [i for i in acked[cid] if ask("SISMEMBER", "s:%d" % cid, "m:%d" % i) != 1]
        if missing:
            print("FAIL client %d: acknowledged members missing: %s" % (cid, missing[:5]))
            bad += 1
    if a != b or a != total or a < top:
        print("FAIL a=%d b=%d sum(c)=%d largest acknowledged a=%d" % (a, b, total, top))
        bad += 1
    if bad == 0:
        print("ok a=b=%d = sum of %d clients' rounds, %d acknowledged (largest a %d)"
              % (a, len(acked), sum(len(v) for v in acked.values()), top))
    return 1 if bad else 0


def main():
    if sys.argv[1] == "burst":
        return run_burst(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    if sys.argv[1] == "check":
        return run_check(int(sys.argv[2]), sys.argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
