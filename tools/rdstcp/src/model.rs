// SPDX-License-Identifier: GPL-2.0

//! What the `rds_tcp` family reports, decoded from its messages into plain
//! structs that print as JSON: settings, connections with their paths,
//! sockets, events.

use std::net::IpAddr;

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

use crate::genl::{bytes_of, flag_of, nested, u16_of, u32_of, u8_of, uint_of, Attrs, Msg};
use crate::rds::ip_from_bytes;
use crate::uapi::*;

/// Settings of the namespace (RDS_TCP_CMD_GET_CONFIG).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Config {
    pub tcp_sndbuf: Option<u32>,
    pub tcp_rcvbuf: Option<u32>,
    pub npaths: Option<u32>,
    pub reconnect_min_ms: Option<u32>,
    pub reconnect_max_ms: Option<u32>,
    pub ping_enable: Option<bool>,
    pub stall_ms: Option<u32>,
}

/// One settable key of `rdstcp set`: attribute, name, and how to read it.
pub struct Key {
    pub name: &'static str,
    pub attr: u16,
    pub kind: KeyKind,
    pub help: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An NLA_U32 byte count: accepts K, M, G suffixes (powers of 1024).
    Bytes,
    /// An NLA_U32.
    U32,
    /// An NLA_U8 of 0 or 1: accepts on/off, yes/no, true/false too.
    Bool,
}

pub const KEYS: &[Key] = &[
    Key {
        name: "tcp-sndbuf",
        attr: RDS_TCP_CONFIG_A_TCP_SNDBUF,
        kind: KeyKind::Bytes,
        help: "SO_SNDBUF of the TCP sockets, 0 for autotuning (resets connections)",
    },
    Key {
        name: "tcp-rcvbuf",
        attr: RDS_TCP_CONFIG_A_TCP_RCVBUF,
        kind: KeyKind::Bytes,
        help: "SO_RCVBUF of the TCP sockets, 0 for autotuning (resets connections)",
    },
    Key {
        name: "npaths",
        attr: RDS_TCP_CONFIG_A_NPATHS,
        kind: KeyKind::U32,
        help: "paths a new connection asks for, 1 to 8",
    },
    Key {
        name: "reconnect-min-ms",
        attr: RDS_TCP_CONFIG_A_RECONNECT_MIN_MS,
        kind: KeyKind::U32,
        help: "first reconnect delay, ms",
    },
    Key {
        name: "reconnect-max-ms",
        attr: RDS_TCP_CONFIG_A_RECONNECT_MAX_MS,
        kind: KeyKind::U32,
        help: "largest reconnect delay, ms",
    },
    Key {
        name: "ping-enable",
        attr: RDS_TCP_CONFIG_A_PING_ENABLE,
        kind: KeyKind::Bool,
        help: "answer pings to port 0 (on/off)",
    },
    Key {
        name: "stall-ms",
        attr: RDS_TCP_CONFIG_A_STALL_MS,
        kind: KeyKind::U32,
        help: "stall threshold of path-stalled events, ms; 0 turns detection off",
    },
];

impl Config {
    pub fn decode(m: &Msg) -> Result<Config> {
        let a = m.attrs().get_attr_handle();
        Ok(Config {
            tcp_sndbuf: u32_of(&a, RDS_TCP_CONFIG_A_TCP_SNDBUF)?,
            tcp_rcvbuf: u32_of(&a, RDS_TCP_CONFIG_A_TCP_RCVBUF)?,
            npaths: u32_of(&a, RDS_TCP_CONFIG_A_NPATHS)?,
            reconnect_min_ms: u32_of(&a, RDS_TCP_CONFIG_A_RECONNECT_MIN_MS)?,
            reconnect_max_ms: u32_of(&a, RDS_TCP_CONFIG_A_RECONNECT_MAX_MS)?,
            ping_enable: u8_of(&a, RDS_TCP_CONFIG_A_PING_ENABLE)?.map(|v| v != 0),
            stall_ms: u32_of(&a, RDS_TCP_CONFIG_A_STALL_MS)?,
        })
    }
}

/// A connection (RDS_TCP_CMD_GET_CONN), its paths coalesced from however
/// many messages the kernel split them over.
#[derive(Clone, Debug, Serialize)]
pub struct Conn {
    pub local: IpAddr,
    pub peer: IpAddr,
    pub tos: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    pub local_cong_ports: Option<u32>,
    pub peer_cong_ports: Option<u32>,
    pub tx_enobufs: Option<u64>,
    pub paths: Vec<Path>,
}

