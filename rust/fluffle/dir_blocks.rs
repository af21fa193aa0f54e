//! A directory's entries, read and changed through the filesystem: inline
//! in a small directory's node, in hashed dentry blocks (`dir_hash.rs`)
//! once they pass `INLINE_DENTRY_MAX` bytes. A dentry block is read when a
//! lookup, insert or listing needs it and stays in memory with its
//! directory; a change marks the block, and the next checkpoint writes the
//! marked blocks (or unmaps the ones left empty) before the directory's
//! node, so adding, removing or finding one entry reads and writes
//! O(levels) blocks at any directory size. (Format v4 read every dentry
//! block when it loaded a directory and held all its entries.)
//!
//! Block format: the node block header (kind `KIND_DENT`, inode = the
//! directory, version = block index) and the records of `dir.rs`. Dentry
//! blocks live in the node log and are owned like file data
//! (`owner_data(dir, block)`), so GC moves them as it moves data.

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::dir::{self, cookie_of, cookie_split, name_hash, rec_len, DentBlock, INLINE_DENTRY_MAX};
use super::dir_hash::{bucket_blocks, level_of, blocks_through, MAX_LEVELS};
use super::errno::*;
use super::fs::Fs;
use super::layout::{open_dent, seal_dent, NodeHdr, NODE_HDR, NODE_PAYLOAD};
use super::mem::FVec;
use super::read_window::ReadWindow;
use super::types::FileType;
use super::zones::owner_data;

/// Dentry blocks a directory keeps in memory (16 MiB, the blocks of about
/// 500 000 entries) before its clean ones are dropped: a directory the VFS
/// holds (a working directory, the root) would otherwise keep every block
/// a listing read. Dirty blocks stay until the checkpoint writes them.
pub const DENT_CACHE_MAX: usize = 4096;

/// An entry as the filesystem sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dent {
    /// Its readdir cookie (and position: block and slot).
    pub cookie: u64,
    /// Target inode.
    pub ino: u64,
    /// Target kind.
    pub ftype: FileType,
}

impl Dent {
    /// Record `r` of block `blk` (0 for a small directory's inline ones).
    fn of(blk: u64, r: &dir::Rec<'_>) -> Self {
        Dent { cookie: cookie_of(blk, r.slot), ino: r.ino, ftype: r.ftype }
    }
}

