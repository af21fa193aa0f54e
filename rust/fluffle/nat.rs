//! The NAT on disk: where each inode's node lives, in blocks written only
//! when they change.
//!
//! Format v1 carried the whole NAT (20 bytes per inode) in every
//! checkpoint, so each checkpoint cost in proportion to the number of
//! files and the NAT had to fit in half a zone. Now the NAT is a
//! copy-on-write radix tree of 4 KiB blocks in the node log (btrfs's
//! trees on zoned devices, f2fs's NAT blocks): leaf `k` holds the entries
//! of inodes `k * NAT_LEAF_ENTRIES ..`, an interior block the addresses of
//! `NAT_FANOUT` children, and the checkpoint names the root and the
//! height. Changes go first to a journal of at most `NAT_JOURNAL_MAX`
//! entries inside the checkpoint (f2fs's NAT journal); when it overflows,
//! the checkpoint writes the leaves holding the journaled entries and the
//! path from them to the root instead. Either way a checkpoint writes
//! what changed, not the table.
//!
//! Blocks are never updated in place: a rewritten block goes to a new
//! address and the old one stays valid until the checkpoint naming the new
//! root is durable (zones are only reset after a checkpoint). Block `0`
//! means "never written": every entry in it is empty.
//!
//! Leaf payload: `NAT_LEAF_ENTRIES` x (`lba u64`, `blocks u32`), `lba 0`
//! for no inode, `blocks 0` for a record in the pack block at `lba`.
//! Interior payload: `NAT_FANOUT` x `lba u64`. Both use the node block
//! header (kind `KIND_NAT`, inode 0, `version` = level << 32 | index).

use super::checkpoint::{Checkpoint, NatEntry};
use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::inode::Inode;
use super::layout::{get_u32, get_u64, open_nat, put, seal_nat, NodeHdr, CKPT_ZONES, NODE_HDR, NODE_PAYLOAD};
use super::mem::FVec;
use super::read_window::ReadWindow;
use super::zones::{owner_data, owner_data_block, owner_ino};

/// Bytes of one leaf entry (`lba u64`, `blocks u32`).
pub const NAT_LEAF_ENTRY: usize = 12;
/// Entries per leaf block.
pub const NAT_LEAF_ENTRIES: u64 = (NODE_PAYLOAD / NAT_LEAF_ENTRY) as u64;
/// Children per interior block.
pub const NAT_FANOUT: u64 = (NODE_PAYLOAD / 8) as u64;
/// Highest tree: 3 interior levels address more than 2^31 inodes.
pub const NAT_MAX_HEIGHT: u32 = 3;
/// Entries the checkpoint's NAT journal holds before leaves are written.
pub const NAT_JOURNAL_MAX: usize = 128;

/// Owner word (`summary.rs`) of NAT block `index` at `level`: a data owner of
/// inode 0, which is never a file (block ids stay below 2^29).
pub fn owner_nat(level: u32, index: u64) -> u64 {
    owner_data(0, ((level as u64) << 27) | index)
}

/// `(level, index)` of a NAT block from its owner word, `None` for other
/// owners.
pub fn nat_block_of(owner: u64) -> Option<(u32, u64)> {
    if owner_ino(owner) != 0 {
        return None;
    }
    let id = owner_data_block(owner)?;
    Some(((id >> 27) as u32, id & ((1 << 27) - 1)))
}

/// The NAT's block count for inode `n`'s node: 0 for a record in a pack
/// block.
fn entry_blocks(n: &Inode) -> u32 {
    if n.packed {
        0
    } else {
        n.node_blocks
    }
}

/// Leaves a tree of `height` interior levels addresses.
fn capacity(height: u32) -> u64 {
    NAT_FANOUT.saturating_pow(height)
}

/// Changes noted before they are merged into the journal (a miss scans
/// them, so they stay few; merging costs the journal's length).
const PENDING_MAX: usize = 512;
/// Leaf blocks kept after a read (inodes loaded one after another are
/// usually neighbours).
const LEAF_CACHE: usize = 8;