impl Conn {
    /// The key that identifies a connection in requests and in split dumps.
    pub fn key(&self) -> (IpAddr, IpAddr, u8, Option<u32>) {
        (self.local, self.peer, self.tos, self.ifindex)
    }

    pub fn scope(&self) -> u32 {
        self.ifindex.unwrap_or(0)
    }

    /// Decodes a dump, merging messages that continue the previous one.
    pub fn decode_all(msgs: &[Msg]) -> Result<Vec<Conn>> {
        let mut conns: Vec<Conn> = Vec::new();
        for m in msgs {
            let c = Conn::decode(m)?;
            match conns.last_mut() {
                Some(last) if last.key() == c.key() => last.paths.extend(c.paths),
                _ => conns.push(c),
            }
        }
        Ok(conns)
    }

    fn decode(m: &Msg) -> Result<Conn> {
        let a = m.attrs().get_attr_handle();
        let addr = |t, what| -> Result<IpAddr> {
            ip_from_bytes(bytes_of(&a, t).ok_or_else(|| anyhow!("connection without {what}"))?)
        };
        let mut paths = Vec::new();
        if let Some(p) = a.get_attribute(RDS_TCP_CONN_A_PATHS) {
            for item in nested(p)?.iter() {
                paths.push(Path::decode(&nested(item)?).context("a path")?);
            }
        }
        Ok(Conn {
            local: addr(RDS_TCP_CONN_A_LOCAL_ADDR, "local address")?,
            peer: addr(RDS_TCP_CONN_A_PEER_ADDR, "peer address")?,
            tos: u8_of(&a, RDS_TCP_CONN_A_TOS)?.unwrap_or(0),
            ifindex: u32_of(&a, RDS_TCP_CONN_A_IFINDEX)?,
            local_cong_ports: u32_of(&a, RDS_TCP_CONN_A_LOCAL_CONG_PORTS)?,
            peer_cong_ports: u32_of(&a, RDS_TCP_CONN_A_PEER_CONG_PORTS)?,
            tx_enobufs: uint_of(&a, RDS_TCP_CONN_A_TX_ENOBUFS)?,
            paths,
        })
    }
}

/// One path of a connection.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Path {
    pub index: u32,
    pub state: String,
    pub tcp_local_port: Option<u16>,
    pub tcp_peer_port: Option<u16>,
    pub tx_bytes: u64,
    pub tx_msgs: u64,
    pub rx_bytes: u64,
    pub rx_msgs: u64,
    pub retrans_msgs: u64,
    pub reconnects: u64,
    pub unacked_bytes: u64,
    pub unacked_msgs: u64,
    pub queued_bytes: u64,
    pub queued_msgs: u64,
    pub next_tx_seq: Option<u64>,
    pub next_rx_seq: Option<u64>,
    pub tcp_rtt_us: Option<u32>,
    pub tcp_rttvar_us: Option<u32>,
    pub last_progress_ms: Option<u64>,
    pub stalled: bool,
    pub lat_hist: Vec<Bucket>,
}

/// A non-empty bucket of a send-to-ack latency histogram.
#[derive(Clone, Debug, Serialize)]
pub struct Bucket {
    pub bucket: u32,
    /// Latencies counted here are at least this many microseconds...
    pub from_us: u64,
    /// ...and less than this many (None for the last, open bucket).
    pub to_us: Option<u64>,
    pub count: u64,
}

impl Bucket {
    pub fn new(bucket: u32, count: u64) -> Bucket {
        let last = bucket + 1 >= RDS_TCP_LAT_BUCKETS;
        Bucket {
            bucket,
            from_us: if bucket == 0 { 0 } else { 1 << bucket },
            to_us: (!last).then(|| 1u64 << (bucket + 1)),
            count,
        }
    }
}

pub fn path_state_name(s: u32) -> String {
    match s {
        RDS_TCP_PATH_STATE_DOWN => "down".into(),
        RDS_TCP_PATH_STATE_CONNECTING => "connecting".into(),
        RDS_TCP_PATH_STATE_DISCONNECTING => "disconnecting".into(),
        RDS_TCP_PATH_STATE_UP => "up".into(),
        RDS_TCP_PATH_STATE_RESETTING => "resetting".into(),
        RDS_TCP_PATH_STATE_ERROR => "error".into(),
        n => format!("state-{n}"),
    }
}

