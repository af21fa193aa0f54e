//! What a kernel reads: a snapshot of one file, behind a small trait so the
//! runner does not depend on `Fs<D>`'s generics or on how the glue locks it.
//!
//! [`FsSnapshot`] implements it for a snapshot of the filesystem core; the
//! kernel glue may write its own implementation that takes the filesystem
//! lock per call (so writers are not blocked for a whole run), and tests
//! use an in-memory one.

use super::abi::{BLOCK_SIZE, FT_DIRECTORY, FT_REGULAR, FT_SYMLINK};
use super::fluffle::device::ZonedDevice;
use super::fluffle::errno::{Errno, EINVAL};
use super::fluffle::fs::Fs;
use super::fluffle::types::SnapId;

/// Device geometry as kernels see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceGeometry {
    /// Logical sector size in bytes.
    pub sector_size: u32,
    /// Zone size in blocks.
    pub zone_size: u64,
    /// Writable blocks per zone.
    pub zone_cap: u64,
    /// Number of zones.
    pub zone_count: u32,
}

/// Identity of the file a snapshot was taken of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileInfo {
    /// Inode number.
    pub ino: u64,
    /// Parent directory's inode number (0 if unknown).
    pub parent: u64,
    /// Full `st_mode`.
    pub mode: u32,
}

impl FileInfo {
    /// The `FT_*` value of [`FileInfo::mode`] (0 if none matches).
    pub fn file_type(&self) -> u32 {
        match self.mode & 0o170000 {
            0o100000 => FT_REGULAR,
            0o040000 => FT_DIRECTORY,
            0o120000 => FT_SYMLINK,
            _ => 0,
        }
    }
}

/// A pinned, immutable view of one file's content and blocks.
///
/// Errors: [`SnapshotSource::read_lba`] returns `EACCES` for an LBA the
/// snapshot does not reference (the kernel sees `-EACCES`); any other error
/// (e.g. `EIO`) ends the run with that errno.
pub trait SnapshotSource {
    /// Size in bytes.
    fn size(&self) -> u64;

    /// Copies bytes from `off` into `buf`; returns how many (0 at the end).
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, Errno>;

    /// Fills `out` with the LBAs of file blocks `first..` (`LBA_HOLE` for
    /// holes); returns how many were filled (0 past the end).
    fn lbas(&mut self, first: u64, out: &mut [u64]) -> Result<usize, Errno>;

    /// Reads device block `lba` into `buf` (exactly [`BLOCK_SIZE`] bytes)
    /// if the snapshot references it, else `EACCES`.
    fn read_lba(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Errno>;

    /// Geometry of the device.
    fn geometry(&self) -> DeviceGeometry;

    /// Called before every data-reading helper: the kernel glue can
    /// `cond_resched()` here and return `EINTR` on a fatal signal.
    fn checkpoint(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}

/// Number of file blocks of a snapshot of `size` bytes.
pub fn block_count(size: u64) -> u64 {
    size.div_ceil(BLOCK_SIZE as u64)
}

/// A snapshot of the filesystem core, borrowed for one run. Taking and
/// releasing the snapshot is the caller's job ([`Fs::snapshot`],
/// [`Fs::release_snapshot`]), so one snapshot can serve several runs.
pub struct FsSnapshot<'f, D: ZonedDevice> {
    fs: &'f mut Fs<D>,
    snap: SnapId,
    size: u64,
    sector_size: u32,
}

impl<'f, D: ZonedDevice> FsSnapshot<'f, D> {
    /// Wraps live snapshot `snap` of `fs` (`ENOENT` if unknown). The
    /// device's logical sector size is not known to the core: pass it
    /// (4096 for the in-memory device).
    pub fn new(fs: &'f mut Fs<D>, snap: SnapId, sector_size: u32) -> Result<Self, Errno> {
        let size = fs.snapshot_size(snap)?;
        Ok(FsSnapshot { fs, snap, size, sector_size })
    }

    /// File identity for the context (`parent` is not known to the core;
    /// the glue knows it from the dentry).
    pub fn info(&mut self, parent: u64) -> Result<FileInfo, Errno> {
        let ino = self.fs.snapshot_ino(self.snap)?;
        let attr = self.fs.getattr(ino)?;
        Ok(FileInfo { ino, parent, mode: (attr.mode & 0o7777) | attr.ftype.mode_bits() })
    }
}

impl<'f, D: ZonedDevice> SnapshotSource for FsSnapshot<'f, D> {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.fs.snapshot_read(self.snap, off, buf)
    }

    fn lbas(&mut self, first: u64, out: &mut [u64]) -> Result<usize, Errno> {
        self.fs.snapshot_lbas(self.snap, first, out)
    }

    fn read_lba(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.len() != BLOCK_SIZE as usize {
            return Err(EINVAL);
        }
        self.fs.snapshot_read_lba(self.snap, lba, buf)
    }

    fn geometry(&self) -> DeviceGeometry {
        let g = self.fs.geometry();
        DeviceGeometry { sector_size: self.sector_size, zone_size: g.zone_size, zone_cap: g.zone_cap, zone_count: g.zone_count }
    }
}
