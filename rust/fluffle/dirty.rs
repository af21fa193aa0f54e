//! The inodes the next checkpoint must look at.
//!
//! Every inode whose node is stale, that was never written, or that
//! changed the namespace since the last checkpoint is listed here once
//! (`Inode::mark_dirty`), so a checkpoint and `begin_op`'s measure of the
//! dirty set cost what changed, not the number of inodes (they walked all
//! of them). The list is emptied only by a checkpoint that succeeded; if
//! it cannot grow (no memory) it overflows and those two walk every inode
//! again until the next checkpoint.

use super::device::ZonedDevice;
use super::fs::Fs;
use super::mem::FVec;

/// Inode numbers listed since the last checkpoint.
#[derive(Default)]
pub struct DirtyList {
    inos: FVec<u64>,
    overflow: bool,
}

impl DirtyList {
    /// Lists `ino`. An inode is listed once, or again after roll-forward
    /// replaced it in memory (readers skip the clean ones).
    pub fn push(&mut self, ino: u64) {
        if self.inos.try_push(ino).is_err() {
            self.overflow = true;
        }
    }

    /// True when an inode could not be listed: every inode must be looked at.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Listed inodes (`get` by position: the list may grow while a
    /// checkpoint goes through it).
    pub fn len(&self) -> usize {
        self.inos.len()
    }

    /// True when nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.inos.is_empty()
    }

    /// The inode at position `k`.
    pub fn get(&self, k: usize) -> Option<u64> {
        self.inos.get(k).copied()
    }

    /// Sorts by inode number (a checkpoint packs nodes in that order) and
    /// drops repeats (a checkpoint must see each inode once: it would
    /// pack a repeated one twice).
    pub fn sort(&mut self) {
        self.inos.sort_unstable();
        let mut w = 0;
        for r in 0..self.inos.len() {
            if w == 0 || self.inos[r] != self.inos[w - 1] {
                self.inos[w] = self.inos[r];
                w += 1;
            }
        }
        self.inos.truncate(w);
    }

    /// As if a push had failed (tests of the walk-every-inode fallback).
    #[cfg(test)]
    pub fn overflow_for_test(&mut self) {
        self.overflow = true;
    }

    /// Empties the list after a checkpoint.
    pub fn clear(&mut self) {
        self.inos.clear();
        self.overflow = false;
    }
}

impl<D: ZonedDevice> Fs<D> {
    /// The `k`-th inode a checkpoint must look at: `None` past the end,
    /// `Some(None)` for a listed inode that is gone, else its slot in
    /// `inodes`. After an overflow that is every inode (by number). Read by position
    /// because a checkpoint lists more inodes while it goes (GC, dentry
    /// blocks).
    pub(super) fn dirty_slot(&self, k: usize) -> Option<Option<usize>> {
        if self.dirty.overflowed() {
            return self.inodes.slot_at(k).map(Some);
        }
        let ino = self.dirty.get(k)?;
        Some(self.inodes.find(ino))
    }
}
