//! Zone bookkeeping: the SIT (valid blocks per zone), the reverse map
//! (device block -> owner) and the log heads that append into zones.
//!
//! Three log heads keep hot and cold blocks apart (and at most three zones
//! open, plus the checkpoint zone): user data, nodes (inode records), and
//! GC (blocks moved by garbage collection, which are cold by definition).
//!
//! A zone's life: `Free` (maybe holding stale blocks, reset before reuse)
//! -> `Head` (being appended to) -> `Used` (full, or finished) -> once its
//! valid count is 0 and a checkpoint no longer references it, reset and
//! `Free` again. A zone is never reset before a checkpoint that no longer
//! needs it is durable, so a crash always finds the checkpoint's blocks.

use super::device::{Geometry, ZonedDevice};
use super::errno::{Result, EIO, ENOSPC, EUCLEAN};
use super::layout::CKPT_ZONES;
use super::mem::FVec;

/// Head for user data.
pub const H_DATA: usize = 0;
/// Head for nodes.
pub const H_NODE: usize = 1;
/// Head for GC-relocated data.
pub const H_GC: usize = 2;
/// Number of heads.
pub const NHEADS: usize = 3;

/// Reverse-map tag bit for node blocks (else a data block).
pub const OWNER_NODE: u64 = 0x8000_0000;

/// Reverse-map tag of a pack block; the low bits count the inodes whose
/// node is a record in it (inode numbers stay below 2^31, so data and node
/// owner words never have this bit).
pub const OWNER_PACK: u64 = 1 << 63;

/// Owner word of a data block.
pub fn owner_data(ino: u64, fblk: u64) -> u64 {
    (ino << 32) | (fblk + 1)
}

/// Owner word of node block `idx`.
pub fn owner_node(ino: u64, idx: u64) -> u64 {
    (ino << 32) | OWNER_NODE | idx
}

fn isqrt(n: u32) -> u32 {
    let mut r = 0u32;
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

/// Zone state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ZState {
    /// Reusable (reset first if `wp > 0`).
    Free,
    /// Appended to by a log head.
    Head,
    /// Written, not appended to any more.
    Used,
    /// Checkpoint zone.
    Ckpt,
}

/// Per-zone table entry.
#[derive(Clone, Copy, Debug)]
pub struct ZoneEnt {
    /// Write pointer relative to the zone start.
    pub wp: u64,
    /// Live blocks.
    pub valid: u32,
    /// State.
    pub state: ZState,
    /// Snapshot references (GC and reset skip pinned zones).
    pub pins: u32,
    /// Write sequence when the zone was opened (age for cost-benefit GC).
    pub age: u64,
}

/// The zone table.
pub struct Zones {
    /// Device geometry.
    pub geo: Geometry,
    /// One entry per zone.
    pub z: FVec<ZoneEnt>,
    /// Owner of every usable block (0 = free/invalid).
    pub rmap: FVec<u64>,
    /// Open zone of each head.
    pub heads: [Option<u32>; NHEADS],
    /// Zones reserved for GC and metadata: user data never takes the last
    /// `reserve` free zones.
    pub reserve: u32,
    /// Increases with every zone opened.
    pub wseq: u64,
    /// Round-robin allocation cursor.
    cursor: u32,
}

impl Zones {
    /// An empty table for `geo` (every log zone free, wp 0).
    pub fn new(geo: Geometry) -> Result<Self> {
        let ent = ZoneEnt { wp: 0, valid: 0, state: ZState::Free, pins: 0, age: 0 };
        let mut z = FVec::try_from_elem(ent, geo.zone_count as usize)?;
        for c in 0..CKPT_ZONES as usize {
            if let Some(e) = z.get_mut(c) {
                e.state = ZState::Ckpt;
            }
        }
        let blocks = usize::try_from(geo.capacity_blocks()).map_err(|_| ENOSPC)?;
        let rmap = FVec::try_from_elem(0u64, blocks)?;
        // GC must be able to compact even when the free space is spread
        // evenly over every zone: with `r` free zones and `s` zones of
        // slack over `n` log zones it gains a zone once r >= n/s - 1, so
        // the reserve grows like sqrt(n) (see `usable_blocks`).
        let log = geo.zone_count.saturating_sub(CKPT_ZONES);
        let reserve = core::cmp::max(3, isqrt(log));
        Ok(Self { geo, z, rmap, heads: [None; NHEADS], reserve, wseq: 1, cursor: CKPT_ZONES })
    }

