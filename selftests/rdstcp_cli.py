#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tools/rdstcp against the loaded RDS module, between two network namespaces:

    ns "rcliA"  veth-ca 192.0.2.1/24 2001:db8::1/64
      <-- veth -->
    ns "rcliB"  veth-cb 192.0.2.2/24 2001:db8::2/64

- `rdstcp ping`: port-0 pings both ways (either address order), IPv6 with -I,
  and no pong from an address where no host is;
- `rdstcp info`: upstream's RDS_INFO_* reports after known traffic
  (counters, connections, sockets, TCP sockets, receive queue);
- `rdstcp show/set/reset/monitor` (the rds_tcp netlink family): skipped when
  the family is absent, as on upstream's C module.

The binary is $RDSTCP, else the newer of target/{release,debug}/rdstcp
(`cargo build -p rdstcp` on the host: the guest sees the host's files).
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

from rds_helpers import Netns, Tap, sh

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
A4, B4, NOBODY4 = "192.0.2.1", "192.0.2.2", "192.0.2.3"
A6, B6 = "2001:db8::1", "2001:db8::2"
PORT = 4000
N = 50
SIZE = 100


def find_binary():
    if os.environ.get("RDSTCP"):
        return os.environ["RDSTCP"]
    found = [p for p in (f"{ROOT}/target/release/rdstcp", f"{ROOT}/target/debug/rdstcp")
             if os.access(p, os.X_OK)]
    return max(found, key=os.path.getmtime) if found else None


tap = Tap()
BIN = find_binary()


def rdstcp(ns, *args, timeout=60, user=None):
    """Runs rdstcp in namespace `ns` (as `user` if given); returns the
    CompletedProcess, or one with returncode 124 on timeout."""
    cmd = ["ip", "netns", "exec", ns.name]
    if user is not None:
        cmd += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    cmd += [BIN, *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout} s")


def detail(p):
    return f"exit {p.returncode}\nstdout: {p.stdout.strip()}\nstderr: {p.stderr.strip()}"


def as_json(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def rds_socket(ns, addr, port):
    with ns:
        s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 20, 0))
    s.bind((addr, port))
    return s


def ping_tests(a, b):
    p = rdstcp(a, "ping", B4, "-c", "3", "-i", "0.2", "-W", "10", "--json")
    j = as_json(p)
    tap.check(p.returncode == 0 and j and j["received"] == 3 and j["source"] == A4,
              "ping smaller -> larger address: 3 pongs", detail(p))
    p = rdstcp(b, "ping", A4, "-c", "2", "-i", "0.2", "-W", "10")
    tap.check(p.returncode == 0 and "2 sent, 2 received" in p.stdout and "pong from 192.0.2.1" in p.stdout,
              "ping larger -> smaller address, human output", detail(p))
    p = rdstcp(a, "ping", B6, "-I", A6, "-c", "2", "-i", "0.2", "-W", "10", "--json")
    j = as_json(p)
    tap.check(p.returncode == 0 and j and j["received"] == 2 and j["source"] == A6,
              "ping IPv6 with -I", detail(p))
    p = rdstcp(a, "ping", NOBODY4, "-c", "1", "-W", "1", "--json")
    j = as_json(p)
    tap.check(p.returncode == 1 and j and j["received"] == 0,
              "ping to an address without a host: no pong, exit 1", detail(p))


def info(ns, *sections):
    p = rdstcp(ns, "info", *sections, "--json")
    return p, as_json(p)


def counters(ns):
    p, j = info(ns, "counters")
    if p.returncode != 0 or not j:
        return None, p
    return {c["name"]: c["value"] for c in j["counters"]}, p


