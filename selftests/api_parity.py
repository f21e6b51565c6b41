#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Socket-API cases for a differential comparison of RDS implementations.

Runs inside the VM with one implementation loaded (`scripts/vm-run --rds c` or
`--rds rust`) and prints one JSON object per case:

    {"case": "bind.double", "result": "EINVAL"}

Results are normalised so that two implementations that behave alike print the
same line: errno names, return values and lengths, flags, received sizes,
counts; never addresses of kernel objects, sequence numbers or timings.
`scripts/api-parity` runs this on both implementations and compares.

Each case runs in a child process of its own, with fresh sockets and ports
of its own, and with every blocking call bounded: a case that does not finish
in its time limit is killed and reported as "TIMEOUT". Cases share one
network namespace, except those whose result depends on what the namespace
has seen (RDS_INFO_* counts, TCP peers): they get a new one each.

    namespace (shared, or fresh for one case)
    lo      127.0.0.1/8, ::1
    v0      192.0.2.1/24, 2001:db8::1/64, fe80::a/64   <-- veth -->  v1 (no address)
            192.0.2.99 is an unreachable neighbour: TCP paths that never come up

    peer cases only: a second namespace "apeer<pid>"
    p0      198.51.100.1/24        <-- veth -->   p1  198.51.100.2/24

Usage: api_parity.py [--json PATH] [--list] [CASE-PREFIX...]
"""

import ctypes
import fcntl
import json
import mmap
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

from rds_helpers import (AF_RDS, SOL_RDS, Netns, errname, libc, raw_bind, raw_getname,
                         raw_socket, sockaddr_in, sockaddr_in6)

CLONE_NEWNET = 0x40000000

# include/uapi/linux/rds.h
RDS_CANCEL_SENT_TO = 1
RDS_GET_MR = 2
RDS_FREE_MR = 3
RDS_BARRIER = 4  # deprecated, never implemented
RDS_RECVERR = 5
RDS_CONG_MONITOR = 6
RDS_GET_MR_FOR_DEST = 7
SO_RDS_TRANSPORT = 8
SO_RDS_MSG_RXPATH_LATENCY = 10
RDS_TRANS_IB, RDS_TRANS_GAP, RDS_TRANS_TCP, RDS_TRANS_COUNT = 0, 1, 2, 3
SIOCPROTOPRIVATE = 0x89E0
SIOCRDSSETTOS = SIOCPROTOPRIVATE
SIOCRDSGETTOS = SIOCPROTOPRIVATE + 1
RDS_CMSG_RDMA_ARGS = 1
RDS_CMSG_RDMA_DEST = 2
RDS_CMSG_RDMA_MAP = 3
RDS_CMSG_RDMA_STATUS = 4
RDS_CMSG_CONG_UPDATE = 5
RDS_CMSG_ATOMIC_FADD = 6
RDS_CMSG_ATOMIC_CSWP = 7
RDS_CMSG_MASKED_ATOMIC_FADD = 8
RDS_CMSG_MASKED_ATOMIC_CSWP = 9
RDS_CMSG_RXPATH_LATENCY = 11
RDS_CMSG_ZCOPY_COOKIE = 12
RDS_INFO_FIRST, RDS_INFO_LAST = 10000, 10017
INFO_NAMES = {
    10000: "counters", 10001: "connections", 10002: "flows", 10003: "send_messages",
    10004: "retrans_messages", 10005: "recv_messages", 10006: "sockets",
    10007: "tcp_sockets", 10008: "ib_connections", 10009: "connection_stats",
    10010: "iwarp_connections", 10011: "rds6_connections", 10012: "rds6_send_messages",
    10013: "rds6_retrans_messages", 10014: "rds6_recv_messages", 10015: "rds6_sockets",
    10016: "rds6_tcp_sockets", 10017: "rds6_ib_connections",
}
# Sizes of the uapi argument structs.
GET_MR_ARGS_LEN = 32         # struct rds_get_mr_args
GET_MR_FOR_DEST_LEN = 160    # struct rds_get_mr_for_dest_args
FREE_MR_ARGS_LEN = 16        # struct rds_free_mr_args
RX_TRACE_SO_LEN = 4          # struct rds_rx_trace_so
# asm-generic/socket.h
SO_TIMESTAMP_OLD = 29
SO_TIMESTAMP_NEW = 63
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_ZEROCOPY = 60
MSG_ZEROCOPY = 0x4000000
SIOCGIFINDEX = 0x8933
SIOCGSTAMP_OLD = 0x8906
FIONREAD = 0x541B

A4, A6, LL = "192.0.2.1", "2001:db8::1", "fe80::a"
UNREACH4 = "192.0.2.99"
LO4, LO6 = "127.0.0.1", "::1"
PEER_A, PEER_B = "198.51.100.1", "198.51.100.2"
WAIT = 10  # seconds: bound of every wait for something expected to happen

# ---------------------------------------------------------------- raw calls


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IoVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


def cmsg(level, type_, data, length=None):
    """One struct cmsghdr with its data, padded to CMSG_SPACE; `length`
    overrides cmsg_len."""
    n = 16 + len(data) if length is None else length
    pad = (-len(data)) % 8
    return struct.pack("=Qii", n, level, type_) + data + bytes(pad)


def raw_sendmsg(fd, data=b"x", name=None, control=b"", flags=0):
    """sendmsg(2) with exactly these name and control bytes; returns the
    length sent or the errno name."""
    dbuf = ctypes.create_string_buffer(data, max(len(data), 1))
    iov = IoVec(ctypes.cast(dbuf, ctypes.c_void_p), len(data))
    nbuf = ctypes.create_string_buffer(name, len(name)) if name else None
    cbuf = ctypes.create_string_buffer(control, len(control)) if control else None
    mh = MsgHdr(ctypes.cast(nbuf, ctypes.c_void_p) if nbuf else None, len(name) if name else 0,
                ctypes.pointer(iov), 1,
                ctypes.cast(cbuf, ctypes.c_void_p) if cbuf else None, len(control), 0)
    r = libc.sendmsg(fd, ctypes.byref(mh), flags)
    return r if r >= 0 else errname(ctypes.get_errno())


def raw_setsockopt(fd, level, opt, value, optlen=None):
    """setsockopt(2) with these bytes; returns 0 or the errno name."""
    buf = ctypes.create_string_buffer(value, max(len(value), 1))
    n = len(value) if optlen is None else optlen
    r = libc.setsockopt(fd, level, opt, buf, ctypes.c_uint(n & 0xffffffff))
    return r if r >= 0 else errname(ctypes.get_errno())


def raw_getsockopt(fd, level, opt, buflen, optlen=None):
    """getsockopt(2); returns (return value or errno name, optlen after, bytes).
    RDS_INFO_* return a positive item size, which socket.getsockopt hides."""
    buf = ctypes.create_string_buffer(max(buflen, 1))
    n = ctypes.c_int(buflen if optlen is None else optlen)
    r = libc.getsockopt(fd, level, opt, buf, ctypes.byref(n))
    ret = r if r >= 0 else errname(ctypes.get_errno())
    return ret, n.value, buf.raw[: max(0, min(n.value, buflen))]


def setopt_int(fd, level, opt, v):
    return raw_setsockopt(fd, level, opt, struct.pack("=i", v))


def getopt_int(fd, level, opt, buflen=4):
    ret, n, data = raw_getsockopt(fd, level, opt, buflen)
    if ret != 0:
        return ret
    return {"ret": ret, "optlen": n, "value": struct.unpack("=i", data[:4])[0] if n >= 4 else None}


def ioctl(fd, req, arg):
    """ioctl(2) with a buffer; returns (0 or errno name, buffer after)."""
    buf = bytearray(arg)
    try:
        r = fcntl.ioctl(fd, req, buf, True)
    except OSError as e:
        return errname(e.errno), bytes(buf)
    return r, bytes(buf)


def ename(e):
    """An errno as its name; 0 for success."""
    return errname(e) if e else 0


def res(fn, *args, **kw):
    """Calls fn; returns its result (0 for None) or the errno name."""
    try:
        r = fn(*args, **kw)
        return 0 if r is None else r
    except OSError as e:
        return errname(e.errno)


def sh(cmd, stdin=None):
    subprocess.run(cmd, shell=True, check=True, input=stdin, text=True,
                   stdout=subprocess.DEVNULL)


def wait_readable(s, timeout=WAIT, peek=True):
    """Waits until a message is queued on s. Upstream's poll also reports
    POLLIN once after any congestion map update (rds_poll()), so a readable
    socket is checked with a non-blocking peek unless `peek` is False."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return False
        if not peek:
            return True
        try:
            s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            return True
        except BlockingIOError:
            time.sleep(0.01)


