//! `ZonedDevice` over a real zoned block device (`/dev/nvme0n2`, null_blk
//! zoned, ...): zone report, reset and finish through the blkzoned ioctls,
//! `pread`/`pwrite` at the write pointer, `fdatasync` as the flush.
//!
//! Zones must all be sequential-write-required with the same size and
//! capacity (what FluffleFS supports); the open/active limits come from
//! sysfs (`queue/max_open_zones`, `queue/max_active_zones`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

use fluffle::device::{Geometry, ZoneCond, ZoneInfo, ZonedDevice, BLOCK_SIZE};
use fluffle::errno::{Errno, Result, EINVAL, EIO};

use crate::blkzoned;

/// Sectors per 4 KiB block.
const SPB: u64 = (BLOCK_SIZE / 512) as u64;

/// An open zoned block device.
pub struct ZonedBlockDev {
    file: File,
    geo: Geometry,
    /// Write pointer of each zone relative to its start (blocks).
    wp: Vec<u64>,
    cond: Vec<ZoneCond>,
}

fn io_err(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(EIO.0))
}

fn cond_of(c: u8) -> ZoneCond {
    match c {
        1 => ZoneCond::Empty,
        2 => ZoneCond::ImplicitOpen,
        3 => ZoneCond::ExplicitOpen,
        4 => ZoneCond::Closed,
        0xd => ZoneCond::ReadOnly,
        0xe => ZoneCond::Full,
        _ => ZoneCond::Offline,
    }
}

fn sysfs_limit(path: &str, name: &str) -> u32 {
    let dev = std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or("");
    std::fs::read_to_string(format!("/sys/block/{dev}/queue/{name}")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

impl ZonedBlockDev {
    /// Opens `path` read-write (or read-only) and reads its zone report.
    pub fn open(path: &str, writable: bool) -> std::result::Result<Self, String> {
        let file = OpenOptions::new().read(true).write(writable).open(path).map_err(|e| format!("{path}: {e}"))?;
        let zones = blkzoned::report_zones(&file).map_err(|e| format!("{path}: zone report: {e}"))?;
        let first = *zones.first().ok_or_else(|| format!("{path}: not a zoned device (no zones)"))?;
        if zones.iter().any(|z| z.zone_type != 2 || z.len != first.len || z.capacity != first.capacity) {
            return Err(format!("{path}: FluffleFS needs uniform sequential-write-required zones"));
        }
        if first.len % SPB != 0 || first.capacity % SPB != 0 {
            return Err(format!("{path}: zone size is not a multiple of 4 KiB"));
        }
        let geo = Geometry {
            zone_count: zones.len() as u32,
            zone_size: first.len / SPB,
            zone_cap: first.capacity / SPB,
            max_open: sysfs_limit(path, "max_open_zones"),
            max_active: sysfs_limit(path, "max_active_zones"),
        };
        let mut dev = Self { file, geo, wp: vec![0; zones.len()], cond: vec![ZoneCond::Empty; zones.len()] };
        dev.load(&zones);
        Ok(dev)
    }

    fn load(&mut self, zones: &[blkzoned::Zone]) {
        for (i, z) in zones.iter().enumerate() {
            let c = cond_of(z.cond);
            self.cond[i] = c;
            self.wp[i] = if c == ZoneCond::Full { self.geo.zone_cap } else { z.wp.saturating_sub(z.start) / SPB };
        }
    }

    fn check(&self, buf_len: usize) -> Result<()> {
        if buf_len == 0 || buf_len % BLOCK_SIZE != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }
}

impl ZonedDevice for ZonedBlockDev {
    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo> {
        let i = zone as usize;
        let wp = *self.wp.get(i).ok_or(EINVAL)?;
        let start = self.geo.zone_start(zone);
        Ok(ZoneInfo { start, len: self.geo.zone_size, cap: self.geo.zone_cap, wp: start + wp, cond: self.cond[i] })
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        self.check(buf.len())?;
        let z = self.geo.zone_of(lba).ok_or(EINVAL)?;
        let rel = lba - self.geo.zone_start(z);
        if rel + (buf.len() / BLOCK_SIZE) as u64 > self.wp[z as usize] {
            return Err(EIO);
        }
        self.file.read_exact_at(buf, lba * BLOCK_SIZE as u64).map_err(io_err)
    }

    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        self.check(buf.len())?;
        let z = self.geo.zone_of(lba).ok_or(EINVAL)?;
        let rel = lba - self.geo.zone_start(z);
        let n = (buf.len() / BLOCK_SIZE) as u64;
        if rel != self.wp[z as usize] || rel + n > self.geo.zone_cap {
            return Err(EIO);
        }
        self.file.write_all_at(buf, lba * BLOCK_SIZE as u64).map_err(io_err)?;
        self.wp[z as usize] += n;
        self.cond[z as usize] = if self.wp[z as usize] == self.geo.zone_cap { ZoneCond::Full } else { ZoneCond::ImplicitOpen };
        Ok(())
    }

    fn reset(&mut self, zone: u32) -> Result<()> {
        let start = self.geo.zone_start(zone) * SPB;
        blkzoned::reset_zones(&self.file, start, self.geo.zone_size * SPB).map_err(io_err)?;
        self.wp[zone as usize] = 0;
        self.cond[zone as usize] = ZoneCond::Empty;
        Ok(())
    }

    fn finish(&mut self, zone: u32) -> Result<()> {
        let start = self.geo.zone_start(zone) * SPB;
        blkzoned::finish_zones(&self.file, start, self.geo.zone_size * SPB).map_err(io_err)?;
        self.wp[zone as usize] = self.geo.zone_cap;
        self.cond[zone as usize] = ZoneCond::Full;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.sync_data().map_err(io_err)
    }
}

