# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the Python selftests: TAP output, raw socket calls through
libc (to pass any address bytes and length), network namespaces and killing TCP
connections through sock_diag (an in-process `ss -K`)."""

import ctypes
import ctypes.util
import errno
import mmap
import os
import select
import socket
import struct
import subprocess
import sys
import time

AF_RDS = 21
SOL_RDS = 276
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
CLONE_NEWNET = 0x40000000


class Tap:
    """Minimal KTAP writer: `ok N - name`, with a summary and exit code."""

    def __init__(self, planned=None):
        self.n = 0
        self.failed = 0
        print("TAP version 13", flush=True)
        if planned is not None:
            print(f"1..{planned}", flush=True)
        self.planned = planned

    def check(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            if detail:
                for line in str(detail).splitlines():
                    print(f"#   {line}", flush=True)
        return cond

    def skip(self, name, reason):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {reason}", flush=True)

    def finish(self):
        if self.planned is None:
            print(f"1..{self.n}", flush=True)
        print(f"# {self.n - self.failed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


def sockaddr_in(addr, port, family=socket.AF_INET):
    return struct.pack("=H", family) + struct.pack(">H", port) + socket.inet_aton(addr) + bytes(8)


def sockaddr_in6(addr, port, scope_id=0):
    return (struct.pack("=H", socket.AF_INET6) + struct.pack(">H", port) + bytes(4)
            + socket.inet_pton(socket.AF_INET6, addr) + struct.pack("=I", scope_id))


def raw_socket(family=AF_RDS, type_=socket.SOCK_SEQPACKET, proto=0):
    """socket(2); returns (fd, errno)."""
    fd = libc.socket(family, type_, proto)
    return (fd, 0) if fd >= 0 else (-1, ctypes.get_errno())


def raw_bind(fd, addr_bytes, length=None):
    """bind(2) with exactly these bytes; returns 0 or the errno."""
    buf = ctypes.create_string_buffer(addr_bytes, max(len(addr_bytes), 1))
    n = len(addr_bytes) if length is None else length
    return 0 if libc.bind(fd, buf, n) == 0 else ctypes.get_errno()


def raw_getname(fd, peer=False):
    """getsockname/getpeername; returns (errno, address bytes)."""
    buf = ctypes.create_string_buffer(128)
    n = ctypes.c_uint(128)
    fn = libc.getpeername if peer else libc.getsockname
    if fn(fd, buf, ctypes.byref(n)) != 0:
        return ctypes.get_errno(), b""
    return 0, buf.raw[: n.value]


def close(fd):
    os.close(fd)


def errname(e):
    return errno.errorcode.get(e, str(e)) if e else "0"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


class Netns:
    """A network namespace made by `ip netns add`; `with ns:` runs code inside it."""

    def __init__(self, name):
        self.name = name
        sh(f"ip netns add {name}")
        self._fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
        self._home = None

    def __enter__(self):
        self._home = os.open("/proc/self/ns/net", os.O_RDONLY)
        if libc.setns(self._fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        return self

    def __exit__(self, *exc):
        libc.setns(self._home, CLONE_NEWNET)
        os.close(self._home)

    def enter_thread(self):
        """Moves the calling thread into the namespace for good (setns is
        per thread): for threads, which cannot share `with ns:`."""
        if libc.setns(self._fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    def run(self, cmd):
        sh(f"ip netns exec {self.name} {cmd}")

    def delete(self):
        os.close(self._fd)
        subprocess.run(f"ip netns del {self.name}", shell=True, check=False)


# NETLINK_SOCK_DIAG, from include/uapi/linux/{netlink,sock_diag,inet_diag}.h.
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
SOCK_DESTROY = 21
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
TCP_ESTABLISHED = 1
NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
INET_DIAG_REQ_V2 = struct.Struct("=BBBBI48s")  # family, protocol, ext, pad, states, id
INET_DIAG_MSG = struct.Struct("=BBBB48s")  # family, state, timer, retrans, id; then more
SOCKID_PORTS = struct.Struct(">HH")  # idiag_sport, idiag_dport opening inet_diag_sockid


class SockDiag:
    """A NETLINK_SOCK_DIAG socket in one netns, for an in-process

        ss -K -t state established '( sport = :PORT or dport = :PORT )'

    that costs a few system calls instead of two process spawns (slow under
    TCG). A socket stays in the netns it was created in, so one is opened inside
    `ns` and used afterwards from any thread or forked child, one at a time."""

    MAX_PARTS = 10000  # dump datagrams per request: a bound, never reached

    def __init__(self, ns=None):
        if ns is None:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        else:
            with ns:
                self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        self.sock.settimeout(5)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self):
        self.sock.close()

    def _request(self, type_, flags, family, states, sockid):
        self.seq += 1
        body = INET_DIAG_REQ_V2.pack(family, socket.IPPROTO_TCP, 0, 0, states, sockid)
        self.sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), type_, flags, self.seq, 0) + body)
        return self.seq

    def _replies(self, seq):
        """Yields (type, payload) of the messages answering request `seq`, up
        to NLMSG_DONE or NLMSG_ERROR (an ack is an NLMSG_ERROR with error 0).
        A negative error raises OSError."""
        for _ in range(self.MAX_PARTS):
            buf = self.sock.recv(1 << 16)  # netlink dumps fill at most 32 KiB
            off = 0
            while off + NLMSGHDR.size <= len(buf):
                length, type_, _, mseq, _ = NLMSGHDR.unpack_from(buf, off)
                if length < NLMSGHDR.size or off + length > len(buf):
                    raise OSError(errno.EPROTO, f"sock_diag: bad nlmsg_len {length}")
                payload = buf[off + NLMSGHDR.size : off + length]
                off += (length + 3) & ~3
                if mseq != seq:
                    continue  # left over from an earlier request that raised
                if type_ == NLMSG_ERROR or type_ == NLMSG_DONE:
                    err = struct.unpack_from("=i", payload)[0] if len(payload) >= 4 else 0
                    if err < 0:
                        raise OSError(-err, f"sock_diag: {os.strerror(-err)}")
                    return
                yield type_, payload
        raise OSError(errno.EPROTO, f"sock_diag: no end of reply after {self.MAX_PARTS} datagrams")

    def tcp_established(self, port):
        """(family, inet_diag_sockid bytes) of each established TCP socket,
        IPv4 and IPv6, with source or destination port `port`."""
        found = []
        for family in (socket.AF_INET, socket.AF_INET6):
            seq = self._request(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, family,
                                1 << TCP_ESTABLISHED, bytes(48))
            for type_, payload in self._replies(seq):
                if type_ != SOCK_DIAG_BY_FAMILY or len(payload) < INET_DIAG_MSG.size:
                    continue
                fam, _, _, _, sockid = INET_DIAG_MSG.unpack_from(payload)
                if port in SOCKID_PORTS.unpack_from(sockid):
                    found.append((fam, sockid))
        return found

    def kill_tcp(self, port):
        """Destroys (SOCK_DESTROY, as kill_inet_sock() in iproute2's misc/ss.c
        does) every established TCP socket with source or destination port
        `port`; returns how many were destroyed. One that went away between
        dump and destroy (ENOENT) is not counted."""
        killed = 0
        for family, sockid in self.tcp_established(port):
            seq = self._request(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, family, 0, sockid)
            try:
                for _ in self._replies(seq):
                    pass
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise
                continue
            killed += 1
        return killed


class Killer:
    """Destroys the established TCP connections on `port` through each of
    `diags` (SockDiag objects) every `period` seconds, in a child process: in
    this one, each of a round's system calls would wait for the GIL behind the
    sender and receiver. Create it before the RDS sockets, so that the child
    holds none of them. The child's counters are in shared memory; it stops
    when the pipe closes."""

    STATS = struct.Struct("=QQdddd")
    FIELDS = ("rounds", "destroyed", "busy", "slowest", "first", "last")
    MAX_SECONDS = 1200  # 20 minutes of rounds at most

    def __init__(self, diags, port, period):
        self.port, self.period = port, period
        self.shm = mmap.mmap(-1, 4096)
        stop_r, self.stop_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(self.stop_w)
                self._run(diags, stop_r)
            except BaseException as e:
                err = repr(e).encode()[: len(self.shm) - self.STATS.size - 1]
                self.shm[self.STATS.size : self.STATS.size + len(err)] = err
            finally:
                os._exit(0)  # never the parent's cleanup
        os.close(stop_r)

    def _run(self, diags, stop_r):
        try:
            # Wakes on time even with the sender and receiver busy.
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except OSError:
            pass
        st = dict.fromkeys(self.FIELDS, 0)
        start = next_round = time.monotonic()
        while st["rounds"] < self.MAX_SECONDS / self.period:
            t = time.monotonic()
            for d in diags:
                st["destroyed"] += d.kill_tcp(self.port)
            cost = time.monotonic() - t
            st["busy"] += cost
            st["slowest"] = max(st["slowest"], cost)
            st["first"] = st["first"] if st["rounds"] else t - start
            st["last"] = t - start
            st["rounds"] += 1
            self.STATS.pack_into(self.shm, 0, *(st[f] for f in self.FIELDS))
            # A fixed schedule; a late round is not made up for.
            next_round = max(next_round + self.period, time.monotonic())
            if select.select([stop_r], [], [], max(next_round - time.monotonic(), 0))[0]:
                return

    def stats(self):
        st = dict(zip(self.FIELDS, self.STATS.unpack_from(self.shm)))
        st["error"] = self.shm[self.STATS.size :].rstrip(b"\0").decode(errors="replace") or None
        return st

    def stop(self):
        if self.stop_w is not None:
            os.close(self.stop_w)
            self.stop_w = None
            os.waitpid(self.pid, 0)
        return self.stats()


def dump_state(namespaces):
    """Prints, as TAP comments, what a failed test needs to be understood:
    each namespace's RDS connections, TCP sockets and queues (rdstcp info,
    if built), and the stacks of blocked tasks and of rds_rs's workers."""
    tool = os.path.join(os.environ.get("RDS_ROOT", "."), "target/release/rdstcp")
    for ns in namespaces:
        for cmd in ([tool, "info", "connections", "tcp", "send", "retrans", "recv", "counters"],
                    [tool, "show"], ["ss", "-tnoi"]):
            if not os.access(cmd[0], os.X_OK) and cmd[0] == tool:
                continue
            out = subprocess.run(["ip", "netns", "exec", ns.name] + cmd, capture_output=True, text=True,
                                 timeout=30)
            for line in (out.stdout + out.stderr).splitlines()[:120]:
                print(f"#   {ns.name}: {line}", flush=True)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/status") as f:
                state = next(line.split()[1] for line in f if line.startswith("State:"))
            if state != "D" and "rds_rs" not in comm:
                continue
            with open(f"/proc/{pid}/stack") as f:
                stack = f.read().splitlines()
        except (OSError, StopIteration):
            continue
        print(f"#   task {pid} {comm} state {state}:", flush=True)
        for line in stack:
            print(f"#     {line}", flush=True)


