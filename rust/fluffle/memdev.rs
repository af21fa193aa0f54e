//! In-memory zoned device for host tests, fuzzing and benchmarks.
//!
//! It enforces what a ZNS SSD enforces and rejects the rest with `EIO`
//! (`EINVAL` for malformed requests): writes only at the write pointer,
//! never past the zone capacity, no writes to full/read-only/offline zones,
//! the active-zone limit (the open limit is handled like NVMe does for
//! implicitly opened zones: another implicitly open zone is closed), reads
//! only below the write pointer.
//!
//! Faults on demand (write numbers count every `write`/`append` call,
//! starting at 1):
//! - [`MemDevice::fail_write`]: that write fails with `EIO`, nothing lands,
//!   the device keeps working.
//! - [`MemDevice::power_cut_after`]: writes after N fail and land nothing;
//!   so do resets, finishes and flushes (the device is "off").
//! - [`MemDevice::tear_write`]: write N lands only its first `k` blocks,
//!   fails, and the power is cut from then on.
//! - [`MemDevice::fail_flush`]: flush number N fails with `EIO`.
//! - [`MemDevice::set_volatile_cache`]: writes not yet flushed are lost by
//!   [`MemDevice::after_power_loss`] (the write pointer falls back to the
//!   last flushed position of each zone; a prefix always survives).
//!
//! [`MemDevice::clone`] snapshots the whole state; with
//! [`MemDevice::after_power_loss`] it gives the device as a remount after a
//! crash would see it.
#![cfg(not(MODULE))]

extern crate alloc;
use alloc::vec::Vec;

use super::device::{Geometry, ZoneCond, ZoneInfo, ZonedDevice, BLOCK_SIZE};
use super::errno::{Result, EINVAL, EIO};

#[derive(Clone)]
struct Zone {
    /// Written blocks, `data.len() == (wp - start) * BLOCK_SIZE`.
    data: Vec<u8>,
    /// Write pointer relative to the zone start.
    wp: u64,
    /// Write pointer as of the last flush (volatile-cache model).
    flushed_wp: u64,
    cond: ZoneCond,
}

/// Counters of device traffic.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct DevStats {
    /// `write`/`append` calls (including failed ones).
    pub writes: u64,
    /// Blocks that landed.
    pub blocks_written: u64,
    /// `read` calls.
    pub reads: u64,
    /// Blocks read.
    pub blocks_read: u64,
    /// Zone resets.
    pub resets: u64,
    /// Zone finishes.
    pub finishes: u64,
    /// Flushes (including failed ones).
    pub flushes: u64,
}

/// An in-memory zoned device; see the module documentation.
#[derive(Clone)]
pub struct MemDevice {
    geo: Geometry,
    zones: Vec<Zone>,
    stats: DevStats,
    fail_write_at: Option<u64>,
    cut_after: Option<u64>,
    tear_at: Option<(u64, usize)>,
    fail_flush_at: Option<u64>,
    /// A read covering this block fails with `EIO` (a bad sector).
    bad_block: Option<u64>,
    volatile: bool,
    /// Set once the power is cut (by `power_cut_after` or a torn write).
    off: bool,
}

impl MemDevice {
    /// A fresh device (all zones empty). `EINVAL` for a nonsensical geometry
    /// (no zones, zero capacity, capacity above the zone size).
    pub fn new(geo: Geometry) -> Result<Self> {
        if geo.zone_count == 0 || geo.zone_cap == 0 || geo.zone_cap > geo.zone_size {
            return Err(EINVAL);
        }
        let zone = Zone { data: Vec::new(), wp: 0, flushed_wp: 0, cond: ZoneCond::Empty };
        Ok(Self {
            geo,
            zones: alloc::vec![zone; geo.zone_count as usize],
            stats: DevStats::default(),
            fail_write_at: None,
            cut_after: None,
            tear_at: None,
            fail_flush_at: None,
            bad_block: None,
            volatile: false,
            off: false,
        })
    }

    /// A device of `zone_count` zones of `zone_size` blocks with `zone_cap`
    /// writable blocks each, 14 active / 14 open zones (a common ZNS limit).
    pub fn with_zones(zone_count: u32, zone_size: u64, zone_cap: u64) -> Result<Self> {
        Self::new(Geometry { zone_count, zone_size, zone_cap, max_open: 14, max_active: 14 })
    }

