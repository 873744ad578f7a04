#!/usr/bin/python3
"""exec_rate.py - MULTI/EXEC throughput of one groved (tests/bench/bench_exec.sh).

  exec_rate.py PORT CLIENTS SECONDS PID
      CLIENTS threads, one connection each, send MULTI, INCR a, INCR b,
      EXEC in one write and read the 4 replies, for SECONDS seconds.
      Prints "execs/s N  cpu_us/exec C": N transactions per second over all
      clients, C the server's CPU time (utime + stime of /proc/PID/stat) per
      transaction.
Standard library only.
"""
import os
import socket
import sys
import threading
import time

REQ = b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
# +OK, +QUEUED, +QUEUED, *2 :n :n  (the counters' digits vary)


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def main():
    port, clients, secs, pid = (int(a) for a in sys.argv[1:5])
    stop = time.monotonic() + secs
    counts = [0] * clients

    def client(i):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while time.monotonic() < stop:
            s.sendall(REQ)
            while buf.count(b"\r\n") < 6:  # +OK +QUEUED +QUEUED *2 :x :y
                d = s.recv(4096)
                if not d:
                    return
                buf += d
            assert buf.startswith(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:"), buf
            buf = buf.split(b"\r\n", 6)[6]
            counts[i] += 1
        s.close()

    t0 = time.monotonic()
    c0 = cpu_ticks(pid)
    ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.monotonic() - t0
    cpu = (cpu_ticks(pid) - c0) / os.sysconf("SC_CLK_TCK")
    n = sum(counts)
    print("execs/s %.0f  cpu_us/exec %.0f" % (n / el, 1e6 * cpu / max(n, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
