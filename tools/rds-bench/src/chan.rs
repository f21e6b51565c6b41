//! Channels: one socket pair's end, an RDS socket or a TCP connection, used
//! without blocking.

use std::io::{self, Read, Write};
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::wire::{Msg, MIN_MSG, PREFIX};

/// What became of a message handed to [`Chan::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    Yes,
    /// The send buffer is full (`EAGAIN`): wait for `POLLOUT`, send again.
    Blocked,
    /// RDS only: the destination port is congested (`ENOBUFS`); send again
    /// after a short wait (congestion map updates wake `poll` too).
    Congested,
}

pub trait Chan {
    fn fd(&self) -> RawFd;
    /// Sends `frame[PREFIX..]` as one message; `frame[..PREFIX]` is room for
    /// the TCP length prefix.
    fn send(&mut self, frame: &mut [u8]) -> io::Result<Sent>;
    /// Calls `f` for each whole message received, with at most `budget`
    /// system calls.
    fn recv(&mut self, budget: usize, f: &mut dyn FnMut(Msg)) -> io::Result<()>;
    /// True while bytes of an accepted message wait for send buffer room.
    fn pending(&self) -> bool {
        false
    }
    /// Pushes those bytes on; call when `POLLOUT`.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// True once the peer closed the connection (TCP only).
    fn closed(&self) -> bool {
        false
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all zeroes is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = addr.port().to_be();
    sa.sin_addr.s_addr = u32::from(*addr.ip()).to_be();
    sa
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, val: i32) -> io::Result<()> {
    // SAFETY: `val` outlives the call and the length matches its type.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&val as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut val = 0i32;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `val` and `len` outlive the call and describe a valid buffer.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut val as *mut i32).cast(), &mut len) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(val)
}

/// An `AF_RDS` `SOCK_SEQPACKET` socket bound to one address and port, sending
/// to one peer.
pub struct RdsChan {
    fd: OwnedFd,
    peer: Option<libc::sockaddr_in>,
    buf: Vec<u8>,
}

impl RdsChan {
    /// Binds to `local`; `buf` bytes become SO_SNDBUF and SO_RCVBUF. RDS
    /// refuses a message larger than half the send buffer the kernel grants
    /// (it doubles the value set, then caps it by `net.core.wmem_max`), so
    /// that is checked here rather than at the first send.
    pub fn bind(local: SocketAddrV4, buf: usize, max_msg: usize) -> io::Result<RdsChan> {
        // SAFETY: plain system call; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_RDS, libc::SOCK_SEQPACKET, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let want = i32::try_from(buf).unwrap_or(i32::MAX);
        setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, want)?;
        setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, want)?;
        let granted = getsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF)? as usize;
        if granted / 2 < max_msg {
            return Err(io::Error::other(format!(
                "SO_SNDBUF granted {granted} bytes: RDS sends at most half of it, \
                 below {max_msg}; raise net.core.wmem_max"
            )));
        }
        let sa = sockaddr(local);
        // SAFETY: `sa` is a valid sockaddr_in for the call's duration.
        let r = unsafe {
            libc::bind(
                raw,
                (&sa as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RdsChan {
            fd,
            peer: None,
            buf: vec![0; max_msg.max(MIN_MSG)],
        })
    }

    /// Where sends go; a receiver learns it from the first message instead.
    pub fn with_peer(mut self, peer: SocketAddrV4) -> RdsChan {
        self.peer = Some(sockaddr(peer));
        self
    }
}

