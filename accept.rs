// SPDX-License-Identifier: GPL-2.0

//! The TCP listener of each namespace and the accept work (net/rds/tcp_listen.c).

use kernel::prelude::*;
use kernel::sync::Arc;

use crate::netns::NetState;
use crate::proto::addr::Endpoint;

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
        match listener.accept() {
            Ok(sock) => {
                if let Err(e) = accept_one(net, sock) {
                    pr_info!("refused an RDS/TCP connection: {:?}\n", e);
                }
            }
            Err(_) => return,
        }
    }
    net.queue_accept();
}

/// Port of `rds_tcp_accept_one()`: a connection from the numerically smaller
/// address is the connection; one from a larger address only tells us to
/// connect, so it is closed and we connect instead.
fn accept_one(net: &Arc<NetState>, sock: crate::sys::tcp::AcceptedSock) -> Result {
    let (local, peer, scope_id) = sock.names()?;
    let laddr = Endpoint {
        addr: local,
        port: 0,
        scope_id: if local.is_link_local() { scope_id } else { 0 },
    };
    let conn = net.conn(laddr, peer)?;
    if peer >= local {
        drop(sock);
        conn.queue_conn();
        return Ok(());
    }
    let cfg = net.config();
    let tcp = sock.attach((cfg.tcp_sndbuf, cfg.tcp_rcvbuf), conn.clone())?;
    conn.accepted(tcp);
    Ok(())
}
