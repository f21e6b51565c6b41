// SPDX-License-Identifier: GPL-2.0

//! Kernel TCP sockets of the transport (listener and connections), the
//! module's workqueue, and the namespace pointer they need.

use core::ffi::{c_int, c_void};
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::{Arc, UniqueArc};
use kernel::workqueue::Queue;

use super::{ffi, Bytes, Frag, MsgHdr};
use crate::conn::Conn;
use crate::proto::addr::Addr;
use crate::proto::header::HEADER_LEN;
use crate::proto::stats::Stat;
use crate::NetState;

/// A network namespace, valid while its `NetState` is registered.
///
/// # Invariants
///
/// `self.0` is a `struct net` whose pernet exit has not finished; users check
/// `NetState`'s `dead` flag under its lock before using it.
#[derive(Clone, Copy)]
pub(crate) struct NetRef(pub(super) NonNull<ffi::net>);

// SAFETY: A `struct net` pointer may be used from any thread while the
// namespace lives, which the type invariant covers.
unsafe impl Send for NetRef {}
// SAFETY: As for `Send`.
unsafe impl Sync for NetRef {}

impl NetRef {
    /// `net.rds.tcp.rds_tcp_sndbuf` and `rds_tcp_rcvbuf` (0: the stack chooses).
    pub(crate) fn tcp_bufs(&self) -> (i32, i32) {
        let (mut snd, mut rcv) = (0, 0);
        // SAFETY: Live by the type invariant; the outputs are writable.
        unsafe { ffi::rdsrs_net_tcp_bufs(self.0.as_ptr(), &mut snd, &mut rcv) };
        (snd, rcv)
    }

    /// Sets both (already checked: 0 or at least the kernel's minimum).
    pub(crate) fn set_tcp_bufs(&self, snd: i32, rcv: i32) {
        // SAFETY: Live by the type invariant.
        unsafe { ffi::rdsrs_net_set_tcp_bufs(self.0.as_ptr(), snd, rcv) };
    }

    /// Whether anyone listens to the netlink events group here.
    pub(crate) fn nl_listening(&self) -> bool {
        // SAFETY: Live by the type invariant.
        unsafe { ffi::rdsrs_nl_listening(self.0.as_ptr()) }
    }

    /// Sends `ev` to the netlink events group of this namespace.
    pub(crate) fn nl_notify(&self, ev: &crate::sys::NlEvent) {
        // SAFETY: Live by the type invariant; `ev` is read during the call only.
        unsafe { ffi::rdsrs_nl_notify(self.0.as_ptr(), ev) };
    }
}

/// `net.rds.reconnect_min_delay_ms` and `reconnect_max_delay_ms`.
pub(crate) fn reconnect_delays() -> (u32, u32) {
    let (mut min, mut max) = (0, 0);
    // SAFETY: The outputs are writable.
    unsafe { ffi::rdsrs_reconnect_delays(&mut min, &mut max) };
    (min, max)
}

/// The `npaths` module parameter: paths offered to peers, 1 to 8.
pub(crate) fn npaths() -> usize {
    // SAFETY: No preconditions.
    let n = unsafe { ffi::rdsrs_npaths() };
    usize::try_from(n).unwrap_or(1)
}

/// `net.rds.ping_enable`.
pub(crate) fn ping_enable() -> bool {
    // SAFETY: No preconditions.
    unsafe { ffi::rdsrs_ping_enable() != 0 }
}

/// Who handles the events of a kernel TCP socket.
pub(crate) enum TcpOwner {
    /// The namespace's listener: new connections to accept.
    Listener(Arc<NetState>),
    /// A connection of `Conn`.
    Conn(Arc<Conn>),
}

impl TcpOwner {
    fn event(&self, ev: u32) {
        match self {
            TcpOwner::Listener(net) if ev == ffi::rdsrs_tcp_event_RDSRS_TCP_ACCEPT => {
                crate::accept::accept_ready(net)
            }
            TcpOwner::Conn(c) => match ev {
                // Not yet the connection's (see `tcp_event()`).
                ffi::rdsrs_tcp_event_RDSRS_TCP_READABLE => c.queue_recv(),
                ffi::rdsrs_tcp_event_RDSRS_TCP_WRITABLE => c.queue_send(),
                _ => c.queue_conn(),
            },
            TcpOwner::Listener(_) => {}
        }
    }
}

