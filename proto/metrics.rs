// SPDX-License-Identifier: GPL-2.0

//! Per-path metrics for the `rds_tcp` netlink family: byte and message
//! counters, reconnects, the send-to-acknowledgement latency histogram and
//! progress tracking for stall detection. Lock-free: updated on the data
//! path with relaxed atomics, read by dumps.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// `RDS_TCP_LAT_BUCKETS`.
pub const LAT_BUCKETS: usize = 32;

/// The histogram bucket of a latency of `us` microseconds: bucket 0 holds
/// 0 and 1 us, bucket i [2^i, 2^(i+1)) us, the last one everything above.
pub fn lat_bucket(us: u64) -> usize {
    // CAST: at most 63.
    let log2 = 63 - us.max(1).leading_zeros() as usize;
    log2.min(LAT_BUCKETS - 1)
}

/// Whether a path is stalled: detection on (`stall_ms` > 0), messages
/// waiting, and no progress for longer than the threshold.
pub fn stalled(stall_ms: u32, waiting: bool, since_progress_ms: u64) -> bool {
    stall_ms != 0 && waiting && since_progress_ms > u64::from(stall_ms)
}

/// Counters of one path, from its creation.
pub struct PathStats {
    tx_bytes: AtomicU64,
    tx_msgs: AtomicU64,
    rx_bytes: AtomicU64,
    rx_msgs: AtomicU64,
    retrans_msgs: AtomicU64,
    ups: AtomicU64,
    /// Clock (ns) of the last acknowledgement, or of the queues going from
    /// empty to not empty, whichever came later.
    progress_ns: AtomicU64,
    lat: [AtomicU64; LAT_BUCKETS],
    /// Reported stalled (the last path-stalled event not yet undone).
    stalled: AtomicBool,
}

/// What a dump reports of [`PathStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathReport {
    /// Payload bytes written to TCP.
    pub tx_bytes: u64,
    /// Messages written to TCP.
    pub tx_msgs: u64,
    /// Payload bytes received.
    pub rx_bytes: u64,
    /// Messages received.
    pub rx_msgs: u64,
    /// Messages written again after a reset.
    pub retrans_msgs: u64,
    /// TCP connections after the first.
    pub reconnects: u64,
    /// Milliseconds since the last progress.
    pub since_progress_ms: u64,
    /// Send-to-ack latency histogram (see [`lat_bucket`]).
    pub lat: [u64; LAT_BUCKETS],
}

impl PathStats {
    /// Counters at zero; progress "now" is `now_ns`.
    pub fn new(now_ns: u64) -> Self {
        Self {
            tx_bytes: AtomicU64::new(0),
            tx_msgs: AtomicU64::new(0),
            rx_bytes: AtomicU64::new(0),
            rx_msgs: AtomicU64::new(0),
            retrans_msgs: AtomicU64::new(0),
            ups: AtomicU64::new(0),
            progress_ns: AtomicU64::new(now_ns),
            lat: [const { AtomicU64::new(0) }; LAT_BUCKETS],
            stalled: AtomicBool::new(false),
        }
    }

    /// Records whether the path is stalled now; returns whether that
    /// changed (an event is due).
    pub fn set_stalled(&self, now: bool) -> bool {
        self.stalled.swap(now, Relaxed) != now
    }

    /// A message of `bytes` payload bytes was completely written to TCP:
    /// the tx counters count its `first` complete write, the retransmit
    /// counter each write flagged `retransmitted` (after a reset).
    pub fn sent(&self, bytes: usize, first: bool, retransmitted: bool) {
        if first {
            self.tx_msgs.fetch_add(1, Relaxed);
            // CAST: usize fits u64.
            self.tx_bytes.fetch_add(bytes as u64, Relaxed);
        }
        if retransmitted {
            self.retrans_msgs.fetch_add(1, Relaxed);
        }
    }

    /// A message of `bytes` payload bytes was received (not a duplicate).
    pub fn received(&self, bytes: usize) {
        self.rx_msgs.fetch_add(1, Relaxed);
        // CAST: usize fits u64.
        self.rx_bytes.fetch_add(bytes as u64, Relaxed);
    }

