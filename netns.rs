// SPDX-License-Identifier: GPL-2.0

//! Per network namespace state: configuration, the connections to other hosts
//! and the TCP listener (upstream's `struct rds_tcp_net` and the connection
//! hash, which is per namespace in effect).

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};
use kernel::sync::{Arc, SpinLock};
use kernel::types::ARef;
use kernel::workqueue::{Work, WorkItem};

use crate::conn::{Conn, Paths};
use crate::proto::addr::{Addr, Endpoint};
use crate::proto::config::{Change, Refusal, Settings};
use crate::sys::tcp::{self, NetRef, TcpSock};
use crate::sys::{self, RdsRef, Sock};
use crate::Rds;

/// Settings of a namespace, from upstream's sysctls (sys/shim.c).
#[derive(Clone, Copy)]
pub(crate) struct Config {
    /// First reconnect delay bound, ms (`net.rds.reconnect_min_delay_ms`).
    pub(crate) reconnect_min_ms: u32,
    /// Largest reconnect delay bound, ms (`net.rds.reconnect_max_delay_ms`).
    pub(crate) reconnect_max_ms: u32,
    /// `SO_SNDBUF` of TCP sockets, 0 for the stack's choice (`rds_tcp_sndbuf`).
    pub(crate) tcp_sndbuf: i32,
    /// `SO_RCVBUF` of TCP sockets, 0 for the stack's choice (`rds_tcp_rcvbuf`).
    pub(crate) tcp_rcvbuf: i32,
}

/// Settings changed through netlink (`RDS_TCP_CMD_SET_CONFIG`); `None`
/// follows the module-wide value (sysctl or module parameter), as before
/// any change.
struct Overrides {
    npaths: Option<u32>,
    reconnect_ms: Option<(u32, u32)>,
    ping_enable: Option<bool>,
    stall_ms: u32,
}

/// Stall threshold of a new namespace: a path with messages waiting and no
/// progress for this long is reported stalled.
const STALL_MS_DEFAULT: u32 = 10_000;

/// Connections, listener and settings, under `NetState::inner`.
struct Inner {
    /// The namespace is going away (`net_exit` has started).
    dead: bool,
    listener: Option<Arc<TcpSock>>,
    conns: RBTree<(Endpoint, Addr), Arc<Paths>>,
}

/// Per network namespace state.
#[pin_data]
pub(crate) struct NetState {
    net: NetRef,
    rds: RdsRef,
    /// RDS sockets created in this namespace and not yet destroyed.
    sockets: AtomicUsize,
    #[pin]
    inner: SpinLock<Inner>,
    /// RDS sockets of this namespace from socket(2) to close(2), by the
    /// address of their `struct sock` (upstream's `rds_sock_list`): what the
    /// `RDS_INFO_*` socket lists report.
    #[pin]
    socks: SpinLock<RBTree<usize, ARef<Sock>>>,
    /// (source, destination) address pairs that exchanged messages in memory,
    /// with the next sequence number: upstream makes a loop-transport
    /// connection for each, which `RDS_INFO_CONNECTIONS` lists.
    #[pin]
    loops: SpinLock<RBTree<(Addr, Addr), u64>>,
    #[pin]
    accept_work: Work<NetState, 0>,
    #[pin]
    overrides: SpinLock<Overrides>,
    /// Changes whenever a connection or a socket comes or goes: dumps flag
    /// the tables changing under them with it.
    pub(crate) table_gen: AtomicU32,
}

kernel::impl_has_work! {
    impl HasWork<Self, 0> for NetState { self.accept_work }
}

impl WorkItem<0> for NetState {
    type Pointer = Arc<NetState>;
    fn run(this: Arc<NetState>) {
        crate::accept::accept_all(&this);
    }
}

impl NetState {
    /// State of a new namespace, with its listener on the RDS port.
    pub(crate) fn new(net: NetRef, rds: RdsRef) -> Result<Arc<Self>> {
        let this = Arc::pin_init(
            pin_init!(Self {
                net,
                rds,
                sockets: AtomicUsize::new(0),
                inner <- kernel::new_spinlock!(Inner {
                    dead: false,
                    listener: None,
                    conns: RBTree::new(),
                }, "NetState::inner"),
                socks <- kernel::new_spinlock!(RBTree::new(), "NetState::socks"),
                loops <- kernel::new_spinlock!(RBTree::new(), "NetState::loops"),
                accept_work <- kernel::new_work!("NetState::accept_work"),
                overrides <- kernel::new_spinlock!(Overrides {
                    npaths: None,
                    reconnect_ms: None,
                    ping_enable: None,
                    stall_ms: STALL_MS_DEFAULT,
                }, "NetState::overrides"),
                table_gen: AtomicU32::new(0),
            }),
            GFP_KERNEL,
        )?;
        match TcpSock::listen(net, this.clone()) {
            Ok(l) => this.inner.lock().listener = Some(l),
            // As upstream: the namespace works, but nothing can connect to it.
            Err(e) => pr_warn!("no RDS/TCP listener in a namespace: {:?}\n", e),
        }
        Ok(this)
    }

