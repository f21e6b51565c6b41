#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""sendmsg/recvmsg/poll between AF_RDS sockets of one host (upstream's loop
transport): loopback and local interface addresses, errnos, peek/trunc,
timeouts, congestion, large messages, ordering. Runs unchanged on the C module
(`scripts/vm-run --rds c`) and on ours (`--rds rust`)."""

import errno
import hashlib
import os
import random
import select
import socket
import struct
import threading
import time

from rds_helpers import Netns, Tap, errname, sh

tap = Tap()
LO = "127.0.0.1"


def rds(bind=None, port=0):
    s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    if bind:
        s.bind((bind, port))
    return s


def expect_err(fn, want, name):
    try:
        fn()
        got = 0
    except OSError as e:
        got = e.errno
    return tap.check(got == want, name, f"got {errname(got)}, want {errname(want)}")


def congestion(a, b, dst, where):
    """A receiver b that does not read makes the non-blocking sender a get
    ENOBUFS; reading drains it; a blocking sender waits instead."""
    payload = bytes(1000)
    sent, err = 0, 0
    a.setblocking(False)
    for _ in range(100000):
        try:
            a.sendto(payload, dst)
            sent += 1
        except OSError as e:
            err = e.errno
            break
    if not tap.check(err == errno.ENOBUFS and sent > 0,
                     f"{where}: non-blocking sender to a full port gets ENOBUFS after {sent}",
                     errname(err)):
        return
    recvd = 0
    while True:
        try:
            b.recv(2000, socket.MSG_DONTWAIT)
            recvd += 1
        except BlockingIOError:
            break
    tap.check(recvd == sent, f"{where}: every message sent before ENOBUFS is received",
              f"{recvd}/{sent}")
    tap.check(a.sendto(payload, dst) == 1000, f"{where}: sending works again once the receiver read")
    b.recv(2000)
    a.setblocking(True)

    n = sent + 50
    t = threading.Thread(target=lambda: [a.sendto(payload, dst) for _ in range(n)])
    t.start()
    recvd = 0
    b.settimeout(5)
    try:
        while recvd < n:
            b.recv(2000)
            recvd += 1
    except OSError:
        pass
    t.join(5)
    b.settimeout(None)
    tap.check(recvd == n and not t.is_alive(),
              f"{where}: blocking sender beyond the limit completes ({recvd}/{n})")


a, b = rds(LO, 4100), rds(LO, 4101)
a.sendto(b"hello", (LO, 4101))
data, src = b.recvfrom(100)
tap.check(data == b"hello" and src == (LO, 4100), "sendto/recvfrom over loopback",
          f"{data!r} from {src}")

# Errors before anything is sent.
u = rds()
expect_err(lambda: u.sendto(b"x", (LO, 4101)), errno.ENOTCONN, "send from an unbound socket -> ENOTCONN")
expect_err(lambda: a.send(b"x"), errno.ENOTCONN, "send without destination or connect -> ENOTCONN")
expect_err(lambda: a.sendto(b"x", ("0.0.0.0", 4101)), errno.EINVAL, "sendto 0.0.0.0 -> EINVAL")
expect_err(lambda: a.sendto(b"x", ("224.0.0.1", 4101)), errno.EINVAL, "sendto multicast -> EINVAL")
expect_err(lambda: a.sendmsg([b"x"], [], socket.MSG_OOB, (LO, 4101)), errno.EOPNOTSUPP,
           "sendmsg MSG_OOB -> EOPNOTSUPP")
expect_err(lambda: a.sendmsg([b"x"], [(276, 1, b"\0" * 48)], 0, (LO, 4101)), errno.EINVAL,
           "sendmsg with an RDMA cmsg on a non-RDMA socket -> EINVAL")
sndbuf = a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
expect_err(lambda: a.sendto(bytes(sndbuf // 2 + 1), (LO, 4101)), errno.EMSGSIZE,
           f"payload over half SO_SNDBUF ({sndbuf // 2 + 1}) -> EMSGSIZE")
sh("sysctl -qw net.core.wmem_max=8388608 net.core.rmem_max=8388608")
big = rds(LO, 4102)
big.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
expect_err(lambda: big.sendto(bytes((1 << 20) + 1), (LO, 4101)), errno.EMSGSIZE,
           "payload over 1 MiB -> EMSGSIZE")
u.close()

# connect() gives a default destination.
expect_err(lambda: a.connect(("0.0.0.0", 1)), errno.EDESTADDRREQ, "connect 0.0.0.0 -> EDESTADDRREQ")
a.connect((LO, 4101))
tap.check(a.getpeername() == (LO, 4101), "getpeername after connect", a.getpeername())
a.send(b"connected")
tap.check(b.recv(100) == b"connected", "send after connect reaches the peer")

# Peek, truncation, MSG_TRUNC.
a.send(b"0123456789")
tap.check(b.recv(100, socket.MSG_PEEK) == b"0123456789", "MSG_PEEK returns the message")
data, _, flags, _ = b.recvmsg(4)
tap.check(data == b"0123" and flags & socket.MSG_TRUNC, "short read truncates and sets MSG_TRUNC",
          f"{data!r} flags {flags:#x}")
a.send(b"0123456789")
buf = bytearray(4)
n = b.recv_into(buf, 4, socket.MSG_TRUNC)
tap.check(n == 10 and buf == b"0123", "recv with MSG_TRUNC returns the full length", n)

# Non-blocking and timed-out receive.
expect_err(lambda: b.recv(100, socket.MSG_DONTWAIT), errno.EAGAIN, "empty non-blocking recv -> EAGAIN")
b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
t0 = time.monotonic()
try:
    b.recv(100)
    got = 0
except OSError as e:
    got = e.errno
tap.check(got in (errno.ETIMEDOUT, errno.EAGAIN) and time.monotonic() - t0 >= 0.15,
          "recv with SO_RCVTIMEO 200 ms times out", f"{errname(got)} after {time.monotonic() - t0:.2f}s")
b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))

# A blocked reader is woken by a sender in another thread.
got = []
reader = threading.Thread(target=lambda: got.append(b.recv(100)))
reader.start()
time.sleep(0.2)
a.send(b"wake up")
reader.join(5)
tap.check(got == [b"wake up"], "a blocked recv wakes when a message arrives", got)

# poll/epoll readiness.
ep = select.epoll()
ep.register(b, select.EPOLLIN | select.EPOLLRDNORM | select.EPOLLOUT)
ev = dict(ep.poll(0))
tap.check(ev.get(b.fileno(), 0) & select.EPOLLOUT and not ev.get(b.fileno(), 0) & select.EPOLLIN,
          "epoll: idle socket is writable, not readable", ev)
a.send(b"ready")
ev = dict(ep.poll(1))
tap.check(ev.get(b.fileno(), 0) & (select.EPOLLIN | select.EPOLLRDNORM) ==
          select.EPOLLIN | select.EPOLLRDNORM, "epoll: EPOLLIN|EPOLLRDNORM once a message is queued", ev)
b.recv(100)
ep.close()

# Port 0 answers pings with an empty pong from port 0 (rds-ping).
a.sendto(b"", (LO, 0))
tap.check(a.recvfrom(10) == (b"", (LO, 0)), "local ping to port 0 is answered from port 0")

# Self-send and unbound destination.
a.sendto(b"me", (LO, 4100))
tap.check(a.recvfrom(10) == (b"me", (LO, 4100)), "a socket sends to itself")
tap.check(a.sendto(b"void", (LO, 4999)) == 4, "send to an unbound port succeeds (dropped)")
expect_err(lambda: b.recv(100, socket.MSG_DONTWAIT), errno.EAGAIN, "nothing arrives from the dropped send")

# Messages of random sizes up to 1 MiB arrive in order, intact.
big.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
sink = rds(LO, 4103)
sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
rng = random.Random(1)
sizes = [0, 1, 1 << 20] + [rng.choice([rng.randrange(64), rng.randrange(70000)]) for _ in range(300)]
hs, hr, ok = hashlib.sha256(), hashlib.sha256(), True
for i, size in enumerate(sizes):
    msg = rng.randbytes(size)
    hs.update(msg)
    big.sendto(msg, (LO, 4103))
    got, src = sink.recvfrom(1 << 21)
    hr.update(got)
    ok &= len(got) == size and src == (LO, 4102)
tap.check(ok and hs.digest() == hr.digest(), f"{len(sizes)} messages of 0 B to 1 MiB arrive intact")

# Upstream never congests a receiver bound to a loopback address: its queue
# grows without bound (Documentation/upstream-bugs.rst). Ours does congest.
if os.environ.get("RDS_IMPL") == "c":
    tap.skip("loopback: non-blocking sender to a full port gets ENOBUFS",
             "upstream: loopback-bound receivers never congest")
else:
    congestion(a, b, (LO, 4101), "loopback")

for s in (a, b, big, sink):
    s.close()

# Addresses of a local interface go through memory too.
ns = Netns("rdsL")
try:
    ns.run("ip link add dummy0 type veth peer name dummy1")
    ns.run("ip link set dummy0 up")
    ns.run("ip addr add 192.0.2.1/24 dev dummy0")
    with ns:
        x, y = rds("192.0.2.1", 5000), rds("192.0.2.1", 5001)
        x.sendto(b"local", ("192.0.2.1", 5001))
        y.settimeout(5)
        try:
            got = y.recvfrom(10)
        except OSError as e:
            got = e
        tap.check(got == (b"local", ("192.0.2.1", 5000)), "delivery to a local interface address", got)
        y.settimeout(None)
        congestion(x, y, ("192.0.2.1", 5001), "interface address")
        x.close()
        y.close()
finally:
    ns.delete()

tap.finish()