    /// Traffic counters so far.
    pub fn stats(&self) -> DevStats {
        self.stats
    }

    /// Number of `write`/`append` calls so far (failed ones included).
    pub fn write_count(&self) -> u64 {
        self.stats.writes
    }

    /// Every read that covers block `lba` fails with `EIO` (a bad sector).
    pub fn fail_reads_of(&mut self, lba: u64) {
        self.bad_block = Some(lba);
    }

    /// Write number `n` (1-based) fails with `EIO` and lands nothing.
    pub fn fail_write(&mut self, n: u64) {
        self.fail_write_at = Some(n);
    }

    /// Power cut: every write numbered above `n` (and every reset, finish
    /// and flush issued after write `n`) fails and lands nothing.
    pub fn power_cut_after(&mut self, n: u64) {
        self.cut_after = Some(n);
        if self.stats.writes >= n {
            self.off = true;
        }
    }

    /// Write number `n` lands only its first `blocks` blocks, then fails,
    /// and the power is cut.
    pub fn tear_write(&mut self, n: u64, blocks: usize) {
        self.tear_at = Some((n, blocks));
    }

    /// Flush number `n` (1-based) fails with `EIO`.
    pub fn fail_flush(&mut self, n: u64) {
        self.fail_flush_at = Some(n);
    }

    /// With a volatile cache, [`Self::after_power_loss`] drops unflushed
    /// writes. Off by default (every landed write is durable).
    pub fn set_volatile_cache(&mut self, on: bool) {
        self.volatile = on;
    }

    /// True once the power has been cut.
    pub fn is_off(&self) -> bool {
        self.off
    }

    /// The device as it comes back after a power loss: faults cleared,
    /// power on, open zones closed, and (with a volatile cache) each zone's
    /// unflushed tail gone.
    pub fn after_power_loss(&self) -> Self {
        let mut d = self.clone();
        d.fail_write_at = None;
        d.cut_after = None;
        d.tear_at = None;
        d.fail_flush_at = None;
        d.off = false;
        for z in d.zones.iter_mut() {
            if d.volatile && z.flushed_wp < z.wp {
                z.wp = z.flushed_wp;
                z.data.truncate(z.wp as usize * BLOCK_SIZE);
                if z.cond == ZoneCond::Full {
                    z.cond = ZoneCond::Closed;
                }
            }
            z.flushed_wp = z.wp;
            if z.wp == 0 && z.cond != ZoneCond::Full {
                z.cond = ZoneCond::Empty;
            } else if matches!(z.cond, ZoneCond::ImplicitOpen | ZoneCond::ExplicitOpen) {
                z.cond = ZoneCond::Closed;
            }
        }
        d
    }

    /// Corrupts one byte of a written block (for corruption tests).
    pub fn corrupt_byte(&mut self, lba: u64, offset: usize, xor: u8) -> Result<()> {
        let z = self.geo.zone_of(lba).ok_or(EINVAL)?;
        let rel = lba - self.geo.zone_start(z);
        let zone = self.zones.get_mut(z as usize).ok_or(EINVAL)?;
        if rel >= zone.wp || offset >= BLOCK_SIZE {
            return Err(EINVAL);
        }
        let i = rel as usize * BLOCK_SIZE + offset;
        let b = zone.data.get_mut(i).ok_or(EINVAL)?;
        *b ^= xor;
        Ok(())
    }

    /// Direct access to the written part of zone `zone` (for fuzzing and
    /// dumps).
    pub fn zone_data_mut(&mut self, zone: u32) -> Option<&mut [u8]> {
        self.zones.get_mut(zone as usize).map(|z| &mut z.data[..])
    }

    fn count(&self, f: impl Fn(ZoneCond) -> bool) -> u32 {
        self.zones.iter().filter(|z| f(z.cond)).count() as u32
    }

