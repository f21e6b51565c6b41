#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One side of a two-host exchange (run by scripts/vm-pair in each guest):
sends N messages to the peer while receiving N from it, checks order and
content by hash, answers and checks a port-0 ping, and waits for the peer's
end marker before closing (closing drops what is not yet acknowledged).

    selftests/interop_exchange.py N      # uses $RDS_SELF, $RDS_PEER
"""

import hashlib
import os
import socket
import sys
import threading

from rds_helpers import Tap

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
me, peer = os.environ["RDS_SELF"], os.environ["RDS_PEER"]
tap = Tap()


def payload(src, i):
    # 1 B to 4 KiB, deterministic, so the receiver knows what to expect.
    size = 1 + (i * 7919) % 4096
    return i.to_bytes(4, "big") + hashlib.sha256(f"{src} {i}".encode()).digest() * (size // 32 + 1)


s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
s.bind((me, 4000))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
err = []

# Start together: messages to a port nobody has bound yet are dropped, as
# RDS does, so each side waits until the other has bound its port.
sync = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
sync.bind((me, 4002))
sync.settimeout(0.5)
for _ in range(600):
    sync.sendto(b"ready", (peer, 4002))
    try:
        if sync.recvfrom(16)[0] == b"ready":
            break
    except OSError:
        pass
sync.sendto(b"ready", (peer, 4002))


def send_all():
    try:
        for i in range(n):
            s.sendto(payload(me, i), (peer, 4000))
    except OSError as e:
        err.append(e)


t = threading.Thread(target=send_all)
t.start()
s.settimeout(300)
want, got, bad = hashlib.sha256(), hashlib.sha256(), None
received = 0
try:
    while received < n:
        data, src = s.recvfrom(1 << 16)
        exp = payload(peer, received)
        want.update(exp)
        got.update(data)
        if bad is None and (data != exp or src != (peer, 4000)):
            bad = f"message {received}: {len(data)} bytes from {src}"
        received += 1
except OSError as e:
    bad = bad or f"after {received}: {e}"
t.join()
tap.check(not err, f"sent {n} messages to {peer}", err)
tap.check(received == n and bad is None and want.digest() == got.digest(),
          f"received {received}/{n} from {peer}, in order, intact", bad)

p = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
p.bind((me, 4001))
p.settimeout(30)
p.sendto(b"", (peer, 0))
try:
    pong = p.recvfrom(100)
except OSError as e:
    pong = e
tap.check(pong == (b"", (peer, 0)), f"ping to {peer} port 0 is answered", pong)

# End marker both ways, so neither closes while the other still receives.
s.sendto(b"end", (peer, 4000))
try:
    while s.recvfrom(1 << 16)[0] != b"end":
        pass
    ended = True
except OSError:
    ended = False
tap.check(ended, "the peer finished too")
sync.close()
tap.finish()
