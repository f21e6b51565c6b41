// SPDX-License-Identifier: GPL-2.0

//! `RDS_INFO_*` getsockopt records: upstream's packed structs from
//! include/uapi/linux/rds.h, encoded byte by byte, and the length protocol of
//! net/rds/info.c.
//!
//! Addresses and ports are in network order (upstream copies them raw);
//! sequence numbers, lengths and counters are in host order.

use super::addr::Addr;
use super::ProtoError;

/// `RDS_INFO_FIRST` .. `RDS_INFO_LAST`: getsockopt names answered by the info
/// protocol.
pub const FIRST: i32 = 10000;
/// The last info name (`RDS6_INFO_IB_CONNECTIONS`).
pub const LAST: i32 = 10017;

/// The `RDS_INFO_*` names, as include/uapi/linux/rds.h numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `RDS_INFO_COUNTERS`: `struct rds_info_counter` per statistic.
    Counters,
    /// `RDS_INFO_CONNECTIONS` / `RDS6_INFO_CONNECTIONS`.
    Connections {
        /// The RDS6 form: IPv6 records, every entry.
        v6: bool,
    },
    /// `RDS_INFO_SEND_MESSAGES` / `RDS6_INFO_SEND_MESSAGES`.
    SendMessages {
        /// The RDS6 form: IPv6 records, every entry.
        v6: bool,
    },
    /// `RDS_INFO_RETRANS_MESSAGES` / `RDS6_INFO_RETRANS_MESSAGES`.
    RetransMessages {
        /// The RDS6 form: IPv6 records, every entry.
        v6: bool,
    },
    /// `RDS_INFO_RECV_MESSAGES` / `RDS6_INFO_RECV_MESSAGES`.
    RecvMessages {
        /// The RDS6 form: IPv6 records, every entry.
        v6: bool,
    },
    /// `RDS_INFO_SOCKETS` / `RDS6_INFO_SOCKETS`.
    Sockets {
        /// The RDS6 form: IPv6 records, every entry.
        v6: bool,
    },
    /// `RDS_INFO_TCP_SOCKETS` / `RDS6_INFO_TCP_SOCKETS`.
    TcpSockets {
        /// The RDS6 form: IPv6 records, every entry.
        v6: bool,
    },
}

impl Kind {
    /// The info kind of getsockopt name `optname`; `None` for names in the
    /// info range that nothing answers (upstream: no registered function,
    /// `ENOPROTOOPT`): the deprecated 10002, the InfiniBand and iWARP
    /// connection lists and the never-implemented connection statistics.
    pub fn from_optname(optname: i32) -> Option<Self> {
        Some(match optname {
            10000 => Self::Counters,
            10001 => Self::Connections { v6: false },
            10003 => Self::SendMessages { v6: false },
            10004 => Self::RetransMessages { v6: false },
            10005 => Self::RecvMessages { v6: false },
            10006 => Self::Sockets { v6: false },
            10007 => Self::TcpSockets { v6: false },
            10011 => Self::Connections { v6: true },
            10012 => Self::SendMessages { v6: true },
            10013 => Self::RetransMessages { v6: true },
            10014 => Self::RecvMessages { v6: true },
            10015 => Self::Sockets { v6: true },
            10016 => Self::TcpSockets { v6: true },
            _ => return None,
        })
    }

    /// The size of one record (`rds_info_lengths.each`).
    pub fn each(self) -> usize {
        match self {
            Self::Counters => COUNTER_LEN,
            Self::Connections { v6: false } => CONNECTION_LEN,
            Self::Connections { v6: true } => CONNECTION6_LEN,
            Self::SendMessages { v6 }
            | Self::RetransMessages { v6 }
            | Self::RecvMessages { v6 } => {
                if v6 {
                    MESSAGE6_LEN
                } else {
                    MESSAGE_LEN
                }
            }
            Self::Sockets { v6: false } => SOCKET_LEN,
            Self::Sockets { v6: true } => SOCKET6_LEN,
            Self::TcpSockets { v6: false } => TCP_SOCKET_LEN,
            Self::TcpSockets { v6: true } => TCP_SOCKET6_LEN,
        }
    }

