// SPDX-License-Identifier: GPL-2.0

//! Per-namespace settings of the `rds_tcp` netlink family and the rules a
//! `RDS_TCP_CMD_SET_CONFIG` request must follow: the whole request is checked
//! against the current settings before anything changes (all or nothing).

/// `RDS_TCP_CONFIG_A_*` (include/uapi/linux/rds_tcp_nl.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Attr {
    /// `SO_SNDBUF` of the TCP sockets.
    TcpSndbuf = 1,
    /// `SO_RCVBUF` of the TCP sockets.
    TcpRcvbuf = 2,
    /// Paths a new connection asks for.
    Npaths = 3,
    /// Shortest reconnect backoff.
    ReconnectMinMs = 4,
    /// Longest reconnect backoff.
    ReconnectMaxMs = 5,
    /// Pings answered.
    PingEnable = 6,
    /// Stall threshold.
    StallMs = 7,
}

/// `RDS_TCP_MAX_MS`: the largest delay or threshold, one hour.
pub const MAX_MS: u32 = 3_600_000;
/// `RDS_TCP_MAX_PATHS`.
pub const MAX_PATHS: u32 = 8;

/// The settings of a namespace, as `RDS_TCP_CMD_GET_CONFIG` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `SO_SNDBUF` of the TCP sockets, 0 for autotuning.
    pub tcp_sndbuf: u32,
    /// `SO_RCVBUF` of the TCP sockets, 0 for autotuning.
    pub tcp_rcvbuf: u32,
    /// Paths (TCP connections) a new connection asks for.
    pub npaths: u32,
    /// Shortest reconnect backoff, ms.
    pub reconnect_min_ms: u32,
    /// Longest reconnect backoff, ms.
    pub reconnect_max_ms: u32,
    /// Messages to port 0 are answered.
    pub ping_enable: bool,
    /// Stall threshold of the path-stalled report, ms; 0 for off.
    pub stall_ms: u32,
}

/// A `SET_CONFIG` request: the attributes it carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// `SO_SNDBUF` of the TCP sockets, 0 for autotuning.
    pub tcp_sndbuf: Option<u32>,
    /// `SO_RCVBUF` of the TCP sockets, 0 for autotuning.
    pub tcp_rcvbuf: Option<u32>,
    /// Paths (TCP connections) a new connection asks for.
    pub npaths: Option<u32>,
    /// Shortest reconnect backoff, ms.
    pub reconnect_min_ms: Option<u32>,
    /// Longest reconnect backoff, ms.
    pub reconnect_max_ms: Option<u32>,
    /// Messages to port 0 are answered.
    pub ping_enable: Option<bool>,
    /// Stall threshold of the path-stalled report, ms; 0 for off.
    pub stall_ms: Option<u32>,
}

/// Why a request was refused: the attribute to blame (when there is one),
/// an extack message, and whether the module lacks the feature
/// (`EOPNOTSUPP`) rather than the value being wrong (`EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The attribute to blame, if any.
    pub attr: Option<Attr>,
    /// The extack message.
    pub why: &'static core::ffi::CStr,
    /// `EOPNOTSUPP` rather than `EINVAL`.
    pub unsupported: bool,
}

impl Refusal {
    const fn invalid(attr: Attr, why: &'static core::ffi::CStr) -> Self {
        Self {
            attr: Some(attr),
            why,
            unsupported: false,
        }
    }
}