/// The NAT tree's in-memory index: the address of every block, which ones
/// must be rewritten, and the entries newer than their leaf on disk. The
/// entries themselves stay on disk; memory is 8 bytes per leaf (337
/// inodes) plus the changes since the leaves were written.
///
/// # Invariants
///
/// `lbas` and `dirty` have `height + 1` levels of equal lengths; the top
/// level has exactly one block (the root); level `l + 1` has a block for
/// every `NAT_FANOUT` blocks of level `l`. `journal` is sorted by inode
/// and unique; an entry of `pending` overrides the journal, a later one
/// an earlier one.
pub struct NatTree {
    lbas: FVec<FVec<u64>>,
    dirty: FVec<FVec<bool>>,
    /// Current entries of the inodes whose leaf on disk is older (the
    /// journal the last checkpoint carried, plus what it absorbed).
    pub(super) journal: FVec<NatEntry>,
    /// Changes since the last merge, in order.
    pending: FVec<NatEntry>,
    /// Recently read leaves: (address, block), newest last.
    cache: FVec<(u64, FVec<u8>)>,
}

impl NatTree {
    /// An empty tree: one never-written leaf.
    pub fn new() -> Result<Self> {
        let mut t = Self { lbas: FVec::new(), dirty: FVec::new(), journal: FVec::new(), pending: FVec::new(), cache: FVec::new() };
        t.push_level(1)?;
        Ok(t)
    }

    fn push_level(&mut self, blocks: usize) -> Result<()> {
        self.lbas.try_reserve(1)?;
        self.dirty.try_reserve(1)?;
        let l = FVec::try_from_elem(0u64, blocks)?;
        let d = FVec::try_from_elem(false, blocks)?;
        // Cannot fail: reserved above.
        self.lbas.try_push(l)?;
        self.dirty.try_push(d)?;
        Ok(())
    }

    /// Interior levels above the leaves.
    pub fn height(&self) -> u32 {
        (self.lbas.len() - 1) as u32
    }

    /// Address of the root block (0: never written).
    pub fn root(&self) -> u64 {
        self.lbas.last().and_then(|l| l.first()).copied().unwrap_or(0)
    }

    /// Notes inode `e.ino`'s new entry (`lba 0`: the inode is gone).
    pub(super) fn set(&mut self, e: NatEntry) -> Result<()> {
        if self.pending.len() >= PENDING_MAX {
            self.absorb_pending()?;
        }
        self.pending.try_push(e)
    }

    /// The entry of `ino` if it is newer than its leaf.
    fn changed_entry(&self, ino: u64) -> Option<NatEntry> {
        if let Some(e) = self.pending.iter().rev().find(|e| e.ino == ino) {
            return Some(*e);
        }
        let at = self.journal.binary_search_by_key(&ino, |e| e.ino).ok()?;
        Some(self.journal[at])
    }

    /// Marks NAT block `(level, index)` for rewriting (GC empties its zone).
    pub(super) fn moved(&mut self, level: u32, index: u64) -> Result<()> {
        let d = self.dirty.get_mut(level as usize).and_then(|l| l.get_mut(index as usize)).ok_or(EUCLEAN)?;
        *d = true;
        Ok(())
    }

    /// Where NAT block `(level, index)` is (`None`: not written).
    pub fn block_lba(&self, level: u32, index: u64) -> Option<u64> {
        let lba = *self.lbas.get(level as usize)?.get(index as usize)?;
        (lba != 0).then_some(lba)
    }

    /// Calls `f(level, index, lba)` for every written block.
    pub fn for_each_block(&self, f: &mut dyn FnMut(u32, u64, u64)) {
        for (level, l) in self.lbas.iter().enumerate() {
            for (k, &lba) in l.iter().enumerate() {
                if lba != 0 {
                    f(level as u32, k as u64, lba);
                }
            }
        }
    }

    /// Grows the tree (taller, wider) until leaf `leaf` exists.
    fn reach(&mut self, leaf: u64) -> Result<()> {
        while capacity(self.height()) <= leaf {
            if self.height() >= NAT_MAX_HEIGHT {
                return Err(ENOSPC);
            }
            // The old root becomes child 0 of a new root.
            self.push_level(1)?;
            let h = self.lbas.len() - 1;
            self.dirty[h][0] = true;
        }
        let mut want = leaf as usize + 1;
        for level in 0..self.lbas.len() {
            if self.lbas[level].len() < want {
                self.lbas[level].try_resize(want, 0)?;
                self.dirty[level].try_resize(want, false)?;
            }
            want = want.div_ceil(NAT_FANOUT as usize);
        }
        Ok(())
    }

    /// Marks leaf `leaf` (and so, when written, its path) for writing.
    fn touch_leaf(&mut self, leaf: u64) -> Result<()> {
        self.reach(leaf)?;
        self.dirty[0][leaf as usize] = true;
        Ok(())
    }