impl Chan for RdsChan {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn send(&mut self, frame: &mut [u8]) -> io::Result<Sent> {
        let Some(peer) = self.peer.as_ref() else {
            return Err(io::Error::other("RDS send before the peer is known"));
        };
        let msg = &frame[PREFIX..];
        // SAFETY: `msg` and `peer` are valid for the call's duration.
        let n = unsafe {
            libc::sendto(
                self.fd(),
                msg.as_ptr().cast(),
                msg.len(),
                libc::MSG_DONTWAIT,
                (peer as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n >= 0 {
            return Ok(Sent::Yes);
        }
        match errno() {
            libc::EAGAIN => Ok(Sent::Blocked),
            libc::ENOBUFS => Ok(Sent::Congested),
            _ => Err(io::Error::last_os_error()),
        }
    }

    fn recv(&mut self, budget: usize, f: &mut dyn FnMut(Msg)) -> io::Result<()> {
        for _ in 0..budget {
            // SAFETY: as in `sockaddr`.
            let mut from: libc::sockaddr_in = unsafe { zeroed() };
            let mut from_len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // SAFETY: `buf`, `from` and `from_len` are valid for the call.
            let n = unsafe {
                libc::recvfrom(
                    self.fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut from as *mut libc::sockaddr_in).cast(),
                    &mut from_len,
                )
            };
            if n < 0 {
                // A spurious wake-up is normal: RDS reports POLLIN when a
                // congestion map changes.
                return match errno() {
                    libc::EAGAIN | libc::EINTR => Ok(()),
                    _ => Err(io::Error::last_os_error()),
                };
            }
            let n = n as usize;
            let msg = Msg::parse(&self.buf[..n], n)
                .ok_or_else(|| io::Error::other(format!("malformed {n}-byte RDS message")))?;
            self.peer.get_or_insert(from);
            f(msg);
        }
        Ok(())
    }
}

/// A TCP connection carrying messages each preceded by its length (4 bytes,
/// big-endian). TCP_NODELAY is set, as rds_tcp sets it on its own sockets;
/// the buffer sizes are left to autotuning, as rds_tcp leaves them by default.
pub struct TcpChan {
    stream: TcpStream,
    /// Received bytes not yet parsed: `rbuf[start..end]`.
    rbuf: Vec<u8>,
    start: usize,
    end: usize,
    /// Payload bytes of the current message still to be read past.
    skip: usize,
    /// Bytes of an accepted message the socket has not taken yet.
    out: Vec<u8>,
    out_off: usize,
    closed: bool,
}

impl TcpChan {
    fn new(stream: TcpStream) -> io::Result<TcpChan> {
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(TcpChan {
            stream,
            rbuf: vec![0; 256 << 10],
            start: 0,
            end: 0,
            skip: 0,
            out: Vec::new(),
            out_off: 0,
            closed: false,
        })
    }

    /// Connects to `peer`, retrying until the receiver listens or `until`.
    pub fn connect(peer: SocketAddrV4, until: Instant) -> io::Result<TcpChan> {
        for _ in 0..100_000 {
            match TcpStream::connect_timeout(&peer.into(), Duration::from_secs(1)) {
                Ok(s) => return TcpChan::new(s),
                Err(e) if Instant::now() >= until => return Err(e),
                Err(_) => sleep(Duration::from_millis(20)),
            }
        }
        Err(io::Error::other("connect: too many attempts"))
    }

    /// Accepts `n` connections on `local`, giving up at `until`.
    pub fn accept(local: SocketAddrV4, n: usize, until: Instant) -> io::Result<Vec<TcpChan>> {
        let listener = TcpListener::bind(local)?;
        listener.set_nonblocking(true)?;
        let mut chans = Vec::with_capacity(n);
        while chans.len() < n {
            match listener.accept() {
                Ok((s, _)) => chans.push(TcpChan::new(s)?),
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                Err(_) if Instant::now() >= until => {
                    return Err(io::Error::other(format!(
                        "accepted {} of {n} connections",
                        chans.len()
                    )))
                }
                Err(_) => sleep(Duration::from_millis(5)),
            }
        }
        Ok(chans)
    }