def cmsgs(anc):
    """Ancillary data as (level, type, data length) triples."""
    return [[lvl, typ, len(data)] for lvl, typ, data in anc]


def name_of(fd, peer=False):
    """getsockname/getpeername normalised: family, length, address, port."""
    err, raw = raw_getname(fd, peer)
    if err:
        return errname(err)
    fam = struct.unpack("=H", raw[:2])[0]
    out = {"len": len(raw), "family": fam}
    if fam == socket.AF_INET:
        out.update(addr=socket.inet_ntoa(raw[4:8]), port=struct.unpack(">H", raw[2:4])[0])
    elif fam == socket.AF_INET6:
        out.update(addr=socket.inet_ntop(socket.AF_INET6, raw[8:24]),
                   port=struct.unpack(">H", raw[2:4])[0],
                   scope_id=struct.unpack("=I", raw[24:28])[0])
    else:
        out.update(zero=raw[2:] == bytes(len(raw) - 2))
    return out


# ----------------------------------------------------------------- cases


class Env:
    """What a case gets: fresh sockets, ports no other case uses, and the
    namespace's peer when the case asked for one."""

    def __init__(self, index):
        self._port = 20000 + index * 20
        self.ifindex = socket.if_nametoindex("v0")
        self.peer = None
        self.socks = []

    def port(self):
        self._port += 1
        return self._port

    def rds(self, bind=None, port=None, scope=0):
        """A new RDS socket, bound to (addr, port) when `bind` is given; IPv6
        addresses go through a raw sockaddr_in6 (with `scope`)."""
        s = socket.socket(AF_RDS, socket.SOCK_SEQPACKET)
        self.socks.append(s)
        if bind:
            self.bind(s, bind, self.port() if port is None else port, scope)
        return s

    def bind(self, s, addr, port, scope=0):
        if ":" in addr:
            e = raw_bind(s.fileno(), sockaddr_in6(addr, port, scope))
        else:
            e = raw_bind(s.fileno(), sockaddr_in(addr, port))
        if e:
            raise OSError(e, f"bind {addr}:{port}")

    def connect(self, s, addr, port, scope=0):
        """connect(2) through raw bytes: socket.connect takes only IPv4
        tuples on AF_RDS sockets."""
        raw = sockaddr_in6(addr, port, scope) if ":" in addr else sockaddr_in(addr, port)
        buf = ctypes.create_string_buffer(raw, len(raw))
        if libc.connect(s.fileno(), buf, len(raw)) != 0:
            raise OSError(ctypes.get_errno(), f"connect {addr}:{port}")

    def pair(self, addr=A4):
        """Two sockets bound on `addr`: a sender and a receiver."""
        return self.rds(addr), self.rds(addr)

    def close(self):
        for s in self.socks:
            s.close()


CASES = []


def case(name, timeout=20, peer=False, fresh=False):
    """Registers a case. It runs in a namespace shared with the other cases
    unless `fresh` (or `peer`) asks for one of its own: where what it checks
    depends on the namespace's history (connections, RDS_INFO_* counts)."""
    def reg(fn):
        CASES.append((name, fn, timeout, peer, fresh or peer))
        return fn
    return reg


def parse_name(raw):
    """(addr, port, scope_id) of a sockaddr_in or sockaddr_in6."""
    fam = struct.unpack("=H", raw[:2])[0]
    port = struct.unpack(">H", raw[2:4])[0]
    if fam == socket.AF_INET6:
        return (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port,
                struct.unpack("=I", raw[24:28])[0])
    return socket.inet_ntoa(raw[4:8]), port, 0


def dest(s):
    """The (addr, port) a socket is bound to. Not s.getsockname(): Python
    gives AF_RDS sockets a sockaddr_in-sized buffer, too small for IPv6."""
    err, raw = raw_getname(s.fileno())
    if err:
        raise OSError(err, "getsockname")
    return parse_name(raw)[:2]


def d6(s):
    """The sockaddr_in6 bytes a socket is bound to."""
    return sockaddr_in6(*parse_name(raw_getname(s.fileno())[1]))


def raw_recv(s, size=65536, flags=0, controllen=0):
    """recvmsg(2) with a name buffer large enough for IPv6 (Python's is not);
    returns (length or errno name, source (addr, port, scope), msg_flags)."""
    dbuf = ctypes.create_string_buffer(max(size, 1))
    iov = IoVec(ctypes.cast(dbuf, ctypes.c_void_p), size)
    nbuf = ctypes.create_string_buffer(128)
    cbuf = ctypes.create_string_buffer(max(controllen, 1))
    mh = MsgHdr(ctypes.cast(nbuf, ctypes.c_void_p), 128, ctypes.pointer(iov), 1,
                ctypes.cast(cbuf, ctypes.c_void_p) if controllen else None, controllen, 0)
    r = libc.recvmsg(s.fileno(), ctypes.byref(mh), flags)
    if r < 0:
        return errname(ctypes.get_errno()), None, None
    src = parse_name(nbuf.raw[: mh.namelen]) if mh.namelen >= 16 else None
    return r, src, mh.flags


# socket(2) ----------------------------------------------------------------

for _name, _type, _proto in [("stream", socket.SOCK_STREAM, 0), ("dgram", socket.SOCK_DGRAM, 0),
                             ("raw", socket.SOCK_RAW, 0), ("rdm", socket.SOCK_RDM, 0),
                             ("seqpacket_proto1", socket.SOCK_SEQPACKET, 1),
                             ("seqpacket_proto_tcp", socket.SOCK_SEQPACKET, socket.IPPROTO_TCP),
                             ("seqpacket", socket.SOCK_SEQPACKET, 0),
                             ("seqpacket_nonblock_cloexec",
                              socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK
                              | socket.SOCK_CLOEXEC, 0)]:
    def _socket_case(env, t=_type, p=_proto):
        fd, err = raw_socket(AF_RDS, t, p)
        if fd < 0:
            return errname(err)
        os.close(fd)
        return 0
    case(f"socket.{_name}")(_socket_case)


@case("sol_socket.type_domain_protocol")
def _(env):
    s = env.rds()
    return [s.getsockopt(socket.SOL_SOCKET, o) for o in
            (socket.SO_TYPE, socket.SO_DOMAIN, socket.SO_PROTOCOL, socket.SO_ERROR,
             socket.SO_ACCEPTCONN)]


# bind(2) ------------------------------------------------------------------

def _bind_case(name, addr_fn, length=None):
    @case(f"bind.{name}")
    def _(env):
        s = env.rds()
        e = raw_bind(s.fileno(), addr_fn(env), length)
        return errname(e) if e else name_of(s.fileno())


_bind_case("zero_len", lambda e: sockaddr_in(A4, 4000), 0)
_bind_case("len_1", lambda e: sockaddr_in(A4, 4000), 1)
_bind_case("in_len_15", lambda e: sockaddr_in(A4, 4000), 15)
_bind_case("in_len_long", lambda e: sockaddr_in(A4, e.port()) + bytes(112))
_bind_case("in6_len_24", lambda e: sockaddr_in6(A6, 4000), 24)
_bind_case("in6_len_27", lambda e: sockaddr_in6(A6, 4000), 27)
_bind_case("in6_family_len_16", lambda e: sockaddr_in6(A6, 4000), 16)
_bind_case("family_unix", lambda e: sockaddr_in(A4, 4000, family=socket.AF_UNIX))
_bind_case("family_unspec", lambda e: sockaddr_in(A4, 4000, family=0))
_bind_case("any4", lambda e: sockaddr_in("0.0.0.0", 4000))
_bind_case("broadcast4", lambda e: sockaddr_in("255.255.255.255", 4000))
_bind_case("multicast4", lambda e: sockaddr_in("224.0.0.1", 4000))
_bind_case("any6", lambda e: sockaddr_in6("::", 4000))
_bind_case("multicast6", lambda e: sockaddr_in6("ff02::1", 4000))
_bind_case("v4mapped_any", lambda e: sockaddr_in6("::ffff:0.0.0.0", 4000))
_bind_case("v4mapped_broadcast", lambda e: sockaddr_in6("::ffff:255.255.255.255", 4000))
_bind_case("v4mapped_multicast", lambda e: sockaddr_in6("::ffff:239.1.1.1", 4000))
_bind_case("v4mapped_local", lambda e: sockaddr_in6("::ffff:" + A4, e.port()))
_bind_case("linklocal_no_scope", lambda e: sockaddr_in6(LL, 4000))
_bind_case("linklocal_bad_scope", lambda e: sockaddr_in6(LL, 4000, 9999))
_bind_case("linklocal_wrong_if", lambda e: sockaddr_in6(LL, 4000, 1))
_bind_case("linklocal_scope", lambda e: sockaddr_in6(LL, e.port(), e.ifindex))
_bind_case("not_local4", lambda e: sockaddr_in("198.51.100.7", 4000))
_bind_case("not_local6", lambda e: sockaddr_in6("2001:db8::7", 4000))
_bind_case("local4", lambda e: sockaddr_in(A4, e.port()))
_bind_case("local6", lambda e: sockaddr_in6(A6, e.port()))
_bind_case("loopback4", lambda e: sockaddr_in(LO4, e.port()))
_bind_case("loopback4_other", lambda e: sockaddr_in("127.1.2.3", e.port()))
_bind_case("loopback6", lambda e: sockaddr_in6(LO6, e.port()))
_bind_case("probe_port_1", lambda e: sockaddr_in(A4, 1))


