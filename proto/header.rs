// SPDX-License-Identifier: GPL-2.0

//! `struct rds_header`: the 48-byte, big-endian header that starts every RDS message
//! on the wire, its checksum and its extension headers.
//!
//! Port of the layout in net/rds/rds.h and of `rds_message_add_extension()`,
//! `rds_message_next_extension()` in net/rds/message.c.

use super::ProtoError;

/// Bytes in an encoded header (`sizeof(struct rds_header)`).
pub const HEADER_LEN: usize = 48;
/// Bytes reserved for extension headers (`RDS_HEADER_EXT_SPACE`).
pub const EXT_SPACE: usize = 16;
/// Largest payload RDS carries in one message (`RDS_MAX_MSG_SIZE`).
pub const MAX_MSG_SIZE: u32 = 1 << 20;
/// Source port of a multipath probe ping (`RDS_FLAG_PROBE_PORT`).
pub const PROBE_PORT: u16 = 1;

// Byte offsets of the fields in `struct rds_header`.
const OFF_SEQUENCE: usize = 0;
const OFF_ACK: usize = 8;
const OFF_LEN: usize = 16;
const OFF_SPORT: usize = 20;
const OFF_DPORT: usize = 22;
const OFF_FLAGS: usize = 24;
const OFF_CREDIT: usize = 25;
const OFF_CSUM: usize = 30;
const OFF_EXT: usize = 32;

/// `h_flags` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// The payload is a congestion map update (`RDS_FLAG_CONG_BITMAP`).
    pub const CONG_BITMAP: Flags = Flags(0x01);
    /// The sender asks for an ack (`RDS_FLAG_ACK_REQUIRED`; unused over TCP).
    pub const ACK_REQUIRED: Flags = Flags(0x02);
    /// The message was sent before, on an earlier connection (`RDS_FLAG_RETRANSMITTED`).
    pub const RETRANSMITTED: Flags = Flags(0x04);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the bits of `other` added.
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

/// A decoded `struct rds_header`, fields in host order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Per-connection sequence number of this message (`h_sequence`).
    pub sequence: u64,
    /// Highest sequence the sender has received (`h_ack`; advisory over TCP).
    pub ack: u64,
    /// Payload length in bytes (`h_len`).
    pub len: u32,
    /// Source RDS port (`h_sport`).
    pub sport: u16,
    /// Destination RDS port (`h_dport`).
    pub dport: u16,
    /// `h_flags`.
    pub flags: Flags,
    /// Flow-control credits (`h_credit`; IB only, zero over TCP).
    pub credit: u8,
    /// `h_csum` as on the wire (big-endian value); zero means "not set".
    pub csum: u16,
    /// Raw extension-header space (`h_exthdr`).
    pub exthdr: [u8; EXT_SPACE],
}