    /// Blocks that may hold live data and nodes: the log zones minus the
    /// GC reserve and the open heads (so that when only the reserve is
    /// free, at least `NHEADS` zones' worth of dead blocks exist for GC).
    pub fn usable_blocks(&self) -> u64 {
        let log = self.geo.zone_count.saturating_sub(CKPT_ZONES) as u64;
        let keep = self.reserve as u64 + NHEADS as u64;
        log.saturating_sub(keep).saturating_mul(self.geo.zone_cap)
    }

    /// Index into `rmap` of `lba` if it is a usable log block.
    pub fn rindex(&self, lba: u64) -> Option<usize> {
        let zone = self.geo.zone_of(lba)?;
        if zone < CKPT_ZONES {
            return None;
        }
        let rel = lba - self.geo.zone_start(zone);
        if rel >= self.geo.zone_cap {
            return None;
        }
        usize::try_from(zone as u64 * self.geo.zone_cap + rel).ok()
    }

    /// The owner word of `lba` (0 if free or not a log block).
    pub fn owner(&self, lba: u64) -> u64 {
        self.rindex(lba).and_then(|i| self.rmap.get(i).copied()).unwrap_or(0)
    }

    /// Marks `lba` live for `owner`; `EUCLEAN` if it is not a written log
    /// block or already owned (a block used twice).
    pub fn claim(&mut self, lba: u64, owner: u64) -> Result<()> {
        let i = self.rindex(lba).ok_or(EUCLEAN)?;
        let zone = self.geo.zone_of(lba).ok_or(EUCLEAN)? as usize;
        let rel = lba - self.geo.zone_start(zone as u32);
        let ze = self.z.get_mut(zone).ok_or(EUCLEAN)?;
        if rel >= ze.wp {
            return Err(EUCLEAN);
        }
        let slot = self.rmap.get_mut(i).ok_or(EUCLEAN)?;
        if *slot != 0 {
            return Err(EUCLEAN);
        }
        *slot = owner;
        ze.valid += 1;
        Ok(())
    }

    /// Adds one inode record reference to pack block `lba`.
    pub fn claim_pack(&mut self, lba: u64) -> Result<()> {
        let i = self.rindex(lba).ok_or(EUCLEAN)?;
        let slot = self.rmap.get(i).copied().ok_or(EUCLEAN)?;
        if slot == 0 {
            return self.claim(lba, OWNER_PACK | 1);
        }
        if slot & OWNER_PACK == 0 {
            return Err(EUCLEAN);
        }
        self.rmap[i] = slot + 1;
        Ok(())
    }