    /// Whether the IPv4 form of the list leaves out IPv6 entries (all lists
    /// but the counters: upstream skips `c_isv6` connections and sockets bound
    /// to IPv6 addresses in them; the RDS6 forms list everything).
    pub fn v4_only(self) -> bool {
        matches!(
            self,
            Self::Connections { v6: false }
                | Self::SendMessages { v6: false }
                | Self::RetransMessages { v6: false }
                | Self::RecvMessages { v6: false }
                | Self::Sockets { v6: false }
                | Self::TcpSockets { v6: false }
        )
    }
}

/// `sizeof(struct rds_info_counter)`.
pub const COUNTER_LEN: usize = 40;
/// `sizeof(struct rds_info_connection)`.
pub const CONNECTION_LEN: usize = 42;
/// `sizeof(struct rds6_info_connection)`.
pub const CONNECTION6_LEN: usize = 65;
/// `sizeof(struct rds_info_message)`.
pub const MESSAGE_LEN: usize = 26;
/// `sizeof(struct rds6_info_message)`.
pub const MESSAGE6_LEN: usize = 50;
/// `sizeof(struct rds_info_socket)`.
pub const SOCKET_LEN: usize = 28;
/// `sizeof(struct rds6_info_socket)`.
pub const SOCKET6_LEN: usize = 52;
/// `sizeof(struct rds_info_tcp_socket)`.
pub const TCP_SOCKET_LEN: usize = 41;
/// `sizeof(struct rds6_info_tcp_socket)`.
pub const TCP_SOCKET6_LEN: usize = 64;
/// The largest record.
pub const MAX_LEN: usize = CONNECTION6_LEN;

/// `RDS_INFO_CONNECTION_FLAG_*`.
pub const CONN_FLAG_SENDING: u8 = 0x01;
/// A connection attempt is under way.
pub const CONN_FLAG_CONNECTING: u8 = 0x02;
/// The connection is up.
pub const CONN_FLAG_CONNECTED: u8 = 0x04;

/// `RDS_INFO_MESSAGE_FLAG_ACK`: the message asked for an acknowledgement.
pub const MSG_FLAG_ACK: u8 = 0x01;

/// `TRANSNAMSIZ`: the transport name field, NUL-padded.
const TRANSNAMSIZ: usize = 16;

/// The length check at the start of `rds_info_getsockopt()`: a negative
/// length, or one that wraps the user address space, is `EINVAL`.
pub fn check_len(len: i32, user_addr: u64, page_size: u64) -> Result<usize, ProtoError> {
    let invalid = ProtoError::Invalid;
    let ulen = u64::try_from(len).map_err(|_| invalid)?;
    if ulen > i32::MAX as u64 - page_size + 1 || user_addr.checked_add(ulen).is_none() {
        return Err(invalid);
    }
    usize::try_from(ulen).map_err(|_| invalid)
}

/// A record being encoded: a fixed buffer written front to back.
pub struct Record {
    buf: [u8; MAX_LEN],
    len: usize,
}

impl Record {
    fn new() -> Self {
        Self {
            buf: [0; MAX_LEN],
            len: 0,
        }
    }

    fn put(mut self, bytes: &[u8]) -> Self {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self
    }

