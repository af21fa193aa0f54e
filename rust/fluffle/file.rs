//! Regular file data: the dirty page cache, read, write, truncate and
//! writeback into the data log, and node writes.

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::inode::{LinkMark, Page, INLINE_MAX};
use super::layout::{seal_node, seal_pack, Enc, NodeHdr, NODE_HDR, NODE_PAYLOAD, PACK_MAX, PACK_REC, PACK_RECORDS_MAX};
use super::mem::FVec;
use super::types::*;
use super::zones::{owner_data, owner_node, pack_share, H_DATA, H_NODE, OWNER_PACK};

const BS: u64 = BLOCK_SIZE as u64;
/// Largest single device write the writeback builds (blocks).
const MAX_RUN: u64 = 256;

impl<D: ZonedDevice> Fs<D> {
    /// Dirty pages that trigger a writeback of everything.
    fn dirty_limit(&self) -> u64 {
        core::cmp::max(64, core::cmp::min(4096, self.zones.usable_blocks() / 16))
    }

    /// Reads device block `lba` into `buf` (4096 bytes).
    pub(super) fn read_lba(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        self.dev.read(lba, buf)
    }

    pub(super) fn regular(&self, i: usize) -> Result<()> {
        match self.inodes[i].ftype {
            FileType::Regular => Ok(()),
            FileType::Directory => Err(EISDIR),
            FileType::Symlink | FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => Err(EINVAL),
        }
    }

