// SPDX-License-Identifier: GPL-2.0

//! `RDS_INFO_*` getsockopt: port of net/rds/info.c and of the info functions
//! that upstream's modules register (statistics, connections, message queues,
//! sockets, TCP sockets). Every list is limited to the caller's namespace, as
//! upstream's are.
//!
//! Upstream pins the caller's pages and copies under its locks; here the
//! records are collected into a kernel buffer and copied out afterwards.

use kernel::prelude::*;
use kernel::uaccess::UserSlice;

use crate::proto::addr::Addr;
use crate::proto::info::{self, Kind, Record};
use crate::proto::stats;
use crate::socket::Transport;
use crate::sys::{self, Sock};

/// getsockopt(`RDS_INFO_*`): writes the records to `uaddr` if `*len` bytes
/// hold them all, and sets `*len` to their total size; `ENOSPC` when they do
/// not fit. On success returns the size of one record, as upstream.
pub(crate) fn getsockopt(sk: &Sock, optname: i32, uaddr: usize, len: &mut i32) -> Result<i32> {
    // CAST: user addresses and page sizes fit in u64.
    let room = info::check_len(*len, uaddr as u64, kernel::page::PAGE_SIZE as u64)
        .map_err(crate::proto_err)?;
    let kind = Kind::from_optname(optname).ok_or_else(sys::errno::enoprotoopt)?;
    let each = kind.each();
    let mut out = Records::new(room / each);
    collect(sk, kind, &mut out)?;
    let total = out.total * each;
    // CAST: record counts are bounded by sockets, connections and queued
    // messages; a total beyond i32 is reported as the largest length.
    *len = i32::try_from(total).unwrap_or(i32::MAX);
    if total > room {
        return Err(ENOSPC);
    }
    UserSlice::new(uaddr, total)
        .writer()
        .write_slice(&out.buf)?;
    // CAST: a record is at most `info::MAX_LEN` bytes.
    Ok(each as i32)
}

/// Records being collected: encoded into `buf` while they fit in the
/// caller's buffer, and all counted in `total`.
struct Records {
    buf: KVVec<u8>,
    room: usize,
    total: usize,
}

impl Records {
    fn new(room: usize) -> Self {
        Self {
            buf: KVVec::new(),
            room,
            total: 0,
        }
    }

    fn add(&mut self, r: &Record) -> Result {
        self.total += 1;
        if self.total <= self.room {
            self.buf.extend_from_slice(r.bytes(), GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Room to reserve for `n` more messages: as many as could be written,
    /// with some slack for messages queued meanwhile.
    fn want(&self, n: usize) -> usize {
        (n + 16).min(self.room.saturating_sub(self.total))
    }

    /// Adds the messages of one queue: `msgs` as read, of `n` queued then.
    /// Messages beyond `msgs` matter only if they make the list too long
    /// for the caller's buffer; otherwise they arrived after the queue was
    /// sized and are left out, so that what is written is what is counted.
    fn add_messages(&mut self, msgs: &[info::MessageInfo], n: usize, v6: bool) -> Result {
        for m in msgs {
            self.add(&info::message(m, v6))?;
        }
        let more = n.saturating_sub(msgs.len());
        if self.total + more > self.room {
            self.total += more;
        }
        Ok(())
    }
}

fn collect(sk: &Sock, kind: Kind, out: &mut Records) -> Result {
    let net = sk.rds().net();
    let v4_only = kind.v4_only();
    let shown = |a: &Addr| !v4_only || a.as_v4().is_some();
    match kind {
        Kind::Counters => {
            for (name, value) in stats::NAMES.iter().zip(sys::stats_sum()) {
                out.add(&info::counter(name, value))?;
            }
        }
        Kind::Connections { v6 } => {
            // One per peer, as upstream: its first path speaks for it.
            let peers = net.peers();
            for c in peers
                .iter()
                .map(|p| &p.conns[0])
                .filter(|c| shown(&c.faddr))
            {
                let s = c.snapshot();
                let ci = info::ConnectionInfo {
                    next_tx_seq: s.next_tx_seq,
                    next_rx_seq: s.next_rx_seq,
                    laddr: c.laddr.addr,
                    faddr: c.faddr,
                    transport: Transport::Tcp.name(),
                    flags: s.flags,
                    tos: 0,
                };
                out.add(&info::connection(&ci, v6))?;
            }
            for ((laddr, faddr), next) in net.loop_pairs()?.iter() {
                if !shown(faddr) {
                    continue;
                }
                let ci = info::ConnectionInfo {
                    next_tx_seq: *next,
                    next_rx_seq: *next,
                    laddr: *laddr,
                    faddr: *faddr,
                    transport: Transport::Loop.name(),
                    flags: info::CONN_FLAG_CONNECTED,
                    tos: 0,
                };
                out.add(&info::connection(&ci, v6))?;
            }
        }
        Kind::SendMessages { v6 } | Kind::RetransMessages { v6 } => {
            let retrans = matches!(kind, Kind::RetransMessages { .. });
            for c in net.conns().iter().filter(|c| shown(&c.faddr)) {
                let mut msgs =
                    KVec::with_capacity(out.want(c.queued(retrans, &mut KVec::new())), GFP_KERNEL)?;
                let n = c.queued(retrans, &mut msgs);
                out.add_messages(&msgs, n, v6)?;
            }
        }
        Kind::RecvMessages { v6 } => {
            for s in net.socks_snapshot()?.iter() {
                let rs = s.rds();
                let Some(bound) = rs.lock().bound else {
                    continue;
                };
                if !shown(&bound.addr) {
                    continue;
                }
                let n = rs.recv.lock().info(&bound, &mut KVec::new());
                let mut msgs = KVec::with_capacity(out.want(n), GFP_KERNEL)?;
                let n = rs.recv.lock().info(&bound, &mut msgs);
                out.add_messages(&msgs, n, v6)?;
            }
        }
        Kind::Sockets { v6 } => {
            for s in net.socks_snapshot()?.iter() {
                let (bound, conn) = {
                    let inner = s.rds().lock();
                    (inner.bound, inner.conn)
                };
                let bound_addr = bound.map_or(Addr::ANY, |b| b.addr);
                if !shown(&bound_addr) {
                    continue;
                }
                // CAST: buffer sizes are ints in the kernel.
                let si = info::SocketInfo {
                    sndbuf: s.sndbuf() as u32,
                    bound_addr,
                    connected_addr: conn.map_or(Addr::ANY, |c| c.addr),
                    bound_port: bound.map_or(0, |b| b.port),
                    connected_port: conn.map_or(0, |c| c.port),
                    rcvbuf: s.rcvbuf() as u32,
                    inum: s.ino(),
                };
                out.add(&info::socket(&si, v6))?;
            }
        }
        Kind::TcpSockets { v6 } => {
            for c in net.conns().iter() {
                let s = c.snapshot();
                let Some(t) = s.tcp else {
                    continue;
                };
                if !shown(&t.faddr) {
                    continue;
                }
                let ti = info::TcpSocketInfo {
                    local_addr: t.laddr,
                    local_port: t.lport,
                    peer_addr: t.faddr,
                    peer_port: t.pport,
                    hdr_rem: s.hdr_rem,
                    data_rem: s.data_rem,
                    last_sent_nxt: s.write_seq,
                    last_expected_una: s.write_seq,
                    last_seen_una: s.snd_una,
                    tos: 0,
                };
                out.add(&info::tcp_socket(&ti, v6))?;
            }
        }
    }
    Ok(())
}
