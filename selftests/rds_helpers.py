# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the Python selftests: TAP output, raw socket calls through
libc (to pass any address bytes and length) and network namespaces."""

import ctypes
import ctypes.util
import errno
import os
import socket
import struct
import subprocess
import sys

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

    def run(self, cmd):
        sh(f"ip netns exec {self.name} {cmd}")

    def delete(self):
        os.close(self._fd)
        subprocess.run(f"ip netns del {self.name}", shell=True, check=False)


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
