// SPDX-License-Identifier: GPL-2.0

//! The TCP listener of each namespace and the accept work (net/rds/tcp_listen.c).

use kernel::prelude::*;
use kernel::sync::Arc;

use crate::conn::MPATH_WORKERS;
use crate::netns::NetState;
use crate::proto::addr::Endpoint;
use crate::sys::tcp::{AcceptedSock, TcpSlot};

/// The listener has connections to accept: called in softirq context.
pub(crate) fn accept_ready(net: &Arc<NetState>) {
    net.queue_accept();
}

/// Accepts every waiting connection (`rds_tcp_accept_worker()`).
pub(crate) fn accept_all(net: &Arc<NetState>) {
    let Some(listener) = net.listener() else {
        return;
    };
    // Bounded: the work requeues itself on the next connection anyway.
    for _ in 0..64 {
        let Ok(slot) = TcpSlot::new() else {
            // Out of memory: the connection waits in the accept queue.
            net.queue_accept();
            return;
        };
        match listener.accept() {
            Ok(sock) => {
                if let Err(e) = accept_one(net, sock, slot) {
                    // Network input: anyone can connect, so rate-limited.
                    if crate::sys::net_ratelimit() {
                        pr_info!("refused an RDS/TCP connection: errno {}\n", -e.to_errno());
                    }
                }
            }
            Err(e) if e == EAGAIN => return,
            // Out of memory or the like: the connection stays in the accept
            // queue, and nothing else would come back for it.
            Err(_) => break,
        }
    }
    net.queue_accept();
}

/// Port of `rds_tcp_accept_one()`: a connection from the numerically smaller
/// address is the connection; one from a larger address only tells us to
/// connect, so it is closed and we connect instead.
fn accept_one(net: &Arc<NetState>, sock: AcceptedSock, slot: TcpSlot) -> Result {
    let (local, peer, scope_id) = sock.names()?;
    let laddr = Endpoint {
        addr: local,
        port: 0,
        scope_id: if local.is_link_local() { scope_id } else { 0 },
    };
    let paths = net.paths(laddr, peer)?;
    if peer >= local {
        // We initiate every path; the peer only asks us to connect
        // (`rds_tcp_accept_one_path()`): the first, or after the handshake
        // every path that is down (the peer has messages for one).
        drop(sock);
        // Each path then checks its own state (a stale one is reset).
        for c in paths.conns.iter().take(paths.peer.npaths().max(1)) {
            c.queue_conn();
        }
        return Ok(());
    }
    // The path: the one the peer's source port names (our own initiators
    // choose ports so, which keeps a path's sequence state with it across
    // reconnections) if it is down, else the first path down, as upstream.
    // Down includes a connection that is closed but whose reset has not
    // run yet: the peer saw it die first.
    // With one path (or before the handshake), the connection is path 0: it
    // replaces one that is broken, or that the port names (the peer
    // reconnects only what it found broken); anything else may be a later
    // path racing the handshake, refused as upstream refuses it.
    let n = paths.peer.npaths().max(1);
    let hinted = usize::from(sock.peer_port()?) % MPATH_WORKERS;
    let index = if n == 1 {
        if hinted != 0 && paths.conns[0].is_established() {
            paths.conns[0].poke();
            return Err(EBUSY);
        }
        0
    } else if hinted < n && !paths.conns[hinted].is_established() {
        hinted
    } else if paths.peer.names_paths() {
        // An rds_rs peer reconnects path `hinted` only when its end died:
        // ours is stale (its RST was lost). Poke it so that it dies, and
        // let the peer retry; another path would mix sequence spaces.
        if hinted < n {
            paths.conns[hinted].poke();
        }
        return Err(EBUSY);
    } else {
        match paths.conns.iter().take(n).position(|c| !c.is_established()) {
            Some(i) => i,
            None => {
                // Every path looks up, so one has a peer that went away
                // unheard (its RST lost); poking the one the peer names
                // makes its TCP answer with a RST if so, and the peer's
                // next attempt finds it down.
                if hinted < n {
                    paths.conns[hinted].poke();
                }
                return Err(EBUSY);
            }
        }
    };
    let conn = paths.conns[index].clone();
    let cfg = net.config();
    let tcp = sock.attach(slot, (cfg.tcp_sndbuf, cfg.tcp_rcvbuf), conn.clone());
    conn.accepted(tcp);
    if paths.peer.npaths() == 0 {
        conn.send_ping();
    }
    Ok(())
}
