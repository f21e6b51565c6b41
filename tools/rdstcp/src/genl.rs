// SPDX-License-Identifier: GPL-2.0

//! A generic netlink client for the `rds_tcp` family over neli's
//! synchronous socket: family and group lookup, requests with extended acks,
//! multi-part dumps, and typed reads of attribute payloads.
//!
//! neli's `NlRouter` is not used: its error path drops the extended ack
//! (`Nlmsgerr::to_typed()` in neli 0.7), and the kernel's message naming the
//! bad attribute is what `rdstcp set` has to show.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::NlFamily;
use neli::err::{Nlmsgerr, NlmsghdrErr, SocketError};
use neli::genl::{
    AttrTypeBuilder, GenlAttrHandle, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder,
};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;
use neli::{Size, ToBytes};

use crate::uapi::{RDS_TCP_GENL_NAME, RDS_TCP_GENL_VERSION};

/// A generic netlink message as neli parses it: command, then attributes.
pub type Msg = Genlmsghdr<u8, u16>;
/// The attributes of a message or of a nest.
pub type Attrs<'a> = GenlAttrHandle<'a, u16>;

// include/uapi/linux/genetlink.h: the controller family.
const GENL_ID_CTRL: u16 = libc::GENL_ID_CTRL as u16;
const CTRL_CMD_GETFAMILY: u8 = libc::CTRL_CMD_GETFAMILY as u8;
const CTRL_VERSION: u8 = 2;
const CTRL_ATTR_FAMILY_ID: u16 = libc::CTRL_ATTR_FAMILY_ID as u16;
const CTRL_ATTR_FAMILY_NAME: u16 = libc::CTRL_ATTR_FAMILY_NAME as u16;
const CTRL_ATTR_MCAST_GROUPS: u16 = libc::CTRL_ATTR_MCAST_GROUPS as u16;
const CTRL_ATTR_MCAST_GRP_NAME: u16 = libc::CTRL_ATTR_MCAST_GRP_NAME as u16;
const CTRL_ATTR_MCAST_GRP_ID: u16 = libc::CTRL_ATTR_MCAST_GRP_ID as u16;
// include/uapi/linux/netlink.h: NLMSGERR_ATTR_MISS_TYPE, newer than neli's enum.
const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;

/// An error the kernel answered a request with, and what its extended ack
/// says.
#[derive(Debug)]
pub struct NlError {
    pub errno: i32,
    /// The extack message (NL_SET_ERR_MSG).
    pub msg: Option<String>,
    /// Name of the request attribute the extack points at.
    pub attr: Option<String>,
    /// Name of a missing attribute (NLMSGERR_ATTR_MISS_TYPE).
    pub missing: Option<String>,
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(a) = &self.attr {
            write!(f, "{a}: ")?;
        }
        match &self.msg {
            Some(m) => write!(f, "{m} ({})", io::Error::from_raw_os_error(self.errno))?,
            None => write!(f, "{}", io::Error::from_raw_os_error(self.errno))?,
        }
        if let Some(m) = &self.missing {
            write!(f, " (missing attribute {m})")?;
        }
        Ok(())
    }
}

impl std::error::Error for NlError {}

/// A request: a command and its attributes, with names for error messages.
pub struct Request {
    cmd: u8,
    attrs: GenlBuffer<u16, Buffer>,
    names: Vec<(u16, &'static str)>,
}

impl Request {
    pub fn new(cmd: u8) -> Request {
        Request {
            cmd,
            attrs: GenlBuffer::new(),
            names: Vec::new(),
        }
    }

    /// Adds attribute `t` with payload `p` (host byte order for integers);
    /// `name` is how errors about it are reported.
    pub fn attr<P: Size + ToBytes>(mut self, t: u16, name: &'static str, p: P) -> Result<Request> {
        let attr = NlattrBuilder::default()
            .nla_type(AttrTypeBuilder::default().nla_type(t).build()?)
            .nla_payload(p)
            .build()?;
        self.attrs.push(attr);
        self.names.push((t, name));
        Ok(self)
    }

    /// The name of the attribute at byte `offset` of the request as sent
    /// (netlink header, genetlink header, then the attributes in order).
    fn attr_at(&self, offset: u32) -> Option<String> {
        let mut at = 16 + 4;
        for a in self.attrs.iter() {
            let len = (*a.nla_len() as u32 + 3) & !3;
            if (at..at + len).contains(&offset) {
                return Some(self.name_of(*a.nla_type().nla_type()));
            }
            at += len;
        }
        None
    }

