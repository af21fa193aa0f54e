//! What overlayfs needs of an upper layer beyond POSIX: `O_TMPFILE` (an
//! unnamed regular file that `linkat` may name later; overlayfs copies up
//! into one) and `RENAME_WHITEOUT` (the old name becomes a whiteout, a
//! character device 0/0, atomically with the rename).
//!
//! Crash safety needs nothing new: a tmpfile is an inode at link count 0,
//! which every checkpoint lists as an orphan (`inode_cache.rs`) and mount
//! frees; before its first checkpoint it is on disk nowhere (a fsync of it
//! checkpoints, as it has no name to roll forward with). A whiteout rename
//! is one namespace change, durable at the next checkpoint as a whole,
//! because nothing between the rename and the whiteout may checkpoint
//! (the whiteout is made with `new_inode_in`, which does not `begin_op`).

use super::device::ZonedDevice;
use super::errno::*;
use super::fs::Fs;
use super::inode::{Inode, DENTRY_FIXED};
use super::mem::FBox;
use super::types::*;

impl<D: ZonedDevice> Fs<D> {
    /// `ENOSPC` unless one more inode (and its node block) fits.
    fn room_for_inode(&self) -> Result<()> {
        if self.inodes_used >= self.inode_limit() || self.next_ino >= INO_END {
            return Err(ENOSPC);
        }
        if self.used_blocks() + 1 > self.zones.usable_blocks() {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// `O_TMPFILE` in directory `dir`: a regular file at link count 0 with
    /// no name. It is freed when the VFS lets go of it unless
    /// [`Fs::link`] named it first, and by mount after a crash.
    pub fn tmpfile(&mut self, dir: u64, mode: u32, uid: u32, gid: u32) -> Result<Attr> {
        self.begin_op()?;
        self.dir_index(dir)?;
        self.room_for_inode()?;
        let ino = self.next_ino;
        let mut n = Inode::new(ino, FileType::Regular, mode, uid, gid, self.now);
        n.nlink = 0;
        self.inodes.try_reserve(1)?;
        let n = FBox::try_new(n)?;
        let k = self.inodes.insert(n)?;
        self.inodes[k].mark_dirty(&mut self.dirty);
        self.next_ino += 1;
        self.inodes_used += 1;
        self.nodeless += 1;
        Ok(self.inodes[k].attr())
    }

    /// `renameat2(RENAME_WHITEOUT)` (with [`RENAME_NOREPLACE`] or not;
    /// `EINVAL` with [`RENAME_EXCHANGE`], as Linux): [`Fs::rename`], then a
    /// whiteout (char device 0/0, mode 0, owned by `uid`/`gid`) under the
    /// old name. What the whiteout needs is checked before the rename
    /// changes anything, so both happen or neither (short of `ENOMEM`).
    pub fn rename_whiteout(
        &mut self,
        olddir: u64,
        oldname: &[u8],
        newdir: u64,
        newname: &[u8],
        flags: u32,
        uid: u32,
        gid: u32,
    ) -> Result<()> {
        if flags & RENAME_WHITEOUT == 0 || flags & !(RENAME_WHITEOUT | RENAME_NOREPLACE) != 0 {
            return Err(EINVAL);
        }
        self.writable()?;
        let od = self.dir_index(olddir)?;
        self.room_for_inode()?;
        self.check_node_growth(od, DENTRY_FIXED + oldname.len())?;
        self.rename(olddir, oldname, newdir, newname, flags & RENAME_NOREPLACE)?;
        let od = self.dir_index(olddir)?;
        if self.dir_find(od, oldname)?.is_some() {
            // Renamed onto another link of the same inode: nothing moved.
            return Ok(());
        }
        let w = self.new_inode_in(olddir, oldname, FileType::CharDev, 0, uid, gid)?;
        self.inodes[w].rdev = WHITEOUT_DEV;
        Ok(())
    }
}
