//! Inodes on demand: the inode table holds the inodes in use, not all of
//! them.
//!
//! An inode is read from its node (found through the NAT, `nat.rs`) the
//! first time an operation names it, and leaves memory again when nothing
//! needs it there: no VFS hold ([`Fs::hold`]), nothing the next checkpoint
//! must write (not dirty, not on the dirty list, no dirty pages), a link
//! (an inode at link count 0 is freed instead) and not the root. So memory
//! follows what the VFS holds plus what changed since the last checkpoint,
//! not the number of files, and mount reads no node but the root.
//!
//! Inodes the core loaded for itself (a lookup before the VFS holds the
//! result, GC finding a block's owner, roll-forward) and inodes whose last
//! hold went while they were dirty are "loose": [`Fs::trim_inodes`] drops
//! the droppable ones. It runs only at the start of public operations,
//! never inside one, because operations hold table slots across calls;
//! the table's slots never move (`inode_table.rs`) but a dropped one would
//! be gone.

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::inode::Inode;
use super::layout::{open_pack, pack_record, NodeHdr, CKPT_ZONES};
use super::mem::{FBox, FVec};
use super::types::FileType;
use super::zones::pack_share;

/// Loose inodes tolerated before a trim walks them (then twice what a
/// trim kept: amortized O(1) per load). Host tests trim all the time, so
/// every test also proves that what leaves memory comes back intact.
const LOOSE_MIN: usize = if cfg!(test) { 4 } else { 1024 };

/// The last pack block read (consecutive inodes usually share one).
pub(super) struct PackCache {
    lba: u64,
    /// `Zones::resets` when read: any reset since may have reused `lba`.
    resets: u64,
    hdr: Option<NodeHdr>,
    blk: FVec<u8>,
}

impl PackCache {
    pub(super) fn new() -> Self {
        Self { lba: 0, resets: 0, hdr: None, blk: FVec::new() }
    }
}

/// Inodes that may leave memory when nothing needs them there.
pub(super) struct Loose {
    inos: FVec<u64>,
    /// Walk when there are this many.
    limit: usize,
    /// The least `limit`.
    min: usize,
}

impl Loose {
    pub(super) fn new() -> Self {
        Self { inos: FVec::new(), limit: LOOSE_MIN, min: LOOSE_MIN }
    }

    /// Notes `ino` (without memory it just stays loaded: harmless).
    pub(super) fn note(&mut self, ino: u64) {
        let _ = self.inos.try_push(ino);
    }
}

impl<D: ZonedDevice> Fs<D> {
    /// Slot of inode `ino`, read from its node if it is not in memory
    /// (`ENOENT`: no such inode; `EUCLEAN`: its node is damaged).
    pub(super) fn find(&mut self, ino: u64) -> Result<usize> {
        match self.inodes.find(ino) {
            Some(i) => Ok(i),
            None => self.load_inode(ino),
        }
    }

    pub(super) fn inode(&mut self, ino: u64) -> Result<&Inode> {
        let i = self.find(ino)?;
        Ok(&self.inodes[i])
    }

    /// Reads inode `ino` from the node the NAT names into the table.
    fn load_inode(&mut self, ino: u64) -> Result<usize> {
        let e = self.nat_lookup(ino)?;
        if e.lba == 0 {
            return Err(ENOENT);
        }
        let (mut n, seq, version, share) = if e.blocks == 0 {
            self.read_pack_record(ino, e.lba)?
        } else {
            self.written_end(e.lba + e.blocks as u64 - 1)?;
            let (n, seq, version) = self.read_node(ino, e.lba, e.blocks)?;
            (n, seq, version, 0)
        };
        if seq > self.cp_seq || version >= self.node_version {
            return Err(EUCLEAN);
        }
        n.node_lba = e.lba;
        n.node_blocks = core::cmp::max(e.blocks, 1);
        n.packed = e.blocks == 0;
        n.pack_share = share;
        self.check_loaded(&n)?;
        self.inodes.try_reserve(1)?;
        let i = self.inodes.insert(FBox::try_new(n)?).map_err(|e| if e == EEXIST { EUCLEAN } else { e })?;
        self.loose.note(ino);
        self.stats.inode_loads += 1;
        Ok(i)
    }

