#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The rds_tcp generic netlink family, spoken raw (no tool in between), so
that malformed requests can be sent too:

    ns "rnlA"  veth-na 192.0.2.1/24   <-- veth -->   ns "rnlB"  veth-nb 192.0.2.2/24

- GET_CONFIG / SET_CONFIG: values read back; unknown attributes, wrong
  types, out-of-range values, semantic errors (reconnect min > max, a send
  buffer below the kernel's minimum) and unprivileged callers are refused
  with an errno and an extack message, and change nothing;
- GET_SOCK: a dump of 300 sockets over several reads, queue lengths and the
  congested flag; GET_CONN: the connection with 8 paths, split over messages
  or not, each path once, counters matching the traffic;
- RESET_CONN: missing attributes (reported as missing), an unknown
  connection (ENOENT), and a real reset that loses no message;
- the events group: conn-down/conn-up on reset, path-stalled and
  path-unstalled under 100% loss (netem), port-uncongested for a local
  port; a request with the event command is EOPNOTSUPP.

Upstream's C module has no such family: skipped there.
"""

import errno
import os
import socket
import struct
import time

from rds_helpers import Netns, Tap, multipath, sh

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x2, 0x4, 0x300
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSGERR_ATTR_MISS_TYPE = 1, 2, 5
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS = 1, 2, 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2

# include/uapi/linux/rds_tcp_nl.h
CMD_GET_CONFIG, CMD_SET_CONFIG, CMD_GET_CONN, CMD_RESET_CONN, CMD_GET_SOCK, CMD_EVENT = range(1, 7)
CFG = dict(tcp_sndbuf=1, tcp_rcvbuf=2, npaths=3, reconnect_min_ms=4, reconnect_max_ms=5,
           ping_enable=6, stall_ms=7)
CONN_LOCAL, CONN_PEER, CONN_TOS, CONN_IFINDEX, CONN_PATHS = 1, 2, 3, 4, 8
PATH_INDEX, PATH_STATE, PATH_TX_BYTES, PATH_TX_MSGS, PATH_RX_BYTES, PATH_RX_MSGS = 1, 2, 5, 6, 7, 8
PATH_UNACKED_MSGS = 12
PATH_QUEUED_MSGS, PATH_LAT_HIST = 14, 21
LAT_COUNT = 2
SOCK_BOUND_ADDR, SOCK_BOUND_PORT, SOCK_RCV_BYTES, SOCK_RCV_MSGS, SOCK_CONGESTED = 1, 2, 11, 12, 13
EV_TYPE, EV_LOCAL, EV_PEER, EV_PATH, EV_LOCAL_PORT, EV_PEER_PORT = 1, 2, 3, 6, 7, 8
EV_NAMES = {1: "conn-up", 2: "conn-down", 3: "port-congested", 4: "port-uncongested",
            5: "path-stalled", 6: "path-unstalled"}

A4, B4 = "192.0.2.1", "192.0.2.2"


def mapped(v4):
    return bytes(10) + b"\xff\xff" + socket.inet_aton(v4)


def attr(t, data):
    return struct.pack("=HH", 4 + len(data), t) + data + bytes(-len(data) % 4)


def u8(t, v):
    return attr(t, struct.pack("=B", v))


def u16(t, v):
    return attr(t, struct.pack("=H", v))


def u32(t, v):
    return attr(t, struct.pack("=I", v))


def parse(buf):
    """Attributes of `buf` as {type: [payload, ...]} (nested bit masked)."""
    out, off = {}, 0
    while off + 4 <= len(buf):
        ln, t = struct.unpack_from("=HH", buf, off)
        if ln < 4:
            break
        out.setdefault(t & 0x3FFF, []).append(buf[off + 4:off + ln])
        off += (ln + 3) & ~3
    return out


def uint(b):
    return int.from_bytes(b, "little")


class NlError(Exception):
    def __init__(self, err, msg, offs, miss):
        super().__init__(f"{errno.errorcode.get(err, err)}: {msg!r}")
        self.errno, self.msg, self.offs, self.miss = err, msg, offs, miss


class Genl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.s.settimeout(10)
        self.seq = 1
        self.family, self.groups = GENL_ID_CTRL, {}
        reply = self.request(CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, b"rds_tcp\0"))[0]
        a = parse(reply)
        self.family = uint(a[CTRL_ATTR_FAMILY_ID][0])
        for grp in parse(a.get(CTRL_ATTR_MCAST_GROUPS, [b""])[0]).values():
            g = parse(grp[0])
            self.groups[g[CTRL_ATTR_MCAST_GRP_NAME][0].rstrip(b"\0").decode()] = \
                uint(g[CTRL_ATTR_MCAST_GRP_ID][0])

    def send(self, cmd, payload, flags, version=1):
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + payload
        self.s.send(struct.pack("=IHHII", 16 + len(body), self.family, flags, self.seq, 0) + body)
        return self.seq

    def request(self, cmd, payload=b"", dump=False):
        """Replies' attribute payloads; raises NlError with the extack."""
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if dump else 0)
        seq = self.send(cmd, payload, flags)
        out, self.reads = [], 0
        while True:
            data = self.s.recv(65536)
            self.reads += 1
            off = 0
            while off + 16 <= len(data):
                ln, typ, fl, s, _ = struct.unpack_from("=IHHII", data, off)
                msg = data[off + 16:off + ln]
                off += (ln + 3) & ~3
                if s != seq:
                    continue
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", msg)[0]
                    tlv = parse(msg[4 + 16:]) if fl & NLM_F_ACK_TLVS else {}
                    if err:
                        raise NlError(err, tlv.get(NLMSGERR_ATTR_MSG, [b""])[0].rstrip(b"\0").decode(),
                                      uint(tlv[NLMSGERR_ATTR_OFFS][0]) if NLMSGERR_ATTR_OFFS in tlv else None,
                                      uint(tlv[NLMSGERR_ATTR_MISS_TYPE][0]) if NLMSGERR_ATTR_MISS_TYPE in tlv else None)
                    return out
                if typ == NLMSG_DONE:
                    err = -struct.unpack_from("=i", msg)[0] if len(msg) >= 4 else 0
                    if err:
                        raise NlError(err, "", None, None)
                    return out  # A dump is not acked.
                out.append(msg[4:])

    def config(self):
        a = parse(self.request(CMD_GET_CONFIG)[0])
        return {k: uint(a[v][0]) for k, v in CFG.items() if v in a}

    def join(self, group):
        self.s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, self.groups[group])

    def events(self, seconds):
        """Events received within `seconds`, as (name, attrs)."""
        out, end = [], time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except (socket.timeout, BlockingIOError):
                break
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, _, _ = struct.unpack_from("=IHHII", data, off)
                if typ == self.family and data[off + 16] == CMD_EVENT:
                    a = parse(data[off + 20:off + ln])
                    out.append((EV_NAMES.get(uint(a[EV_TYPE][0])), a))
                off += (ln + 3) & ~3
        self.s.settimeout(10)
        return out


