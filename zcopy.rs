// SPDX-License-Identifier: GPL-2.0

//! Zero-copy send completions (`rds_rm_zerocopy_callback()`, net/rds/message.c).
//!
//! rds_rs copies every payload, but a `MSG_ZEROCOPY` send carrying an
//! `RDS_CMSG_ZCOPY_COOKIE` on an `SO_ZEROCOPY` socket still reports its cookie
//! once the message is acknowledged or dropped, batched as upstream batches
//! them, so that applications written for zero copy run unchanged.

use core::sync::atomic::{AtomicU32, Ordering};

use kernel::list::{List, ListArc, ListLinks};
use kernel::prelude::*;

/// `RDS_MAX_ZCOOKIES`: cookies in one `struct rds_zcopy_cookies`.
const MAX_ZCOOKIES: usize = 8;
/// `sizeof(struct rds_zcopy_cookies)`.
pub(crate) const ZCOOKIES_LEN: usize = 4 + 4 * MAX_ZCOOKIES;

/// One `struct rds_zcopy_cookies` in a socket's completion queue; allocated
/// with the message whose completion it may carry, so that completing never
/// allocates.
#[pin_data]
pub(crate) struct ZInfo {
    #[pin]
    links: ListLinks,
    num: AtomicU32,
    cookies: [AtomicU32; MAX_ZCOOKIES],
}

kernel::list::impl_has_list_links! {
    impl HasListLinks<0> for ZInfo { self.links }
}
kernel::list::impl_list_arc_safe! {
    impl ListArcSafe<0> for ZInfo { untracked; }
}
kernel::list::impl_list_item! {
    impl ListItem<0> for ZInfo { using ListLinks; }
}

impl ZInfo {
    /// An empty entry.
    pub(crate) fn new() -> Result<ListArc<Self>> {
        ListArc::pin_init(
            try_pin_init!(Self {
                links <- ListLinks::new(),
                num: AtomicU32::new(0),
                cookies: [const { AtomicU32::new(0) }; MAX_ZCOOKIES],
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Adds `cookie` if there is room (`rds_zcookie_add()`).
    fn add(&self, cookie: u32) -> bool {
        let n = self.num.load(Ordering::Relaxed) as usize;
        if n >= MAX_ZCOOKIES {
            return false;
        }
        self.cookies[n].store(cookie, Ordering::Relaxed);
        self.num.store(n as u32 + 1, Ordering::Relaxed);
        true
    }

    /// The entry as `struct rds_zcopy_cookies`.
    pub(crate) fn encode(&self) -> [u8; ZCOOKIES_LEN] {
        let mut out = [0u8; ZCOOKIES_LEN];
        out[..4].copy_from_slice(&self.num.load(Ordering::Relaxed).to_ne_bytes());
        for (i, c) in self.cookies.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&c.load(Ordering::Relaxed).to_ne_bytes());
        }
        out
    }
}

/// A socket's completed cookies, not yet reported (`rs_zcookie_queue`).
pub(crate) struct ZcopyQueue {
    list: List<ZInfo>,
}

impl ZcopyQueue {
    pub(crate) fn new() -> Self {
        Self { list: List::new() }
    }

    /// Records the completion of `cookie`: into the first entry while it has
    /// room, else into `node`, queued last, as upstream does.
    pub(crate) fn complete(&mut self, cookie: u32, node: ListArc<ZInfo>) {
        if let Some(first) = self.list.cursor_front() {
            if first.current().add(cookie) {
                return;
            }
        }
        node.num.store(0, Ordering::Relaxed);
        node.add(cookie);
        self.list.push_back(node);
    }

    /// The oldest entry, taken off the queue.
    pub(crate) fn pop(&mut self) -> Option<ListArc<ZInfo>> {
        self.list.pop_front()
    }

    /// Puts back an entry that could not be reported.
    pub(crate) fn unpop(&mut self, node: ListArc<ZInfo>) {
        self.list.push_front(node);
    }

    /// Whether completions wait to be reported.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
