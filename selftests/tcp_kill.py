#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Exactly once, in order, while the TCP connections under RDS are killed
(`ss -K`) every 100 ms: N messages (1 B to 4 KiB, one in 1000 of 1 MiB) flow
from rdsA to rdsB; every one must arrive once, in order, hash-checked.

    ns "rdsA" veth-a 192.0.2.1/24 <-- veth --> veth-b 192.0.2.2/24 ns "rdsB"

    selftests/tcp_kill.py [N]
"""

import hashlib
import socket
import subprocess
import sys
import threading
import time

from rds_helpers import Netns, Tap, sh

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
tap = Tap()
sh("sysctl -qw net.core.wmem_max=8388608 net.core.rmem_max=8388608")


def payload(i):
    size = (1 << 20) - 4 if i % 1000 == 999 else 1 + (i * 7919) % 4096
    seed = hashlib.sha256(i.to_bytes(4, "big")).digest()
    return i.to_bytes(4, "big") + (seed * (size // 32 + 1))[:size]


a, b = Netns("rdsA"), Netns("rdsB")
try:
    sh("ip link add veth-a netns rdsA type veth peer name veth-b netns rdsB")
    for ns, dev, v4 in [(a, "veth-a", "192.0.2.1"), (b, "veth-b", "192.0.2.2")]:
        ns.run("ip link set lo up")
        ns.run(f"ip link set {dev} up")
        ns.run(f"ip addr add {v4}/24 dev {dev}")
    with a:
        tx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    tx.bind(("192.0.2.1", 4000))
    rx.bind(("192.0.2.2", 4000))
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.settimeout(60)

    done = threading.Event()
    kills = [0]

    def killer():
        # Bounded in time and count: at most 10 minutes of kills.
        end = time.monotonic() + 600
        while not done.is_set() and time.monotonic() < end:
            for ns in ("rdsA", "rdsB"):
                subprocess.run(f"ip netns exec {ns} ss -K -t state established '( sport = :16385 or dport = :16385 )'",
                               shell=True, capture_output=True)
            kills[0] += 1
            time.sleep(0.1)

    sent_err = []

    def sender():
        try:
            for i in range(n):
                tx.sendto(payload(i), ("192.0.2.2", 4000))
        except OSError as e:
            sent_err.append((i, e))

    k = threading.Thread(target=killer)
    s = threading.Thread(target=sender)
    k.start()
    s.start()
    got, bad = 0, None
    want_h, got_h = hashlib.sha256(), hashlib.sha256()
    try:
        while got < n:
            data, _ = rx.recvfrom(1 << 21)
            want = payload(got)
            want_h.update(want)
            got_h.update(data)
            if bad is None and data != want:
                bad = f"message {got}: got #{int.from_bytes(data[:4], 'big')} ({len(data)} bytes)"
            got += 1
        # Nothing more may come: a duplicate would show here.
        rx.settimeout(2)
        try:
            extra = rx.recvfrom(1 << 21)
            bad = bad or f"extra message #{int.from_bytes(extra[0][:4], 'big')} after {n}"
        except OSError:
            pass
    except OSError as e:
        bad = bad or f"after {got}: {e}"
    done.set()
    s.join(60)
    k.join(60)
    tap.check(not sent_err, f"sent {n} messages", sent_err)
    tap.check(got == n and bad is None and want_h.digest() == got_h.digest(),
              f"{got}/{n} received once, in order, intact, across {kills[0]} rounds of ss -K", bad)
    # Keep the sender open until everything was received (close drops
    # what is not acknowledged).
    tx.close()
    rx.close()
finally:
    a.delete()
    b.delete()
tap.finish()
