// SPDX-License-Identifier: GPL-2.0

//! `rdstcp info`: upstream's RDS_INFO_* getsockopts, as rds-info reads
//! them, with the packed structs of include/uapi/linux/rds.h.
//!
//! The length protocol is rds_info_getsockopt()'s (net/rds/info.c): the
//! kernel returns the size of one item, and sets optlen to the bytes the
//! snapshot needs; a buffer too short for it fails with ENOSPC and the
//! needed length in optlen, so we grow the buffer and ask again (items may
//! have come meanwhile). Each option reports the caller's network namespace.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::fmt::table;
use crate::rds::{show_ip_port, unmap, RdsSocket};
use crate::uapi::*;

/// What `rdstcp info` can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    Counters,
    Connections,
    Sockets,
    Tcp,
    Send,
    Retrans,
    Recv,
}

pub const ALL: [Section; 7] = [
    Section::Counters,
    Section::Connections,
    Section::Sockets,
    Section::Tcp,
    Section::Send,
    Section::Retrans,
    Section::Recv,
];

// Sizes of the packed structs of include/uapi/linux/rds.h.
const COUNTER_LEN: usize = 32 + 8;
const CONN_LEN: usize = 8 + 8 + 4 + 4 + 16 + 1 + 1;
const CONN6_LEN: usize = 8 + 8 + 16 + 16 + 16 + 1;
const MSG_LEN: usize = 8 + 4 + 4 + 4 + 2 + 2 + 1 + 1;
const MSG6_LEN: usize = 8 + 4 + 16 + 16 + 2 + 2 + 1 + 1;
const SOCK_LEN: usize = 4 + 4 + 4 + 2 + 2 + 4 + 8;
const SOCK6_LEN: usize = 4 + 16 + 16 + 2 + 2 + 4 + 8;
const TCP_LEN: usize = 4 + 2 + 4 + 2 + 8 + 8 + 4 + 4 + 4 + 1;
const TCP6_LEN: usize = 16 + 2 + 16 + 2 + 8 + 8 + 4 + 4 + 4;

/// Reads one option's snapshot: the item size and the items' bytes.
fn snapshot(sock: &RdsSocket, opt: i32) -> io::Result<(usize, Vec<u8>)> {
    let mut len = 0;
    for _ in 0..16 {
        let mut buf = vec![0u8; len];
        match sock.getsockopt(opt, &mut buf) {
            Ok((each, n)) => {
                buf.truncate(n);
                return Ok((each, buf));
            }
            Err((e, need)) if e.raw_os_error() == Some(libc::ENOSPC) => {
                // Room for a few more, in case items come before the retry.
                len = need + need / 4 + 256;
            }
            Err((e, _)) => return Err(e),
        }
    }
    Err(io::Error::other("the snapshot kept growing"))
}

fn opt_name(opt: i32) -> &'static str {
    match opt {
        RDS_INFO_COUNTERS => "RDS_INFO_COUNTERS",
        RDS_INFO_CONNECTIONS => "RDS_INFO_CONNECTIONS",
        RDS_INFO_SEND_MESSAGES => "RDS_INFO_SEND_MESSAGES",
        RDS_INFO_RETRANS_MESSAGES => "RDS_INFO_RETRANS_MESSAGES",
        RDS_INFO_RECV_MESSAGES => "RDS_INFO_RECV_MESSAGES",
        RDS_INFO_SOCKETS => "RDS_INFO_SOCKETS",
        RDS_INFO_TCP_SOCKETS => "RDS_INFO_TCP_SOCKETS",
        RDS6_INFO_CONNECTIONS => "RDS6_INFO_CONNECTIONS",
        RDS6_INFO_SEND_MESSAGES => "RDS6_INFO_SEND_MESSAGES",
        RDS6_INFO_RETRANS_MESSAGES => "RDS6_INFO_RETRANS_MESSAGES",
        RDS6_INFO_RECV_MESSAGES => "RDS6_INFO_RECV_MESSAGES",
        RDS6_INFO_SOCKETS => "RDS6_INFO_SOCKETS",
        RDS6_INFO_TCP_SOCKETS => "RDS6_INFO_TCP_SOCKETS",
        _ => "RDS_INFO_?",
    }
}

