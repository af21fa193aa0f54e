//! `writepages`: dirty page-cache folios to the data log.
//!
//! Consecutive folios wholly inside the file are gathered into a run of up
//! to [`MAX_RUN_BYTES`] and handed to the core's `write_blocks` by address,
//! so they go into the device's bios without being copied (the core's own
//! dirty pages are bypassed). The folio at EOF, which holds bytes past the
//! end of the file, goes through the core's byte-granular `write` instead.
//! A run's folios stay locked and under writeback until the core returns,
//! so nobody changes them while the device reads them.

use super::sb::with_fs;
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::Result;
use crate::fluffle::mem::FVec;
use crate::vfs::folio::LockedFolio;
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::c_int;

/// Largest run written with one core call: one full bio.
const MAX_RUN_BYTES: usize = 1 << 20;
const MAX_RUN_BLOCKS: usize = MAX_RUN_BYTES / BLOCK_SIZE;

/// Writes one dirty folio (locked, dirty bit already cleared) through the
/// core's byte-granular write, which copies it; only the bytes inside the
/// file are written.
///
/// # Safety
///
/// `inode` must be the folio's valid inode.
unsafe fn write_folio_copy(inode: *mut bindings::inode, folio: *mut bindings::folio) -> c_int {
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
        // The core copies the bytes into its own page, so the folio can be
        // unlocked as soon as the call returns.
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

/// A run of consecutive whole-block folios of one inode, each locked,
/// referenced and under writeback.
///
/// # Invariants
///
/// Every pointer in `folios` is such a folio of `inode`, the first at file
/// offset `pos`, each following the previous without a gap, all wholly
/// below `i_size` when added; `bufs` is empty between calls.
struct Run {
    inode: *mut bindings::inode,
    folios: FVec<*mut bindings::folio>,
    bufs: FVec<&'static [u8]>,
    pos: u64,
    end: u64,
}

impl Run {
    fn new(inode: *mut bindings::inode) -> Result<Self> {
        Ok(Self {
            inode,
            folios: FVec::try_with_capacity(MAX_RUN_BLOCKS)?,
            bufs: FVec::try_with_capacity(MAX_RUN_BLOCKS)?,
            pos: 0,
            end: 0,
        })
    }

    /// True if `folio` (locked, of our inode) can join the run: it is
    /// whole-block, wholly inside the file, and the run has room for it
    /// (`folio` must then follow the run, or the run must be empty; the
    /// caller flushes first otherwise).
    ///
    /// # Safety
    ///
    /// `folio` must be a valid locked folio of our inode.
    unsafe fn fits(&self, folio: *mut bindings::folio) -> (bool, bool) {
        // SAFETY: guaranteed by the caller; `inode` is valid (invariant).
        let (pos, size, isize) = unsafe {
            (
                shim::fluffle_folio_pos(folio) as u64,
                shim::fluffle_folio_size(folio) as u64,
                shim::fluffle_i_size_read(self.inode) as u64,
            )
        };
        let whole = pos % BLOCK_SIZE as u64 == 0
            && size % BLOCK_SIZE as u64 == 0
            && size as usize <= MAX_RUN_BYTES
            && pos.checked_add(size).is_some_and(|e| e <= isize);
        let joins = !self.folios.is_empty()
            && pos == self.end
            && (self.end - self.pos + size) as usize <= MAX_RUN_BYTES;
        (whole, joins)
    }

    /// Adds `folio` at the end of the run, starting its writeback.
    ///
    /// # Safety
    ///
    /// `folio` must be a valid locked folio of our inode for which `fits`
    /// returned `(true, true)`, or `(true, _)` with the run empty.
    unsafe fn push(&mut self, folio: *mut bindings::folio) -> Result<()> {
        self.folios.try_push(folio)?;
        // SAFETY: guaranteed by the caller: the folio is locked, so its
        // writeback may start; the reference keeps it ours until `flush`.
        unsafe {
            let (pos, size) = (shim::fluffle_folio_pos(folio) as u64, shim::fluffle_folio_size(folio) as u64);
            if self.folios.len() == 1 {
                self.pos = pos;
            }
            self.end = pos + size;
            shim::fluffle_folio_get(folio);
            shim::fluffle_folio_start_writeback(folio);
        }
        Ok(())
    }

    /// Writes the run with one core call and releases its folios; returns
    /// 0 or the negative errno (also recorded on the mapping).
    fn flush(&mut self) -> c_int {
        if self.folios.is_empty() {
            return 0;
        }
        let r = self.write();
        self.bufs.clear();
        let rc = match r {
            Ok(()) => 0,
            Err(e) => -e.0,
        };
        for &folio in self.folios.iter() {
            // SAFETY: each folio is ours: locked, referenced and under
            // writeback (invariant); this ends all three.
            unsafe {
                if rc != 0 {
                    shim::fluffle_folio_set_error_mapping(folio, rc);
                }
                shim::fluffle_folio_unlock(folio);
                shim::fluffle_folio_end_writeback(folio);
                shim::fluffle_folio_put(folio);
            }
        }
        self.folios.clear();
        rc
    }

    fn write(&mut self) -> Result<()> {
        for &folio in self.folios.iter() {
            // SAFETY: the folio is locked and referenced (invariant), so its
            // memory stays valid and unchanged until `flush` releases it,
            // after `bufs` is cleared; page-cache folios are directly mapped
            // (shim.c refuses HIGHMEM), so the address covers the folio.
            let whole = unsafe {
                let addr = shim::fluffle_folio_address(folio).cast::<u8>();
                core::slice::from_raw_parts(addr, shim::fluffle_folio_size(folio))
            };
            for block in whole.chunks(BLOCK_SIZE) {
                self.bufs.try_push(block)?;
            }
        }
        // SAFETY: `inode` is valid (invariant).
        let (sb, ino) = unsafe { ((*self.inode).i_sb, (*self.inode).i_ino as u64) };
        // SAFETY: as above; the super block is mounted while it has inodes.
        unsafe { with_fs(sb, |fs| fs.write_blocks(ino, self.pos, &self.bufs)) }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // Never holds folios here (`writepages` flushes); if it did, they
        // must not stay locked.
        let _ = self.flush();
    }
}

/// `writepages`: walks the dirty folios with `writeback_iter`, gathering
/// runs (see the module docs). Without memory for a run, every folio goes
/// through the copying path.
pub(crate) unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: the VFS passes one of our mappings; `writeback_iter` yields
    // its dirty folios one by one, locked, and wants each previous folio
    // and error back. A folio handed to the run counts as handled: the run
    // unlocks it when it is written.
    unsafe {
        let inode = (*mapping).host;
        let mut run = Run::new(inode).ok();
        let mut folio: *mut bindings::folio = core::ptr::null_mut();
        let mut err: c_int = 0;
        loop {
            folio = bindings::writeback_iter(mapping, wbc, folio, &mut err);
            if folio.is_null() {
                break;
            }
            let Some(run) = run.as_mut() else {
                err = write_folio_copy(inode, folio);
                continue;
            };
            let (whole, joins) = run.fits(folio);
            let flushed = if joins { 0 } else { run.flush() };
            let this = if !whole {
                write_folio_copy(inode, folio)
            } else if let Err(e) = run.push(folio) {
                // `writeback_iter` cleared its dirty bit: set it again, or the
                // data would never be written.
                bindings::folio_redirty_for_writepage(wbc, folio);
                shim::fluffle_folio_unlock(folio);
                -e.0
            } else {
                0
            };
            // A failed run stops background writeback here (as a failed
            // folio does); this folio is written or in the next run anyway.
            err = if flushed != 0 { flushed } else { this };
        }
        let rc = run.as_mut().map_or(0, |r| r.flush());
        if err != 0 {
            err
        } else {
            rc
        }
    }
}
