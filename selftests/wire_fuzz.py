#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile wire input: plain TCP clients in namespace rdsA (192.0.2.1, the
smaller address, so that its connections are taken as RDS paths) connect to
the RDS port of namespace rdsB and send RDS/TCP frames, well formed and
malformed, in three kinds of connection at once:

- streams (to 192.0.2.2, one connection after another): numbered data frames
  to a bound port, mixed with frames that are malformed but survivable,
  which the receiver ignores as upstream does (garbled, unknown and overlong
  extension headers; congestion maps of the wrong size; handshake probes
  with junk path counts; unknown flag bits; retransmissions of old
  sequence numbers; data for a port nobody bound), and, in 7 of 10, ending
  with a fatal one (bad checksum, a length beyond RDS_MAX_MSG_SIZE, random
  bytes, a header cut short by the end of the connection);
- a storm (to 192.0.2.200, a peer address of its own): connections of one
  fatal frame each, several at a time;
- trickles (to 192.0.2.201-216, one peer address each): a data frame sent a
  byte every 50 ms, slowloris style, all the while;
- a shredded frame (to 192.0.2.217): a 96 KiB data frame sent a byte per
  segment as fast as TCP takes them, so that a receiver keeping large
  payloads in the skbs they arrived in must copy it instead of pinning an
  skb per byte.

A fatal frame must drop that connection only:

- every data frame of a stream that TCP acknowledged is delivered, once,
  intact, in order (RDS/TCP senders take an acknowledgement as delivery);
  the rest of a connection may be cut when a new one from the same port
  replaces it, as a real peer reconnects only a connection it saw die, and
  sends again what was not acknowledged;
- every trickled frame, and the shredded one, arrives intact;
- afterwards a real RDS exchange between the namespaces works;
- no splat (scripts/vm-run checks the kernel log).

    selftests/wire_fuzz.py [MALFORMED [SEED]]     # 100000 malformed frames by default