def info_tests(a, b):
    before, p = counters(a)
    tap.check(before is not None and "recv_queued" in before and "send_queued" in before,
              "info counters: upstream's counter names", detail(p))

    sa, sb = rds_socket(a, A4, PORT), rds_socket(b, B4, PORT)
    try:
        for i in range(N):
            sa.sendto(i.to_bytes(4, "big") + bytes(SIZE - 4), (B4, PORT))
        got = 0
        for _ in range(N):
            data, src = sb.recvfrom(SIZE * 2)
            got += len(data) == SIZE and src == (A4, PORT)
        tap.check(got == N, f"{N} messages of {SIZE} bytes A -> B delivered (the traffic info reports)")

        after, p = counters(a)
        delta = {k: after[k] - before.get(k, 0) for k in after} if before and after else {}
        tap.check(delta.get("send_queued", 0) >= N and delta.get("recv_queued", 0) >= N
                  and delta.get("recv_delivered", 0) >= N,
                  f"info counters: send_queued, recv_queued, recv_delivered grew by >= {N}",
                  detail(p) if not delta else {k: delta.get(k) for k in
                                                ("send_queued", "recv_queued", "recv_delivered")})
        tap.check(after is not None and after.get("recv_ping", 0) >= 5 and after.get("send_pong", 0) >= 5,
                  "info counters: the pings were counted (recv_ping, send_pong)",
                  detail(p) if after is None else {k: after.get(k) for k in ("recv_ping", "send_pong")})

        p, j = info(a, "connections")
        conns = [c for c in (j or {}).get("connections", []) if c["local"] == A4 and c["peer"] == B4]
        # Sequence numbers are those of path 0 only, and upstream spreads
        # sockets over paths: they only have to have moved.
        tap.check(len(conns) == 1 and conns[0]["transport"] == "tcp" and conns[0]["connected"]
                  and conns[0]["next_tx_seq"] > 1 and conns[0]["tos"] == 0,
                  "info connections (A): A -> B over tcp, connected, tos 0, next_tx_seq moved",
                  detail(p))
        p, j = info(b, "connections")
        conns = [c for c in (j or {}).get("connections", []) if c["local"] == B4 and c["peer"] == A4]
        tap.check(len(conns) == 1 and conns[0]["connected"] and conns[0]["next_rx_seq"] > 1,
                  "info connections (B): B -> A, connected, next_rx_seq moved", detail(p))
        p, j = info(a, "connections")
        v6 = [c for c in (j or {}).get("connections", []) if c["local"] == A6 and c["peer"] == B6]
        tap.check(len(v6) == 1 and v6[0]["tos"] is None,
                  "info connections (A): the IPv6 connection of the ping, from RDS6_INFO_CONNECTIONS",
                  detail(p))

        p, j = info(b, "sockets")
        socks = [s for s in (j or {}).get("sockets", []) if s["bound_addr"] == B4 and s["bound_port"] == PORT]
        tap.check(len(socks) == 1 and socks[0]["rcvbuf"] > 0 and socks[0]["inode"] == os.fstat(sb.fileno()).st_ino,
                  "info sockets (B): the bound socket, its rcvbuf and inode", detail(p))

        p, j = info(a, "tcp")
        tcp = [t for t in (j or {}).get("tcp", []) if t["local"] == A4 and t["peer"] == B4]
        # One TCP connection per path (upstream makes up to 8).
        tap.check(len(tcp) >= 1 and all(t["peer_port"] == 16385 and t["tos"] == 0 for t in tcp),
                  "info tcp (A): the smaller address connected to port 16385", detail(p))

        for i in range(3):
            sa.sendto(bytes(SIZE + i), (B4, PORT))
        queued = []
        for _ in range(50):  # Up to 5 s for them to arrive.
            p, j = info(b, "recv")
            queued = [m for m in (j or {}).get("recv", []) if m["local_port"] == PORT and m["peer"] == A4]
            if len(queued) >= 3 or p.returncode != 0:
                break
            time.sleep(0.1)
        tap.check(sorted(m["len"] for m in queued) == [SIZE, SIZE + 1, SIZE + 2],
                  "info recv (B): 3 unread messages, their lengths and ports", detail(p))
        for _ in range(3):
            sb.recvfrom(SIZE * 2)

        p = rdstcp(a, "info")
        tap.check(p.returncode == 0 and "Counters:" in p.stdout and "TCP Connections:" in p.stdout,
                  "info with no section: every table, human output", detail(p))
    finally:
        sa.close()
        sb.close()


