//! rds-bench: throughput, CPU cost and latency of PF_RDS sockets, with the
//! same traffic over plain TCP as the ceiling. It uses only the socket API
//! (`socket(PF_RDS, SOCK_SEQPACKET, 0)`, bind, sendto, recvfrom, poll), so it
//! runs unmodified on upstream's rds + rds_tcp and on rds_rs.
//!
//! Run a receiver, then a sender with the same options; the sender prints
//! one JSON object. See Documentation/benchmark.rst.

mod chan;
mod receiver;
mod sender;
mod stats;
mod wire;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chan::{pair_addr, Chan, RdsChan, TcpChan};
use wire::MIN_MSG;

const USAGE: &str = "\
usage: rds-bench send|recv [options]
  --transport rds|tcp  PF_RDS sockets (default) or TCP with a 4-byte length prefix
  --local ADDR         address to bind (RDS: both sides; TCP: the receiver listens there)
  --peer ADDR          the receiver's address (send)
  --port P             pair i uses port P+i over RDS; TCP listens on P (default 18000)
  --pairs N            socket pairs, one message stream each (default 1)
  --size BYTES         message size, at least 24 (default 1024)
  --window K           unacknowledged messages per pair; acked every K/2 (default 8)
  --duration S         seconds of sending (default 2)
  --pingpong           one Ping at a time on one pair; reports round-trip percentiles
  --timeout S          extra seconds allowed for setup and draining (default 20)
  --label NAME         copied into the JSON (e.g. the implementation's name)
  --netns NAME         enter network namespace NAME (/run/netns/NAME) first
Whatever happens, the process ends itself (SIGALRM) after duration + 2 x timeout + 10 s.
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Rds,
    Tcp,
}

pub struct Config {
    transport: Transport,
    local: Ipv4Addr,
    peer: Ipv4Addr,
    port: u16,
    pairs: usize,
    size: usize,
    window: u64,
    duration: Duration,
    pingpong: bool,
    timeout: Duration,
    label: String,
    netns: Option<String>,
}