@case("bind.port0")
def _(env):
    s = env.rds()
    e = raw_bind(s.fileno(), sockaddr_in(A4, 0))
    if e:
        return errname(e)
    port = s.getsockname()[1]
    return {"ret": 0, "port_not_0_or_1": port not in (0, 1)}


@case("bind.double")
def _(env):
    s = env.rds(A4)
    return ename(raw_bind(s.fileno(), sockaddr_in(A4, env.port())))


@case("bind.double_same")
def _(env):
    s = env.rds(A4)
    return ename(raw_bind(s.fileno(), sockaddr_in(*dest(s))))


@case("bind.in_use")
def _(env):
    a = env.rds(A4)
    b = env.rds()
    return ename(raw_bind(b.fileno(), sockaddr_in(*dest(a))))


@case("bind.in_use_v4mapped")
def _(env):
    a = env.rds(A4)
    b = env.rds()
    return ename(raw_bind(b.fileno(), sockaddr_in6("::ffff:" + A4, dest(a)[1])))


@case("bind.reuse_after_close")
def _(env):
    a = env.rds(A4)
    addr = sockaddr_in(*dest(a))
    a.close()
    b = env.rds()
    return ename(raw_bind(b.fileno(), addr))


@case("bind.after_connect_scope_mismatch")
def _(env):
    s = env.rds()
    c = res(env.connect, s, "fe80::b", 4000, env.ifindex)
    return [c, ename(raw_bind(s.fileno(), sockaddr_in6(LL, env.port(), 1)))]


# getsockname(2), getpeername(2) ---------------------------------------

@case("getsockname.unbound")
def _(env):
    return name_of(env.rds().fileno())


@case("getsockname.connected_unbound4")
def _(env):
    s = env.rds()
    s.connect((A4, 4000))
    return name_of(s.fileno())


@case("getsockname.connected_unbound6")
def _(env):
    s = env.rds()
    env.connect(s, A6, 4000)
    return name_of(s.fileno())


@case("getsockname.bound_linklocal")
def _(env):
    s = env.rds(LL, scope=env.ifindex)
    n = name_of(s.fileno())
    n["scope_is_ifindex"] = n.pop("scope_id") == env.ifindex
    n.pop("port")
    return n


@case("getpeername.unconnected")
def _(env):
    return name_of(env.rds(A4).fileno(), peer=True)


@case("getpeername.connected4")
def _(env):
    s = env.rds(A4)
    s.connect((A4, 4000))
    return name_of(s.fileno(), peer=True)


@case("getpeername.connected6")
def _(env):
    s = env.rds()
    env.connect(s, A6, 4000)
    return name_of(s.fileno(), peer=True)


@case("getpeername.connected_v4mapped")
def _(env):
    s = env.rds()
    env.connect(s, "::ffff:" + A4, 4000)
    return name_of(s.fileno(), peer=True)


@case("getpeername.connected_linklocal")
def _(env):
    s = env.rds()
    env.connect(s, "fe80::b", 4000, env.ifindex)
    n = name_of(s.fileno(), peer=True)
    if isinstance(n, dict):
        n["scope_is_ifindex"] = n.pop("scope_id") == env.ifindex
    return n


# connect(2) ---------------------------------------------------------------

def _connect_case(name, addr_fn, length=None, bound=False):
    @case(f"connect.{name}")
    def _(env):
        s = env.rds(A4) if bound else env.rds()
        addr = addr_fn(env)
        buf = ctypes.create_string_buffer(addr, max(len(addr), 1))
        n = len(addr) if length is None else length
        r = libc.connect(s.fileno(), buf, n)
        return 0 if r == 0 else errname(ctypes.get_errno())


_connect_case("zero_len", lambda e: sockaddr_in(A4, 4000), 0)
_connect_case("len_1", lambda e: sockaddr_in(A4, 4000), 1)
_connect_case("in_len_15", lambda e: sockaddr_in(A4, 4000), 15)
_connect_case("in6_len_27", lambda e: sockaddr_in6(A6, 4000), 27)
_connect_case("family_unix", lambda e: sockaddr_in(A4, 4000, family=socket.AF_UNIX))
_connect_case("family_unspec", lambda e: sockaddr_in(A4, 4000, family=0))
_connect_case("any4", lambda e: sockaddr_in("0.0.0.0", 4000))
_connect_case("broadcast4", lambda e: sockaddr_in("255.255.255.255", 4000))
_connect_case("multicast4", lambda e: sockaddr_in("224.0.0.1", 4000))
_connect_case("any6", lambda e: sockaddr_in6("::", 4000))
_connect_case("multicast6", lambda e: sockaddr_in6("ff02::1", 4000))
_connect_case("v4mapped_any", lambda e: sockaddr_in6("::ffff:0.0.0.0", 4000))
_connect_case("v4mapped_multicast", lambda e: sockaddr_in6("::ffff:224.0.0.1", 4000))
_connect_case("linklocal_no_scope", lambda e: sockaddr_in6("fe80::b", 4000))
_connect_case("remote4", lambda e: sockaddr_in("198.51.100.7", 4000))
_connect_case("port0", lambda e: sockaddr_in(A4, 0))
_connect_case("local6", lambda e: sockaddr_in6(A6, 4000))


@case("connect.linklocal_scope_mismatch_bound")
def _(env):
    s = env.rds(LL, scope=env.ifindex)
    return res(env.connect, s, "fe80::b", 4000, 1)


@case("connect.twice")
def _(env):
    s = env.rds(A4)
    r = [res(s.connect, (A4, 4000)), res(s.connect, ("192.0.2.2", 4001))]
    return r + [name_of(s.fileno(), peer=True)]


# sendmsg(2) ---------------------------------------------------------------

@case("send.unbound")
def _(env):
    _, b = env.pair()
    return raw_sendmsg(env.rds().fileno(), b"x", sockaddr_in(*dest(b)))


@case("send.no_destination")
def _(env):
    return raw_sendmsg(env.rds(A4).fileno(), b"x")


@case("send.unbound_no_destination")
def _(env):
    return raw_sendmsg(env.rds().fileno(), b"x")


@case("send.write_unbound")
def _(env):
    return res(os.write, env.rds().fileno(), b"x")


@case("send.ok_and_received")
def _(env):
    a, b = env.pair()
    n = raw_sendmsg(a.fileno(), b"hello", sockaddr_in(*dest(b)))
    if not wait_readable(b):
        return [n, "nothing received"]
    data, src = b.recvfrom(100)
    return [n, len(data), src == dest(a)]


@case("send.loopback")
def _(env):
    a, b = env.pair(LO4)
    n = raw_sendmsg(a.fileno(), b"hello", sockaddr_in(*dest(b)))
    return [n, len(b.recv(100, socket.MSG_DONTWAIT)) if wait_readable(b) else None]


@case("send.ipv6")
def _(env):
    a, b = env.pair(A6)
    n = raw_sendmsg(a.fileno(), b"hello6", d6(b))
    if not wait_readable(b):
        return [n, None]
    r, src, flags = raw_recv(b)
    return [n, r, src == dest(a) + (0,), flags]


