//! Address-space operations: the page cache over the core.
//!
//! Reads fill folios from the core; buffered writes land in the page cache
//! (`write_begin`/`write_end`) and reach the log at writeback
//! ([`super::writeback`]). The core is the truth for every page not in the
//! cache.

use super::sb::{with_fs, KFs};
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::Result;
use crate::fluffle::mem::FVec;
use crate::fluffle::read_plan::{Segment, Source};
use crate::vfs::bio::folio_blocks;
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
    // SAFETY: as above.
    folio.with_bytes(|buf| unsafe { with_fs(sb, |fs| fs.read_padded(ino, pos, buf)) })?;
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

/// Most blocks planned with one core call (one full bio, 1 MiB).
const MAX_READ_BLOCKS: usize = 256;
/// Largest page-cache folio of a file: 2^8 pages, 1 MiB, what one
/// writeback run and one bio carry.
pub(crate) const MAX_FOLIO_ORDER: c_uint = 8;

/// `readahead`: the window's folios, up to [`MAX_READ_BLOCKS`] at a time,
/// are planned with one core call ([`KFs::plan_read`]). A folio wholly
/// inside one run of device blocks is read by an asynchronous bio straight
/// into it, which its completion unlocks: the reader copies one window
/// out while the device fills the next. Any other folio (holes, the
/// core's dirty pages, EOF) is filled right away by the core, under its
/// mutex. Folios left unfilled (allocation failure, error) are unlocked
/// without being marked up to date; `read_folio` retries them one by one.
unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
    // SAFETY: the VFS passes a readahead request on one of our mappings;
    // `readahead_folio` hands out its consecutive locked folios one by one
    // (the page cache keeps them referenced while they are locked), each of
    // which we unlock or hand to a bio that does.
    unsafe {
        let inode = shim::fluffle_readahead_inode(rac);
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        let (Ok(mut folios), Ok(mut lbas), mut plan) = (
            FVec::<*mut bindings::folio>::try_with_capacity(MAX_READ_BLOCKS),
            FVec::<Option<u64>>::try_with_capacity(MAX_READ_BLOCKS),
            FVec::new(),
        ) else {
            return;
        };
        loop {
            folios.clear();
            let mut blocks = 0usize;
            while blocks < MAX_READ_BLOCKS {
                let folio = shim::fluffle_readahead_folio(rac);
                if folio.is_null() {
                    break;
                }
                if folios.try_push(folio).is_err() {
                    shim::fluffle_folio_unlock(folio);
                    continue;
                }
                blocks += folio_blocks(folio);
            }
            let Some(&head) = folios.first() else { break };
            let pos = shim::fluffle_folio_pos(head) as u64;
            let planned = with_fs(sb, |fs| {
                fs.plan_read(ino, pos / BLOCK_SIZE as u64, blocks, &mut plan)?;
                place_folios(fs, ino, &folios, &plan, &mut lbas)?;
                Ok(lbas.iter().any(|l| l.is_some()).then(|| fs.device().async_reader()))
            });
            let reader = match planned {
                Ok(reader) => reader,
                Err(_) => {
                    for &folio in folios.iter() {
                        shim::fluffle_folio_unlock(folio);
                    }
                    continue;
                }
            };
            // Runs of folios consecutive on the device go to one bio.
            let mut k = 0usize;
            while k < folios.len() {
                let Some(lba) = lbas.get(k).copied().flatten() else {
                    shim::fluffle_folio_mark_uptodate(folios[k]);
                    shim::fluffle_folio_unlock(folios[k]);
                    k += 1;
                    continue;
                };
                let mut end = k + 1;
                let mut next = lba + folio_blocks(folios[k]) as u64;
                while end < folios.len() && lbas.get(end).copied().flatten() == Some(next) {
                    next += folio_blocks(folios[end]) as u64;
                    end += 1;
                }
                let handed = reader.as_ref().map_or(0, |r| r.read_folios(lba, &folios[k..end]));
                for &folio in &folios[k + handed..end] {
                    shim::fluffle_folio_unlock(folio);
                }
                k = end;
            }
        }
    }
}

/// Sets `lbas[k]` to the device block a bio reads folio `k` from when
/// `plan` puts it wholly inside one device run, and otherwise fills the
/// folio from the core now (under its mutex) and sets `None`.
///
/// # Safety
///
/// `folios` must be locked, not up-to-date, consecutive folios of `ino`
/// covering exactly the blocks `plan` was made for.
unsafe fn place_folios(fs: &mut KFs, ino: u64, folios: &[*mut bindings::folio], plan: &[Segment], lbas: &mut FVec<Option<u64>>) -> Result<()> {
    lbas.clear();
    let mut seg = 0usize;
    let mut seg_start = 0u64;
    let mut at = 0u64;
    for &folio in folios {
        // SAFETY: guaranteed by the caller.
        let n = unsafe { folio_blocks(folio) } as u64;
        while let Some(s) = plan.get(seg) {
            if seg_start + s.count as u64 > at {
                break;
            }
            seg_start += s.count as u64;
            seg += 1;
        }
        let lba = match plan.get(seg) {
            Some(Segment { count, src: Source::Device(lba) }) if at + n <= seg_start + *count as u64 => Some(lba + (at - seg_start)),
            _ => None,
        };
        if lba.is_none() {
            // SAFETY: the folio is locked and not up to date (caller), so its
            // memory is ours; directly mapped (shim.c refuses HIGHMEM).
            let buf = unsafe {
                core::slice::from_raw_parts_mut(shim::fluffle_folio_address(folio).cast::<u8>(), shim::fluffle_folio_size(folio))
            };
            // SAFETY: as above.
            let pos = unsafe { shim::fluffle_folio_pos(folio) } as u64;
            fs.read_padded(ino, pos, buf)?;
        }
        lbas.try_push(lba)?;
        at += n;
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
        // Nothing reaches the page cache once the disk lost a write.
        if let Err(e) = super::sb::writable((*(*mapping).host).i_sb) {
            return -e.0;
        }
        let page = kernel::page::PAGE_SIZE as i64;
        let folio = shim::fluffle_write_begin_get_folio(mapping, (pos / page) as usize, len as usize);
        if shim::fluffle_is_err(folio.cast()) {
            return shim::fluffle_ptr_err(folio.cast()) as c_int;
        }
        let mut f = LockedFolio::from_raw(folio);
        let inode = (*mapping).host;
        // Room on the disk for what this write dirties, or ENOSPC now.
        if let Err(e) = super::delalloc::reserve(inode, &f, pos as u64 + len as u64) {
            f.unlock();
            shim::fluffle_folio_put(folio);
            return -e.0;
        }
        let whole = f.pos() == pos as u64 && len as usize >= f.size();
        if !f.is_uptodate() && !whole {
            // A partial write: the rest of the folio must come from the core.
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
        } else if !shim::fluffle_folio_test_dirty(folio) {
            // Nothing copied (the retry reserves again): a clean folio
            // must not keep a reservation.
            super::delalloc::give_back((*(*mapping).host).i_sb, f.take_reserved());
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
    direct_IO: Some(super::direct_io::direct_io),
    dirty_folio: Some(bindings::filemap_dirty_folio),
    invalidate_folio: Some(super::delalloc::invalidate_folio),
    release_folio: Some(super::delalloc::release_folio),
    migrate_folio: Some(shim::filemap_migrate_folio),
    write_begin: Some(write_begin),
    write_end: Some(write_end),
    // SAFETY: `address_space_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});
