//! `writepages`: dirty page-cache folios to the data log.
//!
//! Consecutive folios (whole blocks) wholly inside the file are gathered
//! into runs of up to [`MAX_RUN_BYTES`]; the core places each run in the log
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
use crate::fluffle::types::SetAttr;
use crate::vfs::time;
use crate::vfs::bio::{folio_blocks, FolioPart};
use crate::vfs::folio::LockedFolio;
use crate::vfs::zoned_bdev::BlockZonedDevice;
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::c_int;

/// Largest run written with one core call: one full bio.
const MAX_RUN_BYTES: usize = 1 << 20;
const MAX_RUN_BLOCKS: usize = MAX_RUN_BYTES / BLOCK_SIZE;

/// The VFS inode's mtime and ctime, for the core to keep after a
/// writeback: `write(2)` and mmap write faults stamped them (the VFS owns
/// file times), while the core's write stamps the time of the call,
/// which in writeback is long after the write: an umount + mount then
/// showed the writeback's time instead of the write's.
///
/// # Safety
///
/// `inode` must be a valid inode of ours.
unsafe fn vfs_times(inode: *mut bindings::inode) -> SetAttr {
    let z = bindings::timespec64 { tv_sec: 0, tv_nsec: 0 };
    let (mut at, mut mt, mut ct) = (z, z, z);
    // SAFETY: guaranteed by the caller; the times are read as `write_inode`
    // reads them, without the inode lock.
    unsafe { shim::fluffle_inode_get_times(inode, &mut at, &mut mt, &mut ct) };
    SetAttr { mtime: Some(time::to_core(&mt)), ctime: Some(time::to_core(&ct)), ..SetAttr::default() }
}

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
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        if pos >= size {
            // Beyond EOF (truncated meanwhile): nothing to write.
            super::delalloc::give_back(sb, f.take_reserved());
            f.unlock();
            return 0;
        }
        let len = core::cmp::min(f.size() as u64, size - pos) as usize;
        shim::fluffle_folio_start_writeback(folio);
        let held = f.take_reserved();
        // The core copies the bytes into its own page, so the folio can be
        // unlocked as soon as the call returns. The write takes the room
        // reserved for it.
        let keep = vfs_times(inode);
        let r = f.with_bytes(|buf| {
            with_fs(sb, |fs| {
                fs.unreserve(held);
                fs.write(ino, pos, buf.get(..len).unwrap_or(&[]))?;
                fs.setattr(ino, &keep)
            })
        });
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
/// Every pointer in `folios` is such a folio of `inode`, a whole number of
/// blocks starting at block `starts[k]` of the run (the run starts at file
/// offset `pos` and holds `blocks` blocks, at most [`MAX_RUN_BLOCKS`]),
/// each following the previous without a gap, all wholly below `i_size`
/// when added. `parts` is empty between calls. `reserved` is what the
/// folios' reservations (taken off them) add up to.
struct Run {
    inode: *mut bindings::inode,
    folios: FVec<*mut bindings::folio>,
    starts: FVec<usize>,
    parts: FVec<FolioPart>,
    pos: u64,
    blocks: usize,
    reserved: u64,
}

impl Run {
    fn new(inode: *mut bindings::inode) -> Result<Self> {
        Ok(Self {
            inode,
            folios: FVec::try_with_capacity(MAX_RUN_BLOCKS)?,
            starts: FVec::try_with_capacity(MAX_RUN_BLOCKS)?,
            parts: FVec::try_with_capacity(MAX_RUN_BLOCKS)?,
            pos: 0,
            blocks: 0,
            reserved: 0,
        })
    }

    /// `(whole, joins)` for `folio` (locked, of our inode): whether it can
    /// be in a run at all (whole blocks, wholly inside the file) and
    /// whether it extends this one (follows it, with room left); the
    /// caller flushes the run before starting a new one.
    ///
    /// # Safety
    ///
    /// `folio` must be a valid locked folio of our inode.
    unsafe fn fits(&self, folio: *mut bindings::folio) -> (bool, bool) {
        // SAFETY: guaranteed by the caller; `inode` is valid (invariant).
        let (pos, size, isize) = unsafe {
            (
                shim::fluffle_folio_pos(folio) as u64,
                shim::fluffle_folio_size(folio),
                shim::fluffle_i_size_read(self.inode) as u64,
            )
        };
        let bs = BLOCK_SIZE as u64;
        let whole = pos % bs == 0
            && size % BLOCK_SIZE == 0
            && size <= MAX_RUN_BYTES
            && pos.checked_add(size as u64).is_some_and(|e| e <= isize);
        let joins = !self.folios.is_empty()
            && pos == self.pos + self.blocks as u64 * bs
            && self.blocks + size / BLOCK_SIZE <= MAX_RUN_BLOCKS;
        (whole, joins)
    }

