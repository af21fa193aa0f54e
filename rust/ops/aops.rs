//! Address-space operations: the page cache over the core.
//!
//! Reads fill folios from the core; buffered writes land in the page cache
//! (`write_begin`/`write_end`) and reach the log at writeback
//! ([`super::writeback`]). The core is the truth for every page not in the
//! cache.

use super::sb::{with_fs, KFs};
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::{Errno, Result, EINVAL};
use crate::fluffle::mem::FVec;
use crate::fluffle::read_plan::{Segment, Source};
use crate::vfs::folio::LockedFolio;
use crate::vfs::shim;
use crate::vfs::vtable::{zeroed, VTable};
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_void};

/// Fills a locked folio of `inode` from the core, zeroing past the end of
/// the file, and marks it up to date.
///
/// # Safety
///
/// `inode` must be a valid regular-file inode of a mounted FluffleFS.
unsafe fn fill_from_core(inode: *mut bindings::inode, folio: &mut LockedFolio) -> Result<()> {
    let pos = folio.pos();
    // SAFETY: guaranteed by the caller.
    let (sb, ino) = unsafe { ((*inode).i_sb, (*inode).i_ino as u64) };
    folio.with_bytes(|buf| {
        // SAFETY: as above.
        let n = unsafe { with_fs(sb, |fs| fs.read(ino, pos, buf)) }?;
        if let Some(rest) = buf.get_mut(n..) {
            rest.fill(0);
        }
        Ok::<(), Errno>(())
    })?;
    folio.mark_uptodate();
    Ok(())
}

unsafe extern "C" fn read_folio(_file: *mut bindings::file, folio: *mut bindings::folio) -> c_int {
    // SAFETY: the VFS passes a locked folio of one of our files, which we
    // must unlock.
    unsafe {
        let mut f = LockedFolio::from_raw(folio);
        let inode = (*(*folio).__bindgen_anon_1.__bindgen_anon_1.mapping).host;
        let r = fill_from_core(inode, &mut f);
        f.unlock();
        match r {
            Ok(()) => 0,
            Err(e) => -e.0,
        }
    }
}

/// Most folios planned with one core call (one full bio, 1 MiB).
const MAX_READ_FOLIOS: usize = 256;

/// `readahead`: the window's folios, up to [`MAX_READ_FOLIOS`] at a time,
/// are planned with one core call ([`KFs::plan_read`]); holes and the
/// blocks only the core holds are filled right away, under its mutex, and
/// runs of device blocks are read by asynchronous bios straight into the
/// folios, which their completion unlocks: the reader copies one window
/// out while the device fills the next. Folios left unfilled (allocation
/// failure, error) are unlocked without being marked up to date;
/// `read_folio` retries them one by one.
unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
    // SAFETY: the VFS passes a readahead request on one of our mappings;
    // `readahead_folio` hands out its consecutive locked folios one by one
    // (the page cache keeps them referenced while they are locked), each of
    // which we unlock or hand to a bio that does.
    unsafe {
        let inode = shim::fluffle_readahead_inode(rac);
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        let (Ok(mut folios), mut plan) = (FVec::<*mut bindings::folio>::try_with_capacity(MAX_READ_FOLIOS), FVec::new())
        else {
            return;
        };
        loop {
            folios.clear();
            while folios.len() < MAX_READ_FOLIOS {
                let folio = shim::fluffle_readahead_folio(rac);
                if folio.is_null() {
                    break;
                }
                // Cannot fail: the capacity is reserved.
                if folios.try_push(folio).is_err() {
                    shim::fluffle_folio_unlock(folio);
                }
            }
            let Some(&head) = folios.first() else { break };
            let pos = shim::fluffle_folio_pos(head) as u64;
            let single = folios.iter().all(|&f| shim::fluffle_folio_size(f) == BLOCK_SIZE);
            let planned = if single && pos % BLOCK_SIZE as u64 == 0 {
                with_fs(sb, |fs| {
                    fs.plan_read(ino, pos / BLOCK_SIZE as u64, folios.len(), &mut plan)?;
                    fill_from_plan(fs, ino, pos, &folios, &plan)?;
                    Ok(plan.iter().any(|s| matches!(s.src, Source::Device(_))).then(|| fs.device().async_reader()))
                })
            } else {
                Err(EINVAL)
            };
            let reader = match planned {
                Ok(reader) => reader,
                Err(_) => {
                    for &folio in folios.iter() {
                        shim::fluffle_folio_unlock(folio);
                    }
                    continue;
                }
            };
            let mut k = 0usize;
            for seg in plan.iter() {
                let Some(run) = folios.get(k..k + seg.count as usize) else { break };
                match (seg.src, reader.as_ref()) {
                    (Source::Device(lba), Some(reader)) => {
                        let handed = reader.read_folios(lba, run);
                        for &folio in &run[handed..] {
                            shim::fluffle_folio_unlock(folio);
                        }
                    }
                    _ => {
                        for &folio in run {
                            shim::fluffle_folio_mark_uptodate(folio);
                            shim::fluffle_folio_unlock(folio);
                        }
                    }
                }
                k += seg.count as usize;
            }
            // Only if the plan fell short of the folios (it does not).
            for &folio in folios.get(k..).unwrap_or(&[]) {
                shim::fluffle_folio_unlock(folio);
            }
        }
    }
}