def rds_module():
    """The module that provides AF_RDS in this run (see scripts/vm-run)."""
    return {"rust": "rds_rs", "c": "rds"}.get(os.environ.get("RDS_IMPL", ""), None)


def module_refcnt(name):
    """References held on module `name`: every RDS socket holds some."""
    with open(f"/sys/module/{name}/refcnt") as f:
        return int(f.read())


def info_count(sock, opt, each):
    """Records of getsockopt(SOL_RDS, RDS_INFO_* `opt`) of `each` bytes: the
    length a zero-length probe is told it needs (ENOSPC), divided."""
    ln = ctypes.c_int(0)
    buf = ctypes.create_string_buffer(1)
    r = libc.getsockopt(sock.fileno(), 276, opt, buf, ctypes.byref(ln))
    if r < 0 and ctypes.get_errno() != errno.ENOSPC:
        raise OSError(ctypes.get_errno(), f"getsockopt RDS_INFO {opt}")
    return ln.value // each


def veth_namespaces(name_a="rdsA", name_b="rdsB"):
    """Namespaces `name_a` (veth-a 192.0.2.1/24) and `name_b` (veth-b
    192.0.2.2/24) joined by a veth pair, loopback up in both; the caller
    deletes them (Netns.delete), also when this fails half way."""
    a, b = Netns(name_a), Netns(name_b)
    sh(f"ip link add veth-a netns {name_a} type veth peer name veth-b netns {name_b}")
    for ns, dev, v4 in [(a, "veth-a", "192.0.2.1"), (b, "veth-b", "192.0.2.2")]:
        ns.run("ip link set lo up")
        ns.run(f"ip link set {dev} up")
        ns.run(f"ip addr add {v4}/24 dev {dev}")
    return a, b