    /// A message queued at `queued_ns` was acknowledged at `now_ns`.
    pub fn acked(&self, queued_ns: u64, now_ns: u64) {
        let us = now_ns.saturating_sub(queued_ns) / 1000;
        self.lat[lat_bucket(us)].fetch_add(1, Relaxed);
        self.progress_ns.store(now_ns, Relaxed);
    }

    /// The queues went from empty to not empty at `now_ns`.
    pub fn started_waiting(&self, now_ns: u64) {
        self.progress_ns.store(now_ns, Relaxed);
    }

    /// A TCP connection of the path came up; returns whether it is a
    /// reconnect (not the first).
    pub fn came_up(&self) -> bool {
        self.ups.fetch_add(1, Relaxed) > 0
    }

    /// Milliseconds since the last progress.
    pub fn since_progress_ms(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.progress_ns.load(Relaxed)) / 1_000_000
    }

    /// The counters at `now_ns`.
    pub fn report(&self, now_ns: u64) -> PathReport {
        let mut lat = [0; LAT_BUCKETS];
        for (out, b) in lat.iter_mut().zip(self.lat.iter()) {
            *out = b.load(Relaxed);
        }
        PathReport {
            tx_bytes: self.tx_bytes.load(Relaxed),
            tx_msgs: self.tx_msgs.load(Relaxed),
            rx_bytes: self.rx_bytes.load(Relaxed),
            rx_msgs: self.rx_msgs.load(Relaxed),
            retrans_msgs: self.retrans_msgs.load(Relaxed),
            reconnects: self.ups.load(Relaxed).saturating_sub(1),
            since_progress_ms: self.since_progress_ms(now_ns),
            lat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_are_log2_ranges() {
        assert_eq!(lat_bucket(0), 0);
        assert_eq!(lat_bucket(1), 0);
        assert_eq!(lat_bucket(2), 1);
        assert_eq!(lat_bucket(3), 1);
        assert_eq!(lat_bucket(4), 2);
        assert_eq!(lat_bucket(1023), 9);
        assert_eq!(lat_bucket(1024), 10);
        assert_eq!(lat_bucket(1 << 31), 31);
        assert_eq!(lat_bucket(u64::MAX), 31);
    }

    #[test]
    fn counters_and_reconnects() {
        let s = PathStats::new(0);
        s.sent(100, true, false);
        s.sent(100, false, true);
        s.received(7);
        assert!(!s.came_up());
        assert!(s.came_up());
        s.acked(1_000, 5_001_000); // 5 ms = 5000 us: bucket 12.
        let r = s.report(7_001_000);
        assert_eq!((r.tx_msgs, r.tx_bytes, r.retrans_msgs), (1, 100, 1));
        assert_eq!((r.rx_msgs, r.rx_bytes, r.reconnects), (1, 7, 1));
        assert_eq!(r.lat[12], 1);
        assert_eq!(r.lat.iter().sum::<u64>(), 1);
        assert_eq!(r.since_progress_ms, 2);
    }

    #[test]
    fn stall_changes_are_reported_once() {
        let s = PathStats::new(0);
        assert!(!s.set_stalled(false));
        assert!(s.set_stalled(true));
        assert!(!s.set_stalled(true));
        assert!(s.set_stalled(false));
    }

    #[test]
    fn stall_needs_all_three() {
        assert!(stalled(1000, true, 1001));
        assert!(!stalled(1000, true, 1000));
        assert!(!stalled(1000, false, 5000));
        assert!(!stalled(0, true, 5000));
    }

    proptest! {
        #[test]
        fn a_latency_lies_in_its_bucket(us in any::<u64>()) {
            let b = lat_bucket(us);
            prop_assert!(b < LAT_BUCKETS);
            if b > 0 {
                prop_assert!(us >= 1u64 << b);
            }
            if b < LAT_BUCKETS - 1 {
                prop_assert!(us < 1u64 << (b + 1));
            }
        }
    }
}