/// Fills the folios of `plan`'s zero and core segments (under the core's
/// mutex); device segments are left to the caller's bios.
///
/// # Safety
///
/// `folios` must be locked, not up-to-date, one-block folios of `ino`, the
/// first at byte `pos`, as many as `plan` covers.
unsafe fn fill_from_plan(fs: &mut KFs, ino: u64, pos: u64, folios: &[*mut bindings::folio], plan: &[Segment]) -> Result<()> {
    let mut k = 0usize;
    for seg in plan {
        let first = k;
        k += seg.count as usize;
        if let Source::Device(_) = seg.src {
            continue;
        }
        for (j, &folio) in folios.get(first..k).ok_or(EINVAL)?.iter().enumerate() {
            // SAFETY: the folio is locked and not up to date (caller), so
            // its memory is ours; directly mapped (shim.c refuses HIGHMEM).
            let buf = unsafe { core::slice::from_raw_parts_mut(shim::fluffle_folio_address(folio).cast::<u8>(), BLOCK_SIZE) };
            let n = match seg.src {
                Source::Core => fs.read(ino, pos + ((first + j) * BLOCK_SIZE) as u64, buf)?,
                _ => 0,
            };
            if let Some(rest) = buf.get_mut(n..) {
                rest.fill(0);
            }
        }
    }
    Ok(())
}

unsafe extern "C" fn write_begin(
    _file: *mut bindings::file,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    foliop: *mut *mut bindings::folio,
    _fsdata: *mut *mut c_void,
) -> c_int {
    // SAFETY: the VFS passes one of our mappings (inode locked) and a
    // place for the folio, which we return locked and referenced.
    unsafe {
        let page = kernel::page::PAGE_SIZE as i64;
        let folio = shim::fluffle_write_begin_get_folio(mapping, (pos / page) as usize);
        if shim::fluffle_is_err(folio.cast()) {
            return shim::fluffle_ptr_err(folio.cast()) as c_int;
        }
        let mut f = LockedFolio::from_raw(folio);
        if !f.is_uptodate() && (len as usize) < f.size() {
            // A partial write: the rest of the page must come from the core.
            let inode = (*mapping).host;
            if let Err(e) = fill_from_core(inode, &mut f) {
                f.unlock();
                shim::fluffle_folio_put(folio);
                return -e.0;
            }
        }
        *foliop = folio;
        0
    }
}

unsafe extern "C" fn write_end(
    _file: *mut bindings::file,
    mapping: *mut bindings::address_space,
    pos: i64,
    len: c_uint,
    copied: c_uint,
    folio: *mut bindings::folio,
    _fsdata: *mut c_void,
) -> c_int {
    // SAFETY: `folio` is the locked, referenced folio from `write_begin`,
    // into which the VFS copied `copied` bytes; we unlock and release it.
    unsafe {
        let f = LockedFolio::from_raw(folio);
        let mut copied = copied;
        if !f.is_uptodate() {
            if copied < len {
                // A short copy into a page we never read: retry it whole.
                copied = 0;
            } else {
                f.mark_uptodate();
            }
        }
        if copied > 0 {
            let inode = (*mapping).host;
            let end = pos + copied as i64;
            if end > shim::fluffle_i_size_read(inode) {
                shim::fluffle_i_size_write(inode, end);
            }
            shim::fluffle_folio_mark_dirty(folio);
        }
        f.unlock();
        shim::fluffle_folio_put(folio);
        copied as c_int
    }
}

pub(crate) static AOPS: VTable<bindings::address_space_operations> = VTable(bindings::address_space_operations {
    read_folio: Some(read_folio),
    readahead: Some(readahead),
    writepages: Some(super::writeback::writepages),
    dirty_folio: Some(bindings::filemap_dirty_folio),
    write_begin: Some(write_begin),
    write_end: Some(write_end),
    // SAFETY: `address_space_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});