/// The items of option `opt`, each `len` bytes; None if the kernel does
/// not know the option (ENOPROTOOPT: an IPv6 variant without IPv6).
fn items(sock: &RdsSocket, opt: i32, len: usize, optional: bool) -> Result<Option<Vec<Vec<u8>>>> {
    let (each, buf) = match snapshot(sock, opt) {
        Ok(r) => r,
        Err(e) if optional && e.raw_os_error() == Some(libc::ENOPROTOOPT) => return Ok(None),
        Err(e) => bail!("getsockopt(SOL_RDS, {}): {e}", opt_name(opt)),
    };
    if each != len {
        bail!(
            "{}: items of {each} bytes, expected {len} (struct layout of include/uapi/linux/rds.h)",
            opt_name(opt)
        );
    }
    if buf.len() % len != 0 {
        bail!(
            "{}: {} bytes, not a whole number of items",
            opt_name(opt),
            buf.len()
        );
    }
    Ok(Some(buf.chunks(len).map(<[u8]>::to_vec).collect()))
}

/// Reads packed fields in order.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().expect("split_at gave N bytes")
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_ne_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_ne_bytes(self.take())
    }
    fn be16(&mut self) -> u16 {
        u16::from_be_bytes(self.take())
    }
    fn v4(&mut self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self.take::<4>()))
    }
    fn v6(&mut self) -> IpAddr {
        unmap(Ipv6Addr::from(self.take::<16>()))
    }
    fn name<const N: usize>(&mut self) -> String {
        crate::genl::string_of(&self.take::<N>())
    }
}

#[derive(Serialize)]
pub struct Counter {
    pub name: String,
    pub value: u64,
}

#[derive(Serialize)]
pub struct Connection {
    pub local: IpAddr,
    pub peer: IpAddr,
    /// Absent for IPv6 connections: struct rds6_info_connection has no tos.
    pub tos: Option<u8>,
    pub transport: String,
    pub next_tx_seq: u64,
    pub next_rx_seq: u64,
    pub sending: bool,
    pub connecting: bool,
    pub connected: bool,
}

#[derive(Serialize)]
pub struct Socket {
    pub bound_addr: IpAddr,
    pub bound_port: u16,
    pub conn_addr: IpAddr,
    pub conn_port: u16,
    pub sndbuf: u32,
    pub rcvbuf: u32,
    pub inode: u64,
}

#[derive(Serialize)]
pub struct TcpSocket {
    pub local: IpAddr,
    pub local_port: u16,
    pub peer: IpAddr,
    pub peer_port: u16,
    pub hdr_rem: u64,
    pub data_rem: u64,
    pub last_sent_nxt: u32,
    pub last_expected_una: u32,
    pub last_seen_una: u32,
    /// Absent for IPv6 connections (struct rds6_info_tcp_socket has none).
    pub tos: Option<u8>,
}

#[derive(Serialize)]
pub struct Message {
    pub seq: u64,
    pub len: u32,
    pub local: IpAddr,
    pub local_port: u16,
    pub peer: IpAddr,
    pub peer_port: u16,
    pub tos: u8,
    pub ack: bool,
    pub fast_ack: bool,
}

fn counters(sock: &RdsSocket) -> Result<Vec<Counter>> {
    let items = items(sock, RDS_INFO_COUNTERS, COUNTER_LEN, false)?.unwrap_or_default();
    Ok(items
        .iter()
        .map(|b| {
            let mut r = Reader(b);
            Counter {
                name: r.name::<32>(),
                value: r.u64(),
            }
        })
        .collect())
}

fn conn_flags(c: &mut Connection, flags: u8) {
    c.sending = flags & RDS_INFO_CONNECTION_FLAG_SENDING != 0;
    c.connecting = flags & RDS_INFO_CONNECTION_FLAG_CONNECTING != 0;
    c.connected = flags & RDS_INFO_CONNECTION_FLAG_CONNECTED != 0;
}

