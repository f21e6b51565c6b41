#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Allocation failures injected into rds_rs's own allocations, at random.

failslab and fail_page_alloc (debugfs) fail one allocation in ten whose call
stack passes through rds_rs's code (the stack-trace filter, set to the
module's text from /proc/kallsyms): its own messages, connections and
buffers, and what the kernel allocates on its behalf (TCP segments of its
sends, sockets it creates or accepts), but not the pages of a process's own
memory that a copy from or to it faults in. Meanwhile, in namespaces rdsA and rdsB
joined by veth, for SECONDS seconds:

  - streams: two sockets in rdsA send numbered, hash-checked messages (0 B to
    64 KiB) to two in rdsB, non-blocking; a send that fails must fail with an
    errno of lack of memory or space (ENOMEM, ENOBUFS, EAGAIN);
  - churn: sockets opened, bound, given options, asked for RDS_INFO_*,
    used for a message to themselves (loopback) and closed, again and again;
  - the TCP connections under RDS destroyed every 300 ms (SOCK_DESTROY), so
    connecting, accepting and resending happen under the failures too.

Then the faults stop, and every message whose send succeeded must arrive
exactly once and in order (nothing lost because an allocation failed after
TCP acknowledged its bytes); a fresh exchange must work; scripts/vm-run then
unloads the module (a leaked socket or reference fails that) and checks the
kernel log (and kmemleak, on the debug kernel).

    scripts/vm-run --rds rust -- selftests/fault_alloc.py [SECONDS]
