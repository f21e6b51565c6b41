// SPDX-License-Identifier: GPL-2.0

//! Receiving: the per-socket receive queue, delivery into it, and recvmsg
//! (net/rds/recv.c).

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::alloc::Flags;
use kernel::list::{List, ListArc, ListLinks};
use kernel::prelude::*;
use kernel::sync::{Arc, UniqueArc};

use crate::proto::addr::{self, Endpoint};
use crate::proto::header::Header;
use crate::proto::info;
use crate::proto::stats::Stat;
use crate::sys::tcp::SkbChain;
use crate::sys::{self, consts, Bytes, MsgHdr, Sock};

/// A message received for a socket (upstream's `struct rds_incoming`).
#[pin_data]
pub(crate) struct Incoming {
    #[pin]
    links: ListLinks,
    /// The header as sent (ports, sequence, flags).
    pub(crate) hdr: Header,
    /// The sending socket's address (`i_saddr` with `h_sport`).
    pub(crate) src: Endpoint,
    /// The payload, `hdr.len` bytes.
    pub(crate) data: Payload,
    /// Wall-clock time of delivery, when the socket asked for timestamps
    /// (`i_rx_tstamp`); 0 otherwise.
    rx_tstamp: AtomicU64,
    /// `local_clock()` at the receive path's trace points (`i_rx_lat_trace`):
    /// header complete, delivery started, queued on the socket.
    lat: [AtomicU64; 3],
}

/// A received message's payload.
pub(crate) enum Payload {
    /// In memory of ours: a local message, one the receive path reads
    /// itself (a congestion map, a ping), data from TCP under 16 KiB, or
    /// data whose skbs would hold too much memory (see `Conn::consume()`).
    Flat(Bytes),
    /// In the skbs it arrived in: data for a socket from TCP, 16 KiB or
    /// more.
    Skbs(SkbChain),
}

impl Payload {
    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Flat(v) => v.len(),
            Payload::Skbs(c) => c.len(),
        }
    }

    /// Copies the first `len` bytes (at most all) to the user's buffers of
    /// `msg`; returns the bytes copied.
    fn copy_to(&self, msg: &mut MsgHdr, len: usize) -> Result<usize> {
        match self {
            Payload::Flat(v) => msg.copy_to(&v[..len.min(v.len())]),
            Payload::Skbs(c) => c.copy_to(msg, len),
        }
    }
}

/// Trace points of `Incoming::lat`, numbered as upstream's
/// `enum rds_message_rxpath_latency` (`RDS_MSG_RX_HDR`, `_START`, `_END`);
/// `RDS_MSG_RX_CMSG` (3) is the time of recvmsg.
const LAT_HDR: usize = 0;
const LAT_START: usize = 1;
const LAT_END: usize = 2;
/// `RDS_CMSG_CONG_UPDATE`.
const CMSG_CONG_UPDATE: i32 = 5;
/// `RDS_CMSG_RXPATH_LATENCY`.
const CMSG_RXPATH_LATENCY: i32 = 11;

kernel::list::impl_has_list_links! {
    impl HasListLinks<0> for Incoming { self.links }
}
kernel::list::impl_list_arc_safe! {
    impl ListArcSafe<0> for Incoming { untracked; }
}
kernel::list::impl_list_item! {
    impl ListItem<0> for Incoming { using ListLinks; }
}

impl Incoming {
    /// Records when the header was complete and when delivery started.
    pub(crate) fn set_trace(&self, hdr_at: u64, start_at: u64) {
        self.lat[LAT_HDR].store(hdr_at, Ordering::Relaxed);
        self.lat[LAT_START].store(start_at, Ordering::Relaxed);
    }

