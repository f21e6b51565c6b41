// SPDX-License-Identifier: GPL-2.0

//! Memory for the bytes of messages: [`Bytes`], and the page fragments of
//! small messages to send ([`Frag`]).
//!
//! The kernel crate's `KVmalloc` reaches `kvmalloc()` through `kvrealloc()`
//! and `krealloc()`, and frees through them too, even an empty vector: the
//! profile of a 1 KiB stream showed those wrappers at about 3 % of all the
//! guest's instructions, for the two payload buffers each message has. This
//! allocator calls `kvmalloc()` and `kvfree()` directly. Its memory is
//! `kvmalloc()`'s, as `KVmalloc`'s is.

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, Ordering};

use kernel::alloc::allocator::KVmalloc;
use kernel::alloc::flags::{__GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL};
use kernel::alloc::{AllocError, Allocator, Flags};
use kernel::prelude::*;

use super::ffi;
use crate::proto::header::HEADER_LEN;

/// A message's bytes (payload, congestion map).
pub(crate) type Bytes = kernel::alloc::Vec<u8, MsgAlloc>;

/// `kvmalloc()` and `kvfree()` for [`Bytes`].
pub(crate) struct MsgAlloc;

/// The alignment `kvmalloc()` gives at least (`ARCH_KMALLOC_MINALIGN`).
const MIN_ALIGN: usize = core::mem::align_of::<u64>();

impl MsgAlloc {
    /// The flags this allocator passes on: whether they are the atomic ones
    /// the module uses, the others the task's; `None` for any other flags.
    fn atomic(flags: Flags) -> Option<bool> {
        if flags == GFP_KERNEL {
            Some(false)
        } else if flags == GFP_ATOMIC | __GFP_NOWARN {
            Some(true)
        } else {
            None
        }
    }
}

// SAFETY: Memory comes from `kvmalloc()` (here or, for other flags, from
// `KVmalloc`, which uses it too) with at least `layout.size()` bytes, aligned
// to `MIN_ALIGN` and so to `layout.align()`, which is checked; it stays valid
// until `kvfree()` in `free` or `realloc`, which accept memory of either.
unsafe impl Allocator for MsgAlloc {
    unsafe fn realloc(
        ptr: Option<NonNull<u8>>,
        layout: Layout,
        old_layout: Layout,
        flags: Flags,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if layout.align() > MIN_ALIGN {
            return Err(AllocError);
        }
        // An empty allocation is a dangling pointer, never passed to C.
        let old = ptr.filter(|_| old_layout.size() != 0);
        if layout.size() == 0 {
            if let Some(p) = old {
                // SAFETY: `p` came from `kvmalloc()` and is freed once: the
                // caller gives it up.
                unsafe { ffi::rdsrs_kvfree(p.as_ptr().cast()) };
            }
            let dangling = NonNull::new(layout.align() as *mut u8).ok_or(AllocError)?;
            return Ok(NonNull::slice_from_raw_parts(dangling, 0));
        }
        let Some(atomic) = Self::atomic(flags) else {
            // SAFETY: As this function's requirements.
            return unsafe { KVmalloc::realloc(old, layout, old_layout, flags) };
        };
        // CAST: `usize` and `unsigned long` have the same width here.
        let raw = match old {
            // SAFETY: Nothing is required of a new allocation.
            None => unsafe { ffi::rdsrs_kvmalloc(layout.size() as _, atomic) },
            // SAFETY: `p` came from `kvmalloc()` with `old_layout`; the
            // caller gives it up if this succeeds.
            Some(p) => unsafe {
                ffi::rdsrs_kvrealloc(p.as_ptr().cast(), layout.size() as _, atomic)
            },
        };
        let p = NonNull::new(raw.cast::<u8>()).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(p, layout.size()))
    }

    unsafe fn free(ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: `ptr` came from `kvmalloc()` (the caller's requirement)
            // and is not used after this.
            unsafe { ffi::rdsrs_kvfree(ptr.as_ptr().cast()) };
        }
    }
}

/// A [`Bytes`] with room for `cap` bytes: [`kernel::alloc::Vec::with_capacity`]
/// without the arithmetic of growing a vector, which the profile showed on
/// every message.
pub(crate) fn with_capacity(cap: usize, flags: Flags) -> Result<Bytes, AllocError> {
    if cap == 0 {
        return Ok(Bytes::new());
    }
    // At most `isize::MAX` bytes, or an error.
    let layout = Layout::array::<u8>(cap).map_err(|_| AllocError)?;
    let p = MsgAlloc::alloc(layout, flags)?;
    // SAFETY: `p` was allocated with `MsgAlloc` for `cap` bytes, at most
    // `isize::MAX`; bytes need no alignment; the length, 0, leaves nothing
    // to be initialised.
    Ok(unsafe { Bytes::from_raw_parts(p.cast::<u8>().as_ptr(), 0, cap) })
}

