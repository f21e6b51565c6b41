// SPDX-License-Identifier: GPL-2.0

//! Sending: sendmsg and delivery through memory to sockets of this host
//! (net/rds/send.c, net/rds/loop.c).

use core::sync::atomic::Ordering;

use kernel::list::ListArc;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::UserSlice;

use crate::proto::addr::{self, Endpoint};
use crate::proto::header::{Header, MAX_MSG_SIZE};
use crate::proto::stats::Stat;
use crate::recv::{self, Incoming};
use crate::socket::Transport;
use crate::sys::{self, consts, errno, tcp, Bytes, MsgHdr, SendBuf, Sock};
use crate::zcopy::ZInfo;
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
    // The shim has removed MSG_CMSG_COMPAT, which upstream allows too.
    let allowed = consts::MSG_DONTWAIT | consts::MSG_ZEROCOPY;
    if flags & !allowed != 0 {
        return Err(errno::eopnotsupp());
    }
    let dest = name.map(addr::parse_dest).transpose().map_err(proto_err)?;
    let (src, dest) = sk.rds().route(dest)?;
    let cmsgs = msg.rds_cmsgs()?;
    let rdma_len = rdma_bytes(&cmsgs)?;
    // CAST: MAX_MSG_SIZE fits in usize and u64.
    if len.max(rdma_len.min(usize::MAX as u64) as usize) > MAX_MSG_SIZE as usize
        || len > sk.sndbuf() / 2
    {
        return Err(errno::emsgsize());
    }
    // Zero copy is a copy here, reported complete as upstream reports it.
    let zcopy = flags & consts::MSG_ZEROCOPY != 0 && sk.zerocopy();
    if zcopy && sk.rds().transport() != Some(Transport::Tcp) {
        return Err(errno::eopnotsupp());
    }
    rm_size(&cmsgs, flags & consts::MSG_ZEROCOPY != 0)?;
    // Another host's address once a send found it so: the check of the
    // namespace's addresses costs a FIB lookup.
    let paths = conn::find_paths(sk.rds().net(), src, dest).filter(|p| p.is_remote());
    let local = dest.addr.is_loopback()
        || (paths.is_none() && sk.laddr_check(&dest.addr, dest.scope_id).is_ok());
    // For another host, in memory TCP need not copy if it fits.
    let data = if local {
        Copied::Local(msg.copy_payload(len)?)
    } else {
        Copied::Remote(msg.copy_payload_send(len)?)
    };
    // CAST: at most 1 MiB.
    sys::stat_add(Stat::CopyFromUser, len as u64);
    // Upstream's rs_conn is set from here on: SIOCRDSSETTOS is refused.
    sk.rds().set_sent();
    let zcookie = cmsg_send(&cmsgs, zcopy && len > 0)?;
    let zcookie = zcookie.map(|c| ZInfo::new().map(|n| (c, n))).transpose()?;

    let nonblock = flags & consts::MSG_DONTWAIT != 0;
    match data {
        Copied::Local(data) => {
            loop_xmit(rds, sk, src, dest, data, nonblock, timeo)?;
            // Delivered at once: the "transmission" is complete.
            if let Some((cookie, node)) = zcookie {
                sk.rds().zcopy.lock().complete(cookie, node);
                sk.wake();
            }
        }
        Copied::Remote(data) => {
            tcp_queue(sk, src, dest, paths, data, zcookie, nonblock, timeo)?;
        }
    }
    Ok(len)
}

/// A payload copied from the user, in the memory its destination takes.
enum Copied {
    /// For a socket of this host (upstream's loop transport).
    Local(Bytes),
    /// For another host, over TCP.
    Remote(SendBuf),
}

/// `SOL_RDS` control message types of sendmsg (include/uapi/linux/rds.h).
const CMSG_RDMA_ARGS: i32 = 1;
const CMSG_RDMA_DEST: i32 = 2;
const CMSG_RDMA_MAP: i32 = 3;
const CMSG_ATOMIC_FADD: i32 = 6;
const CMSG_ATOMIC_CSWP: i32 = 7;
const CMSG_MASKED_ATOMIC_FADD: i32 = 8;
const CMSG_MASKED_ATOMIC_CSWP: i32 = 9;
const CMSG_ZCOPY_COOKIE: i32 = 12;
/// `sizeof(struct rds_rdma_args)`, `struct rds_atomic_args`, `struct rds_get_mr_args`.
const RDMA_ARGS_LEN: usize = 56;
const ATOMIC_ARGS_LEN: usize = 72;
const GET_MR_ARGS_LEN: usize = 32;
/// `UIO_MAXIOV`: local vectors of one RDMA operation.
const UIO_MAXIOV: u64 = 1024;

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(v)
}

