//! The sending side, which measures: handshake, the measured phase (a
//! windowed stream or ping-pong), the end-of-run exchange.
//!
//! Flow control: at most `window` Data messages are unacknowledged per pair;
//! the receiver acknowledges every `window / 2` (at least every one), with
//! the count it has received. Sockets get send and receive buffers of twice
//! the window's bytes, so a receiver that keeps up never marks its port
//! congested and a sender never blocks on its own buffer; if either happens
//! anyway it is counted (`enobufs`, `eagain`) and waited out.

use std::slice;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::chan::{turn, Pair, Sent};
use crate::stats::{percentile, Snapshot};
use crate::wire::{Frame, Header, Kind, Msg, MIN_MSG};
use crate::Config;

#[derive(Default)]
struct State {
    sent: u64,
    acked: u64,
    /// The last send found the buffer full: wait for POLLOUT.
    blocked: bool,
    hello: bool,
    end_sent: bool,
    fin: Option<Msg>,
}

/// What one run measured.
pub struct Outcome {
    /// From process start to the measured phase (connections, Hello).
    pub setup: Duration,
    /// The measured phase: from the first message to the last Fin.
    pub elapsed: Duration,
    /// Of that, the time after the last Data was sent.
    pub drain: Duration,
    pub messages: u64,
    /// Busy time of the whole machine during the measured phase.
    pub machine_cpu_ns: u64,
    /// The sender's CPU time in the measured phase plus the receiver's from
    /// its first Hello to its Fin (which reports it).
    pub proc_cpu_ns: u64,
    /// Ping-pong round trips, ns, sorted; empty for a stream.
    pub rtt_ns: Vec<u64>,
    pub eagain: u64,
    pub enobufs: u64,
}

impl Outcome {
    pub fn rtt_us(&self, p: f64) -> Option<f64> {
        (!self.rtt_ns.is_empty()).then(|| percentile(&self.rtt_ns, p) as f64 / 1000.0)
    }
}

#[derive(Default)]
struct Counters {
    eagain: u64,
    enobufs: u64,
}

fn nonce() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.subsec_nanos() ^ std::process::id().rotate_left(16)) | 1
}

pub fn run(cfg: &Config) -> Result<Outcome, String> {
    let started = Instant::now();
    let setup_until = started + cfg.timeout;
    let mut pairs: Vec<Pair<State>> = cfg
        .open_sender(setup_until)?
        .into_iter()
        .map(|chan| Pair {
            chan,
            st: State::default(),
        })
        .collect();
    let nonce = nonce();
    hello(&mut pairs, cfg, nonce, setup_until)?;

    let mut c = Counters::default();
    let a = Snapshot::take().map_err(|e| format!("/proc/stat: {e}"))?;
    let hard = a.at + cfg.duration + cfg.timeout;
    let mut rtt_ns = Vec::new();
    let mut stop = a.at + cfg.duration;
    if cfg.pingpong {
        rtt_ns = pingpong(&mut pairs[0], cfg, nonce, stop, hard, &mut c)?;
        stop = Instant::now();
    }
    exchange(&mut pairs, cfg, nonce, stop, hard, &mut c)?;
    let b = Snapshot::take().map_err(|e| format!("/proc/stat: {e}"))?;

    // The receiver lingers until Bye (or a timeout) so that its Fin is not
    // dropped by closing; Bye itself would be dropped if this process closed
    // its sockets at once, so give it a moment.
    let mut ctl = Frame::new(MIN_MSG);
    for (i, p) in pairs.iter_mut().enumerate() {
        let _ = p.chan.send(ctl.set(header(nonce, Kind::Bye, i, 0), 0));
    }
    sleep(Duration::from_millis(50));

    let mut receiver_ns = 0;
    for (i, p) in pairs.iter().enumerate() {
        let fin =
            p.st.fin
                .expect("exchange returns once every pair has its Fin");
        if fin.hdr.value != p.st.sent {
            return Err(format!(
                "pair {i}: sent {} messages, the receiver got {}",
                p.st.sent, fin.hdr.value
            ));
        }
        receiver_ns = receiver_ns.max(fin.body);
    }
    rtt_ns.sort_unstable();
    Ok(Outcome {
        setup: a.at - started,
        elapsed: b.at - a.at,
        drain: b.at.saturating_duration_since(stop),
        messages: pairs.iter().map(|p| p.st.sent).sum(),
        machine_cpu_ns: b.busy_ns - a.busy_ns,
        proc_cpu_ns: b.self_ns - a.self_ns + receiver_ns,
        rtt_ns,
        eagain: c.eagain,
        enobufs: c.enobufs,
    })
}

fn header(nonce: u32, kind: Kind, pair: usize, value: u64) -> Header {
    Header {
        nonce,
        kind,
        pair: pair as u16,
        value,
    }
}