/// The state of a TCP connection as the transport tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpState {
    /// The handshake is under way.
    Connecting,
    /// Established.
    Established,
    /// Closed, closing or reset.
    Closed,
}

/// Messages [`TcpSock::send_frags`] passes to TCP in one call, at most.
pub(crate) const FRAGS_MAX: usize = ffi::RDSRS_TCP_FRAGS_MAX as usize;

/// A kernel TCP socket with our callbacks.
///
/// # Invariants
///
/// `sock` came from the shim with callbacks carrying this object's address,
/// which does not move (it lives in an `Arc`); it is released only in `drop`,
/// after the callbacks are removed.
pub(crate) struct TcpSock {
    sock: NonNull<ffi::socket>,
    owner: TcpOwner,
    /// The generation of its `Conn` that this connection is (`set_gen`);
    /// 0 until then.
    gen: AtomicU64,
}

// SAFETY: The kernel serializes socket operations internally (lock_sock).
unsafe impl Send for TcpSock {}
// SAFETY: As for `Send`; the owner is `Sync`.
unsafe impl Sync for TcpSock {}

impl TcpSock {
    fn new_owned(
        owner: TcpOwner,
        create: impl FnOnce(*mut c_void, *mut *mut ffi::socket) -> c_int,
    ) -> Result<Arc<Self>> {
        // The callbacks need the final address before the socket exists, and
        // see a whole `TcpSock` (`tcp_event()`), so it starts with a dangling
        // socket; it becomes an owned `TcpSock`, which closes its socket on
        // drop, only once the socket exists.
        let mut slot = UniqueArc::<TcpSock>::new_uninit(GFP_KERNEL)?;
        let this = (*slot).write(TcpSock {
            sock: NonNull::dangling(),
            owner,
            gen: AtomicU64::new(0),
        });
        let this: *mut TcpSock = this;
        let mut sock = core::ptr::null_mut();
        let ret = create(this.cast(), &mut sock);
        match NonNull::new(sock) {
            Some(sock) if ret == 0 => {
                // SAFETY: `this` is the initialized value in `slot`, which we
                // own; callbacks running meanwhile borrow only `owner`
                // (`tcp_event()`).
                unsafe { (*this).sock = sock };
                // INVARIANT: the callbacks carry `this`, the address of the
                // allocation that the returned `Arc` keeps.
                // SAFETY: `slot` was initialized by `write` above.
                Ok(unsafe { slot.assume_init() }.into())
            }
            _ => {
                // SAFETY: `this` is initialized and nothing refers to it any
                // more: on failure the shim has removed its callbacks or never
                // installed them. Only `owner` needs dropping; `slot` is then
                // freed without dropping a `TcpSock`.
                unsafe { core::ptr::drop_in_place(core::ptr::addr_of_mut!((*this).owner)) };
                Err(to_result(ret).err().unwrap_or(EINVAL))
            }
        }
    }

    /// The namespace's listener on the RDS port.
    pub(crate) fn listen(net: NetRef, owner: Arc<NetState>) -> Result<Arc<Self>> {
        Self::new_owned(TcpOwner::Listener(owner), |o, out| {
            // SAFETY: `net` is live (`NetRef` invariant); `o` outlives the socket.
            unsafe { ffi::rdsrs_tcp_listen(net.0.as_ptr(), o, out) }
        })
    }

    /// A connection from `laddr` to `faddr` on the RDS port, connecting.
    pub(crate) fn connect(
        net: NetRef,
        laddr: &Addr,
        faddr: &Addr,
        scope_id: u32,
        path: u8,
        bufs: (i32, i32),
        owner: Arc<Conn>,
    ) -> Result<Arc<Self>> {
        Self::new_owned(TcpOwner::Conn(owner), |o, out| {
            // SAFETY: `net` is live (`NetRef` invariant); the addresses are 16
            // readable bytes; `o` outlives the socket.
            unsafe {
                ffi::rdsrs_tcp_connect(
                    net.0.as_ptr(),
                    laddr.0.as_ptr(),
                    faddr.0.as_ptr(),
                    scope_id,
                    u32::from(path),
                    bufs.0,
                    bufs.1,
                    o,
                    out,
                )
            }
        })
    }

