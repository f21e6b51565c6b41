// SPDX-License-Identifier: GPL-2.0

//! Sequence numbers: the per-connection RDS sequence that makes delivery exactly
//! once across reconnects, and the 32-bit TCP sequence that acknowledges messages.

use super::header::{Flags, Header, HEADER_LEN};

/// Whether TCP sequence `a` comes before `b`, modulo 2^32 (`before()` in
/// include/net/tcp.h).
pub const fn tcp_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The TCP sequence of the last byte of a message whose header starts at `start`
/// in the stream (`m_ack_seq` in `rds_tcp_xmit()`).
pub const fn tcp_last_byte(start: u32, payload_len: u32) -> u32 {
    start
        .wrapping_add(HEADER_LEN as u32)
        .wrapping_add(payload_len)
        .wrapping_sub(1)
}

/// Whether a message whose last byte is `last` is acknowledged by `snd_una`
/// (`rds_tcp_is_acked()`).
pub const fn tcp_acked(last: u32, snd_una: u32) -> bool {
    tcp_before(last, snd_una)
}

/// Receive-side sequence state of one connection path (`cp_next_rx_seq`).
///
/// It outlives TCP connections: after a reset the sender resends what was not
/// acknowledged, flagged `RETRANSMITTED`, and this drops what was delivered before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxSeq {
    next: u64,
}

impl RxSeq {
    /// State of a new connection.
    pub const fn new() -> Self {
        Self { next: 0 }
    }

    /// The next sequence expected (for `RDS_INFO_CONNECTIONS`).
    pub const fn next(&self) -> u64 {
        self.next
    }

    /// Decides on an incoming message as `rds_recv_incoming()` does: a
    /// retransmission of something already received is dropped (`false`);
    /// anything else is accepted and moves the expected sequence past it.
    pub fn accept(&mut self, h: &Header) -> bool {
        if h.sequence < self.next && h.flags.contains(Flags::RETRANSMITTED) {
            return false;
        }
        self.next = h.sequence.wrapping_add(1);
        true
    }

    /// Forgets the peer's sequence: the peer restarted (its generation number
    /// changed), so its sequence starts again (`rds_conn_peer_gen_update()`).
    pub fn reset(&mut self) {
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn tcp_before_table() {
        // (a, b, a before b), after before() in include/net/tcp.h.
        let cases = [
            (0u32, 1u32, true),
            (1, 0, false),
            (5, 5, false),
            (u32::MAX, 0, true),
            (0, u32::MAX, false),
            (0x7fff_fff0, 0x8000_0010, true),
            (0xffff_fff0, 0x0000_0010, true),
            (0x0000_0010, 0xffff_fff0, false),
        ];
        for (a, b, want) in cases {
            assert_eq!(tcp_before(a, b), want, "{a:#x} before {b:#x}");
        }
    }

    #[test]
    fn ack_across_32_bit_wrap() {
        // A 100-byte message starting 20 bytes before the wrap ends after it.
        let start = u32::MAX - 19;
        let last = tcp_last_byte(start, 100);
        assert_eq!(last, 127);
        assert!(!tcp_acked(last, 127), "snd_una at the last byte: not yet");
        assert!(tcp_acked(last, 128));
        assert!(!tcp_acked(last, start));
    }

    fn hdr(seq: u64, retransmitted: bool) -> Header {
        let flags = if retransmitted {
            Flags::RETRANSMITTED
        } else {
            Flags::default()
        };
        Header {
            sequence: seq,
            flags,
            ..Header::default()
        }
    }

    #[test]
    fn duplicates_after_reset_are_dropped() {
        let mut rx = RxSeq::new();
        assert!(rx.accept(&hdr(1, false)));
        assert!(rx.accept(&hdr(2, false)));
        // Reconnect: 2 and 3 resent; 2 was delivered, 3 was lost with the connection.
        assert!(!rx.accept(&hdr(2, true)));
        assert!(rx.accept(&hdr(3, true)));
        assert!(rx.accept(&hdr(4, false)));
        assert_eq!(rx.next(), 5);
        rx.reset();
        assert!(rx.accept(&hdr(1, false)), "a restarted peer starts again");
    }

    proptest! {
        /// A sender streams messages 1..=n; connections break at random points,
        /// each time after the receiver got some prefix of what was sent. The
        /// sender resends everything not acked (some of it received already).
        /// The receiver must deliver 1..=n exactly once, in order.
        #[test]
        fn any_replay_of_a_prefix_delivers_nothing_twice(
            n in 1u64..200,
            breaks in proptest::collection::vec((0u64..50, 0u64..50), 0..10),
        ) {
            let mut rx = RxSeq::new();
            let mut delivered = Vec::new();
            let mut acked = 0u64; // highest sequence the sender saw acknowledged
            let mut next_send = 1u64;
            let mut resend = false;
            for (sent_more, received) in breaks.iter().copied().chain([(n, n)]) {
                // Send: first anything unacked again (flagged), then new messages.
                let upto = (next_send + sent_more).min(n + 1);
                let first = acked + 1;
                let arrive = (first + received).min(upto);
                for s in first..arrive {
                    if rx.accept(&hdr(s, resend && s < next_send)) {
                        delivered.push(s);
                    }
                }
                next_send = upto.max(next_send);
                // TCP acked at most what arrived; the connection then breaks.
                acked = (arrive - 1).max(acked);
                resend = true;
            }
            let want: Vec<u64> = (1..=n).collect();
            prop_assert_eq!(delivered, want);
        }
    }
}