impl Settings {
    /// The settings after `ch`, or why `ch` is refused. `max_paths` is how
    /// many paths this module can run; the kernel policy has already checked
    /// each value's range, but this checks again so that the result holds
    /// whoever calls it.
    pub fn apply(&self, ch: &Change, max_paths: u32) -> Result<Settings, Refusal> {
        let ms = |v: u32, min: u32, a: Attr| {
            if (min..=MAX_MS).contains(&v) {
                Ok(v)
            } else {
                Err(Refusal::invalid(a, c"out of range"))
            }
        };
        let buf = |v: u32, a: Attr| {
            if v <= i32::MAX as u32 {
                Ok(v)
            } else {
                Err(Refusal::invalid(a, c"out of range"))
            }
        };
        let mut s = *self;
        if let Some(v) = ch.tcp_sndbuf {
            s.tcp_sndbuf = buf(v, Attr::TcpSndbuf)?;
        }
        if let Some(v) = ch.tcp_rcvbuf {
            s.tcp_rcvbuf = buf(v, Attr::TcpRcvbuf)?;
        }
        if let Some(v) = ch.npaths {
            if !(1..=MAX_PATHS).contains(&v) {
                return Err(Refusal::invalid(Attr::Npaths, c"npaths is 1 to 8"));
            }
            if v > max_paths {
                return Err(Refusal {
                    attr: Some(Attr::Npaths),
                    why: c"this module runs fewer paths",
                    unsupported: true,
                });
            }
            s.npaths = v;
        }
        if let Some(v) = ch.reconnect_min_ms {
            s.reconnect_min_ms = ms(v, 1, Attr::ReconnectMinMs)?;
        }
        if let Some(v) = ch.reconnect_max_ms {
            s.reconnect_max_ms = ms(v, 1, Attr::ReconnectMaxMs)?;
        }
        if let Some(v) = ch.ping_enable {
            s.ping_enable = v;
        }
        if let Some(v) = ch.stall_ms {
            s.stall_ms = ms(v, 0, Attr::StallMs)?;
        }
        if s.reconnect_min_ms > s.reconnect_max_ms {
            let attr = if ch.reconnect_min_ms.is_some() {
                Attr::ReconnectMinMs
            } else {
                Attr::ReconnectMaxMs
            };
            return Err(Refusal::invalid(
                attr,
                c"reconnect-min-ms would exceed reconnect-max-ms",
            ));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASE: Settings = Settings {
        tcp_sndbuf: 0,
        tcp_rcvbuf: 0,
        npaths: 1,
        reconnect_min_ms: 1,
        reconnect_max_ms: 1000,
        ping_enable: true,
        stall_ms: 10_000,
    };

    #[test]
    fn an_empty_change_changes_nothing() {
        assert_eq!(BASE.apply(&Change::default(), 8), Ok(BASE));
    }

    #[test]
    fn min_above_max_blames_the_attribute_given() {
        let ch = Change {
            reconnect_min_ms: Some(5000),
            ..Change::default()
        };
        assert_eq!(
            BASE.apply(&ch, 8).unwrap_err().attr,
            Some(Attr::ReconnectMinMs)
        );
        let ch = Change {
            reconnect_max_ms: Some(0),
            ..Change::default()
        };
        assert_eq!(
            BASE.apply(&ch, 8).unwrap_err().attr,
            Some(Attr::ReconnectMaxMs)
        );
        let ch = Change {
            reconnect_min_ms: Some(5000),
            reconnect_max_ms: Some(6000),
            ..Change::default()
        };
        assert_eq!(BASE.apply(&ch, 8).unwrap().reconnect_min_ms, 5000);
    }

    #[test]
    fn npaths_beyond_the_module_is_unsupported() {
        let ch = Change {
            npaths: Some(8),
            ..Change::default()
        };
        let r = BASE.apply(&ch, 1).unwrap_err();
        assert!(r.unsupported && r.attr == Some(Attr::Npaths));
        assert!(
            !BASE
                .apply(
                    &Change {
                        npaths: Some(9),
                        ..ch
                    },
                    8
                )
                .unwrap_err()
                .unsupported
        );
        assert_eq!(BASE.apply(&ch, 8).unwrap().npaths, 8);
    }

    proptest! {
        /// A refused change leaves nothing half applied (the caller keeps
        /// the old settings), and an accepted one keeps the invariants.
        #[test]
        fn accepted_changes_keep_invariants(
            snd in proptest::option::of(any::<u32>()),
            np in proptest::option::of(0u32..12),
            min in proptest::option::of(0u32..4_000_000),
            max in proptest::option::of(0u32..4_000_000),
            stall in proptest::option::of(0u32..4_000_000),
        ) {
            let ch = Change { tcp_sndbuf: snd, npaths: np, reconnect_min_ms: min,
                              reconnect_max_ms: max, stall_ms: stall, ..Change::default() };
            if let Ok(s) = BASE.apply(&ch, 8) {
                prop_assert!(s.reconnect_min_ms >= 1 && s.reconnect_min_ms <= s.reconnect_max_ms);
                prop_assert!(s.reconnect_max_ms <= MAX_MS && s.stall_ms <= MAX_MS);
                prop_assert!((1..=8).contains(&s.npaths));
                prop_assert!(s.tcp_sndbuf <= i32::MAX as u32);
                prop_assert_eq!(s.tcp_rcvbuf, BASE.tcp_rcvbuf);
            }
        }
    }
}