@case("send.to_v4mapped")
def _(env):
    a, b = env.pair()
    n = raw_sendmsg(a.fileno(), b"x", sockaddr_in6("::ffff:" + A4, dest(b)[1]))
    return [n, wait_readable(b, 2)]


@case("send.to_unbound_port")
def _(env):
    a = env.rds(A4)
    return raw_sendmsg(a.fileno(), b"x", sockaddr_in(A4, env.port()))


@case("send.zero_length")
def _(env):
    a, b = env.pair()
    n = raw_sendmsg(a.fileno(), b"", sockaddr_in(*dest(b)))
    if not wait_readable(b):
        return [n, None]
    data, _, flags, _ = b.recvmsg(100)
    return [n, len(data), flags]


@case("send.after_connect")
def _(env):
    a, b = env.pair()
    a.connect(dest(b))
    n = res(a.send, b"connected")
    return [n, len(b.recv(100)) if wait_readable(b) else None]


@case("send.sendto_overrides_connect")
def _(env):
    a, b = env.pair()
    c = env.rds(A4)
    a.connect(dest(c))
    n = raw_sendmsg(a.fileno(), b"x", sockaddr_in(*dest(b)))
    return [n, wait_readable(b, 2), wait_readable(c, 0.5)]


def _sendto_case(name, name_fn, bound=A4):
    @case(f"send.{name}")
    def _(env):
        s = env.rds(bound)
        return raw_sendmsg(s.fileno(), b"x", name_fn(env))


_sendto_case("to_any4", lambda e: sockaddr_in("0.0.0.0", 4000))
_sendto_case("to_broadcast4", lambda e: sockaddr_in("255.255.255.255", 4000))
_sendto_case("to_multicast4", lambda e: sockaddr_in("224.0.0.1", 4000))
_sendto_case("to_any6", lambda e: sockaddr_in6("::", 4000), A6)
_sendto_case("to_multicast6", lambda e: sockaddr_in6("ff02::1", 4000), A6)
_sendto_case("to_v4mapped_any", lambda e: sockaddr_in6("::ffff:0.0.0.0", 4000))
_sendto_case("name_short", lambda e: sockaddr_in(A4, 4000)[:8])
_sendto_case("name_in6_short", lambda e: sockaddr_in6(A6, 4000)[:20], A6)
_sendto_case("name_family_unix", lambda e: sockaddr_in(A4, 4000, family=socket.AF_UNIX))
_sendto_case("v6_dest_from_v4", lambda e: sockaddr_in6(A6, 4000))
_sendto_case("v4_dest_from_v6", lambda e: sockaddr_in(A4, 4000), A6)
_sendto_case("linklocal_no_scope", lambda e: sockaddr_in6("fe80::b", 4000), A6)


@case("send.linklocal_other_scope")
def _(env):
    s = env.rds(LL, scope=env.ifindex)
    return raw_sendmsg(s.fileno(), b"x", sockaddr_in6("fe80::b", 4000, 1))


for _flag_name, _flag in [("oob", socket.MSG_OOB), ("more", socket.MSG_MORE),
                          ("nosignal", socket.MSG_NOSIGNAL), ("eor", socket.MSG_EOR),
                          ("confirm", socket.MSG_CONFIRM), ("zerocopy", MSG_ZEROCOPY),
                          ("dontwait", socket.MSG_DONTWAIT)]:
    def _flag_case(env, f=_flag):
        a, b = env.pair()
        return raw_sendmsg(a.fileno(), b"x", sockaddr_in(*dest(b)), flags=f)
    case(f"send.flag_{_flag_name}")(_flag_case)


@case("send.zerocopy_with_so_zerocopy")
def _(env):
    a, b = env.pair()
    r = res(a.setsockopt, socket.SOL_SOCKET, SO_ZEROCOPY, 1)
    return [r, raw_sendmsg(a.fileno(), b"x", sockaddr_in(*dest(b)), flags=MSG_ZEROCOPY)]


@case("send.over_1mib")
def _(env):
    a, b = env.pair()
    a.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20)
    return raw_sendmsg(a.fileno(), bytes((1 << 20) + 1), sockaddr_in(*dest(b)))


@case("send.exactly_1mib", timeout=60)
def _(env):
    a, b = env.pair()
    a.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20)
    n = raw_sendmsg(a.fileno(), bytes(1 << 20), sockaddr_in(*dest(b)))
    return [n, len(b.recv(2 << 20)) if wait_readable(b) else None]


@case("send.over_half_sndbuf")
def _(env):
    a, b = env.pair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)  # sk_sndbuf 16384
    return [raw_sendmsg(a.fileno(), bytes(8193), sockaddr_in(*dest(b))),
            raw_sendmsg(a.fileno(), bytes(8192), sockaddr_in(*dest(b)))]


@case("send.over_half_sndbuf_unbound")
def _(env):
    a, b = env.pair()
    s = env.rds()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    return raw_sendmsg(s.fileno(), bytes(8193), sockaddr_in(*dest(b)))


@case("send.dontwait_congested_local")
def _(env):
    """A receiver on a local interface address that does not read: the
    non-blocking sender gets ENOBUFS; after the receiver drains, sending works."""
    a, b = env.pair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # limit 4096 bytes
    sent, err = 0, 0
    for _ in range(400):
        r = raw_sendmsg(a.fileno(), bytes(1000), sockaddr_in(*dest(b)), flags=socket.MSG_DONTWAIT)
        if isinstance(r, str):
            err = r
            break
        sent += 1
    while True:
        try:
            b.recv(2000, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
    # Uncongestion may be propagated asynchronously; allow it a moment.
    deadline = time.monotonic() + 3
    while True:
        again = raw_sendmsg(a.fileno(), bytes(1000), sockaddr_in(*dest(b)),
                            flags=socket.MSG_DONTWAIT)
        if again == 1000 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return {"error": err, "sent_some": sent > 0, "after_drain": again}


@case("send.dontwait_congested_loopback")
def _(env):
    """The same with the receiver on 127.0.0.1: Documentation/upstream-bugs.rst,
    "Receivers bound to a loopback address never congest"."""
    a, b = env.pair(LO4)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    err = 0
    for _ in range(400):
        r = raw_sendmsg(a.fileno(), bytes(1000), sockaddr_in(*dest(b)), flags=socket.MSG_DONTWAIT)
        if isinstance(r, str):
            err = r
            break
    return {"error": err}


# Control messages on send.

def _rdma_args(local_iov_addr, nr_local, remote_bytes=4096, cookie=0x1234):
    # struct rds_rdma_args: cookie, remote_vec{addr, bytes}, local_vec_addr,
    # nr_local, flags, user_token
    return struct.pack("=QQQQQQQ", cookie, 0x10000, remote_bytes, local_iov_addr, nr_local, 0, 1)


class _Region:
    """A page-aligned user buffer (mmap) and a struct rds_iovec naming it."""

    def __init__(self, size=4096):
        self.map = mmap.mmap(-1, size)
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self.iov = ctypes.create_string_buffer(struct.pack("=QQ", self.addr, size), 16)
        self.iov_addr = ctypes.addressof(self.iov)


COOKIE = struct.pack("=Q", 0x1234)  # an rds_rdma_cookie_t no MR has


def _get_mr(r):
    return struct.pack("=QQQQ", r.addr, 4096, 0, 0)  # struct rds_get_mr_args


def rcmsg(type_, data, length=None):
    """A SOL_RDS control message."""
    return cmsg(SOL_RDS, type_, data, length)


def _cmsg_case(name, control_fn, to=A4, bound=A4):
    @case(f"cmsg.{name}")
    def _(env):
        a = env.rds(bound)
        flags = 0
        if to == "unreachable":
            # A TCP path that never comes up. Non-blocking: a blocking first
            # send on a new upstream connection may wait, unbounded, for the
            # multipath handshake (rds_send_mprds_hash()).
            dst, flags = sockaddr_in(UNREACH4, 4000), socket.MSG_DONTWAIT
        else:
            b = env.rds(to)
            dst = sockaddr_in(*dest(b))
        region = _Region()
        r = raw_sendmsg(a.fileno(), b"x", dst, control_fn(region), flags)
        del region
        return r


_cmsg_case("unknown_rds_type", lambda r: rcmsg(99, bytes(8)))
_cmsg_case("other_level_ignored", lambda r: cmsg(socket.IPPROTO_IP, 1, bytes(8)))
_cmsg_case("sol_socket_ignored", lambda r: cmsg(socket.SOL_SOCKET, 99, bytes(8)))
_cmsg_case("len_too_big", lambda r: rcmsg(RDS_CMSG_RDMA_DEST, bytes(8), 200))
_cmsg_case("len_too_small", lambda r: rcmsg(RDS_CMSG_RDMA_DEST, bytes(8), 8))
_cmsg_case("rdma_status_on_send", lambda r: rcmsg(RDS_CMSG_RDMA_STATUS, bytes(16)))
_cmsg_case("cong_update_on_send", lambda r: rcmsg(RDS_CMSG_CONG_UPDATE, bytes(8)))
_cmsg_case("rxpath_latency_on_send", lambda r: rcmsg(RDS_CMSG_RXPATH_LATENCY, bytes(32)))
_cmsg_case("rdma_args_short", lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, bytes(16)))
_cmsg_case("rdma_args_nr_local_0", lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 0)))
_cmsg_case("rdma_args_nr_local_huge",
           lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1025)))
