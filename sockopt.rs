// SPDX-License-Identifier: GPL-2.0

//! Socket options at level `SOL_RDS` and the RDS ioctls: ports of
//! `rds_setsockopt()`, `rds_getsockopt()` and `rds_ioctl()` (net/rds/af_rds.c),
//! with upstream's errno for every misuse. `SO_TIMESTAMP` at this level is
//! set by the shim, which owns the socket flags.

use core::sync::atomic::Ordering;

use kernel::prelude::*;
use kernel::uaccess::UserSlice;

use crate::proto::addr::{Addr, Endpoint};
use crate::socket::{RdsSock, Transport};
use crate::sys::{errno, Sock};

/// `RDS_CANCEL_SENT_TO`.
const CANCEL_SENT_TO: i32 = 1;
/// `RDS_GET_MR`.
const GET_MR: i32 = 2;
/// `RDS_FREE_MR`.
const FREE_MR: i32 = 3;
/// `RDS_RECVERR`.
const RECVERR: i32 = 5;
/// `RDS_CONG_MONITOR`.
const CONG_MONITOR: i32 = 6;
/// `RDS_GET_MR_FOR_DEST`.
const GET_MR_FOR_DEST: i32 = 7;
/// `SO_RDS_TRANSPORT`.
const SO_RDS_TRANSPORT: i32 = 8;
/// `SO_RDS_MSG_RXPATH_LATENCY`.
const SO_RDS_MSG_RXPATH_LATENCY: i32 = 10;

/// `sizeof(struct rds_get_mr_args)`.
const GET_MR_ARGS_LEN: usize = 32;
/// `sizeof(struct rds_get_mr_for_dest_args)`.
const GET_MR_FOR_DEST_ARGS_LEN: usize = 160;
/// `sizeof(struct rds_free_mr_args)`.
const FREE_MR_ARGS_LEN: usize = 16;
/// `sizeof(struct rds_rx_trace_so)`.
const RX_TRACE_SO_LEN: usize = 4;
/// `RDS_MSG_RX_DGRAM_TRACE_MAX`: trace points per socket and their range.
pub(crate) const RX_TRACE_MAX: u8 = 3;
/// `RDS_TRANS_IB`, `RDS_TRANS_COUNT`, `RDS_TRANS_NONE`.
const TRANS_IB: i32 = 0;
const TRANS_TCP: i32 = 2;
const TRANS_COUNT: i32 = 3;
const TRANS_NONE: i32 = !0;

/// An option value as the shim copied it: the first bytes, the length the
/// caller gave, and whether copying faulted.
pub(crate) struct OptVal<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) len: usize,
    pub(crate) fault: bool,
}

