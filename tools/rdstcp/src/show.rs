// SPDX-License-Identifier: GPL-2.0

//! The commands that speak the `rds_tcp` netlink family: show, set, reset,
//! monitor.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::fmt::{bytes, micros, millis, now_secs, rate, timestamp, Block};
use crate::genl::{Genl, NlError, NotifyError, Request};
use crate::model::{Config, Conn, Event, KeyKind, Path, Sock, KEYS};
use crate::rds::{show_ip, show_ip_port, Addr};
use crate::uapi::*;

/// What `rdstcp show` prints.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    All,
    Config,
    Connections,
    Sockets,
}

/// Turns the kernel's EPERM into advice.
fn explain(e: anyhow::Error, what: &str) -> anyhow::Error {
    match e.downcast_ref::<NlError>() {
        Some(nl) if nl.errno == libc::EPERM => anyhow!(
            "permission denied: {what} needs CAP_NET_ADMIN (in the user namespace of this network namespace)"
        ),
        _ => e.context(what.to_string()),
    }
}

fn dump_conns(genl: &mut Genl) -> Result<Vec<Conn>> {
    // A dump that raced a connection coming or going is flagged: try again.
    for _ in 0..3 {
        let d = genl.dump(Request::new(RDS_TCP_CMD_GET_CONN))?;
        if !d.interrupted {
            return Conn::decode_all(&d.msgs);
        }
    }
    let d = genl.dump(Request::new(RDS_TCP_CMD_GET_CONN))?;
    if d.interrupted {
        eprintln!("rdstcp: warning: connections changed during the dump");
    }
    Conn::decode_all(&d.msgs)
}

fn dump_socks(genl: &mut Genl) -> Result<Vec<Sock>> {
    let d = genl.dump(Request::new(RDS_TCP_CMD_GET_SOCK))?;
    if d.interrupted {
        eprintln!("rdstcp: warning: sockets changed during the dump");
    }
    d.msgs.iter().map(Sock::decode).collect()
}

fn get_config(genl: &mut Genl) -> Result<Config> {
    let msgs = genl.request(Request::new(RDS_TCP_CMD_GET_CONFIG))?;
    let m = msgs
        .first()
        .ok_or_else(|| anyhow!("no reply to get-config"))?;
    Config::decode(m)
}

/// Rates of one path between two samples.
#[derive(Serialize)]
struct Rate {
    local: IpAddr,
    peer: IpAddr,
    tos: u8,
    path: u32,
    seconds: f64,
    tx_bytes_per_s: f64,
    tx_msgs_per_s: f64,
    rx_bytes_per_s: f64,
    rx_msgs_per_s: f64,
}

#[derive(Serialize)]
struct ShowJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Config>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connections: Option<Vec<Conn>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sockets: Option<Vec<Sock>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates: Option<Vec<Rate>>,
}