    /// Reads from `off`; returns bytes read (0 at or beyond EOF). Holes read
    /// as zeros. `EISDIR` on directories, `EINVAL` on symlinks. Does not
    /// change atime (the VFS decides, through `setattr`).
    pub fn read(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> Result<usize> {
        let i = self.find(ino)?;
        self.regular(i)?;
        let size = self.inodes[i].size;
        if off >= size {
            return Ok(0);
        }
        let n = core::cmp::min(buf.len() as u64, size - off) as usize;
        if let Some(d) = &self.inodes[i].inline {
            let src = d.get(off as usize..off as usize + n).ok_or(EIO)?;
            buf[..n].copy_from_slice(src);
            return Ok(n);
        }
        let mut done = 0usize;
        let mut tmp: FVec<u8> = FVec::new();
        while done < n {
            let pos = off + done as u64;
            let fblk = pos / BS;
            let boff = (pos % BS) as usize;
            let chunk = core::cmp::min(BLOCK_SIZE - boff, n - done);
            let node = &self.inodes[i];
            if let Ok(p) = node.pages.binary_search_by(|p| p.fblk.cmp(&fblk)) {
                buf[done..done + chunk].copy_from_slice(&node.pages[p].data[boff..boff + chunk]);
                done += chunk;
                continue;
            }
            match node.map.lookup(fblk) {
                None => {
                    buf[done..done + chunk].fill(0);
                    done += chunk;
                }
                Some((lba, run)) => {
                    if boff == 0 && n - done >= BLOCK_SIZE {
                        // Whole blocks straight into the caller's buffer in
                        // one device read, as far as the run goes within
                        // one zone and up to the next dirty page.
                        let np = node.pages.partition_point(|p| p.fblk < fblk);
                        let dirty_gap = node.pages.get(np).map_or(u64::MAX, |p| p.fblk.saturating_sub(fblk));
                        let zone_end = self.zone_end(lba);
                        let k = core::cmp::min(core::cmp::min(run, ((n - done) / BLOCK_SIZE) as u64), zone_end - lba);
                        let k = core::cmp::max(1, core::cmp::min(k, dirty_gap));
                        let bytes = k as usize * BLOCK_SIZE;
                        self.read_lba(lba, &mut buf[done..done + bytes])?;
                        done += bytes;
                    } else {
                        if tmp.is_empty() {
                            tmp.try_resize(BLOCK_SIZE, 0)?;
                        }
                        self.read_lba(lba, &mut tmp)?;
                        buf[done..done + chunk].copy_from_slice(&tmp[boff..boff + chunk]);
                        done += chunk;
                    }
                }
            }
        }
        Ok(n)
    }

    /// [`Fs::read`] that fills all of `buf`: bytes past EOF read as zeros
    /// (a page-cache folio or block is filled whole). Returns the bytes of
    /// the file read, as [`Fs::read`].
    pub fn read_padded(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.read(ino, off, buf)?;
        if let Some(rest) = buf.get_mut(n..) {
            rest.fill(0);
        }
        Ok(n)
    }

    /// One past the last usable block of `lba`'s zone.
    pub(super) fn zone_end(&self, lba: u64) -> u64 {
        match self.geo.zone_of(lba) {
            Some(z) => self.geo.zone_start(z) + self.geo.zone_cap,
            None => lba + 1,
        }
    }

    /// Sets the dirty page for `fblk` of inode `i` to the whole block
    /// `src` (no zero-fill, no read).
    fn put_page(&mut self, i: usize, fblk: u64, src: &[u8]) -> Result<()> {
        match self.inodes[i].pages.binary_search_by(|p| p.fblk.cmp(&fblk)) {
            Ok(p) => {
                self.inodes[i].pages[p].data.copy_from_slice(src);
                Ok(())
            }
            Err(pos) => {
                let mut data = FVec::try_with_capacity(BLOCK_SIZE)?;
                data.try_extend_from_slice(src)?;
                let fresh = self.inodes[i].map.lookup(fblk).is_none();
                self.inodes[i].pages.try_insert(pos, Page { fblk, data, fresh })?;
                self.dirty_pages += 1;
                if fresh {
                    self.fresh_pages += 1;
                    self.take_prealloc(i, fblk, fblk + 1)?;
                }
                Ok(())
            }
        }
    }

    /// Index of the dirty page for `fblk` of inode `i`, creating it (with
    /// the block's current content if `load`) if needed.
    pub(super) fn page(&mut self, i: usize, fblk: u64, load: bool) -> Result<usize> {
        let pos = match self.inodes[i].pages.binary_search_by(|p| p.fblk.cmp(&fblk)) {
            Ok(p) => return Ok(p),
            Err(p) => p,
        };
        let mut data = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        let mapped = self.inodes[i].map.lookup(fblk);
        if let (true, Some((lba, _))) = (load, mapped) {
            self.read_lba(lba, &mut data)?;
        }
        let fresh = mapped.is_none();
        self.inodes[i].pages.try_insert(pos, Page { fblk, data, fresh })?;
        self.dirty_pages += 1;
        if fresh {
            self.fresh_pages += 1;
            self.take_prealloc(i, fblk, fblk + 1)?;
        }
        Ok(pos)
    }

    /// Writes at `off` (extending the file); returns bytes written (all of
    /// `data` unless an error occurs first). `EFBIG` beyond
    /// [`MAX_FILE_SIZE`], `ENOSPC` only when live data fills the device.
    /// Sets mtime and ctime.
    pub fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        self.begin_op()?;
        let i = self.find(ino)?;
        self.regular(i)?;
        if data.is_empty() {
            return Ok(0);
        }
        let end = off.checked_add(data.len() as u64).ok_or(EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        if let Some(d) = self.inodes[i].inline.as_mut() {
            if end as usize <= INLINE_MAX {
                if d.len() < end as usize {
                    d.try_resize(end as usize, 0)?;
                }
                d[off as usize..end as usize].copy_from_slice(data);
                let now = self.now;
                let n = &mut self.inodes[i];
                n.size = core::cmp::max(n.size, end);
                n.mtime = now;
                n.ctime = now;
                n.mark_dirty(&mut self.dirty);
                self.stats.user_bytes += data.len() as u64;
                return Ok(data.len());
            }
            self.uninline(i)?;
        }
        self.check_room(i, off, end)?;
        let mut done = 0usize;
        let mut i = i;
        while done < data.len() {
            let pos = off + done as u64;
            let fblk = pos / BS;
            let boff = (pos % BS) as usize;
            let chunk = core::cmp::min(BLOCK_SIZE - boff, data.len() - done);
            let partial = chunk < BLOCK_SIZE;
            if partial {
                let p = self.page(i, fblk, true)?;
                self.inodes[i].pages[p].data[boff..boff + chunk].copy_from_slice(&data[done..done + chunk]);
            } else {
                self.put_page(i, fblk, &data[done..done + chunk])?;
            }
            done += chunk;
            let n = &mut self.inodes[i];
            if pos + chunk as u64 > n.size {
                n.size = pos + chunk as u64;
            }
            if self.dirty_pages >= self.dirty_limit() {
                let now = self.now;
                let n = &mut self.inodes[i];
                n.mtime = now;
                n.ctime = now;
                n.mark_dirty(&mut self.dirty);
                self.writeback_all()?;
                i = self.find(ino)?;
            }
        }
        self.stats.user_bytes += data.len() as u64;
        let now = self.now;
        let n = &mut self.inodes[i];
        n.mtime = now;
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        Ok(data.len())
    }

    /// `ENOSPC` unless a write of bytes `off..end` of inode index `i` fits:
    /// the blocks it adds must fit in the free space, and its block map
    /// must stay small enough for a node to fit in one zone.
    fn check_room(&mut self, i: usize, off: u64, end: u64) -> Result<()> {
        let (a, b) = (off / BS, end.div_ceil(BS));
        let new = self.new_blocks(i, a, b);
        let used = self.used_blocks();
        // A write into blocks `fallocate` reserved was paid for: it must not
        // fail because metadata written since (nodes are not reserved
        // ahead) took the free space to zero.
        let paid = new == 0 && self.inodes[i].prealloc_in(a, b) != 0;
        if used + new > self.zones.usable_blocks() && !paid {
            return Err(ENOSPC);
        }
        // Refuse writes that could fragment the block map past half of a
        // zone (the other half is headroom for GC, which may split extents
        // when it moves blocks).
        let nblocks = end.div_ceil(BS) - off / BS;
        let grow = (nblocks as usize).saturating_mul(12);
        if self.node_len_estimate(i).saturating_add(grow) > self.max_node_bytes() / 2 && self.inodes[i].map.v.len() > 1 {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// Blocks `a..b` of inode index `i` that writing them would add: those
    /// neither mapped nor already a dirty page nor reserved by `fallocate`
    /// (each of those is counted as used already), counted by extents (not
    /// block by block: writeback passes 1 MiB at a time).
    pub(super) fn new_blocks(&self, i: usize, a: u64, b: u64) -> u64 {
        let n = &self.inodes[i];
        let lo = n.pages.partition_point(|p| p.fblk < a);
        let hi = n.pages.partition_point(|p| p.fblk < b);
        let dirty_unmapped = n.pages[lo..hi].iter().filter(|p| n.map.lookup(p.fblk).is_none()).count() as u64;
        (b - a).saturating_sub(n.map.mapped_in(a, b)).saturating_sub(dirty_unmapped).saturating_sub(n.prealloc_in(a, b))
    }

    /// Blocks `from..to` of inode index `i` stop being reserved: they were
    /// just mapped or became dirty pages, which are counted as used in
    /// their place.
    pub(super) fn take_prealloc(&mut self, i: usize, from: u64, to: u64) -> Result<()> {
        let n = self.inodes[i].unprealloc(from, to)?;
        self.prealloc = self.prealloc.saturating_sub(n);
        Ok(())
    }

    /// Delayed allocation for a page cache outside the core (the kernel's):
    /// before a `write(2)` dirties blocks `first..first + count` of `ino`,
    /// reserves room for those of them that writeback will add, so a write
    /// that does not fit fails there with `ENOSPC` instead of being lost at
    /// writeback, after the caller was told it succeeded. `held` is what
    /// the caller already holds for the same blocks (an earlier write to
    /// the same folio); returns what it holds now (never less). The caller
    /// gives it back with [`Fs::unreserve`] when it writes the blocks back
    /// (just before, so the write itself does not count them twice) or
    /// drops them.
    pub fn reserve(&mut self, ino: u64, first: u64, count: u64, held: u64) -> Result<u64> {
        self.writable()?;
        let i = self.find(ino)?;
        self.regular(i)?;
        let end = first.checked_add(count).filter(|&e| e <= MAX_FILE_SIZE / BS).ok_or(EFBIG)?;
        let want = self.new_blocks(i, first, end);
        if want <= held {
            return Ok(held);
        }
        if self.used_blocks() + (want - held) > self.zones.usable_blocks() {
            return Err(ENOSPC);
        }
        self.reserved += want - held;
        Ok(want)
    }

    /// Gives back `blocks` reserved by [`Fs::reserve`].
    pub fn unreserve(&mut self, blocks: u64) {
        self.reserved = self.reserved.saturating_sub(blocks);
    }

    /// Blocks reserved and not given back (0 once the page cache is clean).
    pub fn reserved_blocks(&self) -> u64 {
        self.reserved
    }

    /// Writes whole blocks at the block-aligned `off` straight to the data
    /// log, bypassing the dirty page cache. Every buffer must be one whole
    /// block (`EINVAL`). See [`Fs::write_blocks_with`].
    pub fn write_blocks(&mut self, ino: u64, off: u64, blocks: &[&[u8]]) -> Result<()> {
        if blocks.iter().any(|b| b.len() != BLOCK_SIZE) {
            return Err(EINVAL);
        }
        self.write_blocks_with(ino, off, blocks.len(), |dev, lba, run| {
            dev.write_vectored(lba, blocks.get(run).ok_or(EIO)?)
        })
    }

    /// Writes `count` whole blocks at the block-aligned `off` (`EINVAL`
    /// otherwise) straight to the data log, bypassing the dirty page
    /// cache: the kernel's writeback hands over page-cache folios this
    /// way, so they reach the device without a copy. The core places the
    /// blocks and `write(dev, lba, run)` writes blocks `run` (indices into
    /// the `count`) at `lba`, the zone's write pointer; it may leave the
    /// write in flight if the device finishes it before any other
    /// operation on it (the kernel's device does). Dirty pages of the
    /// range are dropped (the caller's data is newer); the size grows to
    /// the end of the range; mtime and ctime are set. Errors as
    /// [`Fs::write`].
    pub fn write_blocks_with(
        &mut self,
        ino: u64,
        off: u64,
        count: usize,
        mut write: impl FnMut(&mut D, u64, core::ops::Range<usize>) -> Result<()>,
    ) -> Result<()> {
        self.begin_op()?;
        let i = self.find(ino)?;
        self.regular(i)?;
        if count == 0 {
            return Ok(());
        }
        if off % BS != 0 {
            return Err(EINVAL);
        }
        let first = off / BS;
        let end = (count as u64).checked_mul(BS).and_then(|n| n.checked_add(off)).ok_or(EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        if self.inodes[i].inline.is_some() {
            self.uninline(i)?;
        }
        self.check_room(i, off, end)?;
        self.drop_pages(i, first, first + count as u64);
        let mut done = 0usize;
        while done < count {
            let (lba, got) = self.data_run((count - done) as u64)?;
            if let Err(e) = write(&mut self.dev, lba, done..done + got as usize) {
                self.broken = true;
                return Err(e);
            }
            self.record_run(ino, first + done as u64, lba, got)?;
            done += got as usize;
        }
        self.stats.user_bytes += end - off;
        let now = self.now;
        let i = self.find(ino)?;
        let n = &mut self.inodes[i];
        n.size = core::cmp::max(n.size, end);
        n.mtime = now;
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Drops the dirty pages of blocks `from..to` of inode index `i`.
    pub(super) fn drop_pages(&mut self, i: usize, from: u64, to: u64) {
        let n = &mut self.inodes[i];
        let lo = n.pages.partition_point(|p| p.fblk < from);
        let hi = n.pages.partition_point(|p| p.fblk < to);
        if lo == hi {
            return;
        }
        let fresh = n.pages[lo..hi].iter().filter(|p| p.fresh).count() as u64;
        n.pages.as_mut_slice()[lo..].rotate_left(hi - lo);
        let keep = n.pages.len() - (hi - lo);
        n.pages.truncate(keep);
        self.dirty_pages = self.dirty_pages.saturating_sub((hi - lo) as u64);
        self.fresh_pages = self.fresh_pages.saturating_sub(fresh);
    }

    /// Node payload size of inode index `i`, recomputed only when its
    /// extent count moved by 256 since the last time (an extent costs at
    /// most `EXTENT_MAX_BYTES`), so writes to huge fragmented files stay
    /// O(log n).
    fn node_len_estimate(&mut self, i: usize) -> usize {
        let n = &mut self.inodes[i];
        let ext = n.map.v.len();
        let (cached_ext, cached_len) = (n.len_cache.0 as usize, n.len_cache.1 as usize);
        if cached_len != 0 && ext.abs_diff(cached_ext) < 256 {
            return cached_len + ext.saturating_sub(cached_ext) * super::inode::EXTENT_MAX_BYTES;
        }
        let len = n.encoded_len();
        // Lengths beyond u32 are far past any node's limit: not cached.
        n.len_cache = match (u32::try_from(ext), u32::try_from(len)) {
            (Ok(e), Ok(l)) => (e, l),
            _ => (0, 0),
        };
        len
    }

    /// Moves the inline content of inode index `i` into a dirty page of
    /// block 0: the file becomes block-mapped.
    pub(super) fn uninline(&mut self, i: usize) -> Result<()> {
        let d = match self.inodes[i].inline.take() {
            Some(d) => d,
            None => return Ok(()),
        };
        if !d.is_empty() {
            let p = match self.page(i, 0, false) {
                Ok(p) => p,
                Err(e) => {
                    self.inodes[i].inline = Some(d);
                    return Err(e);
                }
            };
            self.inodes[i].pages[p].data[..d.len()].copy_from_slice(&d);
        }
        self.inodes[i].mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Sets the size of inode index `i` (a regular file).
    pub(super) fn truncate(&mut self, i: usize, size: u64) -> Result<()> {
        if let Some(d) = self.inodes[i].inline.as_mut() {
            if size as usize <= INLINE_MAX {
                d.try_resize(size as usize, 0)?;
                let n = &mut self.inodes[i];
                n.size = size;
                n.ctime = self.now;
                n.mark_dirty(&mut self.dirty);
                return Ok(());
            }
            self.uninline(i)?;
        }
        let old = self.inodes[i].size;
        if size <= old {
            // Blocks reserved past the new end go, as on ext4 and XFS
            // (FALLOC_FL_KEEP_SIZE blocks past EOF included).
            self.take_prealloc(i, size.div_ceil(BS), MAX_FILE_SIZE / BS)?;
        }
        if size < old {
            let keep = size.div_ceil(BS);
            // Drop pages past the end.
            let n = &mut self.inodes[i];
            let mut dropped = 0u64;
            let mut fresh = 0u64;
            while let Some(p) = n.pages.last() {
                if p.fblk < keep {
                    break;
                }
                if p.fresh {
                    fresh += 1;
                }
                dropped += 1;
                n.pages.pop();
            }
            self.dirty_pages = self.dirty_pages.saturating_sub(dropped);
            self.fresh_pages = self.fresh_pages.saturating_sub(fresh);
            let zones = &mut self.zones;
            self.inodes[i].map.truncate(keep, &mut |lba, len| {
                for k in 0..len as u64 {
                    zones.release(lba + k);
                }
            })?;
            // The tail of the last block must read as zeros if the file
            // grows again.
            let tail = (size % BS) as usize;
            if tail != 0 {
                let fblk = size / BS;
                let n = &self.inodes[i];
                let has = n.map.lookup(fblk).is_some() || n.pages.binary_search_by(|p| p.fblk.cmp(&fblk)).is_ok();
                if has {
                    let p = self.page(i, fblk, true)?;
                    self.inodes[i].pages[p].data[tail..].fill(0);
                }
            }
        }
        let n = &mut self.inodes[i];
        n.size = size;
        n.ctime = self.now;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Writes back the dirty pages of every inode.
    pub(super) fn writeback_all(&mut self) -> Result<()> {
        for i in self.inodes.slots()?.iter().copied() {
            if self.inodes.get(i).is_some_and(|n| !n.pages.is_empty()) {
                self.writeback_inode(i)?;
            }
        }
        Ok(())
    }

    /// Space for `want` data blocks in the data log, running foreground GC
    /// when free zones run short.
    fn data_run(&mut self, want: u64) -> Result<(u64, u64)> {
        for _ in 0..3 {
            let keep = self.zones.reserve;
            match self.zones.reserve_run(&mut self.dev, H_DATA, want, false, keep) {
                Err(ENOSPC) => self.gc_foreground()?,
                other => return other,
            }
        }
        Err(ENOSPC)
    }

    /// Writes the dirty pages of inode index `i` to the data log.
    pub(super) fn writeback_inode(&mut self, i: usize) -> Result<()> {
        let ino = self.inodes[i].ino;
        // Pages `..done` are on the device; they leave the cache at the end
        // in one move (removing them one by one would be quadratic).
        let mut done = 0usize;
        let r = self.writeback_pages(ino, &mut done);
        if let Ok(i) = self.find(ino) {
            let pages = &self.inodes[i].pages;
            if let (Some(a), Some(b)) = (pages.first(), done.checked_sub(1).and_then(|d| pages.get(d))) {
                let (from, to) = (a.fblk, b.fblk + 1);
                self.drop_pages(i, from, to);
            }
        }
        r
    }

    fn writeback_pages(&mut self, ino: u64, done: &mut usize) -> Result<()> {
        loop {
            let i = self.find(ino)?;
            let n = &self.inodes[i];
            let first = match n.pages.get(*done) {
                Some(p) => p.fblk,
                None => return Ok(()),
            };
            // A run of consecutive file blocks.
            let mut run = 1u64;
            while run < MAX_RUN
                && *done + (run as usize) < n.pages.len()
                && n.pages[*done + run as usize].fblk == first + run
            {
                run += 1;
            }
            let (lba, got) = self.data_run(run)?;
            let i = self.find(ino)?;
            // The pages go to the device as they are, without a gather copy.
            let written = {
                let mut bufs: FVec<&[u8]> = FVec::try_with_capacity(got as usize)?;
                for p in self.inodes[i].pages.get(*done..*done + got as usize).ok_or(EIO)? {
                    bufs.try_push(&p.data)?;
                }
                self.dev.write_vectored(lba, &bufs)
            };
            if let Err(e) = written {
                self.broken = true;
                return Err(e);
            }
            self.record_run(ino, first, lba, got)?;
            *done += got as usize;
        }
    }

    /// Books `got` blocks just written at `lba` as file blocks `first..` of
    /// inode `ino`: the zone's write pointer, the block map (freeing what
    /// they replace) and the zone's live count (the head's chunk records the owners).
    fn record_run(&mut self, ino: u64, first: u64, lba: u64, got: u64) -> Result<()> {
        let i = self.find(ino)?;
        self.zones.commit_run(H_DATA, lba, got, owner_data(ino, first));
        self.stats.data_blocks += got;
        self.take_prealloc(i, first, first + got)?;
        let zones = &mut self.zones;
        let n = &mut self.inodes[i];
        n.map.set(first, got as u32, Some(lba), &mut |old, len| {
            for k in 0..len as u64 {
                zones.release(old + k);
            }
        })?;
        for k in 0..got {
            if let Err(e) = zones.claim(lba + k) {
                // The maps and the zone counts disagree: stop writing.
                self.broken = true;
                return Err(e);
            }
        }
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Writes the node of inode index `i` to the node log and frees the old
    /// one.
    pub(super) fn write_node(&mut self, i: usize) -> Result<()> {
        self.write_node_marked(i, None, false)
    }

    /// [`Fs::write_node`] with a link mark in the node, and written
    /// durably after everything before it if `durable` (`fsync.rs`).
    pub(super) fn write_node_marked(&mut self, i: usize, mark: Option<&LinkMark>, durable: bool) -> Result<()> {
        let mut payload: FVec<u8> = FVec::new();
        self.inodes[i].encode_marked(&mut payload, mark)?;
        let count = core::cmp::max(1, payload.len().div_ceil(NODE_PAYLOAD)) as u64;
        if count > self.geo.zone_cap || count > u16::MAX as u64 {
            return Err(ENOSPC);
        }
        let (lba, _) = self.zones.reserve_run(&mut self.dev, H_NODE, count, true, 0).map_err(|e| {
            if e != ENOSPC {
                self.broken = true;
            }
            e
        })?;
        let mut buf = FVec::try_from_elem(0u8, count as usize * BLOCK_SIZE)?;
        let ino = self.inodes[i].ino;
        let version = self.node_version;
        self.node_version = self.node_version.saturating_add(1);
        for k in 0..count as usize {
            let from = k * NODE_PAYLOAD;
            let to = core::cmp::min(payload.len(), from + NODE_PAYLOAD);
            let blk = &mut buf[k * BLOCK_SIZE..(k + 1) * BLOCK_SIZE];
            let part = payload.get(from..to).unwrap_or(&[]);
            blk[NODE_HDR..NODE_HDR + part.len()].copy_from_slice(part);
            let h = NodeHdr {
                len: part.len() as u32,
                ino,
                version,
                cp_seq: self.cp_seq,
                idx: k as u16,
                count: count as u16,
            };
            seal_node(blk, &h, self.seed);
        }
        let written = if durable { self.dev.write_durable(lba, &buf) } else { self.dev.write(lba, &buf) };
        if let Err(e) = written {
            self.broken = true;
            return Err(e);
        }
        self.zones.commit_run(H_NODE, lba, count, owner_node(ino, 0));
        self.stats.node_blocks += count;
        let n = &mut self.inodes[i];
        if n.node_blocks == 0 {
            self.nodeless = self.nodeless.saturating_sub(1);
        }
        self.zones.release_node(n.node_lba, n.node_blocks, n.pack_units());
        for k in 0..count {
            if let Err(e) = self.zones.claim(lba + k) {
                self.broken = true;
                return Err(e);
            }
        }
        n.node_lba = lba;
        n.node_blocks = count as u32;
        n.packed = false;
        n.clear_dirty();
        let e = super::nat::entry_of(n);
        if let Err(e) = self.nat.set(e) {
            self.broken = true;
            return Err(e);
        }
        Ok(())
    }

    /// Writes the node of every inode that needs one: nodes up to
    /// `PACK_MAX` bytes share pack blocks, bigger ones get their own.
    pub(super) fn write_dirty_nodes(&mut self) -> Result<()> {
        let mut recs: FVec<u8> = FVec::new();
        let mut members: FVec<usize> = FVec::new();
        let mut tmp: FVec<u8> = FVec::new();
        // In inode order, as the packs have always been filled.
        if !self.dirty.overflowed() {
            self.dirty.sort();
        }
        // If the list overflows midway (no memory), positions switch to
        // every inode: go round once more from the first so none is missed.
        let mut walked_all = self.dirty.overflowed();
        let mut k = 0;
        loop {
            let Some(slot) = self.dirty_slot(k) else {
                if walked_all || !self.dirty.overflowed() {
                    break;
                }
                // Nodes waiting in the pack are still dirty: write them
                // first, or the second round would pack them again.
                self.flush_pack(&mut recs, &mut members)?;
                walked_all = true;
                k = 0;
                continue;
            };
            k += 1;
            let Some(i) = slot else { continue };
            if self.inodes[i].is_dirty() || self.inodes[i].node_blocks == 0 {
                // A directory's changed dentry blocks go first: its node
                // maps them.
                self.write_dentry_blocks(i)?;
                let n = &self.inodes[i];
                tmp.clear();
                n.encode(&mut tmp)?;
                if tmp.len() <= PACK_MAX {
                    if recs.len() + PACK_REC + tmp.len() > NODE_PAYLOAD || members.len() >= PACK_RECORDS_MAX {
                        self.flush_pack(&mut recs, &mut members)?;
                    }
                    let version = self.node_version;
                    self.node_version = self.node_version.saturating_add(1);
                    let ino = self.inodes[i].ino;
                    let mut e = Enc { out: &mut recs };
                    e.u64(ino)?;
                    e.u64(version)?;
                    e.u32(tmp.len() as u32)?;
                    e.bytes(&tmp)?;
                    members.try_push(i)?;
                } else {
                    self.write_node(i)?;
                }
            }
        }
        self.flush_pack(&mut recs, &mut members)
    }

    /// Appends one sealed block (pack, NAT or dentry block) to the node log
    /// and returns where it went. A failed device write breaks the
    /// filesystem; ENOSPC leaves it as it was.
    pub(super) fn append_node_block(&mut self, blk: &[u8], owner: u64) -> Result<u64> {
        let (lba, _) = self.zones.reserve_run(&mut self.dev, H_NODE, 1, true, 0).map_err(|e| {
            if e != ENOSPC {
                self.broken = true;
            }
            e
        })?;
        if let Err(e) = self.dev.write(lba, blk) {
            self.broken = true;
            return Err(e);
        }
        self.zones.commit_run(H_NODE, lba, 1, owner);
        self.stats.node_blocks += 1;
        Ok(lba)
    }

    /// Writes one pack block with `recs` for the inodes at `members`.
    fn flush_pack(&mut self, recs: &mut FVec<u8>, members: &mut FVec<usize>) -> Result<()> {
        if members.is_empty() {
            return Ok(());
        }
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        blk[NODE_HDR..NODE_HDR + recs.len()].copy_from_slice(recs);
        let h = NodeHdr { len: recs.len() as u32, ino: 0, version: 0, cp_seq: self.cp_seq, idx: 0, count: 1 };
        seal_pack(&mut blk, &h, self.seed);
        let lba = self.append_node_block(&blk, OWNER_PACK)?;
        let records = members.len();
        for (j, &i) in members.iter().enumerate() {
            let n = &mut self.inodes[i];
            if n.node_blocks == 0 {
                self.nodeless = self.nodeless.saturating_sub(1);
            }
            self.zones.release_node(n.node_lba, n.node_blocks, n.pack_units());
            let share = pack_share(j, records);
            if let Err(e) = self.zones.claim_units(lba, share) {
                self.broken = true;
                return Err(e);
            }
            n.node_lba = lba;
            n.node_blocks = 1;
            n.packed = true;
            n.pack_share = share as u8;
            n.clear_dirty();
            let e = super::nat::entry_of(n);
            if let Err(e) = self.nat.set(e) {
                self.broken = true;
                return Err(e);
            }
        }
        recs.clear();
        members.clear();
        Ok(())
    }
}
