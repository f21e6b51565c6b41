// SPDX-License-Identifier: GPL-2.0

//! The bind table: (address, port, scope id) to socket (net/rds/bind.c).

use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};
use kernel::types::ARef;

use crate::proto::addr::{Addr, Endpoint};
use crate::proto::cong;
use crate::proto::header::PROBE_PORT;
use crate::sys::{self, errno, Sock};

/// Bound sockets, each holding a reference on its `struct sock` while bound, as
/// upstream's `rds_add_bound()` takes one with `rds_sock_addref()`.
pub(crate) struct BindTable {
    tree: RBTree<Endpoint, ARef<Sock>>,
}

/// A node allocated before taking the table's spinlock.
pub(crate) type Reservation = RBTreeNodeReservation<Endpoint, ARef<Sock>>;

impl BindTable {
    pub(crate) fn new() -> Self {
        Self {
            tree: RBTree::new(),
        }
    }

    /// Allocates what one `add` needs; call it before locking the table.
    pub(crate) fn reserve() -> Result<Reservation> {
        RBTreeNodeReservation::new(GFP_KERNEL)
    }

    /// Binds `sk` to `ep`; port 0 picks a free port from a random start, skipping
    /// 0 and the probe port, as `rds_add_bound()` does. Returns the endpoint bound.
    pub(crate) fn add(
        &mut self,
        ep: Endpoint,
        node: Reservation,
        sk: ARef<Sock>,
    ) -> Result<Endpoint> {
        let key = if ep.port != 0 {
            if ep.port == PROBE_PORT {
                return Err(EINVAL);
            }
            if self.tree.get(&ep).is_some() {
                return Err(errno::eaddrinuse());
            }
            ep
        } else {
            self.free_port(ep).ok_or_else(errno::eaddrinuse)?
        };
        self.tree.insert(node.into_node(key, sk));
        Ok(key)
    }

    /// The first free port at or after a random one, wrapping once round.
    fn free_port(&self, ep: Endpoint) -> Option<Endpoint> {
        let start = sys::random_u16().max(2);
        let mut port = start;
        loop {
            if port != 0 && port != PROBE_PORT {
                let cand = Endpoint { port, ..ep };
                if self.tree.get(&cand).is_none() {
                    return Some(cand);
                }
            }
            port = port.wrapping_add(1);
            if port == start {
                return None;
            }
        }
    }

    /// The socket bound to `ep`, with a new reference.
    pub(crate) fn lookup(&self, ep: &Endpoint) -> Option<ARef<Sock>> {
        self.tree.get(ep).cloned()
    }

    /// Sets in `map` the bit of every port of `addr` whose socket is
    /// congested (`rds_cong_set_bit()` state, read back).
    pub(crate) fn fill_cong_map(&self, addr: &Addr, map: &mut [u8]) {
        for (ep, sk) in self.tree.iter() {
            if ep.addr == *addr && sk.rds().recv.lock().map_congested() {
                cong::set(map, ep.port, true);
            }
        }
    }

    /// How many ports of `addr` are congested.
    pub(crate) fn congested_ports(&self, addr: &Addr) -> u32 {
        let mut n = 0;
        for (ep, sk) in self.tree.iter() {
            if ep.addr == *addr && sk.rds().recv.lock().map_congested() {
                n += 1;
            }
        }
        n
    }

    /// Unbinds `ep`, returning the reference the table held.
    pub(crate) fn remove(&mut self, ep: &Endpoint) -> Option<ARef<Sock>> {
        self.tree.remove(ep)
    }
}
