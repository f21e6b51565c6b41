// SPDX-License-Identifier: GPL-2.0

//! The `rds_tcp` generic netlink family: what its requests read and change,
//! and its events (include/uapi/linux/rds_tcp_nl.h documents the
//! interface). sys/genl.c holds the policies and puts the attributes; this
//! side fills plain structs from the connection and socket state.

use core::sync::atomic::Ordering;

use kernel::prelude::*;

use crate::conn::{ChangedPorts, Conn};
use crate::netns::NetState;
use crate::proto::addr::{Addr, Endpoint};
use crate::proto::config::{Attr, Change};
use crate::proto::metrics;
use crate::proto::{info, ProtoError};
use crate::sys::{self, NlConfig, NlConn, NlEvent, NlKey, NlPath, NlSock};

/// `enum rds_tcp_event`.
#[derive(Clone, Copy)]
pub(crate) enum Event {
    ConnUp = 1,
    ConnDown = 2,
    PortCongested = 3,
    PortUncongested = 4,
    PathStalled = 5,
    PathUnstalled = 6,
}

/// `RDS_TCP_EVENT_A_*` presence bits of `NlEvent::present`.
const EV_PEER_ADDR: u32 = 1 << 3;
const EV_PATH: u32 = 1 << 6;
const EV_LOCAL_PORT: u32 = 1 << 7;
const EV_PEER_PORT: u32 = 1 << 8;
const EV_LAST_PROGRESS_MS: u32 = 1 << 9;
const EV_WAITING_BYTES: u32 = 1 << 10;

/// Milliseconds between stall checks.
const TICK_MS: u32 = 1000;

/// `enum rds_tcp_path_state`.
const PATH_DOWN: u32 = 0;
const PATH_CONNECTING: u32 = 1;
const PATH_UP: u32 = 3;

fn key(laddr: &Endpoint, faddr: &Addr) -> NlKey {
    NlKey {
        laddr: laddr.addr.0,
        faddr: faddr.0,
        ifindex: laddr.scope_id,
        tos: 0,
    }
}

/// A path's TCP connection came up or went down.
pub(crate) fn conn_event(c: &Conn, ev: Event) {
    let net = c.net();
    if !net.net_ref().nl_listening() {
        return;
    }
    net.net_ref().nl_notify(&NlEvent {
        present: EV_PEER_ADDR | EV_PATH,
        type_: ev as u32,
        key: key(&c.laddr, &c.faddr),
        path: u32::from(c.index),
        ..NlEvent::default()
    });
}

/// Once a second: reports paths that stalled or recovered (path-stalled,
/// path-unstalled). Returns the milliseconds until the next check.
pub(crate) fn tick(net: &NetState) -> u32 {
    let stall_ms = net.stall_ms();
    let now = sys::local_clock();
    for c in net.conns().iter() {
        let (ub, un, qb, qn) = c.queue_usage();
        let since = c.stats.since_progress_ms(now);
        let stalled = metrics::stalled(stall_ms, un + qn > 0, since);
        if !c.stats.set_stalled(stalled) || !net.net_ref().nl_listening() {
            continue;
        }
        let (ty, present) = if stalled {
            (
                Event::PathStalled,
                EV_PEER_ADDR | EV_PATH | EV_LAST_PROGRESS_MS | EV_WAITING_BYTES,
            )
        } else {
            (Event::PathUnstalled, EV_PEER_ADDR | EV_PATH)
        };
        net.net_ref().nl_notify(&NlEvent {
            present,
            type_: ty as u32,
            key: key(&c.laddr, &c.faddr),
            path: u32::from(c.index),
            last_progress_ms: since,
            waiting_bytes: ub + qb,
            ..NlEvent::default()
        });
    }
    TICK_MS
}

/// The receive queue of the socket bound to `ep` crossed its limit.
pub(crate) fn local_port_event(net: &NetState, ep: &Endpoint, congested: bool) {
    if !net.net_ref().nl_listening() {
        return;
    }
    let ty = if congested {
        Event::PortCongested
    } else {
        Event::PortUncongested
    };
    net.net_ref().nl_notify(&NlEvent {
        present: EV_LOCAL_PORT,
        type_: ty as u32,
        key: key(ep, &Addr::ANY),
        lport: ep.port,
        ..NlEvent::default()
    });
}

