// SPDX-License-Identifier: GPL-2.0

//! Per-socket state and the socket calls that read it (net/rds/af_rds.c).

use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Guard};
use kernel::sync::{Arc, Mutex};

use crate::proto::addr::{self, Endpoint};
use crate::sys::errno;
use crate::{proto_err, NetState};

/// What `bind()` and (later) `connect()` set; guarded by `RdsSock::inner`.
pub(crate) struct SockInner {
    /// The bound address; `None` until `bind()` succeeds, and again after release.
    pub(crate) bound: Option<Endpoint>,
}

/// The RDS state of one socket (upstream's `struct rds_sock` minus the `struct sock`).
#[pin_data(PinnedDrop)]
pub(crate) struct RdsSock {
    /// The namespace the socket was created in.
    net: Arc<NetState>,
    /// Serializes bind, connect and release of this socket (upstream: `lock_sock`).
    #[pin]
    inner: Mutex<SockInner>,
}

impl RdsSock {
    /// State for a new, unbound socket in namespace `net`.
    pub(crate) fn new(net: Arc<NetState>) -> impl PinInit<Self> {
        pin_init!(Self {
            net,
            inner <- kernel::new_mutex!(SockInner { bound: None }, "RdsSock::inner"),
        })
    }

    /// Locks the socket's bind and connect state.
    pub(crate) fn lock(&self) -> Guard<'_, SockInner, MutexBackend> {
        self.inner.lock()
    }

    /// Unbinds the socket, returning the endpoint it was bound to, if any.
    pub(crate) fn take_bound(&self) -> Option<Endpoint> {
        self.inner.lock().bound.take()
    }

    /// getsockname/getpeername: port of `rds_getname()`; returns the length written.
    pub(crate) fn getname(&self, out: &mut [u8], peer: bool) -> Result<usize> {
        let inner = self.inner.lock();
        if peer {
            // Connected addresses arrive with connect() and the data path.
            return Err(errno::enotconn());
        }
        match &inner.bound {
            Some(ep) => addr::write_sockaddr(ep, out),
            None => addr::write_unbound_name(None, out),
        }
        .map_err(proto_err)
    }
}

#[pinned_drop]
impl PinnedDrop for RdsSock {
    fn drop(self: Pin<&mut Self>) {
        self.net.sock_gone();
    }
}
