// SPDX-License-Identifier: GPL-2.0

//! Per-socket state and the socket calls that only read or set it: connect,
//! getname, poll (net/rds/af_rds.c).

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use kernel::prelude::*;
use kernel::rbtree::RBTreeNodeReservation;
use kernel::sync::lock::{mutex::MutexBackend, Guard};
use kernel::sync::{Arc, Mutex};
use kernel::types::ARef;

use crate::netns::NetState;
use crate::proto::addr::{self, Endpoint};
use crate::proto::cong;
use crate::proto_err;
use crate::recv::RecvQueue;
use crate::sys::sync::{new_spinlock_bh, SpinLockBh};
use crate::sys::{self, consts, errno, Sock};
use crate::zcopy::ZcopyQueue;

/// The transport a socket is attached to (`rs_transport`): set by bind(), or
/// before it by `SO_RDS_TRANSPORT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `RDS_TRANS_TCP`: addresses of local interfaces.
    Tcp,
    /// Upstream's loop transport (`RDS_TRANS_LOOP`, 3): loopback addresses.
    Loop,
}

impl Transport {
    /// The `t_type` that `SO_RDS_TRANSPORT` reports.
    pub(crate) fn t_type(self) -> i32 {
        match self {
            Self::Tcp => 2,
            Self::Loop => 3,
        }
    }

    /// The `t_name` that `RDS_INFO_CONNECTIONS` reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Loop => "loopback",
        }
    }
}

/// What `bind()`, `connect()` and the options set; guarded by `RdsSock::inner`.
pub(crate) struct SockInner {
    /// The bound address; `None` until `bind()` succeeds, and again after release.
    pub(crate) bound: Option<Endpoint>,
    /// The default destination set by `connect()` (`rs_conn_addr`, `rs_conn_port`).
    pub(crate) conn: Option<Endpoint>,
    /// The transport, once bound or chosen with `SO_RDS_TRANSPORT`.
    pub(crate) transport: Option<Transport>,
    /// Type of service (`SIOCRDSSETTOS`); part of the connection key.
    pub(crate) tos: u8,
    /// The node that lists the socket in its namespace, allocated by
    /// socket(2) and used once its `struct sock` exists.
    link: Option<RBTreeNodeReservation<usize, ARef<Sock>>>,
}

/// A socket's congestion monitoring (`RDS_CONG_MONITOR`).
#[derive(Default)]
pub(crate) struct CongMonitor {
    /// The option is set.
    pub(crate) on: AtomicBool,
    /// Ports (`RDS_CONG_MONITOR_MASK()` bits) this socket found congested
    /// (`rs_cong_mask`), and those since updated, not yet reported
    /// (`rs_cong_notify`).
    mask: AtomicU64,
    notify: AtomicU64,
    /// The congestion generation the socket last polled (`rs_cong_track`).
    seen: AtomicU32,
    /// Sends refused with `ENOBUFS` (a congested port).
    pub(crate) enobufs: AtomicU64,
}

