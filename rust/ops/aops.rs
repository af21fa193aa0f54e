//! Address-space operations: the page cache over the core.
//!
//! Reads fill folios from the core; buffered writes land in the page cache
//! (`write_begin`/`write_end`) and reach the core at writeback, where the
//! core batches them into large log appends. The core is the truth for
//! every page not in the cache.

use super::sb::with_fs;
use crate::fluffle::errno::{Errno, Result};
use crate::fluffle::mem::FVec;
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

/// Largest readahead window read from the core in one call.
const MAX_READAHEAD: usize = 1 << 20;

/// `readahead`: one core read for the whole window (so contiguous blocks
/// become one device read), then copied into the window's folios. Folios
/// left unfilled (allocation failure, error) are unlocked without being
/// marked up to date; `read_folio` retries them one by one.
unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
    // SAFETY: the VFS passes a readahead request on one of our mappings;
    // `readahead_folio` hands out its locked folios one by one, which we
    // unlock (its reference is dropped by the helper).
    unsafe {
        let inode = shim::fluffle_readahead_inode(rac);
        let pos = shim::fluffle_readahead_pos(rac) as u64;
        let len = core::cmp::min(shim::fluffle_readahead_length(rac), MAX_READAHEAD);
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        let mut buf = FVec::new();
        let filled = match buf.try_resize(len, 0u8) {
            Ok(()) => with_fs(sb, |fs| fs.read(ino, pos, &mut buf)).ok(),
            Err(_) => None,
        };
        loop {
            let folio = shim::fluffle_readahead_folio(rac);
            if folio.is_null() {
                break;
            }
            let mut f = LockedFolio::from_raw(folio);
            if let Some(n) = filled {
                let at = (f.pos() - pos) as usize;
                if let Some(src) = buf.get(at..core::cmp::min(at + f.size(), len)) {
                    if src.len() == f.size() {
                        f.with_bytes(|dst| {
                            // Bytes past what the core returned are past EOF.
                            let valid = n.saturating_sub(at).min(dst.len());
                            dst[..valid].copy_from_slice(&src[..valid]);
                            dst[valid..].fill(0);
                        });
                        f.mark_uptodate();
                    }
                }
            }
            f.unlock();
        }
    }
}

/// Writes one dirty folio (locked, dirty bit already cleared) to the core.
///
/// # Safety
///
/// `inode` must be the folio's valid inode.
unsafe fn write_folio(inode: *mut bindings::inode, folio: *mut bindings::folio) -> c_int {
    // SAFETY: guaranteed by the caller; `writeback_iter` returns the
    // folio locked.
    unsafe {
        let mut f = LockedFolio::from_raw(folio);
        let size = shim::fluffle_i_size_read(inode) as u64;
        let pos = f.pos();
        if pos >= size {
            // Beyond EOF (truncated meanwhile): nothing to write.
            f.unlock();
            return 0;
        }
        let len = core::cmp::min(f.size() as u64, size - pos) as usize;
        shim::fluffle_folio_start_writeback(folio);
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        // The core copies the bytes into its own log buffer, so the folio
        // can be unlocked as soon as the call returns.
        let r = f.with_bytes(|buf| with_fs(sb, |fs| fs.write(ino, pos, buf.get(..len).unwrap_or(&[]))));
        f.unlock();
        let rc = match r {
            Ok(_) => 0,
            Err(e) => {
                shim::fluffle_folio_set_error_mapping(folio, -e.0);
                -e.0
            }
        };
        shim::fluffle_folio_end_writeback(folio);
        rc
    }
}

unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: the VFS passes one of our mappings; `writeback_iter` yields
    // its dirty folios one by one, locked, and wants each previous folio
    // and error back.
    unsafe {
        let inode = (*mapping).host;
        let mut folio: *mut bindings::folio = core::ptr::null_mut();
        let mut err: c_int = 0;
        loop {
            folio = bindings::writeback_iter(mapping, wbc, folio, &mut err);
            if folio.is_null() {
                break;
            }
            err = write_folio(inode, folio);
        }
        err
    }
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
    writepages: Some(writepages),
    dirty_folio: Some(bindings::filemap_dirty_folio),
    write_begin: Some(write_begin),
    write_end: Some(write_end),
    // SAFETY: `address_space_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});
