//! Directory entries in dentry blocks: a directory whose entries outgrow
//! `INLINE_DENTRY_MAX` bytes keeps them in blocks of its own (its block
//! map), not in its node, so a change to one entry rewrites the block
//! holding it and a small node, not every entry (format v1 rewrote the
//! whole directory, 2.7 MB at 100k entries, on every create + fsync).
//! Small directories keep their entries inline in the node (f2fs's inline
//! dentries); a directory never converts back.
//!
//! Which block holds an entry is decided when the directory's blocks are
//! written (before its node, at a checkpoint): entries keep their block,
//! new or grown ones go first-fit into a block with room (or a new block),
//! so an insert or delete changes one block. A block is written only when
//! its content differs from what is on disk (compared by CRC), so callers
//! changing entries never have to say which block they touched.
//!
//! Block format: the node block header (kind `KIND_DENT`, inode = the
//! directory, version = file block index) and `cookie u64, ino u64,
//! kind u8, name_len u8, name` per entry, in cookie order. Dentry blocks
//! live in the node log and are owned like file data (`owner_data(dir,
//! block)`), so GC moves them as it moves data.

use super::crc32c::crc32c_append;
use super::device::{ZonedDevice, BLOCK_SIZE};
use super::dir::DirEntry;
use super::errno::*;
use super::fs::Fs;
use super::inode::DENTRY_FIXED;
use super::layout::{open_dent, seal_dent, Dec, Enc, NodeHdr, NODE_HDR, NODE_PAYLOAD};
use super::mem::FVec;
use super::read_window::ReadWindow;
use super::types::FileType;
use super::zones::owner_data;

/// Bytes of entries a directory keeps in its node before it moves them
/// to dentry blocks.
pub const INLINE_DENTRY_MAX: usize = 2048;

/// Not placed in a block yet.
pub const UNPLACED: u32 = u32::MAX;

/// What the core knows of one dentry block.
#[derive(Clone, Copy, Default)]
pub struct DentBlock {
    /// CRC of the payload on disk (0: unknown, always rewritten).
    pub crc: u32,
}

fn entry_bytes(e: &DirEntry) -> usize {
    DENTRY_FIXED + e.name.len()
}

impl<D: ZonedDevice> Fs<D> {
    /// True if directory index `i` keeps its entries in blocks.
    pub(super) fn dir_in_blocks(&self, i: usize) -> bool {
        self.inodes[i].entries_in_blocks()
    }

    /// Before directory index `i`'s node is written: moves its entries to
    /// blocks when they outgrow the node, places new entries, and writes
    /// the blocks whose content changed. Only the blocks entries were
    /// added to, removed from or changed in are encoded (the changes
    /// recorded them in `dtouched`), so the cost follows the change, not
    /// the directory's size.
    pub(super) fn write_dentry_blocks(&mut self, i: usize) -> Result<()> {
        let n = &self.inodes[i];
        if n.ftype != FileType::Directory {
            return Ok(());
        }
        let Some(dir) = n.dir_state() else { return Ok(()) };
        let converting = !self.dir_in_blocks(i);
        if converting {
            let bytes: usize = dir.entries.iter().map(entry_bytes).sum();
            if bytes <= INLINE_DENTRY_MAX {
                return Ok(());
            }
        } else if dir.dtouched.is_empty() && !dir.dall {
            return Ok(());
        }
        let mut want = self.place_entries(i)?;
        let n = &mut self.inodes[i];
        let Some(dir) = n.dir_state() else { return Ok(()) };
        let all = converting || dir.dall;
        for &b in dir.dtouched.iter() {
            if let Some(w) = want.get_mut(b as usize) {
                *w = true;
            }
        }
        for (k, w) in want.iter_mut().enumerate() {
            *w |= all || n.map.lookup(k as u64).is_none();
        }
        let nblocks = dir.dblocks.len();
        // Entries of the wanted blocks, grouped by block, each group in
        // cookie order (a counting sort over those entries only).
        let mut start = FVec::try_from_elem(0u32, nblocks + 1)?;
        for e in dir.entries.iter().filter(|e| want[e.blk as usize]) {
            start[e.blk as usize + 1] += 1;
        }
        for k in 0..nblocks {
            start[k + 1] += start[k];
        }
        let mut at = start.try_clone()?;
        let mut order = FVec::try_from_elem(0u32, start[nblocks] as usize)?;
        for (x, e) in dir.entries.iter().enumerate().filter(|(_, e)| want[e.blk as usize]) {
            let slot = &mut at[e.blk as usize];
            order[*slot as usize] = x as u32;
            *slot += 1;
        }
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        let mut payload: FVec<u8> = FVec::try_with_capacity(NODE_PAYLOAD)?;
        for k in (0..nblocks).filter(|&k| want[k]) {
            payload.clear();
            {
                let entries = self.inodes[i].entries();
                let mut enc = Enc { out: &mut payload };
                for &x in order[start[k] as usize..start[k + 1] as usize].iter() {
                    entries[x as usize].encode(&mut enc)?;
                }
            }
            if payload.len() > NODE_PAYLOAD {
                // place_entries keeps every block within a payload.
                return Err(EUCLEAN);
            }
            let crc = crc32c_append(!0, &payload) | 1;
            let on_disk = self.inodes[i].dir_state().and_then(|d| d.dblocks.get(k)).map_or(0, |b| b.crc);
            if on_disk == crc && self.inodes[i].map.lookup(k as u64).is_some() {
                continue;
            }
            blk.as_mut_slice().fill(0);
            blk[NODE_HDR..NODE_HDR + payload.len()].copy_from_slice(&payload);
            self.write_dentry_block(i, k as u64, &mut blk, payload.len())?;
            if let Some(b) = self.inodes[i].dir_mut()?.dblocks.get_mut(k) {
                b.crc = crc;
            }
        }
        let dir = self.inodes[i].dir_mut()?;
        dir.dtouched.clear();
        dir.dall = false;
        Ok(())
    }

