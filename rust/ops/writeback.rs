//! `writepages`: dirty page-cache folios to the data log.
//!
//! Consecutive one-block folios wholly inside the file are gathered into
//! runs of up to [`MAX_RUN_BYTES`]; the core places each run in the log
//! (`write_blocks_with`, bypassing its own dirty pages) and the device
//! writes it with a bio straight from the folios, without a copy and
//! without waiting: the bio's completion ends their writeback (fsync and
//! every other device operation wait for it), so the next run is gathered
//! while the device writes. The folio at EOF, which holds bytes past the
//! end of the file, goes through the core's byte-granular `write` instead.

use super::sb::with_fs;
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::{Result, EIO};
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
/// Every pointer in `folios` is such a folio of `inode`, one block, the
/// first at file offset `pos`, each following the previous without a gap,
/// all wholly below `i_size` when added.
struct Run {
    inode: *mut bindings::inode,
    folios: FVec<*mut bindings::folio>,
    pos: u64,
    end: u64,
}

impl Run {
    fn new(inode: *mut bindings::inode) -> Result<Self> {
        Ok(Self {
            inode,
            folios: FVec::try_with_capacity(MAX_RUN_BLOCKS)?,
            pos: 0,
            end: 0,
        })
    }

    /// `(whole, joins)` for `folio` (locked, of our inode): whether it can
    /// be in a run at all (one block, wholly inside the file) and whether
    /// it extends this one (follows it, with room left); the caller
    /// flushes the run before starting a new one.
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
            && size == BLOCK_SIZE as u64
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

    /// Writes the run with one core call, which submits its bios without
    /// waiting (their completion ends the folios' writeback), and releases
    /// the folios; returns 0 or the negative errno (also recorded on the
    /// mapping).
    fn flush(&mut self) -> c_int {
        if self.folios.is_empty() {
            return 0;
        }
        // SAFETY: `inode` is valid (invariant).
        let (sb, ino) = unsafe { ((*self.inode).i_sb, (*self.inode).i_ino as u64) };
        let folios = self.folios.as_slice();
        let mut handed = 0usize;
        // SAFETY: the super block is mounted while it has inodes; the folios
        // are locked, referenced and under writeback (invariant), one block
        // each, and stay valid until their writeback ends.
        let r = unsafe {
            with_fs(sb, |fs| {
                fs.write_blocks_with(ino, self.pos, folios.len(), |dev, lba, run| {
                    let run = folios.get(run).ok_or(EIO)?;
                    let n = dev.write_folios(lba, run);
                    handed += n;
                    if n == run.len() {
                        Ok(())
                    } else {
                        Err(EIO)
                    }
                })
            })
        };
        let rc = match r {
            Ok(()) => 0,
            Err(e) => -e.0,
        };
        for (k, &folio) in folios.iter().enumerate() {
            // SAFETY: each folio is ours: locked and referenced (invariant);
            // those not handed to a bio are still under writeback by us.
            unsafe {
                if k >= handed {
                    shim::fluffle_folio_set_error_mapping(folio, if rc != 0 { rc } else { -EIO.0 });
                    shim::fluffle_folio_end_writeback(folio);
                }
                shim::fluffle_folio_unlock(folio);
                shim::fluffle_folio_put(folio);
            }
        }
        self.folios.clear();
        rc
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