    /// `struct rds_cmsg_rx_trace` for the trace points a socket chose
    /// (`traces`, as `RdsSock::rx_traces` keeps them): the time between each
    /// point and the next, the last point being now.
    fn rx_trace_cmsg(&self, traces: u32) -> [u8; 32] {
        let [n, p @ ..] = traces.to_le_bytes();
        let mut t = [0u64; 4];
        for (i, l) in self.lat.iter().enumerate() {
            t[i] = l.load(Ordering::Relaxed);
        }
        t[3] = sys::local_clock();
        let mut out = [0u8; 32];
        out[0] = n;
        for i in 0..usize::from(n).min(3) {
            let j = usize::from(p[i]).min(2);
            out[1 + i] = p[i];
            out[8 + 8 * i..16 + 8 * i].copy_from_slice(&t[j + 1].wrapping_sub(t[j]).to_ne_bytes());
        }
        out
    }

    /// A message from `src` with header `hdr` and payload `data`.
    pub(crate) fn new(hdr: Header, src: Endpoint, data: Bytes) -> Result<ListArc<Self>> {
        Ok(Self::fill(
            Self::reserve(GFP_KERNEL)?,
            hdr,
            src,
            Payload::Flat(data),
        ))
    }

    /// Memory for one message, taken before its bytes are consumed from TCP:
    /// a message whose bytes were read is then always delivered.
    pub(crate) fn reserve(flags: Flags) -> Result<UniqueArc<MaybeUninit<Self>>> {
        Ok(UniqueArc::new_uninit(flags)?)
    }

    /// The message in memory that [`Incoming::reserve`] took.
    pub(crate) fn fill(
        slot: UniqueArc<MaybeUninit<Self>>,
        hdr: Header,
        src: Endpoint,
        data: Payload,
    ) -> ListArc<Self> {
        let init = pin_init!(Self {
            links <- ListLinks::new(),
            hdr,
            src,
            data,
            rx_tstamp: AtomicU64::new(0),
            lat: [const { AtomicU64::new(0) }; 3],
        });
        match slot.pin_init_with(init) {
            Ok(inc) => ListArc::from(inc),
            Err(never) => match never {},
        }
    }
}

/// A socket's queue of received messages (`rs_recv_queue`) and the bytes in it
/// (`rs_rcv_bytes`), which decide congestion of the socket's port.
pub(crate) struct RecvQueue {
    list: List<Incoming>,
    bytes: usize,
    /// Set when a sender found the port congested; the next drain below the
    /// limit wakes the congestion waiters.
    congested: bool,
    /// The port's bit in the congestion map sent to peers: set while more
    /// than the limit is queued (`rs_congested`).
    map_bit: bool,
}

impl RecvQueue {
    pub(crate) fn new() -> Self {
        Self {
            list: List::new(),
            bytes: 0,
            congested: false,
            map_bit: false,
        }
    }

    /// Whether the port's bit is set in the congestion map sent to peers.
    pub(crate) fn map_congested(&self) -> bool {
        self.map_bit
    }

    /// Updates the map bit after the queue changed (`rds_recv_rcvbuf_delta()`):
    /// returns whether it changed, so that peers must be sent the map.
    fn update_map_bit(&mut self, limit: usize) -> bool {
        let now = self.bytes > limit;
        core::mem::replace(&mut self.map_bit, now) != now
    }

    /// Whether the queue holds more than `limit` bytes: the port is congested,
    /// and senders to it get `ENOBUFS` or wait (upstream's congestion map bit).
    pub(crate) fn over(&mut self, limit: usize) -> bool {
        let over = self.bytes > limit;
        self.congested |= over;
        over
    }

    /// Appends what `RDS_INFO_RECV_MESSAGES` reports of the queued messages
    /// of a socket bound to `bound` to `out`, up to its capacity; returns how
    /// many are queued.
    pub(crate) fn info(&self, bound: &Endpoint, out: &mut KVec<info::MessageInfo>) -> usize {
        let mut n = 0;
        for inc in self.list.iter() {
            n += 1;
            if out.len() < out.capacity() {
                let mi = info::MessageInfo {
                    seq: inc.hdr.sequence,
                    len: inc.hdr.len,
                    laddr: bound.addr,
                    faddr: inc.src.addr,
                    lport: inc.hdr.dport,
                    fport: inc.hdr.sport,
                    flags: 0,
                    tos: 0,
                };
                // Within capacity: no allocation.
                let _ = out.push(mi, GFP_ATOMIC);
            }
        }
        n
    }