impl Config {
    fn parse(args: &[String]) -> Result<Config, String> {
        let mut c = Config {
            transport: Transport::Rds,
            local: Ipv4Addr::UNSPECIFIED,
            peer: Ipv4Addr::UNSPECIFIED,
            port: 18000,
            pairs: 1,
            size: 1024,
            window: 8,
            duration: Duration::from_secs(2),
            pingpong: false,
            timeout: Duration::from_secs(20),
            label: String::new(),
            netns: None,
        };
        let mut it = args.iter();
        while let Some(opt) = it.next() {
            if opt == "--pingpong" {
                c.pingpong = true;
                continue;
            }
            let val = it.next().ok_or(format!("{opt} needs a value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{opt} {val}: {e}");
            let secs = |v: &str| v.parse::<f64>().map(Duration::from_secs_f64);
            match opt.as_str() {
                "--transport" => {
                    c.transport = match val.as_str() {
                        "rds" => Transport::Rds,
                        "tcp" => Transport::Tcp,
                        _ => return Err(bad(&"rds or tcp")),
                    }
                }
                "--local" => c.local = val.parse().map_err(|e| bad(&e))?,
                "--peer" => c.peer = val.parse().map_err(|e| bad(&e))?,
                "--port" => c.port = val.parse().map_err(|e| bad(&e))?,
                "--pairs" => c.pairs = val.parse().map_err(|e| bad(&e))?,
                "--size" => c.size = val.parse().map_err(|e| bad(&e))?,
                "--window" => c.window = val.parse().map_err(|e| bad(&e))?,
                "--duration" => c.duration = secs(val).map_err(|e| bad(&e))?,
                "--timeout" => c.timeout = secs(val).map_err(|e| bad(&e))?,
                "--label" => c.label = val.clone(),
                "--netns" => c.netns = Some(val.clone()),
                _ => return Err(format!("unknown option {opt}")),
            }
        }
        if c.size < MIN_MSG || c.size > u32::MAX as usize {
            return Err(format!("--size must be at least {MIN_MSG}"));
        }
        if !(1..=4096).contains(&c.pairs) || usize::from(c.port) + c.pairs > 65536 {
            return Err("--pairs must be 1..4096 and fit above --port".into());
        }
        if c.window == 0 || c.window > 1 << 20 {
            return Err("--window must be 1..1048576".into());
        }
        if c.pingpong && c.pairs != 1 {
            return Err("--pingpong uses one pair".into());
        }
        Ok(c)
    }

    /// SO_SNDBUF and SO_RCVBUF for RDS sockets: twice a window's bytes.
    fn sockbuf(&self) -> usize {
        (2 * self.window as usize * self.size).max(128 << 10)
    }

    fn open_sender(&self, until: Instant) -> Result<Vec<Box<dyn Chan>>, String> {
        (0..self.pairs)
            .map(|i| -> Result<Box<dyn Chan>, String> {
                Ok(match self.transport {
                    Transport::Rds => {
                        let local = pair_addr(self.local, self.port, i);
                        let chan = RdsChan::bind(local, self.sockbuf(), self.size)
                            .map_err(|e| format!("RDS socket on {local}: {e}"))?;
                        Box::new(chan.with_peer(pair_addr(self.peer, self.port, i)))
                    }
                    Transport::Tcp => {
                        let peer = SocketAddrV4::new(self.peer, self.port);
                        Box::new(
                            TcpChan::connect(peer, until)
                                .map_err(|e| format!("connect to {peer}: {e}"))?,
                        )
                    }
                })
            })
            .collect()
    }

    fn open_receiver(&self, until: Instant) -> Result<Vec<Box<dyn Chan>>, String> {
        match self.transport {
            Transport::Rds => (0..self.pairs)
                .map(|i| -> Result<Box<dyn Chan>, String> {
                    let local = pair_addr(self.local, self.port, i);
                    let chan = RdsChan::bind(local, self.sockbuf(), self.size)
                        .map_err(|e| format!("RDS socket on {local}: {e}"))?;
                    Ok(Box::new(chan))
                })
                .collect(),
            Transport::Tcp => {
                let local = SocketAddrV4::new(self.local, self.port);
                let chans = TcpChan::accept(local, self.pairs, until)
                    .map_err(|e| format!("listening on {local}: {e}"))?;
                Ok(chans
                    .into_iter()
                    .map(|c| Box::new(c) as Box<dyn Chan>)
                    .collect())
            }
        }
    }
}

/// Moves this (single-threaded) process into network namespace `name`, as
/// `ip netns exec` would, without the extra exec.
fn enter_netns(name: &str) -> Result<(), String> {
    let path = format!("/run/netns/{name}");
    let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: plain system call on a descriptor `ns` keeps open.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// A JSON object written field by field.
struct Json(Vec<String>);

impl Json {
    fn str(&mut self, k: &str, v: &str) -> &mut Json {
        let mut s = String::with_capacity(v.len() + 2);
        for ch in v.chars() {
            match ch {
                '"' | '\\' => s.extend(['\\', ch]),
                c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
                c => s.push(c),
            }
        }
        self.0.push(format!("\"{k}\": \"{s}\""));
        self
    }

    fn num(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Json {
        self.0.push(format!("\"{k}\": {v}"));
        self
    }

    fn opt(&mut self, k: &str, v: Option<f64>) -> &mut Json {
        match v {
            Some(v) => self.num(k, format!("{v:.1}")),
            None => self.num(k, "null"),
        }
    }

    fn print(&self) {
        println!("{{{}}}", self.0.join(", "));
    }
}

fn describe(cfg: &Config, j: &mut Json) {
    let transport = match cfg.transport {
        Transport::Rds => "rds",
        Transport::Tcp => "tcp",
    };
    j.str("impl", &cfg.label)
        .str("transport", transport)
        .str("mode", if cfg.pingpong { "pingpong" } else { "stream" })
        .num("size", cfg.size)
        .num("pairs", cfg.pairs)
        .num("window", cfg.window);
}

fn report(cfg: &Config, o: &sender::Outcome) {
    let secs = o.elapsed.as_secs_f64();
    let per_msg = |ns: u64| (ns as f64 / o.messages.max(1) as f64).round();
    let mut j = Json(Vec::new());
    describe(cfg, &mut j);
    j.num("ok", true)
        .num("seconds", format!("{secs:.3}"))
        .num("drain_s", format!("{:.3}", o.drain.as_secs_f64()))
        .num("setup_s", format!("{:.3}", o.setup.as_secs_f64()))
        .num("messages", o.messages)
        .num("msgs_per_s", format!("{:.0}", o.messages as f64 / secs))
        .num(
            "mbytes_per_s",
            format!("{:.2}", (o.messages * cfg.size as u64) as f64 / secs / 1e6),
        )
        .num("cpu_ns_per_msg", per_msg(o.machine_cpu_ns))
        .num("proc_cpu_ns_per_msg", per_msg(o.proc_cpu_ns))
        .opt("p50_us", o.rtt_us(0.5))
        .opt("p99_us", o.rtt_us(0.99))
        .opt("p999_us", o.rtt_us(0.999))
        .num("eagain", o.eagain)
        .num("enobufs", o.enobufs)
        .print();
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (role, rest) = match args.split_first() {
        Some((r, rest)) if r == "send" || r == "recv" => (r.as_str(), rest),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cfg = match Config::parse(rest) {
        Ok(c) => c,
        Err(e) => {
            eprint!("rds-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // A bound on the run even if a system call never returns: SIGALRM's
    // default action ends the process.
    let limit = cfg.duration + 2 * cfg.timeout + Duration::from_secs(10);
    // SAFETY: plain system call.
    unsafe { libc::alarm(limit.as_secs().min(u32::MAX.into()) as u32) };
    let result = cfg
        .netns
        .as_deref()
        .map_or(Ok(()), enter_netns)
        .and_then(|()| {
            if role == "send" {
                sender::run(&cfg).map(|o| report(&cfg, &o))
            } else {
                receiver::run(&cfg)
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rds-bench {role}: {e}");
            if role == "send" {
                let mut j = Json(Vec::new());
                describe(&cfg, &mut j);
                j.num("ok", false).str("error", &e).print();
            }
            ExitCode::FAILURE
        }
    }
}
