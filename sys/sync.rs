// SPDX-License-Identifier: GPL-2.0

//! Locks for state that TCP's data-ready callback reaches, which
//! `kernel::sync` of 6.12 lacks: [`SpinLockBh`], a spinlock that keeps
//! softirqs off its CPU while held (`spin_lock_bh()`), and [`TryLock`],
//! which a task waits for and the callback only tries.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::prelude::*;
use kernel::sync::lock::{mutex::MutexBackend, Backend, Guard, Lock};
use kernel::sync::Mutex;

use super::ffi;

/// The backend of [`SpinLockBh`].
pub(crate) struct SpinLockBhBackend;

// SAFETY: A `spinlock_t` excludes other CPUs; softirqs stay off the holder's
// CPU until it unlocks, so a softirq never spins on a lock its CPU holds.
// `relock` is the default, which locks the same way.
unsafe impl Backend for SpinLockBhBackend {
    type State = kernel::bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: Per the trait: `ptr` is valid for writes, `name` and `key`
        // are valid for reads for good.
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: Per the trait: `ptr` is an initialised lock.
        unsafe { ffi::rdsrs_spin_lock_bh(ptr.cast()) }
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: Per the trait: the caller holds the lock at `ptr`.
        unsafe { ffi::rdsrs_spin_unlock_bh(ptr.cast()) }
    }
}

/// A spinlock that softirqs take too: held with softirqs off on its CPU.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// Initialiser of a [`SpinLockBh`] with its own lockdep class, as
/// `kernel::new_spinlock!`.
macro_rules! new_spinlock_bh {
    ($inner:expr, $name:literal) => {
        $crate::sys::sync::SpinLockBh::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_spinlock_bh;

/// Exclusive access to a `T` for tasks, which wait their turn, and for
/// TCP's data-ready callback, which only tries: it runs in softirq context,
/// or inside the `release_sock()` of a task that may hold the lock already.
///
/// # Invariants
///
/// `data` is reached only through a [`TryLockGuard`], and a guard exists
/// only while its owner holds `busy`.
#[pin_data]
pub(crate) struct TryLock<T> {
    /// Tasks queue here, so that they sleep rather than spin on each other.
    #[pin]
    tasks: Mutex<()>,
    busy: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: `TryLock` owns its `T` and hands out access to one owner at a time
// (type invariant), as `Mutex<T>` does.
unsafe impl<T: Send> Send for TryLock<T> {}
// SAFETY: As for `Send`: a shared `TryLock` gives access to `T` only
// through a guard, one guard at a time, and a guard cannot be shared or
// sent to another thread.
unsafe impl<T: Send> Sync for TryLock<T> {}

impl<T> TryLock<T> {
    pub(crate) fn new(data: T) -> impl PinInit<Self> {
        pin_init!(Self {
            tasks <- kernel::new_mutex!((), "TryLock::tasks"),
            busy: AtomicBool::new(false),
            data: UnsafeCell::new(data),
        })
    }

    /// Waits for the lock; task context only. Besides tasks, which wait on
    /// `tasks` first, only the callback holds `busy`, briefly and never
    /// sleeping, so the wait for it is a short spin.
    pub(crate) fn lock(&self) -> TryLockGuard<'_, T> {
        let task = self.tasks.lock();
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            super::cond_resched();
        }
        TryLockGuard {
            lock: self,
            _task: Some(task),
            _not_shared: PhantomData,
        }
    }

    /// Takes the lock if it is free; any context.
    pub(crate) fn try_lock(&self) -> Option<TryLockGuard<'_, T>> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(TryLockGuard {
            lock: self,
            _task: None,
            _not_shared: PhantomData,
        })
    }
}

/// Access to the `T` of a [`TryLock`].
pub(crate) struct TryLockGuard<'a, T> {
    lock: &'a TryLock<T>,
    /// A task's place in the queue, let go after `busy` (field drop order).
    _task: Option<Guard<'a, (), MutexBackend>>,
    /// Neither `Send` nor `Sync`: shared, the guard would give `&T` to two
    /// threads at once, which `T: Send` does not allow.
    _not_shared: PhantomData<*mut ()>,
}

impl<T> Deref for TryLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: This guard holds `busy` (type invariant of `TryLock`).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for TryLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: As in `deref`; `&mut self` makes this the only access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for TryLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.busy.store(false, Ordering::Release);
    }
}
