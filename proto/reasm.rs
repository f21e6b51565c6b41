// SPDX-License-Identifier: GPL-2.0

//! Reassembly of RDS messages from a TCP byte stream.
//!
//! Port of the header/payload bookkeeping of `rds_tcp_data_recv()`
//! (net/rds/tcp_recv.c), without its `t_tinc_hdr_rem`/`t_tinc_data_rem` fields
//! spread over the connection: one `Reassembler` per connection says where the
//! next bytes of the stream go, and the caller copies them there (from an skb in
//! the kernel, from a slice in tests). No allocation, no copy of its own.

use super::header::{Header, HEADER_LEN};
use super::ProtoError;

/// Where the next bytes of the stream belong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Up to `len` bytes of the header, at `off` in [`Reassembler::header_buf`].
    Header {
        /// Offset in the header buffer.
        off: usize,
        /// Bytes still missing from the header.
        len: usize,
    },
    /// Up to `len` bytes of the current message's payload, at `off` in it.
    Payload {
        /// Offset in the payload.
        off: usize,
        /// Payload bytes still missing.
        len: usize,
    },
}

/// Reassembly state of one connection's receive stream.
#[derive(Clone, Debug)]
pub struct Reassembler {
    hdr: [u8; HEADER_LEN],
    hdr_have: usize,
    /// The current message's header once complete, and payload bytes received.
    cur: Option<(Header, usize)>,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`Reassembler::advance`] completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Nothing complete yet.
    Partial,
    /// The header is complete and valid: the caller allocates `len` payload bytes.
    /// With `len` zero the message is complete too (`Complete` does not follow).
    Header(Header),
    /// The payload is complete: the message can be delivered.
    Complete(Header),
}

impl Reassembler {
    /// State at the start of a stream (a new TCP connection).
    pub const fn new() -> Self {
        Self {
            hdr: [0; HEADER_LEN],
            hdr_have: 0,
            cur: None,
        }
    }

    /// Where the next stream bytes go.
    pub fn need(&self) -> Need {
        match self.cur {
            None => Need::Header {
                off: self.hdr_have,
                len: HEADER_LEN - self.hdr_have,
            },
            Some((h, have)) => Need::Payload {
                off: have,
                len: h.len as usize - have,
            },
        }
    }

    /// The header buffer that [`Need::Header`] refers to.
    pub fn header_buf(&mut self) -> &mut [u8; HEADER_LEN] {
        &mut self.hdr
    }

