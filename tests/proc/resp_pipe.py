#!/usr/bin/python3
"""resp_pipe.py - a small pipelined RESP client for collection fills.

Used by tests/bench/bench_collections.sh and tests/proc/test_collections*.sh
(run it with Debian's /usr/bin/python3; it needs only the standard library).
It writes one generated command per element index i in [FROM, TO) (every
STEP-th), keeping at most WINDOW commands unanswered on one connection, and
counts the replies in order: reply k answers command k, so the first ACKED
commands of the sequence are acknowledged and nothing after them is.

Commands (member and field names sort as their index):
  sadd KEY   SADD KEY m:%012d            srem KEY   SREM KEY m:%012d
  hset KEY   HSET KEY f:%012d %012d      hdel KEY   HDEL KEY f:%012d
  mix  S,H   SADD S m:%012d and HSET H f:%012d %012d, alternating per index
             (two commands per index)
  ssmall K  SADD K:%012d m:%012d with (i / 10, i % 10): sets of 10 members
  hsmall K  HSET K:%012d f:%012d %012d with (i / 10, i % 10, i)
  zadd KEY   ZADD KEY %012d m:%012d      with score (i * 7919) % 1000003
  zkeys KEY  ZADD KEY:%04d %012d m:%012d with ((i / 100) % 40, the score
             above, i): 40 sorted sets, each run of 100 indexes into the
             next; indexes [0, 40 n) give each n members (n a multiple of
             100), [40 m, 40 n) the members m to n of each
  lpush KEY  LPUSH KEY e:%012d           rpush KEY  RPUSH KEY e:%012d
redis-benchmark's __rand_int__ (-r) writes the same 12-digit numbers, so a
benchmark of SISMEMBER KEY m:__rand_int__ hits the members written here.

Output (stdout), one line each:
  mark ACKED ELAPSED_S         every (TO-FROM)/MARKS indexes acknowledged
  end REASON sent S acked A errors E elapsed T [first_error ...]
REASON: done | budget (--budget seconds passed; sending stopped, the
unanswered replies were drained for up to 5 s) | closed (the server closed
the connection or it failed).  --progress FILE: ACKED rewritten about every
50 ms.  Exit 0 done, 2 closed, 3 budget, 1 usage.
Only single-line replies (+, -, :) are expected; anything else is an error.
"""
import argparse
import os
import socket
import sys
import time

CHUNK = 500          # commands per send
ZKEYS = 40           # zkeys: sorted sets
ZKEYS_RUN = 100      # zkeys: indexes per key in a row


def template(op, key):
    """A bytes %-template of the command(s) for one index (its arguments:
    the index once, twice for hset and mix)."""
    def head(name, k, nargs):
        h = b'*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' % (nargs, len(name), name, len(k), k)
        return h.replace(b'%', b'%%')
    m = b'$14\r\nm:%012d\r\n'
    f = b'$14\r\nf:%012d\r\n'
    v = b'$12\r\n%012d\r\n'
    if op == 'sadd':
        return head(b'SADD', key, 3) + m
    if op in ('lpush', 'rpush'):
        return head(op.upper().encode(), key, 3) + b'$14\r\ne:%012d\r\n'
    if op == 'srem':
        return head(b'SREM', key, 3) + m
    if op == 'hset':
        return head(b'HSET', key, 4) + f + v
    if op == 'hdel':
        return head(b'HDEL', key, 3) + f
    if op == 'zadd':
        return head(b'ZADD', key, 4) + v + m
    if op == 'zkeys':
        z = head(b'ZADD', key + b':0000', 4)
        return z[:-len(b'0000\r\n')] + b'%04d\r\n' + v + m
    if op in ('ssmall', 'hsmall'):
        # the key's length with its 13-byte suffix ":%012d"
        small = head(b'SADD' if op == 'ssmall' else b'HSET', key + b':' + b'0' * 12,
                     3 if op == 'ssmall' else 4)
        small = small[:-len(b'000000000000\r\n')] + b'%012d\r\n'
        return small + (m if op == 'ssmall' else f + v)
    s, h = key.split(b',', 1)
    return head(b'SADD', s, 3) + m + head(b'HSET', h, 4) + f + v