_cmsg_case("rdma_args_remote_over_1mib",
           lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1, (1 << 20) + 1)))
_cmsg_case("rdma_args_bad_iov_pointer",
           lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(8, 1)))
_cmsg_case("rdma_args_valid_loop", lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1)))
_cmsg_case("rdma_args_valid_tcp", lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1)),
           to="unreachable")
_cmsg_case("rdma_args_twice",
           lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1)) * 2)
_cmsg_case("rdma_dest_unknown_cookie", lambda r: rcmsg(RDS_CMSG_RDMA_DEST, COOKIE))
_cmsg_case("rdma_dest_short", lambda r: rcmsg(RDS_CMSG_RDMA_DEST, bytes(4)))
_cmsg_case("rdma_map_tcp", lambda r: rcmsg(RDS_CMSG_RDMA_MAP, _get_mr(r)), to="unreachable")
_cmsg_case("rdma_map_short", lambda r: rcmsg(RDS_CMSG_RDMA_MAP, bytes(16)))
_cmsg_case("rdma_args_with_dest",
           lambda r: rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1))
           + rcmsg(RDS_CMSG_RDMA_DEST, COOKIE))


def _atomic(r, offset=0):
    # struct rds_atomic_args: cookie, local_addr, remote_addr, a union of
    # 32 bytes (compare, swap, compare_mask, swap_mask), flags, user_token
    return (struct.pack("=QQQ", 0x1234, r.addr + offset, 0x10000)
            + struct.pack("=QQQQ", 1, 2, 2**64 - 1, 2**64 - 1) + struct.pack("=QQ", 0, 1))


for _t, _n in [(RDS_CMSG_ATOMIC_FADD, "atomic_fadd"), (RDS_CMSG_ATOMIC_CSWP, "atomic_cswp"),
               (RDS_CMSG_MASKED_ATOMIC_FADD, "masked_atomic_fadd"),
               (RDS_CMSG_MASKED_ATOMIC_CSWP, "masked_atomic_cswp")]:
    _cmsg_case(f"{_n}_tcp", lambda r, t=_t: rcmsg(t, _atomic(r)), to="unreachable")
_cmsg_case("atomic_fadd_loop", lambda r: rcmsg(RDS_CMSG_ATOMIC_FADD, _atomic(r)))
_cmsg_case("atomic_fadd_short", lambda r: rcmsg(RDS_CMSG_ATOMIC_FADD, bytes(16)))
_cmsg_case("atomic_fadd_unaligned", lambda r: rcmsg(RDS_CMSG_ATOMIC_FADD, _atomic(r, 4)))
_cmsg_case("zcopy_cookie_without_zerocopy",
           lambda r: rcmsg(RDS_CMSG_ZCOPY_COOKIE, struct.pack("=I", 7)))


@case("cmsg.rdma_args_unbound")
def _(env):
    r = _Region()
    return raw_sendmsg(env.rds().fileno(), b"x", sockaddr_in(A4, 4000),
                       rcmsg(RDS_CMSG_RDMA_ARGS, _rdma_args(r.iov_addr, 1)))


# recvmsg(2) ---------------------------------------------------------------

def _sent(env, payload=b"0123456789", addr=A4):
    a, b = env.pair(addr)
    a.sendto(payload, dest(b))
    if not wait_readable(b):
        raise RuntimeError("message not delivered")
    return a, b


@case("recv.dontwait_empty")
def _(env):
    return res(env.rds(A4).recv, 100, socket.MSG_DONTWAIT)


@case("recv.nonblocking_socket_empty")
def _(env):
    s = env.rds(A4)
    s.setblocking(False)
    return res(s.recv, 100)


@case("recv.read_nonblocking_unbound")
def _(env):
    s = env.rds()
    os.set_blocking(s.fileno(), False)
    return res(os.read, s.fileno(), 100)


@case("recv.so_rcvtimeo")
def _(env):
    s = env.rds(A4)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("=qq", 0, 200000))
    t0 = time.monotonic()
    r = res(s.recv, 100)
    dt = time.monotonic() - t0
    return {"result": r, "waited_0.15_to_5s": 0.15 <= dt < 5}


@case("recv.peek")
def _(env):
    a, b = _sent(env)
    return [len(b.recv(100, socket.MSG_PEEK)), len(b.recv(100)),
            res(b.recv, 100, socket.MSG_DONTWAIT)]


@case("recv.truncate")
def _(env):
    a, b = _sent(env)
    data, _, flags, _ = b.recvmsg(4)
    return [len(data), flags, res(b.recv, 100, socket.MSG_DONTWAIT)]


@case("recv.flag_trunc")
def _(env):
    a, b = _sent(env)
    buf = bytearray(4)
    return [b.recv_into(buf, 4, socket.MSG_TRUNC), bytes(buf) == b"0123"]


@case("recv.peek_trunc")
def _(env):
    a, b = _sent(env)
    buf = bytearray(4)
    n = b.recv_into(buf, 4, socket.MSG_PEEK | socket.MSG_TRUNC)
    return [n, len(b.recv(100))]


@case("recv.zero_buffer")
def _(env):
    a, b = _sent(env)
    data, _, flags, _ = b.recvmsg(0)
    return [len(data), flags, res(b.recv, 100, socket.MSG_DONTWAIT)]


@case("recv.flag_oob")
def _(env):
    a, b = _sent(env)
    return [res(lambda: len(b.recv(100, socket.MSG_OOB))), len(b.recv(100))]


@case("recv.flag_oob_empty")
def _(env):
    return res(lambda: len(env.rds(A4).recv(100, socket.MSG_OOB | socket.MSG_DONTWAIT)))


@case("recv.flag_errqueue")
def _(env):
    a, b = _sent(env)
    return res(lambda: len(b.recvmsg(100, 100, socket.MSG_ERRQUEUE)[0]))


@case("recv.flag_waitall_ignored")
def _(env):
    a, b = _sent(env)
    return len(b.recv(100, socket.MSG_WAITALL))


@case("recv.source_name4")
def _(env):
    a, b = _sent(env)
    data, _, flags, src = b.recvmsg(100)
    return [src == dest(a), flags]


@case("recv.source_name6_linklocal")
def _(env):
    a, b = env.rds(LL, scope=env.ifindex), env.rds(LL, scope=env.ifindex)
    n = raw_sendmsg(a.fileno(), b"x", d6(b))
    if not wait_readable(b):
        return [n, None]
    r, src, flags = raw_recv(b)
    return [n, r, src[0], src[1] == dest(a)[1], src[2] == env.ifindex]


@case("recv.no_cmsgs")
def _(env):
    a, b = _sent(env)
    data, anc, flags, _ = b.recvmsg(100, 256)
    return cmsgs(anc)


@case("recv.so_timestamp")
def _(env):
    a, b = env.pair()
    b.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP_OLD, 1)
    a.sendto(b"x", dest(b))
    if not wait_readable(b):
        return None
    return cmsgs(b.recvmsg(100, 256)[1])


@case("recv.sol_rds_timestamp_old")
def _(env):
    a, b = env.pair()
    r = setopt_int(b.fileno(), SOL_RDS, SO_TIMESTAMP_OLD, 1)
    a.sendto(b"x", dest(b))
    if not wait_readable(b):
        return [r, None]
    return [r, cmsgs(b.recvmsg(100, 256)[1])]