    fn name_of(&self, t: u16) -> String {
        match self.names.iter().find(|(n, _)| *n == t) {
            Some((_, name)) => name.to_string(),
            None => format!("attribute {t}"),
        }
    }
}

/// A generic netlink socket talking to one family.
pub struct Genl {
    sock: NlSocketHandle,
    family: u16,
    version: u8,
    groups: Vec<(String, u32)>,
    seq: u32,
}

/// Replies to a dump, and whether the kernel flagged it inconsistent
/// (NLM_F_DUMP_INTR: the set of objects changed during the dump).
pub struct Dump {
    pub msgs: Vec<Msg>,
    pub interrupted: bool,
}

impl Genl {
    /// Opens a socket and looks the `rds_tcp` family up.
    pub fn open() -> Result<Genl> {
        Genl::open_family(RDS_TCP_GENL_NAME, RDS_TCP_GENL_VERSION).map_err(|e| {
            if e.downcast_ref::<NlError>()
                .is_some_and(|e| e.errno == libc::ENOENT)
            {
                anyhow!("{RDS_TCP_GENL_NAME} generic netlink family not found: is rds_rs loaded?")
            } else {
                e.context(format!("looking up the {RDS_TCP_GENL_NAME} family"))
            }
        })
    }

    /// Opens a socket for family `name`, whose requests carry `version`.
    pub fn open_family(name: &str, version: u8) -> Result<Genl> {
        let sock = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
            .context("opening a generic netlink socket")?;
        sock.enable_ext_ack(true)
            .context("enabling extended acks")?;
        let mut genl = Genl {
            sock,
            family: GENL_ID_CTRL,
            version: CTRL_VERSION,
            groups: Vec::new(),
            seq: 0,
        };
        let req =
            Request::new(CTRL_CMD_GETFAMILY).attr(CTRL_ATTR_FAMILY_NAME, "family name", name)?;
        let reply = genl.transact(req, false)?;
        let msg = reply
            .msgs
            .first()
            .ok_or_else(|| anyhow!("no reply to the family lookup"))?;
        let attrs = msg.attrs().get_attr_handle();
        let family = u16_of(&attrs, CTRL_ATTR_FAMILY_ID)?
            .ok_or_else(|| anyhow!("the family lookup gave no family id"))?;
        if let Some(groups) = attrs.get_attribute(CTRL_ATTR_MCAST_GROUPS) {
            for g in nested(groups)?.iter() {
                let g = nested(g)?;
                let name = g
                    .get_attribute(CTRL_ATTR_MCAST_GRP_NAME)
                    .map(|a| string_of(a.nla_payload().as_ref()));
                if let (Some(name), Some(id)) = (name, u32_of(&g, CTRL_ATTR_MCAST_GRP_ID)?) {
                    genl.groups.push((name, id));
                }
            }
        }
        (genl.family, genl.version) = (family, version);
        Ok(genl)
    }

    /// Sends a request and waits for its acknowledgement, returning any
    /// reply messages before it.
    pub fn request(&mut self, req: Request) -> Result<Vec<Msg>> {
        Ok(self.transact(req, false)?.msgs)
    }

    /// Dumps: sends `req` with NLM_F_DUMP and gathers every message.
    pub fn dump(&mut self, req: Request) -> Result<Dump> {
        self.transact(req, true)
    }

    /// Joins multicast group `name` of the family.
    pub fn join(&mut self, name: &str) -> Result<()> {
        let id = self
            .groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| anyhow!("the {RDS_TCP_GENL_NAME} family has no {name:?} group"))?;
        self.sock
            .add_mcast_membership(Groups::new_groups(&[id]))
            .with_context(|| format!("joining group {name}"))
    }

