// SPDX-License-Identifier: GPL-2.0

//! The RDS protocol core: wire formats and state machines, with no kernel types.
//!
//! Everything here is safe Rust over `core` only, so the same source compiles into
//! the kernel module (as `crate::proto`) and into a host library (`Cargo.toml`) that
//! `cargo test` and the fuzz targets exercise. Allocation-free: callers own buffers.

pub mod addr;
pub mod config;
pub mod cong;
pub mod header;
pub mod info;
pub mod metrics;
pub mod reasm;
pub mod seq;
pub mod stats;

/// Errors of the protocol core, each mapping to the errno upstream returns for the
/// same misuse (see `errno()`), so that the kernel side converts them in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoError {
    /// A malformed or unsupported argument (`EINVAL`).
    Invalid,
    /// An address family that RDS does not bind or send to (`EAFNOSUPPORT`).
    AddressFamily,
    /// A destination buffer too small for the result (`EINVAL`, as upstream).
    BufferTooSmall,
    /// A message larger than RDS allows (`EMSGSIZE`).
    MessageTooBig,
    /// A header failed validation; the connection carrying it must be dropped.
    BadHeader,
    /// `connect()` to the unspecified IPv4 address (`EDESTADDRREQ`).
    DestAddrRequired,
    /// `connect()` to an IPv6 address that is not unicast (`EPROTOTYPE`).
    ProtoType,
}

impl ProtoError {
    /// The positive errno value the kernel returns (negated) for this error.
    pub const fn errno(self) -> i32 {
        const EINVAL: i32 = 22;
        const EAFNOSUPPORT: i32 = 97;
        const EMSGSIZE: i32 = 90;
        const EPROTO: i32 = 71;
        const EDESTADDRREQ: i32 = 89;
        const EPROTOTYPE: i32 = 91;
        match self {
            Self::Invalid | Self::BufferTooSmall => EINVAL,
            Self::AddressFamily => EAFNOSUPPORT,
            Self::MessageTooBig => EMSGSIZE,
            Self::BadHeader => EPROTO,
            Self::DestAddrRequired => EDESTADDRREQ,
            Self::ProtoType => EPROTOTYPE,
        }
    }
}