@case("recv.sol_rds_timestamp_new")
def _(env):
    a, b = env.pair()
    r = setopt_int(b.fileno(), SOL_RDS, SO_TIMESTAMP_NEW, 1)
    a.sendto(b"x", dest(b))
    if not wait_readable(b):
        return [r, None]
    return [r, cmsgs(b.recvmsg(100, 256)[1])]


@case("recv.timestamp_ctrunc")
def _(env):
    a, b = env.pair()
    b.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP_OLD, 1)
    a.sendto(b"x", dest(b))
    if not wait_readable(b):
        return None
    data, anc, flags, _ = b.recvmsg(100, 8)
    return [len(data), cmsgs(anc), flags]


@case("recv.rxpath_latency")
def _(env):
    a, b = env.pair()
    r = raw_setsockopt(b.fileno(), SOL_RDS, SO_RDS_MSG_RXPATH_LATENCY, bytes([2, 0, 1, 0]))
    a.sendto(b"x", dest(b))
    if not wait_readable(b):
        return [r, None]
    return [r, cmsgs(b.recvmsg(100, 256)[1])]


@case("recv.cong_monitor_notify")
def _(env):
    """RDS_CONG_MONITOR: a sender told ENOBUFS is sent an RDS_CMSG_CONG_UPDATE
    once the port drains (rds_cong_map_updated())."""
    a, b = env.pair()
    r = setopt_int(a.fileno(), SOL_RDS, RDS_CONG_MONITOR, 1)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    err = 0
    for _ in range(400):
        err = raw_sendmsg(a.fileno(), bytes(1000), sockaddr_in(*dest(b)), flags=socket.MSG_DONTWAIT)
        if isinstance(err, str):
            break
    while True:
        try:
            b.recv(2000, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
    if not wait_readable(a, 3, peek=False):
        return {"monitor": r, "error": err, "notified": False}
    data, anc, flags, _ = a.recvmsg(100, 256, socket.MSG_DONTWAIT)
    mask_ok = None
    for lvl, typ, d in anc:
        if (lvl, typ) == (SOL_RDS, RDS_CMSG_CONG_UPDATE) and len(d) == 8:
            mask_ok = struct.unpack("=Q", d)[0] == 1 << (dest(b)[1] % 64)
    return {"monitor": r, "error": err, "notified": True, "len": len(data),
            "cmsgs": cmsgs(anc), "mask_is_port_bit": mask_ok}


# poll(2) ------------------------------------------------------------------

def _poll(s):
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLOUT | select.POLLRDNORM | select.POLLWRNORM
               | select.POLLWRBAND | select.POLLERR | select.POLLHUP)
    ev = p.poll(0)
    return ev[0][1] if ev else 0


@case("poll.idle")
def _(env):
    s = env.rds(A4)
    _poll(s)  # the first poll may report a congestion map update from before
    return _poll(s)


@case("poll.readable")
def _(env):
    a, b = _sent(env)
    _poll(b)
    return _poll(b)


# other proto_ops -------------------------------------------------------

@case("ops.listen")
def _(env):
    return res(env.rds(A4).listen, 1)


@case("ops.accept")
def _(env):
    return res(env.rds(A4).accept)


@case("ops.shutdown")
def _(env):
    return res(env.rds(A4).shutdown, socket.SHUT_RDWR)


@case("ops.socketpair")
def _(env):
    fds = (ctypes.c_int * 2)()
    r = libc.socketpair(AF_RDS, socket.SOCK_SEQPACKET, 0, fds)
    if r == 0:
        os.close(fds[0])
        os.close(fds[1])
        return 0
    return errname(ctypes.get_errno())


@case("ops.mmap")
def _(env):
    return res(lambda: mmap.mmap(env.rds(A4).fileno(), 4096) and 0)


# setsockopt/getsockopt(SOL_RDS) ----------------------------------------

def _set(name, opt, value, bound=None, level=SOL_RDS):
    """Case sockopt.NAME: setsockopt(level, opt, value) on a new socket,
    bound on `bound` if given; `value` is bytes or a function of a _Region."""
    @case(f"sockopt.{name}")
    def _(env):
        s = env.rds(bound)
        v = value(_Region()) if callable(value) else value
        return raw_setsockopt(s.fileno(), level, opt, v)


def _get(name, opt, buflen=4, bound=None, level=SOL_RDS):
    """Case sockopt.NAME: getsockopt(level, opt) of an int into `buflen` bytes."""
    @case(f"sockopt.{name}")
    def _(env):
        return getopt_int(env.rds(bound).fileno(), level, opt, buflen)


def i32(v):
    return struct.pack("=i", v)


def i64(v):
    return struct.pack("=q", v)


_set("unknown_optname", 99, i32(1))
_set("barrier", RDS_BARRIER, bytes(16), A4)
_set("level_ip", socket.IP_TOS, i32(1), level=socket.IPPROTO_IP)
_set("level_tcp", socket.TCP_NODELAY, i32(1), level=socket.IPPROTO_TCP)
_get("get_level_ip", socket.IP_TOS, level=socket.IPPROTO_IP)
_get("get_unknown_optname", 99)


@case("sockopt.get_set_only_options")
def _(env):
    fd = env.rds(A4).fileno()
    return {o: getopt_int(fd, SOL_RDS, o, 256)
            for o in (RDS_CANCEL_SENT_TO, RDS_GET_MR, RDS_FREE_MR, RDS_BARRIER, RDS_CONG_MONITOR,
                      RDS_GET_MR_FOR_DEST, SO_RDS_MSG_RXPATH_LATENCY, SO_TIMESTAMP_OLD)}


# RDS_CANCEL_SENT_TO: a sockaddr_in, or a sockaddr_in6 from 28 bytes on.
_set("cancel_sent_to.unbound", RDS_CANCEL_SENT_TO, sockaddr_in(A4, 4000))
_set("cancel_sent_to.short", RDS_CANCEL_SENT_TO, sockaddr_in(A4, 4000)[:15], A4)
_set("cancel_sent_to.v4", RDS_CANCEL_SENT_TO, sockaddr_in(A4, 4000), A4)
_set("cancel_sent_to.v6", RDS_CANCEL_SENT_TO, sockaddr_in6(A6, 4000), A6)
_set("cancel_sent_to.v6_short_is_v4", RDS_CANCEL_SENT_TO, sockaddr_in6(A6, 4000)[:27], A4)


@case("sockopt.cancel_sent_to.bad_pointer")
def _(env):
    r = libc.setsockopt(env.rds(A4).fileno(), SOL_RDS, RDS_CANCEL_SENT_TO, ctypes.c_void_p(8), 16)
    return 0 if r == 0 else errname(ctypes.get_errno())


# RDS_GET_MR, RDS_GET_MR_FOR_DEST, RDS_FREE_MR: no transport here maps memory.
def _get_mr_for_dest(r):
    return sockaddr_in(A4, 4000) + bytes(112) + _get_mr(r)  # struct rds_get_mr_for_dest_args


_set("get_mr.short", RDS_GET_MR, bytes(GET_MR_ARGS_LEN - 1), A4)
_set("get_mr.long", RDS_GET_MR, bytes(GET_MR_ARGS_LEN + 8), A4)
_set("get_mr.unbound", RDS_GET_MR, _get_mr)
_set("get_mr.tcp", RDS_GET_MR, _get_mr, A4)
_set("get_mr.loop", RDS_GET_MR, _get_mr, LO4)
_set("get_mr_for_dest.short", RDS_GET_MR_FOR_DEST, bytes(GET_MR_ARGS_LEN), A4)
_set("get_mr_for_dest.unbound", RDS_GET_MR_FOR_DEST, _get_mr_for_dest)
_set("get_mr_for_dest.tcp", RDS_GET_MR_FOR_DEST, _get_mr_for_dest, A4)
_set("free_mr.short", RDS_FREE_MR, bytes(8), A4)
_set("free_mr.zero_cookie_unbound", RDS_FREE_MR, bytes(FREE_MR_ARGS_LEN))
_set("free_mr.zero_cookie_tcp", RDS_FREE_MR, bytes(FREE_MR_ARGS_LEN), A4)
_set("free_mr.unknown_cookie", RDS_FREE_MR, struct.pack("=QQ", 0x1234, 0), A4)


