#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""RDS over TCP between two network namespaces: both directions, both
address orders (the larger address sending first must make the smaller one
connect), IPv4 and IPv6, payloads up to 1 MiB checked by hash and order,
port-0 ping, and the net.rds.tcp sysctls whose writes reset connections.
Runs unchanged on the C module and on ours.

    ns "rdsA"  veth-a 192.0.2.1/24 2001:db8::1/64
      <-- veth -->
    ns "rdsB"  veth-b 192.0.2.2/24 2001:db8::2/64
"""

import ctypes
import errno
import hashlib
import random
import socket
import struct
import subprocess
import time

from rds_helpers import Netns, Tap, libc, sh, sockaddr_in6


tap = Tap()
sh("sysctl -qw net.core.wmem_max=8388608 net.core.rmem_max=8388608")


class Rds6:
    """An AF_RDS socket bound to an IPv6 address. CPython takes AF_RDS
    addresses as IPv4 pairs only, so bind/sendto/recvfrom go through libc."""

    def __init__(self, sock):
        self.s = sock

    def bind(self, addr, port):
        a = sockaddr_in6(addr, port)
        if libc.bind(self.s.fileno(), a, len(a)) != 0:
            raise OSError(ctypes.get_errno(), "bind")

    def sendto(self, msg, dst):
        a = sockaddr_in6(*dst)
        if libc.sendto(self.s.fileno(), msg, len(msg), 0, a, len(a)) < 0:
            raise OSError(ctypes.get_errno(), "sendto")

    def recvfrom(self, size):
        buf = ctypes.create_string_buffer(size)
        name = ctypes.create_string_buffer(128)
        nlen = ctypes.c_uint(128)
        n = libc.recvfrom(self.s.fileno(), buf, size, 0, name, ctypes.byref(nlen))
        if n < 0:
            raise OSError(ctypes.get_errno(), "recvfrom")
        raw = name.raw[: nlen.value]
        port = struct.unpack(">H", raw[2:4])[0]
        return buf.raw[:n], (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port)

    def close(self):
        self.s.close()


def rds(ns, family, addr, port):
    with ns:
        s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 20, 0))
    if family == socket.AF_INET6:
        s6 = Rds6(s)
        s6.bind(addr, port)
        return s6
    s.bind((addr, port))
    return s


def exchange(tx, rx, dst, src_addr, n, rng, name):
    """Sends n messages tx -> rx and checks they all arrive, in order, intact."""
    sizes = [rng.choice([0, 1, rng.randrange(1, 2000), rng.randrange(1, 70000)]) for _ in range(n)]
    sizes[n // 2] = (1 << 20) - 4  # with the 4-byte index: 1 MiB
    sent = hashlib.sha256()
    for i, size in enumerate(sizes):
        msg = i.to_bytes(4, "big") + rng.randbytes(size)
        sent.update(msg)
        tx.sendto(msg, dst)
    got, ok, err = hashlib.sha256(), True, ""
    for i in range(n):
        try:
            data, src = rx.recvfrom(2 << 20)
        except OSError as e:
            ok, err = False, f"message {i}: {e}"
            break
        got.update(data)
        if int.from_bytes(data[:4], "big") != i or src[0] != src_addr:
            ok, err = False, f"message {i}: got #{int.from_bytes(data[:4], 'big')} from {src}"
            break
    tap.check(ok and sent.digest() == got.digest(), f"{name}: {n} messages up to 1 MiB, in order, intact",
              err)


a, b = Netns("rdsA"), Netns("rdsB")
try:
    sh("ip link add veth-a netns rdsA type veth peer name veth-b netns rdsB")
    for ns, dev, v4, v6 in [(a, "veth-a", "192.0.2.1", "2001:db8::1"),
                            (b, "veth-b", "192.0.2.2", "2001:db8::2")]:
        ns.run("ip link set lo up")
        ns.run(f"ip link set {dev} up")
        ns.run(f"ip addr add {v4}/24 dev {dev}")
        ns.run(f"ip -6 addr add {v6}/64 dev {dev} nodad")

    for ns in (a, b):
        out = subprocess.run(f"ip netns exec {ns.name} sysctl -n net.rds.tcp.rds_tcp_sndbuf "
                             "net.rds.tcp.rds_tcp_rcvbuf", shell=True, capture_output=True, text=True)
        tap.check(out.returncode == 0 and out.stdout.split() == ["0", "0"],
                  f"{ns.name}: net.rds.tcp.rds_tcp_{{snd,rcv}}buf exist, 0 by default",
                  out.stdout + out.stderr)
    bad = subprocess.run("ip netns exec rdsA sysctl -qw net.rds.tcp.rds_tcp_sndbuf=1",
                         shell=True, capture_output=True)
    tap.check(bad.returncode != 0, "rds_tcp_sndbuf below the minimum is refused")

    rng = random.Random(7)
    for family, aa, ba in [(socket.AF_INET, "192.0.2.1", "192.0.2.2"),
                           (socket.AF_INET6, "2001:db8::1", "2001:db8::2")]:
        v = "IPv4" if family == socket.AF_INET else "IPv6"
        sa, sb = rds(a, family, aa, 4000), rds(b, family, ba, 4000)
        # The larger address sends first: it cannot initiate, only nudge.
        exchange(sb, sa, (aa, 4000), ba, 200, rng, f"{v} larger -> smaller first")
        exchange(sa, sb, (ba, 4000), aa, 200, rng, f"{v} smaller -> larger")
        # Writing the buffer sysctls resets the connections; nothing is lost.
        sh("ip netns exec rdsA sysctl -qw net.rds.tcp.rds_tcp_sndbuf=65536 net.rds.tcp.rds_tcp_rcvbuf=65536")
        sh("ip netns exec rdsB sysctl -qw net.rds.tcp.rds_tcp_sndbuf=65536 net.rds.tcp.rds_tcp_rcvbuf=65536")
        exchange(sa, sb, (ba, 4000), aa, 100, rng, f"{v} after the sysctl reset, smaller -> larger")
        exchange(sb, sa, (aa, 4000), ba, 100, rng, f"{v} after the sysctl reset, larger -> smaller")
        # Port 0 answers pings with an empty pong from port 0 (rds-ping).
        sa.sendto(b"", (ba, 0))
        try:
            data, src = sa.recvfrom(100)
            ok = data == b"" and src[0] == ba and src[1] == 0
        except OSError as e:
            ok, src = False, e
        tap.check(ok, f"{v} ping to port 0 is answered from port 0", src)
        sa.close()
        sb.close()

    # Connections that cannot be made: no route to the peer (the TCP connect
    # fails at once), and a bound address removed before the first send (the
    # TCP bind fails). The failed attempts must leave the transport working.
    # Non-blocking: a blocking send whose socket hashes to a path other than
    # 0 waits for the multipath handshake, forever on upstream
    # (Documentation/upstream-bugs.rst). Upstream queues it on path 0; rds_rs
    # answers EAGAIN until the handshake probe it sends is answered or overdue.
    a.run("ip addr add 192.0.2.11/24 dev veth-a")
    gone = rds(a, socket.AF_INET, "192.0.2.11", 4001)
    a.run("ip addr del 192.0.2.11/24 dev veth-a")
    sa = rds(a, socket.AF_INET, "192.0.2.1", 4000)
    sb = rds(b, socket.AF_INET, "192.0.2.2", 4000)
    for s, dst, what in [(sa, ("198.51.100.1", 4000), "to an address without a route"),
                         (gone, ("192.0.2.2", 4000), "from an address removed after bind")]:
        try:
            s.sendto(b"x", socket.MSG_DONTWAIT, dst)
            err = 0
        except OSError as e:
            err = e.errno
        tap.check(err in (0, errno.EAGAIN), f"a send {what} is queued or told to wait",
                  f"errno {err}")
    # Let the connection attempts run and fail (they back off from here).
    time.sleep(1)
    exchange(sa, sb, ("192.0.2.2", 4000), "192.0.2.1", 50, rng, "after failed connection attempts")
    for s in (gone, sa, sb):
        s.close()
finally:
    a.delete()
    b.delete()

tap.finish()