/// A message to send, in page-fragment memory: room for its RDS header,
/// then its payload. TCP takes references to the pages instead of copying
/// the bytes (`MSG_SPLICE_PAGES`), as upstream's `rds_tcp_xmit()` hands TCP
/// a message's pages; see [`super::tcp::TcpSock::send_frag`].
///
/// # Invariants
///
/// `ptr` is `HEADER_LEN + len` bytes from `rdsrs_frag_alloc()`, freed only by
/// `drop`. The payload, at `HEADER_LEN`, is written only before the `Frag`
/// is made. The header is written only while `state` is `WRITING`, which
/// it is for one writer at a time, and never once it is `GIVEN`: from then
/// on TCP may read it.
pub(crate) struct Frag {
    ptr: NonNull<u8>,
    len: usize,
    state: AtomicU8,
}

/// `Frag::state`: no header yet.
const EMPTY: u8 = 0;
/// `Frag::state`: the header is being written.
const WRITING: u8 = 1;
/// `Frag::state`: the header is written; TCP has nothing yet.
const READY: u8 = 2;
/// `Frag::state`: given to TCP, which may hold references to any of it.
const GIVEN: u8 = 3;

// SAFETY: The memory is owned by the `Frag`, not tied to a context: shared
// references read the payload, and the header is written by one context at
// a time, guarded by `state` (type invariant).
unsafe impl Send for Frag {}
// SAFETY: As for `Send`.
unsafe impl Sync for Frag {}

impl Frag {
    /// Memory for a message of `len` payload bytes, filled by `fill`; `None`
    /// if it does not fit in a page fragment or there is none, `Err` as
    /// `fill` fails.
    pub(super) fn new(len: usize, fill: impl FnOnce(&mut [u8]) -> Result) -> Result<Option<Self>> {
        let total = match HEADER_LEN.checked_add(len) {
            Some(t) if t <= kernel::page::PAGE_SIZE => t as u32,
            _ => return Ok(None),
        };
        // SAFETY: Nothing is required. CAST: at most a page.
        let Some(ptr) = NonNull::new(unsafe { ffi::rdsrs_frag_alloc(total) }.cast::<u8>()) else {
            return Ok(None);
        };
        // INVARIANT: `total` bytes from `rdsrs_frag_alloc()`; the payload is
        // written here, before the `Frag` is shared.
        let frag = Frag {
            ptr,
            len,
            state: AtomicU8::new(EMPTY),
        };
        // SAFETY: The payload's `len` bytes lie within the allocation (type
        // invariant) and nothing else refers to them yet.
        let payload = unsafe { core::slice::from_raw_parts_mut(ptr.as_ptr().add(HEADER_LEN), len) };
        fill(payload)?;
        Ok(Some(frag))
    }

    /// The payload.
    pub(crate) fn payload(&self) -> &[u8] {
        // SAFETY: `len` bytes at `HEADER_LEN` within the allocation, never
        // written after `new()` (type invariant).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr().add(HEADER_LEN), self.len) }
    }

    /// Writes the header unless TCP was given the memory (or another
    /// context is writing it); returns whether it did.
    pub(super) fn set_header(&self, hdr: &[u8; HEADER_LEN]) -> bool {
        let claimed = [EMPTY, READY].into_iter().any(|from| {
            self.state
                .compare_exchange(from, WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        });
        if !claimed {
            return false;
        }
        // SAFETY: `HEADER_LEN` bytes at the start of the allocation, which
        // this context alone writes while `state` is `WRITING` and TCP does
        // not read before it is `GIVEN` (type invariant).
        unsafe { core::ptr::copy_nonoverlapping(hdr.as_ptr(), self.ptr.as_ptr(), HEADER_LEN) };
        self.state.store(READY, Ordering::Release);
        true
    }

    /// The header and payload from byte `off` on, for TCP to take
    /// references to: `None` unless the header is written. From now on it is
    /// never written again.
    pub(super) fn give(&self, off: usize) -> Option<(*const u8, usize)> {
        let given = self.state.load(Ordering::Acquire) == GIVEN
            || self
                .state
                .compare_exchange(READY, GIVEN, Ordering::Acquire, Ordering::Relaxed)
                .is_ok();
        let total = HEADER_LEN + self.len;
        if !given || off > total {
            return None;
        }
        // Within the allocation, as just checked.
        Some((
            self.ptr.as_ptr().wrapping_add(off).cast_const(),
            total - off,
        ))
    }
}

impl Drop for Frag {
    fn drop(&mut self) {
        // SAFETY: From `rdsrs_frag_alloc()` (type invariant); TCP holds
        // references of its own to the pages it was given.
        unsafe { ffi::rdsrs_frag_free(self.ptr.as_ptr().cast()) };
    }
}

/// The bytes of a message to send: the payload, in page-fragment memory
/// with room for the header if it is small enough (a page) and there is
/// some, else in [`Bytes`].
pub(crate) enum SendBuf {
    /// In memory of ours; TCP copies it.
    Flat(Bytes),
    /// In page fragments TCP takes references to.
    Frag(Frag),
}

impl SendBuf {
    /// The payload.
    pub(crate) fn payload(&self) -> &[u8] {
        match self {
            SendBuf::Flat(b) => b,
            SendBuf::Frag(f) => f.payload(),
        }
    }

    /// The payload's length.
    pub(crate) fn len(&self) -> usize {
        self.payload().len()
    }

    /// The page fragments, if the payload is in some.
    pub(crate) fn frag(&self) -> Option<&Frag> {
        match self {
            SendBuf::Flat(_) => None,
            SendBuf::Frag(f) => Some(f),
        }
    }
}