def args(op, j):
    """The template's arguments for index j."""
    if op == 'ssmall':
        return (j // 10, j % 10)
    if op == 'hsmall':
        return (j // 10, j % 10, j)
    if op == 'zadd':
        return ((j * 7919) % 1000003, j)
    if op == 'zkeys':
        return ((j // ZKEYS_RUN) % ZKEYS, (j * 7919) % 1000003, j)
    if op in ('hset', 'mix'):
        return (j, j) if op == 'hset' else (j, j, j)
    return j


def chunks(op, key, first, last, step):
    """Yields (bytes, number of commands) for CHUNK indexes at a time."""
    t = template(op, key)
    per = 2 if op == 'mix' else 1
    i = first
    while i < last:
        end = min(last, i + CHUNK * step)
        idx = range(i, end, step)
        if op in ('sadd', 'srem', 'hdel', 'lpush', 'rpush'):
            data = b''.join([t % j for j in idx])
        else:
            data = b''.join([t % args(op, j) for j in idx])
        yield data, len(idx) * per
        i = end


class Counter:
    """Counts single-line replies across recv boundaries."""

    def __init__(self):
        self.acked = 0
        self.errors = 0
        self.first_error = None
        self.rest = b''
        self.bad = False

    def feed(self, data):
        buf = self.rest + data
        cut = buf.rfind(b'\n') + 1
        done, self.rest = buf[:cut], buf[cut:]
        if b'-' not in done and b'$' not in done and b'*' not in done:
            self.acked += done.count(b'\n')
            return
        for ln in done.split(b'\r\n')[:-1]:
            c = ln[:1]
            if c == b'-':
                self.errors += 1
                if self.first_error is None:
                    self.first_error = ln.decode('utf-8', 'replace')
            elif c not in (b':', b'+'):
                self.bad = True
                if self.first_error is None:
                    self.first_error = 'unexpected reply ' + ln[:60].decode('utf-8', 'replace')
                return
            self.acked += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('op', choices=['sadd', 'srem', 'hset', 'hdel', 'mix', 'ssmall', 'hsmall',
                                   'zadd', 'zkeys', 'lpush', 'rpush'])
    ap.add_argument('key')
    ap.add_argument('first', type=int)
    ap.add_argument('last', type=int)
    ap.add_argument('--step', type=int, default=1)
    ap.add_argument('--window', type=int, default=2000)
    ap.add_argument('--marks', type=int, default=0)
    ap.add_argument('--budget', type=float, default=0)
    ap.add_argument('--progress')
    ap.add_argument('--pregen', action='store_true',
                    help='encode every command before the clock starts')
    a = ap.parse_args()
    if a.step < 1 or a.window < CHUNK or a.last < a.first:
        ap.error('need step >= 1, window >= %d, last >= first' % CHUNK)
    key = a.key.encode()
    gen = chunks(a.op, key, a.first, a.last, a.step)
    if a.pregen:
        gen = iter(list(gen))
    per = 2 if a.op == 'mix' else 1
    total = len(range(a.first, a.last, a.step)) * per
    mark_every = max(1, total // a.marks) if a.marks else 0
    next_mark = mark_every
    sock = socket.create_connection((a.host, a.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cnt = Counter()
    sent = 0
    reason = 'done'
    last_progress = 0.0
    t0 = time.monotonic()
    pending = next(gen, None)
    try:
        while cnt.acked < total and not cnt.bad:
            now = time.monotonic()
            if a.budget and now - t0 > a.budget:
                reason = 'budget'
                break
            if pending is not None and sent - cnt.acked + pending[1] <= a.window:
                sock.sendall(pending[0])
                sent += pending[1]
                pending = next(gen, None)
                continue
            sock.settimeout(1.0)
            try:
                data = sock.recv(16384)
            except socket.timeout:
                continue
            if not data:
                reason = 'closed'
                break
            cnt.feed(data)
            while mark_every and cnt.acked >= next_mark:
                print('mark %d %.6f' % (next_mark, time.monotonic() - t0), flush=True)
                next_mark += mark_every
            if a.progress and now - last_progress > 0.05:
                last_progress = now
                with open(a.progress + '.tmp', 'w') as pf:
                    pf.write('%d\n' % cnt.acked)
                os.replace(a.progress + '.tmp', a.progress)
    except OSError:
        reason = 'closed'
    elapsed = time.monotonic() - t0
    if reason == 'budget':
        # Drain what is in flight, so the server is idle for the next phase.
        deadline = time.monotonic() + 5
        try:
            while cnt.acked < sent and time.monotonic() < deadline and not cnt.bad:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(16384)
                if not data:
                    break
                cnt.feed(data)
        except OSError:
            pass
    sock.close()
    if cnt.bad:
        reason = 'closed'
    if a.progress:
        with open(a.progress + '.tmp', 'w') as pf:
            pf.write('%d\n' % cnt.acked)
        os.replace(a.progress + '.tmp', a.progress)
    line = 'end %s sent %d acked %d errors %d elapsed %.6f' % (reason, sent, cnt.acked,
                                                              cnt.errors, elapsed)
    if cnt.first_error:
        line += ' first_error ' + cnt.first_error
    print(line, flush=True)
    return {'done': 0, 'closed': 2, 'budget': 3}[reason]


if __name__ == '__main__':
    sys.exit(main())
