//! The core's [`ZonedDevice`] over a real zoned block device: zone reports
//! through `blkdev_report_zones()`, synchronous bios for reads and writes,
//! `blkdev_zone_mgmt()` for reset/finish and `blkdev_issue_flush()`.
//!
//! Since Linux 6.10 the block layer plugs regular writes per zone, so a
//! write bio at the write pointer is all a single writer (the core, under
//! its mutex) needs; transfers are split into bios of at most
//! `BIO_MAX_VECS` pages.

use super::bio::{self, AsyncReader, BioBuilder, FolioPart, InflightIo, SECTORS_PER_BLOCK};
use super::shim;
use crate::fluffle::device::{whole_blocks_len, Geometry, ZoneCond, ZoneInfo, ZonedDevice, BLOCK_SIZE};
use crate::fluffle::errno::{Result, EINVAL, EIO};
use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::sync::Arc;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_void};

/// A zoned block device the filesystem is mounted on.
///
/// # Invariants
///
/// `bdev` is the block device of a mounted super block; the super block
/// holds it open for as long as this value (owned by the super block's
/// filesystem state) exists.
pub(crate) struct BlockZonedDevice {
    bdev: *mut bindings::block_device,
    geo: Geometry,
    /// Readahead's bios in flight (boxed: they point at it).
    reads: KBox<InflightIo>,
    /// Writeback's bios in flight (on the heap: they point at it); every
    /// other operation waits for them first. Shared with the super block,
    /// which refuses changes once one failed ([`Self::write_status`]).
    writes: Arc<InflightIo>,
}

// SAFETY: a `block_device` may be used from any thread; the core serialises
// all use of this handle under its mutex.
unsafe impl Send for BlockZonedDevice {}

