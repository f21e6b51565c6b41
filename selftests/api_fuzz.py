#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile API input: a bounded random system-call fuzzer over PF_RDS sockets.

Four threads in namespace rdsA (192.0.2.1, veth to rdsB at 192.0.2.2) call,
at random, on a shared pool of RDS sockets that they also close and reopen
under each other's feet: bind (IPv4, IPv6, v4-mapped, any length and family
bytes), connect, sendmsg (to the other namespace, to ourselves, to nobody;
random sizes up to past the limit, random flags, random and malformed RDS and
socket cmsgs), recvmsg (random flags and buffer sizes), setsockopt and
getsockopt (every SOL_RDS option, socket options RDS handles, random lengths
and values, every RDS_INFO_* with random lengths), ioctls, poll, shutdown and
close. Every call is bounded (SO_SNDTIMEO/SO_RCVTIMEO of 20 ms, MSG_DONTWAIT
on receives), and any errno is acceptable: what must not happen is a crash,
a splat, a leak (scripts/vm-run unloads the module and reads the log), or a
module that no longer works, which the exchange at the end checks.

    selftests/api_fuzz.py [CALLS [SEED]]     # 100000 calls by default
"""

import collections
import ctypes
import errno
import os
import random
import select
import socket
import struct
import sys
import threading
import time

from rds_helpers import AF_RDS, SOL_RDS, Tap, dump_state, libc, veth_namespaces

calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else int.from_bytes(os.urandom(4), "big")
THREADS = 4
POOL = 16
DEADLINE = 900  # seconds: the whole fuzz, whatever CALLS says

SOL_SOCKET = socket.SOL_SOCKET
RDS_OPTS = list(range(0, 13))  # every SOL_RDS option (1-10) and a few beyond
INFO_OPTS = list(range(10000, 10018))
# Not SO_SNDTIMEO/SO_RCVTIMEO: their 20 ms is what bounds every call.
SOCK_OPTS = [socket.SO_SNDBUF, socket.SO_RCVBUF, 29, 63, 32, 33, 60,  # TIMESTAMP, FORCE, ZEROCOPY
             socket.SO_PRIORITY, socket.SO_REUSEADDR]
CMSG_TYPES = list(range(0, 14))
FLAGS = [0, socket.MSG_DONTWAIT, socket.MSG_PEEK, socket.MSG_TRUNC, socket.MSG_OOB,
         socket.MSG_CMSG_CLOEXEC, 0x4000000, socket.MSG_WAITALL, socket.MSG_ERRQUEUE]
IOCTLS = [0x89E0, 0x89E1, 0x541B, 0x8906, 0x8933, 0x89E2]
ADDRS4 = ["192.0.2.1", "192.0.2.2", "127.0.0.1", "0.0.0.0", "192.0.2.99", "255.255.255.255"]
ADDRS6 = ["::ffff:192.0.2.1", "::ffff:192.0.2.2", "::1", "::", "fe80::1", "2001:db8::1"]
PORTS = [0, 4000, 4001, 4002, 1, 65535]

libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.c_uint)]
libc.setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.connect.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
libc.bind.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
libc.shutdown.argtypes = [ctypes.c_int, ctypes.c_int]


def sa4(addr, port):
    return struct.pack("=H", socket.AF_INET) + struct.pack(">H", port) + socket.inet_aton(addr) + bytes(8)


def sa6(addr, port, scope=0):
    return (struct.pack("=H", socket.AF_INET6) + struct.pack(">HI", port, 0)
            + socket.inet_pton(socket.AF_INET6, addr) + struct.pack("=I", scope))


class Fuzzer:
    def __init__(self, rng):
        self.rng = rng
        self.lock = threading.Lock()
        self.pool = [-1] * POOL
        self.errnos = collections.Counter()
        self.ops = collections.Counter()
        self.done = 0
        self.stop = False

    # Values ---------------------------------------------------------------

    def blob(self, r, limit=64):
        kind = r.randrange(4)
        if kind == 0:
            return b""
        if kind == 1:
            return struct.pack("=i", r.choice([0, 1, -1, 2, 1 << 20, 0x7FFFFFFF, r.randrange(1 << 16)]))
        if kind == 2:
            return struct.pack("=q", r.randrange(-(1 << 63), 1 << 63))
        return os.urandom(r.randrange(limit))

    def addr(self, r):
        k = r.randrange(5)
        if k == 0:
            return sa4(r.choice(ADDRS4), r.choice(PORTS))
        if k == 1:
            return sa6(r.choice(ADDRS6), r.choice(PORTS), r.choice([0, 0, 1, 2, 99]))
        if k == 2:
            a = sa4(r.choice(ADDRS4), r.choice(PORTS))
            return a[: r.randrange(len(a) + 1)]
        if k == 3:
            return struct.pack("=H", r.choice([0, AF_RDS, socket.AF_UNIX, 0xFFFF])) + os.urandom(r.randrange(30))
        return os.urandom(r.randrange(40))

    def cmsgs(self, r):
        out = []
        for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
            level = r.choice([SOL_RDS, SOL_RDS, SOL_SOCKET, 0, 1234])
            out.append((level, r.choice(CMSG_TYPES), self.blob(r, 200)))
        return out

    # Calls ----------------------------------------------------------------

    def fd(self, r):
        i = r.randrange(POOL)
        fd = self.pool[i]
        if fd < 0:
            fd = libc.socket(AF_RDS, socket.SOCK_SEQPACKET, 0)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "socket")
            tv = struct.pack("=qq", 0, 20000)
            for opt in (socket.SO_SNDTIMEO, socket.SO_RCVTIMEO):
                libc.setsockopt(fd, SOL_SOCKET, opt, tv, len(tv))
            with self.lock:
                if self.pool[i] < 0:
                    self.pool[i] = fd
                else:
                    os.close(fd)
                    fd = self.pool[i]
        return i, fd

    def call(self, r):
        i, fd = self.fd(r)
        op = r.choices(
            ["bind", "connect", "send", "recv", "setsockopt", "getsockopt", "info", "ioctl",
             "poll", "shutdown", "close", "getname"],
            weights=[8, 3, 30, 20, 12, 6, 5, 3, 3, 1, 4, 2])[0]
        self.ops[op] += 1
        if op == "bind":
            a = self.addr(r)
            buf = ctypes.create_string_buffer(a, max(len(a), 1))
            rc = libc.bind(fd, buf, r.choice([len(a), len(a), 16, 28, 0, 200]))
        elif op == "connect":
            a = self.addr(r)
            buf = ctypes.create_string_buffer(a, max(len(a), 1))
            rc = libc.connect(fd, buf, len(a))
        elif op == "send":
            size = r.choice([0, 1, 64, 1000, 8192, 65536, 1 << 20, (1 << 20) + 1, r.randrange(5000)])
            dst = r.choice([("192.0.2.2", 4000), ("192.0.2.1", 4000), ("127.0.0.1", 4001),
                            ("192.0.2.99", 4000), ("192.0.2.2", 0), ("::ffff:192.0.2.2", 4000)])
            flags = r.choice(FLAGS) | r.choice([0, socket.MSG_DONTWAIT])
            s = socket.socket(fileno=os.dup(fd))
            try:
                fam_dst = dst if ":" not in dst[0] else (dst[0], dst[1], 0, 0)
                s.sendmsg([bytes(size)], self.cmsgs(r), flags, fam_dst)
                rc = 0
            except OSError as e:
                rc = -1
                ctypes.set_errno(e.errno or 0)
            except (ValueError, TypeError):
                rc = 0
            finally:
                s.close()
        elif op == "recv":
            s = socket.socket(fileno=os.dup(fd))
            try:
                s.recvmsg(r.choice([0, 1, 16, 4096, 1 << 16]), r.choice([0, 16, 64, 1024]),
                          r.choice(FLAGS) | socket.MSG_DONTWAIT)
                rc = 0
            except OSError as e:
                rc = -1
                ctypes.set_errno(e.errno or 0)
            finally:
                s.close()
        elif op == "setsockopt":
            level = r.choice([SOL_RDS, SOL_RDS, SOL_SOCKET])
            opt = r.choice(RDS_OPTS if level == SOL_RDS else SOCK_OPTS)
            v = self.blob(r, 200)
            buf = ctypes.create_string_buffer(v, max(len(v), 1))
            rc = libc.setsockopt(fd, level, opt, buf, r.choice([len(v), len(v), 0, 3, 4, 1000]))
        elif op in ("getsockopt", "info"):
            level = SOL_RDS if op == "info" else r.choice([SOL_RDS, SOL_SOCKET])
            opt = r.choice(INFO_OPTS if op == "info" else (RDS_OPTS if level == SOL_RDS else SOCK_OPTS))
            n = r.choice([0, 1, 4, 8, 64, 1024, 4096, 65536])
            buf = ctypes.create_string_buffer(max(n, 1))
            ln = ctypes.c_uint(n)
            rc = libc.getsockopt(fd, level, opt, buf, ctypes.byref(ln))
        elif op == "ioctl":
            buf = ctypes.create_string_buffer(64)
            ctypes.memmove(buf, os.urandom(64), 64)
            rc = libc.ioctl(fd, r.choice(IOCTLS), buf)
        elif op == "poll":
            p = select.poll()
            p.register(fd, select.POLLIN | select.POLLOUT | select.POLLPRI)
            p.poll(0)
            rc = 0
        elif op == "shutdown":
            rc = libc.shutdown(fd, r.randrange(4))
        elif op == "getname":
            buf = ctypes.create_string_buffer(128)
            ln = ctypes.c_uint(128)
            fn = libc.getpeername if r.randrange(2) else libc.getsockname
            rc = fn(fd, buf, ctypes.byref(ln))
        else:
            with self.lock:
                if self.pool[i] == fd:
                    self.pool[i] = -1
                    os.close(fd)
            rc = 0
        return 0 if rc >= 0 else ctypes.get_errno()

    def run(self, tid, share, deadline):
        r = random.Random(seed * 31 + tid)
        for _ in range(share):
            if self.stop or time.monotonic() > deadline:
                return
            try:
                e = self.call(r)
            except OSError as ex:
                # An fd closed by another thread (EBADF), or socket() refused.
                e = ex.errno or 0
            with self.lock:
                self.errnos[errno.errorcode.get(e, str(e)) if e else "0"] += 1
                self.done += 1


def exchange(a, b):
    """A clean message each way between fresh sockets of rdsA and rdsB."""
    with a:
        sa = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        sb = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    try:
        sa.bind(("192.0.2.1", 5000))
        sb.bind(("192.0.2.2", 5000))
        sa.settimeout(30)
        sb.settimeout(30)
        step = "rdsA to rdsB"
        sa.sendto(b"after the fuzz a", ("192.0.2.2", 5000))
        got_b = sb.recvfrom(100)
        step = "rdsB to rdsA"
        sb.sendto(b"after the fuzz b", ("192.0.2.1", 5000))
        got_a = sa.recvfrom(100)
        return got_b == (b"after the fuzz a", ("192.0.2.1", 5000)) and \
            got_a == (b"after the fuzz b", ("192.0.2.2", 5000)), f"{got_b!r} {got_a!r}"
    except OSError as e:
        return False, f"{step}: {e}"
    finally:
        sa.close()
        sb.close()


tap = Tap()
a = b = None
try:
    a, b = veth_namespaces()
    # Someone to receive in rdsB, so that sends over TCP are delivered (and
    # its receive queue fills: congestion), and in rdsA on loopback.
    with b:
        sink = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    sink.bind(("192.0.2.2", 4000))
    fz = Fuzzer(random.Random(seed))
    start = time.monotonic()
    with a:
        threads = [threading.Thread(target=fz.run, args=(t, calls // THREADS + (t < calls % THREADS),
                                                         start + DEADLINE)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.monotonic() - start
    for fd in fz.pool:
        if fd >= 0:
            os.close(fd)
    sink.close()
    common = ", ".join(f"{k} {v}" for k, v in fz.errnos.most_common(8))
    print(f"# seed {seed}; operations: " + ", ".join(f"{k} {v}" for k, v in sorted(fz.ops.items())))
    print(f"# results: {common}")
    tap.check(fz.done == calls, f"{fz.done}/{calls} random calls on PF_RDS sockets from {THREADS} threads "
              f"in {elapsed:.0f} s (seed {seed})",
              f"stopped at the {DEADLINE} s deadline")
    ok, detail = exchange(a, b)
    tap.check(ok, "afterwards, fresh sockets exchange a message each way", detail)
    if not ok:
        dump_state([a, b])
finally:
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
