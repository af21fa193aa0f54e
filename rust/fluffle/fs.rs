//! The filesystem API: an inode-number interface like FUSE low-level.
//!
//! # Overview (API.md)
//!
//! The kernel VFS glue (and the host tests and tools) drive one [`Fs`]
//! value under one mutex: every operation is a `&mut self` method taking
//! inode numbers and names, returning Linux errnos ([`super::errno`]).
//!
//! - Lifecycle: [`format`] a device, [`Fs::mount`] it (newest valid
//!   checkpoint + roll-forward of fsynced files), [`Fs::unmount`] (writes
//!   a checkpoint and hands the device back). [`Fs::ROOT_INO`] is the root.
//! - Time: the core has no clock; call [`Fs::set_time`] before operations
//!   that stamp times (the glue passes `current_time()`).
//! - Permissions (mode/uid/gid checks) are the VFS's job; the core stores
//!   mode/uid/gid and never checks them.
//! - Names are byte strings of 1..=255 bytes without `/` or NUL, not `.` or
//!   `..` (`EINVAL`; `ENAMETOOLONG` beyond 255).
//! - Directories: [`Fs::lookup`], [`Fs::create`], [`Fs::mkdir`],
//!   [`Fs::symlink`], [`Fs::link`], [`Fs::unlink`], [`Fs::rmdir`],
//!   [`Fs::rename`] (with `RENAME_NOREPLACE` / `RENAME_EXCHANGE`),
//!   [`Fs::readdir`] with stable cookies: `.` has cookie 1, `..` cookie 2,
//!   every entry gets a per-directory increasing cookie when inserted and
//!   keeps it; `readdir(dir, c)` returns the entries whose cookie is > `c`
//!   in cookie order, so a cookie stays valid across unrelated inserts and
//!   removals. Start with cookie 0.
//! - Files: [`Fs::read`], [`Fs::write`] at any offset (holes read as
//!   zeros), [`Fs::setattr`] (size = truncate up/down), [`Fs::fsync`].
//! - Inode lifetime: an inode whose link count drops to 0 is freed at once
//!   unless it is held ([`Fs::hold`], e.g. from `iget` while the VFS has it
//!   in its inode cache); then it is freed on the last [`Fs::release`]
//!   (`evict_inode`). Orphans left by a crash are freed at mount.
//! - Extended attributes: `user.` namespace only (`EOPNOTSUPP` otherwise),
//!   persistent: [`Fs::getxattr`], [`Fs::setxattr`], [`Fs::listxattr`],
//!   [`Fs::removexattr`] with Linux's ERANGE/ENODATA/EEXIST semantics.
//! - Snapshots (for computational storage): [`Fs::snapshot`] pins a
//!   regular file's block map and size in memory (not persistent); reads
//!   through the snapshot return the pinned content whatever writers do,
//!   GC skips zones holding pinned blocks; [`Fs::release_snapshot`] unpins.
//! - Durability: [`Fs::fsync`] returns once the file's data and the
//!   metadata to find it are durable (flush included): data + inode node
//!   for plain data changes (rolled forward at mount), a full checkpoint
//!   if the file's namespace changed since the last one or it is a
//!   directory. [`Fs::sync`] writes a checkpoint.
//! - Space: [`Fs::statfs`]; foreground GC runs inside writes when free
//!   zones run short; [`Fs::gc_step`] is one background GC step.
//! - Checking: [`super::fsck::fsck`] and [`Fs::check`].

use super::device::ZonedDevice;
use super::errno::*;
pub use super::types::*;

/// A mounted filesystem on device `D`.
pub struct Fs<D: ZonedDevice> {
    dev: D,
}

/// Formats `dev`: resets every zone and writes an empty filesystem (root
/// directory only) with a first checkpoint. Needs at least 8 zones.
pub fn format<D: ZonedDevice>(dev: &mut D, opts: &FormatOptions) -> Result<()> {
    let _ = (dev, opts);
    Err(ENOSYS)
}

impl<D: ZonedDevice> Fs<D> {
    /// Inode number of the root directory.
    pub const ROOT_INO: u64 = 1;

    /// Mounts the filesystem on `dev`: newest valid checkpoint, roll-forward
    /// of inodes fsynced after it, orphan cleanup, then (unless read-only) a
    /// fresh checkpoint. Corruption gives `EUCLEAN`/`EINVAL`/`EIO`.
    pub fn mount(dev: D, opts: &MountOptions) -> Result<Self> {
        let _ = (dev, opts);
        Err(ENOSYS)
    }