    fn addr(self, a: &Addr, v6: bool) -> Self {
        if v6 {
            self.put(&a.0)
        } else {
            self.put(&a.0[12..])
        }
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// `struct rds_info_counter`: a statistic's name (at most 31 bytes, NUL
/// padded) and value.
pub fn counter(name: &str, value: u64) -> Record {
    let mut field = [0u8; 32];
    let n = name.len().min(31);
    field[..n].copy_from_slice(&name.as_bytes()[..n]);
    Record::new().put(&field).put(&value.to_ne_bytes())
}

/// What `RDS_INFO_CONNECTIONS` reports of a connection.
pub struct ConnectionInfo<'a> {
    /// Next sequence number to send.
    pub next_tx_seq: u64,
    /// Next sequence number expected.
    pub next_rx_seq: u64,
    /// Local address.
    pub laddr: Addr,
    /// Peer address.
    pub faddr: Addr,
    /// Transport name ("tcp", "loopback").
    pub transport: &'a str,
    /// `CONN_FLAG_*`.
    pub flags: u8,
    /// Type of service.
    pub tos: u8,
}

/// `struct rds_info_connection` or, with `v6`, `struct rds6_info_connection`
/// (which has no `tos`).
pub fn connection(c: &ConnectionInfo<'_>, v6: bool) -> Record {
    let mut name = [0u8; TRANSNAMSIZ];
    let n = c.transport.len().min(TRANSNAMSIZ - 1);
    name[..n].copy_from_slice(&c.transport.as_bytes()[..n]);
    let r = Record::new()
        .put(&c.next_tx_seq.to_ne_bytes())
        .put(&c.next_rx_seq.to_ne_bytes())
        .addr(&c.laddr, v6)
        .addr(&c.faddr, v6)
        .put(&name)
        .put(&[c.flags]);
    if v6 {
        r
    } else {
        r.put(&[c.tos])
    }
}

/// What the message lists report of a message.
pub struct MessageInfo {
    /// Sequence number.
    pub seq: u64,
    /// Payload length.
    pub len: u32,
    /// Local address.
    pub laddr: Addr,
    /// Peer address.
    pub faddr: Addr,
    /// Local port.
    pub lport: u16,
    /// Peer port.
    pub fport: u16,
    /// `MSG_FLAG_*`.
    pub flags: u8,
    /// Type of service.
    pub tos: u8,
}

/// `struct rds_info_message` or, with `v6`, `struct rds6_info_message`.
pub fn message(m: &MessageInfo, v6: bool) -> Record {
    Record::new()
        .put(&m.seq.to_ne_bytes())
        .put(&m.len.to_ne_bytes())
        .addr(&m.laddr, v6)
        .addr(&m.faddr, v6)
        .put(&m.lport.to_be_bytes())
        .put(&m.fport.to_be_bytes())
        .put(&[m.flags, m.tos])
}

/// What `RDS_INFO_SOCKETS` reports of a socket.
pub struct SocketInfo {
    /// `SO_SNDBUF`.
    pub sndbuf: u32,
    /// Bound address (any when unbound).
    pub bound_addr: Addr,
    /// Address given to connect() (any when none).
    pub connected_addr: Addr,
    /// Bound port.
    pub bound_port: u16,
    /// Port given to connect().
    pub connected_port: u16,
    /// `SO_RCVBUF`.
    pub rcvbuf: u32,
    /// Inode number of the socket (`sock_i_ino()`).
    pub inum: u64,
}

/// `struct rds_info_socket` or, with `v6`, `struct rds6_info_socket`.
pub fn socket(s: &SocketInfo, v6: bool) -> Record {
    Record::new()
        .put(&s.sndbuf.to_ne_bytes())
        .addr(&s.bound_addr, v6)
        .addr(&s.connected_addr, v6)
        .put(&s.bound_port.to_be_bytes())
        .put(&s.connected_port.to_be_bytes())
        .put(&s.rcvbuf.to_ne_bytes())
        .put(&s.inum.to_ne_bytes())
}

/// What `RDS_INFO_TCP_SOCKETS` reports of a TCP connection.
pub struct TcpSocketInfo {
    /// Local address and port of the TCP socket.
    pub local_addr: Addr,
    /// Local TCP port.
    pub local_port: u16,
    /// Peer address.
    pub peer_addr: Addr,
    /// Peer TCP port.
    pub peer_port: u16,
    /// Header bytes still expected of the message being received.
    pub hdr_rem: u64,
    /// Payload bytes still expected of the message being received.
    pub data_rem: u64,
    /// TCP sequence after the last message written.
    pub last_sent_nxt: u32,
    /// TCP sequence whose acknowledgement completes what was written.
    pub last_expected_una: u32,
    /// Last `snd_una` seen.
    pub last_seen_una: u32,
    /// Type of service.
    pub tos: u8,
}

/// `struct rds_info_tcp_socket` or, with `v6`, `struct rds6_info_tcp_socket`
/// (which has no `tos`).
pub fn tcp_socket(t: &TcpSocketInfo, v6: bool) -> Record {
    let r = Record::new()
        .addr(&t.local_addr, v6)
        .put(&t.local_port.to_be_bytes())
        .addr(&t.peer_addr, v6)
        .put(&t.peer_port.to_be_bytes())
        .put(&t.hdr_rem.to_ne_bytes())
        .put(&t.data_rem.to_ne_bytes())
        .put(&t.last_sent_nxt.to_ne_bytes())
        .put(&t.last_expected_una.to_ne_bytes())
        .put(&t.last_seen_una.to_ne_bytes());
    if v6 {
        r
    } else {
        r.put(&[t.tos])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> Addr {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&a);
        Addr(b)
    }

    #[test]
    fn record_sizes_match_uapi() {
        let a = v4([192, 0, 2, 1]);
        let c = ConnectionInfo {
            next_tx_seq: 1,
            next_rx_seq: 2,
            laddr: a,
            faddr: a,
            transport: "tcp",
            flags: CONN_FLAG_CONNECTED,
            tos: 0,
        };
        assert_eq!(counter("conn_reset", 7).bytes().len(), COUNTER_LEN);
        assert_eq!(connection(&c, false).bytes().len(), CONNECTION_LEN);
        assert_eq!(connection(&c, true).bytes().len(), CONNECTION6_LEN);
        let m = MessageInfo {
            seq: 1,
            len: 2,
            laddr: a,
            faddr: a,
            lport: 3,
            fport: 4,
            flags: 0,
            tos: 0,
        };
        assert_eq!(message(&m, false).bytes().len(), MESSAGE_LEN);
        assert_eq!(message(&m, true).bytes().len(), MESSAGE6_LEN);
        let s = SocketInfo {
            sndbuf: 1,
            bound_addr: a,
            connected_addr: a,
            bound_port: 1,
            connected_port: 2,
            rcvbuf: 3,
            inum: 4,
        };
        assert_eq!(socket(&s, false).bytes().len(), SOCKET_LEN);
        assert_eq!(socket(&s, true).bytes().len(), SOCKET6_LEN);
        let t = TcpSocketInfo {
            local_addr: a,
            local_port: 1,
            peer_addr: a,
            peer_port: 2,
            hdr_rem: 0,
            data_rem: 0,
            last_sent_nxt: 0,
            last_expected_una: 0,
            last_seen_una: 0,
            tos: 0,
        };
        assert_eq!(tcp_socket(&t, false).bytes().len(), TCP_SOCKET_LEN);
        assert_eq!(tcp_socket(&t, true).bytes().len(), TCP_SOCKET6_LEN);
        for opt in FIRST..=LAST {
            if let Some(k) = Kind::from_optname(opt) {
                assert!(k.each() <= MAX_LEN);
            }
        }
    }

    #[test]
    fn fields_land_where_the_uapi_puts_them() {
        let m = MessageInfo {
            seq: 0x0102030405060708,
            len: 9,
            laddr: v4([10, 0, 0, 1]),
            faddr: v4([10, 0, 0, 2]),
            lport: 4000,
            fport: 4001,
            flags: MSG_FLAG_ACK,
            tos: 3,
        };
        let r = message(&m, false);
        let b = r.bytes();
        assert_eq!(&b[..8], &0x0102030405060708u64.to_ne_bytes());
        assert_eq!(&b[12..16], &[10, 0, 0, 1]);
        assert_eq!(&b[16..20], &[10, 0, 0, 2]);
        assert_eq!(&b[20..22], &4000u16.to_be_bytes());
        assert_eq!(&b[24..], &[MSG_FLAG_ACK, 3]);
        let c = counter("a_name_longer_than_thirty_one_bytes_total", 5);
        assert_eq!(c.bytes()[31], 0);
        assert_eq!(&c.bytes()[32..], &5u64.to_ne_bytes());
    }

    #[test]
    fn info_names() {
        assert_eq!(Kind::from_optname(10002), None);
        assert_eq!(Kind::from_optname(10008), None);
        assert_eq!(Kind::from_optname(10009), None);
        assert_eq!(Kind::from_optname(10010), None);
        assert_eq!(Kind::from_optname(10017), None);
        assert_eq!(
            Kind::from_optname(10016),
            Some(Kind::TcpSockets { v6: true })
        );
    }

    #[test]
    fn length_check() {
        assert!(check_len(-1, 0x1000, 4096).is_err());
        assert_eq!(check_len(0, 0, 4096), Ok(0));
        assert_eq!(check_len(100, 0x1000, 4096), Ok(100));
        assert!(check_len(i32::MAX, 0x1000, 4096).is_err());
        assert!(check_len(100, u64::MAX - 10, 4096).is_err());
    }
}