fn be16(b: &[u8; HEADER_LEN], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

fn be32(b: &[u8; HEADER_LEN], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn be64(b: &[u8; HEADER_LEN], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_be_bytes(v)
}

/// Internet checksum (RFC 1071) of `bytes`, as `ip_fast_csum()` computes it over a
/// header: the one's complement of the one's-complement sum of big-endian 16-bit words.
fn inet_csum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).copied().map_or(0, u32::from);
        sum += hi | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Header {
    /// Decodes the fixed layout. Every byte pattern is a header; whether it is an
    /// acceptable one is [`Header::validate`]'s call.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Header {
        let mut exthdr = [0u8; EXT_SPACE];
        exthdr.copy_from_slice(&b[OFF_EXT..OFF_EXT + EXT_SPACE]);
        Header {
            sequence: be64(b, OFF_SEQUENCE),
            ack: be64(b, OFF_ACK),
            len: be32(b, OFF_LEN),
            sport: be16(b, OFF_SPORT),
            dport: be16(b, OFF_DPORT),
            flags: Flags(b[OFF_FLAGS]),
            credit: b[OFF_CREDIT],
            csum: be16(b, OFF_CSUM),
            exthdr,
        }
    }

    /// Encodes the header; `h_padding` is zero, `h_csum` is `self.csum` as is.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[OFF_SEQUENCE..OFF_SEQUENCE + 8].copy_from_slice(&self.sequence.to_be_bytes());
        b[OFF_ACK..OFF_ACK + 8].copy_from_slice(&self.ack.to_be_bytes());
        b[OFF_LEN..OFF_LEN + 4].copy_from_slice(&self.len.to_be_bytes());
        b[OFF_SPORT..OFF_SPORT + 2].copy_from_slice(&self.sport.to_be_bytes());
        b[OFF_DPORT..OFF_DPORT + 2].copy_from_slice(&self.dport.to_be_bytes());
        b[OFF_FLAGS] = self.flags.0;
        b[OFF_CREDIT] = self.credit;
        b[OFF_CSUM..OFF_CSUM + 2].copy_from_slice(&self.csum.to_be_bytes());
        b[OFF_EXT..OFF_EXT + EXT_SPACE].copy_from_slice(&self.exthdr);
        b
    }

    /// Sets `csum` so that the encoded header verifies (`rds_message_make_checksum()`).
    pub fn set_checksum(&mut self) {
        self.csum = 0;
        self.csum = inet_csum(&self.encode());
    }

    /// Whether the checksum is unset or correct (`rds_message_verify_checksum()`).
    pub fn checksum_ok(&self) -> bool {
        self.csum == 0 || inet_csum(&self.encode()) == 0
    }

    /// Checks what a receiver must check before trusting `len`: the payload fits in
    /// an RDS message and the checksum, when set, is right.
    pub fn validate(&self) -> Result<(), ProtoError> {
        if self.len > MAX_MSG_SIZE {
            return Err(ProtoError::MessageTooBig);
        }
        if !self.checksum_ok() {
            return Err(ProtoError::BadHeader);
        }
        Ok(())
    }

    /// Decodes and validates a header as received. The checksum covers the bytes as
    /// sent, `h_padding` included, as `ip_fast_csum()` does on the receiver.
    pub fn parse(b: &[u8; HEADER_LEN]) -> Result<Header, ProtoError> {
        let h = Header::decode(b);
        if h.len > MAX_MSG_SIZE {
            return Err(ProtoError::MessageTooBig);
        }
        if h.csum != 0 && inet_csum(b) != 0 {
            return Err(ProtoError::BadHeader);
        }
        Ok(h)
    }

    /// Whether this is a multipath probe ping or its pong (`RDS_HS_PROBE()`).
    pub fn is_probe(&self) -> bool {
        (self.sport == PROBE_PORT && self.dport == 0)
            || (self.sport == 0 && self.dport == PROBE_PORT)
    }

    /// Appends an extension header after those already present.
    ///
    /// Upstream's `rds_message_add_extension()` stores at most one, so its probe
    /// carries `NPATHS` but drops `GEN_NUM`; receivers of either implementation walk
    /// any number, so appending is compatible. Fails with `Invalid` when `ext` does not
    /// fit, leaving the header unchanged.
    pub fn add_extension(&mut self, ext: Ext) -> Result<(), ProtoError> {
        let mut end = 0;
        let mut walk = self.extensions();
        while walk.next().is_some() {
            end = walk.pos;
        }
        let (ty, data, len) = ext.encode();
        // The type byte, the data, and a terminating RDS_EXTHDR_NONE unless the
        // extension ends the space exactly.
        if end + 1 + len > EXT_SPACE {
            return Err(ProtoError::Invalid);
        }
        self.exthdr[end] = ty;
        self.exthdr[end + 1..end + 1 + len].copy_from_slice(&data[..len]);
        if let Some(b) = self.exthdr.get_mut(end + 1 + len) {
            *b = EXT_NONE;
        }
        Ok(())
    }

    /// Walks the extension headers as `rds_message_next_extension()` does.
    pub fn extensions(&self) -> ExtIter<'_> {
        ExtIter {
            space: &self.exthdr,
            pos: 0,
        }
    }
}