impl Path {
    fn decode(a: &Attrs) -> Result<Path> {
        let n = |t| -> Result<u64> { Ok(uint_of(a, t)?.unwrap_or(0)) };
        let mut lat_hist = Vec::new();
        if let Some(h) = a.get_attribute(RDS_TCP_PATH_A_LAT_HIST) {
            for item in nested(h)?.iter() {
                let b = nested(item)?;
                let bucket = u32_of(&b, RDS_TCP_LAT_A_BUCKET)?
                    .ok_or_else(|| anyhow!("histogram entry without a bucket"))?;
                lat_hist.push(Bucket::new(
                    bucket,
                    uint_of(&b, RDS_TCP_LAT_A_COUNT)?.unwrap_or(0),
                ));
            }
        }
        Ok(Path {
            index: u32_of(a, RDS_TCP_PATH_A_INDEX)?.unwrap_or(0),
            state: path_state_name(u32_of(a, RDS_TCP_PATH_A_STATE)?.unwrap_or(0)),
            tcp_local_port: u16_of(a, RDS_TCP_PATH_A_TCP_LOCAL_PORT)?,
            tcp_peer_port: u16_of(a, RDS_TCP_PATH_A_TCP_PEER_PORT)?,
            tx_bytes: n(RDS_TCP_PATH_A_TX_BYTES)?,
            tx_msgs: n(RDS_TCP_PATH_A_TX_MSGS)?,
            rx_bytes: n(RDS_TCP_PATH_A_RX_BYTES)?,
            rx_msgs: n(RDS_TCP_PATH_A_RX_MSGS)?,
            retrans_msgs: n(RDS_TCP_PATH_A_RETRANS_MSGS)?,
            reconnects: n(RDS_TCP_PATH_A_RECONNECTS)?,
            unacked_bytes: n(RDS_TCP_PATH_A_UNACKED_BYTES)?,
            unacked_msgs: n(RDS_TCP_PATH_A_UNACKED_MSGS)?,
            queued_bytes: n(RDS_TCP_PATH_A_QUEUED_BYTES)?,
            queued_msgs: n(RDS_TCP_PATH_A_QUEUED_MSGS)?,
            next_tx_seq: uint_of(a, RDS_TCP_PATH_A_NEXT_TX_SEQ)?,
            next_rx_seq: uint_of(a, RDS_TCP_PATH_A_NEXT_RX_SEQ)?,
            tcp_rtt_us: u32_of(a, RDS_TCP_PATH_A_TCP_RTT_US)?,
            tcp_rttvar_us: u32_of(a, RDS_TCP_PATH_A_TCP_RTTVAR_US)?,
            last_progress_ms: uint_of(a, RDS_TCP_PATH_A_LAST_PROGRESS_MS)?,
            stalled: flag_of(a, RDS_TCP_PATH_A_STALLED),
            lat_hist,
        })
    }
}

/// An RDS socket (RDS_TCP_CMD_GET_SOCK).
#[derive(Clone, Debug, Serialize)]
pub struct Sock {
    pub bound_addr: Option<IpAddr>,
    pub bound_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    pub conn_addr: Option<IpAddr>,
    pub conn_port: Option<u16>,
    pub inode: Option<u64>,
    pub tos: u8,
    pub sndbuf: Option<u32>,
    pub snd_bytes: Option<u32>,
    pub rcvbuf: Option<u32>,
    pub rcv_bytes: Option<u32>,
    pub rcv_msgs: Option<u32>,
    pub congested: bool,
    pub cong_mask: Option<u64>,
    pub enobufs: Option<u64>,
}

impl Sock {
    pub fn decode(m: &Msg) -> Result<Sock> {
        let a = m.attrs().get_attr_handle();
        let addr = |t| bytes_of(&a, t).map(ip_from_bytes).transpose();
        Ok(Sock {
            bound_addr: addr(RDS_TCP_SOCK_A_BOUND_ADDR)?,
            bound_port: u16_of(&a, RDS_TCP_SOCK_A_BOUND_PORT)?,
            ifindex: u32_of(&a, RDS_TCP_SOCK_A_IFINDEX)?,
            conn_addr: addr(RDS_TCP_SOCK_A_CONN_ADDR)?,
            conn_port: u16_of(&a, RDS_TCP_SOCK_A_CONN_PORT)?,
            inode: uint_of(&a, RDS_TCP_SOCK_A_INODE)?,
            tos: u8_of(&a, RDS_TCP_SOCK_A_TOS)?.unwrap_or(0),
            sndbuf: u32_of(&a, RDS_TCP_SOCK_A_SNDBUF)?,
            snd_bytes: u32_of(&a, RDS_TCP_SOCK_A_SND_BYTES)?,
            rcvbuf: u32_of(&a, RDS_TCP_SOCK_A_RCVBUF)?,
            rcv_bytes: u32_of(&a, RDS_TCP_SOCK_A_RCV_BYTES)?,
            rcv_msgs: u32_of(&a, RDS_TCP_SOCK_A_RCV_MSGS)?,
            congested: flag_of(&a, RDS_TCP_SOCK_A_CONGESTED),
            cong_mask: uint_of(&a, RDS_TCP_SOCK_A_CONG_MASK)?,
            enobufs: uint_of(&a, RDS_TCP_SOCK_A_ENOBUFS)?,
        })
    }
}

