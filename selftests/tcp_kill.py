#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Exactly once, in order, while the TCP connections under RDS are killed
(`ss -K`) every 100 ms: N messages (1 B to 4 KiB, one in 1000 of 1 MiB) flow
from rdsA to rdsB; every one must arrive once, in order, hash-checked.

The kills are SOCK_DESTROY requests (rds_helpers.SockDiag) from one child
process forked at the start, not `ss -K` processes: under TCG two spawns of
`ip netns exec ... ss -K` took about 2 s, so rounds came every 2 s instead of
every 100 ms.

    ns "rdsA" veth-a 192.0.2.1/24 <-- veth --> veth-b 192.0.2.2/24 ns "rdsB"

    selftests/tcp_kill.py [N]
"""

import hashlib
import socket
import sys
import threading
import time

from rds_helpers import Killer, SockDiag, Tap, multipath, sh, veth_namespaces

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
RDS_TCP_PORT = 16385
PERIOD = 0.1
tap = Tap()
sh("sysctl -qw net.core.wmem_max=8388608 net.core.rmem_max=8388608")
multipath(8)


def payload(i):
    """Message i: 1 B to 4 KiB (7919 is odd, so every size comes up in 4096
    messages), or 1 MiB for one in 1000; the index first when it fits."""
    size = 1 << 20 if i % 1000 == 999 else 1 + (i * 7919) % 4096
    seed = hashlib.sha256(i.to_bytes(4, "big")).digest()
    return (i.to_bytes(4, "big") + seed * (size // 32 + 1))[:size]


def describe(data):
    return f"#{int.from_bytes(data[:4], 'big')} ({len(data)} bytes)" if len(data) >= 4 else f"{len(data)} bytes"


a, b = None, None
diags, killer = [], None
try:
    a, b = veth_namespaces()
    # Forked before the RDS sockets exist, so that it holds none of them.
    diags = [SockDiag(a), SockDiag(b)]
    killer = Killer(diags, RDS_TCP_PORT, PERIOD)
    with a:
        tx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    tx.bind(("192.0.2.1", 4000))
    rx.bind(("192.0.2.2", 4000))
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.settimeout(60)

    sent, sent_err = [0], []

    def sender():
        try:
            for i in range(n):
                tx.sendto(payload(i), ("192.0.2.2", 4000))
                sent[0] = i + 1
        except OSError as e:
            sent_err.append(f"message {i}: {e}")

    # A daemon: a sendto() blocked for good must not keep the test from exiting.
    s = threading.Thread(target=sender, daemon=True)
    s.start()
    t0 = time.monotonic()
    got, bad, stop = 0, None, None
    want_h, got_h = hashlib.sha256(), hashlib.sha256()
    try:
        while got < n:
            data, _ = rx.recvfrom(1 << 21)
            want = payload(got)
            want_h.update(want)
            got_h.update(data)
            if bad is None and data != want:
                bad = f"message {got}: got {describe(data)}, want {describe(want)}"
            got += 1
            if got % 10000 == 0:
                st = killer.stats()
                print(f"# {got} received after {time.monotonic() - t0:.0f} s; {st['rounds']} kill rounds, "
                      f"{st['destroyed']} connections destroyed", flush=True)
        # Nothing more may come: a duplicate would show here.
        rx.settimeout(2)
        try:
            extra = rx.recvfrom(1 << 21)
            bad = bad or f"extra message {describe(extra[0])} after {n}"
        except OSError:
            pass
    except OSError as e:
        stop = f"receiving stopped after {got}: {e}"
    elapsed = time.monotonic() - t0
    kill = killer.stop()
    s.join(60)
    rounds, destroyed = kill["rounds"], kill["destroyed"]
    tap.check(sent[0] == n, f"sent {sent[0]}/{n} messages",
              "\n".join(sent_err) or f"sendto() of message {sent[0]} still blocked")
    tap.check(got == n and bad is None and stop is None and want_h.digest() == got_h.digest(),
              f"{got}/{n} received once, in order, intact, in {elapsed:.0f} s, across {rounds} kill rounds "
              f"({destroyed} connections destroyed)", "\n".join(filter(None, [bad, stop])))
    # A killer that destroys nothing would make the test above vacuous. The
    # period is reported, not checked: rounds start late when the host starves
    # this VM's vCPUs, and last as long as SOCK_DESTROY waits for socket locks.
    period = (kill["last"] - kill["first"]) / max(rounds - 1, 1)
    cost = kill["busy"] / max(rounds, 1)
    tap.check(destroyed > 0 and kill["error"] is None,
              f"{destroyed} TCP connections on port {RDS_TCP_PORT} destroyed in {rounds} rounds, one every "
              f"{period * 1000:.0f} ms, {cost * 1000:.1f} ms each on average (slowest {kill['slowest'] * 1000:.0f} ms)",
              kill["error"] or "no connection was destroyed")
    # Keep the sender open until everything was received (close drops
    # what is not acknowledged).
    tx.close()
    rx.close()
finally:
    if killer:
        killer.stop()
    for d in diags:
        d.close()
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