    /// Accepts one connection without blocking; `EAGAIN` when none is waiting.
    pub(crate) fn accept(&self) -> Result<AcceptedSock> {
        let mut sock = core::ptr::null_mut();
        // SAFETY: `self.sock` is live (type invariant).
        to_result(unsafe { ffi::rdsrs_tcp_accept(self.sock.as_ptr(), &mut sock) })?;
        Ok(AcceptedSock(NonNull::new(sock).ok_or(EINVAL)?))
    }

    /// The generation of its `Conn` that this connection was made; 0 if it
    /// has not been installed.
    pub(crate) fn gen(&self) -> u64 {
        self.gen.load(Ordering::Acquire)
    }

    /// Records that this connection is generation `gen` (not 0) of its
    /// `Conn`; from then on its data-ready callback may read it
    /// ([`DataReady`]).
    pub(crate) fn set_gen(&self, gen: u64) {
        self.gen.store(gen, Ordering::Release);
    }

    /// The connection's state.
    pub(crate) fn state(&self) -> TcpState {
        // SAFETY: `self.sock` is live (type invariant).
        match unsafe { ffi::rdsrs_tcp_state(self.sock.as_ptr()) } as u32 {
            ffi::rdsrs_tcp_state_RDSRS_TCP_CONNECTING => TcpState::Connecting,
            ffi::rdsrs_tcp_state_RDSRS_TCP_ESTABLISHED => TcpState::Established,
            _ => TcpState::Closed,
        }
    }

    /// Queues `hdr` then `data` without blocking; returns the bytes queued.
    pub(crate) fn send(&self, hdr: &[u8], data: &[u8]) -> Result<usize> {
        // SAFETY: `self.sock` is live; both slices are readable for the call.
        let n = unsafe {
            ffi::rdsrs_tcp_send(
                self.sock.as_ptr(),
                hdr.as_ptr(),
                hdr.len() as _,
                data.as_ptr(),
                data.len() as _,
                0,
            )
        };
        // CAST: a byte count or a negative errno.
        to_result(n.min(0) as c_int)?;
        Ok(n as usize)
    }

    /// Queues messages in page fragments, in order, without copying or
    /// blocking: message `i` is `frags[i]` from byte `offs[i]` of its header
    /// and payload on, with header `hdr(i)` written there first at offset 0.
    /// Stops at the first `None`, and before the first whose header can no
    /// longer be written there (TCP was given the memory before: such a
    /// message goes through [`Self::send`]). Returns how many messages it
    /// passed to TCP, with the bytes TCP took of them; `None` if not even
    /// the first.
    pub(crate) fn send_frags(
        &self,
        frags: &[Option<&Frag>; FRAGS_MAX],
        offs: &[usize; FRAGS_MAX],
        hdr: impl Fn(usize) -> [u8; HEADER_LEN],
    ) -> Option<(usize, Result<usize>)> {
        let mut iov = [ffi::rdsrs_iov {
            base: core::ptr::null(),
            len: 0,
        }; FRAGS_MAX];
        let mut k = 0;
        for (i, slot) in iov.iter_mut().enumerate() {
            let Some(frag) = frags[i] else {
                break;
            };
            if offs[i] == 0 && !frag.set_header(&hdr(i)) {
                break;
            }
            let Some((base, len)) = frag.give(offs[i]) else {
                break;
            };
            // CAST: at most a page.
            *slot = ffi::rdsrs_iov {
                base,
                len: len as _,
            };
            k += 1;
        }
        if k == 0 {
            return None;
        }
        // SAFETY: `self.sock` is live; each of the first `k` ranges of `iov`
        // is memory from `rdsrs_frag_alloc()` that never changes again
        // (`Frag::give`), and whose pages TCP holds references to for as
        // long as it uses them. CAST: `k` is at most `FRAGS_MAX`.
        let n = unsafe { ffi::rdsrs_tcp_send_frags(self.sock.as_ptr(), iov.as_ptr(), k as _) };
        // CAST: a byte count or a negative errno.
        Some((k, to_result(n.min(0) as c_int).map(|()| n as usize)))
    }

