//! The inodes in memory, each in a slot that does not move.
//!
//! Operations find an inode's slot once (`Fs::find`) and then work on
//! `fs.inodes[slot]`, often holding the slots of two or three inodes at a
//! time (rename, link, GC). A sorted vector of inodes moved every later
//! inode on each insert, which made any slot held across an insert stale;
//! here an insert or remove never moves another inode, so inodes can come
//! and go while slots are held (the step towards reading inodes on demand
//! and dropping them on evict). An index sorted by inode number finds a
//! slot by binary search and gives the inode-number order that packs, NAT
//! leaves and fsck walk in.

use core::ops::{Index, IndexMut};

use super::errno::{Result, EEXIST};
use super::inode::Inode;
use super::mem::{FBox, FVec};

/// Every inode in memory.
#[derive(Default)]
pub struct InodeTable {
    /// The inodes; `None` for a free slot.
    slots: FVec<Option<FBox<Inode>>>,
    /// Free slots, reused first.
    free: FVec<u32>,
    /// (inode number, slot), sorted by inode number.
    index: FVec<(u64, u32)>,
}

impl InodeTable {
    /// Inodes in the table.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when it holds no inode.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// One more than the highest slot in use (for tables indexed by slot).
    pub fn slot_bound(&self) -> usize {
        self.slots.len()
    }

    /// The slot of inode `ino`.
    pub fn find(&self, ino: u64) -> Option<usize> {
        let k = self.index.binary_search_by(|e| e.0.cmp(&ino)).ok()?;
        Some(self.index[k].1 as usize)
    }

    /// The slot of the `k`-th inode by inode number.
    pub fn slot_at(&self, k: usize) -> Option<usize> {
        self.index.get(k).map(|e| e.1 as usize)
    }

    /// The inode in `slot`, if any.
    pub fn get(&self, slot: usize) -> Option<&Inode> {
        self.slots.get(slot)?.as_deref()
    }

    /// Makes room for `n` more inodes, so that as many inserts cannot fail
    /// for want of memory.
    pub fn try_reserve(&mut self, n: usize) -> Result<()> {
        self.index.try_reserve(n)?;
        let new_slots = n.saturating_sub(self.free.len());
        self.slots.try_reserve(new_slots)
    }

    /// Adds `n` and returns its slot; `EEXIST` if its number is taken.
    pub fn insert(&mut self, n: FBox<Inode>) -> Result<usize> {
        let ino = n.ino;
        let at = self.index.partition_point(|e| e.0 < ino);
        if self.index.get(at).is_some_and(|e| e.0 == ino) {
            return Err(EEXIST);
        }
        self.try_reserve(1)?;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(n);
                s as usize
            }
            None => {
                self.slots.try_push(Some(n))?;
                self.slots.len() - 1
            }
        };
        // Inode numbers mostly grow: appending is the common case.
        if at == self.index.len() {
            self.index.try_push((ino, slot as u32))?;
        } else {
            self.index.try_insert(at, (ino, slot as u32))?;
        }
        Ok(slot)
    }

    /// Takes the inode out of `slot` (which becomes free).
    pub fn remove(&mut self, slot: usize) -> Option<FBox<Inode>> {
        let n = self.slots.get_mut(slot)?.take()?;
        if let Ok(k) = self.index.binary_search_by(|e| e.0.cmp(&n.ino)) {
            self.index.remove(k);
        }
        // Cannot fail for want of memory often; a slot not reused is only
        // a few bytes lost until the table is dropped.
        let _ = self.free.try_push(slot as u32);
        Some(n)
    }

    /// The inodes in inode-number order.
    pub fn iter(&self) -> impl Iterator<Item = &FBox<Inode>> + '_ {
        self.index.iter().filter_map(move |e| self.slots.get(e.1 as usize).and_then(|s| s.as_ref()))
    }

    /// The inodes numbered `lo..hi`, in order.
    pub fn range(&self, lo: u64, hi: u64) -> impl Iterator<Item = &FBox<Inode>> + '_ {
        let from = self.index.partition_point(|e| e.0 < lo);
        self.index[from..]
            .iter()
            .take_while(move |e| e.0 < hi)
            .filter_map(move |e| self.slots.get(e.1 as usize).and_then(|s| s.as_ref()))
    }

    /// The slots in use, in inode-number order (a snapshot: the caller
    /// may insert and remove while going through it).
    pub fn slots(&self) -> Result<FVec<usize>> {
        let mut v = FVec::try_with_capacity(self.index.len())?;
        for e in self.index.iter() {
            v.try_push(e.1 as usize)?;
        }
        Ok(v)
    }
}

impl Index<usize> for InodeTable {
    type Output = FBox<Inode>;

    /// The inode in `slot`; slots come from [`InodeTable::find`] and
    /// [`InodeTable::insert`], so an empty one is a bug in the caller.
    fn index(&self, slot: usize) -> &FBox<Inode> {
        match self.slots.get(slot) {
            Some(Some(n)) => n,
            _ => panic!("inode slot {slot} is empty"),
        }
    }
}

impl IndexMut<usize> for InodeTable {
    fn index_mut(&mut self, slot: usize) -> &mut FBox<Inode> {
        match self.slots.get_mut(slot) {
            Some(Some(n)) => n,
            _ => panic!("inode slot {slot} is empty"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::types::{FileType, Timespec};

    fn inode(ino: u64) -> FBox<Inode> {
        FBox::try_new(Inode::new(ino, FileType::Regular, 0o644, 0, 0, Timespec::default())).unwrap()
    }

    #[test]
    fn slots_stay_put_while_inodes_come_and_go() {
        let mut t = InodeTable::default();
        let a = t.insert(inode(10)).unwrap();
        let b = t.insert(inode(5)).unwrap();
        let c = t.insert(inode(7)).unwrap();
        assert_eq!(t.insert(inode(7)).unwrap_err(), EEXIST);
        assert_eq!((t[a].ino, t[b].ino, t[c].ino), (10, 5, 7));
        assert!(t.iter().map(|n| n.ino).eq([5, 7, 10]));
        assert!(t.range(6, 11).map(|n| n.ino).eq([7, 10]));
        assert_eq!(t.remove(b).unwrap().ino, 5);
        assert_eq!(t.find(5), None);
        // The freed slot is reused; the others did not move.
        let d = t.insert(inode(3)).unwrap();
        assert_eq!(d, b);
        assert_eq!((t[a].ino, t[c].ino, t.find(7), t.find(3)), (10, 7, Some(c), Some(d)));
        assert_eq!(t.len(), 3);
        assert_eq!(t.slot_at(0), Some(d));
    }
}
