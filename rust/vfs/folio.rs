//! A locked page-cache folio handed to the filesystem by the VFS.

use super::shim;
use kernel::bindings;

/// A folio the caller holds locked (and a reference to).
///
/// # Invariants
///
/// `ptr` is a valid, locked folio for the lifetime of this value: one or
/// more pages of directly mapped memory (shim.c refuses HIGHMEM), so its
/// address covers all of it.
pub(crate) struct LockedFolio {
    ptr: *mut bindings::folio,
}

impl LockedFolio {
    /// Wraps a folio the VFS passed locked.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid folio that stays locked while the value lives.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::folio) -> Self {
        Self { ptr }
    }

    /// Byte offset of the folio in its file.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: valid folio (type invariant).
        unsafe { shim::fluffle_folio_pos(self.ptr) as u64 }
    }

    /// Size of the folio in bytes.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: valid folio (type invariant).
        unsafe { shim::fluffle_folio_size(self.ptr) }
    }

    /// True if the folio holds the file's current data.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: valid folio (type invariant).
        unsafe { shim::fluffle_folio_test_uptodate(self.ptr) }
    }

    /// Marks the folio's contents valid.
    pub(crate) fn mark_uptodate(&self) {
        // SAFETY: the folio is locked (type invariant), as required.
        unsafe { shim::fluffle_folio_mark_uptodate(self.ptr) }
    }

    /// Blocks reserved on the disk for this dirty folio (delayed
    /// allocation, see `ops/delalloc.rs`): 0 if none.
    pub(crate) fn reserved(&self) -> u64 {
        // SAFETY: valid folio (type invariant); reading `private` is
        // stable while it is locked.
        unsafe { shim::fluffle_folio_reserved(self.ptr) as u64 }
    }

    /// Records that `blocks` (more than 0) are reserved for this folio; it
    /// then holds an extra reference until [`LockedFolio::take_reserved`].
    pub(crate) fn set_reserved(&self, blocks: u64) {
        debug_assert!(blocks > 0);
        // SAFETY: the folio is locked (type invariant), as attaching or
        // changing private data requires.
        unsafe { shim::fluffle_folio_set_reserved(self.ptr, blocks as usize) }
    }

    /// Takes the folio's reservation off it (0 if it had none), for the
    /// caller to give back.
    pub(crate) fn take_reserved(&self) -> u64 {
        // SAFETY: the folio is locked (type invariant), as detaching
        // private data requires.
        unsafe { shim::fluffle_folio_take_reserved(self.ptr) as u64 }
    }

    /// Runs `f` on the folio's bytes.
    pub(crate) fn with_bytes<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let size = self.size();
        // SAFETY: the folio is locked and referenced (type invariant), so its
        // memory stays valid and nobody else writes it while we hold the
        // lock; directly mapped, it is whole at its kmap_local address.
        unsafe {
            let addr = shim::fluffle_kmap_local_folio(self.ptr, 0);
            let r = f(core::slice::from_raw_parts_mut(addr.cast::<u8>(), size));
            shim::fluffle_kunmap_local(addr);
            r
        }
    }

    /// Unlocks the folio, ending this handle.
    pub(crate) fn unlock(self) {
        // SAFETY: the folio is locked by us (type invariant).
        unsafe { shim::fluffle_folio_unlock(self.ptr) }
    }
}
