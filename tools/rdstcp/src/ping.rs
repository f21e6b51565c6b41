// SPDX-License-Identifier: GPL-2.0

//! `rdstcp ping`: RDS's own ping, as rds-ping does it. An empty message to
//! port 0 of the host is answered by its RDS stack with an empty message
//! from port 0 (rds_send_pong(), called from rds_recv_incoming() in
//! net/rds/recv.c when net.rds.ping_enable is set); the time between is the
//! round trip through both RDS stacks and the transport.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::fmt::micros;
use crate::rds::{show_ip, source_for, Addr, RdsSocket};

pub struct Options {
    pub host: String,
    pub count: u32,
    pub interval: f64,
    pub wait: f64,
    pub source: Option<String>,
    pub json: bool,
}

#[derive(Serialize)]
struct Summary {
    host: String,
    source: String,
    sent: u32,
    received: u32,
    /// Round trip of each ping in microseconds, null when unanswered.
    rtt_us: Vec<Option<u64>>,
    errors: Vec<String>,
}

/// Runs the pings; Ok(true) if at least one was answered.
pub fn ping(o: &Options) -> Result<bool> {
    let dst = Addr::parse(&o.host)?;
    let src = match &o.source {
        Some(s) => Addr::parse(s)?,
        None => source_for(dst)?,
    };
    // Fails early, with advice, when AF_RDS is missing.
    drop(RdsSocket::open()?);
    let (dst_s, src_s) = (show_ip(dst.ip, dst.scope), show_ip(src.ip, src.scope));
    if !o.json {
        println!("RDS PING {dst_s} from {src_s}: empty messages to port 0");
    }
    let mut sum = Summary {
        host: dst_s.clone(),
        source: src_s,
        sent: 0,
        received: 0,
        rtt_us: Vec::new(),
        errors: Vec::new(),
    };
    for seq in 1..=o.count {
        let started = Instant::now();
        let result = ping_once(src, dst, Duration::from_secs_f64(o.wait));
        sum.sent += 1;
        match result {
            Ok(Some(rtt)) => {
                let us = rtt.as_micros() as u64;
                sum.received += 1;
                sum.rtt_us.push(Some(us));
                if !o.json {
                    println!("pong from {dst_s}: seq={seq} time={}", micros(us));
                }
            }
            Ok(None) => {
                sum.rtt_us.push(None);
                if !o.json {
                    println!("no pong from {dst_s}: seq={seq} (waited {} s)", o.wait);
                }
            }
            Err(e) => {
                sum.rtt_us.push(None);
                let msg = format!("seq={seq}: {e:#}");
                if !o.json {
                    println!("error: {msg}");
                }
                sum.errors.push(msg);
            }
        }
        if seq < o.count {
            let gap = Duration::from_secs_f64(o.interval);
            if let Some(left) = gap.checked_sub(started.elapsed()) {
                std::thread::sleep(left);
            }
        }
    }
    if o.json {
        println!("{}", serde_json::to_string(&sum)?);
    } else {
        print_summary(&sum);
    }
    Ok(sum.received > 0)
}

fn print_summary(s: &Summary) {
    println!("--- {} rds ping statistics ---", s.host);
    let lost = s.sent - s.received;
    let loss = if s.sent == 0 {
        0.0
    } else {
        100.0 * lost as f64 / s.sent as f64
    };
    let rtts: Vec<u64> = s.rtt_us.iter().flatten().copied().collect();
    let mut line = format!("{} sent, {} received, {loss:.0}% loss", s.sent, s.received);
    if !rtts.is_empty() {
        let (min, max) = (rtts.iter().min().unwrap(), rtts.iter().max().unwrap());
        let avg = rtts.iter().sum::<u64>() / rtts.len() as u64;
        line += &format!(
            ", rtt min/avg/max {}/{}/{}",
            micros(*min),
            micros(avg),
            micros(*max)
        );
    }
    println!("{line}");
}

/// One ping on a fresh socket, so that a late pong to an earlier ping can
/// not pass for this one's. Ok(None) if none came within `wait`.
fn ping_once(src: Addr, dst: Addr, wait: Duration) -> Result<Option<Duration>> {
    let sock = RdsSocket::open()?;
    sock.bind(src, 0)
        .with_context(|| format!("bind to {}", show_ip(src.ip, src.scope)))?;
    let t0 = Instant::now();
    let deadline = t0 + wait;
    // A first message to a host may wait for the multipath handshake:
    // rds_rs answers a non-blocking send with EAGAIN meanwhile.
    loop {
        match sock.send_to(&[], dst, 0) {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e).context("sendto port 0"),
        }
    }
    let mut buf = [0u8; 64];
    loop {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Ok(None);
        };
        if !sock.wait_readable(left)? {
            continue;
        }
        match sock.recv_from(&mut buf) {
            // Anything but the pong (another sender to our port) is ignored.
            Ok((0, ip, 0)) if ip == dst.ip => return Ok(Some(t0.elapsed())),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                continue
            }
            Err(e) => return Err(e).context("recvfrom"),
        }
    }
}