    /// Bytes and messages queued.
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.bytes, self.list.iter().count())
    }

    /// Whether anything is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Queues `inc`; returns whether the port's map bit changed.
    fn push(&mut self, inc: ListArc<Incoming>, limit: usize) -> bool {
        self.bytes += inc.data.len();
        self.list.push_back(inc);
        self.update_map_bit(limit)
    }

    /// [`Self::push`] unless it would change the map bit: then `inc` comes
    /// back.
    fn push_same_map(
        &mut self,
        inc: ListArc<Incoming>,
        limit: usize,
    ) -> Result<(), ListArc<Incoming>> {
        if (self.bytes + inc.data.len() > limit) != self.map_bit {
            return Err(inc);
        }
        // The bit stays as it is, as just checked.
        self.push(inc, limit);
        Ok(())
    }

    /// Removes the head if it is `inc`; returns whether it did, whether the
    /// port stopped being congested for local senders (below half the limit,
    /// so that the state does not flap), and whether its map bit changed.
    fn remove_if_head(&mut self, inc: &Arc<Incoming>, limit: usize) -> (bool, bool, bool) {
        let Some(cursor) = self.list.cursor_front() else {
            return (false, false, false);
        };
        if !core::ptr::eq(&*cursor.current(), &**inc) {
            return (false, false, false);
        }
        let removed = cursor.remove();
        self.bytes -= removed.data.len();
        let uncongested = self.congested && self.bytes < limit / 2;
        if uncongested {
            self.congested = false;
        }
        (true, uncongested, self.update_map_bit(limit))
    }

    fn head(&mut self) -> Option<Arc<Incoming>> {
        self.list.cursor_front().map(|c| c.current().into())
    }

    /// Drops everything queued (socket release); returns whether local
    /// senders were waiting, and whether the map bit changed.
    pub(crate) fn purge(&mut self) -> (bool, bool) {
        while self.list.pop_front().is_some() {}
        self.bytes = 0;
        (
            core::mem::take(&mut self.congested),
            core::mem::take(&mut self.map_bit),
        )
    }
}

/// Reports the oldest zero-copy completions with an
/// `RDS_CMSG_ZCOPY_COMPLETION`, if the caller gave room (`rds_recvmsg_zcookie()`).
fn put_zcookies(sk: &Sock, msg: &mut MsgHdr) -> Result<bool> {
    // Only with SO_ZEROCOPY set, as upstream; this spares a lock per read.
    if !sk.zerocopy() {
        return Ok(false);
    }
    let Some(node) = sk.rds().zcopy.lock().pop() else {
        return Ok(false);
    };
    match msg.put_zcookies(sk, &node.encode()) {
        Ok(true) => Ok(true),
        other => {
            sk.rds().zcopy.lock().unpop(node);
            other.map(|_| false)
        }
    }
}

/// Queues `inc` on `sk` and wakes its readers (`rds_recv_incoming()`'s delivery).
pub(crate) fn deliver(sk: &Sock, inc: ListArc<Incoming>) {
    let len = inc.data.len();
    stamp(sk, &inc);
    let limit = sk.rcvbuf() / 2;
    let map_changed = sk.rds().recv.lock().push(inc, limit);
    if map_changed {
        sk.rds().cong_changed();
    }
    delivered(sk, len);
}

/// [`deliver`] from TCP's data-ready callback, which may run in softirq
/// context: the same, except that a message that would change the port's
/// congestion map bit (an update to send, which needs a task) comes back
/// for [`deliver`] in the receive work.
pub(crate) fn deliver_ready(sk: &Sock, inc: ListArc<Incoming>) -> Result<(), ListArc<Incoming>> {
    let len = inc.data.len();
    stamp(sk, &inc);
    let limit = sk.rcvbuf() / 2;
    sk.rds().recv.lock().push_same_map(inc, limit)?;
    delivered(sk, len);
    Ok(())
}

