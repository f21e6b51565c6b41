#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Congestion between two hosts (run by scripts/vm-pair, one role in each
guest, so that each implementation can be either end):

    selftests/interop_cong.py rx     # the receiver that stops reading
    selftests/interop_cong.py tx     # the non-blocking, monitoring sender

The receiver's port fills; its host's congestion map update makes the
sender's sends fail with ENOBUFS. The receiver then reads everything, in
order; the map update that follows reaches the sender's RDS_CONG_MONITOR
socket as an RDS_CMSG_CONG_UPDATE naming the port, and sends succeed again.
Nothing is lost. The two sides coordinate over a second port (4002).
"""

import os
import socket
import struct
import sys
import time

from rds_helpers import Tap, cong_update, send_until_enobufs

SOL_RDS, RDS_CONG_MONITOR = 276, 6
PORT, CTL, SIZE = 4000, 4002, 1000
role = sys.argv[1]
me, peer = os.environ["RDS_SELF"], os.environ["RDS_PEER"]
tap = Tap()


def payload(i):
    return struct.pack("!I", i) * (SIZE // 4)


def sock(port):
    s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    s.bind((me, port))
    return s


ctl = sock(CTL)
ctl.settimeout(0.5)


def say(word, n=0):
    ctl.sendto(f"{word} {n}".encode(), (peer, CTL))


def hear(word, seconds=120):
    """The number sent with `word` by the peer, saying "ready" meanwhile
    (messages to a port not yet bound are dropped, so both sides repeat)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        say("ready")
        try:
            got = ctl.recv(100).decode().split()
        except OSError:
            continue
        if got[0] == word:
            return int(got[1])
    raise TimeoutError(f"no {word!r} from {peer}")


def receive(rx, first, last):
    """Reads messages first..last-1; returns an error text or None."""
    for i in range(first, last):
        try:
            data = rx.recv(65536)
        except OSError as e:
            return f"after {i}: {e}"
        if data != payload(i):
            return f"message {i}: got #{struct.unpack('!I', data[:4])[0]}"
    return None


if role == "rx":
    rx = sock(PORT)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    rx.settimeout(30)
    sent = hear("sent")
    bad = receive(rx, 0, sent)
    tap.check(bad is None, f"receiver: the {sent} messages sent before ENOBUFS, in order", bad)
    say("drained", sent)
    more = hear("more")
    bad = receive(rx, sent, more)
    rx.settimeout(1)
    try:
        extra = rx.recv(65536)
        bad = bad or f"extra message #{struct.unpack('!I', extra[:4])[0]}"
    except OSError:
        pass
    tap.check(bad is None, f"receiver: all {more} messages once, in order", bad)
    say("end")
else:
    tx = sock(PORT)
    tx.setsockopt(SOL_RDS, RDS_CONG_MONITOR, 1)
    hear("ready")
    sent, enobufs = send_until_enobufs(tx, (peer, PORT), payload, 0)
    tap.check(enobufs, f"sender: ENOBUFS once the peer's port is congested (after {sent} messages)")
    say("sent", sent)
    hear("drained")
    ready, mask = cong_update(tx, 30)
    tap.check(isinstance(mask, int) and mask & (1 << (PORT % 64)),
              "sender: RDS_CMSG_CONG_UPDATE for the port once the peer read again",
              f"readable={bool(ready)} mask={mask!r}")
    more, _ = send_until_enobufs(tx, (peer, PORT), payload, sent, count=20)
    tap.check(more == sent + 20, f"sender: sends succeed again ({more - sent} more)")
    say("more", more)
    hear("end")
tap.finish()
