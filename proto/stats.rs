// SPDX-License-Identifier: GPL-2.0

//! Global statistics, under upstream's names (net/rds/stats.c and
//! net/rds/tcp_stats.c) so that `RDS_INFO_COUNTERS` readers such as
//! `rds-info -c` see the same list. Counters of mechanisms this
//! implementation does not have (RDMA, page remainders, send lock
//! contention) stay 0.

/// One statistic; the discriminant indexes [`NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Stat {
    /// `s_conn_reset`.
    ConnReset,
    /// `s_recv_drop_bad_checksum`.
    RecvDropBadChecksum,
    /// `s_recv_drop_old_seq`.
    RecvDropOldSeq,
    /// `s_recv_drop_no_sock`.
    RecvDropNoSock,
    /// `s_recv_drop_dead_sock`.
    RecvDropDeadSock,
    /// `s_recv_deliver_raced`.
    RecvDeliverRaced,
    /// `s_recv_delivered`.
    RecvDelivered,
    /// `s_recv_queued`.
    RecvQueued,
    /// `s_recv_immediate_retry`.
    RecvImmediateRetry,
    /// `s_recv_delayed_retry`.
    RecvDelayedRetry,
    /// `s_recv_ack_required`.
    RecvAckRequired,
    /// `s_recv_rdma_bytes`.
    RecvRdmaBytes,
    /// `s_recv_ping`.
    RecvPing,
    /// `s_send_queue_empty`.
    SendQueueEmpty,
    /// `s_send_queue_full`.
    SendQueueFull,
    /// `s_send_lock_contention`.
    SendLockContention,
    /// `s_send_lock_queue_raced`.
    SendLockQueueRaced,
    /// `s_send_immediate_retry`.
    SendImmediateRetry,
    /// `s_send_delayed_retry`.
    SendDelayedRetry,
    /// `s_send_drop_acked`.
    SendDropAcked,
    /// `s_send_ack_required`.
    SendAckRequired,
    /// `s_send_queued`.
    SendQueued,
    /// `s_send_rdma`.
    SendRdma,
    /// `s_send_rdma_bytes`.
    SendRdmaBytes,
    /// `s_send_pong`.
    SendPong,
    /// `s_page_remainder_hit`.
    PageRemainderHit,
    /// `s_page_remainder_miss`.
    PageRemainderMiss,
    /// `s_copy_to_user`.
    CopyToUser,
    /// `s_copy_from_user`.
    CopyFromUser,
    /// `s_cong_update_queued`.
    CongUpdateQueued,
    /// `s_cong_update_received`.
    CongUpdateReceived,
    /// `s_cong_send_error`.
    CongSendError,
    /// `s_cong_send_blocked`.
    CongSendBlocked,
    /// `s_recv_bytes_added_to_sock`.
    RecvBytesAddedToSock,
    /// `s_recv_bytes_freed_fromsock`.
    RecvBytesFreedFromsock,
    /// `s_send_stuck_rm`.
    SendStuckRm,
    /// `s_tcp_data_ready_calls`.
    TcpDataReadyCalls,
    /// `s_tcp_write_space_calls`.
    TcpWriteSpaceCalls,
    /// `s_tcp_sndbuf_full`.
    TcpSndbufFull,
    /// `s_tcp_connect_raced`.
    TcpConnectRaced,
    /// `s_tcp_listen_closed_stale`.
    TcpListenClosedStale,
}

/// The number of statistics.
pub const COUNT: usize = 41;

/// Names in `RDS_INFO_COUNTERS` order: upstream's RDS statistics, then the
/// TCP transport's.
pub const NAMES: [&str; COUNT] = [
    "conn_reset",
    "recv_drop_bad_checksum",
    "recv_drop_old_seq",
    "recv_drop_no_sock",
    "recv_drop_dead_sock",
    "recv_deliver_raced",
    "recv_delivered",
    "recv_queued",
    "recv_immediate_retry",
    "recv_delayed_retry",
    "recv_ack_required",
    "recv_rdma_bytes",
    "recv_ping",
    "send_queue_empty",
    "send_queue_full",
    "send_lock_contention",
    "send_lock_queue_raced",
    "send_immediate_retry",
    "send_delayed_retry",
    "send_drop_acked",
    "send_ack_required",
    "send_queued",
    "send_rdma",
    "send_rdma_bytes",
    "send_pong",
    "page_remainder_hit",
    "page_remainder_miss",
    "copy_to_user",
    "copy_from_user",
    "cong_update_queued",
    "cong_update_received",
    "cong_send_error",
    "cong_send_blocked",
    "recv_bytes_added_to_sock",
    "recv_bytes_freed_fromsock",
    "send_stuck_rm",
    "tcp_data_ready_calls",
    "tcp_write_space_calls",
    "tcp_sndbuf_full",
    "tcp_connect_raced",
    "tcp_listen_closed_stale",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_indexed_by_stat() {
        assert_eq!(NAMES[Stat::ConnReset as usize], "conn_reset");
        assert_eq!(NAMES[Stat::SendStuckRm as usize], "send_stuck_rm");
        assert_eq!(
            NAMES[Stat::TcpListenClosedStale as usize],
            "tcp_listen_closed_stale"
        );
        assert_eq!(Stat::TcpListenClosedStale as usize, COUNT - 1);
        assert!(NAMES.iter().all(|n| n.len() < 32));
    }
}
