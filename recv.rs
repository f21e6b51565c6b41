// SPDX-License-Identifier: GPL-2.0

//! Receiving: the per-socket receive queue, delivery into it, and recvmsg
//! (net/rds/recv.c).

use kernel::list::{List, ListArc, ListLinks};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::proto::addr::{self, Endpoint};
use crate::proto::header::Header;
use crate::sys::{self, consts, MsgHdr, Sock};

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
    pub(crate) data: KVVec<u8>,
}

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
    /// A message from `src` with header `hdr` and payload `data`.
    pub(crate) fn new(hdr: Header, src: Endpoint, data: KVVec<u8>) -> Result<ListArc<Self>> {
        ListArc::pin_init(
            try_pin_init!(Self { links <- ListLinks::new(), hdr, src, data }? Error),
            GFP_KERNEL,
        )
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
}

impl RecvQueue {
    pub(crate) fn new() -> Self {
        Self {
            list: List::new(),
            bytes: 0,
            congested: false,
        }
    }

    /// Whether the queue holds more than `limit` bytes: the port is congested,
    /// and senders to it get `ENOBUFS` or wait (upstream's congestion map bit).
    pub(crate) fn over(&mut self, limit: usize) -> bool {
        let over = self.bytes > limit;
        self.congested |= over;
        over
    }

    /// Whether anything is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn push(&mut self, inc: ListArc<Incoming>) {
        self.bytes += inc.data.len();
        self.list.push_back(inc);
    }

    /// Removes the head if it is `inc`; returns whether it did, and whether the
    /// port stopped being congested: below half the limit, so that the state
    /// does not flap (`rds_recv_rcvbuf_delta()`).
    fn remove_if_head(&mut self, inc: &Arc<Incoming>, limit: usize) -> (bool, bool) {
        let Some(cursor) = self.list.cursor_front() else {
            return (false, false);
        };
        if !core::ptr::eq(&*cursor.current(), &**inc) {
            return (false, false);
        }
        let removed = cursor.remove();
        self.bytes -= removed.data.len();
        let uncongested = self.congested && self.bytes < limit / 2;
        if uncongested {
            self.congested = false;
        }
        (true, uncongested)
    }

    fn head(&mut self) -> Option<Arc<Incoming>> {
        self.list.cursor_front().map(|c| c.current().into())
    }

    /// Drops everything queued (socket release).
    pub(crate) fn purge(&mut self) -> bool {
        while self.list.pop_front().is_some() {}
        self.bytes = 0;
        core::mem::take(&mut self.congested)
    }
}

/// Queues `inc` on `sk` and wakes its readers (`rds_recv_incoming()`'s delivery).
pub(crate) fn deliver(sk: &Sock, inc: ListArc<Incoming>) {
    sk.rds().recv.lock().push(inc);
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
        let Some(inc) = rs.recv.lock().head() else {
            if flags & consts::MSG_DONTWAIT != 0 {
                return Err(EAGAIN);
            }
            timeo = sk.wait(timeo, || !rs.recv.lock().is_empty())?;
            continue;
        };
        // Copy outside the lock (it may fault); then take the message off the
        // queue unless someone else did first, as rds_still_queued() does.
        let n = inc.data.len().min(size);
        let copied = msg.copy_to(&inc.data[..n])?;
        if flags & consts::MSG_PEEK == 0 {
            let (still, uncongested) = rs.recv.lock().remove_if_head(&inc, sk.rcvbuf() / 2);
            if uncongested {
                sys::cong_wake();
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
        return Ok(ret);
    }
}