impl BlockZonedDevice {
    /// Wraps `bdev`, checking that FluffleFS can use its geometry.
    ///
    /// # Safety
    ///
    /// `bdev` must stay valid and open for the life of the returned value.
    pub(crate) unsafe fn new(bdev: *mut bindings::block_device) -> core::result::Result<Self, &'static str> {
        // SAFETY: the caller guarantees `bdev` is valid.
        let (zoned, nr_zones, zone_sectors, lbs, max_open, max_active) = unsafe {
            (
                shim::fluffle_bdev_is_zoned(bdev),
                shim::fluffle_bdev_nr_zones(bdev),
                shim::fluffle_bdev_zone_sectors(bdev),
                shim::fluffle_bdev_logical_block_size(bdev),
                shim::fluffle_bdev_max_open_zones(bdev),
                shim::fluffle_bdev_max_active_zones(bdev),
            )
        };
        if !zoned {
            return Err("not a zoned block device; FluffleFS needs a ZNS/host-managed device");
        }
        if lbs as usize > BLOCK_SIZE || zone_sectors == 0 || zone_sectors % SECTORS_PER_BLOCK != 0 {
            return Err("zone size or logical block size is not a multiple of 4 KiB");
        }
        let reads = KBox::new(InflightIo::new(), GFP_KERNEL).map_err(|_| "out of memory")?;
        let writes = Arc::new(InflightIo::new(), GFP_KERNEL).map_err(|_| "out of memory")?;
        let mut dev = Self {
            bdev,
            reads,
            writes,
            geo: Geometry {
                zone_count: nr_zones,
                zone_size: zone_sectors / SECTORS_PER_BLOCK,
                zone_cap: zone_sectors / SECTORS_PER_BLOCK,
                max_open,
                max_active,
            },
        };
        // Zone capacity is per zone in ZNS; FluffleFS assumes one for all and
        // takes zone 0's, rejecting devices where a zone differs.
        let z0 = dev.report_raw(0).map_err(|_| "zone report failed")?;
        if z0.capacity == 0 || z0.capacity % SECTORS_PER_BLOCK != 0 {
            return Err("zone capacity is not a multiple of 4 KiB");
        }
        dev.geo.zone_cap = z0.capacity / SECTORS_PER_BLOCK;
        Ok(dev)
    }

    /// The counter of writeback's bios, whose failure flag says, without
    /// the core's mutex, that a write was lost.
    pub(crate) fn write_status(&self) -> Arc<InflightIo> {
        self.writes.clone()
    }

    /// Leave to read the device outside the core's mutex (readahead): no
    /// zone is reset while it or a read it started lives. Call it under
    /// the core's mutex, which every reset is also made under.
    pub(crate) fn async_reader(&self) -> AsyncReader {
        // SAFETY: `bdev` is open and `reads` allocated for as long as the
        // filesystem is mounted, which outlasts every page-cache folio
        // (unmount evicts them first, waiting for locked ones).
        unsafe { AsyncReader::new(self.bdev, &self.reads) }
    }

    /// Writes `parts` (of folios under writeback, one after the other in
    /// the log, each the last part of its folio) at `lba`, the zone's
    /// write pointer, without waiting: the bio's completion ends their
    /// writeback, and the next other operation on the device waits for it
    /// (and fails with `EIO` if it failed). Returns how many parts were
    /// handed to bios; the caller ends the writeback of the rest. Call it
    /// under the core's mutex, which orders writes by write pointer.
    ///
    /// # Safety
    ///
    /// The folios must stay valid until their writeback ends.
    pub(crate) unsafe fn write_parts(&mut self, lba: u64, parts: &[FolioPart]) -> usize {
        // SAFETY: `bdev` is open and `writes` allocated while the filesystem
        // is mounted; unmount waits for writeback first. The rest is the
        // caller's.
        unsafe { bio::write_parts(self.bdev, &self.writes, lba, parts) }
    }

    /// Writes `part`, the head of a folio whose rest goes to another zone,
    /// at `lba` and waits for it: the folio's writeback ends with the bio
    /// of its last part.
    ///
    /// # Safety
    ///
    /// The folio must be under writeback (its memory stable and ours).
    pub(crate) unsafe fn write_part_sync(&mut self, lba: u64, part: FolioPart) -> Result<()> {
        let len = part.to.saturating_sub(part.from) * BLOCK_SIZE;
        // SAFETY: guaranteed by the caller; page-cache folios are directly
        // mapped (shim.c refuses HIGHMEM), so the range is addressable.
        let addr = unsafe { shim::fluffle_folio_address(part.folio).cast::<u8>().add(part.from * BLOCK_SIZE) };
        self.rw(bindings::req_op_REQ_OP_WRITE, lba, core::iter::once((addr, len)))
    }

    /// Reports the raw zone `zone` (sectors).
    fn report_raw(&mut self, zone: u32) -> Result<bindings::blk_zone> {
        if zone >= self.geo.zone_count {
            return Err(EINVAL);
        }
        let sector = (zone as u64) * self.geo.zone_size * SECTORS_PER_BLOCK;
        let mut out = ReportOut { zone: None };
        // SAFETY: `bdev` is valid (type invariant); the callback only writes
        // to `out`, which outlives the call.
        let n = unsafe {
            bindings::blkdev_report_zones(
                self.bdev,
                sector,
                1,
                Some(report_cb),
                (&mut out as *mut ReportOut).cast::<c_void>(),
            )
        };
        match (n, out.zone) {
            (1, Some(z)) => Ok(z),
            _ => Err(EIO),
        }
    }

    /// Reads or writes whole blocks at `lba`: the concatenation of the
    /// buffers `segs` yields (address, length; each a non-zero multiple of
    /// [`BLOCK_SIZE`]), in bios of up to `BIO_MAX_VECS` pages cut only at
    /// block boundaries.
    fn rw(&mut self, op: bindings::blk_opf_t, lba: u64, segs: impl Iterator<Item = (*mut u8, usize)> + Clone) -> Result<()> {
        let blocks = (whole_blocks_len(segs.clone().map(|(_, len)| len))? / BLOCK_SIZE) as u64;
        let end = lba.checked_add(blocks).ok_or(EINVAL)?;
        if blocks == 0 || end > (self.geo.zone_count as u64) * self.geo.zone_size {
            return Err(EINVAL);
        }
        self.writes.settle()?;
        let mut bio = BioBuilder::new(self.bdev, op, None);
        let mut sector = lba * SECTORS_PER_BLOCK;
        for (buf, len) in segs {
            let mut off = 0usize;
            while off < len {
                // SAFETY: `off < len`, inside the caller's buffer.
                let block = unsafe { buf.add(off) };
                bio.add_block(block, sector)?;
                off += BLOCK_SIZE;
                sector += SECTORS_PER_BLOCK;
            }
        }
        bio.submit()
    }

    fn zone_mgmt(&mut self, op: bindings::req_op, zone: u32) -> Result<()> {
        if zone >= self.geo.zone_count {
            return Err(EINVAL);
        }
        self.writes.settle()?;
        let zs = self.geo.zone_size * SECTORS_PER_BLOCK;
        // SAFETY: `bdev` is valid (type invariant); the range is one zone.
        let rc = unsafe { bindings::blkdev_zone_mgmt(self.bdev, op, zone as u64 * zs, zs) };
        if rc != 0 {
            Err(EIO)
        } else {
            Ok(())
        }
    }
}

