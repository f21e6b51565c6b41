#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The peer killed and restarted: guest a streams numbered messages to guest
b; b is killed mid-stream (its QEMU, SIGKILL: nothing closes, nothing is
said) and boots again; a's connection must find the new b (the old one is
gone without a word, so a's retransmissions meet a RST), reconnect and go
on sending what it still has. Run by scripts/vm-pair --b-restart:

    a:  selftests/peer_restart.py a      sends until b's second life reports
    b:  selftests/peer_restart.py b1     receives 300, then asks to be killed
        selftests/peer_restart.py b2     receives 500 after a restart

Checked: a's sends fail, if at all, only with EAGAIN or ENOBUFS (its queue
full while b is away); each of b's lives gets a run of consecutive messages
(300, then 500), in order, intact; a gets b's report, and the second life's
run starts before the message at which a's queue first filled (so what a
queued while b was away reached the new b). Messages b's first life had not read when it died are gone with
it, and those arriving before b's second life binds its socket are dropped
there (no socket), as upstream does: neither is counted as lost.
"""

import errno
import hashlib
import os
import select
import socket
import struct
import subprocess
import sys
import time

from rds_helpers import Tap

role = sys.argv[1] if len(sys.argv) > 1 else ""
PORT = 4000
FIRST, SECOND = 300, 500
DEADLINE = 600
tap = Tap()
self_addr, peer = os.environ["RDS_SELF"], os.environ["RDS_PEER"]


def payload(i):
    size = 200 + (i * 7919) % 1800
    return struct.pack(">I", i) + (hashlib.sha256(i.to_bytes(4, "big")).digest() * 64)[:size]


def index(data):
    i = struct.unpack_from(">I", data)[0] if len(data) >= 4 else -1
    return i, data == payload(i)


s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
s.bind((self_addr, PORT))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
if os.environ.get("RDS_LINK_DOWN"):
    # Bound: what a sends once the link is up has a socket to go to (it
    # would be dropped for want of one, as upstream does, before).
    subprocess.run(["ip", "link", "set", os.environ["RDS_LINK"], "up"], check=True)

if role == "a":
    sent, full, bad, report = 0, 0, {}, None
    first_full = None  # messages sent when the queue first filled: b was away
    deadline = time.monotonic() + DEADLINE
    while report is None and time.monotonic() < deadline:
        try:
            s.sendto(payload(sent), socket.MSG_DONTWAIT, (peer, PORT))
            sent += 1
            time.sleep(0.002)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOBUFS):
                full += 1
                first_full = sent if first_full is None else first_full
            else:
                bad[e.errno] = bad.get(e.errno, 0) + 1
            select.select([s], [], [], 0.05)
        try:
            data, src = s.recvfrom(1 << 16, socket.MSG_DONTWAIT)
            if src == (peer, PORT) and data.startswith(b"report "):
                report = data.decode()
        except BlockingIOError:
            pass
    print(f"# sent {sent}, {full} sends found the queue full; b reported: {report}", flush=True)
    tap.check(not bad, "sends fail only with EAGAIN or ENOBUFS while the peer is away", f"{bad}")
    tap.check(report is not None and report.endswith(" ok"),
              "the restarted peer received a run of messages, in order, intact", report)
    # Messages queued while b was away (the queue filled then) reached its
    # second life: the connection was made again and they were sent again.
    resent = report is not None and first_full is not None and \
        int(report.split("#")[1].split()[0]) < first_full
    tap.check(resent, "messages queued while the peer was away reached it after its restart",
              f"queue first full after #{first_full}; {report}")
elif role in ("b1", "b2"):
    want = FIRST if role == "b1" else SECOND
    s.settimeout(DEADLINE if role == "b2" else 120)
    got, first, broken = 0, None, None
    try:
        while got < want:
            data = s.recv(1 << 16)
            i, ok = index(data)
            if first is None:
                first = i
            expected = first + got
            if (i, ok) != (expected, True):
                broken = broken or f"message {got}: #{i} (intact: {ok}), expected #{expected}"
            got += 1
    except OSError as e:
        broken = broken or f"after {got}: {e}"
    if role == "b1":
        tap.check(broken is None, f"first life: {want} consecutive messages from #{first}, in order, intact",
                  broken)
        print("vm-pair: kill me", flush=True)
        time.sleep(300)  # The host kills this guest.
        sys.exit(1)
    print(f"# second life: {got} messages from #{first}", flush=True)
    tap.check(broken is None, f"second life: {want} consecutive messages from #{first}, in order, intact",
              broken)
    verdict = "ok" if broken is None else "FAILED"
    for _ in range(5):
        s.sendto(f"report {got} from #{first} {verdict}".encode(), (peer, PORT))
        time.sleep(0.2)
else:
    sys.exit(f"usage: {sys.argv[0]} a|b1|b2")
s.close()
tap.finish()
