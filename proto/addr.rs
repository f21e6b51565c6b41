// SPDX-License-Identifier: GPL-2.0

//! RDS socket addresses: parsing `sockaddr_in`/`sockaddr_in6` as `bind()` and
//! `sendmsg()` receive them, the checks upstream applies, and `getname()` output.
//!
//! Port of the address checks in `rds_bind()` (net/rds/bind.c) and of
//! `rds_getname()` (net/rds/af_rds.c). Addresses are kept as IPv6, IPv4 ones
//! v4-mapped, as upstream's `struct in6_addr rs_bound_addr` does.

use super::ProtoError;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;

/// An IPv6 address in network byte order (IPv4 ones v4-mapped), ordered
/// numerically (`ipv6_addr_cmp()`), which is the order of its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Addr(pub [u8; 16]);

// Compared as one number rather than as a byte slice, which costs a call to
// memcmp(): the socket and connection tables compare addresses on every
// message.
impl Ord for Addr {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl PartialOrd for Addr {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Addr {
    /// The unspecified address `::`.
    pub const ANY: Addr = Addr([0; 16]);

    /// `::ffff:a.b.c.d` for an IPv4 address given in network byte order.
    pub const fn v4_mapped(v4: [u8; 4]) -> Addr {
        Addr([
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3],
        ])
    }

    /// The IPv4 address if this is v4-mapped (`ipv6_addr_v4mapped()`).
    pub fn as_v4(&self) -> Option<[u8; 4]> {
        // As one number (a loop over the bytes ran on every send): the
        // prefix ::ffff:0:0/96.
        let a = u128::from_be_bytes(self.0);
        // CAST: the low 32 bits, the IPv4 address.
        (a >> 32 == 0xffff).then(|| (a as u32).to_be_bytes())
    }

    /// Whether this is `::`.
    pub fn is_any(&self) -> bool {
        *self == Addr::ANY
    }

    /// Whether RDS delivers to this address through memory, without a transport
    /// (`rds_trans_get_preferred()`: 127.0.0.0/8 and `::1`).
    pub fn is_loopback(&self) -> bool {
        match self.as_v4() {
            Some(v4) => v4[0] == 127,
            None => self.0 == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        }
    }

    /// Whether this is an IPv6 link-local unicast address (fe80::/10).
    pub fn is_link_local(&self) -> bool {
        self.0[0] == 0xfe && self.0[1] & 0xc0 == 0x80
    }
}

/// Whether an IPv4 address may be bound: not `INADDR_ANY`, not broadcast, not multicast.
fn v4_bindable(v4: [u8; 4]) -> bool {
    v4 != [0; 4] && v4 != [0xff; 4] && v4[0] & 0xf0 != 0xe0
}

/// Whether an IPv6 address is unicast in the sense of `ipv6_addr_type()`:
/// not `::`, not multicast (ff00::/8).
fn v6_unicast(a: &Addr) -> bool {
    !a.is_any() && a.0[0] != 0xff
}

/// An RDS endpoint: address, port and IPv6 scope (interface index, 0 when none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// The address.
    pub addr: Addr,
    /// The RDS port, host order.
    pub port: u16,
    /// The scope id of a link-local IPv6 address; zero otherwise.
    pub scope_id: u32,
}

fn family_of(raw: &[u8]) -> Result<u16, ProtoError> {
    // offsetofend(struct sockaddr, sa_family): the family is host order (x86: LE).
    match raw {
        [a, b, ..] => Ok(u16::from_ne_bytes([*a, *b])),
        _ => Err(ProtoError::Invalid),
    }
}

fn parse_v4(raw: &[u8]) -> Option<([u8; 4], u16)> {
    if raw.len() < SOCKADDR_IN_LEN {
        return None;
    }
    Some((
        [raw[4], raw[5], raw[6], raw[7]],
        u16::from_be_bytes([raw[2], raw[3]]),
    ))
}

