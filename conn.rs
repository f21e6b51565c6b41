// SPDX-License-Identifier: GPL-2.0

//! Connections to other hosts over TCP: state, connecting, the send and
//! retransmit queues, transmission and acknowledgement, reset and reconnect
//! (net/rds/connection.c, threads.c, tcp_connect.c, tcp_send.c, tcp_recv.c).
//!
//! One `Conn` per (local address, peer address) in a namespace, one path. Its
//! sequence state outlives TCP connections: after a reset, what TCP had not
//! acknowledged is sent again, flagged `RETRANSMITTED`, and the receiver drops
//! what it had already delivered (`proto::seq::RxSeq`).
//!
//! Lock order: `rx` (a mutex held by the receive work), then `inner`.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use kernel::list::{List, ListArc, ListLinks};
use kernel::prelude::*;
use kernel::sync::{Arc, SpinLock, UniqueArc};
use kernel::types::ARef;
use kernel::workqueue::{Work, WorkItem};

use crate::netlink;
use crate::netns::NetState;
use crate::proto::addr::{Addr, Endpoint};
use crate::proto::cong;
use crate::proto::header::{Ext, Flags, Header, EXT_SPACE, HEADER_LEN, PROBE_PORT};
use crate::proto::info;
use crate::proto::metrics::PathStats;
use crate::proto::reasm::{Need, Progress, Reassembler};
use crate::proto::seq::{tcp_acked, RxSeq};
use crate::proto::stats::Stat;
use crate::recv::{self, Incoming, Payload};
use crate::sys::sync::{new_spinlock_bh, SpinLockBh, TryLock};
use crate::sys::tcp::{self, DataReady, Skb, SkbChain, TcpInfo, TcpSock, TcpState};
use crate::sys::{self, Bytes, Frag, SendBuf, Sock};
use crate::zcopy::ZInfo;

/// A message queued on a connection (upstream's `struct rds_message` on
/// `cp_send_queue` / `cp_retrans`).
#[pin_data]
pub(crate) struct OutMsg {
    #[pin]
    links: ListLinks,
    /// Sequence number, set when queued.
    seq: AtomicU64,
    sport: u16,
    dport: u16,
    /// Extension headers (`h_exthdr`), for pongs.
    exthdr: [u8; EXT_SPACE],
    data: SendBuf,
    /// The sending socket, whose send buffer the message counts against until
    /// TCP acknowledges it; `None` for pongs, and once the message has been
    /// given back (a socket that closes lets go of the one message it cannot
    /// take back, as `rds_send_drop_to()` clears `m_rs`).
    #[pin]
    sender: SpinLockBh<Option<ARef<Sock>>>,
    /// `RETRANSMITTED` (sent before on an earlier TCP connection),
    /// `WRITTEN` and `ZCOPY` bits.
    state: AtomicU8,
    /// Bytes of header and payload written to the current TCP connection.
    sent: AtomicUsize,
    /// TCP sequence of the message's last byte, once all of it is written.
    last: AtomicU32,
    /// A congestion map update: flagged `CONG_BITMAP` alone, never
    /// retransmitted (a new connection starts with a fresh map).
    cong: bool,
    /// `local_clock()` when it was queued: the start of its send-to-ack latency.
    queued_at: u64,
    /// A zero-copy send's cookie, and the entry that reports it once the
    /// message is acknowledged or dropped.
    zcookie: u32,
    #[pin]
    znode: SpinLockBh<Option<ListArc<ZInfo>>>,
}

kernel::list::impl_has_list_links! {
    impl HasListLinks<0> for OutMsg { self.links }
}
kernel::list::impl_list_arc_safe! {
    impl ListArcSafe<0> for OutMsg { untracked; }
}
kernel::list::impl_list_item! {
    impl ListItem<0> for OutMsg { using ListLinks; }
}

/// `OutMsg::state`: written again after a reset (sent with
/// `RDS_FLAG_RETRANSMITTED`).
const RETRANSMITTED: u8 = 1;
/// `OutMsg::state`: completely written to TCP at least once.
const WRITTEN: u8 = 2;
/// `OutMsg::state`: a zero-copy send, whose completion `znode` reports.
const ZCOPY: u8 = 4;

/// What distinguishes the kinds of [`OutMsg`].
struct Base {
    sport: u16,
    dport: u16,
    exthdr: [u8; EXT_SPACE],
    data: SendBuf,
    cong: bool,
}

impl OutMsg {
    /// A message from `sport` to `dport`.
    pub(crate) fn new(
        sport: u16,
        dport: u16,
        data: SendBuf,
        sender: Option<ARef<Sock>>,
        zcookie: Option<(u32, ListArc<ZInfo>)>,
    ) -> Result<ListArc<Self>> {
        let base = Base {
            sport,
            dport,
            exthdr: [0; EXT_SPACE],
            data,
            cong: false,
        };
        Self::build(base, sender, zcookie)
    }

    /// A congestion map update carrying `map` (`rds_cong_update_alloc()`).
    fn cong_map(map: Bytes) -> Result<ListArc<Self>> {
        let base = Base {
            sport: 0,
            dport: 0,
            exthdr: [0; EXT_SPACE],
            data: SendBuf::Flat(map),
            cong: true,
        };
        Self::build(base, None, None)
    }

    /// A ping or pong (`rds_send_probe()`): empty, from `sport` to `dport`;
    /// the handshake probe and its answer carry the number of paths we can
    /// use and our generation number.
    fn probe(sport: u16, dport: u16, npaths: usize) -> Result<ListArc<Self>> {
        let mut h = Header::default();
        if (sport == PROBE_PORT && dport == 0) || (sport == 0 && dport == PROBE_PORT) {
            // The marker only with 8 paths: upstream clamps the value to 8.
            // CAST: at most 8.
            let n = npaths as u16;
            let marked = if usize::from(n) == MPATH_WORKERS {
                n | NPATHS_RDS_RS
            } else {
                n
            };
            h.add_extension(Ext::NPaths(marked))
                .map_err(crate::proto_err)?;
            h.add_extension(Ext::GenNum(sys::gen_num()))
                .map_err(crate::proto_err)?;
        }
        let base = Base {
            sport,
            dport,
            exthdr: h.exthdr,
            data: SendBuf::Flat(Bytes::new()),
            cong: false,
        };
        Self::build(base, None, None)
    }

    fn build(
        b: Base,
        sender: Option<ARef<Sock>>,
        zcookie: Option<(u32, ListArc<ZInfo>)>,
    ) -> Result<ListArc<Self>> {
        let (zcookie, znode) = match zcookie {
            Some((c, n)) => (c, Some(n)),
            None => (0, None),
        };
        ListArc::pin_init(
            try_pin_init!(Self {
                links <- ListLinks::new(),
                seq: AtomicU64::new(0),
                sport: b.sport,
                dport: b.dport,
                exthdr: b.exthdr,
                data: b.data,
                sender <- new_spinlock_bh!(sender, "OutMsg::sender"),
                state: AtomicU8::new(if znode.is_some() { ZCOPY } else { 0 }),
                sent: AtomicUsize::new(0),
                last: AtomicU32::new(0),
                cong: b.cong,
                queued_at: sys::local_clock(),
                zcookie,
                znode <- new_spinlock_bh!(znode, "OutMsg::znode"),
            }? Error),
            GFP_KERNEL,
        )
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        let mut flags = Flags::default();
        if self.cong {
            flags = Flags::CONG_BITMAP;
        } else if self.state.load(Ordering::Relaxed) & RETRANSMITTED != 0 {
            flags = flags.with(Flags::RETRANSMITTED);
        }
        Header {
            sequence: self.seq.load(Ordering::Relaxed),
            // CAST: at most RDS_MAX_MSG_SIZE (checked by sendmsg).
            len: self.data.len() as u32,
            sport: self.sport,
            dport: self.dport,
            flags,
            exthdr: self.exthdr,
            ..Header::default()
        }
        .encode()
    }

    fn wire_len(&self) -> usize {
        HEADER_LEN + self.data.len()
    }

    /// Whether the message goes to TCP without a copy: it is in page
    /// fragments, and was never given to an earlier connection.
    fn spliceable(&self) -> bool {
        self.data.frag().is_some() && self.state.load(Ordering::Relaxed) & RETRANSMITTED == 0
    }

    /// Gives the message's bytes back to its sender's send buffer, once.
    fn release(&self) {
        let sk = self.sender.lock().take();
        if let Some(sk) = sk {
            self.settle(&sk);
        }
    }