    /// Local address, peer address, ports and RTT of the connection.
    pub(crate) fn info(&self) -> TcpInfo {
        let (mut l, mut p, mut scope) = ([0u8; 16], [0u8; 16], 0u32);
        let mut i = ffi::rdsrs_tcp_info {
            lport: 0,
            pport: 0,
            srtt_us: 0,
            rttvar_us: 0,
        };
        // SAFETY: `self.sock` is live (type invariant); the buffers are
        // writable for the call.
        unsafe {
            ffi::rdsrs_tcp_names(
                self.sock.as_ptr(),
                l.as_mut_ptr(),
                p.as_mut_ptr(),
                &mut scope,
            );
            ffi::rdsrs_tcp_info(self.sock.as_ptr(), &mut i);
        }
        TcpInfo {
            laddr: Addr(l),
            faddr: Addr(p),
            lport: i.lport,
            pport: i.pport,
            srtt_us: i.srtt_us,
            rttvar_us: i.rttvar_us,
        }
    }

    /// `write_seq`: the TCP sequence of the next byte queued.
    pub(crate) fn write_seq(&self) -> u32 {
        // SAFETY: `self.sock` is live (type invariant).
        unsafe { ffi::rdsrs_tcp_write_seq(self.sock.as_ptr()) }
    }

    /// Corks or uncorks the connection (`TCP_CORK`): while corked, TCP sends
    /// only full segments; uncorking sends what is pending.
    pub(crate) fn cork(&self, on: bool) {
        // SAFETY: `self.sock` is live (type invariant).
        unsafe { ffi::rdsrs_tcp_cork(self.sock.as_ptr(), c_int::from(on)) };
    }

    /// `snd_una`: the first byte the peer has not acknowledged.
    pub(crate) fn snd_una(&self) -> u32 {
        // SAFETY: `self.sock` is live (type invariant).
        unsafe { ffi::rdsrs_tcp_snd_una(self.sock.as_ptr()) }
    }

    /// Reads what has arrived, giving each piece to `actor`, which returns the
    /// bytes it consumed or an error that stops the read. With `last`, the
    /// connection is then reset at once: TCP acknowledges nothing more, so
    /// the peer sends again whatever this read did not take.
    pub(crate) fn read<F>(&self, last: bool, mut actor: F) -> Result
    where
        F: FnMut(&Skb, usize, usize) -> Result<usize>,
    {
        let mut erased = ActorRef(&mut actor);
        // SAFETY: `self.sock` is live; `erased` outlives the call, the only user
        // of the pointer (`tcp_recv` runs inside it).
        to_result(unsafe {
            ffi::rdsrs_tcp_read(
                self.sock.as_ptr(),
                core::ptr::addr_of_mut!(erased).cast(),
                last.into(),
            )
        })
    }
}

impl Drop for TcpSock {
    fn drop(&mut self) {
        // SAFETY: Owned per the type invariant; unused after this.
        unsafe { ffi::rdsrs_tcp_close(self.sock.as_ptr()) };
    }
}

/// Addresses, ports and round-trip time of a TCP connection.
#[derive(Clone, Copy)]
pub(crate) struct TcpInfo {
    pub(crate) laddr: Addr,
    pub(crate) faddr: Addr,
    pub(crate) lport: u16,
    pub(crate) pport: u16,
    /// Smoothed RTT and its variation, microseconds (`tcpi_rtt`, `tcpi_rttvar`).
    pub(crate) srtt_us: u32,
    pub(crate) rttvar_us: u32,
}

/// A socket just accepted, without our callbacks yet.
///
/// # Invariants
///
/// `self.0` is an accepted socket owned by this object.
pub(crate) struct AcceptedSock(NonNull<ffi::socket>);

impl AcceptedSock {
    /// Local address, peer address and the local scope id.
    pub(crate) fn names(&self) -> Result<(Addr, Addr, u32)> {
        let (mut l, mut p, mut scope) = ([0u8; 16], [0u8; 16], 0u32);
        // SAFETY: `self.0` is live; the buffers are 16 writable bytes.
        to_result(unsafe {
            ffi::rdsrs_tcp_names(self.0.as_ptr(), l.as_mut_ptr(), p.as_mut_ptr(), &mut scope)
        })?;
        Ok((Addr(l), Addr(p), scope))
    }

    /// The peer's TCP port.
    pub(crate) fn peer_port(&self) -> Result<u16> {
        let mut i = ffi::rdsrs_tcp_info {
            lport: 0,
            pport: 0,
            srtt_us: 0,
            rttvar_us: 0,
        };
        // SAFETY: `self.0` is live; `i` is writable for the call.
        unsafe { ffi::rdsrs_tcp_info(self.0.as_ptr(), &mut i) };
        Ok(i.pport)
    }