def multipath(n=8):
    """Offers `n` paths per peer on rds_rs (its npaths module parameter,
    1 by default); upstream's modules always offer 8. Returns the number
    offered before, for the caller to restore (tests share a module)."""
    param = "/sys/module/rds_rs/parameters/npaths"
    if not os.path.exists(param):
        return n
    with open(param, "r+") as f:
        before = int(f.read())
        f.seek(0)
        f.write(str(n))
    return before


class Rds6Socket:
    """An RDS socket on IPv6 addresses, which Python's socket module cannot
    name for AF_RDS (it only knows the IPv4 form): the calls go through libc.
    Mirrors the socket methods the selftests use; a timeout, as Python's,
    makes sends non-blocking and bounds receives (socket.timeout)."""

    POLLIN, POLLOUT = 0x1, 0x4
    MSG_DONTWAIT = 0x40

    def __init__(self):
        fd, err = raw_socket()
        if fd < 0:
            raise OSError(err, "socket(AF_RDS)")
        self.sock = socket.socket(fileno=fd)  # For setsockopt and close.
        self.fd, self.timeout = fd, None

    def fileno(self):
        return self.fd

    def setsockopt(self, *args):
        self.sock.setsockopt(*args)

    def settimeout(self, t):
        self.timeout = t

    def close(self):
        self.sock.close()

    def bind(self, addr):
        err = raw_bind(self.fd, sockaddr_in6(addr[0], addr[1]))
        if err:
            raise OSError(err, f"bind {addr}")

    def _wait(self, events):
        fds = (ctypes.c_int * 2)(self.fd, events)  # struct pollfd: fd, events|revents<<16
        ms = -1 if self.timeout is None else int(self.timeout * 1000)
        n = libc.poll(fds, 1, ms)
        if n == 0:
            raise socket.timeout("timed out")
        if n < 0:
            raise OSError(ctypes.get_errno(), "poll")

    def sendto(self, data, addr):
        to = sockaddr_in6(addr[0], addr[1])
        flags = self.MSG_DONTWAIT if self.timeout is not None else 0
        while True:
            n = libc.sendto(self.fd, data, len(data), flags, to, len(to))
            if n >= 0:
                return n
            err = ctypes.get_errno()
            if err != errno.EAGAIN or self.timeout is None:
                raise OSError(err, os.strerror(err))
            self._wait(self.POLLOUT)

    def recvfrom(self, size):
        buf = ctypes.create_string_buffer(size)
        name = ctypes.create_string_buffer(128)
        while True:
            ln = ctypes.c_uint(128)
            n = libc.recvfrom(self.fd, buf, size, self.MSG_DONTWAIT, name, ctypes.byref(ln))
            if n >= 0:
                port = struct.unpack(">H", name.raw[2:4])[0]
                return buf.raw[:n], (socket.inet_ntop(socket.AF_INET6, name.raw[8:24]), port)
            err = ctypes.get_errno()
            if err != errno.EAGAIN:
                raise OSError(err, os.strerror(err))
            self._wait(self.POLLIN)