    /// What giving the message back means for `sk`, which it no longer holds.
    ///
    /// Its sender is woken only when there is news for it: a zero-copy
    /// completion, or room in its send buffer after a sender or poll()
    /// found none (`RdsSock::snd_wanted`). Upstream wakes it for every
    /// message; a request's acknowledgement then wakes its sender while it
    /// waits for the answer. A waiter asks again each time it finds no room,
    /// with the limit as `SO_SNDBUF` makes it then; raising `SO_SNDBUF`
    /// wakes it through the socket's write-space callback.
    fn settle(&self, sk: &Sock) {
        let mut news = sk.rds().snd_done(self.data.len(), sk.sndbuf() / 2);
        // Others have no completion, and skip the lock.
        let node = if self.state.load(Ordering::Relaxed) & ZCOPY != 0 {
            self.znode.lock().take()
        } else {
            None
        };
        if let Some(node) = node {
            sk.rds().zcopy.lock().complete(self.zcookie, node);
            news = true;
        }
        if news {
            sk.wake();
        }
    }

    fn sender_is(&self, sk: &Sock) -> bool {
        self.sender
            .lock()
            .as_ref()
            .is_some_and(|s| core::ptr::eq(&**s, sk))
    }

    fn sender_closed(&self) -> bool {
        self.sender
            .lock()
            .as_ref()
            .is_some_and(|s| s.rds().is_closed())
    }
}

/// `RDS_MPATH_WORKERS`: TCP connections (paths) per peer, at most.
pub(crate) const MPATH_WORKERS: usize = 8;

/// How long senders wait for the answer to the handshake probe before they
/// treat the peer as single-path.
const HS_WAIT_MS: u64 = 5000;

/// Tries of the last read of a connection being reset that runs out of
/// memory, a millisecond apart.
const LAST_READ_TRIES: u32 = 100;

/// Set in the `NPATHS` extension header we send: upstream takes the minimum
/// of the value and its 8 paths, so it reads 8; a peer that sees the bit is
/// rds_rs, whose initiators name each path by their source port.
const NPATHS_RDS_RS: u16 = 0x8000;

/// What the paths to one peer share (upstream's `struct rds_connection`
/// fields beside `c_path[]`).
#[pin_data]
pub(crate) struct Peer {
    /// Paths both sides use (`c_npaths`): 0 until the handshake told.
    npaths: AtomicU32,
    /// A handshake probe is out (`c_ping_triggered`), and since when
    /// (`local_clock()`).
    ping_sent: AtomicBool,
    probe_at: AtomicU64,
    /// The peer is rds_rs (`NPATHS_RDS_RS`): its connections name their path.
    names_paths: AtomicBool,
    /// The peer's generation number, 0 until known (`c_peer_gen_num`).
    peer_gen: AtomicU32,
    /// Restarts of the peer seen (its generation number changed): each path
    /// forgets its receive sequence when it sees this move, under its own
    /// `rx` lock (never another path's, which the handshake cannot take).
    restarts: AtomicU32,
    /// The peer's congestion map for its address, as it last sent it
    /// (`c_fcong`).
    #[pin]
    fcong: SpinLock<Bytes>,
    /// Sends to the peer refused with `ENOBUFS` (a congested port).
    pub(crate) enobufs: AtomicU64,
}