    /// The namespace.
    pub(crate) fn net_ref(&self) -> NetRef {
        self.net
    }

    /// The module state.
    pub(crate) fn rds(&self) -> &Rds {
        self.rds.get()
    }

    /// The namespace, unless it is going away.
    pub(crate) fn net_if_alive(&self) -> Option<NetRef> {
        (!self.inner.lock().dead).then_some(self.net)
    }

    /// Current settings.
    pub(crate) fn config(&self) -> Config {
        self.config_of(&self.overrides.lock())
    }

    /// `config()` with the overrides already locked.
    fn config_of(&self, o: &Overrides) -> Config {
        let (reconnect_min_ms, reconnect_max_ms) =
            o.reconnect_ms.unwrap_or_else(tcp::reconnect_delays);
        let (tcp_sndbuf, tcp_rcvbuf) = self.net.tcp_bufs();
        Config {
            reconnect_min_ms: reconnect_min_ms.max(1),
            reconnect_max_ms: reconnect_max_ms.max(reconnect_min_ms).max(1),
            tcp_sndbuf,
            tcp_rcvbuf,
        }
    }

    /// Paths offered to peers in the multipath handshake, 1 to 8.
    pub(crate) fn npaths(&self) -> usize {
        match self.overrides.lock().npaths {
            // CAST: at most 8.
            Some(n) => n as usize,
            None => tcp::npaths(),
        }
    }

    /// Whether pings (messages to port 0) are answered.
    pub(crate) fn ping_enable(&self) -> bool {
        self.overrides
            .lock()
            .ping_enable
            .unwrap_or_else(tcp::ping_enable)
    }

    /// Stall threshold in milliseconds; 0 when stall detection is off.
    pub(crate) fn stall_ms(&self) -> u32 {
        self.overrides.lock().stall_ms
    }

    /// Every setting, as `RDS_TCP_CMD_GET_CONFIG` reports them.
    pub(crate) fn settings(&self) -> Settings {
        self.settings_of(&self.overrides.lock())
    }

    fn settings_of(&self, o: &Overrides) -> Settings {
        let c = self.config_of(o);
        Settings {
            // CAST: the sysctls keep them >= 0.
            tcp_sndbuf: c.tcp_sndbuf.max(0) as u32,
            tcp_rcvbuf: c.tcp_rcvbuf.max(0) as u32,
            // CAST: at most 8.
            npaths: o.npaths.unwrap_or(tcp::npaths() as u32),
            reconnect_min_ms: c.reconnect_min_ms,
            reconnect_max_ms: c.reconnect_max_ms,
            ping_enable: o.ping_enable.unwrap_or_else(tcp::ping_enable),
            stall_ms: o.stall_ms,
        }
    }

    /// `RDS_TCP_CMD_SET_CONFIG`: every change of `ch` or none. New TCP
    /// buffer sizes reconnect every connection, as the sysctls do.
    pub(crate) fn set_settings(&self, ch: &Change) -> core::result::Result<(), Refusal> {
        let bufs_changed = {
            // Under the lock, so that two requests apply one after the other,
            // each checked against what the other left.
            let mut o = self.overrides.lock();
            let cur = self.settings_of(&o);
            // CAST: MPATH_WORKERS is 8.
            let new = cur.apply(ch, crate::conn::MPATH_WORKERS as u32)?;
            if ch.npaths.is_some() {
                o.npaths = Some(new.npaths);
            }
            if ch.reconnect_min_ms.is_some() || ch.reconnect_max_ms.is_some() {
                o.reconnect_ms = Some((new.reconnect_min_ms, new.reconnect_max_ms));
            }
            if ch.ping_enable.is_some() {
                o.ping_enable = Some(new.ping_enable);
            }
            o.stall_ms = new.stall_ms;
            let changed = new.tcp_sndbuf != cur.tcp_sndbuf || new.tcp_rcvbuf != cur.tcp_rcvbuf;
            if changed {
                // CAST: `apply` keeps them <= i32::MAX.
                self.net
                    .set_tcp_bufs(new.tcp_sndbuf as i32, new.tcp_rcvbuf as i32);
            }
            changed
        };
        if bufs_changed {
            self.reset_all();
        }
        Ok(())
    }