const EXT_NONE: u8 = 0;
const EXT_VERSION: u8 = 1;
const EXT_RDMA: u8 = 2;
const EXT_RDMA_DEST: u8 = 3;
const EXT_NPATHS: u8 = 5;
const EXT_GEN_NUM: u8 = 6;
/// One past the last extension type upstream parses (`__RDS_EXTHDR_MAX`).
const EXT_MAX: u8 = 16;

/// Data length of each extension type (`rds_exthdr_size[]`); unassigned types below
/// `EXT_MAX` have length zero and are skipped, as upstream does.
const fn ext_size(ty: u8) -> usize {
    match ty {
        EXT_VERSION | EXT_RDMA | EXT_GEN_NUM => 4,
        EXT_RDMA_DEST => 8,
        EXT_NPATHS => 2,
        _ => 0,
    }
}

/// One extension header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ext {
    /// `RDS_EXTHDR_VERSION`: protocol version of the sender.
    Version(u32),
    /// `RDS_EXTHDR_RDMA`: the R_Key of an RDMA operation this message chases.
    Rdma(u32),
    /// `RDS_EXTHDR_RDMA_DEST`: destination R_Key and offset of an RDMA operation.
    RdmaDest(u32, u32),
    /// `RDS_EXTHDR_NPATHS`: the number of multipath lanes the sender supports.
    NPaths(u16),
    /// `RDS_EXTHDR_GEN_NUM`: the sender's connection generation number.
    GenNum(u32),
    /// A type below `__RDS_EXTHDR_MAX` with no data that upstream does not interpret.
    Unknown(u8),
}

impl Ext {
    fn encode(self) -> (u8, [u8; 8], usize) {
        let mut d = [0u8; 8];
        let (ty, len) = match self {
            Ext::Version(v) | Ext::Rdma(v) | Ext::GenNum(v) => {
                d[..4].copy_from_slice(&v.to_be_bytes());
                let ty = match self {
                    Ext::Version(_) => EXT_VERSION,
                    Ext::Rdma(_) => EXT_RDMA,
                    _ => EXT_GEN_NUM,
                };
                (ty, 4)
            }
            Ext::RdmaDest(k, o) => {
                d[..4].copy_from_slice(&k.to_be_bytes());
                d[4..8].copy_from_slice(&o.to_be_bytes());
                (EXT_RDMA_DEST, 8)
            }
            Ext::NPaths(n) => {
                d[..2].copy_from_slice(&n.to_be_bytes());
                (EXT_NPATHS, 2)
            }
            Ext::Unknown(ty) => (ty, 0),
        };
        (ty, d, len)
    }
}

/// Iterator over a header's extensions; see [`Header::extensions`].
pub struct ExtIter<'a> {
    space: &'a [u8; EXT_SPACE],
    pos: usize,
}