/// An event of the `events` group.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Seconds since the epoch when this tool received it.
    pub time: f64,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_progress_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<u32>,
}

pub fn event_name(t: u32) -> String {
    match t {
        RDS_TCP_EVENT_CONN_UP => "conn-up".into(),
        RDS_TCP_EVENT_CONN_DOWN => "conn-down".into(),
        RDS_TCP_EVENT_PORT_CONGESTED => "port-congested".into(),
        RDS_TCP_EVENT_PORT_UNCONGESTED => "port-uncongested".into(),
        RDS_TCP_EVENT_PATH_STALLED => "path-stalled".into(),
        RDS_TCP_EVENT_PATH_UNSTALLED => "path-unstalled".into(),
        n => format!("event-{n}"),
    }
}

impl Event {
    pub fn decode(m: &Msg, time: f64) -> Result<Event> {
        let a = m.attrs().get_attr_handle();
        let addr = |t| bytes_of(&a, t).map(ip_from_bytes).transpose();
        Ok(Event {
            time,
            event: event_name(u32_of(&a, RDS_TCP_EVENT_A_TYPE)?.unwrap_or(0)),
            local: addr(RDS_TCP_EVENT_A_LOCAL_ADDR)?,
            peer: addr(RDS_TCP_EVENT_A_PEER_ADDR)?,
            tos: u8_of(&a, RDS_TCP_EVENT_A_TOS)?,
            ifindex: u32_of(&a, RDS_TCP_EVENT_A_IFINDEX)?,
            path: u32_of(&a, RDS_TCP_EVENT_A_PATH)?,
            local_port: u16_of(&a, RDS_TCP_EVENT_A_LOCAL_PORT)?,
            peer_port: u16_of(&a, RDS_TCP_EVENT_A_PEER_PORT)?,
            last_progress_ms: uint_of(&a, RDS_TCP_EVENT_A_LAST_PROGRESS_MS)?,
            waiting_bytes: uint_of(&a, RDS_TCP_EVENT_A_WAITING_BYTES)?,
            error: u32_of(&a, RDS_TCP_EVENT_A_ERROR)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neli::genl::{AttrTypeBuilder, GenlmsghdrBuilder, Nlattr, NlattrBuilder};
    use neli::types::{Buffer, GenlBuffer};
    use neli::{FromBytesWithInput, Size, ToBytes};
    use std::io::Cursor;

    fn attr<P: Size + ToBytes>(t: u16, p: P) -> Nlattr<u16, Buffer> {
        NlattrBuilder::default()
            .nla_type(AttrTypeBuilder::default().nla_type(t).build().unwrap())
            .nla_payload(p)
            .build()
            .unwrap()
    }

    fn nest(t: u16, children: Vec<Nlattr<u16, Buffer>>) -> Nlattr<u16, Buffer> {
        children
            .iter()
            .fold(attr(t, Buffer::new()), |n, c| n.nest(c).unwrap())
    }

    /// Serializes a message as the kernel would send it and parses it back.
    fn msg(cmd: u8, attrs: Vec<Nlattr<u16, Buffer>>) -> Msg {
        let m: Msg = GenlmsghdrBuilder::default()
            .cmd(cmd)
            .version(RDS_TCP_GENL_VERSION)
            .attrs(attrs.into_iter().collect::<GenlBuffer<u16, Buffer>>())
            .build()
            .unwrap();
        let mut out = Cursor::new(Vec::new());
        m.to_bytes(&mut out).unwrap();
        let bytes = out.into_inner();
        Msg::from_bytes_with_input(&mut Cursor::new(&bytes), bytes.len()).unwrap()
    }

    fn key(local: [u8; 16], peer: [u8; 16]) -> Vec<Nlattr<u16, Buffer>> {
        vec![
            attr(RDS_TCP_CONN_A_LOCAL_ADDR, &local[..]),
            attr(RDS_TCP_CONN_A_PEER_ADDR, &peer[..]),
            attr(RDS_TCP_CONN_A_TOS, 0u8),
        ]
    }

    #[test]
    fn a_split_connection_dump_decodes_and_coalesces() {
        let a = crate::rds::Addr::parse("192.0.2.1").unwrap().to_bytes();
        let b = crate::rds::Addr::parse("192.0.2.2").unwrap().to_bytes();
        let path0 = nest(
            0,
            vec![
                attr(RDS_TCP_PATH_A_INDEX, 0u32),
                attr(RDS_TCP_PATH_A_STATE, RDS_TCP_PATH_STATE_UP),
                attr(RDS_TCP_PATH_A_TX_MSGS, 50u32),
                attr(RDS_TCP_PATH_A_TX_BYTES, 5_000_000_000u64),
                attr(RDS_TCP_PATH_A_STALLED, Buffer::new()),
                nest(
                    RDS_TCP_PATH_A_LAT_HIST,
                    vec![
                        nest(
                            0,
                            vec![
                                attr(RDS_TCP_LAT_A_BUCKET, 5u32),
                                attr(RDS_TCP_LAT_A_COUNT, 40u32),
                            ],
                        ),
                        nest(
                            0,
                            vec![
                                attr(RDS_TCP_LAT_A_BUCKET, 6u32),
                                attr(RDS_TCP_LAT_A_COUNT, 10u64),
                            ],
                        ),
                    ],
                ),
            ],
        );
        let path1 = nest(0, vec![attr(RDS_TCP_PATH_A_INDEX, 1u32)]);
        let mut first = key(a, b);
        first.push(attr(RDS_TCP_CONN_A_TX_ENOBUFS, 3u32));
        first.push(nest(RDS_TCP_CONN_A_PATHS, vec![path0]));
        let mut second = key(a, b);
        second.push(nest(RDS_TCP_CONN_A_PATHS, vec![path1]));
        let mut other = key(b, a);
        other.push(nest(RDS_TCP_CONN_A_PATHS, vec![]));
        let conns = Conn::decode_all(&[
            msg(RDS_TCP_CMD_GET_CONN, first),
            msg(RDS_TCP_CMD_GET_CONN, second),
            msg(RDS_TCP_CMD_GET_CONN, other),
        ])
        .unwrap();

        assert_eq!(conns.len(), 2);
        let c = &conns[0];
        assert_eq!(
            (c.local.to_string(), c.peer.to_string()),
            ("192.0.2.1".into(), "192.0.2.2".into())
        );
        assert_eq!(c.tx_enobufs, Some(3));
        assert_eq!(c.paths.len(), 2);
        let p = &c.paths[0];
        assert_eq!(
            (p.state.as_str(), p.tx_msgs, p.tx_bytes),
            ("up", 50, 5_000_000_000)
        );
        assert!(p.stalled);
        let hist: Vec<_> = p.lat_hist.iter().map(|b| (b.bucket, b.count)).collect();
        assert_eq!(hist, [(5, 40), (6, 10)]);
        assert_eq!((c.paths[1].index, c.paths[1].state.as_str()), (1, "down"));
        assert_eq!(conns[1].local.to_string(), "192.0.2.2");
    }

    #[test]
    fn an_event_decodes() {
        let a = crate::rds::Addr::parse("2001:db8::1").unwrap().to_bytes();
        let m = msg(
            RDS_TCP_CMD_EVENT,
            vec![
                attr(RDS_TCP_EVENT_A_TYPE, RDS_TCP_EVENT_PORT_CONGESTED),
                attr(RDS_TCP_EVENT_A_LOCAL_ADDR, &a[..]),
                attr(RDS_TCP_EVENT_A_LOCAL_PORT, 4000u16),
            ],
        );
        let e = Event::decode(&m, 0.0).unwrap();
        assert_eq!(e.event, "port-congested");
        assert_eq!(e.local.unwrap().to_string(), "2001:db8::1");
        assert_eq!((e.local_port, e.peer), (Some(4000), None));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"time":0.0,"event":"port-congested","local":"2001:db8::1","local_port":4000}"#
        );
    }

    #[test]
    fn buckets_cover_log2_ranges() {
        let b = Bucket::new(0, 1);
        assert_eq!((b.from_us, b.to_us), (0, Some(2)));
        let b = Bucket::new(5, 1);
        assert_eq!((b.from_us, b.to_us), (32, Some(64)));
        let b = Bucket::new(RDS_TCP_LAT_BUCKETS - 1, 1);
        assert_eq!((b.from_us, b.to_us), (1 << 31, None));
    }
}