    /// Installs the callbacks for `owner`, in the memory `slot` took before
    /// the connection was accepted, and tunes the buffers.
    pub(crate) fn attach(self, slot: TcpSlot, bufs: (i32, i32), owner: Arc<Conn>) -> Arc<TcpSock> {
        let sock = self.0;
        core::mem::forget(self);
        let (arc, cb) = slot.into_parts();
        let mut this = arc.write(TcpSock {
            sock,
            owner: TcpOwner::Conn(owner),
            gen: AtomicU64::new(0),
        });
        let owner_ptr: *mut TcpSock = &mut *this;
        // SAFETY: `sock` is live; `owner_ptr` is the stable address of the
        // allocation that owns it from now on; `cb` came from
        // `rdsrs_tcp_cb_new()` and is the socket's from now on
        // (`rdsrs_tcp_close()` frees it).
        unsafe {
            ffi::rdsrs_tcp_attach(sock.as_ptr(), owner_ptr.cast(), cb.as_ptr(), bufs.0, bufs.1)
        };
        this.into()
    }
}

/// Memory for the [`TcpSock`] of a connection and for its callbacks, taken
/// before it is accepted: TCP may already have acknowledged data on it, which
/// its sender takes as delivered, so an accepted connection must not be
/// closed for lack of memory.
///
/// # Invariants
///
/// `cb` came from `rdsrs_tcp_cb_new()` and is owned by this object.
pub(crate) struct TcpSlot {
    arc: UniqueArc<MaybeUninit<TcpSock>>,
    cb: NonNull<c_void>,
}

impl TcpSlot {
    pub(crate) fn new() -> Result<Self> {
        let arc = UniqueArc::new_uninit(GFP_KERNEL)?;
        // SAFETY: No requirements.
        let cb = NonNull::new(unsafe { ffi::rdsrs_tcp_cb_new() }).ok_or(ENOMEM)?;
        // INVARIANT: `cb` is what `rdsrs_tcp_cb_new()` returned.
        Ok(Self { arc, cb })
    }

    /// Both parts; the callback memory is the caller's to hand on.
    fn into_parts(self) -> (UniqueArc<MaybeUninit<TcpSock>>, NonNull<c_void>) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so `arc` is moved
        // out once.
        (unsafe { core::ptr::read(&this.arc) }, this.cb)
    }
}

impl Drop for TcpSlot {
    fn drop(&mut self) {
        // SAFETY: Owned per the type invariant, and unused.
        unsafe { ffi::rdsrs_tcp_cb_free(self.cb.as_ptr()) };
    }
}

impl Drop for AcceptedSock {
    fn drop(&mut self) {
        // SAFETY: Owned per the type invariant; no callbacks were installed.
        unsafe { ffi::rdsrs_tcp_close(self.0.as_ptr()) };
    }
}

/// An skb handed to a read actor.
pub(crate) struct Skb(NonNull<ffi::sk_buff>);

impl Skb {
    /// Copies `dst.len()` bytes at `off` into `dst`.
    pub(crate) fn copy(&self, off: usize, dst: &mut [u8]) -> Result {
        // SAFETY: The skb is live during the actor call that lent `self`; `dst`
        // is writable for its length. CAST: offsets within an skb fit u32.
        to_result(unsafe {
            ffi::rdsrs_skb_copy(
                self.0.as_ptr(),
                off as u32,
                dst.as_mut_ptr(),
                dst.len() as _,
            )
        })
    }

    /// Appends the `len` bytes at `off` to `dst`, which has room for them
    /// (its capacity): no zeroing first, as with [`Skb::copy`] into a
    /// zeroed buffer.
    pub(crate) fn append(&self, off: usize, len: usize, dst: &mut Bytes) -> Result {
        let spare = dst.spare_capacity_mut();
        if spare.len() < len {
            return Err(EINVAL);
        }
        // SAFETY: The skb is live during the actor call that lent `self`;
        // `spare` is writable for at least `len` bytes. CAST: offsets within
        // an skb fit u32.
        to_result(unsafe {
            ffi::rdsrs_skb_copy(
                self.0.as_ptr(),
                off as u32,
                spare.as_mut_ptr().cast(),
                len as _,
            )
        })?;
        // SAFETY: `rdsrs_skb_copy()` succeeded, so the `len` bytes after the
        // current length, within the capacity, are initialised.
        unsafe { dst.set_len(dst.len() + len) };
        Ok(())
    }
}