fn parse_v6(raw: &[u8]) -> Option<(Addr, u16, u32)> {
    if raw.len() < SOCKADDR_IN6_LEN {
        return None;
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(&raw[8..24]);
    let scope = u32::from_ne_bytes([raw[24], raw[25], raw[26], raw[27]]);
    Some((Addr(a), u16::from_be_bytes([raw[2], raw[3]]), scope))
}

/// Checks a parsed IPv6 address as `rds_bind()`, `rds_connect()` and
/// `rds_sendmsg()` do; `not_unicast` is the error for a multicast, unspecified or
/// unusable v4-mapped address. A link-local address needs a scope id.
fn check_v6(
    (addr, port, scope): (Addr, u16, u32),
    not_unicast: ProtoError,
) -> Result<Endpoint, ProtoError> {
    if !v6_unicast(&addr) || addr.as_v4().is_some_and(|v4| !v4_bindable(v4)) {
        return Err(not_unicast);
    }
    let scope_id = match (addr.is_link_local(), scope) {
        (true, 0) => return Err(ProtoError::Invalid),
        (true, scope) => scope,
        (false, _) => 0,
    };
    Ok(Endpoint {
        addr,
        port,
        scope_id,
    })
}

/// Parses an IPv4 address; `any` is the error for `INADDR_ANY`.
fn check_v4((v4, port): ([u8; 4], u16), any: ProtoError) -> Result<Endpoint, ProtoError> {
    if v4 == [0; 4] {
        return Err(any);
    }
    if !v4_bindable(v4) {
        return Err(ProtoError::Invalid);
    }
    Ok(Endpoint {
        addr: Addr::v4_mapped(v4),
        port,
        scope_id: 0,
    })
}

/// Parses and checks the address given to `bind()`; errors are upstream's
/// (`EINVAL` for every malformed or unbindable address, families included).
pub fn parse_bind(raw: &[u8]) -> Result<Endpoint, ProtoError> {
    match family_of(raw)? {
        AF_INET => check_v4(
            parse_v4(raw).ok_or(ProtoError::Invalid)?,
            ProtoError::Invalid,
        ),
        AF_INET6 => check_v6(
            parse_v6(raw).ok_or(ProtoError::Invalid)?,
            ProtoError::Invalid,
        ),
        _ => Err(ProtoError::Invalid),
    }
}

/// Parses the address given to `connect()`, with `rds_connect()`'s errnos.
/// The caller checks a link-local scope against the bound one.
pub fn parse_connect(raw: &[u8]) -> Result<Endpoint, ProtoError> {
    match family_of(raw)? {
        AF_INET => check_v4(
            parse_v4(raw).ok_or(ProtoError::Invalid)?,
            ProtoError::DestAddrRequired,
        ),
        AF_INET6 => check_v6(
            parse_v6(raw).ok_or(ProtoError::Invalid)?,
            ProtoError::ProtoType,
        ),
        _ => Err(ProtoError::AddressFamily),
    }
}

/// Parses a `sendmsg()` destination (`msg_name`), with `rds_sendmsg()`'s errnos:
/// `EINVAL` for everything malformed, whatever the family.
pub fn parse_dest(raw: &[u8]) -> Result<Endpoint, ProtoError> {
    if raw.len() < SOCKADDR_IN_LEN {
        return Err(ProtoError::Invalid);
    }
    match family_of(raw)? {
        AF_INET | AF_INET6 => parse_bind(raw),
        _ => Err(ProtoError::Invalid),
    }
}

/// Writes `ep` as `rds_getname()` does: `sockaddr_in` for a v4-mapped address,
/// `sockaddr_in6` otherwise. Returns the length written.
pub fn write_sockaddr(ep: &Endpoint, out: &mut [u8]) -> Result<usize, ProtoError> {
    if let Some(v4) = ep.addr.as_v4() {
        let o = out
            .get_mut(..SOCKADDR_IN_LEN)
            .ok_or(ProtoError::BufferTooSmall)?;
        o.fill(0);
        o[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        o[2..4].copy_from_slice(&ep.port.to_be_bytes());
        o[4..8].copy_from_slice(&v4);
        Ok(SOCKADDR_IN_LEN)
    } else {
        let o = out
            .get_mut(..SOCKADDR_IN6_LEN)
            .ok_or(ProtoError::BufferTooSmall)?;
        o.fill(0);
        o[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        o[2..4].copy_from_slice(&ep.port.to_be_bytes());
        o[8..24].copy_from_slice(&ep.addr.0);
        o[24..28].copy_from_slice(&ep.scope_id.to_ne_bytes());
        Ok(SOCKADDR_IN6_LEN)
    }
}

/// Writes the local name of a socket that is not bound, as `rds_getname()` does:
/// the family of the connected address (`AF_UNSPEC` when not connected), all zero.
pub fn write_unbound_name(conn: Option<&Addr>, out: &mut [u8]) -> Result<usize, ProtoError> {
    let (family, len) = match conn {
        None => (0u16, SOCKADDR_IN_LEN),
        Some(a) if a.as_v4().is_some() => (AF_INET, SOCKADDR_IN_LEN),
        Some(_) => (AF_INET6, SOCKADDR_IN6_LEN),
    };
    let o = out.get_mut(..len).ok_or(ProtoError::BufferTooSmall)?;
    o.fill(0);
    o[..2].copy_from_slice(&family.to_ne_bytes());
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sin(addr: [u8; 4], port: u16) -> [u8; SOCKADDR_IN_LEN] {
        let mut b = [0u8; SOCKADDR_IN_LEN];
        b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&addr);
        b
    }

    fn sin6(addr: [u8; 16], port: u16, scope: u32) -> [u8; SOCKADDR_IN6_LEN] {
        let mut b = [0u8; SOCKADDR_IN6_LEN];
        b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[8..24].copy_from_slice(&addr);
        b[24..28].copy_from_slice(&scope.to_ne_bytes());
        b
    }

    const LL: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const DOC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    #[test]
    fn bind_checks_table() {
        let mapped_bcast = Addr::v4_mapped([255; 4]).0;
        let mapped_ok = Addr::v4_mapped([192, 0, 2, 1]).0;
        let mut mcast6 = [0u8; 16];
        mcast6[0] = 0xff;
        let cases: &[(&[u8], Result<Endpoint, ProtoError>)] = &[
            (&[], Err(ProtoError::Invalid)),
            (&[2], Err(ProtoError::Invalid)),
            (&sin([192, 0, 2, 1], 4000)[..15], Err(ProtoError::Invalid)),
            (
                &sin([192, 0, 2, 1], 4000),
                Ok(Endpoint {
                    addr: Addr::v4_mapped([192, 0, 2, 1]),
                    port: 4000,
                    scope_id: 0,
                }),
            ),
            (&sin([0, 0, 0, 0], 4000), Err(ProtoError::Invalid)),
            (&sin([255, 255, 255, 255], 4000), Err(ProtoError::Invalid)),
            (&sin([224, 0, 0, 1], 4000), Err(ProtoError::Invalid)),
            (&sin([239, 1, 2, 3], 0), Err(ProtoError::Invalid)),
            (&sin6(DOC6, 7, 0)[..27], Err(ProtoError::Invalid)),
            (
                &sin6(DOC6, 7, 5),
                Ok(Endpoint {
                    addr: Addr(DOC6),
                    port: 7,
                    scope_id: 0,
                }),
            ),
            (&sin6([0; 16], 7, 0), Err(ProtoError::Invalid)),
            (&sin6(mcast6, 7, 0), Err(ProtoError::Invalid)),
            (&sin6(LL, 7, 0), Err(ProtoError::Invalid)),
            (
                &sin6(LL, 7, 3),
                Ok(Endpoint {
                    addr: Addr(LL),
                    port: 7,
                    scope_id: 3,
                }),
            ),
            (&sin6(mapped_bcast, 7, 0), Err(ProtoError::Invalid)),
            (
                &sin6(mapped_ok, 7, 0),
                Ok(Endpoint {
                    addr: Addr(mapped_ok),
                    port: 7,
                    scope_id: 0,
                }),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_bind(raw), *want, "{raw:?}");
        }
        let mut unix = sin([192, 0, 2, 1], 1);
        unix[..2].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(parse_bind(&unix), Err(ProtoError::Invalid));
    }

    #[test]
    fn loopback_is_memory_delivered() {
        assert!(Addr::v4_mapped([127, 0, 0, 1]).is_loopback());
        assert!(Addr::v4_mapped([127, 9, 9, 9]).is_loopback());
        assert!(!Addr::v4_mapped([128, 0, 0, 1]).is_loopback());
        let mut one = [0u8; 16];
        one[15] = 1;
        assert!(Addr(one).is_loopback());
        assert!(!Addr(DOC6).is_loopback());
    }

    #[test]
    fn getname_formats() {
        let mut out = [0xaau8; 128];
        let ep = Endpoint {
            addr: Addr::v4_mapped([10, 1, 2, 3]),
            port: 4000,
            scope_id: 0,
        };
        assert_eq!(write_sockaddr(&ep, &mut out), Ok(16));
        assert_eq!(&out[..16], &sin([10, 1, 2, 3], 4000));
        let ep = Endpoint {
            addr: Addr(LL),
            port: 9,
            scope_id: 4,
        };
        assert_eq!(write_sockaddr(&ep, &mut out), Ok(28));
        assert_eq!(&out[..28], &sin6(LL, 9, 4));
        assert_eq!(
            write_sockaddr(&ep, &mut out[..27]),
            Err(ProtoError::BufferTooSmall)
        );
        assert_eq!(write_unbound_name(None, &mut out), Ok(16));
        assert_eq!(&out[..16], &[0; 16]);
        assert_eq!(write_unbound_name(Some(&Addr(DOC6)), &mut out), Ok(28));
        assert_eq!(&out[..2], &AF_INET6.to_ne_bytes());
    }

    #[test]
    fn connect_and_dest_errnos() {
        let mut mcast6 = [0u8; 16];
        mcast6[0] = 0xff;
        let cases: &[(&[u8], ProtoError, ProtoError)] = &[
            // (address, connect() error, sendmsg() destination error)
            (
                &sin([0, 0, 0, 0], 1),
                ProtoError::DestAddrRequired,
                ProtoError::Invalid,
            ),
            (
                &sin([224, 0, 0, 1], 1),
                ProtoError::Invalid,
                ProtoError::Invalid,
            ),
            (
                &sin([255, 255, 255, 255], 1),
                ProtoError::Invalid,
                ProtoError::Invalid,
            ),
            (
                &sin([10, 0, 0, 1], 1)[..15],
                ProtoError::Invalid,
                ProtoError::Invalid,
            ),
            (
                &sin6(mcast6, 1, 0),
                ProtoError::ProtoType,
                ProtoError::Invalid,
            ),
            (
                &sin6(Addr::v4_mapped([0; 4]).0, 1, 0),
                ProtoError::ProtoType,
                ProtoError::Invalid,
            ),
            (&sin6(LL, 1, 0), ProtoError::Invalid, ProtoError::Invalid),
        ];
        for (raw, conn, dest) in cases {
            assert_eq!(parse_connect(raw), Err(*conn), "connect {raw:?}");
            assert_eq!(parse_dest(raw), Err(*dest), "dest {raw:?}");
        }
        let mut unix = sin([10, 0, 0, 1], 1);
        unix[..2].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(parse_connect(&unix), Err(ProtoError::AddressFamily));
        assert_eq!(parse_dest(&unix), Err(ProtoError::Invalid));
        let ok = Endpoint {
            addr: Addr::v4_mapped([10, 0, 0, 1]),
            port: 9,
            scope_id: 0,
        };
        assert_eq!(parse_connect(&sin([10, 0, 0, 1], 9)), Ok(ok));
        assert_eq!(parse_dest(&sin([10, 0, 0, 1], 9)), Ok(ok));
        assert_eq!(parse_dest(&sin6(LL, 9, 2)).map(|e| e.scope_id), Ok(2));
    }

    proptest! {
        #[test]
        fn bind_parse_round_trips(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(ep) = parse_bind(&raw) {
                let mut out = [0u8; 28];
                let n = write_sockaddr(&ep, &mut out).unwrap();
                prop_assert_eq!(parse_bind(&out[..n]), Ok(ep));
            }
        }

        #[test]
        fn v4_bind_matches_rule(a in any::<[u8; 4]>(), port in any::<u16>()) {
            let ok = a != [0; 4] && a != [255; 4] && !(224..=239).contains(&a[0]);
            prop_assert_eq!(parse_bind(&sin(a, port)).is_ok(), ok);
        }

        #[test]
        fn as_v4_is_the_mapped_prefix(a in any::<[u8; 16]>(), v4 in any::<[u8; 4]>(), n in 0usize..12) {
            let mapped = a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff;
            prop_assert_eq!(Addr(a).as_v4(), mapped.then(|| [a[12], a[13], a[14], a[15]]));
            prop_assert_eq!(Addr::v4_mapped(v4).as_v4(), Some(v4));
            // One byte of the prefix changed: not mapped.
            let mut b = Addr::v4_mapped(v4).0;
            b[n] ^= 1;
            prop_assert_eq!(Addr(b).as_v4(), None);
        }

        /// Addresses order as their bytes do: the initiator of a
        /// connection is the numerically smaller address on both sides.
        #[test]
        fn addr_order_is_byte_order(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), n in 0usize..16) {
            prop_assert_eq!(Addr(a).cmp(&Addr(b)), a[..].cmp(&b[..]));
            // Equal up to byte n, to reach the later bytes too.
            let mut c = a;
            c[n..].copy_from_slice(&b[n..]);
            prop_assert_eq!(Addr(a).cmp(&Addr(c)), a[..].cmp(&c[..]));
            prop_assert_eq!(Addr(a).partial_cmp(&Addr(c)), Some(a[..].cmp(&c[..])));
        }
    }
}