    /// Waits up to `timeout` (for ever if None) for multicast messages of
    /// the family; Ok(None) on timeout. Err(NotifyError::Lost) when the
    /// socket overran and events were dropped.
    pub fn next_notifications(
        &mut self,
        timeout: Option<Duration>,
    ) -> std::result::Result<Option<Vec<Msg>>, NotifyError> {
        if !crate::rds::poll_in(self.sock.as_raw_fd(), timeout).map_err(NotifyError::Io)? {
            return Ok(None);
        }
        let (iter, _) = match self.sock.recv::<u16, Msg>() {
            Ok(r) => r,
            Err(SocketError::Io(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                return Err(NotifyError::Lost)
            }
            Err(e) => return Err(NotifyError::Other(e.into())),
        };
        let mut out = Vec::new();
        for m in iter {
            let m = m.map_err(|e| NotifyError::Other(e.into()))?;
            if *m.nl_type() != self.family {
                continue;
            }
            if let NlPayload::Payload(p) = m.nl_payload() {
                out.push(p.clone());
            }
        }
        Ok(Some(out))
    }

    fn transact(&mut self, req: Request, dump: bool) -> Result<Dump> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let flags = if dump {
            NlmF::REQUEST | NlmF::DUMP
        } else {
            NlmF::REQUEST | NlmF::ACK
        };
        let genl: Msg = GenlmsghdrBuilder::default()
            .cmd(req.cmd)
            .version(self.version)
            .attrs(req.attrs.clone())
            .build()?;
        let msg = NlmsghdrBuilder::default()
            .nl_type(self.family)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_pid(0)
            .nl_payload(NlPayload::Payload(genl))
            .build()?;
        self.sock.send(&msg).context("sending a netlink request")?;

        let pid = self.sock.pid();
        let mut out = Dump {
            msgs: Vec::new(),
            interrupted: false,
        };
        loop {
            let (iter, _) = self
                .sock
                .recv::<u16, Msg>()
                .context("receiving a netlink reply")?;
            for m in iter {
                let m = m.context("parsing a netlink reply")?;
                if *m.nl_seq() != seq || *m.nl_pid() != pid {
                    continue; // A multicast message, or a stale reply.
                }
                if m.nl_flags().contains(NlmF::DUMP_INTR) {
                    out.interrupted = true;
                }
                match m.nl_payload() {
                    NlPayload::Payload(p) => out.msgs.push(p.clone()),
                    NlPayload::Ack(_) => return Ok(out),
                    NlPayload::Err(e) => return Err(nl_error(e, &req).into()),
                    NlPayload::DumpExtAck(e) if *e.error() != 0 => {
                        let ext: &GenlBuffer<NlmsgerrAttr, Buffer> = e.ext_ack();
                        return Err(error_from(*e.error(), ext, &req).into());
                    }
                    NlPayload::DumpExtAck(_) | NlPayload::Empty => return Ok(out),
                }
            }
        }
    }
}

/// Why no notification came.
#[derive(Debug)]
pub enum NotifyError {
    /// The socket's receive buffer overran: events were dropped.
    Lost,
    Io(io::Error),
    Other(anyhow::Error),
}

fn nl_error(e: &Nlmsgerr<NlmsghdrErr<u16, Msg>>, req: &Request) -> NlError {
    error_from(*e.error(), e.ext_ack(), req)
}

fn error_from(error: i32, ext: &GenlBuffer<NlmsgerrAttr, Buffer>, req: &Request) -> NlError {
    let mut err = NlError {
        errno: -error,
        msg: None,
        attr: None,
        missing: None,
    };
    for a in ext.iter() {
        let payload = a.nla_payload().as_ref();
        match a.nla_type().nla_type() {
            NlmsgerrAttr::Msg => err.msg = Some(string_of(payload)),
            NlmsgerrAttr::Offset => {
                if let Ok(b) = payload.try_into() {
                    err.attr = req.attr_at(u32::from_ne_bytes(b));
                }
            }
            other if u16::from(other) == NLMSGERR_ATTR_MISS_TYPE => {
                if let Ok(b) = payload.try_into() {
                    err.missing = Some(req.name_of(u32::from_ne_bytes(b) as u16));
                }
            }
            _ => {}
        }
    }
    err
}

/// A NUL-terminated (or not) string payload.
pub fn string_of(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The attributes nested in `a`.
pub fn nested(a: &Nlattr<u16, Buffer>) -> Result<Attrs<'_>> {
    a.get_attr_handle::<u16>().map_err(|e| {
        anyhow!(
            "malformed nested attribute {}: {e}",
            a.nla_type().nla_type()
        )
    })
}

fn fixed<const N: usize>(attrs: &Attrs, t: u16) -> Result<Option<[u8; N]>> {
    match attrs.get_attribute(t) {
        None => Ok(None),
        Some(a) => {
            let b = a.nla_payload().as_ref();
            b.get(..N)
                .and_then(|b| b.try_into().ok())
                .map(Some)
                .ok_or_else(|| anyhow!("attribute {t}: {} bytes, expected {N}", b.len()))
        }
    }
}