/// Sends Hello on every pair each 100 ms until each has its HelloAck: the
/// receiver is bound and, for RDS, the connection is up before timing starts.
fn hello(
    pairs: &mut [Pair<State>],
    cfg: &Config,
    nonce: u32,
    until: Instant,
) -> Result<(), String> {
    let mut ctl = Frame::new(MIN_MSG);
    let mut fds = Vec::new();
    let value = cfg.size as u64 | cfg.window << 32;
    while pairs.iter().any(|p| !p.st.hello) {
        let now = Instant::now();
        if now >= until {
            let n = pairs.iter().filter(|p| !p.st.hello).count();
            return Err(format!(
                "no answer to Hello on {n} of {} pairs",
                pairs.len()
            ));
        }
        for (i, p) in pairs.iter_mut().enumerate().filter(|(_, p)| !p.st.hello) {
            p.chan
                .send(ctl.set(header(nonce, Kind::Hello, i, value), 0))
                .map_err(|e| format!("pair {i}: sending Hello: {e}"))?;
        }
        let next = now + Duration::from_millis(100);
        for _ in 0..100 {
            let now = Instant::now();
            if now >= next || pairs.iter().all(|p| p.st.hello) {
                break;
            }
            turn(
                pairs,
                &mut fds,
                next - now,
                |_| false,
                |_| {},
                |st, m| {
                    st.hello |= m.hdr.nonce == nonce && m.hdr.kind == Kind::HelloAck;
                },
            )
            .map_err(|e| format!("waiting for HelloAck: {e}"))?;
        }
    }
    Ok(())
}

/// Streams Data on every pair, each within its window, until `stop`; then
/// sends End and waits for every pair's Fin, until `hard`.
fn exchange(
    pairs: &mut [Pair<State>],
    cfg: &Config,
    nonce: u32,
    stop: Instant,
    hard: Instant,
    c: &mut Counters,
) -> Result<(), String> {
    let mut data = Frame::new(cfg.size);
    let mut ctl = Frame::new(MIN_MSG);
    let mut fds = Vec::new();
    loop {
        let now = Instant::now();
        if now >= hard {
            let n = pairs.iter().filter(|p| p.st.fin.is_none()).count();
            return Err(format!("no Fin on {n} of {} pairs in time", pairs.len()));
        }
        let ending = now >= stop;
        let mut congested = false;
        for (i, p) in pairs.iter_mut().enumerate() {
            let st = &mut p.st;
            for _ in 0..=cfg.window {
                if st.fin.is_some() || st.blocked || st.end_sent {
                    break;
                }
                let frame = if ending {
                    ctl.set(header(nonce, Kind::End, i, st.sent), 0)
                } else if st.sent - st.acked < cfg.window {
                    data.set(header(nonce, Kind::Data, i, st.sent), 0)
                } else {
                    break;
                };
                match p
                    .chan
                    .send(frame)
                    .map_err(|e| format!("pair {i}: send: {e}"))?
                {
                    Sent::Yes if ending => st.end_sent = true,
                    Sent::Yes => st.sent += 1,
                    Sent::Blocked => {
                        st.blocked = true;
                        c.eagain += 1;
                    }
                    Sent::Congested => {
                        congested = true;
                        c.enobufs += 1;
                        break;
                    }
                }
            }
        }
        if pairs.iter().all(|p| p.st.fin.is_some()) {
            return Ok(());
        }
        let wait = if congested {
            Duration::from_millis(1)
        } else if ending {
            hard - now
        } else {
            stop - now
        };
        turn(
            pairs,
            &mut fds,
            wait.min(Duration::from_millis(100)),
            |st| st.blocked,
            |st| st.blocked = false,
            |st, m| match m.hdr.kind {
                _ if m.hdr.nonce != nonce => {}
                Kind::Ack => st.acked = st.acked.max(m.hdr.value),
                Kind::Fin => st.fin = Some(m),
                _ => {}
            },
        )
        .map_err(|e| format!("stream: {e}"))?;
        if let Some(i) = pairs.iter().position(|p| p.chan.closed()) {
            return Err(format!("pair {i}: the receiver closed the connection"));
        }
    }
}

/// One Ping at a time on one pair until `stop`; returns the round trips.
fn pingpong(
    p: &mut Pair<State>,
    cfg: &Config,
    nonce: u32,
    stop: Instant,
    hard: Instant,
    c: &mut Counters,
) -> Result<Vec<u64>, String> {
    let mut frame = Frame::new(cfg.size);
    let mut fds = Vec::new();
    let mut rtt = Vec::new();
    while Instant::now() < stop {
        let seq = p.st.sent;
        let t = Instant::now();
        loop {
            let sent = p
                .chan
                .send(frame.set(header(nonce, Kind::Ping, 0, seq), 0))
                .map_err(|e| format!("ping: {e}"))?;
            match sent {
                Sent::Yes => break,
                Sent::Blocked => c.eagain += 1,
                Sent::Congested => c.enobufs += 1,
            }
            if Instant::now() >= hard {
                return Err("ping: no room to send".into());
            }
            sleep(Duration::from_millis(1));
        }
        p.st.sent += 1;
        let mut pong = false;
        while !pong {
            if Instant::now() >= hard || p.chan.closed() {
                return Err(format!("no Pong for Ping {seq}"));
            }
            let one = slice::from_mut(p);
            turn(
                one,
                &mut fds,
                Duration::from_millis(100),
                |_| false,
                |_| {},
                |_, m| {
                    pong |= m.hdr.nonce == nonce && m.hdr.kind == Kind::Pong && m.hdr.value == seq;
                },
            )
            .map_err(|e| format!("pong: {e}"))?;
        }
        rtt.push(t.elapsed().as_nanos() as u64);
    }
    Ok(rtt)
}
