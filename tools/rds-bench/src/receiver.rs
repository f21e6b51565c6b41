//! The receiving side: answers Hello, acknowledges Data every `window / 2`
//! messages, echoes Ping as Pong, answers End with Fin (its count, and its
//! CPU time since the first Hello), then stays until Bye or one second,
//! because closing an RDS socket drops the messages it has not sent yet.

use std::time::{Duration, Instant};

use crate::chan::{turn, Pair, Sent};
use crate::stats::self_cpu_ns;
use crate::wire::{Frame, Header, Kind, MIN_MSG};
use crate::Config;

#[derive(Default)]
struct State {
    received: u64,
    /// The count in the last Ack sent.
    acked: u64,
    owe_hello: bool,
    owe_ack: bool,
    owe_pong: Option<u64>,
    end: bool,
    fin_sent: bool,
    bye: bool,
    blocked: bool,
}

impl State {
    fn owes(&self) -> bool {
        self.owe_hello || self.owe_ack || self.owe_pong.is_some() || (self.end && !self.fin_sent)
    }
}

pub fn run(cfg: &Config) -> Result<(), String> {
    let hard = Instant::now() + cfg.duration + 2 * cfg.timeout;
    let mut pairs: Vec<Pair<State>> = cfg
        .open_receiver(hard)?
        .into_iter()
        .map(|chan| Pair {
            chan,
            st: State::default(),
        })
        .collect();
    let ack_every = (cfg.window / 2).max(1);
    let hello_value = cfg.size as u64 | cfg.window << 32;
    let mut nonce = None;
    let mut mismatch = None;
    let mut pong = Frame::new(cfg.size);
    let mut ctl = Frame::new(MIN_MSG);
    let mut fds = Vec::new();
    let mut linger_until = None;
    let mut congested = false;
    let mut cpu_base = None;
    loop {
        let now = Instant::now();
        if now >= hard {
            return Err("timed out before the end of the run".into());
        }
        if pairs.iter().all(|p| p.st.bye) || linger_until.is_some_and(|t| now >= t) {
            return Ok(());
        }
        let wait = if congested { 1 } else { 100 };
        turn(
            &mut pairs,
            &mut fds,
            Duration::from_millis(wait),
            |st| st.blocked,
            |st| st.blocked = false,
            |st, m| {
                let h = m.hdr;
                if h.kind == Kind::Hello {
                    cpu_base.get_or_insert_with(self_cpu_ns);
                    if h.value != hello_value {
                        mismatch = Some(h.value);
                    }
                    st.owe_hello = *nonce.get_or_insert(h.nonce) == h.nonce;
                    return;
                }
                if nonce != Some(h.nonce) {
                    return; // left over from an earlier run
                }
                if matches!(h.kind, Kind::Data | Kind::Ping) && m.len != cfg.size {
                    mismatch = Some(m.len as u64 | cfg.window << 32);
                }
                match h.kind {
                    Kind::Data => {
                        st.received += 1;
                        st.owe_ack |= st.received - st.acked >= ack_every;
                    }
                    Kind::Ping => {
                        st.received += 1;
                        st.owe_pong = Some(h.value);
                    }
                    Kind::End => st.end = true,
                    Kind::Bye => st.bye = true,
                    _ => {}
                }
            },
        )
        .map_err(|e| format!("receive: {e}"))?;
        if let Some(v) = mismatch {
            return Err(format!(
                "sender uses size {} window {}, this receiver {} and {}",
                v & 0xffff_ffff,
                v >> 32,
                cfg.size,
                cfg.window
            ));
        }
        congested = false;
        for (i, p) in pairs.iter_mut().enumerate() {
            let st = &mut p.st;
            if p.chan.closed() {
                if !st.fin_sent {
                    return Err(format!("pair {i}: the sender closed before End"));
                }
                st.bye = true;
            }
            let Some(nonce) = nonce else { continue };
            let h = |kind, value| Header {
                nonce,
                kind,
                pair: i as u16,
                value,
            };
            // At most one message of each owed kind, in this order.
            for _ in 0..4 {
                if st.blocked || !st.owes() {
                    break;
                }
                let (frame, done): (&mut [u8], fn(&mut State)) = if st.owe_hello {
                    (ctl.set(h(Kind::HelloAck, 0), 0), |s| s.owe_hello = false)
                } else if let Some(seq) = st.owe_pong {
                    (pong.set(h(Kind::Pong, seq), 0), |s| s.owe_pong = None)
                } else if st.owe_ack {
                    (ctl.set(h(Kind::Ack, st.received), 0), |s| {
                        s.owe_ack = false;
                        s.acked = s.received;
                    })
                } else {
                    let cpu = self_cpu_ns() - cpu_base.unwrap_or(0);
                    (ctl.set(h(Kind::Fin, st.received), cpu), |s| {
                        s.fin_sent = true
                    })
                };
                match p
                    .chan
                    .send(frame)
                    .map_err(|e| format!("pair {i}: send: {e}"))?
                {
                    Sent::Yes => done(st),
                    Sent::Blocked => st.blocked = true,
                    Sent::Congested => {
                        congested = true;
                        break;
                    }
                }
            }
        }
        if linger_until.is_none() && pairs.iter().all(|p| p.st.fin_sent) {
            linger_until = Some(Instant::now() + Duration::from_secs(1));
        }
    }
}