    /// Drops what closed socket `sk` still has queued on connections.
    pub(crate) fn drop_sender(&self, sk: &Sock) {
        for c in self.conns_snapshot().iter() {
            c.drop_sender(sk, None);
        }
    }

    /// Drops the queued messages of `sk` to `dest` (`RDS_CANCEL_SENT_TO`).
    pub(crate) fn cancel_sent_to(&self, sk: &Sock, dest: &Endpoint) {
        for c in self.conns_snapshot().iter() {
            if c.faddr == dest.addr {
                c.drop_sender(sk, Some(dest.port));
            }
        }
    }

    /// The current connections (every path), cloned out of the lock.
    fn conns_snapshot(&self) -> KVec<Arc<Conn>> {
        let mut conns = KVec::new();
        for p in self.peers().iter() {
            for c in p.conns.iter() {
                // Without memory for the list, the rest is handled later: their
                // messages go when acknowledged or at the next reset.
                if conns.push(c.clone(), GFP_KERNEL).is_err() {
                    return conns;
                }
            }
        }
        conns
    }

    /// The sequence number of the next message from `src` to `dst` through
    /// memory, counting the pair in if it is new.
    pub(crate) fn loop_seq(&self, src: &Addr, dst: &Addr) -> Result<u64> {
        let key = (*src, *dst);
        if let Some(s) = self.loops.lock().get_mut(&key) {
            *s += 1;
            return Ok(*s - 1);
        }
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut loops = self.loops.lock();
        if let Some(s) = loops.get_mut(&key) {
            *s += 1;
            return Ok(*s - 1);
        }
        // Sequence numbers start at 1, as on every upstream connection.
        loops.insert(node.into_node(key, 2));
        Ok(1)
    }

    /// The in-memory pairs and their next sequence numbers.
    pub(crate) fn loop_pairs(&self) -> Result<KVec<((Addr, Addr), u64)>> {
        let n = self.loops.lock().iter().count();
        let mut v = KVec::with_capacity(n + 16, GFP_KERNEL)?;
        for (k, s) in self.loops.lock().iter().take(n + 16) {
            // Within the capacity reserved above: no allocation.
            v.push((*k, *s), GFP_ATOMIC)?;
        }
        Ok(v)
    }

    /// The current peers and their paths, cloned out of the lock.
    pub(crate) fn peers(&self) -> KVec<Arc<Paths>> {
        let mut peers = KVec::new();
        let inner = self.inner.lock();
        for p in inner.conns.values() {
            if peers.push(p.clone(), GFP_ATOMIC).is_err() {
                break;
            }
        }
        peers
    }

    /// The connection at position `idx` in key order (netlink dumps).
    pub(crate) fn peer_at(&self, idx: usize) -> Option<Arc<Paths>> {
        self.inner.lock().conns.values().nth(idx).cloned()
    }

    /// The socket at position `idx` (netlink dumps).
    pub(crate) fn sock_at(&self, idx: usize) -> Option<ARef<Sock>> {
        self.socks.lock().values().nth(idx).cloned()
    }

    /// The paths from `laddr` to `faddr`, if known.
    fn paths_if_any(&self, laddr: &Endpoint, faddr: &Addr) -> Option<Arc<Paths>> {
        self.inner.lock().conns.get(&(*laddr, *faddr)).cloned()
    }

    /// The handshake says `n` paths: connects those that are down
    /// (`rds_start_mprds()`).
    pub(crate) fn connect_paths(&self, laddr: &Endpoint, faddr: &Addr, n: usize) {
        if let Some(p) = self.paths_if_any(laddr, faddr) {
            for c in p.conns.iter().take(n) {
                if c.is_down() {
                    c.queue_conn();
                }
            }
        }
    }

    /// Reconnects every connection, which then uses the current buffer sizes
    /// (`rds_tcp_sysctl_reset()`): nothing is lost, unacknowledged messages
    /// are sent again.
    pub(crate) fn reset_all(&self) {
        for c in self.conns_snapshot().iter() {
            c.reset_current();
        }
    }

    /// The listener, if it is up.
    pub(crate) fn listener(&self) -> Option<Arc<TcpSock>> {
        self.inner.lock().listener.clone()
    }

    /// Queues the accept work (the listener has connections waiting).
    pub(crate) fn queue_accept(self: &Arc<Self>) {
        let _ = tcp::wq().enqueue::<Arc<NetState>, 0>(self.clone());
    }