pub fn show(what: What, json: bool, rate_secs: Option<f64>) -> Result<()> {
    let mut genl = Genl::open()?;
    let want = |w| what == What::All || what == w;
    let config = if want(What::Config) {
        Some(get_config(&mut genl).context("get-config")?)
    } else {
        None
    };
    let mut conns = if want(What::Connections) {
        Some(dump_conns(&mut genl).context("dumping connections")?)
    } else {
        None
    };
    let mut rates = None;
    if let (Some(secs), Some(before)) = (rate_secs, conns.as_ref()) {
        if !(secs > 0.0 && secs.is_finite()) {
            bail!("--rate takes a positive number of seconds");
        }
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(secs));
        let after = dump_conns(&mut genl).context("dumping connections")?;
        rates = Some(rates_between(before, &after, t0.elapsed().as_secs_f64()));
        conns = Some(after);
    }
    let socks = if want(What::Sockets) {
        Some(dump_socks(&mut genl).context("dumping sockets")?)
    } else {
        None
    };

    if json {
        let out = ShowJson {
            config,
            connections: conns,
            sockets: socks,
            rates,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mut first = true;
    let mut gap = || {
        if !std::mem::take(&mut first) {
            println!();
        }
    };
    if let Some(c) = &config {
        gap();
        print_config(c);
    }
    let rates: HashMap<_, _> = rates
        .unwrap_or_default()
        .into_iter()
        .map(|r| ((r.local, r.peer, r.tos, r.path), r))
        .collect();
    for c in conns.iter().flatten() {
        gap();
        print_conn(c, &rates);
    }
    for s in socks.iter().flatten() {
        gap();
        print_sock(s);
    }
    Ok(())
}

fn rates_between(before: &[Conn], after: &[Conn], secs: f64) -> Vec<Rate> {
    let old: HashMap<_, &Path> = before
        .iter()
        .flat_map(|c| c.paths.iter().map(move |p| ((c.key(), p.index), p)))
        .collect();
    let mut out = Vec::new();
    for c in after {
        for p in &c.paths {
            let Some(o) = old.get(&(c.key(), p.index)) else {
                continue;
            };
            let per_s = |new: u64, old: u64| new.saturating_sub(old) as f64 / secs;
            out.push(Rate {
                local: c.local,
                peer: c.peer,
                tos: c.tos,
                path: p.index,
                seconds: secs,
                tx_bytes_per_s: per_s(p.tx_bytes, o.tx_bytes),
                tx_msgs_per_s: per_s(p.tx_msgs, o.tx_msgs),
                rx_bytes_per_s: per_s(p.rx_bytes, o.rx_bytes),
                rx_msgs_per_s: per_s(p.rx_msgs, o.rx_msgs),
            });
        }
    }
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn print_config(c: &Config) {
    println!("config:");
    let mut b = Block::new(2);
    let buf = |v: Option<u32>| match v {
        Some(0) => "0 (autotuning)".to_string(),
        Some(n) => bytes(n.into()),
        None => "-".into(),
    };
    b.row("tcp-sndbuf", buf(c.tcp_sndbuf));
    b.row("tcp-rcvbuf", buf(c.tcp_rcvbuf));
    b.row("npaths", opt(c.npaths));
    b.row("reconnect-min-ms", opt(c.reconnect_min_ms));
    b.row("reconnect-max-ms", opt(c.reconnect_max_ms));
    b.row(
        "ping-enable",
        opt(c.ping_enable.map(|on| if on { "on" } else { "off" })),
    );
    b.row(
        "stall-ms",
        match c.stall_ms {
            Some(0) => "0 (off)".into(),
            v => opt(v),
        },
    );
    b.print();
}

fn print_conn(c: &Conn, rates: &HashMap<(IpAddr, IpAddr, u8, u32), Rate>) {
    println!(
        "connection: {} -> {}, tos {}",
        show_ip(c.local, c.scope()),
        show_ip(c.peer, c.scope()),
        c.tos
    );
    let mut b = Block::new(2);
    b.row(
        "congested ports",
        format!(
            "{} local, {} peer",
            opt(c.local_cong_ports),
            opt(c.peer_cong_ports)
        ),
    );
    b.row("enobufs", opt(c.tx_enobufs));
    b.print();
    for p in &c.paths {
        let tcp = match (p.tcp_local_port, p.tcp_peer_port) {
            (Some(l), Some(r)) => format!(
                ", tcp {} -> {}",
                show_ip_port(c.local, l),
                show_ip_port(c.peer, r)
            ),
            _ => String::new(),
        };
        let stalled = if p.stalled { ", STALLED" } else { "" };
        println!("  path {}: {}{tcp}{stalled}", p.index, p.state);
        let mut b = Block::new(4);
        b.row(
            "sent",
            format!(
                "{} msgs, {} ({} retransmitted)",
                p.tx_msgs,
                bytes(p.tx_bytes),
                p.retrans_msgs
            ),
        );
        b.row(
            "received",
            format!("{} msgs, {}", p.rx_msgs, bytes(p.rx_bytes)),
        );
        b.row(
            "unacked",
            format!("{} msgs, {}", p.unacked_msgs, bytes(p.unacked_bytes)),
        );
        b.row(
            "queued",
            format!("{} msgs, {}", p.queued_msgs, bytes(p.queued_bytes)),
        );
        b.row(
            "next seq",
            format!("tx {}, rx {}", opt(p.next_tx_seq), opt(p.next_rx_seq)),
        );
        b.row("reconnects", p.reconnects.to_string());
        if let Some(rtt) = p.tcp_rtt_us {
            b.row(
                "tcp rtt",
                format!(
                    "{} (var {})",
                    micros(rtt.into()),
                    micros(p.tcp_rttvar_us.unwrap_or(0).into())
                ),
            );
        }
        if let Some(ms) = p.last_progress_ms {
            b.row("last progress", format!("{} ago", millis(ms)));
        }
        if let Some(s) = latency_summary(p) {
            b.row("ack latency", s);
        }
        if let Some(r) = rates.get(&(c.local, c.peer, c.tos, p.index)) {
            b.row(
                "rate",
                format!(
                    "tx {} {}, rx {} {} (over {:.1} s)",
                    rate(r.tx_bytes_per_s as u64, 1.0, true),
                    rate(r.tx_msgs_per_s as u64, 1.0, false),
                    rate(r.rx_bytes_per_s as u64, 1.0, true),
                    rate(r.rx_msgs_per_s as u64, 1.0, false),
                    r.seconds
                ),
            );
        }
        b.print();
    }
}

/// `n msgs, p50 < X, p99 < Y` from the histogram (upper bucket bounds).
fn latency_summary(p: &Path) -> Option<String> {
    let total: u64 = p.lat_hist.iter().map(|b| b.count).sum();
    if total == 0 {
        return None;
    }
    let bound = |q: f64| {
        let want = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for b in &p.lat_hist {
            seen += b.count;
            if seen >= want {
                return match b.to_us {
                    Some(us) => format!("< {}", micros(us)),
                    None => format!(">= {}", micros(b.from_us)),
                };
            }
        }
        "-".into()
    };
    Some(format!(
        "{total} msgs, p50 {}, p90 {}, p99 {}, max {}",
        bound(0.5),
        bound(0.9),
        bound(0.99),
        bound(1.0)
    ))
}

fn print_sock(s: &Sock) {
    let name = match (s.bound_addr, s.bound_port) {
        (Some(a), Some(p)) => show_ip_port(a, p),
        _ => "(unbound)".into(),
    };
    println!("socket: {name}");
    let mut b = Block::new(2);
    if let (Some(a), Some(p)) = (s.conn_addr, s.conn_port) {
        b.row("connected to", show_ip_port(a, p));
    }
    b.row("inode", opt(s.inode));
    b.row("tos", s.tos.to_string());
    b.row(
        "send buffer",
        format!(
            "{} of {} in flight",
            bytes(s.snd_bytes.unwrap_or(0).into()),
            bytes(s.sndbuf.unwrap_or(0).into())
        ),
    );
    b.row(
        "receive queue",
        format!(
            "{} msgs, {} of {}{}",
            opt(s.rcv_msgs),
            bytes(s.rcv_bytes.unwrap_or(0).into()),
            bytes(s.rcvbuf.unwrap_or(0).into()),
            if s.congested { ", CONGESTED" } else { "" }
        ),
    );
    b.row(
        "cong monitor",
        format!("{:#018x}", s.cong_mask.unwrap_or(0)),
    );
    b.row("enobufs", opt(s.enobufs));
    b.print();
}

/// Parses a value of `rdstcp set`.
fn parse_value(kind: KeyKind, key: &str, v: &str) -> Result<u32> {
    let bad = || anyhow!("{key}: {v:?} is not a valid value");
    match kind {
        KeyKind::Bool => match v {
            "1" | "on" | "yes" | "true" => Ok(1),
            "0" | "off" | "no" | "false" => Ok(0),
            _ => Err(bad()),
        },
        KeyKind::U32 => v.parse().map_err(|_| bad()),
        KeyKind::Bytes => {
            let (num, shift) = match v.char_indices().last() {
                Some((i, c @ ('k' | 'K' | 'm' | 'M' | 'g' | 'G'))) => (
                    &v[..i],
                    match c.to_ascii_lowercase() {
                        'k' => 10,
                        'm' => 20,
                        _ => 30,
                    },
                ),
                _ => (v, 0),
            };
            let n: u64 = num.parse().map_err(|_| bad())?;
            u32::try_from(
                n.checked_shl(shift)
                    .filter(|x| x >> shift == n)
                    .ok_or_else(bad)?,
            )
            .map_err(|_| bad())
        }
    }
}

/// `rdstcp set key value ...`: one request, applied whole or refused.
pub fn set(pairs: &[String]) -> Result<()> {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        bail!("set takes KEY VALUE pairs; keys:\n{}", key_help());
    }
    let mut req = Request::new(RDS_TCP_CMD_SET_CONFIG);
    let mut seen = Vec::new();
    for kv in pairs.chunks(2) {
        let (k, v) = (kv[0].as_str(), kv[1].as_str());
        let key = KEYS
            .iter()
            .find(|key| key.name == k || (k == "paths" && key.name == "npaths"))
            .ok_or_else(|| anyhow!("unknown key {k:?}; keys: {}", key_names()))?;
        if seen.contains(&key.name) {
            bail!("{} given twice", key.name);
        }
        seen.push(key.name);
        let value = parse_value(key.kind, key.name, v)?;
        req = if key.kind == KeyKind::Bool {
            req.attr(key.attr, key.name, value as u8)?
        } else {
            req.attr(key.attr, key.name, value)?
        };
    }
    let mut genl = Genl::open()?;
    genl.request(req)
        .map_err(|e| explain(e, "changing rds_tcp settings"))?;
    Ok(())
}

fn key_help() -> String {
    KEYS.iter()
        .map(|k| format!("  {:<18} {}", k.name, k.help))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn key_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// `rdstcp reset LOCAL PEER [TOS]`.
pub fn reset(local: &str, peer: &str, tos: u8) -> Result<()> {
    let (l, p) = (Addr::parse(local)?, Addr::parse(peer)?);
    if l.ip.is_ipv4() != p.ip.is_ipv4() {
        bail!("{local} and {peer} are not of the same address family");
    }
    let scope = if l.scope != 0 { l.scope } else { p.scope };
    let mut req = Request::new(RDS_TCP_CMD_RESET_CONN)
        .attr(
            RDS_TCP_CONN_A_LOCAL_ADDR,
            "local address",
            &l.to_bytes()[..],
        )?
        .attr(RDS_TCP_CONN_A_PEER_ADDR, "peer address", &p.to_bytes()[..])?
        .attr(RDS_TCP_CONN_A_TOS, "tos", tos)?;
    if scope != 0 {
        req = req.attr(RDS_TCP_CONN_A_IFINDEX, "scope", scope)?;
    }
    let mut genl = Genl::open()?;
    genl.request(req).map_err(|e| {
        if e.downcast_ref::<NlError>()
            .is_some_and(|n| n.errno == libc::ENOENT)
        {
            anyhow!("no connection {local} -> {peer} with tos {tos} in this network namespace")
        } else {
            explain(e, "resetting a connection")
        }
    })?;
    Ok(())
}

/// `rdstcp monitor`: prints events until interrupted, `count` events or
/// `timeout`. Returns how many were printed.
pub fn monitor(json: bool, count: Option<u64>, timeout: Option<f64>) -> Result<u64> {
    let mut genl = Genl::open()?;
    genl.join(RDS_TCP_MCGRP_EVENTS)?;
    let deadline = timeout.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut seen = 0;
    let stdout = std::io::stdout();
    while count.is_none_or(|c| seen < c) {
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) => Some(left),
                None => break,
            },
            None => None,
        };
        let msgs = match genl.next_notifications(left) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(NotifyError::Lost) => {
                eprintln!("rdstcp: events were lost (receive buffer overrun)");
                continue;
            }
            Err(NotifyError::Io(e)) => return Err(e).context("waiting for events"),
            Err(NotifyError::Other(e)) => return Err(e),
        };
        for m in msgs {
            if *m.cmd() != RDS_TCP_CMD_EVENT {
                continue;
            }
            let ev = Event::decode(&m, now_secs())?;
            let mut out = stdout.lock();
            if json {
                writeln!(out, "{}", serde_json::to_string(&ev)?)?;
            } else {
                writeln!(out, "{}", event_line(&ev))?;
            }
            out.flush()?;
            seen += 1;
            if count.is_some_and(|c| seen >= c) {
                break;
            }
        }
    }
    Ok(seen)
}