/// `rds_rdma_bytes()`: the remote bytes the RDMA operations ask for.
fn rdma_bytes(cmsgs: &[(i32, KVec<u8>)]) -> Result<u64> {
    let mut total = 0u64;
    for (ty, d) in cmsgs.iter().map(|(t, d)| (*t, &d[..])) {
        if ty == CMSG_RDMA_ARGS {
            if d.len() < RDMA_ARGS_LEN {
                return Err(EINVAL);
            }
            total = total.wrapping_add(u64_at(d, 16));
        }
    }
    Ok(total)
}

/// `rds_pages_in_vec()`: pages that a `struct rds_iovec` spans, 0 if invalid.
fn pages_in_vec(addr: u64, bytes: u64) -> u64 {
    let page = kernel::page::PAGE_SIZE as u64;
    match addr.checked_add(bytes) {
        Some(end) if end > addr && bytes <= u64::from(u32::MAX) => end.div_ceil(page) - addr / page,
        _ => 0,
    }
}

/// `rds_rm_size()`'s checks: known types only, RDMA local vectors readable
/// and valid (`rds_rdma_extra_size()`), a cookie with `MSG_ZEROCOPY`, and
/// RDMA destination or mapping never with RDMA arguments or atomics.
fn rm_size(cmsgs: &[(i32, KVec<u8>)], msg_zerocopy: bool) -> Result {
    let (mut groups, mut cookie) = (0, false);
    for (ty, d) in cmsgs.iter().map(|(t, d)| (*t, &d[..])) {
        match ty {
            CMSG_RDMA_ARGS => {
                groups |= 1;
                let nr_local = u64_at(d, 32);
                if nr_local == 0 {
                    return Err(EINVAL);
                }
                if nr_local > UIO_MAXIOV {
                    return Err(errno::emsgsize());
                }
                // CAST: at most UIO_MAXIOV vectors of 16 bytes.
                let n = nr_local as usize;
                let mut vecs = KVec::from_elem(0u8, n * 16, GFP_KERNEL)?;
                // CAST: a user address.
                UserSlice::new(u64_at(d, 24) as usize, n * 16)
                    .reader()
                    .read_slice(&mut vecs)?;
                for v in vecs.chunks_exact(16) {
                    if pages_in_vec(u64_at(v, 0), u64_at(v, 8)) == 0 {
                        return Err(EINVAL);
                    }
                }
            }
            CMSG_ZCOPY_COOKIE => {
                cookie = true;
                groups |= 2;
            }
            CMSG_RDMA_DEST | CMSG_RDMA_MAP => groups |= 2,
            CMSG_ATOMIC_FADD
            | CMSG_ATOMIC_CSWP
            | CMSG_MASKED_ATOMIC_FADD
            | CMSG_MASKED_ATOMIC_CSWP => groups |= 1,
            _ => return Err(EINVAL),
        }
    }
    if msg_zerocopy && !cookie {
        return Err(EINVAL);
    }
    if groups == 3 {
        return Err(EINVAL);
    }
    Ok(())
}

/// `rds_cmsg_send()`'s checks, then the transport's: no transport here does
/// RDMA or atomics (`EOPNOTSUPP`), nor has memory regions (`RDS_CMSG_RDMA_DEST`
/// names none, `RDS_CMSG_RDMA_MAP` cannot make one). Returns the zero-copy
/// cookie; `zcopy` says the send is a zero-copy one with a payload.
fn cmsg_send(cmsgs: &[(i32, KVec<u8>)], zcopy: bool) -> Result<Option<u32>> {
    let (mut rdma, mut atomic, mut cookie) = (false, false, None);
    for (ty, d) in cmsgs.iter().map(|(t, d)| (*t, &d[..])) {
        match ty {
            CMSG_RDMA_ARGS => {
                if rdma {
                    return Err(EINVAL);
                }
                rdma = true;
            }
            CMSG_RDMA_DEST => return Err(EINVAL),
            CMSG_RDMA_MAP => {
                if d.len() < GET_MR_ARGS_LEN {
                    return Err(EINVAL);
                }
                return Err(errno::eopnotsupp());
            }
            CMSG_ZCOPY_COOKIE => {
                if d.len() < 4 || !zcopy {
                    return Err(EINVAL);
                }
                cookie = Some(u32::from_ne_bytes([d[0], d[1], d[2], d[3]]));
            }
            _ => {
                // The atomics (rm_size() let nothing else through).
                if d.len() < ATOMIC_ARGS_LEN || atomic {
                    return Err(EINVAL);
                }
                atomic = true;
                // `rds_cmsg_atomic()`: the local word must be 8-byte aligned.
                if u64_at(d, 8) & 7 != 0 {
                    return Err(EFAULT);
                }
            }
        }
    }
    if rdma || atomic {
        return Err(errno::eopnotsupp());
    }
    Ok(cookie)
}

