//! `fallocate`, `llseek` with `SEEK_DATA`/`SEEK_HOLE`, and `fiemap`: the
//! page cache is brought in step, then the core answers from its block map
//! (`fluffle/fallocate.rs`).
//!
//! The core knows only what reached it, so each of these first writes back
//! the kernel's dirty folios of the range it looks at (delayed allocation
//! places them then; the core's own dirty pages count as data, or as
//! `FIEMAP_EXTENT_DELALLOC`). Punching or zeroing holds the inode lock and
//! the mapping's invalidate lock (no read, fault or write can bring a folio
//! of the range back meanwhile), writes the range back, changes the core,
//! then drops the range from the page cache (`truncate_pagecache_range`
//! zeroes the partial folios at its ends, as the core did its blocks).
//! FIEMAP hands the extents to user space outside the core's mutex (a copy
//! to user memory may fault, into this filesystem too), a batch at a time.

use super::inode;
use super::sb::with_fs;
use crate::fluffle::errno::{Errno, EOPNOTSUPP, ENXIO};
use crate::fluffle::fallocate::{ExtentKind, FiemapExtent, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE};
use crate::fluffle::mem::FVec;
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::{c_int, c_long};

/// `FIEMAP_FLAG_SYNC` (uapi/linux/fiemap.h, not among the bound headers).
const FIEMAP_FLAG_SYNC: u32 = 0x1;
/// `FIEMAP_EXTENT_LAST`.
const FIEMAP_EXTENT_LAST: u32 = 0x1;
/// `FIEMAP_EXTENT_UNKNOWN`: no location.
const FIEMAP_EXTENT_UNKNOWN: u32 = 0x2;
/// `FIEMAP_EXTENT_DELALLOC` (`fiemap_fill_next_extent` adds UNKNOWN).
const FIEMAP_EXTENT_DELALLOC: u32 = 0x4;
/// `FIEMAP_EXTENT_DATA_INLINE` (`fiemap_fill_next_extent` adds NOT_ALIGNED).
const FIEMAP_EXTENT_DATA_INLINE: u32 = 0x200;
/// `FIEMAP_EXTENT_UNWRITTEN`.
const FIEMAP_EXTENT_UNWRITTEN: u32 = 0x800;
/// Extents the core hands over per call.
const FIEMAP_BATCH: usize = 32;

#[allow(improper_ctypes)]
extern "C" {
    /// `fs/ioctl.c` (linux/fiemap.h is not among the bound headers).
    fn fiemap_prep(
        inode: *mut bindings::inode,
        info: *mut bindings::fiemap_extent_info,
        start: u64,
        len: *mut u64,
        supported: u32,
    ) -> c_int;
    /// `fs/ioctl.c`: copies one extent to user space; 1 when the array is
    /// full (or this was the last extent asked for).
    fn fiemap_fill_next_extent(info: *mut bindings::fiemap_extent_info, logical: u64, phys: u64, len: u64, flags: u32) -> c_int;
}

fn neg(e: Errno) -> c_int {
    -e.0
}

/// `file_operations.fallocate`. The VFS checked the file (regular, open
/// for writing, not append-only or immutable), the range (offset >= 0,
/// len > 0, within `s_maxbytes`) and the mode combinations it knows
/// (PUNCH_HOLE needs KEEP_SIZE; COLLAPSE/INSERT/ZERO exclusive).
pub(crate) unsafe extern "C" fn fallocate(file: *mut bindings::file, mode: c_int, offset: i64, len: i64) -> c_long {
    let mode = mode as u32;
    if mode & !(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
        return neg(EOPNOTSUPP) as c_long;
    }
    // SAFETY: the VFS passes an open regular file of ours, with a write
    // reference held (`file_start_write`) for the call.
    unsafe {
        let inode = shim::fluffle_file_inode(file);
        let mapping = (*inode).i_mapping;
        bindings::down_write(&mut (*inode).i_rwsem);
        let rc = fallocate_locked(file, inode, mapping, mode, offset, len);
        bindings::up_write(&mut (*inode).i_rwsem);
        rc as c_long
    }
}

/// [`fallocate`] under the inode lock.
///
/// # Safety
///
/// As [`fallocate`], with `inode` (the file's) locked exclusively.
unsafe fn fallocate_locked(
    file: *mut bindings::file,
    inode: *mut bindings::inode,
    mapping: *mut bindings::address_space,
    mode: u32,
    offset: i64,
    len: i64,
) -> c_int {
    let zap = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0;
    let last = offset.saturating_add(len).saturating_sub(1);
    // SAFETY: guaranteed by the caller.
    unsafe {
        // Drops setuid/setgid and stamps mtime/ctime, as on ext4.
        let rc = bindings::file_modified(file);
        if rc != 0 {
            return rc;
        }
        bindings::inode_dio_wait(inode);
        bindings::down_write(&mut (*mapping).invalidate_lock);
        // The range's dirty folios reach the core first: writeback must not
        // map blocks behind a punch, nor count a reserved block twice.
        let mut rc = shim::filemap_write_and_wait_range(mapping, offset, last);
        if rc == 0 {
            let ino = (*inode).i_ino as u64;
            let r = with_fs((*inode).i_sb, |fs| {
                fs.fallocate(ino, mode, offset as u64, len as u64)?;
                fs.getattr(ino)
            });
            if zap {
                // Whole folios go (they read back from the core), partial
                // ones at the ends are zeroed in place like the core's
                // blocks; done even after a failure, which may have
                // changed part of the range.
                bindings::truncate_pagecache_range(inode, offset, last);
            }
            rc = match r {
                Ok(a) => {
                    if a.size as i64 > shim::fluffle_i_size_read(inode) {
                        bindings::truncate_setsize(inode, a.size as i64);
                    }
                    (*inode).i_blocks = a.blocks;
                    // The VFS's times (file_modified) and mode are the ones
                    // that count: the core takes them.
                    match inode::push_attrs(inode) {
                        Ok(()) => 0,
                        Err(e) => neg(e),
                    }
                }
                Err(e) => neg(e),
            };
        }
        bindings::up_write(&mut (*mapping).invalidate_lock);
        rc
    }
}