/// The RDS state of one socket (upstream's `struct rds_sock` minus the `struct sock`).
///
/// Lock order: `inner`, then `recv`.
#[pin_data(PinnedDrop)]
pub(crate) struct RdsSock {
    /// The namespace the socket was created in.
    net: Arc<NetState>,
    /// Serializes bind, connect and release of this socket (upstream: `lock_sock`).
    #[pin]
    inner: Mutex<SockInner>,
    /// Received messages waiting for recvmsg (upstream: `rs_recv_queue` under
    /// `rs_recv_lock`). A spinlock, softirq-safe: delivery from TCP's
    /// data-ready callback and wait conditions take it.
    #[pin]
    pub(crate) recv: SpinLockBh<RecvQueue>,
    /// Zero-copy completions to report (`rs_zcookie_queue`).
    #[pin]
    pub(crate) zcopy: SpinLockBh<ZcopyQueue>,
    /// Payload bytes queued on connections and not yet acknowledged by TCP
    /// (`rs_snd_bytes`).
    snd_bytes: AtomicUsize,
    /// A sender or poll() found no room in the send buffer
    /// ([`Self::snd_wanted`]): the next acknowledgement that leaves room
    /// wakes the socket.
    snd_waiters: AtomicBool,
    /// close(2) has run: queued messages are dropped, not sent.
    closed: AtomicBool,
    /// A message was sent (upstream: `rs_conn` is set): the tos is fixed.
    sent: AtomicBool,
    /// Random per socket: mixes the bound port into a path choice
    /// (`rs_hash_initval`).
    hash_init: u32,
    /// `RDS_RECVERR`.
    pub(crate) recverr: AtomicBool,
    /// Congestion monitoring (`RDS_CONG_MONITOR`).
    pub(crate) cong: CongMonitor,
    /// `SO_RDS_MSG_RXPATH_LATENCY`: the number of trace points in byte 0,
    /// the points (`enum rds_message_rxpath_latency`) in bytes 1 to 3.
    pub(crate) rx_traces: AtomicU32,
}

