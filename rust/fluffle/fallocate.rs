//! `fallocate` (reserve, punch hole, zero range), `SEEK_DATA`/`SEEK_HOLE`
//! and `FIEMAP` from the block map.
//!
//! # Reservations
//!
//! A log-structured filesystem on a zoned device cannot write blocks ahead
//! of their data, so reserving space (`fallocate` mode 0 and
//! [`FALLOC_FL_KEEP_SIZE`]) is space accounting only. Each regular file
//! keeps the runs of its reserved, unwritten blocks (`Extra::prealloc`,
//! persisted in its node after the extents, `inode.rs`), and the
//! filesystem keeps their total (`Fs::prealloc`, in the checkpoint),
//! which counts as used space (`used_blocks`: `statfs` shows it, every
//! `ENOSPC` check sees it; the GC reserve zones are outside the usable
//! blocks, so they are not touched). A reserved block is always a hole:
//! neither mapped nor a dirty page. A write that makes it a dirty page or
//! maps it takes it out of the reservation in the same call (the page or
//! the live block is counted instead), and the write itself does not count
//! it as a new block (`new_blocks`), so it cannot fail with `ENOSPC`.
//! Punching, zeroing (whole blocks), truncating (everything past the new
//! end, also what `FALLOC_FL_KEEP_SIZE` reserved past EOF) and deleting
//! the file give reservations back. `st_blocks` counts reserved blocks.
//!
//! Crash and recovery: a node carries the file's runs, the checkpoint the
//! total of the nodes it covers; roll-forward of a node written by `fsync`
//! after the checkpoint replaces the file's runs and moves the total by the
//! difference (`recovery.rs`), and freeing an orphan at mount gives its
//! runs back, so after mount the total is again the sum of every node's
//! runs. fsck recounts it and checks that live blocks plus reservations fit
//! in the usable space.
//!
//! # Not supported
//!
//! `FALLOC_FL_COLLAPSE_RANGE` and `FALLOC_FL_INSERT_RANGE` would be cheap
//! on the block map alone, but every data block's owner word in its zone's
//! summary names its file block (`zones.rs`), and GC moves a block only if
//! its owner still maps it there: shifting blocks to other file offsets
//! would make GC take them for dead. Doing it right means rewriting every
//! shifted block, which is no cheaper than the copy user space does on
//! `EOPNOTSUPP`, so they (and `FALLOC_FL_UNSHARE_RANGE`,
//! `FALLOC_FL_NO_HIDE_STALE` and any unknown bit) give `EOPNOTSUPP`.

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::mem::FVec;
use super::types::*;

const BS: u64 = BLOCK_SIZE as u64;

/// Do not change the size (reserve past EOF).
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
/// Deallocate the range (with [`FALLOC_FL_KEEP_SIZE`] only).
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
/// Not supported.
pub const FALLOC_FL_NO_HIDE_STALE: u32 = 0x04;
/// Not supported (see the module docs).
pub const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
/// Zero the range, keeping (reserving) its space.
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
/// Not supported (see the module docs).
pub const FALLOC_FL_INSERT_RANGE: u32 = 0x20;
/// Not supported.
pub const FALLOC_FL_UNSHARE_RANGE: u32 = 0x40;

/// What a [`FiemapExtent`] is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtentKind {
    /// Blocks on the device at `physical`.
    Mapped,
    /// Dirty data the core holds, not placed yet (no location).
    Delalloc,
    /// Reserved by `fallocate`, never written: reads as zeros (no location).
    Unwritten,
    /// A small file's data inside its node (`physical`: the node block, 0
    /// if the node was never written).
    Inline,
}

/// One extent as `FIEMAP` reports it (bytes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FiemapExtent {
    /// File offset.
    pub logical: u64,
    /// Device byte offset (LBA * 4096), 0 when it has none.
    pub physical: u64,
    /// Length.
    pub len: u64,
    /// Kind.
    pub kind: ExtentKind,
    /// No extent of the file follows.
    pub last: bool,
}