/// IPv4 connections from RDS_INFO_CONNECTIONS (it has their tos), IPv6 ones
/// from RDS6_INFO_CONNECTIONS (which lists both families).
fn connections(sock: &RdsSocket) -> Result<Vec<Connection>> {
    let mut out = Vec::new();
    for b in items(sock, RDS_INFO_CONNECTIONS, CONN_LEN, false)?.unwrap_or_default() {
        let mut r = Reader(&b);
        let (next_tx_seq, next_rx_seq) = (r.u64(), r.u64());
        let (local, peer) = (r.v4(), r.v4());
        let transport = r.name::<16>();
        let (flags, tos) = (r.u8(), r.u8());
        let mut c = Connection {
            local,
            peer,
            tos: Some(tos),
            transport,
            next_tx_seq,
            next_rx_seq,
            sending: false,
            connecting: false,
            connected: false,
        };
        conn_flags(&mut c, flags);
        out.push(c);
    }
    for b in items(sock, RDS6_INFO_CONNECTIONS, CONN6_LEN, true)?.unwrap_or_default() {
        let mut r = Reader(&b);
        let (next_tx_seq, next_rx_seq) = (r.u64(), r.u64());
        let (local, peer) = (r.v6(), r.v6());
        if local.is_ipv4() {
            continue; // Listed above, with its tos.
        }
        let transport = r.name::<16>();
        let flags = r.u8();
        let mut c = Connection {
            local,
            peer,
            tos: None,
            transport,
            next_tx_seq,
            next_rx_seq,
            sending: false,
            connecting: false,
            connected: false,
        };
        conn_flags(&mut c, flags);
        out.push(c);
    }
    Ok(out)
}

fn sockets(sock: &RdsSocket) -> Result<Vec<Socket>> {
    if let Some(items) = items(sock, RDS6_INFO_SOCKETS, SOCK6_LEN, true)? {
        return Ok(items
            .iter()
            .map(|b| {
                let mut r = Reader(b);
                let sndbuf = r.u32();
                let (bound_addr, conn_addr) = (r.v6(), r.v6());
                let (bound_port, conn_port) = (r.be16(), r.be16());
                Socket {
                    bound_addr,
                    bound_port,
                    conn_addr,
                    conn_port,
                    sndbuf,
                    rcvbuf: r.u32(),
                    inode: r.u64(),
                }
            })
            .collect());
    }
    let items = items(sock, RDS_INFO_SOCKETS, SOCK_LEN, false)?.unwrap_or_default();
    Ok(items
        .iter()
        .map(|b| {
            let mut r = Reader(b);
            let sndbuf = r.u32();
            let (bound_addr, conn_addr) = (r.v4(), r.v4());
            let (bound_port, conn_port) = (r.be16(), r.be16());
            Socket {
                bound_addr,
                bound_port,
                conn_addr,
                conn_port,
                sndbuf,
                rcvbuf: r.u32(),
                inode: r.u64(),
            }
        })
        .collect())
}

/// As connections(): IPv4 from the IPv4 option (with tos), IPv6 from the
/// IPv6 one.
fn tcp_sockets(sock: &RdsSocket) -> Result<Vec<TcpSocket>> {
    let mut out = Vec::new();
    for b in items(sock, RDS_INFO_TCP_SOCKETS, TCP_LEN, false)?.unwrap_or_default() {
        let mut r = Reader(&b);
        let (local, local_port) = (r.v4(), r.be16());
        let (peer, peer_port) = (r.v4(), r.be16());
        out.push(TcpSocket {
            local,
            local_port,
            peer,
            peer_port,
            hdr_rem: r.u64(),
            data_rem: r.u64(),
            last_sent_nxt: r.u32(),
            last_expected_una: r.u32(),
            last_seen_una: r.u32(),
            tos: Some(r.u8()),
        });
    }
    for b in items(sock, RDS6_INFO_TCP_SOCKETS, TCP6_LEN, true)?.unwrap_or_default() {
        let mut r = Reader(&b);
        let (local, local_port) = (r.v6(), r.be16());
        let (peer, peer_port) = (r.v6(), r.be16());
        if local.is_ipv4() {
            continue;
        }
        out.push(TcpSocket {
            local,
            local_port,
            peer,
            peer_port,
            hdr_rem: r.u64(),
            data_rem: r.u64(),
            last_sent_nxt: r.u32(),
            last_expected_una: r.u32(),
            last_seen_una: r.u32(),
            tos: None,
        });
    }
    Ok(out)
}

