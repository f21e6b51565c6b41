#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One side of a two-host exchange (run by scripts/vm-pair in each guest):
sends N messages to the peer while receiving N from it, checks order and
content by hash, answers and checks a port-0 ping, and waits for the peer's
end marker before closing (closing drops what is not yet acknowledged).

    selftests/interop_exchange.py N [--v6] [--paths K]

uses $RDS_SELF and $RDS_PEER, or with --v6 $RDS_SELF6 and $RDS_PEER6 (RDS
over IPv6); --paths K offers K paths on rds_rs (its npaths parameter, set
before any connection exists) and then checks that RDS_INFO_TCP_SOCKETS
lists exactly K connections (upstream always offers 8).
"""

import errno
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

from rds_helpers import Rds6Socket, Tap, info_count, multipath

args = sys.argv[1:]
v6 = "--v6" in args
paths_wanted = int(args[args.index("--paths") + 1]) if "--paths" in args else None
n = int(args[0]) if args and args[0].isdigit() else 100000
if v6:
    me, peer = os.environ["RDS_SELF6"], os.environ["RDS_PEER6"]
else:
    me, peer = os.environ["RDS_SELF"], os.environ["RDS_PEER"]
tap = Tap()
if paths_wanted:
    multipath(paths_wanted)


def rds_socket():
    return Rds6Socket() if v6 else socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)



def payload(src, i):
    # 1 B to 4 KiB, deterministic, so the receiver knows what to expect.
    size = 1 + (i * 7919) % 4096
    return i.to_bytes(4, "big") + hashlib.sha256(f"{src} {i}".encode()).digest() * (size // 32 + 1)


# Room for the 4 MiB receive buffer asked for below.
subprocess.run(["sysctl", "-qw", "net.core.rmem_max=8388608", "net.core.wmem_max=8388608"], check=True)
s = rds_socket()
s.bind((me, 4000))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
err = []

# Start together: messages to a port nobody has bound yet are dropped, as
# RDS does, so each side waits until the other has bound its port.
sync = rds_socket()
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


congested = [0]


def send_all():
    # The socket has a timeout, so Python makes it non-blocking: a congested
    # peer port is ENOBUFS, to be waited out (bounded: 10 minutes a message).
    try:
        for i in range(n):
            data = payload(me, i)
            for _ in range(120000):
                try:
                    s.sendto(data, (peer, 4000))
                    break
                except OSError as e:
                    if e.errno != errno.ENOBUFS:
                        raise
                    congested[0] += 1
                    time.sleep(0.005)
            else:
                raise OSError(errno.ENOBUFS, f"message {i}: peer port congested for 10 minutes")
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
tap.check(not err, f"sent {n} messages to {peer} (ENOBUFS {congested[0]} times)", err)
tap.check(received == n and bad is None and want.digest() == got.digest(),
          f"received {received}/{n} from {peer}, in order, intact", bad)

p = rds_socket()
p.bind((me, 4001))
p.settimeout(30)
p.sendto(b"", (peer, 0))
try:
    pong = p.recvfrom(100)
except OSError as e:
    pong = e
tap.check(pong == (b"", (peer, 0)), f"ping to {peer} port 0 is answered", pong)

# The TCP connections (paths) carrying the exchange, as RDS_INFO_TCP_SOCKETS
# lists them: upstream offers 8, rds_rs 1 unless its npaths parameter says
# more, and the two agree on the smaller number.
paths = info_count(s, 10016, 64) if v6 else info_count(s, 10007, 41)
if paths_wanted:
    tap.check(paths == paths_wanted, f"RDS{'6' if v6 else ''}_INFO_TCP_SOCKETS lists {paths} "
              f"TCP connections to {peer} (wanted {paths_wanted})")
else:
    tap.check(paths >= 1, f"RDS_INFO_TCP_SOCKETS lists {paths} TCP connection(s) to {peer}")

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