# RDS_RECVERR
@case("sockopt.recverr.set_get")
def _(env):
    fd = env.rds().fileno()
    return [getopt_int(fd, SOL_RDS, RDS_RECVERR), setopt_int(fd, SOL_RDS, RDS_RECVERR, 7),
            getopt_int(fd, SOL_RDS, RDS_RECVERR, 8), setopt_int(fd, SOL_RDS, RDS_RECVERR, 0),
            getopt_int(fd, SOL_RDS, RDS_RECVERR)]


_set("recverr.short", RDS_RECVERR, bytes(2))
_set("recverr.long", RDS_RECVERR, i64(1))
_get("recverr.get_short", RDS_RECVERR, 2)


# RDS_CONG_MONITOR
@case("sockopt.cong_monitor.set_clear")
def _(env):
    fd = env.rds(A4).fileno()
    return [setopt_int(fd, SOL_RDS, RDS_CONG_MONITOR, v) for v in (1, 0, -5)]


_set("cong_monitor.short", RDS_CONG_MONITOR, bytes(1))

# SO_RDS_TRANSPORT
_get("transport.get_unbound", SO_RDS_TRANSPORT)
_get("transport.get_bound_tcp", SO_RDS_TRANSPORT, bound=A4)
_get("transport.get_bound_ipv6", SO_RDS_TRANSPORT, bound=A6)
_get("transport.get_bound_loopback", SO_RDS_TRANSPORT, bound=LO4)
_get("transport.get_short", SO_RDS_TRANSPORT, 2, A4)
_set("transport.set_short", SO_RDS_TRANSPORT, bytes(2))
_set("transport.set_long", SO_RDS_TRANSPORT, i64(RDS_TRANS_TCP))
_set("transport.set_count", SO_RDS_TRANSPORT, i32(RDS_TRANS_COUNT))
_set("transport.set_negative", SO_RDS_TRANSPORT, i32(-1))
# Not the initial namespace: IB and iWARP are refused before any module load.
_set("transport.set_ib_netns", SO_RDS_TRANSPORT, i32(RDS_TRANS_IB))
_set("transport.set_gap_netns", SO_RDS_TRANSPORT, i32(RDS_TRANS_GAP))
_set("transport.set_after_bind", SO_RDS_TRANSPORT, i32(RDS_TRANS_TCP), A4)


def _transport_then_bind(name, addr):
    """Case: SO_RDS_TRANSPORT TCP, then bind to `addr`, then read it back."""
    @case(f"sockopt.transport.set_tcp_bind_{name}")
    def _(env):
        s = env.rds()
        r = setopt_int(s.fileno(), SOL_RDS, SO_RDS_TRANSPORT, RDS_TRANS_TCP)
        return [r, ename(raw_bind(s.fileno(), sockaddr_in(addr, env.port()))),
                getopt_int(s.fileno(), SOL_RDS, SO_RDS_TRANSPORT)]


_transport_then_bind("local", A4)
_transport_then_bind("loopback", LO4)
_transport_then_bind("not_local", "198.51.100.7")


@case("sockopt.transport.set_tcp")
def _(env):
    fd = env.rds().fileno()
    return [setopt_int(fd, SOL_RDS, SO_RDS_TRANSPORT, RDS_TRANS_TCP),
            getopt_int(fd, SOL_RDS, SO_RDS_TRANSPORT),
            setopt_int(fd, SOL_RDS, SO_RDS_TRANSPORT, RDS_TRANS_TCP)]


# SO_RDS_MSG_RXPATH_LATENCY: struct rds_rx_trace_so, exactly 4 bytes.
_set("rxpath_latency.ok", SO_RDS_MSG_RXPATH_LATENCY, bytes([2, 0, 1, 0]))
_set("rxpath_latency.short", SO_RDS_MSG_RXPATH_LATENCY, bytes([1, 0, 0]))
_set("rxpath_latency.long", SO_RDS_MSG_RXPATH_LATENCY, bytes([1, 0, 0, 0, 0]))
_set("rxpath_latency.too_many", SO_RDS_MSG_RXPATH_LATENCY, bytes([4, 0, 1, 2]))
_set("rxpath_latency.bad_position", SO_RDS_MSG_RXPATH_LATENCY, bytes([2, 0, 3, 0]))

# SO_TIMESTAMP at SOL_RDS (rds_enable_recvtstamp())
_set("timestamp_old.ok", SO_TIMESTAMP_OLD, i32(1))
_set("timestamp_old.short", SO_TIMESTAMP_OLD, bytes(2))
_set("timestamp_new.long", SO_TIMESTAMP_NEW, i64(1))


# RDS_INFO_* -----------------------------------------------------------------

def _info_scene(env):
    """Two IPv4 sockets and one IPv6 socket bound on local addresses, one
    unread message queued on each of the two receivers, and the unbound socket
    that asks."""
    a, b = env.pair()
    c = env.rds(A6)
    a.sendto(bytes(100), dest(b))
    raw_sendmsg(c.fileno(), bytes(50), d6(c))
    for s in (b, c):
        if not wait_readable(s):
            raise RuntimeError("message not delivered")
    return env.rds()