/// A received payload kept in the skbs it arrived in, sharing their memory
/// instead of copying it (upstream's `ti_skb_list`): recvmsg copies it to
/// the user straight from them.
///
/// # Invariants
///
/// `head` is null or the first of a chain of skbs linked by `next`, owned by
/// this and holding `len` bytes in all; `tail` is its last skb (null with
/// `head`).
pub(crate) struct SkbChain {
    head: *mut ffi::sk_buff,
    tail: *mut ffi::sk_buff,
    len: usize,
    /// The skbs in the chain.
    parts: usize,
}

// SAFETY: The skbs are owned by the chain, not tied to a context; through a
// shared reference they are only read (`skb_copy_datagram_msg()` copies from
// an skb without changing it).
unsafe impl Send for SkbChain {}
// SAFETY: See `Send`.
unsafe impl Sync for SkbChain {}

impl SkbChain {
    /// An empty chain.
    pub(crate) const fn new() -> Self {
        Self {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
            len: 0,
            parts: 0,
        }
    }

    /// The skbs in the chain: each holds an skb head at least, whatever
    /// its share of the payload.
    pub(crate) fn parts(&self) -> usize {
        self.parts
    }

    /// The bytes in the chain.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends the `len` bytes at `off` of `skb`, allocating atomically if
    /// `atomic` (`pskb_extract()`).
    pub(crate) fn add(&mut self, skb: &Skb, off: usize, len: usize, atomic: bool) -> Result {
        // SAFETY: The skb is live during the actor call that lent `skb`;
        // `head`/`tail` form a chain this owns (type invariant), which the
        // call extends. CAST: offsets within an skb fit u32.
        to_result(unsafe {
            ffi::rdsrs_skb_chain_add(
                &mut self.head,
                &mut self.tail,
                skb.0.as_ptr(),
                off as u32,
                len as u32,
                atomic,
            )
        })?;
        self.len += len;
        self.parts += 1;
        Ok(())
    }

    /// The bytes of the chain in a new buffer with room for `cap` bytes.
    pub(crate) fn to_flat(&self, cap: usize, flags: kernel::alloc::Flags) -> Result<Bytes> {
        let mut v = super::bytes_with_capacity(cap.max(self.len), flags)?;
        let spare = v.spare_capacity_mut();
        // SAFETY: The chain is owned and live (type invariant) and only read;
        // `spare` is writable for at least `self.len` bytes.
        to_result(unsafe {
            ffi::rdsrs_skb_chain_copy_bits(self.head, spare.as_mut_ptr().cast(), self.len as _)
        })?;
        // SAFETY: The copy succeeded: the first `self.len` bytes, within the
        // capacity, are initialised.
        unsafe { v.set_len(self.len) };
        Ok(v)
    }

    /// Copies the first `len` bytes (at most [`Self::len`]) to the user's
    /// buffers of `msg`.
    pub(crate) fn copy_to(&self, msg: &mut MsgHdr, len: usize) -> Result<usize> {
        let len = len.min(self.len);
        // SAFETY: The chain is owned and live (type invariant) and only read;
        // `msg` is the live msghdr of the running call.
        to_result(unsafe { ffi::rdsrs_skb_chain_copy_to(self.head, msg.0.as_ptr(), len as _) })?;
        Ok(len)
    }
}

impl Drop for SkbChain {
    fn drop(&mut self) {
        // SAFETY: Owned per the type invariant, and no longer used.
        unsafe { ffi::rdsrs_skb_chain_free(self.head) };
    }
}

/// A connection's data-ready callback under way: the socket is locked for
/// reading, by softirq (bh-locked, not owned by a task) or by the task whose
/// `release_sock()` runs the backlog. Only `tcp_event()` makes one.
pub(crate) struct DataReady<'a>(&'a TcpSock);

impl DataReady<'_> {
    /// The connection with data.
    pub(crate) fn sock(&self) -> &TcpSock {
        self.0
    }

    /// [`TcpSock::read`] without `last`, from the callback: in softirq
    /// context, the actor must not sleep.
    pub(crate) fn read<F>(&self, mut actor: F) -> Result
    where
        F: FnMut(&Skb, usize, usize) -> Result<usize>,
    {
        let mut erased = ActorRef(&mut actor);
        // SAFETY: `self.0.sock` is live and locked for reading (type
        // invariant); `erased` outlives the call, as in `TcpSock::read`.
        to_result(unsafe {
            ffi::rdsrs_tcp_read_ready(self.0.sock.as_ptr(), core::ptr::addr_of_mut!(erased).cast())
        })
    }
}