    /// Gives every entry of directory index `i` a block with room: entries
    /// keep theirs while it has room, the others go first-fit. Returns, per
    /// block, whether placement changed what it holds.
    fn place_entries(&mut self, i: usize) -> Result<FVec<bool>> {
        let n = self.inodes[i].dir_mut()?;
        let mut used: FVec<usize> = FVec::try_from_elem(0usize, n.dblocks.len())?;
        let mut changed = FVec::try_from_elem(false, n.dblocks.len())?;
        for e in n.entries.iter_mut() {
            let b = e.blk as usize;
            if e.blk != UNPLACED && b < used.len() && used[b] + entry_bytes(e) <= NODE_PAYLOAD {
                used[b] += entry_bytes(e);
            } else {
                if b < changed.len() {
                    changed[b] = true;
                }
                e.blk = UNPLACED;
            }
        }
        let mut cursor = 0usize;
        for e in n.entries.iter_mut() {
            if e.blk != UNPLACED {
                continue;
            }
            let need = entry_bytes(e);
            while cursor < used.len() && used[cursor] + need > NODE_PAYLOAD {
                cursor += 1;
            }
            if cursor == used.len() {
                used.try_push(0)?;
                changed.try_push(false)?;
            }
            used[cursor] += need;
            changed[cursor] = true;
            e.blk = cursor as u32;
        }
        // New blocks: unknown content on disk (none), so always written.
        n.dblocks.try_resize(used.len(), DentBlock::default())?;
        Ok(changed)
    }

    /// Writes dentry block `k` of directory index `i` to the node log.
    fn write_dentry_block(&mut self, i: usize, k: u64, blk: &mut [u8], len: usize) -> Result<()> {
        let ino = self.inodes[i].ino;
        let h = NodeHdr { len: len as u32, ino, version: k, cp_seq: self.cp_seq, idx: 0, count: 1 };
        seal_dent(blk, &h, self.seed);
        let lba = self.append_node_block(blk, owner_data(ino, k))?;
        let zones = &mut self.zones;
        let n = &mut self.inodes[i];
        n.map.set(k, 1, Some(lba), &mut |old, len| {
            for j in 0..len as u64 {
                zones.release(old + j);
            }
        })?;
        if let Err(e) = zones.claim(lba) {
            self.broken = true;
            return Err(e);
        }
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Reads the dentry blocks of directory index `i` (mapped in its block
    /// map) and returns their entries in cookie order, each with its block;
    /// `EUCLEAN` on any damage.
    pub(super) fn read_dentry_blocks(&mut self, i: usize) -> Result<(FVec<DirEntry>, FVec<DentBlock>)> {
        let ino = self.inodes[i].ino;
        let next_cookie = self.inodes[i].next_cookie;
        let nblocks = self.inodes[i].map.v.last().map_or(0, |e| e.end());
        let mut entries: FVec<DirEntry> = FVec::new();
        let mut blocks = FVec::try_from_elem(DentBlock::default(), nblocks as usize)?;
        let mut win = ReadWindow::new()?;
        for k in 0..nblocks {
            let Some((lba, _)) = self.inodes[i].map.lookup(k) else {
                // A block never written (holes cannot be made): corruption.
                return Err(EUCLEAN);
            };
            let end = self.written_end(lba)?;
            let blk = win.block(&mut self.dev, lba, end)?;
            let h = open_dent(blk, self.seed)?;
            if h.ino != ino || h.version != k {
                return Err(EUCLEAN);
            }
            let payload = blk.get(NODE_HDR..NODE_HDR + h.len as usize).ok_or(EUCLEAN)?;
            blocks[k as usize].crc = crc32c_append(!0, payload) | 1;
            let mut d = Dec::new(payload);
            while d.remaining() > 0 {
                let mut e = DirEntry::decode(&mut d, next_cookie)?;
                e.blk = k as u32;
                entries.try_push(e)?;
            }
        }
        entries.sort_unstable_by_key(|e| e.cookie);
        if entries.windows(2).any(|w| w[0].cookie == w[1].cookie) {
            return Err(EUCLEAN);
        }
        Ok((entries, blocks))
    }

    /// Mount: a directory in blocks mode gets its entries from them.
    pub(super) fn load_dentry_blocks(&mut self, i: usize) -> Result<()> {
        if self.inodes[i].ftype != FileType::Directory || !self.dir_in_blocks(i) {
            return Ok(());
        }
        let (entries, blocks) = self.read_dentry_blocks(i)?;
        let n = &mut self.inodes[i];
        if entries.len() as u64 != n.size {
            return Err(EUCLEAN);
        }
        let dir = n.dir_mut()?;
        dir.names_len = entries.iter().map(|e| e.name.len()).sum();
        dir.entries = entries;
        dir.dblocks = blocks;
        Ok(())
    }
}
