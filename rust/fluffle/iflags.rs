//! Inode flags (`chattr`/`lsattr`): stored in the node (`inode.rs`,
//! `iflags`); the kernel glue mirrors them into the VFS inode's `i_flags`
//! (`S_IMMUTABLE`, `S_APPEND`, `S_NOATIME`, `S_SYNC`), and the VFS then
//! refuses what they forbid (as for ext4). The core only stores them: its
//! callers are the VFS callbacks, which run after those checks.

use super::device::ZonedDevice;
use super::errno::*;
use super::fs::Fs;
use super::inode::IFLAGS_KNOWN;

impl<D: ZonedDevice> Fs<D> {
    /// Inode `ino`'s flags (`FS_*_FL` bits).
    pub fn iflags(&mut self, ino: u64) -> Result<u16> {
        Ok(self.inode(ino)?.iflags)
    }

    /// Replaces inode `ino`'s flags; `EOPNOTSUPP` for a bit FluffleFS does
    /// not keep (as ext4 answers an unknown `chattr` flag). Sets ctime, as
    /// ext4 does for `FS_IOC_SETFLAGS`. Permission (owner,
    /// `CAP_LINUX_IMMUTABLE` for `i` and `a`) is the caller's to check.
    pub fn set_iflags(&mut self, ino: u64, flags: u32) -> Result<()> {
        if flags & !(IFLAGS_KNOWN as u32) != 0 {
            return Err(EOPNOTSUPP);
        }
        self.begin_op()?;
        let i = self.find(ino)?;
        let now = self.now;
        let n = &mut self.inodes[i];
        n.iflags = flags as u16;
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }
}