/// The peer of `c` sent a congestion map that changed the ports in `changed`.
pub(crate) fn peer_map_event(c: &Conn, changed: &ChangedPorts) {
    let net = c.net();
    if changed.n == 0 || !net.net_ref().nl_listening() {
        return;
    }
    let k = key(&c.laddr, &c.faddr);
    for &(port, congested) in &changed.ports[..changed.n] {
        let ty = if congested {
            Event::PortCongested
        } else {
            Event::PortUncongested
        };
        net.net_ref().nl_notify(&NlEvent {
            present: EV_PEER_ADDR | EV_PEER_PORT,
            type_: ty as u32,
            key: k,
            fport: port,
            ..NlEvent::default()
        });
    }
}

/// `RDS_TCP_CMD_GET_CONFIG`.
pub(crate) fn get_config(net: &NetState, out: &mut NlConfig) {
    let s = net.settings();
    out.tcp_sndbuf = s.tcp_sndbuf;
    out.tcp_rcvbuf = s.tcp_rcvbuf;
    out.npaths = s.npaths;
    out.reconnect_min_ms = s.reconnect_min_ms;
    out.reconnect_max_ms = s.reconnect_max_ms;
    out.ping_enable = u8::from(s.ping_enable);
    out.stall_ms = s.stall_ms;
}

/// Why `RDS_TCP_CMD_SET_CONFIG` was refused: errno, attribute, message.
pub(crate) struct SetError {
    pub(crate) err: Error,
    pub(crate) attr: u32,
    pub(crate) why: &'static core::ffi::CStr,
}

/// `RDS_TCP_CMD_SET_CONFIG`: every attribute `req.present` names, or none.
pub(crate) fn set_config(net: &NetState, req: &NlConfig) -> core::result::Result<(), SetError> {
    let has = |a: Attr| req.present & (1 << a as u32) != 0;
    let take = |a: Attr, v: u32| has(a).then_some(v);
    let ch = Change {
        tcp_sndbuf: take(Attr::TcpSndbuf, req.tcp_sndbuf),
        tcp_rcvbuf: take(Attr::TcpRcvbuf, req.tcp_rcvbuf),
        npaths: take(Attr::Npaths, req.npaths),
        reconnect_min_ms: take(Attr::ReconnectMinMs, req.reconnect_min_ms),
        reconnect_max_ms: take(Attr::ReconnectMaxMs, req.reconnect_max_ms),
        ping_enable: has(Attr::PingEnable).then_some(req.ping_enable != 0),
        stall_ms: take(Attr::StallMs, req.stall_ms),
    };
    net.set_settings(&ch).map_err(|r| SetError {
        err: if r.unsupported {
            sys::errno::eopnotsupp()
        } else {
            crate::proto_err(ProtoError::Invalid)
        },
        attr: r.attr.map_or(0, |a| a as u32),
        why: r.why,
    })
}

/// `RDS_TCP_CMD_GET_CONN` dump: the connection at `idx`.
pub(crate) fn conn_at(net: &NetState, idx: usize, out: &mut NlConn) -> Result {
    let paths = net.peer_at(idx).ok_or(ENOENT)?;
    let first = &paths.conns[0];
    out.key = key(&first.laddr, &first.faddr);
    out.local_cong_ports = net.rds().congested_ports(&first.laddr.addr);
    out.peer_cong_ports = paths.peer.congested_ports();
    out.tx_enobufs = paths.peer.enobufs.load(Ordering::Relaxed);
    let now = sys::local_clock();
    let stall_ms = net.stall_ms();
    // Path 0 always; the others once they have been used.
    let mut n = 0;
    for (i, c) in paths.conns.iter().enumerate() {
        let s = c.snapshot();
        let used = s.flags != 0 || s.next_tx_seq > 1 || s.next_rx_seq > 1;
        if i > 0 && !used {
            continue;
        }
        let Some(p) = out.paths.get_mut(n) else {
            break;
        };
        fill_path(c, &s, now, stall_ms, p);
        n += 1;
    }
    // CAST: at most 8.
    out.npaths = n as u32;
    Ok(())
}