/// Where `report_cb` leaves the zone it was given.
struct ReportOut {
    zone: Option<bindings::blk_zone>,
}

/// `report_zones_cb`: copies the reported zone out.
unsafe extern "C" fn report_cb(zone: *mut bindings::blk_zone, _idx: c_uint, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `ReportOut` passed to `blkdev_report_zones` by
    // `report_raw`, and `zone` is valid for the duration of the callback.
    unsafe { (*data.cast::<ReportOut>()).zone = Some(*zone) };
    0
}

fn cond_of(raw: u8) -> ZoneCond {
    match raw as u32 {
        bindings::blk_zone_cond_BLK_ZONE_COND_EMPTY => ZoneCond::Empty,
        bindings::blk_zone_cond_BLK_ZONE_COND_IMP_OPEN => ZoneCond::ImplicitOpen,
        bindings::blk_zone_cond_BLK_ZONE_COND_EXP_OPEN => ZoneCond::ExplicitOpen,
        bindings::blk_zone_cond_BLK_ZONE_COND_CLOSED => ZoneCond::Closed,
        bindings::blk_zone_cond_BLK_ZONE_COND_FULL => ZoneCond::Full,
        bindings::blk_zone_cond_BLK_ZONE_COND_READONLY => ZoneCond::ReadOnly,
        _ => ZoneCond::Offline,
    }
}

impl ZonedDevice for BlockZonedDevice {
    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo> {
        self.writes.settle()?;
        let z = self.report_raw(zone)?;
        let start = z.start / SECTORS_PER_BLOCK;
        let cond = cond_of(z.cond);
        // Devices report a full zone's write pointer in different ways; the
        // core expects start + capacity.
        let wp = if cond == ZoneCond::Full {
            start + self.geo.zone_cap
        } else {
            core::cmp::min(z.wp / SECTORS_PER_BLOCK, start + self.geo.zone_cap)
        };
        Ok(ZoneInfo { start, len: self.geo.zone_size, cap: self.geo.zone_cap, wp, cond })
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        self.rw(bindings::req_op_REQ_OP_READ, lba, core::iter::once((buf.as_mut_ptr(), buf.len())))
    }

    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        // The bio only reads from the buffer for a write.
        self.rw(bindings::req_op_REQ_OP_WRITE, lba, core::iter::once((buf.as_ptr() as *mut u8, buf.len())))
    }

    fn read_vectored(&mut self, lba: u64, bufs: &mut [&mut [u8]]) -> Result<()> {
        // Straight into the caller's pages (readahead folios): no copy.
        let base = bufs.as_mut_ptr();
        let segs = (0..bufs.len()).map(move |k| {
            // SAFETY: `k < bufs.len()`, and `bufs` is exclusively borrowed
            // for the whole call, so each buffer may be written.
            let b = unsafe { &mut *base.add(k) };
            (b.as_mut_ptr(), b.len())
        });
        self.rw(bindings::req_op_REQ_OP_READ, lba, segs)
    }

    fn write_vectored(&mut self, lba: u64, bufs: &[&[u8]]) -> Result<()> {
        // Each buffer's pages go into the bios as they are: no gather copy.
        let segs = bufs.iter().map(|b| (b.as_ptr() as *mut u8, b.len()));
        self.rw(bindings::req_op_REQ_OP_WRITE, lba, segs)
    }

    fn reset(&mut self, zone: u32) -> Result<()> {
        // A readahead planned before may still be reading the zone.
        self.reads.settle()?;
        self.zone_mgmt(bindings::req_op_REQ_OP_ZONE_RESET, zone)
    }

    fn finish(&mut self, zone: u32) -> Result<()> {
        self.zone_mgmt(bindings::req_op_REQ_OP_ZONE_FINISH, zone)
    }

    fn write_durable(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        // `rw` first waits for writeback's bios, so the preflush covers them.
        let op = bindings::req_op_REQ_OP_WRITE
            | (1 << bindings::req_flag_bits___REQ_PREFLUSH)
            | (1 << bindings::req_flag_bits___REQ_FUA)
            | (1 << bindings::req_flag_bits___REQ_SYNC);
        // The bio only reads from the buffer for a write.
        self.rw(op, lba, core::iter::once((buf.as_ptr() as *mut u8, buf.len())))
    }

    fn flush(&mut self) -> Result<()> {
        // Writeback's bios must be done before a flush can cover them.
        self.writes.settle()?;
        // SAFETY: `bdev` is valid (type invariant).
        match unsafe { bindings::blkdev_issue_flush(self.bdev) } {
            0 => Ok(()),
            _ => Err(EIO),
        }
    }
}