impl<D: ZonedDevice> Fs<D> {
    /// `fallocate(2)` on regular file `ino`: mode 0 or
    /// [`FALLOC_FL_KEEP_SIZE`] reserve the blocks of `off..off + len` that
    /// are holes (mode 0 also grows the size to `off + len`);
    /// [`FALLOC_FL_PUNCH_HOLE`] (with `KEEP_SIZE`, as Linux requires) makes
    /// the range read as zeros and frees its whole blocks and
    /// reservations; [`FALLOC_FL_ZERO_RANGE`] punches the range and
    /// reserves it again (and grows the size unless `KEEP_SIZE`). Other
    /// modes: `EOPNOTSUPP`. `EINVAL` for an empty range, `EFBIG` past
    /// [`MAX_FILE_SIZE`], `ENOSPC` (nothing changed) if the reservation
    /// does not fit. Sets ctime, and mtime when the content or the size
    /// changes.
    pub fn fallocate(&mut self, ino: u64, mode: u32, off: u64, len: u64) -> Result<()> {
        self.begin_op()?;
        let i = self.find(ino)?;
        self.regular(i)?;
        if mode & !(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
            return Err(EOPNOTSUPP);
        }
        let punch = mode & FALLOC_FL_PUNCH_HOLE != 0;
        let zero = mode & FALLOC_FL_ZERO_RANGE != 0;
        let keep = mode & FALLOC_FL_KEEP_SIZE != 0;
        if (punch && zero) || (punch && !keep) {
            return Err(EOPNOTSUPP);
        }
        if len == 0 {
            return Err(EINVAL);
        }
        let end = off.checked_add(len).ok_or(EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        let (first, stop) = (off / BS, end.div_ceil(BS));
        if !punch {
            // Everything that can fail for want of room, before any change:
            // the holes to reserve (a zeroed range's blocks are reserved
            // again, so only its holes are new), and the node growing by
            // the runs they add (at most one per gap between the extents,
            // dirty pages and runs already in the range, plus one).
            let need = self.new_blocks(i, first, stop);
            if self.used_blocks().saturating_add(need) > self.zones.usable_blocks() {
                return Err(ENOSPC);
            }
            let runs = self.gaps_bound(i, first, stop);
            let grow = runs.saturating_mul(super::inode::PREALLOC_MAX_BYTES);
            if self.inodes[i].encoded_len().saturating_add(grow) > self.max_node_bytes() / 2 {
                return Err(ENOSPC);
            }
        }
        if punch && self.inodes[i].inline.is_some() {
            // Zeros inside the node's data: no blocks to free.
            let now = self.now;
            let n = &mut self.inodes[i];
            if let Some(d) = n.inline.as_mut() {
                let to = core::cmp::min(end, d.len() as u64) as usize;
                if let Some(s) = d.get_mut(core::cmp::min(off, to as u64) as usize..to) {
                    s.fill(0);
                }
            }
            n.mtime = now;
            n.ctime = now;
            n.mark_dirty(&mut self.dirty);
            return Ok(());
        }
        if self.inodes[i].inline.is_some() {
            // Reservations are of blocks: the file leaves its node.
            self.uninline(i)?;
        }
        if punch || zero {
            self.punch(i, off, end)?;
        }
        if !punch {
            self.reserve_holes(i, first, stop)?;
        }
        let now = self.now;
        let n = &mut self.inodes[i];
        if !keep && end > n.size {
            n.size = end;
            n.mtime = now;
        }
        if punch || zero {
            n.mtime = now;
        }
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// At most how many runs reserving the holes of blocks `from..to` of
    /// inode index `i` can add: one per extent, dirty page and run in the
    /// range, plus one.
    fn gaps_bound(&self, i: usize, from: u64, to: u64) -> usize {
        let n = &self.inodes[i];
        let ext = n.map.v.partition_point(|e| e.fblk < to) - n.map.v.partition_point(|e| e.end() <= from);
        let pages = n.pages.partition_point(|p| p.fblk < to) - n.pages.partition_point(|p| p.fblk < from);
        let pre = n.prealloc();
        let runs = pre.partition_point(|e| e.fblk < to) - pre.partition_point(|e| e.end() <= from);
        ext + pages + runs + 1
    }

    /// The next run of blocks at or after `at` (before `to`) of inode index
    /// `i` that are holes: neither mapped, nor a dirty page, nor (if
    /// `unreserved`) reserved.
    fn next_hole_run(&self, i: usize, mut at: u64, to: u64, unreserved: bool) -> Option<(u64, u64)> {
        let n = &self.inodes[i];
        let pre = n.extra.as_ref().map(|x| &x.prealloc);
        while at < to {
            if let Some((_, run)) = n.map.lookup(at) {
                at = at.saturating_add(run);
                continue;
            }
            if n.pages.binary_search_by(|p| p.fblk.cmp(&at)).is_ok() {
                at += 1;
                continue;
            }
            if unreserved {
                if let Some((_, run)) = pre.and_then(|p| p.lookup(at)) {
                    at = at.saturating_add(run);
                    continue;
                }
            }
            let mut end = to;
            if let Some(m) = n.map.next_mapped(at) {
                end = core::cmp::min(end, m);
            }
            let np = n.pages.partition_point(|p| p.fblk < at);
            if let Some(p) = n.pages.get(np) {
                end = core::cmp::min(end, p.fblk);
            }
            if unreserved {
                if let Some(m) = pre.and_then(|p| p.next_mapped(at)) {
                    end = core::cmp::min(end, m);
                }
            }
            return Some((at, end));
        }
        None
    }

    /// Reserves every hole among blocks `from..to` of inode index `i` (the
    /// caller checked the room).
    fn reserve_holes(&mut self, i: usize, from: u64, to: u64) -> Result<()> {
        let mut at = from;
        while let Some((a, b)) = self.next_hole_run(i, at, to, true) {
            let len = u32::try_from(b - a).map_err(|_| EFBIG)?;
            self.inodes[i].extra_mut()?.prealloc.set(a, len, Some(a), &mut |_, _| {})?;
            self.prealloc = self.prealloc.saturating_add(len as u64);
            at = b;
        }
        Ok(())
    }

    /// Makes bytes `off..end` of inode index `i` (block-mapped) read as
    /// zeros: the blocks wholly inside are unmapped (freed for GC), lose
    /// their dirty pages and their reservations; the partial blocks at the
    /// ends are zeroed in a dirty page where they hold data.
    fn punch(&mut self, i: usize, off: u64, end: u64) -> Result<()> {
        let size = self.inodes[i].size;
        let (lo, hi) = (off.div_ceil(BS), end / BS);
        // The partial blocks first: reading them may fail, and nothing is
        // changed yet then.
        let head = off / BS;
        if off % BS != 0 {
            let to = core::cmp::min(end, (head + 1) * BS);
            self.zero_in_block(i, head, off, to, size)?;
        }
        if end % BS != 0 && (end / BS != head || off % BS == 0) {
            self.zero_in_block(i, end / BS, end / BS * BS, end, size)?;
        }
        if lo < hi {
            self.drop_pages(i, lo, hi);
            self.take_prealloc(i, lo, hi)?;
            let zones = &mut self.zones;
            let mut at = lo;
            while at < hi {
                let len = core::cmp::min(hi - at, u32::MAX as u64) as u32;
                self.inodes[i].map.set(at, len, None, &mut |lba, n| {
                    for k in 0..n as u64 {
                        zones.release(lba + k);
                    }
                })?;
                at += len as u64;
            }
        }
        Ok(())
    }

    /// Zeroes bytes `from..to` (inside block `fblk`) of inode index `i` if
    /// the block holds data below `size`.
    fn zero_in_block(&mut self, i: usize, fblk: u64, from: u64, to: u64, size: u64) -> Result<()> {
        let n = &self.inodes[i];
        let has = n.map.lookup(fblk).is_some() || n.pages.binary_search_by(|p| p.fblk.cmp(&fblk)).is_ok();
        if !has || from >= size || to <= from {
            return Ok(());
        }
        let p = self.page(i, fblk, true)?;
        let (a, b) = ((from - fblk * BS) as usize, (to - fblk * BS) as usize);
        if let Some(d) = self.inodes[i].pages[p].data.get_mut(a..b) {
            d.fill(0);
        }
        Ok(())
    }

    /// `lseek(SEEK_DATA)`: the first offset at or after `off` that holds
    /// data (mapped blocks, dirty pages, inline content; reserved blocks
    /// are holes), `ENXIO` if there is none before the end of the file.
    /// Sees only what the core holds (the kernel writes its dirty folios
    /// back first).
    pub fn seek_data(&mut self, ino: u64, off: u64) -> Result<u64> {
        let i = self.find(ino)?;
        self.regular(i)?;
        let n = &self.inodes[i];
        if off >= n.size {
            return Err(ENXIO);
        }
        if n.inline.is_some() {
            return Ok(off);
        }
        let b = off / BS;
        let mut next = n.map.next_mapped(b).unwrap_or(u64::MAX);
        let np = n.pages.partition_point(|p| p.fblk < b);
        if let Some(p) = n.pages.get(np) {
            next = core::cmp::min(next, p.fblk);
        }
        let at = core::cmp::max(off, next.saturating_mul(BS));
        if next == u64::MAX || at >= n.size {
            return Err(ENXIO);
        }
        Ok(at)
    }

    /// `lseek(SEEK_HOLE)`: the first offset at or after `off` in a hole
    /// (reserved blocks are holes), or the end of the file (the implicit
    /// hole there); `ENXIO` at or past the end.
    pub fn seek_hole(&mut self, ino: u64, off: u64) -> Result<u64> {
        let i = self.find(ino)?;
        self.regular(i)?;
        let size = self.inodes[i].size;
        if off >= size {
            return Err(ENXIO);
        }
        if self.inodes[i].inline.is_some() {
            return Ok(size);
        }
        let b = off / BS;
        let hole = match self.next_hole_run(i, b, size.div_ceil(BS), false) {
            Some((a, _)) => core::cmp::max(off, a * BS),
            None => size,
        };
        Ok(core::cmp::min(hole, size))
    }

    /// `FIEMAP`: up to `max` extents of `ino` that overlap bytes
    /// `start..start + len`, in order, into `out` (cleared first): mapped
    /// runs (whole extents), the core's dirty pages of holes (delalloc),
    /// reserved runs (unwritten), or the inline data. Each says whether
    /// it is the file's last.
    pub fn fiemap(&mut self, ino: u64, start: u64, len: u64, max: usize, out: &mut FVec<FiemapExtent>) -> Result<()> {
        let i = self.find(ino)?;
        self.regular(i)?;
        out.clear();
        if max == 0 {
            return Ok(());
        }
        let n = &self.inodes[i];
        let end = start.saturating_add(len);
        if let Some(d) = &n.inline {
            if !d.is_empty() && start < d.len() as u64 && max > 0 {
                let physical = n.node_lba.saturating_mul(BS);
                out.try_push(FiemapExtent { logical: 0, physical, len: d.len() as u64, kind: ExtentKind::Inline, last: true })?;
            }
            return Ok(());
        }
        let pre = n.prealloc();
        let (mut e, mut p, mut r) = (
            n.map.v.partition_point(|x| x.end() <= start / BS),
            n.pages.partition_point(|x| x.fblk < start / BS),
            pre.partition_point(|x| x.end() <= start / BS),
        );
        // Dirty pages of mapped blocks are data of their extent.
        let skip_mapped = |p: &mut usize| {
            while n.pages.get(*p).is_some_and(|x| !x.fresh) {
                *p += 1;
            }
        };
        skip_mapped(&mut p);
        let mut pending: Option<FiemapExtent> = None;
        loop {
            // The next extent of the three sorted, disjoint lists.
            let ne = n.map.v.get(e).map(|x| x.fblk);
            let np = n.pages.get(p).map(|x| x.fblk);
            let nr = pre.get(r).map(|x| x.fblk);
            let best = [ne, np, nr].into_iter().flatten().min();
            let Some(fblk) = best else { break };
            let x = if ne == Some(fblk) {
                let m = n.map.v[e];
                e += 1;
                FiemapExtent { logical: m.fblk * BS, physical: m.lba * BS, len: m.len as u64 * BS, kind: ExtentKind::Mapped, last: false }
            } else if np == Some(fblk) {
                // Consecutive pages of holes make one extent.
                let mut k = 1u64;
                p += 1;
                while n.pages.get(p).is_some_and(|x| x.fresh && x.fblk == fblk + k) {
                    k += 1;
                    p += 1;
                }
                skip_mapped(&mut p);
                FiemapExtent { logical: fblk * BS, physical: 0, len: k * BS, kind: ExtentKind::Delalloc, last: false }
            } else {
                let m = pre[r];
                r += 1;
                FiemapExtent { logical: m.fblk * BS, physical: 0, len: m.len as u64 * BS, kind: ExtentKind::Unwritten, last: false }
            };
            if let Some(prev) = pending.take() {
                out.try_push(prev)?;
                if out.len() >= max {
                    return Ok(());
                }
            }
            if x.logical >= end {
                // Only to learn that the one before was not the last.
                return Ok(());
            }
            pending = Some(x);
        }
        if let Some(mut prev) = pending {
            prev.last = true;
            if out.len() < max {
                out.try_push(prev)?;
            }
        }
        Ok(())
    }
}

impl<D: ZonedDevice> Fs<D> {
    /// Blocks reserved by `fallocate` over the whole filesystem.
    pub fn prealloc_total(&self) -> u64 {
        self.prealloc
    }

    /// Overwrites that total (tests of fsck only).
    #[doc(hidden)]
    pub fn debug_set_prealloc_total(&mut self, blocks: u64) {
        self.prealloc = blocks;
    }
}