/// Queues a message for another host once the sender's send buffer has room
/// (`rds_send_queue_rm()` and its wait in `rds_sendmsg()`); `paths` are the
/// paths to it if known.
#[allow(clippy::too_many_arguments)] // The message's, as sendmsg has them.
fn tcp_queue(
    sk: &Sock,
    src: Endpoint,
    dest: Endpoint,
    paths: Option<Arc<conn::Paths>>,
    data: SendBuf,
    zcookie: Option<(u32, ListArc<ZInfo>)>,
    nonblock: bool,
    mut timeo: i64,
) -> Result {
    let rs = sk.rds();
    let paths = match paths {
        Some(p) => p,
        None => {
            let p = conn::paths_to(rs.net(), src, dest)?;
            p.set_remote();
            p
        }
    };
    let conn = paths
        .choose(rs.mpath_hash(src.port), nonblock, &mut timeo)?
        .clone();
    // The peer's congestion map first (`rds_cong_wait()`).
    let peer = &paths.peer;
    while peer.congested(dest.port) {
        if nonblock {
            rs.cong_enobufs(dest.port);
            // An update may have come meanwhile.
            if !peer.congested(dest.port) {
                break;
            }
            sys::stat_inc(Stat::CongSendError);
            rs.cong.enobufs.fetch_add(1, Ordering::Relaxed);
            peer.enobufs.fetch_add(1, Ordering::Relaxed);
            return Err(errno::enobufs());
        }
        sys::stat_inc(Stat::CongSendBlocked);
        timeo = sys::cong_wait(timeo, || !peer.congested(dest.port))?;
    }
    let len = data.len();
    // The limit is read again at each check: SO_SNDBUF may change meanwhile.
    let limit = || sk.sndbuf() / 2;
    while !rs.snd_reserve(len, limit()) {
        sys::stat_inc(Stat::SendQueueFull);
        // Woken by the acknowledgement that makes room (`OutMsg::settle`),
        // which a waiter asks for each time it finds none.
        rs.snd_wanted();
        if rs.snd_room(limit()) {
            continue;
        }
        if nonblock {
            return Err(EAGAIN);
        }
        timeo = sk.wait(timeo, || {
            rs.snd_room(limit()) || {
                rs.snd_wanted();
                rs.snd_room(limit())
            }
        })?;
    }
    conn::send(&conn, sk, src, dest, data, zcookie).inspect_err(|_| {
        if rs.snd_done(len, limit()) {
            sk.wake();
        }
    })?;
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
    data: Bytes,
    nonblock: bool,
    mut timeo: i64,
) -> Result {
    // The pair's "connection" exists from the first message, delivered or not.
    let seq = sender.rds().net().loop_seq(&src.addr, &dest.addr)?;
    if dest.port == 0 && tcp::ping_enable() {
        // A ping: the pong, empty and from port 0, goes back to the sender
        // (`rds_send_pong()` over the loop transport). Port 0 pings get none.
        if let (true, Some(sender)) = (src.port != 0, rds.lookup(&src)) {
            let hdr = Header {
                dport: src.port,
                ..Header::default()
            };
            let from = Endpoint { port: 0, ..dest };
            let pong = Incoming::new(hdr, from, Bytes::new())?;
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
            sender.rds().cong.enobufs.fetch_add(1, Ordering::Relaxed);
            sys::stat_inc(Stat::CongSendError);
            return Err(errno::enobufs());
        }
        sys::stat_inc(Stat::CongSendBlocked);
        timeo = sys::cong_wait(timeo, || !rs.recv.lock().over(limit))?;
    }
    // CAST: checked against MAX_MSG_SIZE by the caller.
    let hdr = Header {
        sequence: seq,
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