    /// Parses whole message headers from `rbuf`, reading past payloads.
    fn parse(&mut self, f: &mut dyn FnMut(Msg)) -> io::Result<()> {
        loop {
            let skipped = self.skip.min(self.end - self.start);
            self.start += skipped;
            self.skip -= skipped;
            if self.skip > 0 || self.end - self.start < PREFIX + MIN_MSG {
                break;
            }
            let b = &self.rbuf[self.start..self.end];
            let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let msg = Msg::parse(&b[PREFIX..], len)
                .filter(|_| len >= MIN_MSG)
                .ok_or_else(|| io::Error::other(format!("malformed {len}-byte TCP message")))?;
            f(msg);
            self.start += PREFIX;
            self.skip = len;
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        Ok(())
    }
}

impl Chan for TcpChan {
    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    fn send(&mut self, frame: &mut [u8]) -> io::Result<Sent> {
        self.flush()?;
        if self.pending() {
            return Ok(Sent::Blocked);
        }
        let len = u32::try_from(frame.len() - PREFIX).map_err(io::Error::other)?;
        frame[..PREFIX].copy_from_slice(&len.to_be_bytes());
        match self.stream.write(frame) {
            Ok(n) => {
                if n < frame.len() {
                    self.out.clear();
                    self.out.extend_from_slice(&frame[n..]);
                    self.out_off = 0;
                }
                Ok(Sent::Yes)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Sent::Blocked),
            Err(e) => Err(e),
        }
    }

    fn recv(&mut self, budget: usize, f: &mut dyn FnMut(Msg)) -> io::Result<()> {
        for _ in 0..budget {
            if self.end == self.rbuf.len() {
                // Only a partial header is left: move it to the front.
                self.rbuf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            }
            match self.stream.read(&mut self.rbuf[self.end..]) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
                Err(e) => return Err(e),
            }
            self.parse(f)?;
        }
        Ok(())
    }

    fn pending(&self) -> bool {
        self.out_off < self.out.len()
    }

    fn closed(&self) -> bool {
        self.closed
    }

    fn flush(&mut self) -> io::Result<()> {
        for _ in 0..64 {
            if !self.pending() {
                break;
            }
            match self.stream.write(&self.out[self.out_off..]) {
                Ok(n) => self.out_off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// One end of a socket pair and the state the caller keeps for it.
pub struct Pair<T> {
    pub chan: Box<dyn Chan>,
    pub st: T,
}

/// Messages a channel may receive per wake-up before the others get a turn.
const RECV_BUDGET: usize = 64;

/// One turn of an event loop over `pairs`: waits up to `timeout` until one
/// is readable, or writable where `wants_out` says so or bytes are pending;
/// flushes the writable ones and calls `writable` for them, then hands every
/// message received to `on_msg`. A closed channel is left out of the wait.
pub fn turn<T>(
    pairs: &mut [Pair<T>],
    fds: &mut Vec<libc::pollfd>,
    timeout: Duration,
    wants_out: impl Fn(&T) -> bool,
    mut writable: impl FnMut(&mut T),
    mut on_msg: impl FnMut(&mut T, Msg),
) -> io::Result<()> {
    fds.clear();
    fds.extend(pairs.iter().map(|p| libc::pollfd {
        fd: if p.chan.closed() { -1 } else { p.chan.fd() },
        events: libc::POLLIN
            | if wants_out(&p.st) || p.chan.pending() {
                libc::POLLOUT
            } else {
                0
            },
        revents: 0,
    }));
    poll(fds, timeout)?;
    for (p, fd) in pairs.iter_mut().zip(fds.iter()) {
        if fd.revents & libc::POLLOUT != 0 {
            p.chan.flush()?;
            writable(&mut p.st);
        }
        if fd.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 {
            let st = &mut p.st;
            p.chan.recv(RECV_BUDGET, &mut |m| on_msg(st, m))?;
        }
    }
    Ok(())
}

/// poll(2) over `fds`; an interrupted wait counts as a timeout.
pub fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<()> {
    // Rounded up: a wait shorter than 1 ms must not become a busy loop.
    let ms = timeout.as_micros().div_ceil(1000).min(1000) as i32;
    // SAFETY: `fds` is a valid array of its length.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if r < 0 && errno() != libc::EINTR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The address of pair `i` when pair 0 uses `port`.
pub fn pair_addr(ip: Ipv4Addr, port: u16, i: usize) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port + i as u16)
}
