// SPDX-License-Identifier: GPL-2.0

//! Memory for the bytes of messages.
//!
//! The kernel crate's `KVmalloc` reaches `kvmalloc()` through `kvrealloc()`
//! and `krealloc()`, and frees through them too, even an empty vector: the
//! profile of a 1 KiB stream showed those wrappers at about 3 % of all the
//! guest's instructions, for the two payload buffers each message has. This
//! allocator calls `kvmalloc()` and `kvfree()` directly. Its memory is
//! `kvmalloc()`'s, as `KVmalloc`'s is.

use core::alloc::Layout;
use core::ptr::NonNull;

use kernel::alloc::allocator::KVmalloc;
use kernel::alloc::flags::{__GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL};
use kernel::alloc::{AllocError, Allocator, Flags};

use super::ffi;

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