impl Iterator for ExtIter<'_> {
    type Item = Ext;

    fn next(&mut self) -> Option<Ext> {
        let ty = *self.space.get(self.pos)?;
        if ty == EXT_NONE || ty >= EXT_MAX {
            self.pos = EXT_SPACE;
            return None;
        }
        let start = self.pos + 1;
        let len = ext_size(ty);
        let Some(d) = self.space.get(start..start + len) else {
            self.pos = EXT_SPACE;
            return None;
        };
        self.pos = start + len;
        let u32_at = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Some(match ty {
            EXT_VERSION => Ext::Version(u32_at(0)),
            EXT_RDMA => Ext::Rdma(u32_at(0)),
            EXT_RDMA_DEST => Ext::RdmaDest(u32_at(0), u32_at(4)),
            EXT_NPATHS => Ext::NPaths(u16::from_be_bytes([d[0], d[1]])),
            EXT_GEN_NUM => Ext::GenNum(u32_at(0)),
            other => Ext::Unknown(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A header as the C module builds it for a probe ping (captured layout).
    fn sample() -> Header {
        let mut h = Header {
            sequence: 0x0102_0304_0506_0708,
            ack: 0x1112_1314_1516_1718,
            len: 0x2122_2324,
            sport: 0x3132,
            dport: 0x4142,
            flags: Flags::ACK_REQUIRED,
            credit: 0x51,
            ..Header::default()
        };
        h.add_extension(Ext::NPaths(8)).unwrap();
        h
    }

    #[test]
    fn layout_matches_struct_rds_header() {
        let b = sample().encode();
        assert_eq!(&b[0..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[8..16], &[0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]);
        assert_eq!(&b[16..20], &[0x21, 0x22, 0x23, 0x24]);
        assert_eq!(&b[20..24], &[0x31, 0x32, 0x41, 0x42]);
        assert_eq!(b[24], 0x02);
        assert_eq!(b[25], 0x51);
        assert_eq!(&b[26..32], &[0; 6], "padding and unset checksum");
        assert_eq!(&b[32..36], &[5, 0, 8, 0], "NPATHS=8 then RDS_EXTHDR_NONE");
    }

    #[test]
    fn checksum_known_answer() {
        // All-zero header but for h_len = 1: sum = 0x0001, csum = !0x0001.
        let mut h = Header {
            len: 1,
            ..Header::default()
        };
        h.set_checksum();
        assert_eq!(h.csum, 0xfffe);
        assert!(h.checksum_ok());
        h.len = 2;
        assert!(!h.checksum_ok());
        assert_eq!(h.validate(), Err(ProtoError::BadHeader));
    }

    #[test]
    fn length_limit() {
        let h = Header {
            len: MAX_MSG_SIZE,
            ..Header::default()
        };
        assert_eq!(h.validate(), Ok(()));
        let h = Header {
            len: MAX_MSG_SIZE + 1,
            ..Header::default()
        };
        assert_eq!(h.validate(), Err(ProtoError::MessageTooBig));
    }

    #[test]
    fn probe_detection() {
        let ping = Header {
            sport: PROBE_PORT,
            dport: 0,
            ..Header::default()
        };
        let pong = Header {
            sport: 0,
            dport: PROBE_PORT,
            ..Header::default()
        };
        let data = Header {
            sport: 1,
            dport: 1,
            ..Header::default()
        };
        assert!(ping.is_probe() && pong.is_probe() && !data.is_probe());
    }

    #[test]
    fn extension_walk_table() {
        // (raw extension space, expected walk), after rds_message_next_extension().
        let mut two = [0u8; EXT_SPACE];
        two[..8].copy_from_slice(&[5, 0, 8, 6, 0xde, 0xad, 0xbe, 0xef]);
        let mut unknown = [0u8; EXT_SPACE];
        unknown[..4].copy_from_slice(&[4, 5, 0, 2]);
        let mut late = [0u8; EXT_SPACE];
        late[..2].copy_from_slice(&[7, 3]);
        let cases: &[(&[u8; EXT_SPACE], &[Ext])] = &[
            (&[0; EXT_SPACE], &[]),
            (&two, &[Ext::NPaths(8), Ext::GenNum(0xdead_beef)]),
            (&unknown, &[Ext::Unknown(4), Ext::NPaths(2)]),
            (&[16; EXT_SPACE], &[]),
            (&late, &[Ext::Unknown(7), Ext::RdmaDest(0, 0)]),
        ];
        for (space, want) in cases {
            let h = Header {
                exthdr: **space,
                ..Header::default()
            };
            let got: std::vec::Vec<Ext> = h.extensions().collect();
            assert_eq!(&got[..], *want, "space {space:?}");
        }
        let mut end = [0u8; EXT_SPACE];
        end[12] = 3;
        end[0] = 1; // VERSION, 4 bytes, then type 0 at 5 ends the walk.
        let h = Header {
            exthdr: end,
            ..Header::default()
        };
        assert_eq!(h.extensions().count(), 1);
        let mut tail = [0u8; EXT_SPACE];
        tail[..13].copy_from_slice(&[2, 0, 0, 0, 1, 2, 0, 0, 0, 2, 2, 0, 0]);
        let h = Header {
            exthdr: tail,
            ..Header::default()
        };
        // RDMA at 0 and 5; RDMA at 10 needs bytes 11..15, present; then byte 15 = 0.
        assert_eq!(h.extensions().count(), 3);
        let mut overlong = [0u8; EXT_SPACE];
        overlong[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        overlong[10] = 3; // RDMA_DEST at 10 needs bytes 11..19: the walk ends.
        overlong[9] = 0xaa;
        let h = Header {
            exthdr: overlong,
            ..Header::default()
        };
        assert_eq!(
            h.extensions().collect::<std::vec::Vec<_>>(),
            [Ext::Rdma(0), Ext::Rdma(0xaa)]
        );
    }

    #[test]
    fn add_extension_appends_and_refuses_overflow() {
        let mut h = Header::default();
        h.add_extension(Ext::NPaths(8)).unwrap();
        h.add_extension(Ext::GenNum(7)).unwrap();
        h.add_extension(Ext::Version(0x0300)).unwrap();
        let got: std::vec::Vec<Ext> = h.extensions().collect();
        assert_eq!(got, [Ext::NPaths(8), Ext::GenNum(7), Ext::Version(0x0300)]);
        // 3 + 5 + 5 = 13 bytes used; an 8-byte RDMA_DEST needs 9.
        let before = h;
        assert_eq!(
            h.add_extension(Ext::RdmaDest(1, 2)),
            Err(ProtoError::Invalid)
        );
        assert_eq!(h, before);
        // A 2-byte NPATHS (3 bytes) fills the space exactly: no terminator needed.
        h.add_extension(Ext::NPaths(1)).unwrap();
        assert_eq!(h.extensions().count(), 4);
    }

    fn any_header() -> impl Strategy<Value = Header> {
        (
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_flat_map(|(s, a, l, sp, dp, f)| {
                (any::<u8>(), any::<u16>(), any::<[u8; EXT_SPACE]>()).prop_map(
                    move |(credit, csum, exthdr)| Header {
                        sequence: s,
                        ack: a,
                        len: l,
                        sport: sp,
                        dport: dp,
                        flags: Flags(f),
                        credit,
                        csum,
                        exthdr,
                    },
                )
            })
    }

    proptest! {
        #[test]
        fn round_trip(h in any_header()) {
            prop_assert_eq!(Header::decode(&h.encode()), h);
        }

        #[test]
        fn decode_ignores_only_padding(bytes in any::<[u8; 32]>(), tail in any::<[u8; 16]>()) {
            let mut b = [0u8; HEADER_LEN];
            b[..32].copy_from_slice(&bytes);
            b[32..].copy_from_slice(&tail);
            let mut want = b;
            want[26..30].fill(0);
            prop_assert_eq!(Header::decode(&b).encode(), want);
        }

        #[test]
        fn checksum_detects_single_bit_flips(h in any_header(), bit in 0usize..(HEADER_LEN * 8)) {
            let mut h = h;
            h.set_checksum();
            prop_assert!(h.checksum_ok());
            let mut b = h.encode();
            if !(26 * 8..30 * 8).contains(&bit) {
                b[bit / 8] ^= 1 << (bit % 8);
                let flipped = Header::decode(&b);
                // Flipping the checksum to zero means "unset", which is accepted.
                prop_assert!(!flipped.checksum_ok() || flipped.csum == 0);
            }
        }

        #[test]
        fn parse_accepts_what_encode_checksummed(h in any_header(), pad in any::<[u8; 4]>()) {
            let mut h = h;
            h.len %= MAX_MSG_SIZE + 1;
            let mut b = h.encode();
            b[26..30].copy_from_slice(&pad);
            b[30..32].fill(0);
            let c = inet_csum(&b);
            // A computed checksum of zero reads as "unset" (upstream has the same).
            prop_assume!(c != 0);
            b[30..32].copy_from_slice(&c.to_be_bytes());
            let parsed = Header::parse(&b);
            prop_assert!(parsed.is_ok());
            b[0] ^= 0x80;
            prop_assert_eq!(Header::parse(&b), Err(ProtoError::BadHeader));
        }

        #[test]
        fn extension_walk_never_panics_and_terminates(h in any_header()) {
            prop_assert!(h.extensions().count() <= EXT_SPACE);
        }
    }
}
