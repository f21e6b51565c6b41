#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Teardown under load: module unload while messages flow, and network
namespaces deleted with live connections and queued messages.

Run with the module not loaded; the test loads and unloads it itself:

    scripts/vm-run --rds none -- selftests/fault_teardown.py rust|c

1. rmmod while traffic flows: streams between two namespaces (over TCP, 8
   paths) and inside one (loopback) run while `rmmod` is tried 20 times; each
   try must be refused (the sockets hold the module), and every message must
   still arrive once, in order, intact.
2. rmmod at once after the sockets close with messages still queued and in
   flight: 5 rounds of load, stream, close, unload. The unload must succeed
   within 30 s (a refusal while the last references go is retried); the
   module is then gone, and a load after it works.
3. Namespaces deleted with live connections and messages queued: a link
   taken down under a stream (messages stay queued and unacknowledged), a
   receiver that does not read (its queue full), a connection attempt to a
   peer that does not answer; then `ip netns del` of both namespaces while
   the sockets are open, and the sockets closed (the namespaces die then), or
   the sockets closed first and the namespaces deleted after.
4. The module unloaded while namespaces other than the initial one still
   have connections: its per-namespace exit tears them down.

After each part the module's reference count must fall to 0 (no socket
leaked), and at the end scripts/vm-run checks the kernel log for splats
(and kmemleak, on the debug kernel).
"""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time

from rds_helpers import Tap, multipath, veth_namespaces

impl = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RDS_IMPL", "rust")
tap = Tap()
if impl == "rust":
    MOD = "rds_rs"
    LOAD = [["insmod", os.environ.get("RDS_MODULE", "rds_rs.ko")]]
    UNLOAD = [["rmmod", "rds_rs"]]
elif impl == "c":
    kdir = os.environ.get("RDS_KDIR", "")
    MOD = "rds"
    LOAD = [["insmod", f"{kdir}/net/rds/rds.ko"], ["insmod", f"{kdir}/net/rds/rds_tcp.ko"]]
    # rds_tcp holds no socket: upstream lets it go while rds sockets exist.
    UNLOAD = [["rmmod", "rds_tcp"], ["rmmod", "rds"]]
else:
    sys.exit(f"usage: {sys.argv[0]} rust|c")


def loaded():
    return os.path.isdir(f"/sys/module/{MOD}")


def load():
    for cmd in LOAD:
        subprocess.run(cmd, check=True)
    if impl == "rust":
        multipath(8)


def unload():
    """Tries once; returns rmmod's status and message of the last step."""
    r = None
    for cmd in UNLOAD:
        if os.path.isdir(f"/sys/module/{cmd[1]}"):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                return r.returncode, r.stderr.strip()
    return 0, ""


def refcnt():
    """References on the module beyond those of modules using it (upstream's
    rds_tcp holds one on rds): what sockets and connections hold."""
    try:
        with open(f"/sys/module/{MOD}/refcnt") as f:
            n = int(f.read())
        return n - len(os.listdir(f"/sys/module/{MOD}/holders"))
    except OSError:
        return 0


def wait_refcnt_zero(seconds=30):
    deadline = time.monotonic() + seconds
    while refcnt() and time.monotonic() < deadline:
        time.sleep(0.1)
    return refcnt() == 0


def unload_within(seconds=30):
    """Unloads, retrying a refusal while the last references go away."""
    deadline = time.monotonic() + seconds
    tries = 0
    while True:
        tries += 1
        rc, err = unload()
        if rc == 0 or time.monotonic() > deadline:
            return rc == 0, tries, err
        time.sleep(0.1)


