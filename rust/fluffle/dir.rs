//! Directory entries: kept in memory in insertion (cookie) order, each with
//! a name hash so lookups compare a u32 before the bytes.

use super::dir_blocks::DentBlock;
use super::errno::{Result, EINVAL, ENAMETOOLONG, ENOENT, EUCLEAN};
use super::inode::{kind_byte, kind_from, Inode};
use super::layout::{Dec, Enc};
use super::mem::FVec;
use super::name_index::{NameIndex, INDEX_MIN_ENTRIES};
use super::types::{FileType, NAME_MAX};

/// One directory entry.
pub struct DirEntry {
    /// Stable readdir cookie (unique and increasing within the directory).
    pub cookie: u64,
    /// Target inode.
    pub ino: u64,
    /// Target kind (for readdir's `d_type`).
    pub ftype: FileType,
    /// Hash of `name`.
    pub hash: u32,
    /// Name bytes.
    pub name: FVec<u8>,
    /// Dentry block holding it (`dir_blocks::UNPLACED` until placed).
    pub blk: u32,
}

impl DirEntry {
    /// A new entry.
    pub fn new(cookie: u64, ino: u64, ftype: FileType, name: &[u8]) -> Result<Self> {
        let mut n = FVec::new();
        n.try_extend_from_slice(name)?;
        Ok(Self { cookie, ino, ftype, hash: name_hash(name), name: n, blk: super::dir_blocks::UNPLACED })
    }

    /// Appends the on-disk record (`cookie u64, ino u64, kind u8,
    /// name_len u8, name`), the same in a node and in a dentry block.
    pub fn encode(&self, e: &mut Enc<'_>) -> Result<()> {
        e.u64(self.cookie)?;
        e.u64(self.ino)?;
        e.u8(kind_byte(self.ftype))?;
        e.u8(self.name.len() as u8)?;
        e.bytes(&self.name)
    }

    /// Decodes and validates one record of a directory whose next cookie
    /// is `next_cookie` (cookies 0..=2 are `.`, `..` and never used).
    pub fn decode(d: &mut Dec<'_>, next_cookie: u64) -> Result<Self> {
        let cookie = d.u64()?;
        let ino = d.u64()?;
        let kind = kind_from(d.u8()?)?;
        let nl = d.u8()? as usize;
        let name = d.bytes(nl)?;
        if cookie < 3 || cookie >= next_cookie || ino == 0 {
            return Err(EUCLEAN);
        }
        check_name(name).map_err(|_| EUCLEAN)?;
        Self::new(cookie, ino, kind, name)
    }
}

/// FNV-1a over the name.
pub fn name_hash(name: &[u8]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for &b in name {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    h
}

/// Validates a name: 1..=255 bytes, no `/` or NUL, not `.`/`..`.
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(EINVAL);
    }
    Ok(())
}

/// A directory's in-memory entries and what is kept about them (boxed
/// in [`Inode::extra`], so a file's inode does not carry it).
#[derive(Default)]
pub struct DirState {
    /// Entries sorted by cookie.
    pub entries: FVec<DirEntry>,
    /// The dentry blocks, when the entries live in blocks (`dir_blocks.rs`;
    /// the directory's block map says where).
    pub dblocks: FVec<DentBlock>,
    /// Hash index of the names (big directories).
    pub index: NameIndex,
    /// Dentry blocks whose entries changed since they were written (may
    /// repeat), and whether every block must be looked at instead.
    pub dtouched: FVec<u32>,
    /// See `dtouched`.
    pub dall: bool,
    /// Sum of the names' lengths (kept by the entry methods below, so a
    /// node's size is known without walking the entries).
    pub names_len: usize,
    /// A name was lost or retargeted since the last checkpoint
    /// (roll-forward must not add a name the checkpoint may still hold for
    /// another inode; `fsync.rs`).
    pub lost_names: bool,
}

impl DirState {
    /// Index of entry `name`.
    fn find(&self, name: &[u8]) -> Option<usize> {
        let h = name_hash(name);
        if !self.index.built() {
            return self.entries.iter().position(|e| e.hash == h && e.name.as_slice() == name);
        }
        let mut found = None;
        self.index.find(h, |cookie| {
            let i = self.entries.partition_point(|e| e.cookie < cookie);
            let hit = self.entries.get(i).is_some_and(|e| e.cookie == cookie && e.name.as_slice() == name);
            if hit {
                found = Some(i);
            }
            hit
        });
        found
    }