fn event_line(e: &Event) -> String {
    let scope = e.ifindex.unwrap_or(0);
    let mut s = format!("{} {}", timestamp(e.time), e.event);
    match (e.local, e.peer) {
        (Some(l), Some(p)) => s += &format!(" {} -> {}", show_ip(l, scope), show_ip(p, scope)),
        (Some(l), None) => s += &format!(" {}", show_ip(l, scope)),
        _ => {}
    }
    if let Some(t) = e.tos {
        s += &format!(" tos {t}");
    }
    if let Some(p) = e.path {
        s += &format!(" path {p}");
    }
    if let Some(p) = e.local_port {
        s += &format!(" local port {p}");
    }
    if let Some(p) = e.peer_port {
        s += &format!(" peer port {p}");
    }
    if let Some(ms) = e.last_progress_ms {
        s += &format!(", no progress for {}", millis(ms));
    }
    if let Some(b) = e.waiting_bytes {
        s += &format!(", {} waiting", bytes(b));
    }
    if let Some(err) = e.error {
        s += &format!(", {}", std::io::Error::from_raw_os_error(err as i32));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_output_and_rates_do_not_trip() {
        let path = |tx_msgs, tx_bytes| Path {
            index: 0,
            state: "up".into(),
            tcp_local_port: Some(40000),
            tcp_peer_port: Some(16385),
            tx_msgs,
            tx_bytes,
            tcp_rtt_us: Some(250),
            tcp_rttvar_us: Some(100),
            last_progress_ms: Some(1200),
            lat_hist: vec![
                crate::model::Bucket::new(5, 90),
                crate::model::Bucket::new(31, 10),
            ],
            ..Path::default()
        };
        let conn = |p| Conn {
            local: "2001:db8::1".parse().unwrap(),
            peer: "2001:db8::2".parse().unwrap(),
            tos: 0,
            ifindex: None,
            local_cong_ports: Some(0),
            peer_cong_ports: Some(1),
            tx_enobufs: Some(2),
            paths: vec![p],
        };
        let (before, after) = (conn(path(10, 1000)), conn(path(30, 5000)));
        let rates = rates_between(&[before], std::slice::from_ref(&after), 2.0);
        assert_eq!(rates.len(), 1);
        assert_eq!(
            (rates[0].tx_msgs_per_s, rates[0].tx_bytes_per_s),
            (10.0, 2000.0)
        );
        let summary = latency_summary(&after.paths[0]).unwrap();
        assert_eq!(
            summary,
            "100 msgs, p50 < 64 us, p90 < 64 us, p99 >= 2147.48 s, max >= 2147.48 s"
        );
        let by_key = rates
            .into_iter()
            .map(|r| ((r.local, r.peer, r.tos, r.path), r))
            .collect();
        print_conn(&after, &by_key);
        print_config(&Config::default());
        print_sock(&Sock {
            bound_addr: None,
            bound_port: None,
            ifindex: None,
            conn_addr: None,
            conn_port: None,
            inode: Some(1),
            tos: 0,
            sndbuf: Some(1 << 20),
            snd_bytes: Some(0),
            rcvbuf: Some(1 << 20),
            rcv_bytes: Some(600_000),
            rcv_msgs: Some(6),
            congested: true,
            cong_mask: Some(1 << 63),
            enobufs: Some(0),
        });
        let e = Event {
            time: 0.0,
            event: "path-stalled".into(),
            local: Some("192.0.2.1".parse().unwrap()),
            peer: Some("192.0.2.2".parse().unwrap()),
            tos: Some(0),
            ifindex: None,
            path: Some(0),
            local_port: None,
            peer_port: None,
            last_progress_ms: Some(12000),
            waiting_bytes: Some(2048),
            error: None,
        };
        assert_eq!(
            event_line(&e),
            "1970-01-01T00:00:00.000Z path-stalled 192.0.2.1 -> 192.0.2.2 tos 0 path 0, \
             no progress for 12.00 s, 2.00 KiB waiting"
        );
    }

    #[test]
    fn set_values_parse() {
        assert_eq!(parse_value(KeyKind::Bytes, "k", "4M").unwrap(), 4 << 20);
        assert_eq!(parse_value(KeyKind::Bytes, "k", "65536").unwrap(), 65536);
        assert_eq!(parse_value(KeyKind::Bytes, "k", "16k").unwrap(), 16384);
        assert!(parse_value(KeyKind::Bytes, "k", "8G").is_err());
        assert!(parse_value(KeyKind::Bytes, "k", "x").is_err());
        assert_eq!(parse_value(KeyKind::Bool, "k", "off").unwrap(), 0);
        assert!(parse_value(KeyKind::Bool, "k", "2").is_err());
        assert!(parse_value(KeyKind::U32, "k", "-1").is_err());
    }
}