    /// Makes room to implicitly open zone `zi` for a write.
    fn open_for_write(&mut self, zi: usize) -> Result<()> {
        let cond = self.zones[zi].cond;
        match cond {
            ZoneCond::ImplicitOpen | ZoneCond::ExplicitOpen => return Ok(()),
            ZoneCond::Full | ZoneCond::ReadOnly | ZoneCond::Offline => return Err(EIO),
            ZoneCond::Empty | ZoneCond::Closed => {}
        }
        if cond == ZoneCond::Empty && self.geo.max_active != 0 {
            let active = self.count(|c| {
                matches!(c, ZoneCond::ImplicitOpen | ZoneCond::ExplicitOpen | ZoneCond::Closed)
            });
            if active >= self.geo.max_active {
                return Err(EIO); // Too Many Active Zones
            }
        }
        if self.geo.max_open != 0 {
            let open = self.count(|c| matches!(c, ZoneCond::ImplicitOpen | ZoneCond::ExplicitOpen));
            if open >= self.geo.max_open {
                // Like NVMe: close an implicitly opened zone to make room.
                match self.zones.iter_mut().find(|z| z.cond == ZoneCond::ImplicitOpen) {
                    Some(z) => z.cond = ZoneCond::Closed,
                    None => return Err(EIO), // Too Many Open Zones
                }
            }
        }
        self.zones[zi].cond = ZoneCond::ImplicitOpen;
        Ok(())
    }

    fn do_write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        self.stats.writes += 1;
        let n = self.stats.writes;
        if let Some(cut) = self.cut_after {
            if n > cut {
                self.off = true;
            }
        }
        if self.off {
            return Err(EIO);
        }
        if self.fail_write_at == Some(n) {
            return Err(EIO);
        }
        if buf.is_empty() || buf.len() % BLOCK_SIZE != 0 {
            return Err(EINVAL);
        }
        let z = self.geo.zone_of(lba).ok_or(EINVAL)?;
        let zi = z as usize;
        let rel = lba - self.geo.zone_start(z);
        let nblocks = (buf.len() / BLOCK_SIZE) as u64;
        if rel != self.zones[zi].wp || rel + nblocks > self.geo.zone_cap {
            return Err(EIO);
        }
        self.open_for_write(zi)?;
        let mut land = buf.len();
        let mut torn = false;
        if let Some((tn, tb)) = self.tear_at {
            if tn == n {
                land = core::cmp::min(land, tb * BLOCK_SIZE);
                torn = true;
            }
        }
        let zone = &mut self.zones[zi];
        if zone.data.capacity() == 0 {
            // A zone is written whole, bit by bit: one allocation, not a
            // doubling (and a copy of the zone) when a write passes the
            // capacity the last one left.
            zone.data.reserve_exact(self.geo.zone_cap as usize * BLOCK_SIZE);
        }
        zone.data.extend_from_slice(&buf[..land]);
        zone.wp += (land / BLOCK_SIZE) as u64;
        self.stats.blocks_written += (land / BLOCK_SIZE) as u64;
        if zone.wp == self.geo.zone_cap {
            zone.cond = ZoneCond::Full;
        }
        if torn {
            self.off = true;
            return Err(EIO);
        }
        Ok(())
    }
}

impl ZonedDevice for MemDevice {
    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn report_zone(&mut self, zone: u32) -> Result<ZoneInfo> {
        let z = self.zones.get(zone as usize).ok_or(EINVAL)?;
        let start = self.geo.zone_start(zone);
        Ok(ZoneInfo { start, len: self.geo.zone_size, cap: self.geo.zone_cap, wp: start + z.wp, cond: z.cond })
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() || buf.len() % BLOCK_SIZE != 0 {
            return Err(EINVAL);
        }
        self.stats.reads += 1;
        let nblocks = (buf.len() / BLOCK_SIZE) as u64;
        if self.bad_block.is_some_and(|b| b >= lba && b - lba < nblocks) {
            return Err(EIO);
        }
        let z = self.geo.zone_of(lba).ok_or(EINVAL)?;
        let rel = lba - self.geo.zone_start(z);
        let zone = &self.zones[z as usize];
        if zone.cond == ZoneCond::Offline || rel.checked_add(nblocks).map_or(true, |e| e > zone.wp) {
            return Err(EIO);
        }
        let off = rel as usize * BLOCK_SIZE;
        buf.copy_from_slice(&zone.data[off..off + buf.len()]);
        self.stats.blocks_read += nblocks;
        Ok(())
    }

    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<()> {
        self.do_write(lba, buf)
    }

    fn reset(&mut self, zone: u32) -> Result<()> {
        if self.off {
            return Err(EIO);
        }
        let z = self.zones.get_mut(zone as usize).ok_or(EINVAL)?;
        if matches!(z.cond, ZoneCond::ReadOnly | ZoneCond::Offline) {
            return Err(EIO);
        }
        z.data = Vec::new();
        z.wp = 0;
        z.flushed_wp = 0;
        z.cond = ZoneCond::Empty;
        self.stats.resets += 1;
        Ok(())
    }