    fn reindex(&mut self) {
        if self.entries.len() > INDEX_MIN_ENTRIES {
            self.index.rebuild(self.entries.iter().map(|e| (e.hash, e.cookie)));
        } else {
            self.index.drop_index();
        }
    }

    /// Notes that dentry block `blk` changed (see `dir_blocks.rs`);
    /// `UNPLACED`: an entry needs a block. Only a directory in blocks mode
    /// (`in_blocks`) keeps the list: one whose entries are in its node
    /// rewrites them all, and its list would only grow until it is
    /// converted.
    fn touch_block(&mut self, blk: u32, in_blocks: bool) {
        if !in_blocks {
            return;
        }
        if self.dtouched.try_push(blk).is_err() {
            // No memory to remember it: rewrite every changed block.
            self.dall = true;
        }
    }
}

impl Inode {
    /// Index of entry `name`.
    pub fn find_entry(&self, name: &[u8]) -> Option<usize> {
        self.dir_state()?.find(name)
    }

    /// Builds the name index of a big directory (after its entries were
    /// loaded).
    pub fn reindex(&mut self) {
        if let Some(d) = self.dir_state_mut() {
            d.reindex();
        }
    }

    /// Appends an entry with a fresh cookie.
    pub fn add_entry(&mut self, name: &[u8], ino: u64, ftype: FileType) -> Result<()> {
        let cookie = self.next_cookie;
        let e = DirEntry::new(cookie, ino, ftype, name)?;
        let hash = e.hash;
        let in_blocks = self.entries_in_blocks();
        let d = self.dir_mut()?;
        d.entries.try_push(e)?;
        d.names_len += name.len();
        d.touch_block(super::dir_blocks::UNPLACED, in_blocks);
        if d.index.built() {
            d.index.insert(hash, cookie, d.entries.iter().map(|e| (e.hash, e.cookie)));
        } else if d.entries.len() > INDEX_MIN_ENTRIES {
            d.reindex();
        }
        let count = d.entries.len() as u64;
        self.next_cookie = cookie.saturating_add(1);
        self.size = count;
        Ok(())
    }

    /// Removes entry `name`, returning its inode number.
    pub fn remove_entry(&mut self, name: &[u8]) -> Result<u64> {
        let in_blocks = self.entries_in_blocks();
        let d = self.dir_state_mut().ok_or(ENOENT)?;
        let i = d.find(name).ok_or(ENOENT)?;
        let e = d.entries.remove(i).ok_or(ENOENT)?;
        d.names_len = d.names_len.saturating_sub(e.name.len());
        d.lost_names = true;
        d.index.remove(e.hash, e.cookie);
        d.touch_block(e.blk, in_blocks);
        self.size = d.entries.len() as u64;
        Ok(e.ino)
    }

    /// Renames entry `from` to `to` in place (keeps its cookie).
    pub fn rename_entry(&mut self, from: &[u8], to: &[u8]) -> Result<()> {
        let in_blocks = self.entries_in_blocks();
        let d = self.dir_state_mut().ok_or(ENOENT)?;
        let i = d.find(from).ok_or(ENOENT)?;
        let mut n = FVec::new();
        n.try_extend_from_slice(to)?;
        let e = &mut d.entries[i];
        let (old, cookie, blk) = (e.hash, e.cookie, e.blk);
        let old_len = e.name.len();
        e.name = n;
        e.hash = name_hash(to);
        let new = e.hash;
        d.names_len = (d.names_len + to.len()).saturating_sub(old_len);
        d.lost_names = true;
        d.index.remove(old, cookie);
        d.index.insert(new, cookie, d.entries.iter().map(|e| (e.hash, e.cookie)));
        d.touch_block(blk, in_blocks);
        Ok(())
    }

    /// Points entry index `i` at another inode (rename over an existing
    /// name, exchange).
    pub fn set_entry_target(&mut self, i: usize, ino: u64, ftype: FileType) {
        let in_blocks = self.entries_in_blocks();
        let Some(d) = self.dir_state_mut() else { return };
        let Some(e) = d.entries.get_mut(i) else { return };
        e.ino = ino;
        e.ftype = ftype;
        let blk = e.blk;
        d.lost_names = true;
        d.touch_block(blk, in_blocks);
    }

    /// Index of the first entry with a cookie above `cookie`.
    pub fn entries_after(&self, cookie: u64) -> usize {
        self.entries().partition_point(|e| e.cookie <= cookie)
    }
}
