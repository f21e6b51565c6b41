// SPDX-License-Identifier: GPL-2.0

//! PF_RDS sockets through libc (std has no AF_RDS), and the address forms
//! this tool reads and prints.

use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::uapi::{AF_RDS, SOL_RDS};

/// An address with the scope id a link-local IPv6 address needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    pub ip: IpAddr,
    pub scope: u32,
}

impl Addr {
    /// Parses `192.0.2.1`, `2001:db8::1` or `fe80::1%eth0` (or `%3`).
    pub fn parse(s: &str) -> Result<Addr> {
        let (ip, scope) = match s.split_once('%') {
            Some((ip, dev)) => (ip, Some(dev)),
            None => (s, None),
        };
        let ip: IpAddr = ip
            .parse()
            .with_context(|| format!("{s:?} is not an IP address"))?;
        let scope = match scope {
            None => 0,
            Some(_) if ip.is_ipv4() => bail!("{s:?}: only IPv6 addresses take a %scope"),
            Some(dev) => match dev.parse::<u32>() {
                Ok(n) => n,
                Err(_) => ifindex(dev)?,
            },
        };
        Ok(Addr { ip, scope })
    }

    /// The 16 bytes netlink carries: IPv4 addresses IPv4-mapped.
    pub fn to_bytes(self) -> [u8; 16] {
        match self.ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        }
    }
}

/// Reads a 16-byte address: IPv4-mapped ones become IPv4.
pub fn ip_from_bytes(b: &[u8]) -> Result<IpAddr> {
    let b: [u8; 16] = b
        .try_into()
        .map_err(|_| anyhow!("address of {} bytes, not 16", b.len()))?;
    Ok(unmap(Ipv6Addr::from(b)))
}

pub fn unmap(v6: Ipv6Addr) -> IpAddr {
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Interface index of `name`.
pub fn ifindex(name: &str) -> Result<u32> {
    let c = CString::new(name).context("interface name")?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        bail!("no interface {name:?}");
    }
    Ok(i)
}

/// Interface name of `index`, or the number if it has none here.
pub fn ifname(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname() requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return index.to_string();
    }
    // SAFETY: if_indextoname() wrote a NUL-terminated name into `buf`.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// `addr` for printing, with `%ifname` for a scope.
pub fn show_ip(ip: IpAddr, scope: u32) -> String {
    if scope != 0 {
        format!("{ip}%{}", ifname(scope))
    } else {
        ip.to_string()
    }
}

/// `addr:port`, bracketing IPv6 addresses.
pub fn show_ip_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}:{port}"),
        IpAddr::V6(_) => format!("[{ip}]:{port}"),
    }
}

/// The source address the routing table picks towards `dst`, as rds-ping
/// finds it: connect a UDP socket and read its name (nothing is sent).
pub fn source_for(dst: Addr) -> Result<Addr> {
    let (bind, to): (SocketAddr, SocketAddr) = match dst.ip {
        IpAddr::V4(v4) => (
            (Ipv4Addr::UNSPECIFIED, 0).into(),
            (v4, crate::uapi::RDS_TCP_PORT).into(),
        ),
        IpAddr::V6(v6) => (
            (Ipv6Addr::UNSPECIFIED, 0).into(),
            SocketAddrV6::new(v6, crate::uapi::RDS_TCP_PORT, 0, dst.scope).into(),
        ),
    };
    let udp = UdpSocket::bind(bind).context("finding a source address")?;
    udp.connect(to)
        .with_context(|| format!("no route to {}", show_ip(dst.ip, dst.scope)))?;
    let ip = match udp.local_addr()? {
        SocketAddr::V4(a) => IpAddr::V4(*a.ip()),
        SocketAddr::V6(a) => unmap(*a.ip()),
    };
    Ok(Addr {
        ip,
        scope: dst.scope,
    })
}

/// A `socket(PF_RDS, SOCK_SEQPACKET, 0)`.
pub struct RdsSocket(OwnedFd);