/// Records [`Fs::change_buf`] changes.
enum Target<'a> {
    Inline(&'a mut FVec<u8>),
    Block(&'a mut DentBlock),
}

impl<D: ZonedDevice> Fs<D> {
    /// True if directory index `i` keeps its entries in blocks.
    pub(super) fn dir_in_blocks(&self, i: usize) -> bool {
        self.inodes[i].entries_in_blocks()
    }

    /// Reads and checks dentry block `blk` of directory index `d` at
    /// `lba`, through `win` when given (a listing reads ahead).
    fn read_dent_block(&mut self, d: usize, blk: u64, lba: u64, win: Option<&mut ReadWindow>) -> Result<FVec<u8>> {
        let ino = self.inodes[d].ino;
        let end = self.written_end(lba)?;
        let mut one;
        let b: &[u8] = match win {
            Some(w) => w.block(&mut self.dev, lba, end)?,
            None => {
                one = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
                self.dev.read(lba, &mut one)?;
                &one
            }
        };
        let h = open_dent(b, self.seed)?;
        if h.ino != ino || h.version != blk {
            return Err(EUCLEAN);
        }
        let payload = b.get(NODE_HDR..NODE_HDR + h.len as usize).ok_or(EUCLEAN)?;
        dir::validate(payload)?;
        let mut recs = FVec::new();
        recs.try_extend_from_slice(payload)?;
        Ok(recs)
    }

    /// Position of dentry block `blk` of big directory index `d` in its
    /// block list, read from disk if needed; `None` for a hole.
    fn dent_block(&mut self, d: usize, blk: u64, win: Option<&mut ReadWindow>) -> Result<Option<usize>> {
        let dir = self.inodes[d].dir_state().ok_or(EUCLEAN)?;
        let at = match dir.block_pos(blk) {
            Ok(p) => return Ok(Some(p)),
            Err(at) => at,
        };
        let Some((lba, _)) = self.inodes[d].map.lookup(blk) else { return Ok(None) };
        let recs = self.read_dent_block(d, blk, lba, win)?;
        let max = self.dent_cache_max;
        let dir = self.inodes[d].dir_mut()?;
        let mut at = at;
        if dir.blocks.len() >= max {
            // Callers hold no position across calls: the clean blocks may go.
            dir.blocks.retain(|b| b.dirty);
            at = dir.block_pos(blk).err().ok_or(EUCLEAN)?;
        }
        dir.blocks.try_insert(at, DentBlock::new(blk, recs))?;
        self.stats.dent_reads += 1;
        Ok(Some(at))
    }

    /// Looks `name` up in directory index `d`.
    pub(super) fn dir_find(&mut self, d: usize, name: &[u8]) -> Result<Option<Dent>> {
        let Some(dir) = self.inodes[d].dir_state() else { return Ok(None) };
        if !dir.big {
            return Ok(dir::find_name(&dir.inline, name).map(|r| Dent::of(0, &r)));
        }
        let (h, levels) = (name_hash(name), dir.levels.min(MAX_LEVELS));
        for level in 0..levels {
            for blk in bucket_blocks(level, h) {
                let Some(p) = self.dent_block(d, blk, None)? else { continue };
                let dir = self.inodes[d].dir_state().ok_or(EUCLEAN)?;
                if let Some(r) = dir.blocks[p].find(name, h) {
                    return Ok(Some(Dent::of(blk, &r)));
                }
            }
        }
        Ok(None)
    }

    /// Adds `name` (not in the directory: the caller looked) to directory
    /// index `d`; returns its cookie. `ENOSPC` if no level has room.
    pub(super) fn dir_add(&mut self, d: usize, name: &[u8], ino: u64, ftype: FileType) -> Result<u64> {
        let len = rec_len(name.len());
        let dir = self.inodes[d].dir_mut()?;
        if !dir.big {
            if dir.inline.len() + len <= INLINE_DENTRY_MAX {
                // At most INLINE_DENTRY_MAX / 12 records: a slot is free.
                let slot = dir::free_slot(&dir.inline).ok_or(EUCLEAN)?;
                dir::insert(&mut dir.inline, slot, ino, ftype, name)?;
                return self.entry_added(d, cookie_of(0, slot));
            }
            // Outgrown: the records become block 0 as they are (level 0
            // has one bucket, so any name may live there; cookies stay).
            dir.blocks.try_reserve(1)?;
            let recs = core::mem::take(&mut dir.inline);
            dir.blocks.try_insert(0, DentBlock::new(0, recs))?;
            dir.touch(0);
            dir.big = true;
            dir.levels = dir.levels.max(1);
        }
        let h = name_hash(name);
        for level in 0..MAX_LEVELS {
            for blk in bucket_blocks(level, h) {
                let p = match self.dent_block(d, blk, None)? {
                    Some(p) => p,
                    None => {
                        let dir = self.inodes[d].dir_mut()?;
                        let at = dir.block_pos(blk).err().ok_or(EUCLEAN)?;
                        dir.blocks.try_insert(at, DentBlock::new(blk, FVec::new()))?;
                        at
                    }
                };
                let dir = self.inodes[d].dir_mut()?;
                let b = &mut dir.blocks[p];
                if b.recs.len() + len > NODE_PAYLOAD {
                    continue;
                }
                let Some(slot) = b.free_slot() else { continue };
                b.insert(slot, ino, ftype, name)?;
                dir.touch(p);
                dir.levels = dir.levels.max(level + 1);
                return self.entry_added(d, cookie_of(blk, slot));
            }
        }
        Err(ENOSPC)
    }

    fn entry_added(&mut self, d: usize, cookie: u64) -> Result<u64> {
        let n = &mut self.inodes[d];
        n.size += 1;
        n.mark_dirty(&mut self.dirty);
        Ok(cookie)
    }

    /// The records buffer holding `cookie` in directory index `d` (read if
    /// needed) and the slot: `None` if no block is there.
    fn entry_buf(&mut self, d: usize, cookie: u64) -> Result<Option<(u64, u8)>> {
        let Some((blk, slot)) = cookie_split(cookie) else { return Ok(None) };
        if self.inodes[d].entries_in_blocks() {
            if self.dent_block(d, blk, None)?.is_none() {
                return Ok(None);
            }
        } else if blk != 0 {
            return Ok(None);
        }
        Ok(Some((blk, slot)))
    }

    /// Calls `f` on the records of `blk` in directory index `d` (in
    /// memory: the inline ones, or the block) and marks them changed if
    /// `f` returns true.
    fn change_buf(&mut self, d: usize, blk: u64, f: impl FnOnce(Target<'_>) -> bool) -> Result<bool> {
        let n = &mut self.inodes[d];
        let dir = n.dir_mut()?;
        let changed = if dir.big {
            let p = dir.block_pos(blk).map_err(|_| EUCLEAN)?;
            let changed = f(Target::Block(&mut dir.blocks[p]));
            if changed {
                dir.touch(p);
            }
            changed
        } else {
            f(Target::Inline(&mut dir.inline))
        };
        if changed {
            n.mark_dirty(&mut self.dirty);
        }
        Ok(changed)
    }

    /// Removes the entry at `cookie` from directory index `d`.
    pub(super) fn dir_remove(&mut self, d: usize, cookie: u64) -> Result<()> {
        let (blk, slot) = self.entry_buf(d, cookie)?.ok_or(ENOENT)?;
        let gone = |t: Target<'_>| match t {
            Target::Block(b) => b.remove(slot),
            Target::Inline(v) => dir::remove(v, slot),
        };
        if !self.change_buf(d, blk, gone)? {
            return Err(ENOENT);
        }
        let n = &mut self.inodes[d];
        n.size = n.size.saturating_sub(1);
        n.dir_mut()?.lost_names = true;
        Ok(())
    }

    /// Points the entry at `cookie` of directory index `d` at another
    /// inode (rename over an existing name, exchange).
    pub(super) fn dir_retarget(&mut self, d: usize, cookie: u64, ino: u64, ftype: FileType) -> Result<()> {
        let (blk, slot) = self.entry_buf(d, cookie)?.ok_or(ENOENT)?;
        // The name stays: the block's filter stays right.
        let retarget = |t: Target<'_>| match t {
            Target::Block(b) => dir::set_target(&mut b.recs, slot, ino, ftype),
            Target::Inline(v) => dir::set_target(v, slot, ino, ftype),
        };
        if !self.change_buf(d, blk, retarget)? {
            return Err(ENOENT);
        }
        self.inodes[d].dir_mut()?.lost_names = true;
        Ok(())
    }

    /// The entry at `cookie` of directory index `d` and its name.
    pub(super) fn dir_entry_at(&mut self, d: usize, cookie: u64) -> Result<Option<(Dent, FVec<u8>)>> {
        let Some((blk, slot)) = self.entry_buf(d, cookie)? else { return Ok(None) };
        let Some(buf) = self.inodes[d].dir_state().and_then(|x| x.buf_of(blk)) else { return Ok(None) };
        let Some(r) = dir::find_slot(buf, slot) else { return Ok(None) };
        let mut name = FVec::new();
        name.try_extend_from_slice(r.name)?;
        Ok(Some((Dent::of(blk, &r), name)))
    }

    /// Calls `f(dent, name)` for each entry of directory index `d` with a
    /// cookie above `after`, in cookie order, until it returns false.
    pub(super) fn dir_walk(&mut self, d: usize, after: u64, f: &mut dyn FnMut(Dent, &[u8]) -> bool) -> Result<()> {
        let (first, from_slot) = match cookie_split(after.saturating_add(1)) {
            Some(x) => x,
            None => (0, 0),
        };
        if !self.inodes[d].entries_in_blocks() {
            if first == 0 {
                let Some(dir) = self.inodes[d].dir_state() else { return Ok(()) };
                for r in dir::recs(&dir.inline).filter(|r| r.slot >= from_slot) {
                    if !f(Dent::of(0, &r), r.name) {
                        break;
                    }
                }
            }
            return Ok(());
        }
        let levels = self.inodes[d].dir_state().map_or(0, |x| x.levels);
        let end = blocks_through(levels);
        // Made when a block must come from disk (a listing of blocks in
        // memory reads nothing).
        let mut win: Option<ReadWindow> = None;
        let mut blk = first;
        while blk < end {
            // Skip holes: the next block in memory or mapped.
            let cached = self.inodes[d].dir_state().and_then(|x| {
                let p = x.block_pos(blk).unwrap_or_else(|p| p);
                x.blocks.get(p).map(|b| b.blk)
            });
            let mapped = self.inodes[d].map.next_mapped(blk);
            let Some(next) = [cached, mapped].into_iter().flatten().min() else { break };
            blk = next;
            if blk >= end {
                break;
            }
            if cached != Some(blk) && win.is_none() {
                win = Some(ReadWindow::new()?);
            }
            let Some(p) = self.dent_block(d, blk, win.as_mut())? else {
                blk += 1;
                continue;
            };
            let dir = self.inodes[d].dir_state().ok_or(EUCLEAN)?;
            let lo = if blk == first { from_slot } else { 0 };
            for r in dir::recs(&dir.blocks[p].recs).filter(|r| r.slot >= lo) {
                if !f(Dent::of(blk, &r), r.name) {
                    return Ok(());
                }
            }
            blk += 1;
        }
        Ok(())
    }

    /// Before directory index `i`'s node is written: writes its changed
    /// dentry blocks and unmaps the ones left empty.
    pub(super) fn write_dentry_blocks(&mut self, i: usize) -> Result<()> {
        let Some(dir) = self.inodes[i].dir_state() else { return Ok(()) };
        if !dir.big || dir.dirty_blocks == 0 {
            return Ok(());
        }
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        let mut p = 0;
        while let Some(b) = self.inodes[i].dir_state().and_then(|x| x.blocks.get(p)) {
            if !b.dirty {
                p += 1;
                continue;
            }
            let k = b.blk;
            if b.recs.is_empty() {
                // A hole again: lookups skip it, the next insert may
                // take it.
                self.map_dentry_block(i, k, None)?;
                let dir = self.inodes[i].dir_mut()?;
                dir.blocks.remove(p);
                dir.dirty_blocks = dir.dirty_blocks.saturating_sub(1);
                continue;
            }
            blk.as_mut_slice().fill(0);
            let len = b.recs.len();
            blk[NODE_HDR..NODE_HDR + len].copy_from_slice(&b.recs);
            self.write_dentry_block(i, k, &mut blk, len)?;
            let dir = self.inodes[i].dir_mut()?;
            dir.blocks[p].dirty = false;
            dir.dirty_blocks = dir.dirty_blocks.saturating_sub(1);
            p += 1;
        }
        Ok(())
    }

    /// Writes dentry block `k` of directory index `i` to the node log.
    fn write_dentry_block(&mut self, i: usize, k: u64, blk: &mut [u8], len: usize) -> Result<()> {
        let ino = self.inodes[i].ino;
        let h = NodeHdr { len: len as u32, ino, version: k, cp_seq: self.cp_seq, idx: 0, count: 1 };
        seal_dent(blk, &h, self.seed);
        let lba = self.append_node_block(blk, owner_data(ino, k))?;
        self.map_dentry_block(i, k, Some(lba))?;
        if let Err(e) = self.zones.claim(lba) {
            self.broken = true;
            return Err(e);
        }
        Ok(())
    }

    /// Maps dentry block `k` of directory index `i` to `lba` (`None`: a
    /// hole), releasing the block it replaces; the node must be rewritten.
    fn map_dentry_block(&mut self, i: usize, k: u64, lba: Option<u64>) -> Result<()> {
        let zones = &mut self.zones;
        let n = &mut self.inodes[i];
        n.map.set(k, 1, lba, &mut |old, len| {
            for j in 0..len as u64 {
                zones.release(old + j);
            }
        })?;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Dentry blocks directory `dir` has on disk (tests, tools).
    pub fn dentry_block_count(&mut self, dir: u64) -> Result<u64> {
        let d = self.find(dir)?;
        Ok(self.inodes[d].map.mapped_blocks())
    }

    /// fsck: reads every dentry block of directory index `d` from disk (not
    /// from memory) and checks it: its header, its records, each name in
    /// its hash bucket, the count against the node's, no name twice.
    /// Returns the problems' count (0: clean).
    pub(super) fn check_dentry_blocks(&mut self, d: usize) -> Result<u64> {
        if !self.dir_in_blocks(d) {
            return Ok(0);
        }
        let (mut bad, mut count) = (0u64, 0u64);
        let mut hashes: FVec<(u32, u64)> = FVec::new();
        let extents = self.inodes[d].map.v.try_clone()?;
        for e in extents.iter() {
            for k in 0..e.len as u64 {
                let blk = e.fblk + k;
                let Some(level) = level_of(blk) else {
                    bad += 1;
                    continue;
                };
                let Ok(recs) = self.read_dent_block(d, blk, e.lba + k, None) else {
                    bad += 1;
                    continue;
                };
                for r in dir::recs(&recs) {
                    let h = name_hash(r.name);
                    if level > 0 && !bucket_blocks(level, h).contains(&blk) {
                        bad += 1;
                    }
                    hashes.try_push((h, cookie_of(blk, r.slot)))?;
                    count += 1;
                }
            }
        }
        if count != self.inodes[d].size {
            bad += 1;
        }
        // Names twice: equal names hash alike, so compare within a hash.
        hashes.sort_unstable();
        let mut a = 0;
        while a < hashes.len() {
            let mut b = a + 1;
            while b < hashes.len() && hashes[b].0 == hashes[a].0 {
                b += 1;
            }
            for x in a..b {
                for y in x + 1..b {
                    let nx = self.dir_entry_at(d, hashes[x].1)?.map(|e| e.1);
                    let ny = self.dir_entry_at(d, hashes[y].1)?.map(|e| e.1);
                    if nx.is_some() && nx.as_ref().map(|v| v.as_slice()) == ny.as_ref().map(|v| v.as_slice()) {
                        bad += 1;
                    }
                }
            }
            a = b;
        }
        Ok(bad)
    }
}