/// Records the arrival time of `inc` at `sk`: its receive timestamp if
/// asked for, and the end of its receive-path latency trace.
fn stamp(sk: &Sock, inc: &Incoming) {
    if sk.wants_tstamp() {
        inc.rx_tstamp.store(sys::real_ns(), Ordering::Relaxed);
    }
    inc.lat[LAT_END].store(sys::local_clock(), Ordering::Relaxed);
}

/// Counts a message of `len` bytes queued on `sk` and wakes its readers.
fn delivered(sk: &Sock, len: usize) {
    sys::stat_inc(Stat::RecvDelivered);
    sys::stat_inc(Stat::RecvQueued);
    // CAST: at most 1 MiB.
    sys::stat_add(Stat::RecvBytesAddedToSock, len as u64);
    sk.wake();
}

/// recvmsg(2): port of `rds_recvmsg()`.
pub(crate) fn recvmsg(
    sk: &Sock,
    msg: &mut MsgHdr,
    size: usize,
    flags: i32,
    mut timeo: i64,
) -> Result<usize> {
    if flags & consts::MSG_OOB != 0 {
        return Ok(0);
    }
    let rs = sk.rds();
    loop {
        // A congestion update for an RDS_CONG_MONITOR socket comes first,
        // as an empty message with its control message (`rds_notify_cong()`).
        let notify = rs.take_cong_notify();
        if notify != 0 {
            msg.put_cmsg(CMSG_CONG_UPDATE, &notify.to_ne_bytes())?;
            return Ok(0);
        }
        let Some(inc) = rs.recv.lock().head() else {
            if flags & consts::MSG_DONTWAIT != 0 {
                // Nothing to read: completions are news enough.
                return if put_zcookies(sk, msg)? {
                    Ok(0)
                } else {
                    Err(EAGAIN)
                };
            }
            timeo = sk.wait(timeo, || {
                !rs.recv.lock().is_empty() || rs.cong_notify_pending()
            })?;
            continue;
        };
        // Copy outside the lock (it may fault); then take the message off the
        // queue unless someone else did first, as rds_still_queued() does.
        let copied = inc.data.copy_to(msg, size)?;
        if flags & consts::MSG_PEEK == 0 {
            let (still, uncongested, map_changed) =
                rs.recv.lock().remove_if_head(&inc, sk.rcvbuf() / 2);
            if uncongested {
                // Local senders wait on the map of this host, as upstream's
                // loop transport.
                rs.net().cong_map_updated(!0);
            }
            if map_changed {
                rs.cong_changed();
            }
            if !still {
                // Raced with another reader, who returns this message.
                msg.revert(copied);
                continue;
            }
        }
        let mut ret = copied;
        if copied < inc.data.len() {
            if flags & consts::MSG_TRUNC != 0 {
                ret = inc.data.len();
            }
            msg.add_flags(consts::MSG_TRUNC);
        }
        let src = Endpoint {
            scope_id: rs.bound_scope(),
            ..inc.src
        };
        let mut name = [0u8; addr::SOCKADDR_IN6_LEN];
        if let Ok(len) = addr::write_sockaddr(&src, &mut name) {
            msg.set_name(&name[..len]);
        }
        // Control messages, as `rds_cmsg_recv()`; a failure is EFAULT there.
        let ts = inc.rx_tstamp.load(Ordering::Relaxed);
        if ts != 0 && sk.wants_tstamp() {
            msg.put_tstamp(sk, ts).map_err(|_| EFAULT)?;
        }
        let traces = rs.rx_traces.load(Ordering::Relaxed);
        if traces & 0xff != 0 {
            msg.put_cmsg(CMSG_RXPATH_LATENCY, &inc.rx_trace_cmsg(traces))
                .map_err(|_| EFAULT)?;
        }
        put_zcookies(sk, msg)?;
        if flags & consts::MSG_PEEK == 0 {
            // CAST: at most 1 MiB.
            sys::stat_add(Stat::RecvBytesFreedFromsock, inc.data.len() as u64);
        }
        sys::stat_add(Stat::CopyToUser, copied as u64);
        return Ok(ret);
    }
}
