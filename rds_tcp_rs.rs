// SPDX-License-Identifier: GPL-2.0

//! rds_rs: Reliable Datagram Sockets over TCP, in Rust.
//!
//! Registers `AF_RDS` so that applications written for the upstream `rds` and
//! `rds_tcp` modules run unmodified. This file owns module setup and teardown and
//! the state shared by every socket; see Documentation/ for the design.
//!
//! Files: `socket.rs` (per-socket state), `send.rs` and `recv.rs` (the data path),
//! `bind.rs` (bind table), `proto/` (wire formats,
//! no kernel types, host-tested), `sys/` (the only `unsafe`: the C shim and the
//! trampolines the kernel calls).

use core::sync::atomic::AtomicU32;

use kernel::prelude::*;
use kernel::rbtree::RBTreeNodeReservation;
use kernel::sync::Arc;
use kernel::types::ARef;

mod accept;
mod bind;
mod conn;
mod info;
mod netlink;
mod netns;
/// The protocol core; public so that its items are documented and not linted as
/// unreachable (the same files are a host library, see Cargo.toml).
pub mod proto;
mod recv;
mod send;
mod socket;
mod sockopt;
mod sys;
mod zcopy;

use bind::BindTable;
use netns::NetState;
use proto::addr::Endpoint;
use socket::{RdsSock, Transport};
use sys::sync::{new_spinlock_bh, SpinLockBh};
use sys::tcp::NetRef;
use sys::{RdsRef, Sock};

module! {
    type: RdsModule,
    name: "rds_rs",
    author: "rds-tcp-rs developers",
    description: "Reliable Datagram Sockets (RDS) over TCP, in Rust",
    license: "GPL",
}

/// State shared by all sockets and namespaces: what upstream keeps in globals.
///
/// Lock order: `RdsSock::inner`, then `binds`.
#[pin_data]
pub(crate) struct Rds {
    /// Bound sockets by (address, port, scope id), across all namespaces, as
    /// upstream's `bind_hash_table`: a port bound in one namespace is in use in all.
    #[pin]
    /// A softirq's lock too: TCP's data-ready callback looks sockets up.
    binds: SpinLockBh<BindTable>,
    /// Bumped on every congestion map update (`rds_cong_generation`):
    /// `RDS_CONG_MONITOR` sockets poll for it.
    pub(crate) cong_gen: AtomicU32,
}

impl Rds {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            binds <- new_spinlock_bh!(BindTable::new(), "rds_rs::binds"),
            cong_gen: AtomicU32::new(0),
        })
    }

    /// socket(2): port of `rds_create()` (net/rds/af_rds.c).
    pub(crate) fn sock_new(
        &self,
        net: Arc<NetState>,
        ty: i32,
        protocol: i32,
    ) -> Result<Pin<KBox<RdsSock>>> {
        if ty != sys::consts::SOCK_SEQPACKET || protocol != 0 {
            return Err(sys::errno::esocktnosupport());
        }
        let link = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let rs = KBox::pin_init(RdsSock::new(net.clone(), link), GFP_KERNEL)?;
        net.sock_added();
        Ok(rs)
    }

    /// Sets in `map` the bits of the congested ports of local address `addr`.
    pub(crate) fn fill_cong_map(&self, addr: &proto::addr::Addr, map: &mut [u8]) {
        self.binds.lock().fill_cong_map(addr, map);
    }

    /// How many ports of local address `addr` are congested.
    pub(crate) fn congested_ports(&self, addr: &proto::addr::Addr) -> u32 {
        self.binds.lock().congested_ports(addr)
    }

    /// The socket bound to `ep`, if any, with a reference for the caller.
    pub(crate) fn lookup(&self, ep: &Endpoint) -> Option<ARef<Sock>> {
        self.binds.lock().lookup(ep)
    }

    /// close(2): port of `rds_release()`: drops the socket from the bind table
    /// and its queued messages.
    pub(crate) fn release(&self, sk: &Sock) {
        let rs = sk.rds();
        // Its messages still queued on connections are dropped, as upstream.
        rs.set_closed();
        rs.net().drop_sender(sk);
        let (waiters, map_changed) = rs.recv.lock().purge();
        if waiters {
            // Senders may be waiting for this port to drain.
            rs.net().cong_map_updated(!0);
        }
        if map_changed {
            rs.cong_changed();
        }
        drop(rs.net().sock_unlink(sk));
        let bound = rs.take_bound();
        if let Some(ep) = bound {
            let removed: Option<ARef<Sock>> = self.binds.lock().remove(&ep);
            // Dropped outside the lock: it may be the last but one reference.
            drop(removed);
        }
    }

    /// bind(2): port of `rds_bind()` (net/rds/bind.c).
    pub(crate) fn bind(&self, sk: &Sock, raw: &[u8]) -> Result {
        let ep = proto::addr::parse_bind(raw).map_err(proto_err)?;
        let rs = sk.rds();
        let mut inner = rs.lock();
        if inner.bound.is_some() {
            return Err(EINVAL);
        }
        // Connected to a link-local peer first: the scope must agree.
        if let Some(c) = inner.conn {
            if ep.scope_id != 0 && c.scope_id != 0 && ep.scope_id != c.scope_id {
                return Err(EINVAL);
            }
        }
        let transport = match inner.transport {
            // Chosen with SO_RDS_TRANSPORT: the address must suit it.
            Some(t) => {
                sk.laddr_check(&ep.addr, ep.scope_id)
                    .map_err(|_| sys::errno::enoprotoopt())?;
                t
            }
            // Loopback goes through memory (upstream's loop transport) and
            // needs no local interface; anything else must be an address of
            // this namespace.
            None if ep.addr.is_loopback() => Transport::Loop,
            None => {
                sk.laddr_check(&ep.addr, ep.scope_id)?;
                Transport::Tcp
            }
        };
        let reservation = BindTable::reserve()?;
        // As upstream, a failed bind leaves the socket without a transport,
        // even one set with SO_RDS_TRANSPORT.
        let bound = match self.binds.lock().add(ep, reservation, sk.into()) {
            Ok(b) => b,
            Err(e) => {
                inner.transport = None;
                return Err(e);
            }
        };
        inner.bound = Some(bound);
        inner.transport = Some(transport);
        Ok(())
    }

    fn net_init(&self, net: NetRef, rds: RdsRef) -> Result<Arc<NetState>> {
        NetState::new(net, rds)
    }

    fn net_exit(&self, net: Arc<NetState>) {
        net.exit();
    }
}

/// Maps a protocol-core error to its errno.
pub(crate) fn proto_err(e: proto::ProtoError) -> Error {
    Error::from_errno(-e.errno())
}

/// The module: one registration of the `AF_RDS` family.
struct RdsModule {
    _family: sys::Registration,
}

impl kernel::Module for RdsModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let rds = KBox::pin_init(Rds::new(), GFP_KERNEL)?;
        let family = sys::Registration::new(rds)?;
        pr_info!("AF_RDS registered (RDS over TCP, Rust)\n");
        Ok(Self { _family: family })
    }
}

impl Drop for RdsModule {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
