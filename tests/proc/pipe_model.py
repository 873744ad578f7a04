#!/usr/bin/python3
"""pipe_model.py - pipelined clients against a model (tests/proc/test_node_pipeline.sh).

  pipe_model.py model PORT CLIENTS BURSTS SEED
      CLIENTS threads, one connection each, send BURSTS bursts of 1..32
      mixed commands each as one write (so a burst arrives in one read and
      runs as one pipelined unit), then read the burst's replies.  Each client
      works on keys of its own (registers, counters, sets, hashes; writes and
      reads of every kind interleaved, reads right after the writes they must
      see), so the reply Redis would give in that order on one node is known
      exactly; lists are pushed (LPUSH/RPUSH, several elements or one,
      LPUSHX/RPUSHX), popped (LPOP/RPOP, with a count or not) and read
      (LRANGE, LINDEX, LLEN) in the same bursts, sorted sets written
      (ZADD with its options, ZINCRBY, ZREM) and read (ZSCORE, ZCARD,
      ZRANK, ZREVRANK: one set grows past the counted index's 128
      members); every client also INCRs
      one shared counter.  Every reply is
      compared with the model's; at the end the shared counter must equal the
      number of INCRs sent to it.  Prints "ok ..." or "FAIL ..." lines and
      exits 1 on any mismatch.

  pipe_model.py burst PORT CLIENTS ACKFILE SEED
      CLIENTS threads pipeline single-element writes (SET w:C:I, SADD ws:C
      m:I, HSET wh:C f:I, INCR wc:C, RPUSH wl:C e:I, ZADD wz:C I m:I) in
      bursts of 16 until the connection
      fails (the server is killed), appending each acknowledged write to
      ACKFILE (flushed per burst) as "C I".

  pipe_model.py check PORT ACKFILE
      After a restart: every acknowledged write is there (GET, SISMEMBER,
      HGET, ZSCORE, the list's elements; each counter at least its
      acknowledged INCRs), and each client's set, hash, sorted set and list
      are consistent (SCARD / HLEN / ZCARD equal the members / fields
      present up to the highest index sent,
      LLEN the elements, which are in push order, each once): no command
      half-applied.

  pipe_model.py shared PORT PIPERS PLAINS ROUNDS SEED
      Writers of both kinds on the same collection keys at once: PIPERS
      threads pipeline bursts of 16 deferrable writes (SADD sh:s, HSET sh:h,
      RPUSH sh:l, ZADD sh:z of members of their own), ROUNDS bursts each,
      while PLAINS threads send one command at a time that does not defer
      (HINCRBY sh:h, SMOVE from a set of their own into sh:s, LPOP sh:l 1,
      ZPOPMIN sh:z), 4 x ROUNDS each.  Afterwards sh:s, sh:h, sh:l and sh:z
      hold exactly what was added and not popped (SMEMBERS, HKEYS, LRANGE,
      ZRANGE) and their counts (SCARD, HLEN, LLEN, ZCARD) agree, as does
      every member's ZRANK with its place in ZRANGE: a write that does not defer builds on the pipelined ones
      queued before it, and they on it.

  pipe_model.py bigreply PORT ROUNDS
      One connection sends, in one write, ROUNDS rounds of GET of a 200 KB
      value, INCR, SET and GET of a small key (reads, deferred writes and
      reads of them alternating), while reading nothing: the replies run far
      past the socket buffers and the server's output high mark, so they
      leave partly written and the rest once the socket drains.  Every reply
      must equal the model's, in order.
  pipe_model.py runs PORT ROUNDS MAXSYNCS
      One connection sends, in one write per round, runs of deferrable
      writes longer than a server batch (256 to 1,000 ZADDs of new
      members: some runs end where a batch does, 300
      SADDs, 200 ZADD XX CH) each followed by reads of what they wrote
      (ZCARD, ZRANK, SCARD): a run of several batches is written as one,
      and the read after it must wait for it.  Every reply must equal the
      model's, in order.  Then 2,048 ZADDs in one write: INFO's fsyncs
      may grow by at most MAXSYNCS (-1: not checked; durability none
      counts none).
Standard library only (Debian's /usr/bin/python3).
"""
import random
import socket
import sys
import threading


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, cmds):
        out = []
        for c in cmds:
            out.append(b"*%d\r\n" % len(c))
            for a in c:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return (t.decode(), rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                d = self.s.recv(65536)
                if not d:
                    raise ConnectionError("closed")
                self.buf += d
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("unexpected reply %r" % line)


OK = ("+", "OK")


class Model:
    """One client's keys, with Redis's answers."""

    def __init__(self, cid, rng):
        self.p = "m%d:" % cid
        self.rng = rng
        self.reg, self.ctr, self.sets, self.hashes, self.lists = {}, {}, {}, {}, {}
        self.zsets = {}
        self.seeded = False

    def zrank(self, z, m):
        """m's rank in z (a dict member -> score), Redis's (score, member) order."""
        return sorted((s, x) for x, s in z.items()).index((z[m], m))

    def next_zset(self):
        """A sorted-set command on one of the client's sorted sets: (command,
        reply).  z0 takes members from 400 names, so it passes 128 members
        (the counted index is built and its leaves split while pipelined
        writes of it are queued); z1 and z2 stay small.  Integral scores
        (Redis writes them without a decimal point)."""
        r = self.rng
        if not self.seeded:  # z0 starts with 140 members in one ZADD
            self.seeded = True
            key, cmd = self.p + "z0", ["ZADD", self.p + "z0"]
            z = self.zsets.setdefault(key, {})
            for j in range(140):
                z["m%d" % j] = r.randrange(-20, 100)
                cmd += [z["m%d" % j], "m%d" % j]
            return cmd, 140
        i = r.randrange(3)
        key = self.p + "z%d" % i
        z = self.zsets.setdefault(key, {})
        names = 400 if i == 0 else 8
        m = "m%d" % r.randrange(names)
        op = r.randrange(100)
        if op < 45:  # ZADD [NX|XX|GT|LT] [CH] of 1 or 2 members
            opt = r.choice([[], [], [], ["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["GT", "CH"]])
            pairs = [(r.randrange(-20, 100), m)]
            if r.randrange(4) == 0:
                pairs.append((r.randrange(-20, 100), "m%d" % r.randrange(names)))
            n = 0
            for s, x in pairs:
                cur = z.get(x)
                if cur is None:
                    if "XX" not in opt:
                        z[x] = s
                        n += 1
                elif "NX" not in opt and not ("GT" in opt and s <= cur) and \
                        not ("LT" in opt and s >= cur) and s != cur:
                    z[x] = s
                    n += "CH" in opt
            cmd = ["ZADD", key] + opt
            for s, x in pairs:
                cmd += [s, x]
            return cmd, n
        if op < 55:  # ZADD INCR or ZINCRBY
            d = r.randrange(-5, 6)
            cur = z.get(m)
            if r.randrange(2) == 0:
                z[m] = (cur or 0) + d
                return ["ZINCRBY", key, d, m], str(z[m])
            opt = r.choice([[], ["NX"], ["XX"]])
            if ("NX" in opt and cur is not None) or ("XX" in opt and cur is None):
                return ["ZADD", key] + opt + ["INCR", d, m], None
            z[m] = (cur or 0) + d
            return ["ZADD", key] + opt + ["INCR", d, m], str(z[m])
        if op < 65:
            had = m in z
            z.pop(m, None)
            return ["ZREM", key, m], int(had)
        if op < 75:
            return ["ZSCORE", key, m], str(z[m]) if m in z else None
        if op < 80:
            return ["ZCARD", key], len(z)
        if op < 95:
            return ["ZRANK", key, m], self.zrank(z, m) if m in z else None
        return ["ZREVRANK", key, m], len(z) - 1 - self.zrank(z, m) if m in z else None

    def next_list(self):
        """A list command on one of the client's lists: (command, reply)."""
        r = self.rng
        key = self.p + "l%d" % r.randrange(3)
        lst = self.lists.setdefault(key, [])
        op = r.randrange(100)
        if op < 40:
            left = r.randrange(2) == 0
            els = ["x%d" % r.randrange(1000) for _ in range(r.choice([1, 1, 1, 2, 3]))]
            for e in els:
                lst.insert(0, e) if left else lst.append(e)
            return ["LPUSH" if left else "RPUSH", key] + els, len(lst)
        if op < 46:
            left = r.randrange(2) == 0
            e = "y%d" % r.randrange(1000)
            if not lst:
                return ["LPUSHX" if left else "RPUSHX", key, e], 0
            lst.insert(0, e) if left else lst.append(e)
            return ["LPUSHX" if left else "RPUSHX", key, e], len(lst)
        if op < 62:
            left = r.randrange(2) == 0
            name = "LPOP" if left else "RPOP"
            if r.randrange(3) == 0:
                n = r.randrange(0, 4)
                if not lst:
                    return [name, key, n], None
                got = [lst.pop(0 if left else -1) for _ in range(min(n, len(lst)))]
                return [name, key, n], got
            return [name, key], lst.pop(0 if left else -1) if lst else None
        if op < 82:
            start, stop = r.choice([(0, -1), (0, 2), (-3, -1), (1, 3), (2, 1)])
            n = len(lst)
            a = max(start + n, 0) if start < 0 else start
            b = stop + n if stop < 0 else min(stop, n - 1)
            return ["LRANGE", key, start, stop], lst[a:b + 1] if a <= b else []
        if op < 90:
            i = r.choice([0, -1, 1, 5])
            ok = -len(lst) <= i < len(lst)
            return ["LINDEX", key, i], lst[i] if ok else None
        return ["LLEN", key], len(lst)

    def next(self):
        r, p = self.rng, self.p
        if r.randrange(4) == 0:
            return self.next_list()
        if r.randrange(3) == 0 or not self.seeded:
            return self.next_zset()
        k = r.randrange(4)
        op = r.randrange(100)
        if op < 12:
            key = p + "r%d" % k
            v = "v%d" % r.randrange(1000)
            self.reg[key] = v
            return ["SET", key, v], OK
        if op < 20:
            key = p + "r%d" % k
            return ["GET", key], self.reg.get(key)
        if op < 32:
            key = p + "n%d" % k
            # a counter whose sum is 0 reads as absent in Grove (unlike
            # Redis): keep the sums positive
            cur = self.ctr.get(key, 0)
            d = r.choice([1, r.randrange(1, 50), -1 if cur > 1 else 1, -r.randrange(0, cur) if cur > 1 else 2])
            self.ctr[key] = self.ctr.get(key, 0) + d
            cmd = ["INCR", key] if d == 1 else ["DECR", key] if d == -1 else ["INCRBY", key, d]
            return cmd, self.ctr[key]
        if op < 38:
            key = p + "n%d" % k
            return ["GET", key], str(self.ctr[key]) if key in self.ctr else None
        if op < 50:
            key, m = p + "s%d" % k, "e%d" % r.randrange(8)
            s = self.sets.setdefault(key, set())
            new = m not in s
            s.add(m)
            return ["SADD", key, m], int(new)
        if op < 55:
            key, m = p + "s%d" % k, "e%d" % r.randrange(8)
            s = self.sets.setdefault(key, set())
            had = m in s
            s.discard(m)
            return ["SREM", key, m], int(had)
        if op < 62:
            key, m = p + "s%d" % k, "e%d" % r.randrange(8)
            return ["SISMEMBER", key, m], int(m in self.sets.get(key, set()))
        if op < 65:
            key = p + "s%d" % k
            return ["SCARD", key], len(self.sets.get(key, set()))
        if op < 77:
            key, f = p + "h%d" % k, "f%d" % r.randrange(8)
            v = "x%d" % r.randrange(1000)
            h = self.hashes.setdefault(key, {})
            new = f not in h
            h[f] = v
            return ["HSET", key, f, v], int(new)
        if op < 81:
            key, f = p + "h%d" % k, "f%d" % r.randrange(8)
            h = self.hashes.setdefault(key, {})
            had = f in h
            h.pop(f, None)
            return ["HDEL", key, f], int(had)
        if op < 88:
            key, f = p + "h%d" % k, "f%d" % r.randrange(8)
            return ["HGET", key, f], self.hashes.get(key, {}).get(f)
        if op < 91:
            key = p + "h%d" % k
            return ["HLEN", key], len(self.hashes.get(key, {}))
        if op < 94:
            key = p + r.choice("rnshlz") + "%d" % k
            return ["EXISTS", key], int(self.exists(key))
        key = p + r.choice("rnshlz") + "%d" % k
        had = self.exists(key)
        for d in (self.reg, self.ctr, self.sets, self.hashes, self.lists, self.zsets):
            d.pop(key, None)
        return ["DEL", key], int(had)

    def exists(self, key):
        return (key in self.reg or key in self.ctr or bool(self.sets.get(key))
                or bool(self.hashes.get(key)) or bool(self.lists.get(key))
                or bool(self.zsets.get(key)))


def run_together(*groups):
    """Runs fn(0..n-1) for every (fn, n) of groups, each on its own thread,
    and returns once all have ended."""
    ts = [threading.Thread(target=fn, args=(i,)) for fn, n in groups for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def run_model(port, clients, bursts, seed):
    errors, shared = [], [0]
    lock = threading.Lock()

    def client(cid):
        rng = random.Random(seed * 1000 + cid)
        m, c = Model(cid, rng), Conn(port)
        for b in range(bursts):
            cmds, want = [], []
            for _ in range(rng.randrange(1, 33)):
                if rng.randrange(10) == 0:
                    cmds.append(["INCR", "shared"])
                    want.append(None)  # its value depends on the other clients
                    with lock:
                        shared[0] += 1
                    continue
                cmd, w = m.next()
                cmds.append(cmd)
                want.append(w)
            c.send(cmds)
            for cmd, w in zip(cmds, want):
                got = c.reply()
                if cmd[1] == "shared":
                    if not isinstance(got, int):
                        with lock:
                            errors.append("client %d burst %d %s: %r" % (cid, b, cmd, got))
                elif got != w:
                    with lock:
                        errors.append("client %d burst %d %s: got %r, want %r" % (cid, b, cmd, got, w))

    run_together((client, clients))
    c = Conn(port)
    c.send([["GET", "shared"]])
    total = c.reply()
    for e in errors[:10]:
        print("FAIL " + e)
    if total != str(shared[0]):
        print("FAIL shared counter %r, want %d" % (total, shared[0]))
        errors.append("shared")
    if not errors:
        print("ok %d clients x %d bursts: every reply equals the model's; shared counter %s"
              % (clients, bursts, total))
    return 1 if errors else 0


def run_shared(port, pipers, plains, rounds, seed):
    errors, popped, zpopped, lock = [], [], [], threading.Lock()

    def zscore(m):
        return sum(m.encode()) % 97

    def err(msg):
        with lock:
            errors.append(msg)

    def piper(cid):
        rng, c = random.Random(seed * 1000 + cid), Conn(port)
        for b in range(rounds):
            cmds = []
            for i in range(16):
                m = "p%d:%d:%d" % (cid, b, i)
                cmds.append(rng.choice([["SADD", "sh:s", m], ["HSET", "sh:h", m, "v"],
                                        ["RPUSH", "sh:l", m], ["ZADD", "sh:z", zscore(m), m]]))
            c.send(cmds)
            for cmd in cmds:
                got = c.reply()
                if not isinstance(got, int) or (cmd[0] != "RPUSH" and got != 1):
                    err("piper %d %s: %r" % (cid, cmd, got))

    def plain(cid):
        rng, c = random.Random(seed * 1000 + 500 + cid), Conn(port)
        for j in range(4 * rounds):
            m, op = "q%d:%d" % (cid, j), rng.randrange(4)
            if op == 3:
                c.send([["ZPOPMIN", "sh:z"]])  # does not defer
                got = c.reply()
                if got:
                    with lock:
                        zpopped.append(got[0])
            elif op == 0:
                c.send([["HINCRBY", "sh:h", m, 1]])
                got = c.reply()
                if got != 1:
                    err("plain %d HINCRBY %s: %r" % (cid, m, got))
            elif op == 1:
                c.send([["SADD", "sh:src%d" % cid, m], ["SMOVE", "sh:src%d" % cid, "sh:s", m]])
                got = [c.reply(), c.reply()]
                if got != [1, 1]:
                    err("plain %d SMOVE %s: %r" % (cid, m, got))
            else:
                c.send([["LPOP", "sh:l", 1]])  # with a count: does not defer
                got = c.reply()
                if got is not None:
                    with lock:
                        popped.extend(got)

    run_together((piper, pipers), (plain, plains))
    c = Conn(port)
    c.send([["SMEMBERS", "sh:s"], ["SCARD", "sh:s"], ["HKEYS", "sh:h"], ["HLEN", "sh:h"],
            ["LRANGE", "sh:l", 0, -1], ["LLEN", "sh:l"]])
    smem, scard, hkeys, hlen, lrange, llen = [c.reply() for _ in range(6)]
    c.send([["ZRANGE", "sh:z", 0, -1], ["ZCARD", "sh:z"]])
    zmem, zcard = c.reply(), c.reply()
    c.send([["ZRANK", "sh:z", m] for m in zmem or []])
    zranks = [c.reply() for _ in zmem or []]
    sw, hw, lw, zw = set(), set(), [], set()
    # what the writers added: replay their choices (same seeds)
    for cid in range(pipers):
        rng = random.Random(seed * 1000 + cid)
        for b in range(rounds):
            for i in range(16):
                m = "p%d:%d:%d" % (cid, b, i)
                k = rng.choice(["s", "h", "l", "z"])
                (sw.add(m) if k == "s" else hw.add(m) if k == "h" else lw.append(m) if k == "l"
                 else zw.add(m))
    for cid in range(plains):
        rng = random.Random(seed * 1000 + 500 + cid)
        for j in range(4 * rounds):
            m, op = "q%d:%d" % (cid, j), rng.randrange(4)
            if op == 0:
                hw.add(m)
            elif op == 1:
                sw.add(m)
    lw_left = sorted(set(lw) - set(popped))
    if len(popped) != len(set(popped)) or not set(popped) <= set(lw):
        errors.append("LPOP returned %d elements, %d distinct, some never pushed?"
                      % (len(popped), len(set(popped))))
    if set(smem or []) != sw or scard != len(sw):
        errors.append("sh:s: %d members, SCARD %r, want %d" % (len(smem or []), scard, len(sw)))
    if set(hkeys or []) != hw or hlen != len(hw):
        errors.append("sh:h: %d fields, HLEN %r, want %d" % (len(hkeys or []), hlen, len(hw)))
    if sorted(lrange or []) != lw_left or llen != len(lw_left):
        errors.append("sh:l: %d elements, LLEN %r, want %d" % (len(lrange or []), llen, len(lw_left)))
    zw_left = sorted(zw - set(zpopped), key=lambda m: (zscore(m), m))
    if len(zpopped) != len(set(zpopped)) or not set(zpopped) <= zw:
        errors.append("ZPOPMIN returned %d members, %d distinct, some never added?"
                      % (len(zpopped), len(set(zpopped))))
    if zmem != zw_left or zcard != len(zw_left):
        errors.append("sh:z: %d members, ZCARD %r, want %d" % (len(zmem or []), zcard, len(zw_left)))
    if zranks != list(range(len(zmem or []))):
        errors.append("sh:z: ZRANK differs from the ZRANGE position")
    for e in errors[:10]:
        print("FAIL " + e)
    if not errors:
        print("ok %d pipelined and %d plain writers on shared keys: set %d, hash %d, list %d (%d popped), "
              "sorted set %d (%d popped)" % (pipers, plains, len(sw), len(hw), len(lw_left), len(popped),
                                            len(zw_left), len(zpopped)))
    return 1 if errors else 0


def run_burst(port, clients, ackfile, seed):
    out = open(ackfile, "a")
    lock = threading.Lock()

    def client(cid):
        try:
            c = Conn(port)
            i = 0
            while True:
                cmds = []
                for j in range(i, i + 16):
                    cmds += [["SET", "w:%d:%d" % (cid, j), "v%d" % j],
                             ["SADD", "ws:%d" % cid, "m:%d" % j],
                             ["HSET", "wh:%d" % cid, "f:%d" % j, "v%d" % j],
                             ["INCR", "wc:%d" % cid],
                             ["RPUSH", "wl:%d" % cid, "e:%d" % j],
                             ["ZADD", "wz:%d" % cid, j, "m:%d" % j]]
                c.send(cmds)
                acked = []
                for k in range(len(cmds)):
                    r = c.reply()
                    if k % 6 == 5:  # the 6 writes of index j all answered
                        acked.append(i + k // 6)
                with lock:
                    out.write("".join("%d %d\n" % (cid, j) for j in acked))
                    out.flush()
                i += 16
        except (ConnectionError, OSError, ValueError):
            pass

    run_together((client, clients))
    return 0


def run_check(port, ackfile):
    acked = {}
    for line in open(ackfile):
        cid, j = map(int, line.split())
        acked.setdefault(cid, set()).add(j)
    c, bad, n = Conn(port), [], 0
    for cid, js in sorted(acked.items()):
        top, js = max(js), sorted(js)
        # one pipeline per client: the acknowledged writes, the counter,
        # every index up to past the highest sent, then the counts
        cmds = []
        for j in js:
            cmds += [["GET", "w:%d:%d" % (cid, j)], ["SISMEMBER", "ws:%d" % cid, "m:%d" % j],
                     ["HGET", "wh:%d" % cid, "f:%d" % j], ["ZSCORE", "wz:%d" % cid, "m:%d" % j]]
        cmds.append(["GET", "wc:%d" % cid])
        for j in range(top + 64):
            cmds += [["SISMEMBER", "ws:%d" % cid, "m:%d" % j], ["HEXISTS", "wh:%d" % cid, "f:%d" % j],
                     ["ZSCORE", "wz:%d" % cid, "m:%d" % j]]
        cmds += [["SCARD", "ws:%d" % cid], ["HLEN", "wh:%d" % cid], ["ZCARD", "wz:%d" % cid]]
        cmds += [["LRANGE", "wl:%d" % cid, 0, -1], ["LLEN", "wl:%d" % cid]]
        c.send(cmds)
        for j in js:
            got = [c.reply(), c.reply(), c.reply(), c.reply()]
            n += 1
            if got != ["v%d" % j, 1, "v%d" % j, str(j)]:
                bad.append("client %d write %d lost: %r" % (cid, j, got))
        ctr = int(c.reply() or 0)
        if ctr < len(js):
            bad.append("client %d counter %d < %d acknowledged INCRs" % (cid, ctr, len(js)))
        members = fields = zmembers = 0
        for j in range(top + 64):
            members += c.reply()
            fields += c.reply()
            zmembers += c.reply() is not None
        card, hlen, zcard = c.reply(), c.reply(), c.reply()
        if card != members or hlen != fields or zcard != zmembers:
            bad.append("client %d: SCARD %d vs %d members, HLEN %d vs %d fields, ZCARD %d vs %d"
                       % (cid, card, members, hlen, fields, zcard, zmembers))
        elems, llen = c.reply(), c.reply()
        idx = [int(e.split(":")[1]) for e in elems]
        if llen != len(elems) or idx != sorted(set(idx)):
            bad.append("client %d: LLEN %d, list not %d elements in push order, each once"
                       % (cid, llen, len(elems)))
        lost = set(js) - set(idx)
        if lost:
            bad.append("client %d: acknowledged RPUSH of %d lost" % (cid, min(lost)))
    for b in bad[:10]:
        print("FAIL " + b)
    if not bad:
        print("ok %d acknowledged writes of %d clients all there; counts consistent" % (n, len(acked)))
    return 1 if bad or n == 0 else 0


def run_bigreply(port, rounds):
    c = Conn(port)
    big = "".join("%07d," % i for i in range(25000))  # 200,000 bytes
    c.send([["DEL", "big:v", "big:c"], ["SET", "big:v", big]])
    if c.reply() is None or c.reply() != OK:
        print("FAIL SET big:v")
        return 1
    cmds, want = [], []
    for i in range(rounds):
        cmds += [["GET", "big:v"], ["INCR", "big:c"], ["SET", "big:s:%d" % i, "v%d" % i],
                 ["GET", "big:s:%d" % i]]
        want += [big, i + 1, OK, "v%d" % i]
    c.send(cmds)
    for n, w in enumerate(want):
        got = c.reply()
        if got != w:
            print("FAIL reply %d of %d: %r, want %r" % (n, len(want), str(got)[:40], str(w)[:40]))
            return 1
    print("ok %d replies (%d bytes of GET big:v) equal the model's" % (len(want), rounds * len(big)))
    return 0


def info_field(c, field):
    c.send([["INFO", "storage"]])
    for ln in c.reply().split("\r\n"):
        if ln.startswith(field + ":"):
            return int(ln.split(":", 1)[1])
    return None


def run_runs(port, rounds, maxsyncs):
    c = Conn(port)
    for r in range(rounds):
        z, st = "runs:z%d" % r, "runs:s%d" % r
        cmds, want = [["DEL", z, st]], [0]
        nz = (700, 512, 300, 1000, 256, 640)[r % 6]  # some end a batch
        cmds += [["ZADD", z, i, "m%d" % i] for i in range(nz)]
        want += [1] * nz
        cmds += [["ZCARD", z], ["ZRANK", z, "m%d" % (nz - 1)], ["ZRANK", z, "m0"]]
        want += [nz, nz - 1, 0]
        cmds += [["SADD", st, "m%d" % i] for i in range(300)]
        want += [1] * 300
        cmds += [["SCARD", st]]
        want += [300]
        cmds += [["ZADD", z, "XX", "CH", -i, "m%d" % i] for i in range(1, 201)]
        want += [1] * 200
        cmds += [["ZRANK", z, "m200"], ["ZRANK", z, "m0"], ["ZCARD", z]]
        want += [0, 200, nz]
        c.send(cmds)
        for n, w in enumerate(want):
            got = c.reply()
            if got != w:
                print("FAIL round %d reply %d of %d (%r): %r, want %r" %
                      (r, n, len(want), cmds[n][:3], got, w))
                return 1
    print("ok %d rounds of long deferred runs, each read after them right" % rounds)
    before = info_field(c, "fsyncs")
    c.send([["ZADD", "runs:f", i, "m%d" % i] for i in range(2048)])
    for n in range(2048):
        got = c.reply()
        if got != 1:
            print("FAIL ZADD %d of 2048: %r" % (n, got))
            return 1
    syncs = info_field(c, "fsyncs") - before
    if maxsyncs >= 0 and syncs > maxsyncs:
        print("FAIL 2048 pipelined ZADDs took %d fsyncs, want at most %d" % (syncs, maxsyncs))
        return 1
    print("ok 2048 pipelined ZADDs in one write: %d fsyncs" % syncs)
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "model":
        return run_model(int(a[1]), int(a[2]), int(a[3]), int(a[4]))
    if len(a) == 5 and a[0] == "burst":
        return run_burst(int(a[1]), int(a[2]), a[3], int(a[4]))
    if len(a) == 6 and a[0] == "shared":
        return run_shared(int(a[1]), int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    if len(a) == 3 and a[0] == "bigreply":
        return run_bigreply(int(a[1]), int(a[2]))
    if len(a) == 4 and a[0] == "runs":
        return run_runs(int(a[1]), int(a[2]), int(a[3]))
    if len(a) == 3 and a[0] == "check":
        return run_check(int(a[1]), a[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
