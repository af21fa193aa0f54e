//! The interface the driver uses to run operations on the filesystem under
//! test. `core_adapter.rs` implements it over the FluffleFS core; keeping it
//! separate lets the driver and model stay independent of core signatures.

use fluffle::errno::Result;

use super::reference::Kind;

/// Attributes as the driver compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub kind: Kind,
    pub size: u64,
    pub nlink: u32,
    /// Permission bits only.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// `st_blocks`: allocated space in 512-byte units.
    pub blocks: u64,
    /// Seconds of atime, mtime, ctime.
    pub times: [i64; 3],
    /// `st_rdev` (device nodes only; 0 otherwise).
    pub rdev: u32,
}

/// One directory entry: name, inode, kind, and the cookie that resumes the
/// listing after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    pub name: Vec<u8>,
    pub ino: u64,
    pub kind: Kind,
    pub next: u64,
}

/// Filesystem-wide counters as `statfs` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statfs {
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
}

/// What the model-based driver needs from a filesystem.
pub trait Target {
    fn root(&self) -> u64;
    /// The time the following operations stamp.
    fn set_time(&mut self, sec: i64);
    fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<Attr>;
    fn getattr(&mut self, ino: u64) -> Result<Attr>;
    fn create(&mut self, dir: u64, name: &[u8], perm: u32) -> Result<Attr>;
    fn mkdir(&mut self, dir: u64, name: &[u8], perm: u32) -> Result<Attr>;
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8]) -> Result<Attr>;
    /// A FIFO, device node or socket (`kind`), `rdev` 0 unless a device.
    fn mknod(&mut self, dir: u64, name: &[u8], kind: Kind, perm: u32, rdev: u32) -> Result<Attr>;
    fn readlink(&mut self, ino: u64) -> Result<Vec<u8>>;
    fn link(&mut self, ino: u64, dir: u64, name: &[u8]) -> Result<Attr>;
    fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()>;
    fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()>;
    fn rename(&mut self, sdir: u64, sname: &[u8], ddir: u64, dname: &[u8], noreplace: bool) -> Result<()>;
    fn exchange(&mut self, sdir: u64, sname: &[u8], ddir: u64, dname: &[u8]) -> Result<()>;
    fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize>;
    fn read(&mut self, ino: u64, off: u64, len: usize) -> Result<Vec<u8>>;
    fn truncate(&mut self, ino: u64, size: u64) -> Result<()>;
    /// `fallocate(2)` (`mode`: the Linux `FALLOC_FL_*` bits).
    fn fallocate(&mut self, ino: u64, mode: u32, off: u64, len: u64) -> Result<()>;
    fn chmod(&mut self, ino: u64, perm: u32) -> Result<()>;
    fn chown(&mut self, ino: u64, uid: u32, gid: u32) -> Result<()>;
    /// Up to `max` entries after `cookie` (0 = from the start), without
    /// "." and "..".
    fn readdir(&mut self, dir: u64, cookie: u64, max: usize) -> Result<Vec<Dirent>>;
    fn hold(&mut self, ino: u64) -> Result<()>;
    fn release(&mut self, ino: u64) -> Result<()>;
    fn fsync(&mut self, ino: u64, datasync: bool) -> Result<()>;
    fn sync(&mut self) -> Result<()>;
    /// Unmount and mount again on the same device.
    fn remount(&mut self) -> Result<()>;
    fn statfs(&mut self) -> Result<Statfs>;
    fn setxattr(&mut self, ino: u64, name: &[u8], value: &[u8], flags: u32) -> Result<()>;
    /// `size` 0: returns the value length only (as `Err`-free `Ok(len, None)`).
    fn getxattr(&mut self, ino: u64, name: &[u8], size: usize) -> Result<(usize, Option<Vec<u8>>)>;
    /// `size` 0: returns the length of the name list only.
    fn listxattr(&mut self, ino: u64, size: usize) -> Result<(usize, Option<Vec<u8>>)>;
    fn removexattr(&mut self, ino: u64, name: &[u8]) -> Result<()>;
    fn gc_step(&mut self) -> Result<()>;
    fn snap_create(&mut self, ino: u64) -> Result<u64>;
    fn snap_read(&mut self, snap: u64, off: u64, len: usize) -> Result<Vec<u8>>;
    fn snap_release(&mut self, snap: u64) -> Result<()>;
    /// A full consistency check of the (mounted or unmounted) image.
    fn fsck(&mut self) -> Result<()>;
}