fn sockaddr(a: Addr, port: u16) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match a.ip {
        IpAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
            size_of::<libc::sockaddr_in>()
        }
        IpAddr::V6(v6) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = port.to_be();
            sin6.sin6_addr.s6_addr = v6.octets();
            sin6.sin6_scope_id = a.scope;
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn from_sockaddr(ss: &libc::sockaddr_storage) -> Option<(IpAddr, u16)> {
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some((IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            let ip = unmap(Ipv6Addr::from(sin6.sin6_addr.s6_addr));
            Some((ip, u16::from_be(sin6.sin6_port)))
        }
        _ => None,
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl RdsSocket {
    pub fn new() -> io::Result<RdsSocket> {
        // SAFETY: plain system call; the result is checked.
        let fd = check(unsafe { libc::socket(AF_RDS, libc::SOCK_SEQPACKET, 0) })?;
        // SAFETY: `fd` is a new descriptor owned by nobody else.
        Ok(RdsSocket(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Opens a socket, with a hint when AF_RDS is missing.
    pub fn open() -> Result<RdsSocket> {
        RdsSocket::new().map_err(|e| {
            if e.raw_os_error() == Some(libc::EAFNOSUPPORT) {
                anyhow!("AF_RDS is not available: is rds_rs (or upstream's rds) loaded?")
            } else {
                anyhow!("socket(PF_RDS): {e}")
            }
        })
    }

    pub fn bind(&self, a: Addr, port: u16) -> io::Result<()> {
        let (ss, len) = sockaddr(a, port);
        // SAFETY: `ss` holds `len` valid bytes of a socket address.
        check(unsafe { libc::bind(self.0.as_raw_fd(), &ss as *const _ as *const _, len) })?;
        Ok(())
    }

    /// Sends without blocking: upstream's sendmsg() otherwise waits, with
    /// no limit, for a new connection's multipath handshake
    /// (rds_send_mprds_hash()), so a peer that never answers would hang us.
    pub fn send_to(&self, buf: &[u8], a: Addr, port: u16) -> io::Result<usize> {
        let (ss, len) = sockaddr(a, port);
        // SAFETY: `buf` and `ss` are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.0.as_raw_fd(),
                buf.as_ptr() as *const _,
                buf.len(),
                libc::MSG_DONTWAIT,
                &ss as *const _ as *const _,
                len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Receives one message without blocking; returns its length and sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, IpAddr, u16)> {
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `buf` and `ss` are writable for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.0.as_raw_fd(),
                buf.as_mut_ptr() as *mut _,
                buf.len(),
                libc::MSG_DONTWAIT,
                &mut ss as *mut _ as *mut _,
                &mut len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let (ip, port) = from_sockaddr(&ss)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown address family"))?;
        Ok((n as usize, ip, port))
    }

    /// Waits up to `timeout` for something to read.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        poll_in(self.0.as_raw_fd(), Some(timeout))
    }

    /// One `getsockopt(SOL_RDS, opt)` into `buf`: Ok((item size, bytes
    /// written)), or Err with the errno and, for ENOSPC, the length needed.
    pub fn getsockopt(
        &self,
        opt: i32,
        buf: &mut [u8],
    ) -> Result<(usize, usize), (io::Error, usize)> {
        let mut len = buf.len() as libc::socklen_t;
        let ptr = if buf.is_empty() {
            std::ptr::null_mut()
        } else {
            buf.as_mut_ptr() as *mut libc::c_void
        };
        // SAFETY: `ptr` is null with length 0, or `buf` writable for `len` bytes.
        let ret = unsafe { libc::getsockopt(self.0.as_raw_fd(), SOL_RDS, opt, ptr, &mut len) };
        if ret < 0 {
            return Err((io::Error::last_os_error(), len as usize));
        }
        Ok((ret as usize, len as usize))
    }
}

/// poll(2) for POLLIN on `fd`; `None` waits for ever. EINTR counts as "not
/// yet", so callers re-check their deadline.
pub fn poll_in(fd: i32, timeout: Option<Duration>) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = match timeout {
        None => -1,
        Some(t) => t.as_millis().min(i32::MAX as u128) as i32,
    };
    // SAFETY: `pfd` is one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_map() {
        let a = Addr::parse("192.0.2.1").unwrap();
        assert_eq!(
            a.to_bytes(),
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]
        );
        assert_eq!(ip_from_bytes(&a.to_bytes()).unwrap(), a.ip);
        let b = Addr::parse("2001:db8::2").unwrap();
        assert_eq!(ip_from_bytes(&b.to_bytes()).unwrap(), b.ip);
        assert_eq!(Addr::parse("fe80::1%7").unwrap().scope, 7);
        assert!(Addr::parse("192.0.2.1%3").is_err());
        assert!(Addr::parse("host").is_err());
        assert!(ip_from_bytes(&[0; 4]).is_err());
    }
}
