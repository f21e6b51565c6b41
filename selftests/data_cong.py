#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Congestion over TCP: a receiver that stops reading makes its port
congested in the map its host sends to the sender's host; the non-blocking
sender then gets ENOBUFS, and as an RDS_CONG_MONITOR socket it is told with
an RDS_CMSG_CONG_UPDATE control message once the receiver read again and the
port is clear. Nothing is lost or reordered. Runs unchanged on the C module
and on ours.

    ns "rdsA" veth-a 192.0.2.1/24 <-- veth --> veth-b 192.0.2.2/24 ns "rdsB"
"""

import socket
import struct

from rds_helpers import Tap, cong_update, send_until_enobufs, veth_namespaces

SOL_RDS = 276
RDS_CONG_MONITOR = 6
PORT = 4000
SIZE = 1000

tap = Tap()


def payload(i):
    return struct.pack("!I", i) * (SIZE // 4)


a, b = None, None
try:
    a, b = veth_namespaces()
    with a:
        tx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    tx.bind(("192.0.2.1", PORT))
    rx.bind(("192.0.2.2", PORT))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    tx.setsockopt(SOL_RDS, RDS_CONG_MONITOR, 1)
    rx.settimeout(30)

    sent, enobufs = send_until_enobufs(tx, ("192.0.2.2", PORT), payload, 0)
    tap.check(enobufs, f"non-blocking sender gets ENOBUFS once the receiver's port is congested (after {sent})")

    got, bad = 0, None
    try:
        while got < sent:
            data = rx.recv(65536)
            if bad is None and data != payload(got):
                bad = f"message {got}: got #{struct.unpack('!I', data[:4])[0]}"
            got += 1
    except OSError as e:
        bad = bad or f"after {got}: {e}"
    tap.check(got == sent and bad is None, f"receiver reads all {sent} sent before ENOBUFS, in order", bad)

    # The uncongested map comes back: the monitoring socket becomes readable
    # and reports the port.
    ready, mask = cong_update(tx, 20)
    want = 1 << (PORT % 64)
    tap.check(isinstance(mask, int) and mask & want,
              "RDS_CONG_MONITOR socket gets RDS_CMSG_CONG_UPDATE for the port once it is clear",
              f"readable={bool(ready)} mask={mask!r}")

    more, enobufs = send_until_enobufs(tx, ("192.0.2.2", PORT), payload, sent, seconds=20)
    tap.check(more > sent, f"sends succeed again ({more - sent} more)")
    try:
        while got < more:
            data = rx.recv(65536)
            if bad is None and data != payload(got):
                bad = f"message {got}: got #{struct.unpack('!I', data[:4])[0]}"
            got += 1
        rx.settimeout(1)
        try:
            extra = rx.recv(65536)
            bad = bad or f"extra message #{struct.unpack('!I', extra[:4])[0]}"
        except OSError:
            pass
    except OSError as e:
        bad = bad or f"after {got}: {e}"
    tap.check(got == more and bad is None, f"all {more} messages received once, in order", bad)
    tx.close()
    rx.close()
finally:
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