RDS_CMSG_CONG_UPDATE = 5


def cong_update(sock, seconds):
    """Waits up to `seconds` for an RDS_CONG_MONITOR socket to become
    readable and reads its RDS_CMSG_CONG_UPDATE: returns (readable, the
    port mask, or an error text, or None without one)."""
    import select
    if not select.select([sock], [], [], seconds)[0]:
        return False, None
    try:
        _, anc, _, _ = sock.recvmsg(0, socket.CMSG_SPACE(8), socket.MSG_DONTWAIT)
    except OSError as e:
        return True, f"recvmsg: {errname(e.errno)}"
    for level, ty, val in anc:
        if level == SOL_RDS and ty == RDS_CMSG_CONG_UPDATE and len(val) == 8:
            return True, struct.unpack("=Q", val)[0]
    return True, None


def send_until_enobufs(tx, dest, payload, first, count=100000, seconds=60):
    """Non-blocking sends of payload(first), payload(first + 1), ... to
    `dest` until ENOBUFS (waiting out EAGAIN), at most `count` of them and
    `seconds` long; returns the next message number and whether ENOBUFS came."""
    import time
    i, end = first, time.monotonic() + seconds
    while time.monotonic() < end and i < first + count:
        try:
            tx.sendto(payload(i), socket.MSG_DONTWAIT, dest)
            i += 1
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                return i, True
            if e.errno != errno.EAGAIN:
                raise
            time.sleep(0.001)
    return i, False
