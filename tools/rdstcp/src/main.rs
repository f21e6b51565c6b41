// SPDX-License-Identifier: GPL-2.0

//! rdstcp: shows and configures RDS over TCP. `show`, `set`, `reset` and
//! `monitor` speak the `rds_tcp` generic netlink family of rds_rs
//! (include/uapi/linux/rds_tcp_nl.h); `ping` and `info` use only PF_RDS
//! sockets, so they also work against upstream's C `rds` module.

mod fmt;
mod genl;
mod info;
mod model;
mod ping;
mod rds;
mod show;
mod uapi;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rdstcp", version, about = "Show and configure RDS over TCP")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Settings, connections (with their paths) and sockets of this network
    /// namespace, from the rds_tcp netlink family.
    Show {
        #[arg(value_enum, default_value = "all")]
        what: show::What,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Sample the connections twice, SECONDS apart, and show rates.
        #[arg(long, value_name = "SECONDS")]
        rate: Option<f64>,
    },
    /// Change settings of this network namespace: KEY VALUE pairs, applied
    /// all together or not at all. Keys: tcp-sndbuf, tcp-rcvbuf (bytes, K/M/G
    /// suffixes, 0 for autotuning), npaths (1..8), reconnect-min-ms,
    /// reconnect-max-ms, ping-enable (on/off), stall-ms (0 for off).
    Set {
        #[arg(value_names = ["KEY", "VALUE"], num_args = 2.., required = true)]
        pairs: Vec<String>,
    },
    /// Print events (connection up/down, port congestion, stalled paths)
    /// until interrupted.
    Monitor {
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
        /// Stop after N events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Stop after SECONDS.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
    },
    /// Reset a connection: its TCP connections are closed and reopened;
    /// unacknowledged messages are sent again.
    Reset {
        /// Local address (fe80::1%eth0 for a link-local one).
        local: String,
        /// Peer address.
        peer: String,
        /// Type of service.
        #[arg(default_value_t = 0)]
        tos: u8,
    },
    /// RDS ping: empty messages to port 0 of HOST, answered by its RDS stack.
    Ping {
        host: String,
        /// Pings to send.
        #[arg(short = 'c', long, default_value_t = 3, value_name = "N")]
        count: u32,
        /// Seconds between pings.
        #[arg(short = 'i', long, default_value_t = 1.0, value_name = "SECONDS")]
        interval: f64,
        /// Seconds to wait for each pong.
        #[arg(short = 'W', long, default_value_t = 2.0, value_name = "SECONDS")]
        wait: f64,
        /// Local address to send from (default: the route's source).
        #[arg(short = 'I', long, value_name = "LOCALADDR")]
        source: Option<String>,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// Upstream's RDS_INFO_* reports (as rds-info): all sections by default.
    Info {
        #[arg(value_enum)]
        sections: Vec<info::Section>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Show { what, json, rate } => show::show(what, json, rate)?,
        Cmd::Set { pairs } => show::set(&pairs)?,
        Cmd::Monitor {
            json,
            count,
            timeout,
        } => {
            let seen = show::monitor(json, count, timeout)?;
            // Like timeout(1): a --count not reached in time is a failure.
            if count.is_some_and(|c| seen < c) {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Reset { local, peer, tos } => show::reset(&local, &peer, tos)?,
        Cmd::Ping {
            host,
            count,
            interval,
            wait,
            source,
            json,
        } => {
            if !(interval >= 0.0 && wait > 0.0 && interval.is_finite() && wait.is_finite()) {
                anyhow::bail!("-i takes seconds >= 0 and -W seconds > 0");
            }
            let o = ping::Options {
                host,
                count,
                interval,
                wait,
                source,
                json,
            };
            if !ping::ping(&o)? {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Info { sections, json } => info::info(&sections, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rdstcp: {e:#}");
            ExitCode::from(1)
        }
    }
}