    fn finish(&mut self, zone: u32) -> Result<()> {
        if self.off {
            return Err(EIO);
        }
        let cap = self.geo.zone_cap;
        let z = self.zones.get_mut(zone as usize).ok_or(EINVAL)?;
        if matches!(z.cond, ZoneCond::ReadOnly | ZoneCond::Offline) {
            return Err(EIO);
        }
        // The unwritten rest reads back as zeroes after a finish.
        z.data.resize(cap as usize * BLOCK_SIZE, 0);
        z.wp = cap;
        z.flushed_wp = cap;
        z.cond = ZoneCond::Full;
        self.stats.finishes += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.stats.flushes += 1;
        if self.off || self.fail_flush_at == Some(self.stats.flushes) {
            return Err(EIO);
        }
        for z in self.zones.iter_mut() {
            z.flushed_wp = z.wp;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blk(v: u8) -> Vec<u8> {
        alloc::vec![v; BLOCK_SIZE]
    }

    #[test]
    fn enforces_zns_rules() {
        let mut d = MemDevice::with_zones(4, 8, 6).unwrap();
        assert_eq!(d.write(1, &blk(1)), Err(EIO)); // not at wp
        d.write(0, &blk(1)).unwrap();
        let mut b = blk(0);
        d.read(0, &mut b).unwrap();
        assert_eq!(b[0], 1);
        assert_eq!(d.read(1, &mut b), Err(EIO)); // unwritten
        assert_eq!(d.write(1, &[0u8; 100]), Err(EINVAL));
        let six = alloc::vec![2u8; 6 * BLOCK_SIZE];
        assert_eq!(d.write(1, &six), Err(EIO)); // past capacity
        d.write(1, &six[..5 * BLOCK_SIZE]).unwrap();
        assert_eq!(d.report_zone(0).unwrap().cond, ZoneCond::Full);
        assert_eq!(d.write(6, &blk(1)), Err(EIO));
        assert_eq!(d.append(1, &blk(3)).unwrap(), 8);
        d.finish(1).unwrap();
        assert_eq!(d.report_zone(1).unwrap().wp, 14);
        d.reset(0).unwrap();
        assert_eq!(d.read(0, &mut b), Err(EIO));
        assert_eq!(d.report_zone(0).unwrap().cond, ZoneCond::Empty);
    }

    #[test]
    fn active_limit() {
        let mut d = MemDevice::new(Geometry { zone_count: 4, zone_size: 4, zone_cap: 4, max_open: 1, max_active: 2 }).unwrap();
        d.write(0, &blk(1)).unwrap();
        d.write(4, &blk(1)).unwrap(); // closes zone 0 implicitly
        assert_eq!(d.report_zone(0).unwrap().cond, ZoneCond::Closed);
        assert_eq!(d.write(8, &blk(1)), Err(EIO)); // 2 active already
        d.finish(0).unwrap();
        d.write(8, &blk(1)).unwrap();
    }

    #[test]
    fn faults() {
        let mut d = MemDevice::with_zones(2, 8, 8).unwrap();
        d.fail_write(2);
        d.write(0, &blk(1)).unwrap();
        assert_eq!(d.write(1, &blk(1)), Err(EIO));
        d.write(1, &blk(1)).unwrap();
        let mut t = d.clone();
        t.tear_write(4, 1);
        t.write(2, &alloc::vec![5u8; 3 * BLOCK_SIZE]).unwrap_err();
        assert!(t.is_off());
        assert_eq!(t.write(3, &blk(1)), Err(EIO));
        let mut t = t.after_power_loss();
        assert_eq!(t.report_zone(0).unwrap().wp, 3);
        d.power_cut_after(3);
        assert_eq!(d.write(2, &blk(1)), Err(EIO));
        assert_eq!(d.flush(), Err(EIO));
        let mut v = MemDevice::with_zones(2, 8, 8).unwrap();
        v.set_volatile_cache(true);
        v.write(0, &blk(1)).unwrap();
        v.flush().unwrap();
        v.write(1, &blk(1)).unwrap();
        let mut after = v.after_power_loss();
        assert_eq!(after.report_zone(0).unwrap().wp, 1);
        v.fail_flush(2);
        assert_eq!(v.flush(), Err(EIO));
    }
}
