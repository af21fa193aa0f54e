//! `fsync` without a checkpoint, and its replay at mount.
//!
//! A checkpoint writes every dirty inode (at 100k files in one directory it
//! was 37 fsyncs/s in the VM), so `fsync` avoids it whenever the file's
//! node alone is enough for recovery:
//! - the file's namespace did not change since the last checkpoint: its
//!   data, then its node, then a flush; mount rolls the node forward,
//!   keeping the link count of the checkpoint (`recovery.rs`);
//! - a regular file **created since the checkpoint**, still with one link
//!   and the name it was created with, in a directory that existed at the
//!   checkpoint and lost no name since: the node carries that name (a
//!   [`LinkMark`], f2fs's dentry mark), and roll-forward creates the inode
//!   and puts the name back into the directory. A directory that lost a
//!   name could still hold it at the checkpoint for another inode, so such
//!   a file gets a checkpoint, as do renamed and linked files, directories,
//!   and files in new directories.
//!
//! After [`MARKED_FSYNCS_MAX`] marked nodes the next one takes a checkpoint
//! instead, which bounds what mount replays.

use super::device::ZonedDevice;
use super::errno::*;
use super::fs::Fs;
use super::inode::{Inode, LinkMark};
use super::mem::FBox;
use super::types::*;

/// Marked nodes between two checkpoints.
pub const MARKED_FSYNCS_MAX: u32 = 1024;

impl<D: ZonedDevice> Fs<D> {
    /// Makes `ino` durable: its data, its attributes and a name to find it
    /// by (see the module docs). `datasync` is accepted for the API; the
    /// same work is done.
    pub fn fsync(&mut self, ino: u64, datasync: bool) -> Result<()> {
        let _ = datasync;
        if self.ro {
            return Ok(());
        }
        self.writable()?;
        let i = self.find(ino)?;
        let n = &self.inodes[i];
        let mark = if n.ftype == FileType::Directory {
            return self.sync();
        } else if n.needs_cp {
            match self.link_mark(i)? {
                Some(m) => Some(m),
                None => return self.sync(),
            }
        } else {
            None
        };
        if self.zones.free_zones() <= self.zones.reserve {
            self.gc_foreground()?;
            // GC ends with a checkpoint: a new file is in it now.
            if mark.is_some() {
                return self.sync();
            }
        }
        let i = self.find(ino)?;
        self.writeback_inode(i)?;
        let i = self.find(ino)?;
        // The node goes last, durably after the data: one request.
        if mark.is_some() {
            self.marked_fsyncs += 1;
            self.write_node_marked(i, mark.as_ref(), true)
        } else if self.inodes[i].is_dirty() {
            self.write_node_marked(i, None, true)
        } else {
            self.flush()
        }
    }

    /// The name a node of inode index `i` must carry for roll-forward to
    /// recreate it, if it qualifies (see the module docs).
    fn link_mark(&mut self, i: usize) -> Result<Option<LinkMark>> {
        let n = &self.inodes[i];
        let Some(super::inode::Born { dir, cookie }) = n.born else { return Ok(None) };
        let cookie = cookie.get();
        if n.ftype != FileType::Regular || n.nlink != 1 || dir >= self.cp_next_ino || self.marked_fsyncs >= MARKED_FSYNCS_MAX {
            return Ok(None);
        }
        let Ok(d) = self.find(dir) else { return Ok(None) };
        let ino = self.inodes[i].ino;
        let p = &self.inodes[d];
        if p.ftype != FileType::Directory || p.dir_state().is_some_and(|d| d.lost_names) {
            return Ok(None);
        }
        match self.dir_entry_at(d, cookie)? {
            Some((e, name)) if e.ino == ino => Ok(Some(LinkMark { dir, name })),
            _ => Ok(None),
        }
    }

    /// Roll-forward of a marked node of `ino`, which is not in the
    /// checkpoint: creates the inode from `n` and adds `mark`'s name to
    /// its directory, and returns the new inode's index. Returns `None`
    /// (nothing changed) unless the node is one `fsync` could have written
    /// after checkpoint `cp_next_ino`: a new inode number, a directory of
    /// the checkpoint without that name, room in the directory's node, and
    /// (checked by the caller) every block it maps written and free.
    pub(super) fn replay_new_file(&mut self, cp_next_ino: u64, mut n: Inode, mark: &LinkMark, lba: u64, blocks: u32) -> Result<Option<usize>> {
        let ino = n.ino;
        if ino < cp_next_ino || ino >= self.max_inodes() || n.ftype != FileType::Regular || n.nlink != 1 {
            return Ok(None);
        }
        let Ok(d) = self.find(mark.dir) else { return Ok(None) };
        if mark.dir >= cp_next_ino || self.inodes[d].ftype != FileType::Directory || self.dir_find(d, &mark.name)?.is_some() {
            return Ok(None);
        }
        if self.check_node_growth(d, super::inode::DENTRY_FIXED + mark.name.len()).is_err() {
            return Ok(None);
        }
        if self.find(ino).is_ok() {
            return Ok(None);
        }
        n.node_lba = lba;
        n.node_blocks = blocks;
        n.needs_cp = true;
        self.inodes.try_reserve(1)?;
        let n = FBox::try_new(n)?;
        self.dir_add(d, &mark.name, ino, FileType::Regular)?;
        self.inodes[d].mark_dirty(&mut self.dirty);
        let at = self.inodes.insert(n)?;
        self.inodes[at].mark_dirty(&mut self.dirty);
        self.next_ino = core::cmp::max(self.next_ino, ino + 1);
        self.inodes_used += 1;
        self.loose.note(ino);
        self.nat_changed_at(at)?;
        Ok(Some(at))
    }
}