fn fill_path(c: &Conn, s: &crate::conn::ConnSnapshot, now: u64, stall_ms: u32, p: &mut NlPath) {
    let r = c.stats.report(now);
    let (ub, un, qb, qn) = c.queue_usage();
    p.index = u32::from(c.index);
    p.state = if s.flags & info::CONN_FLAG_CONNECTED != 0 {
        PATH_UP
    } else if s.flags & info::CONN_FLAG_CONNECTING != 0 {
        PATH_CONNECTING
    } else {
        PATH_DOWN
    };
    if let Some(t) = &s.tcp {
        p.has_sock = 1;
        p.lport = t.lport;
        p.fport = t.pport;
        p.rtt_us = t.srtt_us;
        p.rttvar_us = t.rttvar_us;
    }
    p.tx_bytes = r.tx_bytes;
    p.tx_msgs = r.tx_msgs;
    p.rx_bytes = r.rx_bytes;
    p.rx_msgs = r.rx_msgs;
    p.retrans_msgs = r.retrans_msgs;
    p.reconnects = r.reconnects;
    p.unacked_bytes = ub;
    p.unacked_msgs = un;
    p.queued_bytes = qb;
    p.queued_msgs = qn;
    p.next_tx_seq = s.next_tx_seq;
    p.next_rx_seq = s.next_rx_seq;
    p.last_progress_ms = r.since_progress_ms;
    p.stalled = u8::from(metrics::stalled(stall_ms, un + qn > 0, r.since_progress_ms));
    p.lat = r.lat;
}

/// `RDS_TCP_CMD_GET_SOCK` dump: the socket at `idx`.
pub(crate) fn sock_at(net: &NetState, idx: usize, out: &mut NlSock) -> Result {
    let sk = net.sock_at(idx).ok_or(ENOENT)?;
    let rs = sk.rds();
    let (bound, conn, tos) = {
        let inner = rs.lock();
        (inner.bound, inner.conn, inner.tos)
    };
    if let Some(b) = bound {
        out.bound = 1;
        out.bound_addr = b.addr.0;
        out.bound_port = b.port;
        out.ifindex = b.scope_id;
    }
    if let Some(c) = conn {
        out.connected = 1;
        out.conn_addr = c.addr.0;
        out.conn_port = c.port;
    }
    let (bytes, msgs, congested) = {
        let q = rs.recv.lock();
        let (b, m) = q.usage();
        (b, m, q.map_congested())
    };
    out.tos = tos;
    out.inode = sk.ino();
    // CAST: buffer sizes are ints in the kernel; queues stay below them.
    out.sndbuf = sk.sndbuf() as u32;
    out.snd_bytes = rs.snd_bytes() as u32;
    out.rcvbuf = sk.rcvbuf() as u32;
    out.rcv_bytes = bytes as u32;
    out.rcv_msgs = msgs as u32;
    out.congested = u8::from(congested);
    out.cong_mask = rs.cong_mask();
    out.enobufs = rs.cong.enobufs.load(Ordering::Relaxed);
    Ok(())
}

/// `RDS_TCP_CMD_RESET_CONN`: resets every path of the connection `k`.
pub(crate) fn reset(net: &NetState, k: &NlKey) -> Result {
    // Connections carry TOS 0 only.
    if k.tos != 0 {
        return Err(ENOENT);
    }
    let paths = net
        .peers()
        .into_iter()
        .find(|p| {
            let c = &p.conns[0];
            c.laddr.addr.0 == k.laddr && c.laddr.scope_id == k.ifindex && c.faddr.0 == k.faddr
        })
        .ok_or(ENOENT)?;
    for c in paths.conns.iter() {
        let live = info::CONN_FLAG_CONNECTED | info::CONN_FLAG_CONNECTING;
        if c.snapshot().flags & live != 0 {
            c.reset_current();
        }
    }
    Ok(())
}
