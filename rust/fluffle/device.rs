//! The zoned block device as the filesystem core sees it.
//!
//! Everything is counted in 4 KiB blocks ([`BLOCK_SIZE`]); a block address
//! (LBA) is a block index from the start of the device. Zones are all the
//! same size (`zone_size` blocks, a power of two on real devices but not
//! required here) and all have the same writable capacity `zone_cap <=
//! zone_size`; blocks from `zone_cap` to `zone_size` of a zone can never be
//! written or read. Only sequential-write-required zones are assumed.
//!
//! The kernel implements this trait over the block layer (report zones,
//! bios, `blkdev_zone_mgmt`), the host over memory ([`super::memdev`]) or
//! an image file / zoned block device (userland).

use super::errno::{Result, EINVAL};
use super::mem::FVec;

/// Bytes per filesystem block (and per device block as the core sees it).
pub const BLOCK_SIZE: usize = 4096;

/// The state of one zone, as in the ZNS / ZBC specifications.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ZoneCond {
    /// Write pointer at the zone start, nothing written.
    Empty,
    /// Opened by a write (counts against open and active limits).
    ImplicitOpen,
    /// Opened explicitly (unused by the core, reported for completeness).
    ExplicitOpen,
    /// Partly written, not open (counts against the active limit).
    Closed,
    /// Written to capacity or finished; read-only until reset.
    Full,
    /// Read-only zone (device failure mode); cannot be written or reset.
    ReadOnly,
    /// Offline zone; cannot be used at all.
    Offline,
}

/// One zone of a zone report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ZoneInfo {
    /// First block of the zone.
    pub start: u64,
    /// Zone size in blocks (the distance between zone starts).
    pub len: u64,
    /// Writable blocks from `start` (capacity <= len).
    pub cap: u64,
    /// Write pointer: the next block that may be written (absolute LBA).
    /// For a full zone this is `start + cap` (devices report other values;
    /// adapters normalise to this).
    pub wp: u64,
    /// Zone condition.
    pub cond: ZoneCond,
}

/// Static geometry of a zoned device.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Geometry {
    /// Number of zones.
    pub zone_count: u32,
    /// Zone size in blocks.
    pub zone_size: u64,
    /// Writable capacity of every zone in blocks (<= `zone_size`).
    pub zone_cap: u64,
    /// Maximum number of open zones (0 = no limit).
    pub max_open: u32,
    /// Maximum number of active (open or closed) zones (0 = no limit).
    pub max_active: u32,
}

impl Geometry {
    /// First block of zone `zone`.
    pub fn zone_start(&self, zone: u32) -> u64 {
        (zone as u64).saturating_mul(self.zone_size)
    }

    /// The zone holding `lba`, if any.
    pub fn zone_of(&self, lba: u64) -> Option<u32> {
        if self.zone_size == 0 {
            return None;
        }
        let z = lba / self.zone_size;
        if z < self.zone_count as u64 {
            Some(z as u32)
        } else {
            None
        }
    }

    /// True if `lba` is inside the writable capacity of some zone.
    pub fn is_usable(&self, lba: u64) -> bool {
        match self.zone_of(lba) {
            Some(z) => lba - self.zone_start(z) < self.zone_cap,
            None => false,
        }
    }

    /// Total writable blocks of the device.
    pub fn capacity_blocks(&self) -> u64 {
        (self.zone_count as u64).saturating_mul(self.zone_cap)
    }
}

/// Total bytes of buffers that must each be a non-empty whole number of
/// blocks (`EINVAL` otherwise, or if they overflow).
pub fn whole_blocks_len(lens: impl Iterator<Item = usize>) -> Result<usize> {
    let mut total = 0usize;
    for len in lens {
        if len == 0 || len % BLOCK_SIZE != 0 {
            return Err(EINVAL);
        }
        total = total.checked_add(len).ok_or(EINVAL)?;
    }
    Ok(total)
}

/// A zoned block device.
///
/// All buffers are whole blocks: `buf.len()` must be a non-zero multiple of
/// [`BLOCK_SIZE`], otherwise `EINVAL`. Implementations reject anything a ZNS
/// device rejects (write not at the write pointer, past capacity, into a
/// full zone, over the open/active limits, reads of unwritten blocks) with
/// `EIO` or `EINVAL` rather than corrupting state.
pub trait ZonedDevice {
    /// The device geometry (constant for the life of the device).
    fn geometry(&self) -> Geometry;

