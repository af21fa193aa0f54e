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
use super::zones::{owner_data, OWNER_NODE, OWNER_PACK};

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
    if owner == 0 || owner >> 32 != 0 || owner & (OWNER_NODE | OWNER_PACK) != 0 {
        return None;
    }
    let id = owner - 1;
    Some(((id >> 27) as u32, id & ((1 << 27) - 1)))
}

/// Sorts `v` and drops repeats.
fn sort_unique(v: &mut FVec<u64>) {
    v.sort_unstable();
    let mut last = None;
    v.retain(|&x| last.replace(x) != Some(x));
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

/// The NAT tree's in-memory index: the address of every block, which ones
/// must be rewritten, and which inodes' entries are newer than their leaf.
///
/// # Invariants
///
/// `lbas` and `dirty` have `height + 1` levels of equal lengths; the top
/// level has exactly one block (the root); level `l + 1` has a block for
/// every `NAT_FANOUT` blocks of level `l`. `journal` is sorted and unique.
pub struct NatTree {
    lbas: FVec<FVec<u64>>,
    dirty: FVec<FVec<bool>>,
    /// Inodes whose entry differs from their leaf on disk (the journal the
    /// last checkpoint carried, plus what it absorbed), sorted.
    pub(super) journal: FVec<u64>,
    /// Inodes whose entry changed since the last checkpoint (may repeat).
    pending: FVec<u64>,
    /// `pending` is deduplicated when it reaches this length, which then
    /// doubles past what is left, so a checkpoint noting n changes sorts
    /// O(log n) times, not once per change.
    pending_limit: usize,
    /// A change could not be recorded (no memory): rewrite every leaf.
    lost: bool,
}

impl NatTree {
    /// An empty tree: one never-written leaf.
    pub fn new() -> Result<Self> {
        let mut t = Self {
            lbas: FVec::new(),
            dirty: FVec::new(),
            journal: FVec::new(),
            pending: FVec::new(),
            pending_limit: 4 * NAT_JOURNAL_MAX,
            lost: false,
        };
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

    /// Notes that inode `ino`'s entry changed.
    pub(super) fn changed(&mut self, ino: u64) {
        if self.pending.len() >= self.pending_limit {
            sort_unique(&mut self.pending);
            self.pending_limit = core::cmp::max(4 * NAT_JOURNAL_MAX, 2 * self.pending.len());
        }
        if self.pending.try_push(ino).is_err() {
            self.lost = true;
        }
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

    /// Moves the changes noted since the last checkpoint into the journal.
    fn absorb_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        sort_unique(&mut self.pending);
        let mut merged: FVec<u64> = FVec::try_with_capacity(self.journal.len() + self.pending.len())?;
        let (mut a, mut b) = (0, 0);
        while a < self.journal.len() || b < self.pending.len() {
            let x = self.journal.get(a).copied().unwrap_or(u64::MAX);
            let y = self.pending.get(b).copied().unwrap_or(u64::MAX);
            // Cannot fail: the capacity covers both lists.
            merged.try_push(core::cmp::min(x, y))?;
            a += (x <= y) as usize;
            b += (y <= x) as usize;
        }
        self.journal = merged;
        self.pending.clear();
        self.pending_limit = 4 * NAT_JOURNAL_MAX;
        Ok(())
    }
}

impl<D: ZonedDevice> Fs<D> {
    /// The NAT entry of `ino` as the inode table has it (`lba 0`: none).
    fn nat_entry(&self, ino: u64) -> NatEntry {
        match self.find(ino) {
            Ok(i) if self.inodes[i].node_blocks != 0 => {
                let n = &self.inodes[i];
                NatEntry { ino, lba: n.node_lba, blocks: entry_blocks(n) }
            }
            _ => NatEntry { ino, lba: 0, blocks: 0 },
        }
    }

    /// The journal the next checkpoint carries, after [`Fs::write_nat`].
    pub(super) fn nat_journal(&self) -> Result<FVec<NatEntry>> {
        let mut v = FVec::try_with_capacity(self.nat.journal.len())?;
        for &ino in self.nat.journal.iter() {
            v.try_push(self.nat_entry(ino))?;
        }
        Ok(v)
    }

    /// Part of a checkpoint, after the nodes are written: journals the NAT
    /// changes, or, when the journal is full (or GC moved NAT blocks),
    /// writes the changed leaves and their paths to the node log.
    pub(super) fn write_nat(&mut self) -> Result<()> {
        self.nat.absorb_pending()?;
        let moved = self.nat.dirty.iter().any(|l| l.iter().any(|&d| d));
        if self.nat.lost {
            let leaves = self.next_ino.div_ceil(NAT_LEAF_ENTRIES);
            for k in 0..leaves {
                self.nat.touch_leaf(k)?;
            }
        } else if self.nat.journal.len() <= NAT_JOURNAL_MAX && !moved {
            return Ok(());
        }
        let journal = core::mem::take(&mut self.nat.journal);
        for &ino in journal.iter() {
            if let Err(e) = self.nat.touch_leaf(ino / NAT_LEAF_ENTRIES) {
                self.nat.journal = journal;
                return Err(e);
            }
        }
        let r = self.write_dirty_nat_blocks();
        if r.is_err() {
            // The journaled entries are still not in their leaves.
            self.nat.journal = journal;
        } else {
            self.nat.lost = false;
        }
        r
    }

    fn write_dirty_nat_blocks(&mut self) -> Result<()> {
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        for level in 0..self.nat.lbas.len() {
            for k in 0..self.nat.lbas[level].len() {
                if !self.nat.dirty[level][k] {
                    continue;
                }
                blk.as_mut_slice().fill(0);
                let len = self.fill_nat_block(level, k as u64, &mut blk);
                self.write_nat_block(level as u32, k as u64, &mut blk, len)?;
                if level + 1 < self.nat.lbas.len() {
                    self.nat.dirty[level + 1][k / NAT_FANOUT as usize] = true;
                }
            }
        }
        Ok(())
    }

    /// Fills the payload of NAT block `(level, k)` from the inode table or
    /// the children's addresses; returns the payload length.
    fn fill_nat_block(&self, level: usize, k: u64, blk: &mut [u8]) -> usize {
        if level == 0 {
            let first = k * NAT_LEAF_ENTRIES;
            for n in self.inodes.range(first, first + NAT_LEAF_ENTRIES) {
                if n.node_blocks == 0 {
                    continue;
                }
                let at = NODE_HDR + (n.ino - first) as usize * NAT_LEAF_ENTRY;
                put(blk, at, &n.node_lba.to_le_bytes());
                put(blk, at + 8, &entry_blocks(n).to_le_bytes());
            }
            NAT_LEAF_ENTRIES as usize * NAT_LEAF_ENTRY
        } else {
            let below = &self.nat.lbas[level - 1];
            let first = (k * NAT_FANOUT) as usize;
            for (j, lba) in below.iter().skip(first).take(NAT_FANOUT as usize).enumerate() {
                put(blk, NODE_HDR + j * 8, &lba.to_le_bytes());
            }
            NAT_FANOUT as usize * 8
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
        if let Err(e) = self.zones.claim(lba) {
            self.broken = true;
            return Err(e);
        }
        Ok(())
    }

    /// Mount: reads the NAT tree the checkpoint names (claiming its blocks)
    /// and applies the journal; returns every entry, sorted by inode.
    pub(super) fn load_nat(&mut self, cp: &Checkpoint) -> Result<FVec<NatEntry>> {
        if cp.nat_height > NAT_MAX_HEIGHT {
            return Err(EUCLEAN);
        }
        let mut tree = NatTree::new()?;
        for _ in 0..cp.nat_height {
            tree.push_level(1)?;
        }
        let mut out: FVec<NatEntry> = FVec::new();
        let mut win = ReadWindow::new()?;
        // Depth-first, children in order, so leaves come out by inode.
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
            let blk = self.read_nat_block(&mut win, lba, level, k)?;
            let (lv, ki) = (level as usize, k as usize);
            if tree.lbas[lv].len() <= ki {
                tree.lbas[lv].try_resize(ki + 1, 0)?;
                tree.dirty[lv].try_resize(ki + 1, false)?;
            }
            tree.lbas[lv][ki] = lba;
            self.zones.claim(lba)?;
            if level == 0 {
                self.decode_nat_leaf(blk, k, cp, &mut out)?;
                continue;
            }
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
        for e in cp.nat_journal.iter() {
            tree.journal.try_push(e.ino)?;
            self.check_nat_entry(e, cp)?;
            let at = out.partition_point(|x| x.ino < e.ino);
            let present = out.get(at).is_some_and(|x| x.ino == e.ino);
            match (present, e.lba != 0) {
                (true, true) => out[at] = *e,
                (true, false) => {
                    out.remove(at);
                }
                (false, true) => out.try_insert(at, *e)?,
                (false, false) => {}
            }
        }
        self.nat = tree;
        Ok(out)
    }

    /// Reads NAT block `(level, k)` at `lba` and validates its header.
    fn read_nat_block<'w>(&mut self, win: &'w mut ReadWindow, lba: u64, level: u32, k: u64) -> Result<&'w [u8]> {
        let z = self.geo.zone_of(lba).ok_or(EUCLEAN)?;
        if z < CKPT_ZONES {
            return Err(EUCLEAN);
        }
        let end = self.written_end(lba)?;
        let blk = win.block(&mut self.dev, lba, end)?;
        let h = open_nat(blk, self.seed)?;
        let len = if level == 0 { NAT_LEAF_ENTRIES as usize * NAT_LEAF_ENTRY } else { NAT_FANOUT as usize * 8 };
        if h.version != ((level as u64) << 32) | k || h.len as usize != len {
            return Err(EUCLEAN);
        }
        Ok(blk)
    }

    fn decode_nat_leaf(&self, blk: &[u8], k: u64, cp: &Checkpoint, out: &mut FVec<NatEntry>) -> Result<()> {
        for j in 0..NAT_LEAF_ENTRIES {
            let at = NODE_HDR + j as usize * NAT_LEAF_ENTRY;
            let e = NatEntry { ino: k * NAT_LEAF_ENTRIES + j, lba: get_u64(blk, at), blocks: get_u32(blk, at + 8) };
            if e.lba == 0 {
                if e.blocks != 0 {
                    return Err(EUCLEAN);
                }
                continue;
            }
            self.check_nat_entry(&e, cp)?;
            out.try_push(e)?;
        }
        Ok(())
    }

    /// `EUCLEAN` unless `e` is a possible entry: an inode number handed
    /// out, a node inside one log zone (or no node: `lba 0`).
    fn check_nat_entry(&self, e: &NatEntry, cp: &Checkpoint) -> Result<()> {
        if e.ino == 0 || e.ino >= cp.next_ino {
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
        assert_eq!(nat_block_of(OWNER_PACK | 1), None);
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
        let last_leaf = ((1u64 << 31) - 1) / NAT_LEAF_ENTRIES;
        assert!(capacity(NAT_MAX_HEIGHT) > last_leaf);
        assert_eq!(t.touch_leaf(capacity(NAT_MAX_HEIGHT)), Err(ENOSPC));
    }

    #[test]
    fn journal_merges_sorted_unique() {
        let mut t = NatTree::new().unwrap();
        for ino in [9, 3, 9, 5] {
            t.changed(ino);
        }
        t.absorb_pending().unwrap();
        for ino in [4, 3, 10] {
            t.changed(ino);
        }
        t.absorb_pending().unwrap();
        assert_eq!(t.journal.as_slice(), &[3, 4, 5, 9, 10]);
    }
}