fn messages(sock: &RdsSocket, opt6: i32, opt4: i32) -> Result<Vec<Message>> {
    let flags = |m: &mut Message, f: u8| {
        m.ack = f & RDS_INFO_MESSAGE_FLAG_ACK != 0;
        m.fast_ack = f & RDS_INFO_MESSAGE_FLAG_FAST_ACK != 0;
    };
    let (items, v6) = match items(sock, opt6, MSG6_LEN, true)? {
        Some(i) => (i, true),
        None => (
            items(sock, opt4, MSG_LEN, false)?.unwrap_or_default(),
            false,
        ),
    };
    Ok(items
        .iter()
        .map(|b| {
            let mut r = Reader(b);
            let (seq, len) = (r.u64(), r.u32());
            let (local, peer) = if v6 {
                (r.v6(), r.v6())
            } else {
                (r.v4(), r.v4())
            };
            let (local_port, peer_port) = (r.be16(), r.be16());
            let f = r.u8();
            let mut m = Message {
                seq,
                len,
                local,
                local_port,
                peer,
                peer_port,
                tos: r.u8(),
                ack: false,
                fast_ack: false,
            };
            flags(&mut m, f);
            m
        })
        .collect())
}

#[derive(Serialize, Default)]
struct InfoJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    counters: Option<Vec<Counter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connections: Option<Vec<Connection>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sockets: Option<Vec<Socket>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<Vec<TcpSocket>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send: Option<Vec<Message>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retrans: Option<Vec<Message>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recv: Option<Vec<Message>>,
}