    /// Reports zone `zone` (its write pointer and condition).
    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo>;

    /// Reads whole blocks starting at `lba`. Every block must be below its
    /// zone's write pointer (reads of unwritten blocks fail with `EIO`).
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()>;

    /// Reads whole blocks at `lba` into `bufs` one after the other, as
    /// [`ZonedDevice::read`] reads one buffer; every buffer must be whole
    /// blocks. The default reads into one buffer and scatters it; the
    /// kernel's device overrides it to read into the caller's pages
    /// (readahead folios) directly.
    fn read_vectored(&mut self, lba: u64, bufs: &mut [&mut [u8]]) -> Result<()> {
        let total = whole_blocks_len(bufs.iter().map(|b| b.len()))?;
        let mut all: FVec<u8> = FVec::try_from_elem(0u8, total)?;
        self.read(lba, &mut all)?;
        let mut at = 0;
        for b in bufs.iter_mut() {
            let n = b.len();
            b.copy_from_slice(&all[at..at + n]);
            at += n;
        }
        Ok(())
    }

    /// Writes whole blocks at `lba`, which must be the write pointer of its
    /// zone; the write must fit within the zone capacity. The data may sit
    /// in a volatile cache until [`ZonedDevice::flush`].
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()>;

    /// Writes the concatenation of `bufs` at `lba`, as [`ZonedDevice::write`]
    /// does one buffer; every buffer must be whole blocks. The default
    /// gathers them into one buffer (one write, as the host devices and
    /// their fault injection expect); the kernel's device overrides it to
    /// put the caller's pages in its bios directly, so page-cache folios
    /// reach the disk without a copy.
    fn write_vectored(&mut self, lba: u64, bufs: &[&[u8]]) -> Result<()> {
        let total = whole_blocks_len(bufs.iter().map(|b| b.len()))?;
        let mut all: FVec<u8> = FVec::try_with_capacity(total)?;
        for b in bufs {
            all.try_extend_from_slice(b)?;
        }
        self.write(lba, &all)
    }

    /// Zone append: writes whole blocks at the write pointer of `zone` and
    /// returns the LBA where they landed. The default is a report plus a
    /// write, which is what a single-queue user (the core under its mutex)
    /// needs.
    fn append(&mut self, zone: u32, buf: &[u8]) -> Result<u64> {
        let info = self.report_zone(zone)?;
        self.write(info.wp, buf)?;
        Ok(info.wp)
    }

    /// Resets zone `zone`: write pointer back to the start, contents gone.
    fn reset(&mut self, zone: u32) -> Result<()>;

    /// Finishes zone `zone`: it becomes full (write pointer to capacity)
    /// and stops counting against the open/active limits.
    fn finish(&mut self, zone: u32) -> Result<()>;

    /// Makes every completed write durable (a cache flush).
    fn flush(&mut self) -> Result<()>;

    /// Writes like [`ZonedDevice::write`], durably and in order: every
    /// write completed before is durable before this one lands, and this
    /// one is durable when the call returns. The kernel's device does it in
    /// one request (`REQ_PREFLUSH | REQ_FUA`, where fsync and the
    /// checkpoint paid a flush, a write and a flush); the default is those
    /// three steps.
    fn write_durable(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        self.flush()?;
        self.write(lba, buf)?;
        self.flush()
    }
}

impl<D: ZonedDevice + ?Sized> ZonedDevice for &mut D {
    fn geometry(&self) -> Geometry {
        (**self).geometry()
    }
    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo> {
        (**self).report_zone(zone)
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read(lba, buf)
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        (**self).write(lba, buf)
    }
    fn write_vectored(&mut self, lba: u64, bufs: &[&[u8]]) -> Result<()> {
        (**self).write_vectored(lba, bufs)
    }
    fn read_vectored(&mut self, lba: u64, bufs: &mut [&mut [u8]]) -> Result<()> {
        (**self).read_vectored(lba, bufs)
    }
    fn append(&mut self, zone: u32, buf: &[u8]) -> Result<u64> {
        (**self).append(zone, buf)
    }
    fn reset(&mut self, zone: u32) -> Result<()> {
        (**self).reset(zone)
    }
    fn finish(&mut self, zone: u32) -> Result<()> {
        (**self).finish(zone)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn write_durable(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        (**self).write_durable(lba, buf)
    }
}
