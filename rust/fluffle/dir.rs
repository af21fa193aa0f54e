//! Directory entries: kept in memory in insertion (cookie) order, each with
//! a name hash so lookups compare a u32 before the bytes.

use super::errno::{Result, EINVAL, ENAMETOOLONG, ENOENT, EUCLEAN};
use super::inode::{kind_byte, kind_from};
use super::layout::{Dec, Enc};
use super::inode::Inode;
use super::name_index::INDEX_MIN_ENTRIES;
use super::mem::FVec;
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
}

impl DirEntry {
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

impl Inode {
    /// Index of entry `name`.
    pub fn find_entry(&self, name: &[u8]) -> Option<usize> {
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

    /// Builds the name index of a big directory (after its entries were
    /// loaded).
    pub fn reindex(&mut self) {
        if self.entries.len() > INDEX_MIN_ENTRIES {
            self.index.rebuild(self.entries.iter().map(|e| (e.hash, e.cookie)));
        } else {
            self.index.drop_index();
        }
    }

    /// Appends an entry with a fresh cookie.
    pub fn add_entry(&mut self, name: &[u8], ino: u64, ftype: FileType) -> Result<()> {
        let cookie = self.next_cookie;
        let e = DirEntry::new(cookie, ino, ftype, name)?;
        let hash = e.hash;
        self.entries.try_push(e)?;
        self.names_len += name.len();
        self.touch_block(super::dir_blocks::UNPLACED);
        if self.index.built() {
            self.index.insert(hash, cookie, self.entries.iter().map(|e| (e.hash, e.cookie)));
        } else if self.entries.len() > INDEX_MIN_ENTRIES {
            self.reindex();
        }
        self.next_cookie = cookie.saturating_add(1);
        self.size = self.entries.len() as u64;
        Ok(())
    }

    /// Removes entry `name`, returning its inode number.
    pub fn remove_entry(&mut self, name: &[u8]) -> Result<u64> {
        let i = self.find_entry(name).ok_or(ENOENT)?;
        let e = self.entries.remove(i).ok_or(ENOENT)?;
        self.names_len = self.names_len.saturating_sub(e.name.len());
        self.lost_names = true;
        self.index.remove(e.hash, e.cookie);
        self.touch_block(e.blk);
        self.size = self.entries.len() as u64;
        Ok(e.ino)
    }

    /// Renames entry `from` to `to` in place (keeps its cookie).
    pub fn rename_entry(&mut self, from: &[u8], to: &[u8]) -> Result<()> {
        let i = self.find_entry(from).ok_or(ENOENT)?;
        let mut n = FVec::new();
        n.try_extend_from_slice(to)?;
        let e = &mut self.entries[i];
        let (old, cookie, blk) = (e.hash, e.cookie, e.blk);
        self.names_len = (self.names_len + to.len()).saturating_sub(e.name.len());
        self.lost_names = true;
        e.name = n;
        e.hash = name_hash(to);
        let new = e.hash;
        self.index.remove(old, cookie);
        self.index.insert(new, cookie, self.entries.iter().map(|e| (e.hash, e.cookie)));
        self.touch_block(blk);
        Ok(())
    }

    /// Points entry index `i` at another inode (rename over an existing
    /// name, exchange).
    pub fn set_entry_target(&mut self, i: usize, ino: u64, ftype: FileType) {
        let e = &mut self.entries[i];
        e.ino = ino;
        e.ftype = ftype;
        let blk = e.blk;
        self.lost_names = true;
        self.touch_block(blk);
    }

    /// Notes that dentry block `blk` changed (see `dir_blocks.rs`);
    /// `UNPLACED`: an entry needs a block. Only a directory in blocks mode
    /// keeps the list: one whose entries are in its node rewrites them
    /// all, and its list would only grow until it is converted.
    fn touch_block(&mut self, blk: u32) {
        if self.map.v.is_empty() {
            return;
        }
        if self.dtouched.try_push(blk).is_err() {
            // No memory to remember it: rewrite every changed block.
            self.dall = true;
        }
    }

    /// Index of the first entry with a cookie above `cookie`.
    pub fn entries_after(&self, cookie: u64) -> usize {
        self.entries.partition_point(|e| e.cookie <= cookie)
    }
}