    /// Merges the changes noted since into the journal.
    fn absorb_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // The last change of an inode wins: sort by inode, later first,
        // keep the first of each.
        let mut p: FVec<(u64, usize, NatEntry)> = FVec::try_with_capacity(self.pending.len())?;
        for (k, e) in self.pending.iter().enumerate() {
            p.try_push((e.ino, usize::MAX - k, *e))?;
        }
        p.sort_unstable_by_key(|x| (x.0, x.1));
        let mut last = None;
        p.retain(|x| last.replace(x.0) != Some(x.0));
        let mut merged: FVec<NatEntry> = FVec::try_with_capacity(self.journal.len() + p.len())?;
        let (mut a, mut b) = (0, 0);
        while a < self.journal.len() || b < p.len() {
            let x = self.journal.get(a).map_or(u64::MAX, |e| e.ino);
            let y = p.get(b).map_or(u64::MAX, |e| e.0);
            // Cannot fail: the capacity covers both lists.
            merged.try_push(if y <= x { p[b].2 } else { self.journal[a] })?;
            a += (x <= y) as usize;
            b += (y <= x) as usize;
        }
        self.journal = merged;
        self.pending.clear();
        Ok(())
    }

    /// The cached leaf at `lba`, if any (moved to the newest place).
    fn cached(&mut self, lba: u64) -> Option<&[u8]> {
        let at = self.cache.iter().position(|c| c.0 == lba)?;
        let last = self.cache.len() - 1;
        self.cache.as_mut_slice().swap(at, last);
        Some(&self.cache[last].1)
    }

    /// Caches leaf `blk` at `lba`, replacing what the cache held for that
    /// address (a block from before its zone was reset and reused).
    fn remember(&mut self, lba: u64, blk: FVec<u8>) -> Result<()> {
        self.cache.retain(|c| c.0 != lba);
        if self.cache.len() >= LEAF_CACHE {
            self.cache.remove(0);
        }
        self.cache.try_push((lba, blk))
    }
}

/// Entry `j` of a leaf block.
fn leaf_entry(blk: &[u8], leaf: u64, j: u64) -> NatEntry {
    let at = NODE_HDR + j as usize * NAT_LEAF_ENTRY;
    NatEntry { ino: leaf * NAT_LEAF_ENTRIES + j, lba: get_u64(blk, at), blocks: get_u32(blk, at + 8) }
}

/// The NAT entry of inode `n` (`lba 0`: never written).
pub(super) fn entry_of(n: &Inode) -> NatEntry {
    if n.node_blocks == 0 {
        return NatEntry { ino: n.ino, lba: 0, blocks: 0 };
    }
    NatEntry { ino: n.ino, lba: n.node_lba, blocks: entry_blocks(n) }
}

impl<D: ZonedDevice> Fs<D> {
    /// Where inode `ino`'s node is (`lba 0`: no such inode): the changes
    /// since the leaves were written, else its leaf on disk.
    pub(super) fn nat_lookup(&mut self, ino: u64) -> Result<NatEntry> {
        let none = NatEntry { ino, lba: 0, blocks: 0 };
        if ino == 0 || ino >= self.next_ino {
            return Ok(none);
        }
        if let Some(e) = self.nat.changed_entry(ino) {
            return Ok(e);
        }
        let leaf = ino / NAT_LEAF_ENTRIES;
        let Some(lba) = self.nat.block_lba(0, leaf) else { return Ok(none) };
        let e = leaf_entry(self.nat_leaf(lba, leaf)?, leaf, ino % NAT_LEAF_ENTRIES);
        self.check_nat_entry(&e)?;
        Ok(e)
    }

    /// Leaf `leaf` at `lba`, read (one block: leaves are wanted one at a
    /// time) and checked, or from the cache.
    fn nat_leaf(&mut self, lba: u64, leaf: u64) -> Result<&[u8]> {
        if self.nat.cached(lba).is_none() {
            self.nat_block_end(lba)?;
            let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
            self.dev.read(lba, &mut blk)?;
            self.check_nat_block(&blk, 0, leaf)?;
            self.nat.remember(lba, blk)?;
        }
        self.nat.cached(lba).ok_or(EIO)
    }