def rds(ns, addr, port, rcvbuf=None):
    with ns:
        s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    s.bind((addr, port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf or 4 << 20)
    return s


def payload(i):
    size = 1 + (i * 7919) % 8192
    return struct.pack(">I", i) + (hashlib.sha256(i.to_bytes(4, "big")).digest() * 257)[:size]


def exchange(a, b, port, n=20):
    """n messages from rdsA's port to rdsB's; returns how many arrived intact."""
    tx, rx = rds(a, "192.0.2.1", port), rds(b, "192.0.2.2", port)
    rx.settimeout(30)
    got = 0
    try:
        for i in range(n):
            tx.sendto(payload(i), ("192.0.2.2", port))
        for i in range(n):
            got += rx.recv(1 << 16) == payload(i)
    except OSError as e:
        print(f"# exchange: {e}", flush=True)
    finally:
        tx.close()
        rx.close()
    return got


class Flow:
    """A sender thread and a receiver thread: numbered messages, checked."""

    def __init__(self, tx, rx, dst):
        self.tx, self.rx, self.dst = tx, rx, dst
        self.sent = self.got = self.bad = 0
        self.stop = threading.Event()
        self.rx.settimeout(0.5)
        self.threads = [threading.Thread(target=self._send), threading.Thread(target=self._recv)]
        for t in self.threads:
            t.start()

    def _send(self):
        self.tx.settimeout(5)
        while not self.stop.is_set() and self.sent < 200000:
            try:
                self.tx.sendto(payload(self.sent), self.dst)
                self.sent += 1
            except OSError:
                return

    def _recv(self):
        idle = 0
        while idle < 60:
            if self.stop.is_set() and self.got >= self.sent:
                return
            try:
                data = self.rx.recv(1 << 16)
            except socket.timeout:
                idle += self.stop.is_set()
                continue
            except OSError:
                return
            if data != payload(self.got):
                self.bad += 1
            self.got += 1

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
        return self.sent, self.got, self.bad


# 1. rmmod while traffic flows.
load()
a, b = veth_namespaces("tdA", "tdB")
socks = []
try:
    tx, rx = rds(a, "192.0.2.1", 4000), rds(b, "192.0.2.2", 4000)
    ltx, lrx = rds(a, "192.0.2.1", 4001), rds(a, "192.0.2.1", 4002)
    socks = [tx, rx, ltx, lrx]
    flows = [Flow(tx, rx, ("192.0.2.2", 4000)), Flow(ltx, lrx, ("192.0.2.1", 4002))]
    time.sleep(1)
    refused = 0
    for _ in range(20):
        rc, err = unload()
        refused += rc != 0 and loaded()
        time.sleep(0.1)
    tap.check(refused == 20 and loaded(), "rmmod refused 20 times while sockets stream",
              f"refused {refused}/20, loaded {loaded()}, last: {err}")
    for name, f in zip(("over TCP", "loopback"), flows):
        sent, got, bad = f.finish()
        print(f"# {name}: {sent} sent, {got} received", flush=True)
        tap.check(sent > 0 and got == sent and bad == 0,
                  f"{name}: every message arrived once, in order, across the refused unloads",
                  f"sent {sent}, received {got}, wrong {bad}")
finally:
    for s in socks:
        s.close()
tap.check(wait_refcnt_zero(), "no references left once the sockets are closed", f"refcnt {refcnt()}")

# 2. rmmod at once after closing sockets with messages queued and in flight.
ok_rounds, notes = 0, []
for r in range(5):
    if not loaded():
        load()
    tx, rx = rds(a, "192.0.2.1", 4100 + r), rds(b, "192.0.2.2", 4100 + r)
    ltx, lrx = rds(a, "192.0.2.1", 4200 + r), rds(a, "192.0.2.1", 4300 + r)
    sent = 0
    for i in range(300):
        for s, dst in ((tx, ("192.0.2.2", 4100 + r)), (ltx, ("192.0.2.1", 4300 + r))):
            try:
                s.sendto(payload(i), socket.MSG_DONTWAIT, dst)
                sent += 1
            except OSError:
                pass
    rx.settimeout(5)
    try:
        rx.recv(1 << 16)  # The connection is up; more is on its way.
    except OSError:
        pass
    for s in (rx, lrx, tx, ltx):
        s.close()
    done, tries, err = unload_within()
    notes.append(f"round {r}: {sent} sent, unload {'ok' if done else 'FAILED'} after {tries} tries {err}")
    ok_rounds += done and not loaded()
tap.check(ok_rounds == 5, "5 rounds: unload succeeds right after closing sockets with messages in flight",
          "\n".join(notes))
load()
got = exchange(a, b, 4400)
tap.check(got == 20, "after the reloads, an exchange over TCP works (20 messages)", f"{got}/20")
a.delete()
b.delete()


# 3. Namespaces deleted with live connections and queued messages.
def queued_scenario(k, close_first):
    """A stream whose link goes down (messages queued, unacknowledged), a
    receiver that does not read, a connection attempt that gets no answer;
    then the namespaces are deleted and the sockets closed, in either order.
    Returns a description of what was queued."""
    na, nb = f"q{k}A", f"q{k}B"
    a, b = veth_namespaces(na, nb)
    tx, rx = rds(a, "192.0.2.1", 4000), rds(b, "192.0.2.2", 4000, rcvbuf=1 << 16)
    lazy = rds(b, "192.0.2.2", 4001, rcvbuf=1 << 16)
    nobody = rds(a, "192.0.2.1", 4002)
    rx.settimeout(30)
    tx.sendto(payload(0), ("192.0.2.2", 4000))
    first = rx.recv(1 << 16) == payload(0)
    # The lazy receiver's queue fills until its port is congested.
    to_lazy = 0
    for i in range(200):
        try:
            tx.sendto(payload(i), socket.MSG_DONTWAIT, ("192.0.2.2", 4001))
            to_lazy += 1
        except OSError:
            break
    time.sleep(0.5)
    b.run("ip link set veth-b down")
    queued = 0
    for i in range(1, 200):
        try:
            tx.sendto(payload(i), socket.MSG_DONTWAIT, ("192.0.2.2", 4000))
            queued += 1
        except OSError:
            break
    try:
        nobody.sendto(b"hello?", socket.MSG_DONTWAIT, ("192.0.2.9", 4000))
    except OSError:
        pass
    socks = (tx, rx, lazy, nobody)
    if close_first:
        for s in socks:
            s.close()
    a.delete()
    b.delete()
    if not close_first:
        for s in socks:
            s.close()
    return first, f"first message {'arrived' if first else 'MISSING'}, {to_lazy} to the lazy " \
                  f"receiver, {queued} queued on the dead link"


for k, close_first in enumerate((False, True)):
    first, what = queued_scenario(k, close_first)
    order = "sockets closed, then namespaces deleted" if close_first else \
        "namespaces deleted with sockets open, then sockets closed"
    print(f"# {order}: {what}", flush=True)
    tap.check(first and wait_refcnt_zero(), f"{order}: no reference left", f"{what}; refcnt {refcnt()}")


# A stream running while its namespaces go: the veth deleted under it.
def deleted_under_stream():
    a, b = veth_namespaces("sA", "sB")
    tx, rx = rds(a, "192.0.2.1", 4000), rds(b, "192.0.2.2", 4000)
    f = Flow(tx, rx, ("192.0.2.2", 4000))
    time.sleep(1)
    a.run("ip link del veth-a")
    a.delete()
    b.delete()
    time.sleep(0.5)
    tx.close()  # the sender stops; the receiver times out
    f.finish()
    rx.close()
    return f.sent, f.got


sent, got = deleted_under_stream()
tap.check(got > 0 and wait_refcnt_zero(), "link and namespaces deleted under a stream: no reference left",
          f"sent {sent}, received {got}, refcnt {refcnt()}")
a, b = veth_namespaces("tdA", "tdB")
got = exchange(a, b, 4000)
tap.check(got == 20, "after the namespace deletions, an exchange in new namespaces works", f"{got}/20")

# 4. Unload while other namespaces still have connections (and queued data).
tx, rx = rds(a, "192.0.2.1", 4001), rds(b, "192.0.2.2", 4001, rcvbuf=1 << 16)
for i in range(100):
    try:
        tx.sendto(payload(i), socket.MSG_DONTWAIT, ("192.0.2.2", 4001))
    except OSError:
        break
tx.close()
rx.close()
done, tries, err = unload_within()
tap.check(done and not loaded(), "unload with live connections in two namespaces",
          f"after {tries} tries: {err}")
a.delete()
b.delete()
tap.finish()