"""

import hashlib
import random
import socket
import struct
import sys
import threading
import time

from rds_helpers import Tap, sh, veth_namespaces

A4, B4 = "192.0.2.1", "192.0.2.2"
STORM4 = "192.0.2.200"
TRICKLE4 = [f"192.0.2.{201 + i}" for i in range(16)]
SHRED4 = "192.0.2.217"
SHRED_BYTES = 96 << 10
RDS_PORT, DPORT, NOBODY = 16385, 4000, 4999
HDR = 48
MAX_MSG = 1 << 20
CONG_MAP_BYTES = 8192
FLAG_CONG_BITMAP, FLAG_ACK_REQUIRED, FLAG_RETRANSMITTED = 0x08, 0x02, 0x04
TCP_ESTABLISHED = 1
EXT_RDMA_DEST, EXT_NPATHS = 3, 5
DEADLINE = 900  # seconds for the fuzzing, whatever MALFORMED says

malformed = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rng = random.Random(seed)
tap = Tap()
STORM = min(2000, malformed // 50)


def csum(b):
    s = sum(struct.unpack("!24H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def header(seq, length, sport, dport, flags=0, ext=bytes(16), checksum=True):
    h = bytearray(struct.pack("!QQIHHBB4sH16s", seq, 0, length, sport, dport, flags, 0,
                              bytes(4), 0, ext))
    if checksum:
        struct.pack_into("!H", h, 30, csum(bytes(h)))
    return bytes(h)


def survivable(r):
    """One malformed frame that the receiver must ignore, keeping the
    connection: (bytes, kind)."""
    kind = r.randrange(8)
    summed = r.random() < 0.5
    data = r.randbytes(r.randrange(0, 64))
    if kind == 0:
        ext = r.randbytes(16)
        return header(r.randrange(1 << 64), len(data), 5000, NOBODY, ext=ext, checksum=summed) + data, \
            "garbled extension headers"
    if kind == 1:
        ext = bytes([r.randrange(16, 256)]) + r.randbytes(15)
        return header(r.randrange(1 << 64), len(data), 5000, NOBODY, ext=ext, checksum=summed) + data, \
            "unknown extension type"
    if kind == 2:
        # Extensions that run past the 16 bytes reserved for them.
        ext = bytes([EXT_NPATHS, 0, 8]) * 5 + bytes([EXT_RDMA_DEST])
        return header(r.randrange(1 << 64), len(data), 5000, NOBODY, ext=ext, checksum=summed) + data, \
            "overlong extension"
    if kind == 3:
        size = r.choice([0, 1, CONG_MAP_BYTES - 1, CONG_MAP_BYTES + 1]) if r.random() < 0.3 \
            else r.randrange(2, 1500)
        return header(0, size, 0, 0, flags=FLAG_CONG_BITMAP) + r.randbytes(size), "congestion map of the wrong size"
    if kind == 4:
        ext = bytes([EXT_NPATHS]) + struct.pack("!H", r.choice([0, 9, 0x8008, 0xFFFF])) + r.randbytes(13)
        return header(r.randrange(1 << 64), 0, 1, 0, ext=ext, checksum=summed), "probe with a junk path count"
    if kind == 5:
        flags = r.choice([0x10, 0x20, 0x40, 0x80, 0xF0, 0xFF & ~FLAG_CONG_BITMAP])
        return header(r.randrange(1 << 64), len(data), 5000, NOBODY, flags=flags, checksum=summed) + data, \
            "unknown flag bits"
    if kind == 6:
        return header(r.randrange(1, 1000), len(data), 5000, NOBODY, flags=FLAG_RETRANSMITTED,
                      checksum=summed) + data, "retransmission of an old sequence number"
    # h_padding is not zero (upstream ignores it; the checksum covers it).
    h = bytearray(header(r.randrange(1 << 64), len(data), 5000, NOBODY, checksum=False))
    h[29] = r.randrange(1, 256)
    struct.pack_into("!H", h, 30, csum(bytes(h)))
    return bytes(h) + data, "nonzero padding"


def fatal(r, seq):
    """One frame that must make the receiver drop the connection."""
    kind = r.randrange(4)
    if kind == 0:
        h = bytearray(header(seq, 10, 5000, DPORT))
        h[r.randrange(HDR)] ^= 1 << r.randrange(8)
        if h[30:32] == b"\0\0":
            h[30] = 1
        return bytes(h) + bytes(10), "bad checksum"
    if kind == 1:
        return header(seq, MAX_MSG + 1 + r.randrange(1 << 20), 5000, DPORT), "length beyond 1 MiB"
    if kind == 2:
        h = bytearray(r.randbytes(HDR))
        struct.pack_into("!H", h, 30, 0)
        c = csum(bytes(h))
        struct.pack_into("!H", h, 30, (c ^ 0x1234) or 1)
        return bytes(h), "random bytes"
    return header(seq, 100, 5000, DPORT)[:r.randrange(1, HDR)], "header cut short"


# Survivable malformed frames are drawn from a pool built once: building each
# anew costs milliseconds of Python under TCG.
POOL = [survivable(rng) for _ in range(1024)]


class Stream:
    """Frames for one TCP connection: `data` lists its well-formed data
    frames (end offset in the stream, payload digest, description)."""

    serial = 0

    def __init__(self, index, seq):
        self.index, self.buf, self.seq, self.size = index, [], seq, 0
        self.kinds, self.data = [], []
        self.malformed = {}

    def add(self, b, kind):
        self.buf.append(b)
        self.size += len(b)
        self.kinds.append(kind)

    def at(self, offset):
        """The frame at stream offset `offset`, and the one before it."""
        end = 0
        for i, b in enumerate(self.buf):
            end += len(b)
            if end > offset:
                before = self.kinds[i - 1] if i else "none"
                return f"in frame {i}: {self.kinds[i]}; before it: {before}"
        return "at the end"

    def good(self):
        self.seq += 1
        kind = rng.random()
        if kind < 0.9:
            # Unique payloads (a serial number first), so that each delivery
            # names its frame.
            Stream.serial += 1
            data = struct.pack("!I", Stream.serial) + rng.randbytes(rng.randrange(0, 300))
            summed = rng.random() < 0.8
            self.add(header(self.seq, len(data), 5000, DPORT, checksum=summed) + data,
                     f"data seq {self.seq} len {len(data)} csum {int(summed)}")
            self.data.append((self.size, hashlib.sha256(data).digest(),
                              f"connection {self.index} frame {len(self.kinds) - 1}"))
        elif kind < 0.95:
            # A ping from some port: the receiver answers (the fuzzer never reads).
            self.add(header(self.seq, 0, rng.randrange(1, 65536), 0), "ping")
        else:
            self.add(CONG_MAP, "congestion map")

    def bad(self, n):
        for frame, kind in rng.choices(POOL, k=n):
            self.add(frame, kind)
            self.malformed[kind] = self.malformed.get(kind, 0) + 1

    def end(self):
        frame, kind = fatal(rng, self.seq + 1)
        self.add(frame, kind)
        self.malformed["fatal: " + kind] = self.malformed.get("fatal: " + kind, 0) + 1


CONG_MAP = header(0, CONG_MAP_BYTES, 0, 0, flags=FLAG_CONG_BITMAP) + bytes(CONG_MAP_BYTES)


def storm(count, stop, out):
    """`count` connections of one fatal frame each to STORM4, from ports
    naming path 0 (so that each replaces the one before)."""
    r = random.Random(seed + 1)
    port = 0
    a.enter_thread()
    for k in range(count):
        if stop.is_set():
            break
        frame, _ = fatal(r, r.randrange(1, 1 << 32))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # 8000 to 19992: apart from the streams' and trickles' ports.
            port = (port + 1) % 1500
            t.bind((A4, 8 * (1000 + port)))
            t.settimeout(5)
            t.connect((STORM4, RDS_PORT))
            t.sendall(frame)
            out["sent"] += 1
        except OSError as e:
            out["errors"][e.errno] = out["errors"].get(e.errno, 0) + 1
        finally:
            t.close()
        out["connections"] = k + 1


def trickle(stop, out):
    """A data frame to port DPORT of each TRICKLE4 address, one byte every
    50 ms on each connection, until each has gone out whole."""
    socks, frames = [], []
    a.enter_thread()
    for i, addr in enumerate(TRICKLE4):
        data = b"trickle %d " % i + bytes(range(64))
        frames.append(header(1, len(data), 5000, DPORT) + data)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((A4, 8 * (8000 + i)))
        t.settimeout(10)
        t.connect((addr, RDS_PORT))
        t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(t)
    try:
        for off in range(max(len(f) for f in frames)):
            if stop.is_set():
                break
            for t, f in zip(socks, frames):
                if off < len(f):
                    t.send(f[off:off + 1])
                    out["bytes"] += 1
            time.sleep(0.05)
        out["done"] = True
        stop.wait(60)  # kept open until the end, as a slow peer would
    finally:
        for t in socks:
            t.close()


def shred(data, out):
    """A data frame of `data` to port DPORT of SHRED4, one byte per send
    with TCP_NODELAY: one segment each, as long as TCP does not fall behind."""
    a.enter_thread()
    frame = header(1, len(data), 5000, DPORT) + data
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind((A4, 8 * 8100))
        t.settimeout(30)
        t.connect((SHRED4, RDS_PORT))
        t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for off in range(len(frame)):
            t.send(frame[off:off + 1])
            out["bytes"] += 1
        # Kept open until the frame is read: closing could reset it first.
        out["read"].wait(60)
    except OSError as e:
        out["error"] = str(e)
    finally:
        t.close()


a = b = None
stop = threading.Event()
shred_out = {"bytes": 0, "read": threading.Event()}
threads = []
try:
    a, b = veth_namespaces()
    b.run(f"ip addr add {STORM4}/24 dev veth-b")
    for addr in TRICKLE4 + [SHRED4]:
        b.run(f"ip addr add {addr}/24 dev veth-b")
    sh("ip netns exec rdsA sysctl -qw net.ipv4.tcp_tw_reuse=1")
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
        trx = [socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET) for _ in TRICKLE4]
    rx.bind((B4, DPORT))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.setblocking(False)
    for s, addr in zip(trx, TRICKLE4):
        s.bind((addr, DPORT))
        s.settimeout(30)
    with b:
        srx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    srx.bind((SHRED4, DPORT))
    srx.settimeout(60)
    shred_data = rng.randbytes(SHRED_BYTES)

    storm_out = {"sent": 0, "connections": 0, "errors": {}}
    trickle_out = {"bytes": 0, "done": False}
    threads = [threading.Thread(target=storm, args=(STORM, stop, storm_out)),
               threading.Thread(target=trickle, args=(stop, trickle_out)),
               threading.Thread(target=shred, args=(shred_data, shred_out))]
    for t in threads:
        t.start()

    streams, got, refused = [], [], []
    sent = ports = 0
    seq = 0
    kinds = {}

    def drain(wait, want=None):
        end = time.monotonic() + wait
        while True:
            try:
                data, src = rx.recvfrom(1 << 16)
                got.append((hashlib.sha256(data).digest(), src))
                continue
            except BlockingIOError:
                pass
            if time.monotonic() >= end or (want is not None and len(got) >= want):
                return
            time.sleep(0.01)

    def acked(t, size):
        """Stream bytes TCP acknowledged, once all are or the connection
        died (10 s at most): tcp_info's tcpi_bytes_acked counts the SYN."""
        end = time.monotonic() + 10
        while True:
            info = t.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 128)
            n = struct.unpack_from("=Q", info, 120)[0] - 1
            if n >= size or info[0] != TCP_ESTABLISHED or time.monotonic() >= end:
                return min(max(n, 0), size)
            time.sleep(0.01)

    deadline = time.monotonic() + DEADLINE
    stream_malformed = 0

    def storm_count():
        """What the storm sent, or will have sent while it runs."""
        return STORM if threads[0].is_alive() else storm_out["sent"]

    while time.monotonic() < deadline:
        if stream_malformed + storm_count() >= malformed:
            if not threads[0].is_alive():
                break
            # The storm may fall short of its count (connections refused):
            # streams make up for it.
            threads[0].join(timeout=max(deadline - time.monotonic(), 1))
            continue
        st = Stream(len(streams), seq)
        for _ in range(rng.randrange(1, 40)):
            st.good()
            st.bad(rng.randrange(0, 30))
        if rng.random() < 0.7:
            st.end()
        seq = st.seq + 10
        with a:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        st.acked, whole = 0, False
        try:
            # A source port naming path 0, as an rds_rs initiator's does;
            # each used once (the closed ones linger in TIME_WAIT).
            t.bind((A4, 20000 + 8 * (ports % 5000)))
            ports += 1
            t.settimeout(10)
            t.connect((B4, RDS_PORT))
            try:
                t.sendall(b"".join(st.buf))
                whole = True
            finally:
                st.acked = acked(t, st.size)
        except OSError as e:
            # The receiver resets a connection at its fatal frame (its reset
            # can overtake TCP's last acknowledgements), and refuses one
            # while the path's previous connection looks up to it. Not a
            # failure, as long as what TCP acknowledged is delivered. Not
            # sent again: a peer resends only with RDS_FLAG_RETRANSMITTED,
            # and what was read of it counts as delivered.
            refused.append(f"connection {st.index}: {e} after {st.acked}/{st.size} bytes"
                           f" ({st.at(st.acked)})")
        finally:
            t.close()
        streams.append(st)
        if whole or st.acked:
            # Sent, or at least partly taken: its frames count.
            sent += len(st.buf)
            for k, n in st.malformed.items():
                kinds[k] = kinds.get(k, 0) + n
                stream_malformed += n
        drain(0)
    for t in threads[:1]:
        t.join(timeout=max(deadline - time.monotonic(), 1))
    drain(30, sum(len(st.data) for st in streams))
    total = stream_malformed + storm_out["sent"]
    tap.check(total >= malformed,
              f"{total} malformed frames sent ({stream_malformed} in {sent} frames over {len(streams)} "
              f"stream connections, {storm_out['sent']} in a storm of {storm_out['connections']} connections)",
              f"storm errors: {storm_out['errors']}")
    for k, n in sorted(kinds.items()):
        print(f"#   {n:6d} {k}")
    # A reset before the sender is done: at a fatal frame (the receiver's
    # reset can overtake TCP's last acknowledgements), or a connection
    # refused while the path's previous one still looked up.
    print(f"# storm connections refused or reset before their frame went out: {storm_out['errors']}")
    print(f"# stream connections reset before all was sent: {len(refused)}")
    for r in refused[:5]:
        print(f"#   {r}")

    # Deliveries: per connection, in connection order, a prefix of its data
    # frames that covers every one TCP acknowledged.
    names = {d: tag for st in streams for _, d, tag in st.data}
    pos, required, problem = 0, 0, None
    for st in streams:
        i = 0
        while i < len(st.data) and pos < len(got) and got[pos] == (st.data[i][1], (A4, 5000)):
            i, pos = i + 1, pos + 1
        need = sum(1 for end, _, _ in st.data if end <= st.acked)
        required += need
        if i < need:
            frame = int(st.data[i][2].split()[-1])
            problem = "\n".join(
                [f"connection {st.index}: {i} of its data frames delivered, {need} acknowledged by TCP",
                 f"next delivered: {names.get(got[pos][0], 'unknown') if pos < len(got) else 'none'}"]
                + [f"  frame {j}: {k}" for j, k in enumerate(st.kinds) if abs(j - frame) < 4]
                + [f"  delivered {p}: {names.get(got[p][0], 'unknown')} from {got[p][1]}"
                   for p in range(max(pos - 3, 0), min(pos + 4, len(got)))]
                + [f"  connection {o.index}: acked {o.acked}/{o.size}, {len(o.data)} data frames"
                   for o in streams[max(st.index - 2, 0):st.index + 2]])
            break
    if problem is None and pos < len(got):
        problem = f"delivered out of place: {names.get(got[pos][0], 'unknown')}"
    name = f"{len(got)} data frames delivered once, in order, intact: all {required} TCP acknowledged"
    with open("/proc/modules") as f:
        ours = "rds_rs " in f.read()
    if ours:
        tap.check(problem is None, name, problem)
    else:
        # Upstream refuses a path's new connection while it still has the
        # old one up (rds_tcp_accept_one_path()), so frames go unread.
        tap.skip(name, "upstream refuses connections that race the previous one")

    # The trickles: each frame, sent a byte at a time, arrives whole.
    threads[1].join(timeout=1)  # Done sending long ago; kept open until stop.
    whole = 0
    for i, s in enumerate(trx):
        try:
            data, src = s.recvfrom(1 << 16)
            whole += data == b"trickle %d " % i + bytes(range(64)) and src == (A4, 5000)
        except OSError as e:
            print(f"# trickle {i}: {e}")
    tap.check(whole == len(trx), f"{whole}/{len(trx)} frames trickled a byte every 50 ms arrived whole",
              f"{trickle_out}")
    try:
        data, src = srx.recvfrom(SHRED_BYTES + 1)
        shredded = (hashlib.sha256(data).digest() == hashlib.sha256(shred_data).digest()
                    and src == (A4, 5000))
    except OSError as e:
        shredded = False
        print(f"# shredded frame: {e}")
    shred_out["read"].set()
    tap.check(shredded, f"a {SHRED_BYTES >> 10} KiB frame sent a byte per segment arrived whole",
              f"{shred_out['bytes']} bytes sent, {shred_out.get('error', 'no error')}")

    # The namespaces still talk RDS.
    with a:
        sa = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    with b:
        sb = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    sa.bind((A4, 4100))
    sb.bind((B4, 4100))
    sb.settimeout(30)
    ok = 0
    try:
        for i in range(20):
            sa.sendto(i.to_bytes(4, "big"), (B4, 4100))
        for i in range(20):
            data, src = sb.recvfrom(100)
            ok += data == i.to_bytes(4, "big") and src == (A4, 4100)
    except OSError as e:
        print(f"# real exchange: {e}")
    tap.check(ok == 20, f"afterwards, a real RDS exchange: {ok}/20 messages")
    sa.close()
    sb.close()
    rx.close()
    for s in trx:
        s.close()
    srx.close()
finally:
    stop.set()
    shred_out["read"].set()
    for t in threads:
        t.join(timeout=30)
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