/// `file_operations.llseek`: `SEEK_DATA` and `SEEK_HOLE` from the core's
/// block map, the rest generic.
pub(crate) unsafe extern "C" fn llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
    let w = whence as u32;
    if w != bindings::SEEK_DATA && w != bindings::SEEK_HOLE {
        // SAFETY: the VFS passes an open file of ours.
        return unsafe { bindings::generic_file_llseek(file, offset, whence) };
    }
    // SAFETY: the VFS passes an open regular file of ours.
    unsafe {
        let inode = shim::fluffle_file_inode(file);
        bindings::down_read(&mut (*inode).i_rwsem);
        let r = seek_locked(inode, offset, w == bindings::SEEK_DATA);
        bindings::up_read(&mut (*inode).i_rwsem);
        match r {
            Ok(pos) => bindings::vfs_setpos(file, pos, (*(*inode).i_sb).s_maxbytes),
            Err(rc) => rc as i64,
        }
    }
}

/// The offset `SEEK_DATA` (`data`) or `SEEK_HOLE` finds from `offset`, or
/// the negative errno.
///
/// # Safety
///
/// `inode` must be a regular-file inode of ours, locked (shared at least).
unsafe fn seek_locked(inode: *mut bindings::inode, offset: i64, data: bool) -> Result<i64, c_int> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let size = shim::fluffle_i_size_read(inode);
        if offset < 0 || offset >= size {
            return Err(neg(ENXIO));
        }
        // Dirty data from `offset` on is placed in the core first.
        let rc = shim::filemap_write_and_wait_range((*inode).i_mapping, offset, i64::MAX);
        if rc != 0 {
            return Err(rc);
        }
        let ino = (*inode).i_ino as u64;
        let r = with_fs((*inode).i_sb, |fs| if data { fs.seek_data(ino, offset as u64) } else { fs.seek_hole(ino, offset as u64) });
        match r {
            Ok(pos) if data && pos as i64 >= size => Err(neg(ENXIO)),
            Ok(pos) => Ok(core::cmp::min(pos as i64, size)),
            // The implicit hole at the end of the file.
            Err(ENXIO) if !data => Ok(size),
            Err(e) => Err(neg(e)),
        }
    }
}

/// FIEMAP flags of a core extent.
fn flags_of(e: &FiemapExtent) -> u32 {
    let kind = match e.kind {
        ExtentKind::Mapped => 0,
        ExtentKind::Delalloc => FIEMAP_EXTENT_DELALLOC,
        ExtentKind::Unwritten => FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_UNKNOWN,
        ExtentKind::Inline if e.physical == 0 => FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_UNKNOWN,
        ExtentKind::Inline => FIEMAP_EXTENT_DATA_INLINE,
    };
    if e.last {
        kind | FIEMAP_EXTENT_LAST
    } else {
        kind
    }
}

/// `inode_operations.fiemap` of regular files: their extents with the
/// device's LBAs (bytes = LBA * 4096), the core's dirty pages as
/// DELALLOC, `fallocate` reservations as UNWRITTEN, a small file's data as
/// DATA_INLINE.
pub(crate) unsafe extern "C" fn fiemap(
    inode: *mut bindings::inode,
    info: *mut bindings::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    // SAFETY: the VFS passes an inode of ours and the request, whose user
    // array only `fiemap_fill_next_extent` touches.
    unsafe {
        let mut len = len;
        let rc = fiemap_prep(inode, info, start, &mut len, FIEMAP_FLAG_SYNC);
        if rc != 0 {
            return rc;
        }
        // Delayed allocations are placed first (FIEMAP_FLAG_SYNC or not):
        // the kernel's dirty folios have no place the core could name.
        let rc = shim::filemap_write_and_wait_range((*inode).i_mapping, 0, i64::MAX);
        if rc != 0 {
            return rc;
        }
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        let end = start.saturating_add(len);
        let mut at = start;
        let mut batch: FVec<FiemapExtent> = FVec::new();
        while at < end {
            if let Err(e) = with_fs(sb, |fs| fs.fiemap(ino, at, end - at, FIEMAP_BATCH, &mut batch)) {
                return neg(e);
            }
            for e in batch.iter() {
                let rc = fiemap_fill_next_extent(info, e.logical, e.physical, e.len, flags_of(e));
                if rc < 0 {
                    return rc;
                }
                if rc == 1 {
                    return 0;
                }
            }
            match batch.last() {
                Some(l) if !l.last && batch.len() == FIEMAP_BATCH => at = l.logical.saturating_add(l.len),
                _ => break,
            }
        }
        0
    }
}