    /// Adds `folio` at the end of the run, starting its writeback.
    ///
    /// # Safety
    ///
    /// `folio` must be a valid locked folio of our inode for which `fits`
    /// returned `(true, true)`, or `(true, _)` with the run empty.
    unsafe fn push(&mut self, folio: *mut bindings::folio) -> Result<()> {
        // Cannot fail: the capacity is reserved for a run's most folios.
        self.folios.try_push(folio)?;
        if let Err(e) = self.starts.try_push(self.blocks) {
            self.folios.pop();
            return Err(e);
        }
        // SAFETY: guaranteed by the caller: the folio is locked, so its
        // writeback may start; the reference keeps it ours until `flush`.
        unsafe {
            if self.folios.len() == 1 {
                self.pos = shim::fluffle_folio_pos(folio) as u64;
            }
            self.blocks += folio_blocks(folio);
            shim::fluffle_folio_get(folio);
            shim::fluffle_folio_start_writeback(folio);
            self.reserved += LockedFolio::from_raw(folio).take_reserved();
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
        let (folios, starts, parts) = (self.folios.as_slice(), self.starts.as_slice(), &mut self.parts);
        // Folios `..handed` have their last part in a bio, which ends their
        // writeback.
        let mut handed = 0usize;
        let reserved = core::mem::take(&mut self.reserved);
        // SAFETY: `inode` is valid (invariant).
        let keep = unsafe { vfs_times(self.inode) };
        // SAFETY: the super block is mounted while it has inodes; the folios
        // are locked, referenced and under writeback (invariant) and stay
        // valid until their writeback ends.
        let r = unsafe {
            with_fs(sb, |fs| {
                // The blocks take the room reserved for them.
                fs.unreserve(reserved);
                fs.write_blocks_with(ino, self.pos, self.blocks, |dev, lba, run| {
                    write_run(dev, lba, run, folios, starts, parts, &mut handed)
                })?;
                fs.setattr(ino, &keep).map(|_| ())
            })
        };
        self.parts.clear();
        let rc = match r {
            Ok(()) => 0,
            Err(e) => -e.0,
        };
        for (k, &folio) in self.folios.iter().enumerate() {
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
        self.starts.clear();
        self.blocks = 0;
        rc
    }
}

/// Writes blocks `run` of a [`Run`] at `lba`, where the core placed them:
/// the folio parts in it go to asynchronous bios, except the head of a
/// folio that continues past `run` (the log went on in another zone),
/// which is written synchronously, last, so the bio of its tail alone ends
/// its writeback. Advances `handed` past the folios whose last part is in
/// a bio.
///
/// # Safety
///
/// As [`Run::flush`]: `folios` and `starts` as the `Run` invariants, under
/// the core's mutex.
unsafe fn write_run(
    dev: &mut BlockZonedDevice,
    lba: u64,
    run: core::ops::Range<usize>,
    folios: &[*mut bindings::folio],
    starts: &[usize],
    parts: &mut FVec<FolioPart>,
    handed: &mut usize,
) -> Result<()> {
    parts.clear();
    // The folio holding the run's first block.
    let first = starts.partition_point(|&s| s <= run.start).saturating_sub(1);
    let mut head = None;
    for k in first..folios.len() {
        let Some(&start) = starts.get(k) else { break };
        if start >= run.end {
            break;
        }
        // SAFETY: the folios are valid (caller).
        let end = starts.get(k + 1).copied().unwrap_or(start + unsafe { folio_blocks(folios[k]) });
        let (a, b) = (core::cmp::max(start, run.start), core::cmp::min(end, run.end));
        let part = FolioPart { folio: folios[k], from: a - start, to: b - start };
        if b < end {
            head = Some((lba + (a - run.start) as u64, part));
        } else {
            parts.try_push(part)?;
        }
    }
    // SAFETY: the folios are under writeback (caller), consecutive in the
    // log from `lba`, each part the last of its folio.
    let n = unsafe { dev.write_parts(lba, parts) };
    // `parts` holds the last parts of folios `first..`, in order.
    *handed = first + n;
    if n != parts.len() {
        return Err(EIO);
    }
    if let Some((at, part)) = head {
        // SAFETY: as above; the device lets the bios before it finish first.
        unsafe { dev.write_part_sync(at, part) }?;
    }
    Ok(())
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