pub fn info(sections: &[Section], json: bool) -> Result<()> {
    let sections = if sections.is_empty() {
        &ALL[..]
    } else {
        sections
    };
    let sock = RdsSocket::open()?;
    let mut out = InfoJson::default();
    for s in sections {
        match s {
            Section::Counters => out.counters = Some(counters(&sock)?),
            Section::Connections => out.connections = Some(connections(&sock)?),
            Section::Sockets => out.sockets = Some(sockets(&sock)?),
            Section::Tcp => out.tcp = Some(tcp_sockets(&sock)?),
            Section::Send => {
                out.send = Some(messages(
                    &sock,
                    RDS6_INFO_SEND_MESSAGES,
                    RDS_INFO_SEND_MESSAGES,
                )?)
            }
            Section::Retrans => {
                out.retrans = Some(messages(
                    &sock,
                    RDS6_INFO_RETRANS_MESSAGES,
                    RDS_INFO_RETRANS_MESSAGES,
                )?)
            }
            Section::Recv => {
                out.recv = Some(messages(
                    &sock,
                    RDS6_INFO_RECV_MESSAGES,
                    RDS_INFO_RECV_MESSAGES,
                )?)
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_human(&out);
    }
    Ok(())
}

fn print_human(o: &InfoJson) {
    let mut first = true;
    let mut heading = |h: &str| {
        if !std::mem::take(&mut first) {
            println!();
        }
        println!("{h}:");
    };
    if let Some(cs) = &o.counters {
        heading("Counters");
        let rows: Vec<_> = cs
            .iter()
            .map(|c| vec![c.name.clone(), c.value.to_string()])
            .collect();
        table(&["CounterName", "Value"], &rows);
    }
    if let Some(cs) = &o.connections {
        heading("Connections");
        let rows: Vec<_> = cs
            .iter()
            .map(|c| {
                let flags: String = [(c.sending, 's'), (c.connecting, 'c'), (c.connected, 'C')]
                    .iter()
                    .map(|&(on, ch)| if on { ch } else { '-' })
                    .collect();
                vec![
                    c.local.to_string(),
                    c.peer.to_string(),
                    c.tos.map_or("-".into(), |t| t.to_string()),
                    c.next_tx_seq.to_string(),
                    c.next_rx_seq.to_string(),
                    c.transport.clone(),
                    flags,
                ]
            })
            .collect();
        table(
            &[
                "LocalAddr",
                "RemoteAddr",
                "Tos",
                "NextTX",
                "NextRX",
                "Transport",
                "Flg",
            ],
            &rows,
        );
    }
    if let Some(ss) = &o.sockets {
        heading("Sockets");
        let rows: Vec<_> = ss
            .iter()
            .map(|s| {
                vec![
                    show_ip_port(s.bound_addr, s.bound_port),
                    show_ip_port(s.conn_addr, s.conn_port),
                    s.sndbuf.to_string(),
                    s.rcvbuf.to_string(),
                    s.inode.to_string(),
                ]
            })
            .collect();
        table(
            &["BoundAddr", "ConnAddr", "SndBuf", "RcvBuf", "Inode"],
            &rows,
        );
    }
    if let Some(ts) = &o.tcp {
        heading("TCP Connections");
        let rows: Vec<_> = ts
            .iter()
            .map(|t| {
                vec![
                    show_ip_port(t.local, t.local_port),
                    show_ip_port(t.peer, t.peer_port),
                    t.tos.map_or("-".into(), |v| v.to_string()),
                    t.hdr_rem.to_string(),
                    t.data_rem.to_string(),
                    t.last_sent_nxt.to_string(),
                    t.last_expected_una.to_string(),
                    t.last_seen_una.to_string(),
                ]
            })
            .collect();
        table(
            &[
                "Local",
                "Remote",
                "Tos",
                "HdrRemain",
                "DataRemain",
                "SentNxt",
                "ExpectUna",
                "SeenUna",
            ],
            &rows,
        );
    }
    for (name, ms) in [
        ("Send Message Queue", &o.send),
        ("Retransmit Message Queue", &o.retrans),
        ("Receive Message Queue", &o.recv),
    ] {
        if let Some(ms) = ms {
            heading(name);
            let rows: Vec<_> = ms
                .iter()
                .map(|m| {
                    vec![
                        show_ip_port(m.local, m.local_port),
                        show_ip_port(m.peer, m.peer_port),
                        m.tos.to_string(),
                        m.seq.to_string(),
                        m.len.to_string(),
                    ]
                })
                .collect();
            table(&["Local", "Remote", "Tos", "Seq", "Bytes"], &rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_rds_h() {
        // sizeof() of the packed structs, as the kernel reports in `each`.
        assert_eq!(
            (COUNTER_LEN, CONN_LEN, CONN6_LEN, MSG_LEN, MSG6_LEN),
            (40, 42, 65, 26, 50)
        );
        assert_eq!((SOCK_LEN, SOCK6_LEN, TCP_LEN, TCP6_LEN), (28, 52, 41, 64));
    }

    #[test]
    fn a_connection_item_decodes() {
        let mut b = Vec::new();
        b.extend(7u64.to_ne_bytes());
        b.extend(9u64.to_ne_bytes());
        b.extend([192, 0, 2, 1, 192, 0, 2, 2]);
        let mut t = [0u8; 16];
        t[..3].copy_from_slice(b"tcp");
        b.extend(t);
        b.extend([RDS_INFO_CONNECTION_FLAG_CONNECTED, 3]);
        assert_eq!(b.len(), CONN_LEN);
        let mut r = Reader(&b);
        assert_eq!((r.u64(), r.u64()), (7, 9));
        assert_eq!(r.v4().to_string(), "192.0.2.1");
        assert_eq!(r.v4().to_string(), "192.0.2.2");
        assert_eq!(r.name::<16>(), "tcp");
        assert_eq!((r.u8(), r.u8()), (RDS_INFO_CONNECTION_FLAG_CONNECTED, 3));
    }
}