/// `rdsrs_ops.tcp_event`: a TCP socket event, in softirq context, or for
/// data from the backlog, in a task's `release_sock()`.
///
/// # Safety
///
/// `owner` is the address of a live `TcpSock` whose callbacks are installed;
/// the shim holds `sk_callback_lock` for reading, so it is not dropped meanwhile.
pub(super) unsafe extern "C" fn tcp_event(_ctx: *mut c_void, owner: *mut c_void, event: c_int) {
    let this = owner.cast::<TcpSock>();
    // SAFETY: Per the function's requirement. Only the `owner` and `gen`
    // fields are borrowed: `TcpSock::new_owned()` may still be storing `sock`.
    let (owner, gen) = unsafe {
        (
            &*core::ptr::addr_of!((*this).owner),
            &*core::ptr::addr_of!((*this).gen),
        )
    };
    if let (TcpOwner::Conn(c), true) = (owner, gen.load(Ordering::Acquire) != 0) {
        // SAFETY: A generation is set (with release ordering, read with
        // acquire) only on a `TcpSock` in an `Arc`, so `new_owned()` is done
        // with it; it is live per the function's requirement.
        let sock = unsafe { &*this };
        match event as u32 {
            ffi::rdsrs_tcp_event_RDSRS_TCP_READABLE => {
                super::stat_inc(Stat::TcpDataReadyCalls);
                // The data-ready callback runs with the socket locked for
                // reading, as `DataReady` requires.
                c.data_ready(&DataReady(sock));
                return;
            }
            ffi::rdsrs_tcp_event_RDSRS_TCP_WRITABLE => {
                super::stat_inc(Stat::TcpWriteSpaceCalls);
                c.write_space(sock);
                return;
            }
            _ => {}
        }
    }
    match event as u32 {
        ffi::rdsrs_tcp_event_RDSRS_TCP_READABLE => super::stat_inc(Stat::TcpDataReadyCalls),
        ffi::rdsrs_tcp_event_RDSRS_TCP_WRITABLE => super::stat_inc(Stat::TcpWriteSpaceCalls),
        _ => {}
    }
    // CAST: the events are small non-negative constants.
    owner.event(event as u32);
}

/// `rdsrs_ops.tcp_recv`: the tcp_read_sock() actor.
///
/// # Safety
///
/// `arg` is the `ActorRef` that `TcpSock::read` passed; `skb` is live.
pub(super) unsafe extern "C" fn tcp_recv(
    _ctx: *mut c_void,
    arg: *mut c_void,
    skb: *mut ffi::sk_buff,
    off: core::ffi::c_uint,
    len: core::ffi::c_ulong,
) -> core::ffi::c_long {
    // SAFETY: Per the function's requirement.
    let actor = unsafe { &mut *arg.cast::<ActorRef<'_>>() };
    let Some(skb) = NonNull::new(skb) else {
        return EINVAL.to_errno().into();
    };
    match (actor.0)(&Skb(skb), off as usize, len as usize) {
        // CAST: at most `len`, which came from a `size_t`.
        Ok(n) => n as core::ffi::c_long,
        Err(e) => e.to_errno().into(),
    }
}

/// A type-erased read actor.
pub(super) struct ActorRef<'a>(pub(super) &'a mut dyn FnMut(&Skb, usize, usize) -> Result<usize>);

/// The module's workqueue for transport work.
pub(crate) fn wq() -> &'static Queue {
    // SAFETY: The queue exists from `rdsrs_register()` to `rdsrs_unregister()`,
    // which outlive every user (module init and exit order). CAST: the shim's
    // opaque type is the kernel's `struct workqueue_struct`.
    unsafe { Queue::from_raw(ffi::rdsrs_wq().cast()) }
}

/// Waits for all transport work queued so far.
pub(crate) fn wq_flush() {
    // SAFETY: No preconditions beyond the queue existing (see `wq`).
    unsafe { ffi::rdsrs_wq_flush() };
}

/// Sleeps `ms` milliseconds.
pub(crate) fn msleep(ms: u32) {
    // SAFETY: No preconditions; called from process context (work items).
    unsafe { ffi::rdsrs_msleep(ms) };
}