impl RdsSock {
    /// State for a new, unbound socket in namespace `net`.
    pub(crate) fn new(
        net: Arc<NetState>,
        link: RBTreeNodeReservation<usize, ARef<Sock>>,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            net,
            inner <- kernel::new_mutex!(
                SockInner {
                    bound: None,
                    conn: None,
                    transport: None,
                    tos: 0,
                    link: Some(link),
                },
                "RdsSock::inner"
            ),
            recv <- new_spinlock_bh!(RecvQueue::new(), "RdsSock::recv"),
            zcopy <- new_spinlock_bh!(ZcopyQueue::new(), "RdsSock::zcopy"),
            snd_bytes: AtomicUsize::new(0),
            snd_waiters: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            sent: AtomicBool::new(false),
            hash_init: u32::from(sys::random_u16()) << 16 | u32::from(sys::random_u16()),
            recverr: AtomicBool::new(false),
            cong: CongMonitor::default(),
            rx_traces: AtomicU32::new(0),
        })
    }

    /// The namespace the socket was created in.
    pub(crate) fn net(&self) -> &Arc<NetState> {
        &self.net
    }

    /// Lists `sk`, whose state this is, in its namespace.
    pub(crate) fn link(&self, sk: &Sock) {
        if let Some(node) = self.inner.lock().link.take() {
            self.net.sock_link(sk, node);
        }
    }

    /// The port's congestion map bit changed: peers connected to the bound
    /// address are sent the map (`rds_cong_queue_updates()`).
    pub(crate) fn cong_changed(&self) {
        let bound = self.inner.lock().bound;
        if let Some(b) = bound {
            self.net.local_cong_changed(&b.addr);
            let now = self.recv.lock().map_congested();
            crate::netlink::local_port_event(&self.net, &b, now);
        }
    }

    /// `RDS_CONG_MONITOR` on or off; off forgets what was pending.
    pub(crate) fn set_cong_monitor(&self, on: bool) {
        self.cong.on.store(on, Ordering::Relaxed);
        if !on {
            self.cong.mask.store(0, Ordering::Relaxed);
            self.cong.notify.store(0, Ordering::Relaxed);
        }
    }

    /// A send to `port` got `ENOBUFS`: a monitoring socket is told when the
    /// port's map is next updated.
    pub(crate) fn cong_enobufs(&self, port: u16) {
        if self.cong.on.load(Ordering::Relaxed) {
            self.cong
                .mask
                .fetch_or(cong::monitor_mask(port), Ordering::AcqRel);
        }
    }

    /// A congestion map was updated for the ports in `portmask`: returns
    /// whether the socket now has something to report (and must be woken).
    pub(crate) fn cong_notify(&self, portmask: u64) -> bool {
        if !self.cong.on.load(Ordering::Relaxed) {
            return false;
        }
        let hit = self.cong.mask.fetch_and(!portmask, Ordering::AcqRel) & portmask;
        self.cong.notify.fetch_or(hit, Ordering::AcqRel) | hit != 0
    }

    /// The ports to report in `RDS_CMSG_CONG_UPDATE`, now reported.
    pub(crate) fn take_cong_notify(&self) -> u64 {
        if self.cong.notify.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.cong.notify.swap(0, Ordering::AcqRel)
    }

    /// Whether a congestion update waits to be reported.
    pub(crate) fn cong_notify_pending(&self) -> bool {
        self.cong.notify.load(Ordering::Relaxed) != 0
    }

    /// The transport the socket is attached to, if any.
    pub(crate) fn transport(&self) -> Option<Transport> {
        self.inner.lock().transport
    }

    /// The hash that picks this socket's path (`RDS_MPATH_HASH()`): one
    /// bound port, one path, so that its messages stay in order.
    pub(crate) fn mpath_hash(&self, port: u16) -> u32 {
        (u32::from(port) ^ self.hash_init).wrapping_mul(0x9e37_79b1) >> 16
    }

    /// Records that the socket sent a message.
    pub(crate) fn set_sent(&self) {
        self.sent.store(true, Ordering::Relaxed);
    }

    /// Whether the socket has sent a message.
    pub(crate) fn has_sent(&self) -> bool {
        self.sent.load(Ordering::Relaxed)
    }

    /// Counts `len` bytes into the send buffer if it is below `limit`, as
    /// `rds_send_queue_rm()` does (a message may take it past the limit).
    pub(crate) fn snd_reserve(&self, len: usize, limit: usize) -> bool {
        self.snd_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                (b < limit).then_some(b + len)
            })
            .is_ok()
    }

    /// Bytes sent and not yet acknowledged or dropped (`rs_snd_bytes`).
    pub(crate) fn snd_bytes(&self) -> usize {
        self.snd_bytes.load(Ordering::Relaxed)
    }

    /// Ports this socket found congested and has not been told about yet
    /// (`RDS_CONG_MONITOR`'s `rs_cong_mask`).
    pub(crate) fn cong_mask(&self) -> u64 {
        self.cong.mask.load(Ordering::Relaxed)
    }

    /// Whether the send buffer has room below `limit` (see `snd_reserve`).
    pub(crate) fn snd_room(&self, limit: usize) -> bool {
        self.snd_bytes.load(Ordering::SeqCst) < limit
    }

    /// Someone found no room in the send buffer and may wait for it: a
    /// sender, or poll() without `EPOLLOUT`. Call before checking
    /// [`Self::snd_room`] again and waiting.
    pub(crate) fn snd_wanted(&self) {
        self.snd_waiters.store(true, Ordering::SeqCst);
    }

    /// Counts `len` bytes out of the send buffer: acknowledged or dropped.
    /// Returns whether a waiter for room is to be woken: there is room below
    /// `limit` and someone found none since the last such wake-up. (A
    /// waiter's check, after [`Self::snd_wanted`], sees this decrement or
    /// this sees its flag.)
    pub(crate) fn snd_done(&self, len: usize, limit: usize) -> bool {
        let before = self.snd_bytes.fetch_sub(len, Ordering::SeqCst);
        before - len < limit && self.snd_waiters.swap(false, Ordering::SeqCst)
    }

    /// Marks the socket closed.
    pub(crate) fn set_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether close(2) has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Locks the socket's bind and connect state.
    pub(crate) fn lock(&self) -> Guard<'_, SockInner, MutexBackend> {
        self.inner.lock()
    }

    /// Unbinds the socket, returning the endpoint it was bound to, if any.
    pub(crate) fn take_bound(&self) -> Option<Endpoint> {
        self.inner.lock().bound.take()
    }

    /// The scope id of the bound address (0 when none), which recvmsg reports
    /// with IPv6 source addresses, as upstream does.
    pub(crate) fn bound_scope(&self) -> u32 {
        self.inner.lock().bound.map_or(0, |b| b.scope_id)
    }

    /// connect(2): port of `rds_connect()`; only records the default destination.
    pub(crate) fn connect(&self, raw: &[u8]) -> Result {
        let ep = addr::parse_connect(raw).map_err(proto_err)?;
        let mut inner = self.inner.lock();
        if ep.scope_id != 0 {
            // A link-local peer must be on the link the socket is bound to.
            if let Some(b) = inner.bound {
                if b.scope_id != 0 && b.scope_id != ep.scope_id {
                    return Err(EINVAL);
                }
            }
        }
        inner.conn = Some(ep);
        Ok(())
    }

    /// The source and destination of a sendmsg, after `rds_sendmsg()`'s checks:
    /// `dest` is the message's `msg_name`, if any, else the connected address.
    pub(crate) fn route(&self, dest: Option<Endpoint>) -> Result<(Endpoint, Endpoint)> {
        let inner = self.inner.lock();
        let named = dest.is_some();
        let (Some(src), Some(mut dst)) = (inner.bound, dest.or(inner.conn)) else {
            return Err(errno::enotconn());
        };
        if named {
            if src.addr.as_v4().is_some() != dst.addr.as_v4().is_some() {
                return Err(errno::eopnotsupp());
            }
            if dst.scope_id != src.scope_id {
                if dst.scope_id == 0 {
                    dst.scope_id = src.scope_id;
                } else if src.scope_id != 0 {
                    return Err(EINVAL);
                }
            }
        }
        Ok((src, dst))
    }

    /// getsockname/getpeername: port of `rds_getname()`; returns the length written.
    pub(crate) fn getname(&self, out: &mut [u8], peer: bool) -> Result<usize> {
        let inner = self.inner.lock();
        if peer {
            let conn = inner.conn.ok_or_else(errno::enotconn)?;
            // The peer's scope is reported as the bound one.
            let scope_id = inner.bound.map_or(conn.scope_id, |b| b.scope_id);
            return addr::write_sockaddr(&Endpoint { scope_id, ..conn }, out).map_err(proto_err);
        }
        match &inner.bound {
            Some(ep) => addr::write_sockaddr(ep, out),
            None => addr::write_unbound_name(inner.conn.as_ref().map(|c| &c.addr), out),
        }
        .map_err(proto_err)
    }

    /// poll(2): port of `rds_poll()`.
    pub(crate) fn poll(&self, sndbuf: usize) -> u32 {
        let mut mask = 0;
        if self.cong.on.load(Ordering::Relaxed) {
            // A map update shows as readable "for historical reasons", and as
            // EPOLLWRBAND.
            let gen = self.net.rds().cong_gen.load(Ordering::Acquire);
            if self.cong.seen.swap(gen, Ordering::AcqRel) != gen {
                mask |= consts::EPOLLIN | consts::EPOLLRDNORM | consts::EPOLLWRBAND;
            }
        }
        if self.cong_notify_pending() {
            mask |= consts::EPOLLIN | consts::EPOLLRDNORM;
        }
        if self.snd_room(sndbuf / 2) {
            mask |= consts::EPOLLOUT | consts::EPOLLWRNORM;
        } else {
            self.snd_wanted();
            if self.snd_room(sndbuf / 2) {
                mask |= consts::EPOLLOUT | consts::EPOLLWRNORM;
            }
        }
        if !self.recv.lock().is_empty() || !self.zcopy.lock().is_empty() {
            mask |= consts::EPOLLIN | consts::EPOLLRDNORM;
        }
        mask
    }
}

#[pinned_drop]
impl PinnedDrop for RdsSock {
    fn drop(self: Pin<&mut Self>) {
        self.net.sock_gone();
    }
}
