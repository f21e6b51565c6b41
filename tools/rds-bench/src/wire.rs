//! The benchmark's messages: every payload starts with a 16-byte header.
//!
//! ```text
//!  0       4      6      8               16
//!  | nonce | kind | pair |     value     | kind-specific body or filler ...
//! ```
//!
//! All fields are little-endian. `nonce` is drawn by the sender for each run
//! so that a receiver ignores whatever an earlier run left in flight. Over
//! TCP each message is preceded by its length as a 4-byte big-endian prefix;
//! every frame buffer reserves those 4 bytes in front (see [`Frame`]) so
//! that both transports send from the same buffer without a copy.

/// Bytes of the header.
pub const HDR: usize = 16;
/// Bytes of the TCP length prefix in front of each message.
pub const PREFIX: usize = 4;
/// The smallest message: header and one body word.
pub const MIN_MSG: usize = HDR + 8;

/// Message kinds; the conversation of one run is
/// `Hello`/`HelloAck`, then `Data`/`Ack` (stream) or `Ping`/`Pong`
/// (latency), then `End`/`Fin`/`Bye`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sender to receiver: `value` = size | window << 32.
    Hello = 1,
    /// Receiver to sender: ready.
    HelloAck,
    /// Sender to receiver: `value` = sequence number within the pair.
    Data,
    /// Receiver to sender: `value` = `Data` messages received so far.
    Ack,
    /// Sender to receiver, echoed as `Pong` with the same `value`.
    Ping,
    Pong,
    /// Sender to receiver: `value` = messages sent on the pair.
    End,
    /// Receiver to sender: `value` = messages received; body = receiver CPU ns.
    Fin,
    /// Sender to receiver: `Fin` arrived, the receiver may close.
    Bye,
}

impl Kind {
    fn from_u16(v: u16) -> Option<Kind> {
        use Kind::*;
        [Hello, HelloAck, Data, Ack, Ping, Pong, End, Fin, Bye]
            .into_iter()
            .find(|k| *k as u16 == v)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub nonce: u32,
    pub kind: Kind,
    pub pair: u16,
    pub value: u64,
}

impl Header {
    /// Parses the first [`HDR`] bytes of a message; `None` if short or unknown.
    pub fn decode(b: &[u8]) -> Option<Header> {
        let b = b.get(..HDR)?;
        Some(Header {
            nonce: u32::from_le_bytes(b[0..4].try_into().ok()?),
            kind: Kind::from_u16(u16::from_le_bytes(b[4..6].try_into().ok()?))?,
            pair: u16::from_le_bytes(b[6..8].try_into().ok()?),
            value: u64::from_le_bytes(b[8..16].try_into().ok()?),
        })
    }

    fn encode(&self, b: &mut [u8]) {
        b[0..4].copy_from_slice(&self.nonce.to_le_bytes());
        b[4..6].copy_from_slice(&(self.kind as u16).to_le_bytes());
        b[6..8].copy_from_slice(&self.pair.to_le_bytes());
        b[8..16].copy_from_slice(&self.value.to_le_bytes());
    }
}

/// One message with room for the TCP length prefix in front.
pub struct Frame(Vec<u8>);

impl Frame {
    /// A frame whose message is `len` bytes (at least [`MIN_MSG`]).
    pub fn new(len: usize) -> Frame {
        Frame(vec![0; PREFIX + len.max(MIN_MSG)])
    }

    /// Writes the header (and for `Fin` the body word) and returns the frame.
    pub fn set(&mut self, h: Header, body: u64) -> &mut [u8] {
        h.encode(&mut self.0[PREFIX..]);
        self.0[PREFIX + HDR..PREFIX + HDR + 8].copy_from_slice(&body.to_le_bytes());
        &mut self.0
    }
}

/// A received message: its header, body word and length.
#[derive(Clone, Copy, Debug)]
pub struct Msg {
    pub hdr: Header,
    /// The word after the header (`Fin`'s receiver CPU time).
    pub body: u64,
    pub len: usize,
}

impl Msg {
    /// Parses a message of `len` bytes from its first [`MIN_MSG`] bytes.
    pub fn parse(start: &[u8], len: usize) -> Option<Msg> {
        let hdr = Header::decode(start)?;
        let body = u64::from_le_bytes(start.get(HDR..MIN_MSG)?.try_into().ok()?);
        Some(Msg { hdr, body, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = Header {
            nonce: 0xdead_beef,
            kind: Kind::Fin,
            pair: 63,
            value: 1 << 40,
        };
        let mut f = Frame::new(64);
        let buf = f.set(h, 77);
        let m = Msg::parse(&buf[PREFIX..], 64).unwrap();
        assert_eq!((m.hdr, m.body, m.len), (h, 77, 64));
        assert!(Msg::parse(&buf[PREFIX..PREFIX + MIN_MSG - 1], 64).is_none());
    }
}