"""

import errno
import faulthandler
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

from rds_helpers import (SOL_RDS, Killer, SockDiag, Tap, dump_state, info_count, module_refcnt, multipath, sh,
                         veth_namespaces)

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
DEBUGFS = "/sys/kernel/debug"
FAULTS = ("failslab", "fail_page_alloc")
PROBABILITY = 10  # percent of the allocations the filter lets through
BUDGET = 10**9  # `times`: what is left of it tells how many faults were injected
RDS_TCP_PORT = 16385
STREAMS = 2
NOMEM = {errno.ENOMEM, errno.ENOBUFS, errno.EAGAIN}
RDS_INFO_COUNTERS, RDS_INFO_CONNECTIONS, RDS_INFO_SOCKETS = 10000, 10001, 10005
RDS_CONG_MONITOR, RDS_RECVERR = 6, 5

tap = Tap()
rng = random.Random(int.from_bytes(os.urandom(4), "big"))


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read(path):
    with open(path) as f:
        return f.read().strip()


def module_text(name):
    """[start, end) of the module's code, from its symbols; None if the
    addresses are hidden (kptr_restrict)."""
    addrs = []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and parts[3] == f"[{name}]" and parts[1] in "tT":
                addrs.append(int(parts[0], 16))
    if not addrs or max(addrs) == 0:
        return None
    # The last function's size is not listed: a page covers it.
    return min(addrs), max(addrs) + 4096


def kernel_function(name):
    """[start, end) of a function of the kernel proper: to the next symbol."""
    addrs, start = [], None
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                addr = int(parts[0], 16)
                addrs.append(addr)
                if parts[2] == name:
                    start = addr
    if start is None:
        return None
    return start, min((a for a in addrs if a > start), default=start + 4096)


def arm(text, reject):
    for f in FAULTS:
        d = f"{DEBUGFS}/{f}"
        write(f"{d}/probability", 0)
        write(f"{d}/interval", 1)
        write(f"{d}/times", BUDGET)
        write(f"{d}/space", 0)
        write(f"{d}/verbose", 0)
        write(f"{d}/task-filter", "N")
        write(f"{d}/ignore-gfp-wait", "N")
        write(f"{d}/stacktrace-depth", 32)
        write(f"{d}/require-start", text[0])
        write(f"{d}/require-end", text[1])
        write(f"{d}/reject-start", reject[0])
        write(f"{d}/reject-end", reject[1])
    write(f"{DEBUGFS}/failslab/cache-filter", "N")
    write(f"{DEBUGFS}/fail_page_alloc/ignore-gfp-highmem", "N")
    write(f"{DEBUGFS}/fail_page_alloc/min-order", 0)
    for f in FAULTS:
        write(f"{DEBUGFS}/{f}/probability", PROBABILITY)


def disarm():
    """Stops the faults; returns how many each injected."""
    injected = {}
    for f in FAULTS:
        write(f"{DEBUGFS}/{f}/probability", 0)
        injected[f] = BUDGET - int(read(f"{DEBUGFS}/{f}/times"))
    return injected


def payload(i):
    size = rng.choice((0, 1, 100, 1000, 4000, 9000, 65536)) if i % 3 else 1 + i % 2000
    body = hashlib.sha256(i.to_bytes(4, "big")).digest() * (size // 32 + 1)
    return struct.pack(">I", i) + body[:size]


def good(data):
    i = struct.unpack_from(">I", data)[0]
    body = data[4:]
    return i, body == (hashlib.sha256(i.to_bytes(4, "big")).digest() * (len(body) // 32 + 1))[: len(body)]


class Stream:
    """One sending socket in rdsA and one receiving socket in rdsB."""

    def __init__(self, a, b, k):
        with a:
            self.tx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
        with b:
            self.rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
        self.tx.bind(("192.0.2.1", 5000 + k))
        self.rx.bind(("192.0.2.2", 5000 + k))
        self.tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.rx.settimeout(0.5)
        self.dst = ("192.0.2.2", 5000 + k)
        self.sent, self.failed, self.bad_errno = [], 0, {}
        self.got, self.corrupt, self.disorder, self.last = [], 0, 0, -1

    def send_loop(self, stop):
        i = 0
        while not stop.is_set():
            try:
                self.tx.sendto(payload(i), socket.MSG_DONTWAIT, self.dst)
                self.sent.append(i)
            except OSError as e:
                self.failed += 1
                if e.errno not in NOMEM:
                    self.bad_errno[e.errno] = self.bad_errno.get(e.errno, 0) + 1
                time.sleep(0.002)
            i += 1

    def recv_loop(self, until):
        while time.monotonic() < until():
            try:
                data = self.rx.recv(1 << 17)
            except socket.timeout:
                continue
            i, ok = good(data)
            self.corrupt += not ok
            self.disorder += i <= self.last
            self.last = max(self.last, i)
            self.got.append(i)


def churn(a, stop, stats):
    """Sockets opened, configured, queried, used and closed, again and again."""
    port = 6000
    while not stop.is_set():
        port = 6000 + (port - 5999) % 500
        try:
            with a:
                s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
        except OSError as e:
            stats["socket"] += 1
            stats["bad"] += e.errno not in NOMEM
            continue
        try:
            ops = (lambda: s.bind(("192.0.2.1", port)),
                   lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16),
                   lambda: s.setsockopt(SOL_RDS, RDS_CONG_MONITOR, 1),
                   lambda: s.setsockopt(SOL_RDS, RDS_RECVERR, 1),
                   lambda: [info_count(s, o, 1) for o in (RDS_INFO_COUNTERS, RDS_INFO_CONNECTIONS,
                                                          RDS_INFO_SOCKETS)],
                   lambda: s.sendto(b"x" * rng.choice((0, 10, 3000, 20000)), socket.MSG_DONTWAIT,
                                    ("192.0.2.1", port)),
                   lambda: s.recv(1 << 16, socket.MSG_DONTWAIT),
                   # No one there: a connection that never comes up.
                   lambda: s.sendto(b"y", socket.MSG_DONTWAIT, ("192.0.2.3", 4000)))
            for op in ops:
                try:
                    op()
                    stats["ok"] += 1
                except OSError as e:
                    stats["failed"] += 1
                    if e.errno not in NOMEM:
                        stats["bad"] += 1
                        stats.setdefault("bad_errnos", set()).add(e.errno)
                    if op is ops[0]:
                        break  # Not bound: the rest would fail with ENOTCONN.
        finally:
            s.close()


def exchange_once(a, b, n=50):
    got = 0
    with a:
        tx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    try:
        tx.bind(("192.0.2.1", 4500))
        rx.bind(("192.0.2.2", 4500))
        # Room for all of them: all are sent before any is read, and a
        # receiver past half its buffer marks its port congested, which
        # blocks the sender (RDS congestion, working as it should).
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        rx.settimeout(30)
        tx.settimeout(30)
        msgs = [os.urandom(1 + 97 * k) for k in range(n)]
        for m in msgs:
            tx.sendto(m, ("192.0.2.2", 4500))
        got = 0
        for m in msgs:
            got += rx.recv(1 << 16) == m
        return got
    except OSError as e:
        print(f"# fresh exchange: {e}", flush=True)
        return got
    finally:
        tx.close()
        rx.close()


if not os.path.isdir(DEBUGFS + "/failslab"):
    os.system(f"mountpoint -q {DEBUGFS} || mount -t debugfs none {DEBUGFS}")
if not os.path.isdir(DEBUGFS + "/failslab"):
    tap.skip("allocation failures", "this kernel has no failslab (CONFIG_FAILSLAB)")
    tap.finish()
text = module_text("rds_rs")
# Not the page faults of a copy to or from user memory inside rds_rs's code:
# those fail the process's memory, not rds_rs's (EFAULT, or worse, for a
# buffer the process owns).
reject = kernel_function("exc_page_fault")
if text is None or reject is None:
    tap.skip("allocation failures", "rds_rs's addresses are hidden in /proc/kallsyms")
    tap.finish()

# A stuck call shows itself: every thread's Python stack, then the kernel
# stacks of this process's threads.
faulthandler.dump_traceback_later(seconds + 240, exit=False)
stacks = threading.Timer(seconds + 240, lambda: os.system(
    f"for t in /proc/{os.getpid()}/task/*; do echo \"# $t: $(cat $t/wchan)\"; sed 's/^/#   /' $t/stack; done"
))
stacks.daemon = True
stacks.start()
multipath(8)
sh("sysctl -qw net.core.wmem_max=8388608 net.core.rmem_max=8388608")
a = b = killer = None
try:
    a, b = veth_namespaces()
    diags = [SockDiag(a), SockDiag(b)]
    killer = Killer(diags, RDS_TCP_PORT, 0.3)
    streams = [Stream(a, b, k) for k in range(STREAMS)]
    # The connection is made before the faults start.
    streams[0].tx.sendto(payload(10**6), ("192.0.2.2", 5000))
    tap.check(good(streams[0].rx.recv(1 << 17))[0] == 10**6, "a first message arrives before the faults")

    stop = threading.Event()
    state = {"draining_until": None}
    stats = {"ok": 0, "failed": 0, "bad": 0, "socket": 0}

    def until():
        return state["draining_until"] or float("inf")

    threads = [threading.Thread(target=s.send_loop, args=(stop,)) for s in streams]
    threads += [threading.Thread(target=s.recv_loop, args=(until,)) for s in streams]
    threads.append(threading.Thread(target=churn, args=(a, stop, stats)))
    arm(text, reject)
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    injected = disarm()
    print(f"# {seconds:.0f} s of faults: injected {injected}; churn {stats}", flush=True)
    kill = killer.stop()
    killer = None
    print(f"# connections destroyed: {kill['destroyed']} in {kill['rounds']} rounds", flush=True)

    # Drain: what was sent must arrive; bounded by 120 s.
    deadline = time.monotonic() + 120
    state["draining_until"] = deadline
    while time.monotonic() < deadline and any(len(s.got) < len(s.sent) for s in streams):
        time.sleep(0.2)
    state["draining_until"] = time.monotonic()
    for t in threads:
        t.join(timeout=30)

    tap.check(injected["failslab"] > 0, "failslab injected failures into rds_rs's allocations",
              f"injected: {injected}")
    tap.check(all(not s.bad_errno for s in streams),
              "a failed send fails with ENOMEM, ENOBUFS or EAGAIN",
              "; ".join(f"stream {k}: {s.bad_errno}" for k, s in enumerate(streams)))
    tap.check(stats["bad"] == 0 and stats["ok"] > 0,
              "socket, bind, setsockopt, RDS_INFO, loopback send and receive fail only for lack of memory",
              f"{stats}")
    for k, s in enumerate(streams):
        lost = sorted(set(s.sent) - set(s.got))
        extra = len(s.got) - len(set(s.got))
        tap.check(s.sent and not lost and not extra and not s.corrupt and not s.disorder,
                  f"stream {k}: every message sent arrived once, in order, intact",
                  f"sent {len(s.sent)} (failed {s.failed}), received {len(s.got)}: lost {len(lost)} "
                  f"(first {lost[:10]}), duplicated {extra}, corrupt {s.corrupt}, out of order {s.disorder}")
        print(f"# stream {k}: sent {len(s.sent)}, send failures {s.failed}, received {len(s.got)}", flush=True)
    for s in streams:
        s.tx.close()
        s.rx.close()
    got = exchange_once(a, b)
    tap.check(got == 50, "after the faults, a fresh exchange of 50 messages works", f"{got}/50")
    # Every socket is closed: what still holds the module is a leak.
    deadline = time.monotonic() + 30
    while module_refcnt("rds_rs") and time.monotonic() < deadline:
        time.sleep(0.2)
    tap.check(module_refcnt("rds_rs") == 0, "no reference on the module once every socket is closed",
              f"{module_refcnt('rds_rs')} left")
    if tap.failed:
        dump_state([a, b])
finally:
    if os.path.isdir(DEBUGFS + "/failslab"):
        disarm()
    if killer:
        killer.stop()
    for ns in (a, b):
        if ns:
            ns.delete()
faulthandler.cancel_dump_traceback_later()
stacks.cancel()
tap.finish()