class Monitor:
    """`rdstcp monitor --json` in namespace `ns` for `seconds`, started
    (and given a second to join the group) on creation."""

    def __init__(self, ns, seconds):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns.name, BIN, "monitor", "--json",
                                   "--timeout", str(seconds)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)

    def events(self):
        """Waits for the end; returns (events, exit status, output for a report)."""
        try:
            out, err = self.p.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return events, self.p.returncode, f"monitor exit {self.p.returncode}: {out.strip()} {err.strip()}"


def netlink_tests(a, b):
    p = rdstcp(a, "show")
    if "generic netlink family not found" in p.stderr:
        for name in ("show --json: the connection, its path up and counters",
                     "show: human output", "show --rate 2: messages/s while they flow",
                     "set stall-ms, read back by show config",
                     "set npaths 9: refused, the error names npaths",
                     "set reconnect-min-ms > reconnect-max-ms: refused whole",
                     "set without CAP_NET_ADMIN: refused with advice",
                     "reset and monitor: conn-down and conn-up events",
                     "monitor: path-stalled under 100% loss (stall-ms 1000), path-unstalled after",
                     "reset of a connection that does not exist"):
            tap.skip(name, "no rds_tcp netlink family in this module")
        return
    tap.check(p.returncode == 0, "show runs", detail(p))

    sa, sb = rds_socket(a, A4, PORT), rds_socket(b, B4, PORT)
    try:
        for i in range(N):
            sa.sendto(bytes(SIZE), (B4, PORT))
        for _ in range(N):
            sb.recvfrom(SIZE * 2)
    finally:
        sa.close()
        sb.close()

    p = rdstcp(a, "show", "--json")
    j = as_json(p) or {}
    conns = [c for c in j.get("connections", []) if c["local"] == A4 and c["peer"] == B4]
    path = conns[0]["paths"][0] if conns and conns[0]["paths"] else {}
    tap.check(path.get("state") == "up" and path.get("tx_msgs", 0) >= N
              and path.get("tx_bytes", 0) >= N * SIZE and path.get("unacked_msgs", 1) == 0
              and "config" in j and "sockets" in j,
              "show --json: the connection, its path up and counters", detail(p))
    p = rdstcp(a, "show")
    tap.check(p.returncode == 0 and f"connection: {A4} -> {B4}" in p.stdout and "path 0: up" in p.stdout,
              "show: human output", detail(p))

    # Rates over a window: messages of SIZE bytes flow while show samples
    # the counters twice, 2 s apart.
    sa, sb = rds_socket(a, A4, PORT), rds_socket(b, B4, PORT)
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            sa.sendto(bytes(SIZE), (B4, PORT))
            sb.recvfrom(SIZE * 2)
            time.sleep(0.01)
    t = threading.Thread(target=pump)
    t.start()
    try:
        time.sleep(0.5)
        p = rdstcp(a, "show", "--rate", "2", "--json")
    finally:
        stop.set()
        t.join()
        sa.close()
        sb.close()
    rates = [r for r in (as_json(p) or {}).get("rates") or [] if r["local"] == A4 and r["peer"] == B4]
    tx = sum(r["tx_msgs_per_s"] for r in rates)
    txb = sum(r["tx_bytes_per_s"] for r in rates)
    tap.check(p.returncode == 0 and tx > 5 and abs(txb - tx * SIZE) < 1e-6 * txb + 1e-9,
              f"show --rate 2: {tx:.0f} messages/s of {SIZE} bytes A -> B while they flow", detail(p))

    p = rdstcp(a, "set", "stall-ms", "5000")
    q = rdstcp(a, "show", "config", "--json")
    tap.check(p.returncode == 0 and (as_json(q) or {}).get("config", {}).get("stall_ms") == 5000,
              "set stall-ms, read back by show config", detail(p) + "\n" + detail(q))

    p = rdstcp(a, "set", "npaths", "9")
    tap.check(p.returncode != 0 and "npaths" in p.stderr,
              "set npaths 9: refused, the error names npaths", detail(p))

    before = (as_json(rdstcp(a, "show", "config", "--json")) or {}).get("config", {})
    p = rdstcp(a, "set", "stall-ms", "7000", "reconnect-min-ms", "5000", "reconnect-max-ms", "10")
    after = (as_json(rdstcp(a, "show", "config", "--json")) or {}).get("config", {})
    tap.check(p.returncode != 0 and "reconnect-min-ms" in p.stderr and before and before == after,
              "set reconnect-min-ms > reconnect-max-ms: refused whole",
              f"{detail(p)}\nbefore {before}\nafter {after}")

    if shutil.which("setpriv"):
        p = rdstcp(a, "set", "stall-ms", "1000", user=65534)
        tap.check(p.returncode != 0 and "CAP_NET_ADMIN" in p.stderr,
                  "set without CAP_NET_ADMIN: refused with advice", detail(p))
    else:
        tap.skip("set without CAP_NET_ADMIN: refused with advice", "no setpriv")

    # Every path goes down and up: read events for a while, not a count.
    mon = Monitor(a, 10)
    r = rdstcp(a, "reset", A4, B4)
    events, status, report = mon.events()
    mine = [e for e in events if e.get("local") == A4 and e.get("peer") == B4]
    tap.check(r.returncode == 0 and status == 0 and mine and mine[0]["event"] == "conn-down"
              and {"conn-down", "conn-up"} <= {e["event"] for e in mine},
              "reset and monitor: conn-down and conn-up events",
              f"reset: {detail(r)}\n{report}")

    # A path cut by 100% loss (netem): monitor reports it stalled within
    # the threshold (plus the once-a-second check), and cleared after.
    p = rdstcp(a, "set", "stall-ms", "1000")
    mon = Monitor(a, 12)
    sa, sb = rds_socket(a, A4, PORT), rds_socket(b, B4, PORT)
    t0 = time.time()  # The clock of the events' "time".
    try:
        a.run("tc qdisc add dev veth-ca root netem loss 100%")
        try:
            for i in range(10):
                sa.sendto(bytes(SIZE), (B4, PORT))
            time.sleep(4)
        finally:
            a.run("tc qdisc del dev veth-ca root")
        for _ in range(10):
            sb.recvfrom(SIZE * 2)
    finally:
        sa.close()
        sb.close()
    events, status, report = mon.events()
    kinds = [e["event"] for e in events if e.get("peer") == B4 and e["event"].startswith("path-")]
    stalled = [e for e in events if e["event"] == "path-stalled"]
    tap.check(p.returncode == 0 and kinds[:2] == ["path-stalled", "path-unstalled"]
              and stalled[0]["last_progress_ms"] > 1000 and stalled[0]["waiting_bytes"] >= 10 * SIZE
              and stalled[0]["time"] - t0 < 30,
              "monitor: path-stalled under 100% loss (stall-ms 1000), path-unstalled after",
              f"set: {detail(p)}\n{report}")

    p = rdstcp(a, "reset", A4, "192.0.2.99", "3")
    tap.check(p.returncode != 0 and "no connection" in p.stderr,
              "reset of a connection that does not exist", detail(p))


if BIN is None:
    tap.check(False, "rdstcp binary found", f"build it on the host: cargo build -p rdstcp (in {ROOT})")
    tap.finish()
p = subprocess.run([BIN, "--version"], capture_output=True, text=True)
tap.check(p.returncode == 0, f"{BIN} runs", detail(p))

a, b = Netns("rcliA"), Netns("rcliB")
try:
    sh("ip link add veth-ca netns rcliA type veth peer name veth-cb netns rcliB")
    for ns, dev, v4, v6 in [(a, "veth-ca", A4, A6), (b, "veth-cb", B4, B6)]:
        ns.run("ip link set lo up")
        ns.run(f"ip link set {dev} up")
        ns.run(f"ip addr add {v4}/24 dev {dev}")
        ns.run(f"ip -6 addr add {v6}/64 dev {dev} nodad")
    ping_tests(a, b)
    info_tests(a, b)
    netlink_tests(a, b)
finally:
    a.delete()
    b.delete()

tap.finish()
