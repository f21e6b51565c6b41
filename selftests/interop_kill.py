#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One side of a two-host exchange (run by scripts/vm-pair in each guest)
while both sides destroy their RDS/TCP connections (SOCK_DESTROY, as
`ss -K`) every 100 ms: sends N messages to the peer while receiving N from
it, and counts what arrived lost, duplicated, out of order or corrupt, and
what could not be sent.

    selftests/interop_kill.py N --strict
    selftests/interop_kill.py N --reference
    selftests/interop_kill.py N --versus 'LOST DUP REORDER CORRUPT UNSENT'

--strict (rds_rs on both sides): every message sent, and received once, in
order, intact. --reference (the C module on both sides): reports what
upstream does, as a line "# kill-result: LOST DUP REORDER CORRUPT UNSENT",
and fails only if the killing did not happen. --versus (the C module against
rds_rs) takes the sums of the reference run's two sides: an anomaly passes
(as a skip, naming the upstream bug) only if the reference showed the same
kind.

A message missing once the stream has been idle for 30 s counts as lost; a
sendto() still blocked a minute after that leaves the rest unsent.
"""

import errno
import hashlib
import os
import socket
import sys
import threading
import time

from rds_helpers import Killer, SockDiag, Tap

RDS_TCP_PORT = 16385
PERIOD = 0.1
IDLE = 30
KINDS = ("lost", "duplicated", "out of order", "corrupt", "unsent")

args = sys.argv[1:]
n = int(args[0])
mode = args[1] if len(args) > 1 else "--strict"
if mode not in ("--strict", "--reference", "--versus"):
    sys.exit(f"usage: {sys.argv[0]} N --strict | --reference | --versus 'LOST DUP REORDER CORRUPT UNSENT'")
reference = [int(x) for x in args[2].split()] if mode == "--versus" else None
me, peer = os.environ["RDS_SELF"], os.environ["RDS_PEER"]
tap = Tap()


def payload(src, i):
    """Message i from src: the index, then 1 B to 4 KiB of hash."""
    size = 1 + (i * 7919) % 4096
    return i.to_bytes(4, "big") + (hashlib.sha256(f"{src} {i}".encode()).digest() * (size // 32 + 1))[:size]


def meet(sock, word, tries=600):
    """Sends `word` to the peer's `sock` port until the peer's arrives, then
    once more (the peer may be waiting for it); False if it never came."""
    sock.settimeout(0.5)
    port = sock.getsockname()[1]
    for _ in range(tries):
        sock.sendto(word, (peer, port))
        try:
            if sock.recvfrom(16)[0] == word:
                sock.sendto(word, (peer, port))
                return True
        except OSError:
            pass
    return False


# Forked before the RDS sockets exist, so that it holds none of them.
diag = SockDiag()
killer = Killer([diag], RDS_TCP_PORT, PERIOD)
try:
    s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    s.bind((me, 4000))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sync = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    sync.bind((me, 4002))
    # Both bound before either sends: RDS drops messages to an unbound port.
    tap.check(meet(sync, b"ready"), f"{peer} is ready")

    sent, sent_err = [0], []

    def sender():
        # With a timeout set, Python makes the socket non-blocking: a congested
        # peer port is ENOBUFS, waited out (bounded: 10 minutes a message).
        try:
            for i in range(n):
                for _ in range(120000):
                    try:
                        s.sendto(payload(me, i), (peer, 4000))
                        break
                    except OSError as e:
                        if e.errno != errno.ENOBUFS:
                            raise
                        time.sleep(0.005)
                else:
                    raise OSError(errno.ENOBUFS, "peer port congested for 10 minutes")
                sent[0] = i + 1
        except OSError as e:
            sent_err.append(f"message {sent[0]}: {e}")

    # A daemon: a sendto() blocked for good must not keep the test from exiting.
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    seen = bytearray(n)
    distinct, top = 0, -1
    count = dict.fromkeys(KINDS, 0)
    first_bad = None
    s.settimeout(IDLE)
    t0 = time.monotonic()
    while distinct < n:
        try:
            data, src = s.recvfrom(1 << 16)
        except OSError:
            break  # idle: the rest is lost
        i = int.from_bytes(data[:4], "big") if len(data) >= 4 else n
        if i >= n or src != (peer, 4000) or data != payload(peer, i):
            count["corrupt"] += 1
            first_bad = first_bad or f"corrupt: {len(data)} bytes from {src}"
        elif seen[i]:
            count["duplicated"] += 1
            first_bad = first_bad or f"#{i} duplicated"
        else:
            seen[i] = 1
            distinct += 1
            if i < top:
                count["out of order"] += 1
                first_bad = first_bad or f"#{i} after #{top}"
            top = max(top, i)
    elapsed = time.monotonic() - t0
    count["lost"] = n - distinct
    if count["lost"]:
        first_bad = first_bad or f"#{seen.index(0)} never arrived"
    t.join(60)
    kill = killer.stop()
    count["unsent"] = n - sent[0]
    if count["unsent"]:
        first_bad = first_bad or ("; ".join(sent_err) or f"sendto() of message {sent[0]} still blocked")
    tap.check(kill["destroyed"] > 0 and kill["error"] is None,
              f"{kill['destroyed']} TCP connections destroyed here in {kill['rounds']} rounds",
              kill["error"] or "no connection was destroyed")
    got = [count[k] for k in KINDS]
    summary = (f"{sent[0]}/{n} sent, {distinct}/{n} received from {peer} in {elapsed:.0f} s: "
               + ", ".join(f"{v} {k}" for k, v in zip(KINDS, got)))
    print(f"# kill-result: {' '.join(map(str, got))}", flush=True)
    if mode == "--strict":
        tap.check(not any(got), summary, first_bad)
    elif mode == "--reference":
        # What upstream does is reported, not judged.
        print(f"# upstream reference: {summary}" + (f" (first: {first_bad})" if first_bad else ""))
    else:
        ours = [k for k, v, r in zip(KINDS, got, reference) if v and not r]
        if ours:
            tap.check(False, summary, f"{first_bad}; the C module against itself had none "
                      f"{' or '.join(ours)} (reference: {' '.join(map(str, reference))})")
        elif any(got):
            tap.skip(summary, f"upstream bug: the C module against itself had these too "
                     f"(reference: {' '.join(map(str, reference))}); first: {first_bad}")
        else:
            tap.check(True, summary)
    # Neither closes before the other is done: closing drops what is not
    # acknowledged yet. Judged only between rds_rs: a stalled C module may
    # never answer.
    if mode == "--strict":
        tap.check(meet(sync, b"end"), f"{peer} finished too")
    elif not meet(sync, b"end", 120):
        print(f"# {peer} did not answer the end marker within a minute")
finally:
    killer.stop()
    diag.close()
tap.finish()