    /// Marks `lba` dead (no-op if it was not live); for a pack block, drops
    /// one reference and marks it dead with the last.
    pub fn release(&mut self, lba: u64) {
        let i = match self.rindex(lba) {
            Some(i) => i,
            None => return,
        };
        if let Some(slot) = self.rmap.get_mut(i) {
            if *slot & OWNER_PACK != 0 && (*slot & !OWNER_PACK) > 1 {
                *slot -= 1;
                return;
            }
            if *slot != 0 {
                *slot = 0;
                if let Some(zone) = self.geo.zone_of(lba) {
                    if let Some(ze) = self.z.get_mut(zone as usize) {
                        ze.valid = ze.valid.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// Live blocks over all zones.
    pub fn live_blocks(&self) -> u64 {
        self.z.iter().map(|e| e.valid as u64).sum()
    }

    /// Free zones.
    pub fn free_zones(&self) -> u32 {
        self.z.iter().filter(|e| e.state == ZState::Free).count() as u32
    }

    /// Used zones whose blocks are all dead and unpinned: reclaimable by a
    /// reset once a checkpoint is durable.
    pub fn reclaimable(&self) -> u32 {
        self.z.iter().filter(|e| e.state == ZState::Used && e.valid == 0 && e.pins == 0).count() as u32
    }

    /// Resets every reclaimable zone. Only call right after a durable
    /// checkpoint.
    pub fn reset_reclaimable<D: ZonedDevice>(&mut self, dev: &mut D) -> Result<()> {
        for zi in 0..self.z.len() {
            let e = self.z[zi];
            if e.state == ZState::Used && e.valid == 0 && e.pins == 0 {
                dev.reset(zi as u32)?;
                self.z[zi].wp = 0;
                self.z[zi].state = ZState::Free;
            }
        }
        Ok(())
    }

    /// Free space left in the zone of head `h`.
    pub fn head_room(&self, h: usize) -> u64 {
        match self.heads.get(h).copied().flatten() {
            Some(zone) => self.z.get(zone as usize).map_or(0, |e| self.geo.zone_cap.saturating_sub(e.wp)),
            None => 0,
        }
    }

    /// Space for up to `want` blocks at head `h`: returns the LBA and how
    /// many blocks fit (all of `want` if `contiguous`). Opens a new zone if
    /// needed, taking it only if more than `keep_free` free zones remain.
    pub fn reserve_run<D: ZonedDevice>(
        &mut self,
        dev: &mut D,
        h: usize,
        want: u64,
        contiguous: bool,
        keep_free: u32,
    ) -> Result<(u64, u64)> {
        if want == 0 || (contiguous && want > self.geo.zone_cap) {
            return Err(ENOSPC);
        }
        let want = core::cmp::min(want, self.geo.zone_cap);
        let room = self.head_room(h);
        if room == 0 || (contiguous && room < want) {
            if let Some(zone) = self.heads[h].take() {
                // Abandon the rest of the zone so it stops counting as
                // active.
                if room > 0 {
                    dev.finish(zone)?;
                    self.z[zone as usize].wp = self.geo.zone_cap;
                }
                self.z[zone as usize].state = ZState::Used;
            }
            if self.free_zones() <= keep_free {
                return Err(ENOSPC);
            }
            let zone = self.pick_free().ok_or(ENOSPC)?;
            if self.z[zone as usize].wp != 0 {
                dev.reset(zone)?;
            }
            self.wseq += 1;
            let e = &mut self.z[zone as usize];
            e.wp = 0;
            e.state = ZState::Head;
            e.age = self.wseq;
            self.heads[h] = Some(zone);
        }
        let zone = self.heads[h].ok_or(EIO)?;
        let e = self.z[zone as usize];
        let n = core::cmp::min(want, self.geo.zone_cap - e.wp);
        Ok((self.geo.zone_start(zone) + e.wp, n))
    }

    /// Records that `n` blocks were written at `lba` (the head's write
    /// pointer); closes the head when its zone is full.
    pub fn commit_run(&mut self, h: usize, lba: u64, n: u64) {
        let zone = match self.geo.zone_of(lba) {
            Some(z) => z,
            None => return,
        };
        let cap = self.geo.zone_cap;
        if let Some(e) = self.z.get_mut(zone as usize) {
            e.wp = core::cmp::min(cap, e.wp + n);
            if e.wp == cap {
                e.state = ZState::Used;
                if self.heads.get(h).copied().flatten() == Some(zone) {
                    self.heads[h] = None;
                }
            }
        }
    }

    fn pick_free(&mut self) -> Option<u32> {
        let n = self.geo.zone_count;
        for k in 0..n {
            let zone = (self.cursor + k) % n;
            if self.z[zone as usize].state == ZState::Free {
                self.cursor = (zone + 1) % n;
                return Some(zone);
            }
        }
        None
    }

    /// Adds (or with `add == false` removes) a snapshot pin on the zone of
    /// every block in `lba..lba+len`.
    pub fn pin_run(&mut self, lba: u64, len: u64, add: bool) {
        let mut at = lba;
        let end = lba.saturating_add(len);
        while at < end {
            let zone = match self.geo.zone_of(at) {
                Some(z) => z,
                None => return,
            };
            if let Some(e) = self.z.get_mut(zone as usize) {
                e.pins = if add { e.pins.saturating_add(1) } else { e.pins.saturating_sub(1) };
            }
            at = self.geo.zone_start(zone) + self.geo.zone_size;
        }
    }
}
