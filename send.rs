// SPDX-License-Identifier: GPL-2.0

//! Sending: sendmsg and delivery through memory to sockets of this host
//! (net/rds/send.c, net/rds/loop.c).

use kernel::prelude::*;

use crate::proto::addr::{self, Endpoint};
use crate::proto::header::{Header, MAX_MSG_SIZE};
use crate::proto::stats::Stat;
use crate::recv::{self, Incoming};
use crate::sys::{self, consts, errno, tcp, MsgHdr, Sock};
use crate::{conn, proto_err, Rds};

/// sendmsg(2): port of `rds_sendmsg()`. Returns the payload length sent.
pub(crate) fn sendmsg(
    rds: &Rds,
    sk: &Sock,
    msg: &mut MsgHdr,
    name: Option<&[u8]>,
    len: usize,
    flags: i32,
    timeo: i64,
) -> Result<usize> {
    // MSG_ZEROCOPY without SO_ZEROCOPY is a plain copy, as for TCP. The shim
    // has removed MSG_CMSG_COMPAT, which upstream allows too.
    let allowed = consts::MSG_DONTWAIT | consts::MSG_ZEROCOPY;
    if flags & !allowed != 0 {
        return Err(errno::eopnotsupp());
    }
    let dest = name.map(addr::parse_dest).transpose().map_err(proto_err)?;
    let (src, dest) = sk.rds().route(dest)?;
    // CAST: MAX_MSG_SIZE fits in usize.
    if len > MAX_MSG_SIZE as usize || len > sk.sndbuf() / 2 {
        return Err(errno::emsgsize());
    }
    // RDMA and atomic operations need an RDMA transport; no other SOL_RDS
    // control message is valid on send.
    if msg.first_rds_cmsg()?.is_some() {
        return Err(EINVAL);
    }
    let mut data = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
    msg.copy_from(&mut data)?;
    // CAST: at most 1 MiB.
    sys::stat_add(Stat::CopyFromUser, len as u64);
    // Upstream's rs_conn is set from here on: SIOCRDSSETTOS is refused.
    sk.rds().set_sent();

    let nonblock = flags & consts::MSG_DONTWAIT != 0;
    if dest.addr.is_loopback() || sk.laddr_check(&dest.addr, dest.scope_id).is_ok() {
        loop_xmit(rds, sk, src, dest, data, nonblock, timeo)?;
    } else {
        tcp_queue(sk, src, dest, data, nonblock, timeo)?;
    }
    Ok(len)
}

/// Queues a message for another host once the sender's send buffer has room
/// (`rds_send_queue_rm()` and its wait in `rds_sendmsg()`).
fn tcp_queue(
    sk: &Sock,
    src: Endpoint,
    dest: Endpoint,
    data: KVVec<u8>,
    nonblock: bool,
    mut timeo: i64,
) -> Result {
    let rs = sk.rds();
    let conn = conn::conn_to(rs.net(), src, dest)?;
    // The peer's congestion map first (`rds_cong_wait()`).
    while conn.peer_congested(dest.port) {
        if nonblock {
            rs.cong_enobufs(dest.port);
            // An update may have come meanwhile.
            if !conn.peer_congested(dest.port) {
                break;
            }
            sys::stat_inc(Stat::CongSendError);
            return Err(errno::enobufs());
        }
        sys::stat_inc(Stat::CongSendBlocked);
        timeo = sys::cong_wait(timeo, || !conn.peer_congested(dest.port))?;
    }
    let len = data.len();
    let limit = sk.sndbuf() / 2;
    while !rs.snd_reserve(len, limit) {
        sys::stat_inc(Stat::SendQueueFull);
        if nonblock {
            return Err(EAGAIN);
        }
        timeo = sk.wait(timeo, || rs.snd_room(limit))?;
    }
    conn::send(&conn, sk, src, dest, data).inspect_err(|_| rs.snd_done(len))?;
    sys::stat_inc(Stat::SendQueued);
    Ok(())
}

/// Delivers a message to a socket of this host (upstream's loop transport:
/// `rds_loop_xmit()` into `rds_recv_incoming()`).
///
/// A destination nobody is bound to drops the message, and the send succeeds, as
/// upstream. A destination whose receive queue holds more than half its
/// `SO_RCVBUF` is congested: a non-blocking sender gets `ENOBUFS`, a blocking one
/// waits until it drains below a quarter. Unlike upstream, this holds for
/// receivers bound to loopback addresses too (Documentation/upstream-bugs.rst).
fn loop_xmit(
    rds: &Rds,
    sender: &Sock,
    src: Endpoint,
    dest: Endpoint,
    data: KVVec<u8>,
    nonblock: bool,
    mut timeo: i64,
) -> Result {
    if dest.port == 0 && tcp::ping_enable() {
        // A ping: the pong, empty and from port 0, goes back to the sender
        // (`rds_send_pong()` over the loop transport). Port 0 pings get none.
        if let (true, Some(sender)) = (src.port != 0, rds.lookup(&src)) {
            let hdr = Header {
                dport: src.port,
                ..Header::default()
            };
            let from = Endpoint { port: 0, ..dest };
            let pong = Incoming::new(hdr, from, KVVec::new())?;
            let now = sys::local_clock();
            pong.set_trace(now, now);
            sys::stat_inc(Stat::RecvPing);
            sys::stat_inc(Stat::SendPong);
            recv::deliver(&sender, pong);
        }
        return Ok(());
    }
    let Some(target) = rds.lookup(&dest) else {
        sys::stat_inc(Stat::RecvDropNoSock);
        return Ok(());
    };
    let rs = target.rds();
    let limit = target.rcvbuf() / 2;
    while rs.recv.lock().over(limit) {
        if nonblock {
            sender.rds().cong_enobufs(dest.port);
            sys::stat_inc(Stat::CongSendError);
            return Err(errno::enobufs());
        }
        sys::stat_inc(Stat::CongSendBlocked);
        timeo = sys::cong_wait(timeo, || !rs.recv.lock().over(limit))?;
    }
    // CAST: checked against MAX_MSG_SIZE by the caller.
    let hdr = Header {
        len: data.len() as u32,
        sport: src.port,
        dport: dest.port,
        ..Header::default()
    };
    let inc = Incoming::new(hdr, src, data)?;
    let now = sys::local_clock();
    inc.set_trace(now, now);
    recv::deliver(&target, inc);
    Ok(())
}