pub fn u8_of(attrs: &Attrs, t: u16) -> Result<Option<u8>> {
    Ok(fixed::<1>(attrs, t)?.map(|b| b[0]))
}

pub fn u16_of(attrs: &Attrs, t: u16) -> Result<Option<u16>> {
    Ok(fixed::<2>(attrs, t)?.map(u16::from_ne_bytes))
}

pub fn u32_of(attrs: &Attrs, t: u16) -> Result<Option<u32>> {
    Ok(fixed::<4>(attrs, t)?.map(u32::from_ne_bytes))
}

/// An NLA_UINT: 4 or 8 bytes.
pub fn uint_of(attrs: &Attrs, t: u16) -> Result<Option<u64>> {
    match attrs.get_attribute(t) {
        None => Ok(None),
        Some(a) => {
            let b = a.nla_payload().as_ref();
            match b.len() {
                4 => Ok(Some(u32::from_ne_bytes(b.try_into().unwrap()) as u64)),
                8 => Ok(Some(u64::from_ne_bytes(b.try_into().unwrap()))),
                n => bail!("attribute {t}: uint of {n} bytes"),
            }
        }
    }
}

pub fn flag_of(attrs: &Attrs, t: u16) -> bool {
    attrs.get_attribute(t).is_some()
}

pub fn bytes_of<'a>(attrs: &'a Attrs, t: u16) -> Option<&'a [u8]> {
    attrs.get_attribute(t).map(|a| a.nla_payload().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extack_offsets_name_attributes() {
        let req = Request::new(2)
            .attr(1, "tcp-sndbuf", 5u32)
            .unwrap()
            .attr(6, "ping-enable", 1u8)
            .unwrap()
            .attr(7, "stall-ms", 9u32)
            .unwrap();
        // Headers take 20 bytes, then 8 bytes per attribute here.
        assert_eq!(req.attr_at(20).as_deref(), Some("tcp-sndbuf"));
        assert_eq!(req.attr_at(28).as_deref(), Some("ping-enable"));
        assert_eq!(req.attr_at(36).as_deref(), Some("stall-ms"));
        assert_eq!(req.attr_at(44), None);
        let e = NlError {
            errno: libc::EINVAL,
            msg: Some("integer out of range".into()),
            attr: req.attr_at(36),
            missing: None,
        };
        assert_eq!(
            e.to_string(),
            format!(
                "stall-ms: integer out of range ({})",
                io::Error::from_raw_os_error(libc::EINVAL)
            )
        );
    }

    /// Against the kernel's own controller family, when this process may
    /// open netlink sockets: a dump, a refused request whose extended ack
    /// names the attribute, and a missing family.
    #[test]
    fn talks_to_nlctrl() {
        let mut genl = match Genl::open_family("nlctrl", CTRL_VERSION) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("skipped: no generic netlink here: {e:#}");
                return;
            }
        };
        assert!(genl.groups.iter().any(|(n, _)| n == "notify"));
        let d = genl.dump(Request::new(CTRL_CMD_GETFAMILY)).unwrap();
        let names: Vec<String> = d
            .msgs
            .iter()
            .filter_map(|m| {
                let a = m.attrs().get_attr_handle();
                bytes_of(&a, CTRL_ATTR_FAMILY_NAME).map(string_of)
            })
            .collect();
        assert!(names.iter().any(|n| n == "nlctrl"), "{names:?}");

        // CTRL_ATTR_FAMILY_NAME is at most GENL_NAMSIZ - 1 bytes.
        let long = "x".repeat(40);
        let req = Request::new(CTRL_CMD_GETFAMILY)
            .attr(CTRL_ATTR_FAMILY_NAME, "family name", long.as_str())
            .unwrap();
        let err = genl.request(req).unwrap_err();
        let nl = err.downcast_ref::<NlError>().expect("an NlError");
        assert_eq!(nl.errno, libc::EINVAL, "{nl}");
        assert_eq!(nl.attr.as_deref(), Some("family name"), "{nl}");

        let err = Genl::open_family("no-such-family", 1).err().unwrap();
        let nl = err.downcast_ref::<NlError>().expect("an NlError");
        assert_eq!(nl.errno, libc::ENOENT);
    }
}