impl OptVal<'_> {
    /// The first `n` bytes (`copy_from_sockptr()` of `n` bytes): `EFAULT` if
    /// the caller's buffer faulted.
    fn bytes(&self, n: usize) -> Result<&[u8]> {
        if self.fault || n > self.buf.len() {
            return Err(EFAULT);
        }
        Ok(&self.buf[..n])
    }

    /// An `int` value, upstream's `rds_set_bool_option()`: `EINVAL` if short.
    fn int(&self) -> Result<i32> {
        if self.len < 4 {
            return Err(EINVAL);
        }
        let b = self.bytes(4)?;
        Ok(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// setsockopt(2) at level `SOL_RDS`.
pub(crate) fn setsockopt(sk: &Sock, optname: i32, val: &OptVal<'_>) -> Result {
    let rs = sk.rds();
    match optname {
        CANCEL_SENT_TO => cancel_sent_to(sk, val),
        GET_MR | GET_MR_FOR_DEST => {
            let want = if optname == GET_MR {
                GET_MR_ARGS_LEN
            } else {
                GET_MR_FOR_DEST_ARGS_LEN
            };
            if val.len != want {
                return Err(EINVAL);
            }
            if val.fault {
                return Err(EFAULT);
            }
            // `__rds_rdma_map()`: a socket needs a transport, and TCP has no
            // memory registration.
            let inner = rs.lock();
            if inner.bound.is_none() || inner.transport.is_none() {
                return Err(errno::enotconn());
            }
            Err(errno::eopnotsupp())
        }
        FREE_MR => {
            if val.len != FREE_MR_ARGS_LEN {
                return Err(EINVAL);
            }
            val.bytes(FREE_MR_ARGS_LEN)?;
            // No transport here flushes or owns memory regions: a zero
            // cookie finds no `flush_mrs`, any other no region.
            Err(EINVAL)
        }
        RECVERR => {
            rs.recverr.store(val.int()? != 0, Ordering::Relaxed);
            Ok(())
        }
        CONG_MONITOR => {
            rs.set_cong_monitor(val.int()? != 0);
            Ok(())
        }
        SO_RDS_TRANSPORT => set_transport(sk, val),
        SO_RDS_MSG_RXPATH_LATENCY => {
            // `rds_recv_track_latency()`: every misuse is EFAULT upstream.
            if val.len != RX_TRACE_SO_LEN {
                return Err(EFAULT);
            }
            let b = val.bytes(RX_TRACE_SO_LEN)?;
            let n = b[0];
            if n > RX_TRACE_MAX {
                return Err(EFAULT);
            }
            if b[1..1 + usize::from(n)].iter().any(|&p| p >= RX_TRACE_MAX) {
                rs.rx_traces.store(0, Ordering::Relaxed);
                return Err(EFAULT);
            }
            rs.rx_traces.store(
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                Ordering::Relaxed,
            );
            Ok(())
        }
        _ => Err(errno::enoprotoopt()),
    }
}

/// `RDS_CANCEL_SENT_TO`: port of `rds_cancel_sent_to()`; the address family
/// is not checked, as upstream: the length decides.
fn cancel_sent_to(sk: &Sock, val: &OptVal<'_>) -> Result {
    const SIN_LEN: usize = 16;
    const SIN6_LEN: usize = 28;
    if sk.rds().lock().bound.is_none() {
        return Err(errno::enotconn());
    }
    let dest = if val.len < SIN_LEN {
        return Err(EINVAL);
    } else if val.len < SIN6_LEN {
        let b = val.bytes(SIN_LEN)?;
        Endpoint {
            addr: Addr::v4_mapped([b[4], b[5], b[6], b[7]]),
            port: u16::from_be_bytes([b[2], b[3]]),
            scope_id: 0,
        }
    } else {
        let b = val.bytes(SIN6_LEN)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[8..24]);
        Endpoint {
            addr: Addr(a),
            port: u16::from_be_bytes([b[2], b[3]]),
            scope_id: 0,
        }
    };
    sk.rds().net().cancel_sent_to(sk, &dest);
    Ok(())
}

/// `SO_RDS_TRANSPORT`: port of `rds_set_transport()`.
fn set_transport(sk: &Sock, val: &OptVal<'_>) -> Result {
    let mut inner = sk.rds().lock();
    if inner.transport.is_some() {
        return Err(errno::eopnotsupp());
    }
    if val.len != 4 {
        return Err(EINVAL);
    }
    let b = val.bytes(4)?;
    let t = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    if !(TRANS_IB..TRANS_COUNT).contains(&t) {
        return Err(EINVAL);
    }
    // RDS/IB is restricted to the initial namespace; and not built here.
    if t != TRANS_TCP {
        return Err(if sk.in_init_net() {
            errno::enoprotoopt()
        } else {
            errno::eprototype()
        });
    }
    inner.transport = Some(Transport::Tcp);
    Ok(())
}

/// getsockopt(2) at level `SOL_RDS` for name `optname`, writing to user
/// address `uaddr` with `*len` bytes of room; sets `*len` to what was written
/// (or, for `RDS_INFO_*` with `ENOSPC`, what is needed).
pub(crate) fn getsockopt(sk: &Sock, optname: i32, uaddr: usize, len: &mut i32) -> Result<i32> {
    if (crate::proto::info::FIRST..=crate::proto::info::LAST).contains(&optname) {
        return crate::info::getsockopt(sk, optname, uaddr, len);
    }
    let rs = sk.rds();
    let value = match optname {
        RECVERR => i32::from(rs.recverr.load(Ordering::Relaxed)),
        SO_RDS_TRANSPORT => rs.lock().transport.map_or(TRANS_NONE, Transport::t_type),
        _ => return Err(errno::enoprotoopt()),
    };
    if *len < 4 {
        return Err(EINVAL);
    }
    UserSlice::new(uaddr, 4)
        .writer()
        .write_slice(&value.to_ne_bytes())?;
    *len = 4;
    Ok(0)
}

/// `SIOCRDSSETTOS`: TCP maps every tos to 0 (`rds_tcp_get_tos_map()`); the
/// loop transport, or none yet, has no tos map.
pub(crate) fn set_tos(rs: &RdsSock, _utos: u8) -> Result {
    let mut inner = rs.lock();
    if inner.transport != Some(Transport::Tcp) {
        return Err(ENOIOCTLCMD);
    }
    let tos = 0;
    if inner.tos != 0 || rs.has_sent() {
        return Err(EINVAL);
    }
    inner.tos = tos;
    Ok(())
}

/// `SIOCRDSGETTOS`.
pub(crate) fn get_tos(rs: &RdsSock) -> u8 {
    rs.lock().tos
}
