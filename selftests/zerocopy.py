#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""MSG_ZEROCOPY over TCP between two namespaces: each send carries an
RDS_CMSG_ZCOPY_COOKIE; once the peer acknowledged the messages, the sender's
recvmsg reports every cookie exactly once in RDS_CMSG_ZCOPY_COMPLETION
control messages (at most 8 per message). Misuse gets upstream's errnos.
Runs unchanged on the C module and on ours.

    ns "rdsA" veth-a 192.0.2.1/24 <-- veth --> veth-b 192.0.2.2/24 ns "rdsB"
"""

import errno
import select
import socket
import struct
import time

from rds_helpers import Tap, errname, veth_namespaces

SOL_RDS = 276
SO_ZEROCOPY = 60
MSG_ZEROCOPY = 0x4000000
RDS_CMSG_ZCOPY_COOKIE = 12
RDS_CMSG_ZCOPY_COMPLETION = 13
N = 40

tap = Tap()


def zsend(s, data, cookie):
    anc = [(SOL_RDS, RDS_CMSG_ZCOPY_COOKIE, struct.pack("=I", cookie))] if cookie is not None else []
    return s.sendmsg([data], anc, MSG_ZEROCOPY, ("192.0.2.2", 4000))


def attempt(f):
    try:
        return f()
    except OSError as e:
        return errname(e.errno)


a, b = None, None
try:
    a, b = veth_namespaces()
    with a:
        tx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    tx.bind(("192.0.2.1", 4000))
    rx.bind(("192.0.2.2", 4000))
    rx.settimeout(30)

    tap.check(attempt(lambda: zsend(tx, b"x" * 100, None)) == "EINVAL",
              "MSG_ZEROCOPY without a cookie -> EINVAL")
    tap.check(attempt(lambda: zsend(tx, b"x" * 100, 1)) == "EINVAL",
              "a cookie without SO_ZEROCOPY -> EINVAL")
    tx.setsockopt(socket.SOL_SOCKET, SO_ZEROCOPY, 1)
    tap.check(attempt(lambda: zsend(tx, b"", 1)) == "EINVAL",
              "a cookie on an empty message -> EINVAL")

    payloads = [bytes([i]) * (1000 + i) for i in range(N)]
    sent = [attempt(lambda i=i: zsend(tx, payloads[i], 1000 + i)) for i in range(N)]
    tap.check(all(r == len(p) for r, p in zip(sent, payloads)), f"{N} zero-copy sends", sent[:4])
    got = [rx.recv(65536) for _ in range(N)]
    tap.check(got == payloads, f"{N} messages received in order, intact")

    cookies, batches, end = [], 0, time.monotonic() + 20
    while len(cookies) < N and time.monotonic() < end:
        select.select([tx], [], [], 1)
        try:
            _, anc, _, _ = tx.recvmsg(0, socket.CMSG_SPACE(36), socket.MSG_DONTWAIT)
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise
            continue
        for level, ty, val in anc:
            if level == SOL_RDS and ty == RDS_CMSG_ZCOPY_COMPLETION:
                num = struct.unpack_from("=I", val)[0]
                cookies += struct.unpack_from(f"={num}I", val, 4)
                batches += 1
    tap.check(sorted(cookies) == [1000 + i for i in range(N)],
              f"every cookie completed once ({len(cookies)} in {batches} control messages)",
              sorted(set(range(1000, 1000 + N)) ^ set(cookies)))
    tap.check(attempt(lambda: tx.recvmsg(0, socket.CMSG_SPACE(36), socket.MSG_DONTWAIT)) == "EAGAIN",
              "nothing more to report -> EAGAIN")
    tx.close()
    rx.close()
finally:
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
