#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile wire input: a plain TCP client in namespace rdsA (192.0.2.1, the
smaller address, so its connections are taken as RDS paths) connects to the
RDS port of namespace rdsB over and over and sends RDS/TCP frames, most of
them well formed (data to a bound port, pings, handshake probes with odd
extension headers, congestion maps of the right and wrong size), some
malformed (bad checksum, a length beyond RDS_MAX_MSG_SIZE, random bytes, a
header cut short). A malformed frame must drop that connection only:

- every well-formed data frame that TCP acknowledged is delivered, once,
  intact, in order (RDS/TCP senders take an acknowledgement as delivery);
  the rest of a connection may be cut when a new one from the same port
  replaces it, as a real peer reconnects only a connection it saw die, and
  sends again what was not acknowledged;
- afterwards a real RDS exchange between the namespaces works;
- no splat (scripts/vm-run checks the kernel log).

    selftests/wire_fuzz.py [FRAMES [SEED]]     # 100000 frames by default
"""

import hashlib
import random
import socket
import struct
import sys
import time

from rds_helpers import Tap, veth_namespaces

A4, B4 = "192.0.2.1", "192.0.2.2"
RDS_PORT, DPORT = 16385, 4000
HDR = 48
MAX_MSG = 1 << 20
CONG_MAP_BYTES = 8192
FLAG_CONG_BITMAP, FLAG_RETRANSMITTED = 0x08, 0x04
TCP_ESTABLISHED = 1

frames = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rng = random.Random(seed)
tap = Tap()


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


class Stream:
    """Frames for one TCP connection: `data` lists its well-formed data
    frames (end offset in the stream, payload digest, description)."""

    serial = 0

    def __init__(self, index, seq):
        self.index, self.buf, self.seq, self.size = index, [], seq, 0
        self.kinds, self.data = [], []

    def add(self, b, kind="malformed"):
        self.buf.append(b)
        self.size += len(b)
        self.kinds.append(kind)

    def good(self):
        kind = rng.random()
        self.seq += 1
        if kind < 0.80:
            # Unique payloads (a serial number first), so that each delivery
            # names its frame.
            Stream.serial += 1
            data = struct.pack("!I", Stream.serial) + rng.randbytes(rng.randrange(0, 300))
            ext = bytes(16) if rng.random() < 0.9 else rng.randbytes(16)
            summed = rng.random() < 0.8
            self.add(header(self.seq, len(data), 5000, DPORT, ext=ext, checksum=summed) + data,
                     f"data seq {self.seq} len {len(data)} ext {ext.hex()} csum {int(summed)}")
            self.data.append((self.size, hashlib.sha256(data).digest(),
                              f"connection {self.index} frame {len(self.kinds) - 1}"))
        elif kind < 0.88:
            # A ping from some port: the receiver answers (the fuzzer never reads).
            self.add(header(self.seq, 0, rng.randrange(1, 65536), 0), "ping")
        elif kind < 0.94:
            # A handshake probe with any NPATHS / GEN_NUM values, or junk.
            ext = bytes([2]) + struct.pack("!H", rng.choice([0, 1, 8, 9, 0x8008, 0xFFFF])) \
                + bytes([3]) + rng.randbytes(4) + bytes(8)
            if rng.random() < 0.3:
                ext = rng.randbytes(16)
            self.add(header(self.seq, 0, 1, 0, ext=ext), f"probe {ext.hex()}")
        elif kind < 0.97:
            # A congestion map, of the right size or not.
            size = CONG_MAP_BYTES if rng.random() < 0.5 else rng.randrange(0, 9000)
            self.add(header(0, size, 0, 0, flags=FLAG_CONG_BITMAP) + rng.randbytes(size),
                     f"map {size}")
        else:
            # Data to a port nobody bound: dropped there.
            data = rng.randbytes(rng.randrange(0, 100))
            self.add(header(self.seq, len(data), 5000, 4999, flags=rng.choice([0, FLAG_RETRANSMITTED]))
                     + data, "unbound port")

    def bad(self):
        kind = rng.randrange(4)
        if kind == 0:
            h = bytearray(header(self.seq + 1, 10, 5000, DPORT))
            h[rng.randrange(HDR)] ^= 1 << rng.randrange(8)
            if h[30:32] == b"\0\0":
                h[30] = 1
            self.add(bytes(h) + bytes(10))
        elif kind == 1:
            self.add(header(self.seq + 1, MAX_MSG + 1 + rng.randrange(1 << 20), 5000, DPORT))
        elif kind == 2:
            h = bytearray(rng.randbytes(HDR))
            struct.pack_into("!H", h, 30, 0)
            c = csum(bytes(h))
            struct.pack_into("!H", h, 30, (c ^ 0x1234) or 1)
            self.add(bytes(h))
        else:
            self.add(header(self.seq + 1, 100, 5000, DPORT)[:rng.randrange(1, HDR)])


a = b = None
try:
    a, b = veth_namespaces()
    with b:
        rx = socket.socket(socket.AF_RDS, socket.SOCK_SEQPACKET)
    rx.bind((B4, DPORT))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.setblocking(False)

    streams, got, refused = [], [], []
    sent = ports = 0
    seq = 0

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

    deadline = time.monotonic() + 900
    while sent < frames and time.monotonic() < deadline:
        st = Stream(len(streams), seq)
        for _ in range(rng.randrange(1, 300)):
            st.good()
        if rng.random() < 0.7:
            st.bad()
        seq = st.seq + 10
        for attempt in range(5):
            with a:
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            st.acked = 0
            try:
                # A source port naming path 0, as an rds_rs initiator's
                # does; each used once (the closed ones linger in TIME_WAIT).
                t.bind((A4, 20000 + 8 * (ports % 5000)))
                ports += 1
                t.settimeout(10)
                t.connect((B4, RDS_PORT))
                try:
                    t.sendall(b"".join(st.buf))
                finally:
                    st.acked = acked(t, st.size)
                break
            except OSError as e:
                # The receiver resets a connection at its malformed frame,
                # and refuses one while the path's previous connection
                # looks up to it: a peer tries again a little later. Not a
                # failure, as long as what TCP acknowledged is delivered.
                if st.acked or attempt == 4:
                    refused.append(f"connection {st.index}: {e} after {st.acked}/{st.size} bytes")
                    break
                time.sleep(0.2)
            finally:
                t.close()
        sent += len(st.buf)
        streams.append(st)
        drain(0)
    drain(30, sum(len(st.data) for st in streams))
    tap.check(sent >= frames,
              f"{sent} frames sent over {len(streams)} TCP connections, {len(refused)} cut short",
              "\n".join(refused))
    for r in refused[:5]:
        print(f"# {r}")

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
                + [f"  frame {j}: {k}" for j, k in enumerate(st.kinds) if abs(j - frame) < 4])
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
finally:
    for ns in (a, b):
        if ns:
            ns.delete()
tap.finish()