def _info(fd, opt):
    """Probe with a zero-length buffer, then ask with a large one: returns the
    return value (item size, or errno) and the lengths, with the count of
    items instead of the byte length where there is an item size."""
    r0, n0, _ = raw_getsockopt(fd, SOL_RDS, opt, 0)
    probe = {"ret": r0, "optlen": n0}
    r1, n1, _ = raw_getsockopt(fd, SOL_RDS, opt, 65536)
    full = {"ret": r1, "optlen": n1}
    if isinstance(r1, int) and r1 > 0:
        full = {"each": r1, "count": n1 // r1, "exact": n1 % r1 == 0}
    return {"probe": probe, "full": full}


for _opt in range(RDS_INFO_FIRST, RDS_INFO_LAST + 1):
    def _info_case(env, opt=_opt):
        q = _info_scene(env)
        return _info(q.fileno(), opt)
    case(f"info.{_opt}_{INFO_NAMES[_opt]}", fresh=True)(_info_case)


@case("info.below_first")
def _(env):
    return raw_getsockopt(env.rds().fileno(), SOL_RDS, RDS_INFO_FIRST - 1, 64)[0]


@case("info.above_last")
def _(env):
    return raw_getsockopt(env.rds().fileno(), SOL_RDS, RDS_INFO_LAST + 1, 64)[0]


@case("info.sockets_short_buffer", fresh=True)
def _(env):
    q = _info_scene(env)
    r, n, _ = raw_getsockopt(q.fileno(), SOL_RDS, 10006, 1)
    return {"ret": r, "optlen": n}


@case("info.sockets_negative_len", fresh=True)
def _(env):
    q = _info_scene(env)
    r, n, _ = raw_getsockopt(q.fileno(), SOL_RDS, 10006, 64, optlen=-1)
    return r


@case("info.counters_short_buffer")
def _(env):
    r, n, _ = raw_getsockopt(env.rds().fileno(), SOL_RDS, 10000, 40)
    return {"ret": r, "optlen": n}


@case("info.sockets_empty_netns", fresh=True)
def _(env):
    """Only the asking socket, unbound: nothing for the IPv4 list, whose probe
    then returns the item size with length 0 (rds_info_getsockopt())."""
    q = env.rds()
    return {"v4": _info(q.fileno(), 10006), "v6": _info(q.fileno(), 10015)}


# ioctl(2) -------------------------------------------------------------------

@case("ioctl.gettos_unbound")
def _(env):
    r, buf = ioctl(env.rds().fileno(), SIOCRDSGETTOS, bytes(1))
    return [r, buf[0]]


@case("ioctl.settos_unbound")
def _(env):
    return ioctl(env.rds().fileno(), SIOCRDSSETTOS, bytes([8]))[0]


@case("ioctl.settos_loopback")
def _(env):
    return ioctl(env.rds(LO4).fileno(), SIOCRDSSETTOS, bytes([8]))[0]


@case("ioctl.settos_tcp")
def _(env):
    s = env.rds(A4)
    r = ioctl(s.fileno(), SIOCRDSSETTOS, bytes([8]))[0]
    g = ioctl(s.fileno(), SIOCRDSGETTOS, bytes(1))
    return [r, g[0], g[1][0]]


@case("ioctl.settos_twice")
def _(env):
    s = env.rds(A4)
    return [ioctl(s.fileno(), SIOCRDSSETTOS, bytes([tos]))[0] for tos in (8, 0)]


@case("ioctl.settos_after_send")
def _(env):
    a, b = env.pair()
    a.sendto(b"x", dest(b))
    return ioctl(a.fileno(), SIOCRDSSETTOS, bytes([0]))[0]


@case("ioctl.settos_transport_set")
def _(env):
    s = env.rds()
    setopt_int(s.fileno(), SOL_RDS, SO_RDS_TRANSPORT, RDS_TRANS_TCP)
    return ioctl(s.fileno(), SIOCRDSSETTOS, bytes([8]))[0]


@case("ioctl.fionread")
def _(env):
    a, b = _sent(env)
    return ioctl(b.fileno(), FIONREAD, bytes(4))[0]


@case("ioctl.protoprivate_unknown")
def _(env):
    return ioctl(env.rds(A4).fileno(), SIOCPROTOPRIVATE + 5, bytes(64))[0]


@case("ioctl.siocgstamp")
def _(env):
    a, b = _sent(env)
    return ioctl(b.fileno(), SIOCGSTAMP_OLD, bytes(16))[0]


@case("ioctl.siocgifindex")
def _(env):
    """Socket ioctls the protocol does not handle fall through to dev_ioctl()."""
    r, buf = ioctl(env.rds().fileno(), SIOCGIFINDEX, b"lo".ljust(40, b"\0"))
    return [r, struct.unpack("=i", buf[16:20])[0] if r == 0 else None]


# Over TCP, to a socket in another namespace ---------------------------------

def _peer_scene(env):
    """Socket a (198.51.100.1) in this namespace has delivered one message to
    socket b (198.51.100.2) in the peer namespace, with a blocking send (so
    that upstream's multipath handshake is done). Returns (a, b)."""
    ns = env.peer
    with ns:
        b = env.rds(PEER_B)
    a = env.rds(PEER_A)
    a.sendto(b"hello", dest(b))
    if not wait_readable(b, 30):
        raise RuntimeError("hello not delivered over TCP")
    data, src = b.recvfrom(100)
    if data != b"hello" or src != dest(a):
        raise RuntimeError(f"hello delivered wrong: {data!r} from {src}")
    return a, b


@case("peer.deliver", timeout=60, peer=True)
def _(env):
    a, b = _peer_scene(env)
    a.sendto(bytes(3000), dest(b))
    if not wait_readable(b):
        return None
    data, _, flags, src = b.recvmsg(4000)
    return [len(data), flags, src == dest(a)]


@case("peer.info", timeout=60, peer=True)
def _(env):
    a, b = _peer_scene(env)
    out = {}
    for opt in (10001, 10007, 10011, 10016):
        r, n, _ = raw_getsockopt(a.fileno(), SOL_RDS, opt, 65536)
        out[INFO_NAMES[opt]] = {"each": r, "nonzero": n > 0} if isinstance(r, int) else r
    out["connections_count"] = (raw_getsockopt(a.fileno(), SOL_RDS, 10001, 65536)[1]
                                // max(1, out["connections"]["each"])
                                if isinstance(out["connections"], dict) else None)
    return out


def _fill_unacked(env, a, b):
    """Takes the peer's link down, so that nothing sent is acknowledged, and
    sends 4096-byte messages without waiting until the send buffer (4096
    bytes for RDS) is full. Returns what the first and the last send returned."""
    env.peer.run("ip link set p1 down")
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # sk_sndbuf 8192
    results = []
    for _ in range(8):
        r = raw_sendmsg(a.fileno(), bytes(4096), sockaddr_in(*dest(b)), flags=socket.MSG_DONTWAIT)
        results.append(r)
        if isinstance(r, str):
            break
    return {"first": results[0], "last": results[-1],
            "accepted": len([r for r in results if r == 4096])}


@case("peer.send_queue_full_dontwait", timeout=60, peer=True)
def _(env):
    a, b = _peer_scene(env)
    return _fill_unacked(env, a, b)


@case("peer.so_sndtimeo", timeout=60, peer=True)
def _(env):
    a, b = _peer_scene(env)
    fill = _fill_unacked(env, a, b)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("=qq", 0, 300000))
    t0 = time.monotonic()
    r = raw_sendmsg(a.fileno(), bytes(4096), sockaddr_in(*dest(b)))
    dt = time.monotonic() - t0
    return {"fill": fill, "blocking": r, "waited_0.25_to_5s": 0.25 <= dt < 5}


@case("peer.cancel_sent_to_frees", timeout=60, peer=True)
def _(env):
    a, b = _peer_scene(env)
    fill = _fill_unacked(env, a, b)
    c = raw_setsockopt(a.fileno(), SOL_RDS, RDS_CANCEL_SENT_TO, sockaddr_in(*dest(b)))
    again = raw_sendmsg(a.fileno(), bytes(4096), sockaddr_in(*dest(b)), flags=socket.MSG_DONTWAIT)
    return {"fill": fill, "cancel": c, "send_after": again}


@case("peer.info_unacked", timeout=60, peer=True)
def _(env):
    a, b = _peer_scene(env)
    fill = _fill_unacked(env, a, b)
    total = 0
    for opt in (10003, 10004):
        r, n, _ = raw_getsockopt(a.fileno(), SOL_RDS, opt, 65536)
        if not isinstance(r, int):
            return {"fill": fill, INFO_NAMES[opt]: r}
        total += n // r
    return {"fill": fill, "send_plus_retrans": total}


# ------------------------------------------------------------------ runner

TOPOLOGY = """link set lo up
link add v0 type veth peer name v1
link set v0 up
link set v1 up
addr add 192.0.2.1/24 dev v0
addr add 2001:db8::1/64 dev v0 nodad
addr add fe80::a/64 dev v0 nodad
"""


def peer_setup(name):
    ns = Netns(name)
    sh("ip -batch -", f"""link add p0 type veth peer name p1 netns {name}
link set p0 up
addr add {PEER_A}/24 dev p0
""")
    sh(f"ip -n {name} -batch -", f"""link set lo up
link set p1 up
addr add {PEER_B}/24 dev p1
""")
    return ns


def new_netns():
    """Moves this process into a new network namespace with TOPOLOGY."""
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    sh("ip -batch -", TOPOLOGY)


def run_child(index, fn, peer, fresh):
    if fresh:
        new_netns()
    env = Env(index)
    try:
        if peer:
            env.peer = peer_setup(f"apeer{os.getpid()}")
        return fn(env)
    finally:
        env.close()
        if env.peer:
            env.peer.delete()


def run_case(index, name, fn, timeout, peer, fresh):
    """Runs one case in a child process; returns its result, "TIMEOUT" if it
    did not finish within `timeout` seconds."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            try:
                out = {"result": run_child(index, fn, peer, fresh)}
            except Exception as e:  # reported as the result, compared like any
                out = {"result": {"exception": f"{type(e).__name__}: {e}"}}
            data = json.dumps(out, sort_keys=True).encode()
        except Exception as e:
            data = json.dumps({"result": {"exception": f"unserialisable: {e}"}}).encode()
        os.write(wr, data)
        os._exit(0)
    os.close(wr)
    chunks, deadline = [], time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([rd], [], [], left)[0]:
            timed_out = True
            break
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(rd)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if peer:
        subprocess.run(f"ip netns del apeer{pid}", shell=True, stderr=subprocess.DEVNULL,
                       check=False)
    if timed_out:
        return "TIMEOUT"
    try:
        return json.loads(b"".join(chunks))["result"]
    except ValueError:
        return {"exception": "child died without a result"}


def main(argv):
    path, prefixes = None, []
    args = iter(argv)
    for a in args:
        if a == "--json":
            path = next(args)
        elif a == "--list":
            for name, *_ in CASES:
                print(name)
            return 0
        else:
            prefixes.append(a)
    names = [c[0] for c in CASES]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        print(f"duplicate case names: {sorted(dup)}", file=sys.stderr)
        return 2
    out = open(path, "w") if path else sys.stdout
    impl = os.environ.get("RDS_IMPL", "?")
    print(f"# api_parity: {len(CASES)} cases on RDS_IMPL={impl}", file=sys.stderr, flush=True)
    new_netns()  # shared by the cases that do not ask for a fresh one
    for i, (name, fn, timeout, peer, fresh) in enumerate(CASES):
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        result = run_case(i, name, fn, timeout, peer, fresh)
        print(json.dumps({"case": name, "result": result}, sort_keys=True), file=out, flush=True)
    if path:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