def refused(g, tap, name, cmd, payload, want_errno, want_msg=True, want_miss=None):
    before = g.config()
    try:
        g.request(cmd, payload)
        tap.check(False, name, "accepted")
        return
    except NlError as e:
        err = e
    after = g.config()
    ok = err.errno == want_errno and (err.msg or not want_msg) and before == after
    if want_miss is not None:
        ok = ok and err.miss == want_miss
    tap.check(ok, f"{name}: {errno.errorcode.get(err.errno)} \"{err.msg}\"",
              f"got {err} (missing {err.miss}), config before {before} after {after}")


def config_tests(tap, g, a):
    cfg = g.config()
    tap.check(set(cfg) == set(CFG), f"GET_CONFIG: every setting ({cfg})")
    new = dict(stall_ms=2500, reconnect_min_ms=10, reconnect_max_ms=2000, ping_enable=1)
    g.request(CMD_SET_CONFIG, b"".join(
        u8(CFG[k], v) if k == "ping_enable" else u32(CFG[k], v) for k, v in new.items()))
    got = g.config()
    tap.check(all(got[k] == v for k, v in new.items()), "SET_CONFIG of four settings, read back", got)
    g.request(CMD_SET_CONFIG)
    tap.check(g.config() == got, "SET_CONFIG without attributes changes nothing")

    refused(g, tap, "unknown attribute", CMD_SET_CONFIG, u32(CFG["stall_ms"], 1) + u32(99, 1), errno.EINVAL)
    refused(g, tap, "wrong type (u16 for a u32)", CMD_SET_CONFIG, u16(CFG["npaths"], 2), errno.EINVAL)
    refused(g, tap, "npaths 9 (out of range)", CMD_SET_CONFIG, u32(CFG["npaths"], 9), errno.ERANGE)
    refused(g, tap, "ping_enable 2 (out of range)", CMD_SET_CONFIG, u8(CFG["ping_enable"], 2), errno.ERANGE)
    refused(g, tap, "reconnect_min_ms 0 (out of range)", CMD_SET_CONFIG,
            u32(CFG["reconnect_min_ms"], 0), errno.ERANGE)
    refused(g, tap, "tcp_sndbuf 100 (below the kernel's minimum) with a valid stall_ms",
            CMD_SET_CONFIG, u32(CFG["stall_ms"], 7) + u32(CFG["tcp_sndbuf"], 100), errno.EINVAL)
    refused(g, tap, "reconnect_min_ms above reconnect_max_ms, with valid others", CMD_SET_CONFIG,
            u32(CFG["stall_ms"], 9) + u32(CFG["reconnect_min_ms"], 5000), errno.EINVAL)
    refused(g, tap, "the event command", CMD_EVENT, b"", errno.EOPNOTSUPP)

    # Unprivileged: each change refused with EPERM and a message, reading
    # allowed. The child reports through a pipe.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        out = []
        try:
            a.__enter__()  # Into the namespace while still allowed to.
            os.setgid(65534)
            os.setuid(65534)
            g2 = Genl()
            for cmd, payload in [(CMD_SET_CONFIG, u32(CFG["stall_ms"], 1)),
                                 (CMD_RESET_CONN, attr(CONN_LOCAL, mapped(A4)) + attr(CONN_PEER, mapped(B4)))]:
                try:
                    g2.request(cmd, payload)
                    out.append("accepted")
                except NlError as e:
                    out.append(f"{errno.errorcode.get(e.errno)}:{e.msg}")
            g2.request(CMD_GET_CONFIG)
            out.append("read")
        except Exception as e:
            out.append(repr(e))
        os.write(w, "|".join(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        got = f.read().split("|")
    os.waitpid(pid, 0)
    tap.check(len(got) == 3 and all(x.startswith("EPERM:") and "CAP_NET_ADMIN" in x for x in got[:2])
              and got[2] == "read" and g.config()["stall_ms"] == 2500,
              "unprivileged: SET_CONFIG and RESET_CONN refused (EPERM, with a message), "
              "nothing changed; GET_CONFIG allowed", got)


def rds_socket(ns, addr, port, rcvbuf=None):
    with ns:
        s = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(20)
    s.bind((addr, port))
    return s


def sock_tests(tap, g, a):
    many = [rds_socket(a, A4, 5000 + i) for i in range(300)]
    try:
        with a:
            local = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
        local.bind((A4, 4999))
        for i in range(3):
            local.sendto(bytes(100 + i), (A4, 5000))
        time.sleep(0.2)
        socks = [parse(m) for m in g.request(CMD_GET_SOCK, dump=True)]
        reads = g.reads
        ports = sorted(uint(s[SOCK_BOUND_PORT][0]) for s in socks if SOCK_BOUND_PORT in s)
        tap.check(ports == [4999] + list(range(5000, 5300)) and reads > 1,
                  f"GET_SOCK: 301 bound sockets, once each, over {reads} reads",
                  f"{len(ports)} ports")
        s0 = [s for s in socks if SOCK_BOUND_PORT in s and uint(s[SOCK_BOUND_PORT][0]) == 5000]
        tap.check(s0 and uint(s0[0][SOCK_RCV_MSGS][0]) == 3 and uint(s0[0][SOCK_RCV_BYTES][0]) == 303
                  and s0[0][SOCK_BOUND_ADDR][0] == mapped(A4),
                  "GET_SOCK: queued messages and bytes of one socket", s0)
        local.close()
    finally:
        for s in many:
            s.close()


def totals(g, local, peer):
    """Sums over the paths of the connection local -> peer."""
    msgs = [parse(m) for m in g.request(CMD_GET_CONN, dump=True)]
    mine = [m for m in msgs if m[CONN_LOCAL][0] == mapped(local) and m[CONN_PEER][0] == mapped(peer)]
    paths = [parse(p) for m in mine for p in parse(m.get(CONN_PATHS, [b""])[0]).get(0, [])]
    up = [p for p in paths if uint(p[PATH_STATE][0]) == 3]

    def total(t):
        return sum(uint(p[t][0]) for p in paths)
    return {
        "msgs": len(mine),
        "paths": sorted(uint(p[PATH_INDEX][0]) for p in up),
        "tx_msgs": total(PATH_TX_MSGS), "tx_bytes": total(PATH_TX_BYTES),
        "rx_msgs": total(PATH_RX_MSGS), "rx_bytes": total(PATH_RX_BYTES),
        "waiting": total(PATH_UNACKED_MSGS) + total(PATH_QUEUED_MSGS),
        "lat": sum(uint(parse(bk)[LAT_COUNT][0]) for p in paths
                   for bk in parse(p.get(PATH_LAT_HIST, [b""])[0]).get(0, [])),
    }


def conn_tests(tap, g, a, b):
    sa, sb = rds_socket(a, A4, 4000), rds_socket(b, B4, 4000)
    try:
        # Connected, handshake done: one message each way first.
        sa.sendto(b"x", (B4, 4000))
        sb.recv(10)
        time.sleep(0.5)
        with b:
            gb0 = Genl()
        before_a, before_b = totals(g, A4, B4), totals(gb0, B4, A4)
        # In batches, below the receiver's congestion limit (no map updates).
        n, size, got = 200, 1000, 0
        for _ in range(n // 20):
            for i in range(20):
                sa.sendto(bytes(size), (B4, 4000))
            got += sum(len(sb.recv(2000)) == size for _ in range(20))
        tap.check(got == n, f"{n} messages A -> B")
        time.sleep(0.5)  # Acknowledgements.
        after_a, after_b = totals(g, A4, B4), totals(gb0, B4, A4)
        d = {k: after_a[k] - before_a[k] for k in after_a if k != "paths"}
        rx = {k: after_b[k] - before_b[k] for k in after_b if k != "paths"}
        idx = after_a["paths"]
        tap.check(idx == list(range(8)),
                  f"GET_CONN: one connection, 8 paths up, each once (in {after_a['msgs']} message(s))", idx)
        tap.check(d["tx_msgs"] == n and d["tx_bytes"] == n * size and d["lat"] == n and d["waiting"] == 0
                  and rx["rx_msgs"] == n and rx["rx_bytes"] == n * size,
                  f"GET_CONN counters: A sent {n} messages of {size} B, {n} acknowledged (latency "
                  f"histogram), none waiting; B received {n} messages of {size} B", f"A {d} B {rx}")

        # Reset: every path goes down and up, and nothing is lost.
        # Events on their own socket: request() skips what is not its reply.
        with a:
            ge = Genl()
        ge.join("events")
        g.request(CMD_RESET_CONN, attr(CONN_LOCAL, mapped(A4)) + attr(CONN_PEER, mapped(B4)))
        got = []
        for k in range(n // 20):
            for i in range(20):
                sa.sendto((k * 20 + i).to_bytes(4, "big"), (B4, 4000))
            got += [int.from_bytes(sb.recv(100), "big") for _ in range(20)]
        evs = ge.events(3)
        downs = {uint(e[EV_PATH][0]) for name, e in evs if name == "conn-down"}
        ups = {uint(e[EV_PATH][0]) for name, e in evs if name == "conn-up"}
        tap.check(got == list(range(n)), f"RESET_CONN: {n} messages sent around it arrive, in order")
        tap.check(0 in downs and 0 in ups and evs and evs[0][0] == "conn-down",
                  f"events: conn-down on paths {sorted(downs)}, then conn-up on {sorted(ups)}",
                  [name for name, _ in evs])

        # A path with messages and no progress: stalled, then unstalled.
        g.request(CMD_SET_CONFIG, u32(CFG["stall_ms"], 500))
        a.run("tc qdisc add dev veth-na root netem loss 100%")
        try:
            for i in range(20):
                sa.sendto(bytes(100), (B4, 4000))
            stalled = [e for name, e in ge.events(4) if name == "path-stalled"]
        finally:
            a.run("tc qdisc del dev veth-na root")
        for _ in range(20):
            sb.recv(200)
        unstalled = [e for name, e in ge.events(3) if name == "path-unstalled"]
        tap.check(stalled and uint(stalled[0][10][0]) >= 2000 and uint(stalled[0][9][0]) > 500
                  and unstalled,
                  "events: path-stalled (waiting bytes, last progress) under 100% loss, "
                  "path-unstalled once the link works again",
                  f"stalled {stalled} unstalled {unstalled}")

        # A port crossing its limit, and back: on B a local port, on A a
        # port of the peer (its congestion map update).
        with b:
            gb = Genl()
        gb.join("events")
        ge.events(0.5)  # Drop what came before.
        small = rds_socket(b, B4, 4100, rcvbuf=4096)
        sent = 0
        for _ in range(20):
            try:
                sa.sendto(bytes(1000), (B4, 4100))
                sent += 1
            except OSError:
                break
        time.sleep(1)
        # Requests on another socket: request() skips the events.
        c = [parse(m) for m in gb0.request(CMD_GET_SOCK, dump=True)]
        flag = [s for s in c if SOCK_BOUND_PORT in s and uint(s[SOCK_BOUND_PORT][0]) == 4100]
        tap.check(flag and SOCK_CONGESTED in flag[0], "GET_SOCK: the full socket is flagged congested")
        drained = 0
        small.settimeout(1)
        try:
            while True:
                small.recv(2000)
                drained += 1
        except OSError:
            pass
        local = [(name, uint(e[EV_LOCAL_PORT][0])) for name, e in gb.events(2) if EV_LOCAL_PORT in e]
        tap.check(local[:1] == [("port-congested", 4100)] and ("port-uncongested", 4100) in local,
                  f"events (B): local port 4100 congested after {sent} messages, "
                  f"uncongested after draining {drained}", local)
        peer = [(name, uint(e[EV_PEER_PORT][0])) for name, e in ge.events(2) if EV_PEER_PORT in e]
        tap.check(("port-congested", 4100) in peer and ("port-uncongested", 4100) in peer,
                  "events (A): the peer's port 4100 congested, then uncongested (its map updates)", peer)
        small.close()
    finally:
        sa.close()
        sb.close()

    refused(g, tap, "RESET_CONN without the peer address", CMD_RESET_CONN,
            attr(CONN_LOCAL, mapped(A4)), errno.EINVAL, want_miss=CONN_PEER)
    refused(g, tap, "RESET_CONN with a short address", CMD_RESET_CONN,
            attr(CONN_LOCAL, mapped(A4)[:4]) + attr(CONN_PEER, mapped(B4)), errno.ERANGE)
    refused(g, tap, "RESET_CONN of an unknown connection", CMD_RESET_CONN,
            attr(CONN_LOCAL, mapped(A4)) + attr(CONN_PEER, mapped("192.0.2.99")), errno.ENOENT)


tap = Tap()
a = b = None
try:
    with open("/proc/modules") as f:
        loaded = f.read()
    if "rds_rs " not in loaded:
        tap.skip("the rds_tcp netlink family", "upstream's module has none")
        tap.finish()
    multipath(8)
    a, b = Netns("rnlA"), Netns("rnlB")
    sh("ip link add veth-na netns rnlA type veth peer name veth-nb netns rnlB")
    for ns, dev, v4 in [(a, "veth-na", A4), (b, "veth-nb", B4)]:
        ns.run("ip link set lo up")
        ns.run(f"ip link set {dev} up")
        ns.run(f"ip addr add {v4}/24 dev {dev}")
    with a:
        g = Genl()
    config_tests(tap, g, a)
    sock_tests(tap, g, a)
    conn_tests(tap, g, a, b)
finally:
    multipath(1)
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
