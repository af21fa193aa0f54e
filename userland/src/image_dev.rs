//! `ZonedDevice` over a plain image file, emulating zones.
//!
//! Layout: `zone_count * zone_size` blocks of data, then a trailer of
//! whole 4 KiB blocks: magic `FLZIMG01`, zone count (u32), pad (u32), zone
//! size and capacity (u64 blocks), then the write pointer of every zone
//! (u64 blocks). The trailer is rewritten on every flush, reset and finish,
//! so the image always opens with its geometry and write pointers. The
//! same ZNS rules as the in-memory device apply (writes at the write
//! pointer, never past capacity, reads below the write pointer).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

use fluffle::device::{Geometry, ZoneCond, ZoneInfo, ZonedDevice, BLOCK_SIZE};
use fluffle::errno::{Errno, Result, EINVAL, EIO};

const MAGIC: &[u8; 8] = b"FLZIMG01";
const BS: u64 = BLOCK_SIZE as u64;

/// A zoned device emulated in an image file.
pub struct ImageDev {
    file: File,
    geo: Geometry,
    wp: Vec<u64>,
}

fn io_err(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(EIO.0))
}

impl ImageDev {
    fn trailer_off(geo: &Geometry) -> u64 {
        geo.zone_count as u64 * geo.zone_size * BS
    }

    /// Creates (or truncates) `path` as an empty zoned image of
    /// `zone_count` zones of `zone_size` blocks, `zone_cap` writable.
    pub fn create(path: &str, zone_count: u32, zone_size: u64, zone_cap: u64) -> std::result::Result<Self, String> {
        if zone_count == 0 || zone_cap == 0 || zone_cap > zone_size {
            return Err("bad geometry: need zones > 0 and 0 < capacity <= zone size".into());
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| format!("{path}: {e}"))?;
        let geo = Geometry { zone_count, zone_size, zone_cap, max_open: 0, max_active: 0 };
        let mut d = Self { file, geo, wp: vec![0; zone_count as usize] };
        d.write_trailer().map_err(|e| format!("{path}: errno {}", e.0))?;
        Ok(d)
    }

    /// Opens an image made by [`ImageDev::create`].
    pub fn open(path: &str, writable: bool) -> std::result::Result<Self, String> {
        let file = OpenOptions::new().read(true).write(writable).open(path).map_err(|e| format!("{path}: {e}"))?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let bad = || format!("{path}: not a zoned image (make one with `fluffle mkfs {path} --zones N --zone-size MiB`)");
        if len < BS || len % BS != 0 {
            return Err(bad());
        }
        // The trailer is the last few blocks: find its first block.
        let mut head = [0u8; 32];
        let mut off = len - BS;
        loop {
            file.read_exact_at(&mut head, off).map_err(|e| e.to_string())?;
            if &head[..8] == MAGIC {
                break;
            }
            if off < BS || len - off > 64 * BS {
                return Err(bad());
            }
            off -= BS;
        }
        let word = |r: std::ops::Range<usize>| head[r].iter().rev().fold(0u64, |a, &b| (a << 8) | b as u64);
        let zc = word(8..12) as u32;
        let geo = Geometry { zone_count: zc, zone_size: word(16..24), zone_cap: word(24..32), max_open: 0, max_active: 0 };
        if zc == 0 || geo.zone_cap == 0 || geo.zone_cap > geo.zone_size || geo.zone_size.checked_mul(zc as u64 * BS) != Some(off) {
            return Err(bad());
        }
        let mut wps = vec![0u8; zc as usize * 8];
        file.read_exact_at(&mut wps, off + 32).map_err(|e| e.to_string())?;
        let wp: Vec<u64> = wps.chunks(8).map(|c| c.iter().rev().fold(0u64, |a, &b| (a << 8) | b as u64)).collect();
        if wp.iter().any(|&w| w > geo.zone_cap) {
            return Err(bad());
        }
        Ok(Self { file, geo, wp })
    }

    fn write_trailer(&mut self) -> Result<()> {
        let mut t = Vec::with_capacity(32 + self.wp.len() * 8);
        t.extend_from_slice(MAGIC);
        t.extend_from_slice(&self.geo.zone_count.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&self.geo.zone_size.to_le_bytes());
        t.extend_from_slice(&self.geo.zone_cap.to_le_bytes());
        for w in &self.wp {
            t.extend_from_slice(&w.to_le_bytes());
        }
        t.resize(t.len().div_ceil(BLOCK_SIZE) * BLOCK_SIZE, 0);
        self.file.write_all_at(&t, Self::trailer_off(&self.geo)).map_err(io_err)
    }

    fn check(&self, lba: u64, len: usize) -> Result<(usize, u64, u64)> {
        if len == 0 || len % BLOCK_SIZE != 0 {
            return Err(EINVAL);
        }
        let z = self.geo.zone_of(lba).ok_or(EINVAL)?;
        Ok((z as usize, lba - self.geo.zone_start(z), (len / BLOCK_SIZE) as u64))
    }
}

impl ZonedDevice for ImageDev {
    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo> {
        let wp = *self.wp.get(zone as usize).ok_or(EINVAL)?;
        let start = self.geo.zone_start(zone);
        let cond = if wp == 0 {
            ZoneCond::Empty
        } else if wp == self.geo.zone_cap {
            ZoneCond::Full
        } else {
            ZoneCond::Closed
        };
        Ok(ZoneInfo { start, len: self.geo.zone_size, cap: self.geo.zone_cap, wp: start + wp, cond })
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        let (z, rel, n) = self.check(lba, buf.len())?;
        if rel + n > self.wp[z] {
            return Err(EIO);
        }
        self.file.read_exact_at(buf, lba * BS).map_err(io_err)
    }

    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        let (z, rel, n) = self.check(lba, buf.len())?;
        if rel != self.wp[z] || rel + n > self.geo.zone_cap {
            return Err(EIO);
        }
        self.file.write_all_at(buf, lba * BS).map_err(io_err)?;
        self.wp[z] += n;
        Ok(())
    }

    fn reset(&mut self, zone: u32) -> Result<()> {
        *self.wp.get_mut(zone as usize).ok_or(EINVAL)? = 0;
        self.write_trailer()
    }

    fn finish(&mut self, zone: u32) -> Result<()> {
        let cap = self.geo.zone_cap;
        let start = self.geo.zone_start(zone);
        let wp = *self.wp.get(zone as usize).ok_or(EINVAL)?;
        // A finished zone reads back zeros past the old write pointer.
        let zeros = vec![0u8; ((cap - wp) * BS) as usize];
        self.file.write_all_at(&zeros, (start + wp) * BS).map_err(io_err)?;
        self.wp[zone as usize] = cap;
        self.write_trailer()
    }

    fn flush(&mut self) -> Result<()> {
        self.write_trailer()?;
        self.file.sync_data().map_err(io_err)
    }
}