    /// Writes a checkpoint and returns the device.
    pub fn unmount(self) -> Result<D> {
        Err(ENOSYS)
    }

    /// The device (for statistics in tests and benchmarks).
    pub fn device(&self) -> &D {
        &self.dev
    }

    /// Sets the time stamped by the following operations.
    pub fn set_time(&mut self, now: Timespec) {
        let _ = now;
    }

    /// Looks `name` up in directory `dir`.
    pub fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<Attr> {
        let _ = (dir, name);
        Err(ENOSYS)
    }

    /// Attributes of `ino`.
    pub fn getattr(&mut self, ino: u64) -> Result<Attr> {
        let _ = ino;
        Err(ENOSYS)
    }

    /// Changes attributes; `size` truncates (`EISDIR` on directories,
    /// `EINVAL` on symlinks, `EFBIG` beyond [`MAX_FILE_SIZE`]).
    pub fn setattr(&mut self, ino: u64, set: &SetAttr) -> Result<Attr> {
        let _ = (ino, set);
        Err(ENOSYS)
    }

    /// Creates a regular file (`mode` = permission bits).
    pub fn create(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Attr> {
        let _ = (dir, name, mode, uid, gid);
        Err(ENOSYS)
    }

    /// Creates a directory.
    pub fn mkdir(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Attr> {
        let _ = (dir, name, mode, uid, gid);
        Err(ENOSYS)
    }

    /// Creates a symlink to `target` (1..=4095 bytes), mode 0777.
    pub fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Attr> {
        let _ = (dir, name, target, uid, gid);
        Err(ENOSYS)
    }

    /// Copies a symlink's target into `buf`; returns its full length
    /// (truncated copy if `buf` is short, like readlink(2)). `EINVAL` if
    /// `ino` is not a symlink.
    pub fn readlink(&mut self, ino: u64, buf: &mut [u8]) -> Result<usize> {
        let _ = (ino, buf);
        Err(ENOSYS)
    }

    /// Adds a hard link `newdir/newname` to `ino` (`EPERM` for directories,
    /// `EMLINK` beyond [`LINK_MAX`]).
    pub fn link(&mut self, ino: u64, newdir: u64, newname: &[u8]) -> Result<Attr> {
        let _ = (ino, newdir, newname);
        Err(ENOSYS)
    }

    /// Removes a non-directory entry (`EISDIR` for directories).
    pub fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        let _ = (dir, name);
        Err(ENOSYS)
    }

    /// Removes an empty directory (`ENOTEMPTY`, `ENOTDIR`).
    pub fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        let _ = (dir, name);
        Err(ENOSYS)
    }

    /// Renames like rename(2)/renameat2(2): replaces a compatible target
    /// (`EISDIR`/`ENOTDIR`/`ENOTEMPTY` otherwise), `EINVAL` when moving a
    /// directory under itself, flags [`RENAME_NOREPLACE`] and
    /// [`RENAME_EXCHANGE`]. Renaming onto a hard link of the same inode is
    /// a no-op.
    pub fn rename(&mut self, olddir: u64, oldname: &[u8], newdir: u64, newname: &[u8], flags: u32) -> Result<()> {
        let _ = (olddir, oldname, newdir, newname, flags);
        Err(ENOSYS)
    }

    /// Reads from `off`; returns bytes read (0 at or beyond EOF). Holes read
    /// as zeros. `EISDIR` on directories, `EINVAL` on symlinks.
    pub fn read(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> Result<usize> {
        let _ = (ino, off, buf);
        Err(ENOSYS)
    }

    /// Writes at `off` (extending the file); returns bytes written (all of
    /// `data` unless an error occurs first). `EFBIG` beyond
    /// [`MAX_FILE_SIZE`], `ENOSPC` only when live data fills the device.
    pub fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        let _ = (ino, off, data);
        Err(ENOSYS)
    }

    /// Lists `dir` from after `cookie` (0 = start). For each entry calls
    /// `emit(name, ino, type, next_cookie)`; `emit` returns false to stop
    /// (the entry it returned false for is not consumed: resume with the
    /// previous entry's cookie). `.` and `..` are included (cookies 1, 2).
    pub fn readdir(
        &mut self,
        dir: u64,
        cookie: u64,
        emit: &mut dyn FnMut(&[u8], u64, FileType, u64) -> bool,
    ) -> Result<()> {
        let _ = (dir, cookie, emit);
        Err(ENOSYS)
    }