    /// Inode `ino`'s record in the pack block at `lba`: (inode, checkpoint
    /// sequence, version, live-space share).
    fn read_pack_record(&mut self, ino: u64, lba: u64) -> Result<(Inode, u64, u64, u8)> {
        self.written_end(lba)?;
        let c = &mut self.pack_cache;
        if c.hdr.is_none() || c.lba != lba || c.resets != self.zones.resets {
            c.hdr = None;
            if c.blk.len() != BLOCK_SIZE {
                c.blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
            }
            self.dev.read(lba, &mut c.blk)?;
            c.hdr = Some(open_pack(&c.blk, self.seed)?);
            c.lba = lba;
            c.resets = self.zones.resets;
        }
        let h = c.hdr.ok_or(EIO)?;
        let (n, rec) = pack_record(&c.blk, &h, ino, &mut |r| Inode::decode(ino, r))?.ok_or(EUCLEAN)?;
        Ok((n, h.cp_seq, rec.version, pack_share(rec.index, rec.records) as u8))
    }

    /// What operations rely on of an inode read from disk: the root is a
    /// directory that is its own parent, a directory's parent is an inode
    /// number handed out, every mapped block lies in the written part of
    /// one log zone.
    fn check_loaded(&self, n: &Inode) -> Result<()> {
        if n.ino == Self::ROOT_INO && (n.ftype != FileType::Directory || n.parent != Self::ROOT_INO) {
            return Err(EUCLEAN);
        }
        if n.ftype == FileType::Directory && (n.parent == 0 || n.parent >= self.next_ino) {
            return Err(EUCLEAN);
        }
        for x in n.map.v.iter() {
            let last = x.lba.checked_add((x.len as u64).saturating_sub(1)).ok_or(EUCLEAN)?;
            let z = self.geo.zone_of(x.lba).ok_or(EUCLEAN)?;
            if z < CKPT_ZONES || self.geo.zone_of(last) != Some(z) {
                return Err(EUCLEAN);
            }
            self.written_end(last)?;
        }
        Ok(())
    }

    /// The table holds inode slot `i` for nobody: the next checkpoint has
    /// nothing to write of it and no VFS hold needs it.
    fn droppable(&self, i: usize) -> bool {
        let n = &self.inodes[i];
        n.ino != Self::ROOT_INO && n.holds == 0 && n.nlink > 0 && !n.is_dirty() && !n.is_listed() && n.pages.is_empty()
    }

    /// Drops inode slot `i` from memory if nothing needs it there, else
    /// notes it loose; true if dropped.
    pub(super) fn let_go(&mut self, i: usize) -> bool {
        if self.droppable(i) {
            self.inodes.remove(i);
            return true;
        }
        let ino = self.inodes[i].ino;
        self.loose.note(ino);
        false
    }

    /// Drops the loose inodes nothing needs in memory any more. Call only
    /// at the start of a public operation (no slot held). Walks them only
    /// when they have doubled since the last walk, unless `all`.
    pub(super) fn trim_inodes(&mut self, all: bool) {
        if !all && self.loose.inos.len() < self.loose.limit {
            return;
        }
        let mut k = 0;
        while k < self.loose.inos.len() {
            let keep = match self.inodes.find(self.loose.inos[k]) {
                Some(i) if self.inodes[i].holds == 0 => {
                    if self.droppable(i) {
                        self.inodes.remove(i);
                        false
                    } else {
                        true
                    }
                }
                _ => false,
            };
            if keep {
                k += 1;
            } else {
                self.loose.inos.swap_remove(k);
            }
        }
        self.loose.limit = core::cmp::max(self.loose.min, 2 * self.loose.inos.len());
    }

    /// Inodes at link count 0 still open: the checkpoint lists them so
    /// that mount frees them (sorted).
    pub(super) fn orphans(&self) -> Result<FVec<u64>> {
        let mut v = FVec::new();
        for n in self.inodes.iter() {
            if n.nlink == 0 {
                v.try_push(n.ino)?;
            }
        }
        v.sort_unstable();
        Ok(v)
    }

    /// Sets how many loose inodes wait before a trim and how many dentry
    /// blocks a directory keeps in memory (tests make both small so that
    /// every operation also proves that what left memory comes back
    /// intact).
    pub fn set_cache_limits(&mut self, loose: usize, dent_blocks: usize) {
        self.loose.min = core::cmp::max(loose, 1);
        self.loose.limit = self.loose.min;
        self.dent_cache_max = core::cmp::max(dent_blocks, 1);
    }

    /// Reads every inode into memory (fsck, dump and tests look at all).
    pub fn load_all(&mut self) -> Result<()> {
        for ino in self.nat_inos()?.iter().copied() {
            self.find(ino)?;
        }
        Ok(())
    }
}
