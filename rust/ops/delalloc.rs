//! Delayed allocation: the disk space a buffered or mmap write needs is
//! reserved when the write dirties a folio, not looked for at writeback.
//!
//! The page cache holds file data long after `write(2)` returned success;
//! by writeback it is too late to say `ENOSPC` (the writer may have closed
//! the file without `fsync` and gone), so without a reservation a full
//! disk dropped data silently. ext4 and btrfs reserve in their write paths
//! for the same reason. Each dirty folio carries the number of blocks
//! reserved for it as its private data (`LockedFolio::reserved`); the core
//! counts the total as used (`Fs::reserve`). Writeback takes a folio's
//! reservation off it and gives it back in the same core call that places
//! the folio's blocks (so they are not counted twice); truncate gives it
//! back when it drops the folio.

use super::sb::{with_fs, writable};
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::{Result, ENOMEM};
use crate::vfs::folio::LockedFolio;
use crate::vfs::shim;
use crate::vfs::vtable::{zeroed, VTable};
use kernel::bindings;

const BS: u64 = BLOCK_SIZE as u64;

/// Reserves the blocks of `f` (a locked folio of `inode`) that a write
/// ending at byte `end` makes dirty and that writeback will add: those
/// up to the end of the file or of the write, whichever is further, and
/// neither on disk nor reserved already.
///
/// # Safety
///
/// `inode` must be a valid inode of ours and `f` one of its folios.
pub(crate) unsafe fn reserve(inode: *mut bindings::inode, f: &LockedFolio, end: u64) -> Result<()> {
    // SAFETY: valid inode (caller).
    let (sb, ino, size) = unsafe { ((*inode).i_sb, (*inode).i_ino as u64, shim::fluffle_i_size_read(inode) as u64) };
    let start = f.pos();
    let stop = core::cmp::min(start + f.size() as u64, core::cmp::max(size, end).div_ceil(BS) * BS);
    if stop <= start {
        return Ok(());
    }
    let held = f.reserved();
    // SAFETY: the super block is mounted while it has inodes.
    let now = unsafe { with_fs(sb, |fs| fs.reserve(ino, start / BS, (stop - start).div_ceil(BS), held)) }?;
    if now > held {
        f.set_reserved(now);
    }
    Ok(())
}

/// Gives back `blocks` reserved by [`reserve`] (after their folio's
/// reservation was taken off it). After a shutdown there is nothing to
/// give back to.
///
/// # Safety
///
/// `sb` must be a mounted super block of ours.
pub(crate) unsafe fn give_back(sb: *mut bindings::super_block, blocks: u64) {
    if blocks > 0 {
        // SAFETY: forwarded from the caller.
        let _ = unsafe {
            with_fs(sb, |fs| {
                fs.unreserve(blocks);
                Ok(())
            })
        };
    }
}

/// `invalidate_folio`: truncate or eviction drops (part of) a folio. A
/// folio dropped whole gives its reservation back; one cut in part stays
/// dirty and keeps it until writeback.
pub(crate) unsafe extern "C" fn invalidate_folio(folio: *mut bindings::folio, offset: usize, len: usize) {
    // SAFETY: the VFS passes a locked folio still in one of our mappings,
    // whose host inode (and super block) are alive.
    unsafe {
        let f = LockedFolio::from_raw(folio);
        if offset == 0 && len >= f.size() {
            let blocks = f.take_reserved();
            give_back((*(*shim::fluffle_folio_mapping(folio)).host).i_sb, blocks);
        }
    }
}

/// `release_folio`: reclaim may free a clean folio. Only dirty folios hold
/// a reservation (writeback takes it off), and giving one back here would
/// take the core mutex inside reclaim: refuse instead.
pub(crate) unsafe extern "C" fn release_folio(folio: *mut bindings::folio, _gfp: bindings::gfp_t) -> bool {
    // SAFETY: the VFS passes a locked folio of ours.
    unsafe { LockedFolio::from_raw(folio).reserved() == 0 }
}

/// `page_mkwrite`: a write fault on a mapped folio makes it dirty, so it
/// reserves its blocks first (as `filemap_page_mkwrite` otherwise); a full
/// disk is `SIGBUS` for the writer, as on ext4.
unsafe extern "C" fn page_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: the VFS passes a write fault on a mapping of one of our files,
    // holding a reference to the faulting folio; we return it locked with
    // VM_FAULT_LOCKED, unlocked otherwise.
    unsafe {
        let file = shim::fluffle_vmf_file(vmf);
        let inode = shim::fluffle_file_inode(file);
        let sb = (*inode).i_sb;
        let folio = shim::fluffle_vmf_folio(vmf);
        shim::fluffle_sb_start_pagefault(sb);
        bindings::file_update_time(file);
        shim::fluffle_folio_lock(folio);
        let f = LockedFolio::from_raw(folio);
        let size = shim::fluffle_i_size_read(inode) as u64;
        let r = if shim::fluffle_folio_mapping(folio) != (*inode).i_mapping || f.pos() >= size {
            // Truncated meanwhile: the fault is retried and finds no folio.
            Err(bindings::vm_fault_reason_VM_FAULT_NOPAGE)
        } else {
            writable(sb)
                .and_then(|()| reserve(inode, &f, core::cmp::min(f.pos() + f.size() as u64, size)))
                .map_err(|e| if e == ENOMEM { bindings::vm_fault_reason_VM_FAULT_OOM } else { bindings::vm_fault_reason_VM_FAULT_SIGBUS })
        };
        let ret = match r {
            Ok(()) => {
                shim::fluffle_folio_mark_dirty(folio);
                shim::folio_wait_stable(folio);
                bindings::vm_fault_reason_VM_FAULT_LOCKED
            }
            Err(code) => {
                f.unlock();
                code
            }
        };
        shim::fluffle_sb_end_pagefault(sb);
        ret
    }
}

/// What a mapping of one of our files does on faults: the kernel's own,
/// but for `page_mkwrite`.
static VM_OPS: VTable<bindings::vm_operations_struct> = VTable(bindings::vm_operations_struct {
    fault: Some(bindings::filemap_fault),
    map_pages: Some(bindings::filemap_map_pages),
    page_mkwrite: Some(page_mkwrite),
    // SAFETY: `vm_operations_struct` is a C struct of function pointers.
    ..unsafe { zeroed() }
});

/// `mmap`: as `generic_file_mmap`, with [`VM_OPS`].
pub(crate) unsafe extern "C" fn mmap(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> kernel::ffi::c_int {
    // SAFETY: the VFS passes an open file of ours and the new mapping.
    unsafe { shim::fluffle_vma_set_ops(file, vma, VM_OPS.get()) };
    0
}