    /// Makes `ino` durable (see the module docs); `datasync` skips pure
    /// timestamp changes.
    pub fn fsync(&mut self, ino: u64, datasync: bool) -> Result<()> {
        let _ = (ino, datasync);
        Err(ENOSYS)
    }

    /// Writes everything and a checkpoint.
    pub fn sync(&mut self) -> Result<()> {
        Err(ENOSYS)
    }

    /// Filesystem statistics.
    pub fn statfs(&mut self) -> Result<StatFs> {
        Err(ENOSYS)
    }

    /// Notes that the VFS holds `ino` (it stays allocated at link count 0).
    pub fn hold(&mut self, ino: u64) -> Result<()> {
        let _ = ino;
        Err(ENOSYS)
    }

    /// Drops one hold; frees the inode if it was the last and its link
    /// count is 0.
    pub fn release(&mut self, ino: u64) -> Result<()> {
        let _ = ino;
        Err(ENOSYS)
    }

    /// Reads xattr `name` into `buf`; returns its size. An empty `buf`
    /// queries the size; `ERANGE` if `buf` is too small, `ENODATA` if
    /// absent, `EOPNOTSUPP` outside `user.`.
    pub fn getxattr(&mut self, ino: u64, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        let _ = (ino, name, buf);
        Err(ENOSYS)
    }

    /// Sets xattr `name` ([`XATTR_CREATE`] -> `EEXIST`, [`XATTR_REPLACE`] ->
    /// `ENODATA`; `E2BIG` beyond [`XATTR_SIZE_MAX`], `ENOSPC` beyond
    /// [`XATTR_TOTAL_MAX`] per inode).
    pub fn setxattr(&mut self, ino: u64, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        let _ = (ino, name, value, flags);
        Err(ENOSYS)
    }

    /// Lists xattr names, each NUL-terminated, into `buf`; returns the total
    /// size (empty `buf` = size query, `ERANGE` if too small).
    pub fn listxattr(&mut self, ino: u64, buf: &mut [u8]) -> Result<usize> {
        let _ = (ino, buf);
        Err(ENOSYS)
    }

    /// Removes xattr `name` (`ENODATA` if absent).
    pub fn removexattr(&mut self, ino: u64, name: &[u8]) -> Result<()> {
        let _ = (ino, name);
        Err(ENOSYS)
    }

    /// Pins the current content (block map and size) of regular file `ino`.
    pub fn snapshot(&mut self, ino: u64) -> Result<SnapId> {
        let _ = ino;
        Err(ENOSYS)
    }

    /// Size in bytes of the pinned content.
    pub fn snapshot_size(&self, snap: SnapId) -> Result<u64> {
        let _ = snap;
        Err(ENOSYS)
    }

    /// Reads pinned content like [`Fs::read`].
    pub fn snapshot_read(&mut self, snap: SnapId, off: u64, buf: &mut [u8]) -> Result<usize> {
        let _ = (snap, off, buf);
        Err(ENOSYS)
    }

    /// Fills `out` with the device LBAs of file blocks `first_block..` of
    /// the snapshot ([`LBA_HOLE`] for holes); returns how many were filled
    /// (0 at the end). The file has `ceil(size / 4096)` blocks.
    pub fn snapshot_lbas(&self, snap: SnapId, first_block: u64, out: &mut [u64]) -> Result<usize> {
        let _ = (snap, first_block, out);
        Err(ENOSYS)
    }

    /// Reads one 4 KiB device block `lba` into `buf` (>= 4096 bytes), only
    /// if the snapshot references it (`EACCES` otherwise).
    pub fn snapshot_read_lba(&mut self, snap: SnapId, lba: u64, buf: &mut [u8]) -> Result<()> {
        let _ = (snap, lba, buf);
        Err(ENOSYS)
    }

    /// Unpins a snapshot (`ENOENT` if unknown).
    pub fn release_snapshot(&mut self, snap: SnapId) -> Result<()> {
        let _ = snap;
        Err(ENOSYS)
    }

    /// One background GC step: resets reclaimable zones and compacts the best
    /// victim. Returns true if it did something.
    pub fn gc_step(&mut self) -> Result<bool> {
        Err(ENOSYS)
    }
}