    /// Every inode the NAT names, sorted (fsck and dump load them all).
    pub(super) fn nat_inos(&mut self) -> Result<FVec<u64>> {
        self.nat.absorb_pending()?;
        let mut out: FVec<u64> = FVec::new();
        for leaf in 0..self.nat.lbas[0].len() as u64 {
            let Some(lba) = self.nat.block_lba(0, leaf) else { continue };
            for j in 0..NAT_LEAF_ENTRIES {
                let e = leaf_entry(self.nat_leaf(lba, leaf)?, leaf, j);
                if e.lba != 0 {
                    self.check_nat_entry(&e)?;
                    out.try_push(e.ino)?;
                }
            }
        }
        for e in self.nat.journal.iter() {
            let at = out.partition_point(|&x| x < e.ino);
            let present = out.get(at) == Some(&e.ino);
            match (present, e.lba != 0) {
                (true, false) => {
                    out.remove(at);
                }
                (false, true) => out.try_insert(at, e.ino)?,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Notes that inode slot `i`'s node moved.
    pub(super) fn nat_changed_at(&mut self, i: usize) -> Result<()> {
        let e = entry_of(&self.inodes[i]);
        self.nat.set(e)
    }

    /// The journal the next checkpoint carries, after [`Fs::write_nat`].
    pub(super) fn nat_journal(&mut self) -> Result<FVec<NatEntry>> {
        self.nat.absorb_pending()?;
        self.nat.journal.try_clone()
    }

    /// Part of a checkpoint, after the nodes are written: journals the NAT
    /// changes, or, when the journal is full (or GC moved NAT blocks),
    /// writes the changed leaves and their paths to the node log.
    pub(super) fn write_nat(&mut self) -> Result<()> {
        self.nat.absorb_pending()?;
        let moved = self.nat.dirty.iter().any(|l| l.iter().any(|&d| d));
        if self.nat.journal.len() <= NAT_JOURNAL_MAX && !moved {
            return Ok(());
        }
        for k in 0..self.nat.journal.len() {
            let leaf = self.nat.journal[k].ino / NAT_LEAF_ENTRIES;
            self.nat.touch_leaf(leaf)?;
        }
        self.write_dirty_nat_blocks()?;
        // Every journaled entry is in its leaf now.
        self.nat.journal.clear();
        Ok(())
    }

    fn write_dirty_nat_blocks(&mut self) -> Result<()> {
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        for level in 0..self.nat.lbas.len() {
            for k in 0..self.nat.lbas[level].len() {
                if !self.nat.dirty[level][k] {
                    continue;
                }
                blk.as_mut_slice().fill(0);
                let len = self.fill_nat_block(level, k as u64, &mut blk)?;
                self.write_nat_block(level as u32, k as u64, &mut blk, len)?;
                if level + 1 < self.nat.lbas.len() {
                    self.nat.dirty[level + 1][k / NAT_FANOUT as usize] = true;
                }
            }
        }
        Ok(())
    }

    /// Fills the payload of NAT block `(level, k)`: a leaf is the one on
    /// disk with the journal's entries applied, an interior block the
    /// children's addresses; returns the payload length.
    fn fill_nat_block(&mut self, level: usize, k: u64, blk: &mut [u8]) -> Result<usize> {
        if level == 0 {
            let len = NAT_LEAF_ENTRIES as usize * NAT_LEAF_ENTRY;
            if let Some(lba) = self.nat.block_lba(0, k) {
                let old = self.nat_leaf(lba, k)?;
                blk[NODE_HDR..NODE_HDR + len].copy_from_slice(&old[NODE_HDR..NODE_HDR + len]);
            }
            let first = k * NAT_LEAF_ENTRIES;
            let from = self.nat.journal.partition_point(|e| e.ino < first);
            for e in self.nat.journal[from..].iter().take_while(|e| e.ino < first + NAT_LEAF_ENTRIES) {
                let at = NODE_HDR + (e.ino - first) as usize * NAT_LEAF_ENTRY;
                put(blk, at, &e.lba.to_le_bytes());
                put(blk, at + 8, &e.blocks.to_le_bytes());
            }
            Ok(len)
        } else {
            let below = &self.nat.lbas[level - 1];
            let first = (k * NAT_FANOUT) as usize;
            for (j, lba) in below.iter().skip(first).take(NAT_FANOUT as usize).enumerate() {
                put(blk, NODE_HDR + j * 8, &lba.to_le_bytes());
            }
            Ok(NAT_FANOUT as usize * 8)
        }
    }

    fn write_nat_block(&mut self, level: u32, k: u64, blk: &mut [u8], len: usize) -> Result<()> {
        let h = NodeHdr { len: len as u32, ino: 0, version: ((level as u64) << 32) | k, cp_seq: self.cp_seq, idx: 0, count: 1 };
        seal_nat(blk, &h, self.seed);
        let lba = self.append_node_block(blk, owner_nat(level, k))?;
        self.stats.nat_blocks += 1;
        let old = core::mem::replace(&mut self.nat.lbas[level as usize][k as usize], lba);
        self.nat.dirty[level as usize][k as usize] = false;
        if old != 0 {
            self.zones.release(old);
        }
        if level == 0 {
            let mut copy = FVec::new();
            copy.try_extend_from_slice(blk)?;
            self.nat.remember(lba, copy)?;
        }
        if let Err(e) = self.zones.claim(lba) {
            self.broken = true;
            return Err(e);
        }
        Ok(())
    }

    /// Mount: reads the interior blocks of the NAT tree the checkpoint
    /// names (leaves are read when an inode is looked up) and takes the
    /// journal.
    pub(super) fn load_nat(&mut self, cp: &Checkpoint) -> Result<()> {
        if cp.nat_height > NAT_MAX_HEIGHT {
            return Err(EUCLEAN);
        }
        let mut tree = NatTree::new()?;
        for _ in 0..cp.nat_height {
            tree.push_level(1)?;
        }
        let mut win = ReadWindow::new()?;
        // Depth-first, children in order.
        let mut stack: FVec<(u32, u64, u64)> = FVec::new();
        if cp.nat_root != 0 {
            stack.try_push((cp.nat_height, 0, cp.nat_root))?;
        }
        // Blocks beyond those the handed-out inode numbers need are
        // corruption (and would make a hostile image allocate huge levels).
        let leaves = cp.next_ino.div_ceil(NAT_LEAF_ENTRIES);
        while let Some((level, k, lba)) = stack.pop() {
            if k >= leaves.div_ceil(capacity(level)) {
                return Err(EUCLEAN);
            }
            let (lv, ki) = (level as usize, k as usize);
            if tree.lbas[lv].len() <= ki {
                tree.lbas[lv].try_resize(ki + 1, 0)?;
                tree.dirty[lv].try_resize(ki + 1, false)?;
            }
            tree.lbas[lv][ki] = lba;
            if level == 0 {
                // A leaf is checked when it is read.
                if self.geo.zone_of(lba).map_or(true, |z| z < CKPT_ZONES) {
                    return Err(EUCLEAN);
                }
                continue;
            }
            let blk = self.read_nat_block(&mut win, lba, level, k)?;
            // Pushed last child first, so the first child is read next.
            for j in (0..NAT_FANOUT).rev() {
                let child = get_u64(blk, NODE_HDR + j as usize * 8);
                if child != 0 {
                    stack.try_push((level - 1, k * NAT_FANOUT + j, child))?;
                }
            }
        }
        // Every level as wide as the leaves need (an unwritten block is 0).
        let width = core::cmp::max(tree.lbas[0].len() as u64, 1);
        tree.reach(width - 1)?;
        // The journal is sorted and unique (checkpoint::decode checks).
        self.next_ino = cp.next_ino;
        for e in cp.nat_journal.iter() {
            self.check_nat_entry(e)?;
            tree.journal.try_push(*e)?;
        }
        self.nat = tree;
        Ok(())
    }

    /// Reads NAT block `(level, k)` at `lba` through `win` (mount reads the
    /// interior blocks in order) and validates its header.
    fn read_nat_block<'w>(&mut self, win: &'w mut ReadWindow, lba: u64, level: u32, k: u64) -> Result<&'w [u8]> {
        let end = self.nat_block_end(lba)?;
        let blk = win.block(&mut self.dev, lba, end)?;
        self.check_nat_block(blk, level, k)?;
        Ok(blk)
    }

    /// The end of the written part holding NAT block `lba` (`EUCLEAN`
    /// outside the written part of a log zone).
    fn nat_block_end(&self, lba: u64) -> Result<u64> {
        let z = self.geo.zone_of(lba).ok_or(EUCLEAN)?;
        if z < CKPT_ZONES {
            return Err(EUCLEAN);
        }
        self.written_end(lba)
    }

    /// `EUCLEAN` unless `blk` is NAT block `(level, k)`.
    fn check_nat_block(&self, blk: &[u8], level: u32, k: u64) -> Result<()> {
        let h = open_nat(blk, self.seed)?;
        let len = if level == 0 { NAT_LEAF_ENTRIES as usize * NAT_LEAF_ENTRY } else { NAT_FANOUT as usize * 8 };
        if h.version != ((level as u64) << 32) | k || h.len as usize != len {
            return Err(EUCLEAN);
        }
        Ok(())
    }

    /// `EUCLEAN` unless `e` is a possible entry: an inode number handed
    /// out, a node inside one log zone (or no node: `lba 0`).
    fn check_nat_entry(&self, e: &NatEntry) -> Result<()> {
        if e.ino == 0 || e.ino >= self.next_ino {
            return Err(EUCLEAN);
        }
        if e.lba == 0 {
            return if e.blocks == 0 { Ok(()) } else { Err(EUCLEAN) };
        }
        let cap = self.geo.zone_cap;
        if e.blocks as u64 > cap {
            return Err(EUCLEAN);
        }
        let z = self.geo.zone_of(e.lba).ok_or(EUCLEAN)?;
        let rel = e.lba - self.geo.zone_start(z);
        if z < CKPT_ZONES || rel + core::cmp::max(e.blocks, 1) as u64 > cap {
            return Err(EUCLEAN);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_words_round_trip_and_never_collide() {
        for (level, index) in [(0u32, 0u64), (0, 1), (1, 505), (3, 0), (2, (1 << 27) - 1)] {
            let o = owner_nat(level, index);
            assert_eq!(nat_block_of(o), Some((level, index)));
        }
        assert_eq!(nat_block_of(0), None);
        assert_eq!(nat_block_of(owner_data(1, 0)), None);
        assert_eq!(nat_block_of(super::super::zones::owner_node(0, 0)), None);
        assert_eq!(nat_block_of(super::super::zones::OWNER_PACK), None);
    }

    #[test]
    fn tree_grows_to_reach_any_inode() {
        let mut t = NatTree::new().unwrap();
        assert_eq!(t.height(), 0);
        t.touch_leaf(0).unwrap();
        assert_eq!(t.height(), 0);
        t.touch_leaf(NAT_FANOUT).unwrap();
        assert_eq!(t.height(), 2);
        assert_eq!(t.lbas[0].len() as u64, NAT_FANOUT + 1);
        assert_eq!(t.lbas[1].len(), 2);
        assert_eq!(t.lbas[2].len(), 1);
        let last_leaf = (crate::types::INO_END - 1) / NAT_LEAF_ENTRIES;
        assert!(capacity(NAT_MAX_HEIGHT) > last_leaf);
        assert_eq!(t.touch_leaf(capacity(NAT_MAX_HEIGHT)), Err(ENOSPC));
    }

    #[test]
    fn leaf_cache_keeps_one_block_per_address() {
        let mut t = NatTree::new().unwrap();
        let blk = |b: u8| FVec::try_from_elem(b, 16).unwrap();
        t.remember(7, blk(1)).unwrap();
        t.remember(8, blk(2)).unwrap();
        // Address 7 reused after a reset: the new block, not the old one.
        t.remember(7, blk(3)).unwrap();
        assert_eq!(t.cached(7).unwrap()[0], 3);
        assert_eq!(t.cached(8).unwrap()[0], 2);
        for lba in 100..100 + LEAF_CACHE as u64 {
            t.remember(lba, blk(4)).unwrap();
        }
        assert!(t.cached(7).is_none() && t.cached(8).is_none(), "the oldest leave first");
        assert_eq!(t.cache.len(), LEAF_CACHE);
    }

    #[test]
    fn journal_merges_sorted_unique() {
        let mut t = NatTree::new().unwrap();
        let e = |ino, lba| NatEntry { ino, lba, blocks: 1 };
        for (ino, lba) in [(9, 100), (3, 101), (9, 102), (5, 103)] {
            t.set(e(ino, lba)).unwrap();
        }
        t.absorb_pending().unwrap();
        for (ino, lba) in [(4, 104), (3, 105), (10, 106), (4, 0)] {
            t.set(e(ino, lba)).unwrap();
        }
        assert_eq!(t.changed_entry(4), Some(e(4, 0)), "the last change wins before a merge");
        t.absorb_pending().unwrap();
        let want = [(3, 105), (4, 0), (5, 103), (9, 102), (10, 106)];
        assert_eq!(t.journal.len(), want.len());
        for (x, w) in t.journal.iter().zip(want.iter()) {
            assert_eq!((x.ino, x.lba), *w);
        }
        assert_eq!(t.changed_entry(9), Some(e(9, 102)));
        assert_eq!(t.changed_entry(7), None);
    }
}