    /// The connection from `laddr` to `faddr`, created down if there is none
    /// (`rds_conn_create()`).
    pub(crate) fn paths(self: &Arc<Self>, laddr: Endpoint, faddr: Addr) -> Result<Arc<Paths>> {
        let key = (laddr, faddr);
        if let Some(c) = self.find_paths(laddr, faddr) {
            return Ok(c);
        }
        let fresh = Paths::new(self, laddr, faddr)?;
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut inner = self.inner.lock();
        if inner.dead {
            return Err(crate::sys::errno::enetunreach());
        }
        if let Some(c) = inner.conns.get(&key) {
            return Ok(c.clone());
        }
        inner.conns.insert(node.into_node(key, fresh.clone()));
        self.table_gen.fetch_add(1, Ordering::Relaxed);
        Ok(fresh)
    }

    /// The paths from `laddr` to `faddr`, if they exist.
    pub(crate) fn find_paths(&self, laddr: Endpoint, faddr: Addr) -> Option<Arc<Paths>> {
        self.inner.lock().conns.get(&(laddr, faddr)).cloned()
    }

    /// Counts a socket into this namespace.
    pub(crate) fn sock_added(&self) {
        self.sockets.fetch_add(1, Ordering::Relaxed);
    }

    /// Lists `sk`, created in this namespace, in node `node`.
    pub(crate) fn sock_link(&self, sk: &Sock, node: RBTreeNodeReservation<usize, ARef<Sock>>) {
        let key = core::ptr::from_ref(sk) as usize;
        // Keys are unique: a socket is linked once, and unlinked before its
        // memory can be reused.
        let old = self.socks.lock().insert(node.into_node(key, sk.into()));
        self.table_gen.fetch_add(1, Ordering::Relaxed);
        drop(old);
    }

    /// Unlinks `sk` (close(2)); returns the list's reference to drop unlocked.
    pub(crate) fn sock_unlink(&self, sk: &Sock) -> Option<ARef<Sock>> {
        let key = core::ptr::from_ref(sk) as usize;
        let gone = self.socks.lock().remove(&key);
        self.table_gen.fetch_add(1, Ordering::Relaxed);
        gone
    }

    /// The sockets of this namespace, with a reference each (those created
    /// while the list is being copied may be left out, as upstream's own
    /// two-pass copy does).
    pub(crate) fn socks_snapshot(&self) -> Result<KVec<ARef<Sock>>> {
        let n = self.socks.lock().iter().count();
        let mut v = KVec::with_capacity(n + 16, GFP_KERNEL)?;
        for (_, sk) in self.socks.lock().iter().take(n + 16) {
            // Within the capacity reserved above: no allocation.
            v.push(sk.clone(), GFP_ATOMIC)?;
        }
        Ok(v)
    }

    /// The current connections.
    pub(crate) fn conns(&self) -> KVec<Arc<Conn>> {
        self.conns_snapshot()
    }

    /// A congestion map changed (`rds_cong_map_updated()`): wakes senders
    /// waiting for a port, and tells `RDS_CONG_MONITOR` sockets about the
    /// ports in `portmask`.
    pub(crate) fn cong_map_updated(&self, portmask: u64) {
        self.rds().cong_gen.fetch_add(1, Ordering::AcqRel);
        sys::cong_wake();
        for (_, sk) in self.socks.lock().iter() {
            if sk.rds().cong_notify(portmask) {
                sk.wake();
            }
        }
    }

    /// A port of local address `addr` became congested or uncongested: the
    /// peers connected to `addr` are sent the map, on their first path.
    pub(crate) fn local_cong_changed(&self, addr: &Addr) {
        for p in self.peers().iter() {
            if p.conns[0].laddr.addr == *addr {
                p.conns[0].queue_map();
            }
        }
    }

    /// Counts a socket out of this namespace (it is being destroyed).
    pub(crate) fn sock_gone(&self) {
        self.sockets.fetch_sub(1, Ordering::Relaxed);
    }

    /// Namespace exit: closes the listener and every connection, then waits
    /// for transport work, so that no kernel socket of this namespace and no
    /// work using it survives (upstream's CVE-2024-26865 class of bug).
    pub(crate) fn exit(&self) {
        let (listener, conns) = {
            let mut inner = self.inner.lock();
            inner.dead = true;
            (inner.listener.take(), core::mem::take(&mut inner.conns))
        };
        drop(listener);
        for p in conns.values() {
            for c in p.conns.iter() {
                c.kill();
            }
        }
        // Work that cloned a socket before the kill drops it here, while the
        // namespace is still whole.
        tcp::wq_flush();
        // Connections refer to this state; dropping the table breaks the cycle.
        drop(conns);
        let left = self.sockets.load(Ordering::Relaxed);
        if left != 0 {
            pr_warn!("namespace exits with {} RDS sockets\n", left);
        }
    }
}