impl Peer {
    fn new() -> Result<Arc<Self>> {
        let map = Bytes::from_elem(0u8, cong::MAP_BYTES, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                npaths: AtomicU32::new(0),
                ping_sent: AtomicBool::new(false),
                probe_at: AtomicU64::new(0),
                names_paths: AtomicBool::new(false),
                peer_gen: AtomicU32::new(0),
                restarts: AtomicU32::new(0),
                fcong <- kernel::new_spinlock!(map, "Peer::fcong"),
                enobufs: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// Paths in use, 0 while unknown.
    pub(crate) fn npaths(&self) -> usize {
        self.npaths.load(Ordering::Acquire) as usize
    }

    /// Whether the peer's connections name their path by source port.
    pub(crate) fn names_paths(&self) -> bool {
        self.names_paths.load(Ordering::Acquire)
    }

    /// Whether the peer's map says `port` is congested.
    pub(crate) fn congested(&self, port: u16) -> bool {
        cong::test(&self.fcong.lock(), port)
    }

    /// How many ports the peer's last map marks congested.
    pub(crate) fn congested_ports(&self) -> u32 {
        self.fcong.lock().iter().map(|b| b.count_ones()).sum()
    }

    /// Installs the peer's new congestion map; returns the ports whose bit
    /// changed (the first [`MAP_EVENTS_MAX`]), with their new state.
    fn replace_map(&self, mut map: Bytes) -> ChangedPorts {
        let mut out = ChangedPorts::default();
        let mut cur = self.fcong.lock();
        core::mem::swap(&mut *cur, &mut map);
        // `map` is the old one now; compared under the same lock, so that a
        // map arriving on another path meanwhile cannot mix in.
        out.n = cong::changed(&map, &cur, &mut out.ports);
        drop(cur);
        // The old map is freed outside the lock.
        drop(map);
        out
    }
}

/// Port events one congestion map update reports at most (a peer may flip
/// every bit of its map at once).
pub(crate) const MAP_EVENTS_MAX: usize = 64;

/// Ports whose bit a congestion map update changed, and their new state.
pub(crate) struct ChangedPorts {
    pub(crate) n: usize,
    pub(crate) ports: [(u16, bool); MAP_EVENTS_MAX],
}

impl Default for ChangedPorts {
    fn default() -> Self {
        Self {
            n: 0,
            ports: [(0, false); MAP_EVENTS_MAX],
        }
    }
}

/// The paths to one peer from one local address: `conns[i]` is path `i`.
pub(crate) struct Paths {
    pub(crate) peer: Arc<Peer>,
    pub(crate) conns: KVec<Arc<Conn>>,
    /// A send found the peer's address not one of ours: sends take these
    /// paths from then on without asking again, as upstream decides the
    /// transport once, when it creates the connection.
    remote: AtomicBool,
}

impl Paths {
    /// All paths, down, in namespace `net`.
    pub(crate) fn new(net: &Arc<NetState>, laddr: Endpoint, faddr: Addr) -> Result<Arc<Self>> {
        let peer = Peer::new()?;
        let mut conns = KVec::with_capacity(MPATH_WORKERS, GFP_KERNEL)?;
        for i in 0..MPATH_WORKERS {
            // CAST: below MPATH_WORKERS.
            conns.push(
                Conn::new(net.clone(), laddr, faddr, i as u8, peer.clone())?,
                GFP_KERNEL,
            )?;
        }
        Ok(Arc::new(
            Self {
                peer,
                conns,
                remote: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?)
    }

    /// Whether a send found the peer's address not local ([`Self::set_remote`]).
    pub(crate) fn is_remote(&self) -> bool {
        self.remote.load(Ordering::Relaxed)
    }

    /// Records that the peer's address was found not local.
    pub(crate) fn set_remote(&self) {
        self.remote.store(true, Ordering::Relaxed);
    }

    /// The path for a message of `rs` (`rds_send_mprds_hash()`): a hash of
    /// its bound port, so that one socket's messages keep their order.
    ///
    /// Before the handshake, a send that would use another path than 0
    /// sends the probe and waits for the answer; non-blocking, it gets
    /// `EAGAIN`. Upstream sends such messages on path 0 meanwhile, and the
    /// socket's later ones on their own path may then overtake them. A peer
    /// that has not answered `HS_WAIT_MS` after the probe (or within
    /// `timeo`) gets this socket's messages on path 0.
    pub(crate) fn choose(&self, hash: u32, nonblock: bool, timeo: &mut i64) -> Result<&Arc<Conn>> {
        let n = self.peer.npaths();
        let width = if n == 0 {
            self.conns[0].net.npaths()
        } else {
            n
        };
        let mut path = hash as usize & (width - 1);
        if n == 0 && path != 0 {
            self.conns[0].send_ping();
            let overdue = || {
                // 0: the probe is being queued right now.
                let sent = self.peer.probe_at.load(Ordering::Acquire);
                sent != 0 && sys::local_clock().saturating_sub(sent) > HS_WAIT_MS * 1_000_000
            };
            if !overdue() {
                if nonblock {
                    return Err(EAGAIN);
                }
                // In slices, to notice the deadline; a signal ends the call.
                while self.peer.npaths() == 0 && !overdue() && *timeo > 0 {
                    let slice = sys::msecs_to_jiffies(100).clamp(1, *timeo);
                    match sys::cong_wait(slice, || self.peer.npaths() != 0) {
                        Ok(left) => *timeo -= slice - left,
                        Err(e) if e == sys::errno::etimedout() => *timeo -= slice,
                        Err(e) => return Err(e),
                    }
                }
            }
            let n = self.peer.npaths();
            path = if n <= 1 { 0 } else { hash as usize & (n - 1) };
        }
        Ok(&self.conns[path.min(MPATH_WORKERS - 1)])
    }
}

/// What `RDS_INFO_*` reports of a connection, read at one moment.
pub(crate) struct ConnSnapshot {
    pub(crate) next_tx_seq: u64,
    pub(crate) next_rx_seq: u64,
    /// `RDS_INFO_CONNECTION_FLAG_*`.
    pub(crate) flags: u8,
    /// The TCP connection, if any.
    pub(crate) tcp: Option<TcpInfo>,
    /// TCP sequence after the last byte written, and `snd_una`.
    pub(crate) write_seq: u32,
    pub(crate) snd_una: u32,
    /// Header and payload bytes still expected of the message being received.
    pub(crate) hdr_rem: u64,
    pub(crate) data_rem: u64,
}

/// State under `Conn::inner`.
struct ConnInner {
    /// The namespace is going away: no new connection, no new message.
    dead: bool,
    /// The current TCP connection and its generation (bumped on each change).
    sock: Option<Arc<TcpSock>>,
    gen: u64,
    /// RDS is up on `sock` (established, and ours to use).
    up: bool,
    /// `sock` is a connection we made (not one we accepted).
    outgoing: bool,
    /// Messages not yet completely written to the current connection.
    send_queue: List<OutMsg>,
    /// Messages written, waiting for TCP's acknowledgement.
    retrans: List<OutMsg>,
    next_tx_seq: u64,
    /// Current reconnect delay, in milliseconds; 0 after success.
    backoff_ms: u32,
    /// Our congestion map for `laddr` is to be sent (`c_map_queued`).
    map_queued: bool,
}

/// State of the receive work, under `Conn::rx`.
struct RxState {
    /// The TCP connection generation this state belongs to.
    gen: u64,
    reasm: Reassembler,
    /// Payload of the message being reassembled.
    payload: Option<Payload>,
    /// Memory for the next message delivered, taken before its header is
    /// read ([`Incoming::reserve`]).
    slot: Option<UniqueArc<MaybeUninit<Incoming>>>,
    /// An allocation failed: reading stopped with the rest left in TCP, to
    /// be read again by the next receive work (`-ENOMEM` in upstream's
    /// `rds_tcp_data_recv()`).
    stalled: bool,
    /// The stream of generation `gen` had a malformed frame: the rest of it
    /// is discarded.
    broken: bool,
    /// Sequence state, kept across TCP connections.
    seq: RxSeq,
    /// `Peer::restarts` when `seq` was last reset for it.
    restarts: u32,
    /// `local_clock()` when the current message's header was complete.
    hdr_at: u64,
    /// What the data-ready callback read but left to the receive work,
    /// which handles it before reading on.
    pending: Option<Pending>,
}

/// A message that needs task context, read by the data-ready callback.
enum Pending {
    /// A whole frame other than data for a socket: a congestion map, a
    /// ping, a pong or a handshake probe.
    Frame(Header, Payload),
    /// Data for a socket, whose delivery changes the socket's congestion
    /// map bit.
    Deliver(ARef<Sock>, ListArc<Incoming>),
}

/// Where a read of the connection runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// The receive work or a reset: a task, which may sleep.
    Task,
    /// The data-ready callback: softirq, or a task's `release_sock()`.
    /// Nothing sleeps, and what needs a task is left in `RxState::pending`.
    Ready,
}

impl Ctx {
    /// How this context allocates.
    fn gfp(self) -> kernel::alloc::Flags {
        match self {
            Ctx::Task => GFP_KERNEL,
            Ctx::Ready => GFP_ATOMIC | __GFP_NOWARN,
        }
    }
}

/// The largest payload the data-ready callback allocates (atomically);
/// the receive work takes larger ones.
const READY_PAYLOAD_MAX: usize = 64 * 1024;

/// The smallest payload of data kept in the received skbs
/// ([`Payload::Skbs`]) rather than copied. Taking a share of an skb
/// (`pskb_extract()`: a clone, and a copy of its head) cost as much as
/// copying 1 to 4 KiB in the benchmark, and a share keeps more memory than
/// the bytes it holds: below this, copying wins.
const SKB_PAYLOAD_MIN: usize = 16 * 1024;

/// Whether a payload kept in skbs is spread too thin over them, and is to
/// be copied instead: each share holds an skb head, and a page, at least;
/// a peer sending 1-byte segments would have a 1 MiB message pin a million
/// of them. Past 16 shares, they must average 1 KiB (TCP's segments over
/// Ethernet carry 1 448 bytes).
fn skb_chain_too_thin(chain: &SkbChain) -> bool {
    chain.parts() >= 16 && chain.len() < chain.parts() * 1024
}

/// A connection to one peer address (upstream's `struct rds_connection` with a
/// single `struct rds_conn_path`).
#[pin_data]
pub(crate) struct Conn {
    net: Arc<NetState>,
    /// Our address, with the scope id of a link-local one.
    pub(crate) laddr: Endpoint,
    /// The peer's address.
    pub(crate) faddr: Addr,
    /// Softirq-safe: the write-space callback drops acknowledged messages.
    #[pin]
    inner: SpinLockBh<ConnInner>,
    /// The receive state: the receive work waits for it, the data-ready
    /// callback only tries.
    #[pin]
    rx: TryLock<RxState>,
    /// The generation of `ConnInner::sock`, 0 when there is none: what the
    /// data-ready callback checks a connection against without taking
    /// `inner`.
    cur_gen: AtomicU64,
    /// A context is in [`Self::xmit_batch`] (upstream's `RDS_IN_XMIT`).
    in_xmit: AtomicBool,
    /// Another context asked for a write while one was under way: a
    /// sendmsg, or the write-space callback with messages to send.
    xmit_again: AtomicBool,
    /// The send work is queued and has not started: another request to
    /// queue it is already honoured.
    send_queued: AtomicBool,
    /// This path's index among the peer's paths.
    pub(crate) index: u8,
    /// What the paths to the peer share.
    pub(crate) peer: Arc<Peer>,
    /// Counters for the netlink family.
    pub(crate) stats: PathStats,
    #[pin]
    send_work: Work<Conn, 0>,
    #[pin]
    recv_work: Work<Conn, 1>,
    #[pin]
    conn_work: Work<Conn, 2>,
}

kernel::impl_has_work! {
    impl HasWork<Self, 0> for Conn { self.send_work }
    impl HasWork<Self, 1> for Conn { self.recv_work }
    impl HasWork<Self, 2> for Conn { self.conn_work }
}

impl WorkItem<0> for Conn {
    type Pointer = Arc<Conn>;
    fn run(this: Arc<Conn>) {
        // Before reading the queue: a request from now on queues the work
        // again.
        this.send_queued.store(false, Ordering::SeqCst);
        this.xmit(Writer::Work);
    }
}

impl WorkItem<1> for Conn {
    type Pointer = Arc<Conn>;
    fn run(this: Arc<Conn>) {
        this.recv();
    }
}

impl WorkItem<2> for Conn {
    type Pointer = Arc<Conn>;
    fn run(this: Arc<Conn>) {
        this.connect_or_check();
    }
}

impl Conn {
    /// A connection from `laddr` to `faddr` in namespace `net`, down.
    fn new(
        net: Arc<NetState>,
        laddr: Endpoint,
        faddr: Addr,
        index: u8,
        peer: Arc<Peer>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                net,
                laddr,
                faddr,
                inner <- new_spinlock_bh!(ConnInner {
                    dead: false,
                    sock: None,
                    gen: 0,
                    up: false,
                    outgoing: false,
                    send_queue: List::new(),
                    retrans: List::new(),
                    next_tx_seq: 1,
                    backoff_ms: 0,
                    map_queued: false,
                }, "Conn::inner"),
                in_xmit: AtomicBool::new(false),
                send_queued: AtomicBool::new(false),
                xmit_again: AtomicBool::new(false),
                index,
                peer,
                stats: PathStats::new(sys::local_clock()),
                cur_gen: AtomicU64::new(0),
                rx <- TryLock::new(RxState {
                    gen: 0,
                    reasm: Reassembler::new(),
                    payload: None,
                    slot: None,
                    stalled: false,
                    broken: false,
                    seq: RxSeq::new(),
                    restarts: 0,
                    hdr_at: 0,
                    pending: None,
                }),
                send_work <- kernel::new_work!("Conn::send_work"),
                recv_work <- kernel::new_work!("Conn::recv_work"),
                conn_work <- kernel::new_work!("Conn::conn_work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Whether this side initiates: the numerically smaller address does, on
    /// every path, so that the two sides never duel.
    fn initiator(&self) -> bool {
        self.laddr.addr < self.faddr
    }

    /// Sends an empty message from port 0 to port 0 on this path: nothing
    /// for the peer (a ping from port 0 gets no answer), but a segment that
    /// a peer whose end of the connection is gone answers with a RST.
    pub(crate) fn poke(self: &Arc<Self>) {
        if let Ok(m) = OutMsg::probe(0, 0, self.net.npaths()) {
            let _ = self.enqueue(m);
        }
    }

    /// Whether the path's TCP connection is established.
    pub(crate) fn is_established(&self) -> bool {
        let sock = self.inner.lock().sock.clone();
        sock.is_some_and(|s| s.state() == TcpState::Established)
    }

    /// Whether the path has no TCP connection (`RDS_CONN_DOWN`).
    pub(crate) fn is_down(&self) -> bool {
        self.inner.lock().sock.is_none()
    }

    /// Sends the handshake probe on this path, once until answered
    /// (`rds_send_ping()`): a ping from `RDS_FLAG_PROBE_PORT` to port 0 with
    /// our number of paths and generation.
    pub(crate) fn send_ping(self: &Arc<Self>) {
        if self.peer.ping_sent.swap(true, Ordering::AcqRel) {
            return;
        }
        self.peer
            .probe_at
            .store(sys::local_clock(), Ordering::Release);
        match OutMsg::probe(PROBE_PORT, 0, self.net.npaths()) {
            Ok(m) => {
                let _ = self.enqueue(m);
            }
            Err(_) => self.peer.ping_sent.store(false, Ordering::Release),
        }
    }

    /// The handshake's extension headers from the peer (`rds_recv_hs_exthdrs()`)
    /// and what follows (`rds_start_mprds()`): the smaller address connects
    /// every path.
    ///
    /// The initiator connects the other paths on the answer to its own
    /// probe (`answer`), when the peer knows our number too: connected on
    /// the peer's probe, they would race the peer learning it, and the peer
    /// would refuse them (upstream has that race; the paths come up after
    /// the reconnect delay there).
    fn handshake(self: &Arc<Self>, h: &Header, answer: bool) {
        let mut npaths = None;
        let mut gen = 0;
        for e in h.extensions() {
            match e {
                Ext::NPaths(n) => {
                    self.peer
                        .names_paths
                        .store(n & NPATHS_RDS_RS != 0, Ordering::Release);
                    npaths = Some(usize::from(n & !NPATHS_RDS_RS).min(self.net.npaths()));
                }
                Ext::GenNum(g) => gen = g,
                _ => {}
            }
        }
        let cur = self.peer.npaths();
        // CAST: at most MPATH_WORKERS.
        let n = npaths.unwrap_or(cur).max(1);
        self.peer.npaths.store(n as u32, Ordering::Release);
        self.peer.ping_sent.store(false, Ordering::Release);
        if gen != 0 {
            let old = self.peer.peer_gen.swap(gen, Ordering::AcqRel);
            if old != 0 && old != gen {
                // The peer restarted: its sequence numbers start again, on
                // every path (`rds_conn_peer_gen_update()`).
                self.peer.restarts.fetch_add(1, Ordering::AcqRel);
            }
        }
        // Wake senders waiting for the handshake.
        sys::cong_wake();
        if n > 1 && self.initiator() {
            if answer {
                self.net.connect_paths(&self.laddr, &self.faddr, n);
            } else {
                self.send_ping();
            }
        }
    }

    /// Sends our congestion map for `laddr` once the connection is up.
    pub(crate) fn queue_map(self: &Arc<Self>) {
        let up = {
            let mut inner = self.inner.lock();
            inner.map_queued = true;
            inner.up
        };
        sys::stat_inc(Stat::CongUpdateQueued);
        if up {
            self.queue_send();
        }
    }

    /// Our congestion map for `laddr`, as a message.
    fn map_msg(&self) -> Result<ListArc<OutMsg>> {
        let mut map = Bytes::from_elem(0u8, cong::MAP_BYTES, GFP_KERNEL)?;
        self.net.rds().fill_cong_map(&self.laddr.addr, &mut map);
        OutMsg::cong_map(map)
    }

    pub(crate) fn queue_send(self: &Arc<Self>) {
        // Most requests come while the work is queued: they skip the
        // reference and queue_work() it would take.
        if !self.send_queued.swap(true, Ordering::SeqCst) {
            let _ = tcp::wq().enqueue::<Arc<Conn>, 0>(self.clone());
        }
    }

    pub(crate) fn queue_recv(self: &Arc<Self>) {
        let _ = tcp::wq().enqueue::<Arc<Conn>, 1>(self.clone());
    }

    pub(crate) fn queue_conn(self: &Arc<Self>) {
        let _ = tcp::wq().enqueue::<Arc<Conn>, 2>(self.clone());
    }

    /// Queues `m` for transmission and makes sure it goes out: port of
    /// `rds_send_queue_rm()` and `rds_conn_path_connect_if_down()`. The send
    /// work writes it.
    pub(crate) fn enqueue(self: &Arc<Self>, m: ListArc<OutMsg>) -> Result {
        if self.queue_msg(m)? != Queued::Down {
            self.queue_send();
        }
        Ok(())
    }

    /// Queues `m` as [`Self::enqueue`] does; if the connection is idle,
    /// writes it from the caller's context, as `rds_sendmsg()` calls
    /// `rds_send_xmit()`: the message then leaves without waiting for a
    /// worker. Idle means nothing queued before it and nothing that TCP
    /// has not had acknowledged: a request after its response. Otherwise
    /// the send work writes it with the others, corked (fewer, fuller
    /// segments). For task context only.
    pub(crate) fn enqueue_xmit(self: &Arc<Self>, m: ListArc<OutMsg>) -> Result {
        match self.queue_msg(m)? {
            Queued::Idle => self.xmit(Writer::Sender),
            Queued::Busy => self.queue_send(),
            Queued::Down => {}
        }
        Ok(())
    }

    /// Puts `m` on the send queue; connects if down.
    fn queue_msg(self: &Arc<Self>, m: ListArc<OutMsg>) -> Result<Queued> {
        let state = {
            let mut inner = self.inner.lock();
            if inner.dead {
                return Err(sys::errno::enetunreach());
            }
            m.seq.store(inner.next_tx_seq, Ordering::Relaxed);
            inner.next_tx_seq += 1;
            let empty = inner.send_queue.is_empty();
            if empty && inner.retrans.is_empty() {
                self.stats.started_waiting(sys::local_clock());
            }
            inner.send_queue.push_back(m);
            match &inner.sock {
                _ if !inner.up => Queued::Down,
                Some(s) if empty && s.write_seq() == s.snd_una() => Queued::Idle,
                _ => Queued::Busy,
            }
        };
        if state == Queued::Down {
            self.queue_conn();
        }
        Ok(state)
    }

    /// Connects if down, or acts on the state of the current connection.
    fn connect_or_check(self: Arc<Self>) {
        let (sock, gen, up, outgoing) = {
            let inner = self.inner.lock();
            if inner.dead {
                return;
            }
            (inner.sock.clone(), inner.gen, inner.up, inner.outgoing)
        };
        let Some(sock) = sock else {
            self.connect();
            return;
        };
        match sock.state() {
            TcpState::Connecting => {}
            TcpState::Established if up => {}
            TcpState::Established => {
                if !outgoing || self.initiator() {
                    self.set_up(gen);
                } else {
                    // We connected only to make the peer, the smaller address,
                    // connect to us (tcp_connect.c: rds_tcp_state_change()).
                    // Until it does, nudge it again, backing off.
                    self.reset(gen);
                    self.retry();
                }
            }
            TcpState::Closed => {
                self.reset(gen);
                self.retry();
            }
        }
    }

    /// Schedules another connection attempt when this side must make one: it is
    /// the initiator, or it has messages for a peer that has not connected.
    fn retry(self: &Arc<Self>) {
        let queued = !self.inner.lock().send_queue.is_empty();
        if self.initiator() || (queued && self.index == 0) {
            self.queue_conn();
        }
    }

    fn set_up(self: &Arc<Self>, gen: u64) {
        {
            let mut inner = self.inner.lock();
            if inner.gen != gen || inner.dead {
                return;
            }
            inner.up = true;
            inner.backoff_ms = 0;
            // A new connection starts with our map (`rds_connect_path_complete()`).
            inner.map_queued = true;
        }
        self.stats.came_up();
        netlink::conn_event(self, netlink::Event::ConnUp);
        self.queue_send();
        self.queue_recv();
    }

    /// Opens a TCP connection to the peer, after the backoff delay when earlier
    /// attempts failed (`rds_queue_reconnect()`).
    fn connect(self: Arc<Self>) {
        // Paths past the first wait for the handshake (rds_tcp_conn_path_connect()),
        // and only the smaller address makes them.
        if self.index > 0 && (self.peer.npaths() < 2 || !self.initiator()) {
            return;
        }
        let cfg = self.net.config();
        let delay = {
            let mut inner = self.inner.lock();
            let d = inner.backoff_ms;
            inner.backoff_ms = (d * 2).clamp(cfg.reconnect_min_ms, cfg.reconnect_max_ms);
            d
        };
        if delay > 0 {
            tcp::msleep(u32::from(sys::random_u16()) % delay);
        }
        let Some(net) = self.net.net_if_alive() else {
            return;
        };
        let sock = TcpSock::connect(
            net,
            &self.laddr.addr,
            &self.faddr,
            self.laddr.scope_id,
            self.index,
            (cfg.tcp_sndbuf, cfg.tcp_rcvbuf),
            self.clone(),
        );
        let mut inner = self.inner.lock();
        match sock {
            Ok(sock) if !inner.dead && inner.sock.is_none() => {
                inner.gen += 1;
                self.install(&mut inner, sock);
                inner.up = false;
                inner.outgoing = true;
            }
            // Dropped outside the lock: closing takes the socket's locks.
            Ok(sock) => {
                drop(inner);
                drop(sock);
            }
            Err(_) => {
                let dead = inner.dead;
                drop(inner);
                if !dead {
                    self.retry();
                }
            }
        }
    }

    /// Installs a connection the peer made to us (it is the smaller address),
    /// replacing ours if any.
    pub(crate) fn accepted(self: &Arc<Self>, sock: Arc<TcpSock>) {
        let gen = self.inner.lock().gen;
        self.reset(gen);
        {
            let mut inner = self.inner.lock();
            if inner.dead {
                return;
            }
            let old = inner.sock.take();
            inner.gen += 1;
            self.install(&mut inner, sock);
            inner.up = false;
            inner.outgoing = false;
            if let Some(old) = old {
                // A connection of ours raced in: ours goes, unread.
                drop(inner);
                drop(old);
            }
        }
        self.queue_conn();
        self.queue_recv();
    }

    /// Takes the connection down: messages written but not acknowledged go back
    /// to the front of the send queue, flagged `RETRANSMITTED`
    /// (`rds_send_path_reset()`). Returns the old socket, whether RDS was up
    /// on it, and the messages that go (map updates, and those of closed
    /// sockets), all to be dropped unlocked.
    fn unsend(&self, inner: &mut ConnInner) -> (Option<Arc<TcpSock>>, bool, List<OutMsg>) {
        let mut requeue = List::new();
        let mut gone = List::new();
        while let Some(m) = inner.retrans.pop_front() {
            requeue.push_back(m);
        }
        while let Some(m) = inner.send_queue.pop_front() {
            requeue.push_back(m);
        }
        while let Some(m) = requeue.pop_front() {
            // The next connection starts with a fresh map; upstream drops a
            // closed socket's messages (rds_send_drop_to()).
            if m.cong || m.sender_closed() {
                gone.push_back(m);
                continue;
            }
            if m.sent.swap(0, Ordering::Relaxed) != 0 {
                m.state.fetch_or(RETRANSMITTED, Ordering::Relaxed);
            }
            inner.send_queue.push_back(m);
        }
        let was_up = core::mem::replace(&mut inner.up, false);
        inner.gen += 1;
        self.cur_gen.store(0, Ordering::Release);
        (inner.sock.take(), was_up, gone)
    }

    /// Makes `sock` the connection, as generation `inner.gen`.
    fn install(&self, inner: &mut ConnInner, sock: Arc<TcpSock>) {
        sock.set_gen(inner.gen);
        self.cur_gen.store(inner.gen, Ordering::Release);
        inner.sock = Some(sock);
    }

    /// Resets the connection of generation `gen`, if it is still current.
    ///
    /// What the old connection still has to read is read and delivered first:
    /// TCP acknowledged those bytes, so their senders will not send them again.
    pub(crate) fn reset(self: &Arc<Self>, gen: u64) {
        // The receive state first (lock order), held until the old
        // connection is read: a newer one's reads, which make the receive
        // state theirs, wait until then.
        let mut rx = self.rx.lock();
        let old = {
            let mut inner = self.inner.lock();
            if inner.gen != gen {
                return;
            }
            sys::stat_inc(Stat::ConnReset);
            self.unsend(&mut inner)
        };
        let (old, was_up, mut gone) = old;
        if let Some(sock) = &old {
            // The last read: what TCP acknowledged is delivered, and it
            // acknowledges nothing after (the peer sends that again). Its
            // sender took the acknowledgement as delivery, so a read short
            // of memory is tried again, for a while.
            for _ in 0..LAST_READ_TRIES {
                if self.read_locked(&mut rx, sock, gen, false) != Err(ENOMEM) {
                    break;
                }
                sys::stat_inc(Stat::RecvDelayedRetry);
                tcp::msleep(1);
            }
            let _ = self.read_locked(&mut rx, sock, gen, true);
        }
        drop(rx);
        drop(old);
        while let Some(m) = gone.pop_front() {
            m.release();
        }
        if was_up {
            netlink::conn_event(self, netlink::Event::ConnDown);
        }
    }

    /// Drops the messages of socket `sk` (those to port `dport` only, when
    /// given) that can go without breaking the stream: all but the head of
    /// the send queue (`rds_send_drop_to()`). When every message goes (the
    /// socket closes), the head lets go of the socket too.
    pub(crate) fn drop_sender(&self, sk: &Sock, dport: Option<u16>) {
        let mut dropped = List::new();
        let mut detached = None;
        {
            let mut inner = self.inner.lock();
            let ConnInner {
                send_queue,
                retrans,
                ..
            } = &mut *inner;
            for (q, keeps_head) in [(send_queue, true), (retrans, false)] {
                let mut keep = List::new();
                // The head of the send queue stays, whatever its progress:
                // the transmit work may be writing it right now, unlocked
                // (only the head is ever partly written).
                let mut head = keeps_head;
                while let Some(m) = q.pop_front() {
                    let mine = dport.map_or(true, |p| p == m.dport) && m.sender_is(sk);
                    let busy = core::mem::take(&mut head);
                    if mine && !busy {
                        dropped.push_back(m);
                    } else {
                        if mine && dport.is_none() {
                            // Settled and put below, unlocked.
                            detached = m.sender.lock().take().map(|s| (m.clone_arc(), s));
                        }
                        keep.push_back(m);
                    }
                }
                q.push_all_back(&mut keep);
            }
        }
        while let Some(m) = dropped.pop_front() {
            m.release();
        }
        if let Some((m, sk)) = detached {
            m.settle(&sk);
        }
    }

    /// The namespace of the connection.
    pub(crate) fn net(&self) -> &Arc<NetState> {
        &self.net
    }

    /// Bytes and messages written and not acknowledged, then not yet
    /// completely written.
    pub(crate) fn queue_usage(&self) -> (u64, u64, u64, u64) {
        let inner = self.inner.lock();
        let sum = |q: &List<OutMsg>| {
            q.iter().fold((0u64, 0u64), |(b, n), m| {
                // CAST: usize fits u64.
                (b + m.data.len() as u64, n + 1)
            })
        };
        let (ub, un) = sum(&inner.retrans);
        let (qb, qn) = sum(&inner.send_queue);
        (ub, un, qb, qn)
    }

    /// The connection's state for `RDS_INFO_*`.
    pub(crate) fn snapshot(&self) -> ConnSnapshot {
        let (next_tx_seq, flags, sock) = {
            let inner = self.inner.lock();
            let mut flags = 0;
            if !inner.send_queue.is_empty() {
                flags |= info::CONN_FLAG_SENDING;
            }
            if inner.up {
                flags |= info::CONN_FLAG_CONNECTED;
            } else if inner.sock.is_some() {
                flags |= info::CONN_FLAG_CONNECTING;
            }
            (inner.next_tx_seq, flags, inner.sock.clone())
        };
        let (next_rx_seq, need) = {
            let rx = self.rx.lock();
            (rx.seq.next(), rx.reasm.need())
        };
        let (hdr_rem, data_rem) = match need {
            // CAST: lengths below 1 MiB.
            Need::Header { len, .. } => (len as u64, 0),
            Need::Payload { len, .. } => (0, len as u64),
        };
        let (tcp, write_seq, snd_una) = match &sock {
            Some(s) => (Some(s.info()), s.write_seq(), s.snd_una()),
            None => (None, 0, 0),
        };
        ConnSnapshot {
            next_tx_seq,
            next_rx_seq,
            flags,
            tcp,
            write_seq,
            snd_una,
            hdr_rem,
            data_rem,
        }
    }

    /// Appends what `RDS_INFO_{SEND,RETRANS}_MESSAGES` report of the messages
    /// waiting to be written (or, with `retrans`, to be acknowledged) to
    /// `out`, up to its capacity; returns how many there are.
    pub(crate) fn queued(&self, retrans: bool, out: &mut KVec<info::MessageInfo>) -> usize {
        let inner = self.inner.lock();
        let q = if retrans {
            &inner.retrans
        } else {
            &inner.send_queue
        };
        let mut n = 0;
        for m in q.iter() {
            n += 1;
            if out.len() < out.capacity() {
                // CAST: payloads are at most 1 MiB.
                let mi = info::MessageInfo {
                    seq: m.seq.load(Ordering::Relaxed),
                    len: m.data.len() as u32,
                    laddr: self.laddr.addr,
                    faddr: self.faddr,
                    lport: m.sport,
                    fport: m.dport,
                    flags: 0,
                    tos: 0,
                };
                // Within capacity: no allocation.
                let _ = out.push(mi, GFP_ATOMIC);
            }
        }
        n
    }

    /// Resets whatever connection is current and reconnects.
    pub(crate) fn reset_current(self: &Arc<Self>) {
        let gen = self.inner.lock().gen;
        self.reset(gen);
        self.retry();
    }

    /// Takes the connection down for good (namespace exit), dropping its queues.
    pub(crate) fn kill(&self) {
        let (old, mut dropped) = {
            let mut inner = self.inner.lock();
            inner.dead = true;
            self.cur_gen.store(0, Ordering::Release);
            let mut dropped = List::new();
            while let Some(m) = inner.retrans.pop_front() {
                dropped.push_back(m);
            }
            while let Some(m) = inner.send_queue.pop_front() {
                dropped.push_back(m);
            }
            (inner.sock.take(), dropped)
        };
        drop(old);
        while let Some(m) = dropped.pop_front() {
            m.release();
        }
    }

    /// Drops acknowledged messages from the retransmit queue
    /// (`rds_send_path_drop_acked()` with `rds_tcp_is_acked()`); returns
    /// whether messages or a map update wait to be written on the
    /// connection, up, of generation `gen`.
    fn drop_acked(&self, sock: &TcpSock, gen: u64) -> bool {
        let una = sock.snd_una();
        let mut acked = List::new();
        let more = {
            let mut inner = self.inner.lock();
            if inner.gen != gen {
                return false;
            }
            while let Some(c) = inner.retrans.cursor_front() {
                if !tcp_acked(c.current().last.load(Ordering::Relaxed), una) {
                    break;
                }
                acked.push_back(c.remove());
            }
            inner.up && (!inner.send_queue.is_empty() || inner.map_queued)
        };
        if acked.is_empty() {
            return more;
        }
        let now = sys::local_clock();
        while let Some(m) = acked.pop_front() {
            sys::stat_inc(Stat::SendDropAcked);
            self.stats.acked(m.queued_at, now);
            m.release();
        }
        more
    }

    /// Leaves a request for the writer at work (`xmit_again`); returns
    /// whether there is one to honour it. The writer checks for a request
    /// after letting go of `in_xmit`, and both sides are SeqCst: either it
    /// sees the request, or this sees it gone.
    fn ask_writer(&self) -> bool {
        self.xmit_again.store(true, Ordering::SeqCst);
        self.in_xmit.load(Ordering::SeqCst)
    }

    /// Writes queued messages to TCP, in whichever context asks first: the
    /// send work, or sendmsg in the sender's own context (port of
    /// `rds_send_xmit()`, whose `RDS_IN_XMIT` bit and `cp_send_gen` these
    /// flags play). One context writes at a time; another one that asks
    /// meanwhile leaves a request, and the writer runs again before it stops,
    /// so that no message or write-space event is missed.
    fn xmit(self: &Arc<Self>, writer: Writer) {
        for _ in 0..XMIT_ROUNDS {
            if self.in_xmit.swap(true, Ordering::SeqCst) {
                sys::stat_inc(Stat::SendLockContention);
                if self.ask_writer() {
                    return;
                }
                // The writer let go already, and may have missed it.
                continue;
            }
            self.xmit_again.store(false, Ordering::SeqCst);
            let end = self.xmit_batch(writer);
            self.in_xmit.store(false, Ordering::SeqCst);
            if end == XmitEnd::Limit {
                break;
            }
            if !self.xmit_again.load(Ordering::SeqCst) {
                return;
            }
            sys::stat_inc(Stat::SendLockQueueRaced);
        }
        // More to write: the send work goes on, yielding this context.
        sys::stat_inc(Stat::SendDelayedRetry);
        self.queue_send();
    }

    /// Writes up to `writer.batch()` queued messages to TCP (port of the
    /// loop of `rds_send_xmit()` with `rds_tcp_xmit()`). Only [`Self::xmit`]
    /// calls it, with the `in_xmit` flag held.
    fn xmit_batch(self: &Arc<Self>, writer: Writer) -> XmitEnd {
        let batch = writer.batch();
        // Uncorked on every way out.
        let mut cork = Cork(None);
        for _ in 0..batch {
            let (sock, gen, msgs, more) = {
                let mut inner = self.inner.lock();
                if inner.dead || !inner.up {
                    return XmitEnd::Stop;
                }
                let Some(sock) = inner.sock.clone() else {
                    return XmitEnd::Stop;
                };
                let head: Option<Arc<OutMsg>> =
                    inner.send_queue.cursor_front().map(|c| c.current().into());
                // A map update goes between messages (`rds_send_xmit()`).
                let between = head
                    .as_ref()
                    .map_or(true, |h| h.sent.load(Ordering::Relaxed) == 0);
                if inner.map_queued && between {
                    inner.map_queued = false;
                    let gen = inner.gen;
                    drop(inner);
                    match self.map_msg() {
                        Ok(m) => {
                            let mut inner = self.inner.lock();
                            let mut stale = None;
                            if inner.gen == gen {
                                // An update not yet started is stale: going
                                // out after this one, it would undo it and
                                // leave the peer with a congested port for good.
                                // Upstream sends the live map's pages, so
                                // never has an old copy.
                                if inner.send_queue.cursor_front().is_some_and(|c| {
                                    c.current().cong
                                        && c.current().sent.load(Ordering::Relaxed) == 0
                                }) {
                                    stale = inner.send_queue.pop_front();
                                }
                                inner.send_queue.push_front(m);
                            }
                            // Freed unlocked (a map may be vmalloc'ed), as is
                            // `m` when the connection changed.
                            drop(inner);
                            drop(stale);
                        }
                        // Out of memory: kept queued, for the next run
                        // (a write-space callback, a send, a map change).
                        Err(_) => {
                            self.inner.lock().map_queued = true;
                            return XmitEnd::Stop;
                        }
                    }
                    continue;
                }
                // Behind a head in page fragments, the messages not yet
                // started that are too go with it, in one call: TCP then
                // sends them as one packet (GSO), where, a call each, it
                // would send each segment as it fills.
                let mut msgs: [Option<Arc<OutMsg>>; tcp::FRAGS_MAX] = Default::default();
                let mut more = false;
                if let Some(h) = head {
                    let gather = h.spliceable();
                    msgs[0] = Some(h);
                    let mut k = 1;
                    let mut next = inner.send_queue.cursor_front().and_then(|c| c.next());
                    while let Some(c) = next {
                        let m = c.current();
                        let fits = gather
                            && k < tcp::FRAGS_MAX
                            && m.spliceable()
                            && m.sent.load(Ordering::Relaxed) == 0;
                        if !fits {
                            more = true;
                            break;
                        }
                        msgs[k] = Some(m.into());
                        k += 1;
                        next = c.next();
                    }
                }
                (sock, inner.gen, msgs, more)
            };
            let Some(head) = msgs[0].as_ref() else {
                self.drop_acked(&sock, gen);
                return XmitEnd::Empty;
            };
            // A lone message goes out at once; a batch shares segments.
            if more {
                cork.on(&sock);
            }
            let mut offs = [0usize; tcp::FRAGS_MAX];
            let mut frags: [Option<&Frag>; tcp::FRAGS_MAX] = [None; tcp::FRAGS_MAX];
            for (i, m) in msgs.iter().enumerate() {
                let Some(m) = m else {
                    break;
                };
                offs[i] = m.sent.load(Ordering::Relaxed);
                frags[i] = m.data.frag().filter(|_| m.spliceable());
            }
            let hdr = |i: usize| msgs[i].as_ref().map_or([0; HEADER_LEN], |m| m.header());
            // Without a copy if the head is in page fragments. A message
            // given to TCP before (a retransmission, whose old references
            // may still cover its header) is copied, as others are.
            let (k, res) = sock.send_frags(&frags, &offs, hdr).unwrap_or_else(|| {
                let (sent, hdr) = (offs[0], head.header());
                let payload = head.data.payload();
                let (h, d) = if sent < HEADER_LEN {
                    (&hdr[sent..], payload)
                } else {
                    (&hdr[..0], &payload[sent - HEADER_LEN..])
                };
                (1, sock.send(h, d))
            });
            match res {
                Ok(n) => {
                    let mut inner = self.inner.lock();
                    // Bytes not yet counted to a message, in order.
                    let mut left = n;
                    if inner.gen != gen {
                        // Reset meanwhile (`unsend()` ran): these bytes went
                        // to the old connection, and the messages start
                        // again on the next. They may have reached the peer
                        // whole: flagged, so that a copy is dropped.
                        for (i, m) in msgs.iter().take(k).flatten().enumerate() {
                            let took = left.min(m.wire_len() - offs[i]);
                            left -= took;
                            if took != 0 {
                                m.state.fetch_or(RETRANSMITTED, Ordering::Relaxed);
                            }
                        }
                        continue;
                    }
                    // The TCP sequence after the last byte queued: only
                    // this context writes.
                    let end = sock.write_seq();
                    let mut moved = None;
                    for (i, m) in msgs.iter().take(k).flatten().enumerate() {
                        let took = left.min(m.wire_len() - offs[i]);
                        left -= took;
                        let total = offs[i] + took;
                        m.sent.store(total, Ordering::Relaxed);
                        if total != m.wire_len() {
                            break;
                        }
                        // CAST: bytes of one call, far below 4 GiB.
                        let last = end.wrapping_sub(left as u32).wrapping_sub(1);
                        m.last.store(last, Ordering::Relaxed);
                        let was = m.state.fetch_or(WRITTEN, Ordering::Relaxed);
                        self.stats
                            .sent(m.data.len(), was & WRITTEN == 0, was & RETRANSMITTED != 0);
                        if let Some(c) = inner.send_queue.cursor_front() {
                            if core::ptr::eq(&*c.current(), &**m) {
                                let done = c.remove();
                                if !done.cong {
                                    inner.retrans.push_back(done);
                                    moved = Some(last);
                                }
                            }
                        }
                    }
                    let empty = inner.send_queue.is_empty() && !inner.map_queued;
                    drop(inner);
                    // The acknowledgement may have come during the
                    // write (`release_sock()` processes it), its
                    // write-space callback finding the messages not yet
                    // on the retransmit queue.
                    if moved.is_some_and(|last| tcp_acked(last, sock.snd_una())) {
                        self.drop_acked(&sock, gen);
                    }
                    if empty {
                        return XmitEnd::Empty;
                    }
                }
                Err(e) if e == EAGAIN => {
                    // The write-space callback asks again.
                    sys::stat_inc(Stat::TcpSndbufFull);
                    return XmitEnd::Stop;
                }
                // A sender leaves the reset, which may wait, to the send
                // work, which meets the error again (or not, if it passed).
                Err(_) if writer == Writer::Sender => {
                    self.queue_send();
                    return XmitEnd::Stop;
                }
                Err(_) => {
                    self.reset(gen);
                    self.queue_conn();
                    return XmitEnd::Stop;
                }
            }
        }
        XmitEnd::Limit
    }

    /// Reads and delivers what the current TCP connection has (port of
    /// `rds_tcp_recv_path()` and `rds_tcp_data_recv()`).
    fn recv(self: Arc<Self>) {
        let (sock, gen) = {
            let inner = self.inner.lock();
            if inner.dead {
                return;
            }
            match &inner.sock {
                Some(s) => (s.clone(), inner.gen),
                None => return,
            }
        };
        let res = self.read_sock(&sock, gen, false);
        if res == Err(ENOMEM) {
            // Out of memory with a message half read: what TCP holds stays
            // there, and a new run reads it (upstream requeues too).
            sys::stat_inc(Stat::RecvDelayedRetry);
            self.queue_recv();
        } else if res.is_err() {
            if sys::net_ratelimit() {
                pr_info!("dropping a connection: malformed RDS stream from the peer\n");
            }
            self.reset(gen);
            if self.initiator() {
                self.queue_conn();
            }
        }
    }

    /// TCP's data-ready callback for the current connection: reads at once,
    /// as upstream's `rds_tcp_data_ready()` does, so that a message reaches
    /// its socket without waiting for a worker. Left to the receive work:
    /// the start of a new connection's stream, whatever arrives while
    /// another context reads, and what needs a task (`Ctx::Ready`).
    pub(crate) fn data_ready(self: &Arc<Self>, ready: &DataReady<'_>) {
        let gen = ready.sock().gen();
        let done = gen == self.cur_gen.load(Ordering::Acquire)
            && self.rx.try_lock().is_some_and(|mut rx| {
                rx.gen == gen
                    && rx.pending.is_none()
                    && self
                        .read_stream(&mut rx, Ctx::Ready, |actor| ready.read(actor))
                        .is_ok()
            });
        if !done {
            self.queue_recv();
        }
    }

    /// TCP's write-space callback, called as acknowledgements arrive
    /// (softirq): drops the messages now acknowledged, as upstream's
    /// `rds_tcp_write_space()` does, and has what waits for room written:
    /// by the writer at work if there is one, else by the send work.
    pub(crate) fn write_space(self: &Arc<Self>, sock: &TcpSock) {
        // A writer at work runs again for what waits, as for a concurrent
        // sendmsg in `xmit()`: often the callback runs inside the writer's
        // own `tcp_sendmsg()`, which processes the peer's acknowledgement
        // on `release_sock()`, and the work would then only find the queue
        // empty.
        if self.drop_acked(sock, sock.gen()) && !self.ask_writer() {
            self.queue_send();
        }
    }

    /// Reads and delivers what `sock`, of generation `gen`, has; with
    /// `last`, then resets the connection ([`TcpSock::read`]).
    fn read_sock(self: &Arc<Self>, sock: &TcpSock, gen: u64, last: bool) -> Result {
        let mut rx = self.rx.lock();
        self.read_locked(&mut rx, sock, gen, last)
    }

    /// [`Self::read_sock`] with the receive state locked.
    fn read_locked(
        self: &Arc<Self>,
        rx: &mut RxState,
        sock: &TcpSock,
        gen: u64,
        last: bool,
    ) -> Result {
        if gen < rx.gen {
            // A newer connection is being read already: nothing of this
            // one is wanted any more.
            return if last {
                sock.read(true, |_, _, _| Ok(0))
            } else {
                Ok(())
            };
        }
        // What the data-ready callback left: it came from TCP before
        // anything still there.
        match rx.pending.take() {
            Some(Pending::Frame(h, data)) => self.incoming(rx, h, data, Ctx::Task),
            Some(Pending::Deliver(sk, inc)) => recv::deliver(&sk, inc),
            None => {}
        }
        if rx.gen != gen {
            // A new TCP connection starts a new stream.
            rx.gen = gen;
            rx.reasm = Reassembler::new();
            rx.payload = None;
            rx.broken = false;
        }
        self.read_stream(rx, Ctx::Task, |actor| sock.read(last, actor))
    }

    /// Reads the stream of `rx.gen` through `read` (a `tcp_read_sock()`
    /// that calls its actor with each piece of data).
    fn read_stream(
        self: &Arc<Self>,
        rx: &mut RxState,
        ctx: Ctx,
        read: impl FnOnce(&mut dyn FnMut(&Skb, usize, usize) -> Result<usize>) -> Result,
    ) -> Result {
        rx.stalled = false;
        let mut err = None;
        read(&mut |skb, off, len| {
            if rx.broken {
                // Past a malformed frame: nothing more of this connection is
                // delivered, whatever reads it (the reset's last read too).
                return Ok(len);
            }
            // What was delivered before the error is consumed with it: read
            // again, it would be delivered twice.
            self.consume(rx, skb, off, len, ctx).or_else(|e| {
                rx.broken = true;
                err = Some(e);
                Ok(len)
            })
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if rx.broken {
            // Found malformed by an earlier read (the data-ready callback's,
            // which leaves the reset to the receive work).
            return Err(EINVAL);
        }
        if rx.stalled {
            return Err(ENOMEM);
        }
        Ok(())
    }

    fn consume(
        self: &Arc<Self>,
        rx: &mut RxState,
        skb: &Skb,
        off: usize,
        len: usize,
        ctx: Ctx,
    ) -> Result<usize> {
        let flags = ctx.gfp();
        let mut done = 0;
        // Stalled, tcp_read_sock() still offers the rest of the skb: none of
        // it is taken (0 ends its loop). So after a message left pending.
        while done < len && !rx.stalled {
            let n = match rx.reasm.need() {
                Need::Header { off: at, len: want } => {
                    if at == 0 && rx.slot.is_none() {
                        let Ok(slot) = Incoming::reserve(flags) else {
                            rx.stalled = true;
                            break;
                        };
                        rx.slot = Some(slot);
                    }
                    let n = want.min(len - done);
                    skb.copy(off + done, &mut rx.reasm.header_buf()[at..at + n])?;
                    n
                }
                Need::Payload { off: at, len: want } => {
                    if at == 0 && rx.payload.is_none() {
                        if ctx == Ctx::Ready && want > READY_PAYLOAD_MAX {
                            rx.stalled = true;
                            break;
                        }
                        let Ok(buf) = sys::bytes_with_capacity(want, flags) else {
                            rx.stalled = true;
                            break;
                        };
                        rx.payload = Some(Payload::Flat(buf));
                    }
                    let n = want.min(len - done);
                    let payload = rx.payload.as_mut().ok_or(EINVAL)?;
                    // Filled in order: `at` bytes so far.
                    if payload.len() != at {
                        return Err(EINVAL);
                    }
                    match payload {
                        Payload::Flat(buf) => skb.append(off + done, n, buf)?,
                        // Shares of small segments hold far more memory
                        // than their bytes: the payload is copied instead,
                        // as a smaller one is.
                        Payload::Skbs(chain) if skb_chain_too_thin(chain) => {
                            let total = at + want;
                            if ctx == Ctx::Ready && total > READY_PAYLOAD_MAX {
                                rx.stalled = true;
                                break;
                            }
                            let Ok(buf) = chain.to_flat(total, flags) else {
                                rx.stalled = true;
                                break;
                            };
                            *payload = Payload::Flat(buf);
                            // Read again, into the copy.
                            continue;
                        }
                        Payload::Skbs(chain) => {
                            if chain.add(skb, off + done, n, ctx == Ctx::Ready).is_err() {
                                rx.stalled = true;
                                break;
                            }
                        }
                    }
                    n
                }
            };
            done += n;
            let progress = rx.reasm.advance(n).map_err(crate::proto_err)?;
            if let Progress::Header(_) = progress {
                rx.hdr_at = sys::local_clock();
            }
            match progress {
                Progress::Partial => {}
                Progress::Header(h) if h.len == 0 => {
                    self.incoming(rx, h, Payload::Flat(Bytes::new()), ctx)
                }
                // Large data for a socket stays in the skbs it arrives in,
                // as upstream's `rds_tcp_data_recv()` keeps all data: no
                // copy, and no allocation of its size.
                Progress::Header(h) if h.len as usize >= SKB_PAYLOAD_MIN && !is_frame(&h) => {
                    rx.payload = Some(Payload::Skbs(SkbChain::new()));
                }
                // Other payloads are copied into memory of ours, taken when
                // their first byte is read.
                Progress::Header(_) => {}
                Progress::Complete(h) => {
                    let data = rx.payload.take().ok_or(EINVAL)?;
                    self.incoming(rx, h, data, ctx);
                }
            }
        }
        Ok(done)
    }

    /// A complete message from the peer (`rds_recv_incoming()`). From the
    /// data-ready callback, what needs a task is left pending and reading
    /// stops.
    fn incoming(self: &Arc<Self>, rx: &mut RxState, h: Header, data: Payload, ctx: Ctx) {
        if ctx == Ctx::Ready && is_frame(&h) {
            rx.pending = Some(Pending::Frame(h, data));
            rx.stalled = true;
            return;
        }
        let start = sys::local_clock();
        if h.flags == Flags::CONG_BITMAP {
            // The peer's congestion map, outside the sequence
            // (`rds_tcp_cong_recv()`); a map of the wrong size is ignored.
            // A frame is read into our memory (`consume()`).
            match data {
                Payload::Flat(map) if map.len() == cong::MAP_BYTES => {
                    self.stats.received(map.len());
                    let changed = self.peer.replace_map(map);
                    sys::stat_inc(Stat::CongUpdateReceived);
                    self.net.cong_map_updated(!0);
                    netlink::peer_map_event(self, &changed);
                }
                _ => {}
            }
            return;
        }
        let restarts = self.peer.restarts.load(Ordering::Acquire);
        if rx.restarts != restarts {
            rx.restarts = restarts;
            rx.seq.reset();
        }
        if !rx.seq.accept(&h) {
            sys::stat_inc(Stat::RecvDropOldSeq);
            return;
        }
        self.stats.received(data.len());
        if h.flags.contains(Flags::CONG_BITMAP) {
            // The peer's congestion map: not used yet.
            return;
        }
        if h.dport == 0 && h.sport == PROBE_PORT {
            // A handshake probe: it says how many paths the peer has. Kept
            // even when pings go unanswered (upstream drops it then), and
            // before the answer leaves, so that the paths the answer makes
            // the peer connect are accepted.
            self.handshake(&h, false);
        }
        if h.dport == 0 && self.net.ping_enable() {
            // A ping (rds-ping, or a multipath handshake probe): answer it.
            // A ping from port 0 gets no answer.
            sys::stat_inc(Stat::RecvPing);
            if h.sport != 0 {
                if let Ok(pong) = OutMsg::probe(0, h.sport, self.net.npaths()) {
                    if self.enqueue(pong).is_ok() {
                        sys::stat_inc(Stat::SendPong);
                    }
                }
            }
            return;
        }
        if h.dport == PROBE_PORT && h.sport == 0 {
            // The answer to our handshake probe.
            self.handshake(&h, true);
            return;
        }
        let src = Endpoint {
            addr: self.faddr,
            port: h.sport,
            scope_id: self.laddr.scope_id,
        };
        let dst = Endpoint {
            port: h.dport,
            ..self.laddr
        };
        let Some(sk) = self.net.rds().lookup(&dst) else {
            sys::stat_inc(Stat::RecvDropNoSock);
            return;
        };
        let inc = match rx.slot.take() {
            Some(slot) => Incoming::fill(slot, h, src, data),
            // Not reached: a message's header is read only with a slot.
            None => match Incoming::reserve(ctx.gfp()) {
                Ok(slot) => Incoming::fill(slot, h, src, data),
                Err(_) => return,
            },
        };
        inc.set_trace(rx.hdr_at, start);
        if ctx == Ctx::Task {
            recv::deliver(&sk, inc);
        } else if let Err(inc) = recv::deliver_ready(&sk, inc) {
            rx.pending = Some(Pending::Deliver(sk, inc));
            rx.stalled = true;
        }
    }
}

/// Whether a message is one the receive path handles itself (a congestion
/// map, a ping, a pong or a handshake probe) rather than data for a socket.
fn is_frame(h: &Header) -> bool {
    h.flags.contains(Flags::CONG_BITMAP) || h.dport == 0 || h.dport == PROBE_PORT
}

/// The connection a message was queued on ([`Conn::queue_msg`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Queued {
    /// Not up: it is being connected.
    Down,
    /// Up, with nothing queued before the message and nothing in flight.
    Idle,
    /// Up, with more to write or to be acknowledged.
    Busy,
}

/// How a run of [`Conn::xmit_batch`] ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum XmitEnd {
    /// The send queue is empty.
    Empty,
    /// `batch` messages went out; there may be more.
    Limit,
    /// Nothing can go now (no room in TCP, connection not up, no memory);
    /// an event (write space, connection up, a send) starts a new run.
    Stop,
}

/// The context that runs [`Conn::xmit`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// The send work.
    Work,
    /// sendmsg, in the sender's context, for an idle connection.
    Sender,
}

impl Writer {
    /// Writes (each of one message, or of up to `tcp::FRAGS_MAX` messages
    /// in page fragments) made before the send work takes over (a new run
    /// of it, or it from the sender): upstream's `send_batch_count` is 64
    /// messages.
    fn batch(self) -> usize {
        match self {
            Writer::Work => 1024,
            Writer::Sender => 64,
        }
    }
}
/// Runs of [`Conn::xmit`] for requests made meanwhile before the send work
/// takes over.
const XMIT_ROUNDS: usize = 2;

/// The connection the send work is writing to, corked for the batch as
/// upstream's `rds_tcp_xmit_path_prepare()` and `_complete()` do: small
/// messages then share segments instead of taking one each. Uncorking, when
/// the work moves to another connection or ends, sends what is pending.
struct Cork(Option<Arc<TcpSock>>);

impl Cork {
    fn on(&mut self, sock: &Arc<TcpSock>) {
        if self.0.as_ref().is_some_and(|s| Arc::ptr_eq(s, sock)) {
            return;
        }
        if let Some(old) = self.0.replace(sock.clone()) {
            old.cork(false);
        }
        sock.cork(true);
    }
}

impl Drop for Cork {
    fn drop(&mut self) {
        if let Some(sock) = self.0.take() {
            sock.cork(false);
        }
    }
}

/// Queues `data` from `src` to `dest` on `conn` (`rds_send_queue_rm()`).
pub(crate) fn send(
    conn: &Arc<Conn>,
    sk: &Sock,
    src: Endpoint,
    dest: Endpoint,
    data: SendBuf,
    zcookie: Option<(u32, ListArc<ZInfo>)>,
) -> Result {
    let m = OutMsg::new(src.port, dest.port, data, Some(sk.into()), zcookie)?;
    conn.enqueue_xmit(m)
}

/// The key of the paths from `src`'s address to `dest`'s.
fn paths_key(src: Endpoint, dest: Endpoint) -> Endpoint {
    Endpoint {
        port: 0,
        scope_id: dest.scope_id,
        ..src
    }
}

/// The namespace's paths from `src`'s address to `dest`'s, created (down)
/// if needed.
pub(crate) fn paths_to(net: &Arc<NetState>, src: Endpoint, dest: Endpoint) -> Result<Arc<Paths>> {
    net.paths(paths_key(src, dest), dest.addr)
}

/// The namespace's paths from `src`'s address to `dest`'s, if they exist.
pub(crate) fn find_paths(net: &NetState, src: Endpoint, dest: Endpoint) -> Option<Arc<Paths>> {
    net.find_paths(paths_key(src, dest), dest.addr)
}