    /// Records that `n` bytes (at most what [`Reassembler::need`] asked for) were
    /// copied where `need()` said. A header that fails validation is an error: the
    /// stream cannot be trusted past it and the connection must be dropped.
    pub fn advance(&mut self, n: usize) -> Result<Progress, ProtoError> {
        match self.cur {
            None => {
                if n > HEADER_LEN - self.hdr_have {
                    return Err(ProtoError::Invalid);
                }
                self.hdr_have += n;
                if self.hdr_have < HEADER_LEN {
                    return Ok(Progress::Partial);
                }
                self.hdr_have = 0;
                let h = Header::parse(&self.hdr)?;
                if h.len != 0 {
                    self.cur = Some((h, 0));
                }
                Ok(Progress::Header(h))
            }
            Some((h, have)) => {
                let have = have + n;
                if have > h.len as usize {
                    return Err(ProtoError::Invalid);
                }
                if have == h.len as usize {
                    self.cur = None;
                    return Ok(Progress::Complete(h));
                }
                self.cur = Some((h, have));
                Ok(Progress::Partial)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::{Flags, EXT_SPACE, MAX_MSG_SIZE};
    use super::super::seq::RxSeq;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Feeds `stream` in chunks of the given sizes and returns the messages.
    fn run(stream: &[u8], chunks: &[usize]) -> Result<Vec<(Header, Vec<u8>)>, ProtoError> {
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        let mut payload = Vec::new();
        let mut pos = 0;
        let mut sizes = chunks.iter().copied().cycle();
        while pos < stream.len() {
            let mut chunk = &stream[pos..(pos + sizes.next().unwrap().max(1)).min(stream.len())];
            pos += chunk.len();
            while !chunk.is_empty() {
                let n = match r.need() {
                    Need::Header { off, len } => {
                        let n = len.min(chunk.len());
                        r.header_buf()[off..off + n].copy_from_slice(&chunk[..n]);
                        n
                    }
                    Need::Payload { off, len } => {
                        let n = len.min(chunk.len());
                        payload[off..off + n].copy_from_slice(&chunk[..n]);
                        n
                    }
                };
                chunk = &chunk[n..];
                match r.advance(n)? {
                    Progress::Partial => {}
                    Progress::Header(h) if h.len == 0 => out.push((h, Vec::new())),
                    Progress::Header(h) => payload = vec![0; h.len as usize],
                    Progress::Complete(h) => out.push((h, core::mem::take(&mut payload))),
                }
            }
        }
        Ok(out)
    }

    fn message(seq: u64, payload: &[u8]) -> Vec<u8> {
        let h = Header {
            sequence: seq,
            len: payload.len() as u32,
            sport: 7,
            dport: 9,
            ..Header::default()
        };
        let mut v = h.encode().to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn every_cut_of_a_stream() {
        // Three messages, one empty; cut the stream at every offset into two pieces.
        let msgs: [&[u8]; 3] = [b"hello", b"", b"world!"];
        let stream: Vec<u8> = msgs
            .iter()
            .enumerate()
            .flat_map(|(i, p)| message(i as u64, p))
            .collect();
        for cut in 0..=stream.len() {
            let got = run(&stream, &[cut, stream.len()]).unwrap();
            assert_eq!(got.len(), 3, "cut {cut}");
            for (i, (h, p)) in got.iter().enumerate() {
                assert_eq!(h.sequence, i as u64);
                assert_eq!(&p[..], msgs[i]);
            }
        }
    }

    #[test]
    fn oversize_header_is_an_error() {
        let h = Header {
            len: MAX_MSG_SIZE + 1,
            ..Header::default()
        };
        assert_eq!(
            run(&h.encode(), &[HEADER_LEN]),
            Err(ProtoError::MessageTooBig)
        );
    }

    #[test]
    fn bad_checksum_is_an_error_and_good_one_passes() {
        let mut h = Header {
            len: 0,
            flags: Flags::ACK_REQUIRED,
            ..Header::default()
        };
        h.set_checksum();
        assert!(run(&h.encode(), &[7]).is_ok());
        h.sequence = 1;
        assert_eq!(run(&h.encode(), &[7]), Err(ProtoError::BadHeader));
    }

    #[test]
    fn advance_beyond_need_is_refused() {
        let mut r = Reassembler::new();
        assert_eq!(r.advance(HEADER_LEN + 1), Err(ProtoError::Invalid));
        r.header_buf()[19] = 4; // h_len = 4
        assert_eq!(
            r.advance(HEADER_LEN)
                .map(|p| matches!(p, Progress::Header(_))),
            Ok(true)
        );
        assert_eq!(r.need(), Need::Payload { off: 0, len: 4 });
        assert_eq!(r.advance(5), Err(ProtoError::Invalid));
    }

    proptest! {
        #[test]
        fn random_splits_reassemble(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..12),
            chunks in proptest::collection::vec(1usize..200, 1..20),
        ) {
            let stream: Vec<u8> = payloads.iter().enumerate()
                .flat_map(|(i, p)| message(i as u64, p)).collect();
            let got = run(&stream, &chunks).unwrap();
            prop_assert_eq!(got.len(), payloads.len());
            for (i, (h, p)) in got.iter().enumerate() {
                prop_assert_eq!(h.sequence, i as u64);
                prop_assert_eq!(p, &payloads[i]);
            }
        }

        #[test]
        fn fuzz_random_bytes(stream in proptest::collection::vec(any::<u8>(), 0..2000),
                             chunks in proptest::collection::vec(1usize..100, 1..10)) {
            // Garbage either reassembles into something or is refused; never a panic.
            pipeline(&stream, &chunks);
        }

        /// The fuzz target of the receive path (`make fuzz-host` runs it
        /// longer): well-formed streams of messages with any header fields and
        /// extension bytes, then mutated (bits flipped, bytes cut out or
        /// inserted, the stream cut short), fed in any chunks through what
        /// the module does with each message.
        #[test]
        fn fuzz_mutated_streams(
            msgs in proptest::collection::vec(
                (any::<[u8; HEADER_LEN]>(), proptest::collection::vec(any::<u8>(), 0..200), any::<bool>()),
                1..10),
            mutations in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u8>()), 0..6),
            chunks in proptest::collection::vec(1usize..600, 1..10),
        ) {
            let mut stream = Vec::new();
            for (raw, payload, summed) in &msgs {
                let mut h = Header::decode(raw);
                h.len = payload.len() as u32;
                if *summed {
                    h.set_checksum();
                } else {
                    h.csum = 0;
                }
                stream.extend_from_slice(&h.encode());
                stream.extend_from_slice(payload);
            }
            for &(kind, at, byte) in &mutations {
                let at = usize::from(at) % (stream.len() + 1);
                match kind % 4 {
                    0 if at < stream.len() => stream[at] ^= 1 << (byte % 8),
                    1 if at < stream.len() => { stream.remove(at); }
                    2 => stream.insert(at, byte),
                    _ => stream.truncate(at),
                }
            }
            pipeline(&stream, &chunks);
        }
    }

    /// What the module does with a stream: reassembly, then for each header
    /// the extension walk and the sequence check. Checks what must hold
    /// whatever the bytes: a message's payload has its header's length, at
    /// most `MAX_MSG_SIZE`; the extension walk ends within its 16 bytes.
    fn pipeline(stream: &[u8], chunks: &[usize]) {
        let mut seq = RxSeq::new();
        let Ok(msgs) = run(stream, chunks) else {
            return; // Refused: the connection drops.
        };
        for (h, p) in msgs {
            assert_eq!(p.len(), h.len as usize);
            assert!(h.len <= MAX_MSG_SIZE);
            assert!(h.extensions().take(EXT_SPACE + 1).count() <= EXT_SPACE);
            let _ = h.is_probe();
            let _ = seq.accept(&h);
        }
    }
}
