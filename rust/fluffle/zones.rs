//! Zone bookkeeping: the SIT (live space per zone), the log heads that
//! append into zones, and the open chunk of block owners each head writes
//! as a summary (`summary.rs`).
//!
//! Three log heads keep hot and cold blocks apart (and at most three zones
//! open, plus the checkpoint zone): user data, nodes (inode records), and
//! GC (blocks moved by garbage collection, which are cold by definition).
//!
//! A zone's life: `Free` (maybe holding stale blocks, reset before reuse)
//! -> `Head` (being appended to) -> `Used` (full, or finished; its last
//! block is a summary) -> once its live count is 0 and a checkpoint no
//! longer references it, reset and `Free` again. A zone is never reset
//! before a checkpoint that no longer needs it is durable, so a crash
//! always finds the checkpoint's blocks.
//!
//! Live space is counted in 1/`BLOCK_UNITS` blocks: a whole block is
//! `BLOCK_UNITS`, a pack record its share of the pack block (the shares of
//! a pack's records add up to exactly one block), so a zone's count is 0
//! exactly when nothing in it is live, without a per-block table.

use super::device::{Geometry, ZonedDevice};
use super::errno::{Result, EIO, ENOSPC, EUCLEAN};
use super::layout::{CKPT_ZONES, PACK_RECORDS_MAX};
use super::mem::FVec;
use super::summary::{Chunk, RUNS_PER_BLOCK};

/// Head for user data.
pub const H_DATA: usize = 0;
/// Head for nodes.
pub const H_NODE: usize = 1;
/// Head for GC-relocated data.
pub const H_GC: usize = 2;
/// Number of heads.
pub const NHEADS: usize = 3;

/// Live-space units per block.
pub const BLOCK_UNITS: u32 = PACK_RECORDS_MAX as u32;

/// The share of its pack block's live space that record `index` of
/// `records` owns (`BLOCK_UNITS / records`, the remainder spread over the
/// first records, so that the shares add up to `BLOCK_UNITS`).
pub fn pack_share(index: usize, records: usize) -> u32 {
    let k = core::cmp::max(1, records) as u32;
    BLOCK_UNITS / k + u32::from((index as u32) < BLOCK_UNITS % k)
}

// Owner words (format version 6): what each block of a log zone was
// written for, as block summaries (`summary.rs`) record it.
// - 0: no owner (a dead block);
// - data block `fblk` of inode `ino`: `ino << 32 | (fblk + 1)`, the low word
//   in `1..=2^31` (a file has at most 2^31 blocks);
// - node block `idx` of inode `ino`: `ino << 32 | OWNER_NODE + 1 + idx`, the
//   low word above 2^31 (a node has at most 2^16 blocks);
// - a pack block (its records name their inodes): `OWNER_PACK`, which has
//   inode 0 (never a file's) and a low word no node index reaches;
// - NAT blocks: data owners of inode 0 (`nat::owner_nat`).
// Inode numbers therefore take all 32 upper bits: up to 2^32 - 1. Version 5
// tagged pack blocks with bit 63 and so stopped inode numbers at 2^31, and
// its node index 0 had the owner word of a file's block 2^31 - 1.

/// Low-word base of node owners: a low word above it names a node block.
pub const OWNER_NODE: u64 = 0x8000_0000;

/// Owner word of a pack block.
pub const OWNER_PACK: u64 = 0xFFFF_FFFF;

/// Owner word of a data block.
pub fn owner_data(ino: u64, fblk: u64) -> u64 {
    (ino << 32) | (fblk + 1)
}

/// Owner word of node block `idx`.
pub fn owner_node(ino: u64, idx: u64) -> u64 {
    (ino << 32) | (OWNER_NODE + 1 + idx)
}

/// The inode an owner word names (0 for pack and NAT blocks).
pub fn owner_ino(owner: u64) -> u64 {
    owner >> 32
}

/// The node block index a node owner word names, `None` for other owners.
pub fn owner_node_index(owner: u64) -> Option<u64> {
    let low = owner & 0xFFFF_FFFF;
    if owner == OWNER_PACK || low <= OWNER_NODE {
        return None;
    }
    Some(low - OWNER_NODE - 1)
}

/// The file block a data owner word names (inode 0's are NAT blocks),
/// `None` for other owners.
pub fn owner_data_block(owner: u64) -> Option<u64> {
    let low = owner & 0xFFFF_FFFF;
    if low == 0 || low > OWNER_NODE {
        return None;
    }
    Some(low - 1)
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
    /// End of what the log wrote (below `wp` once finished early): its
    /// last summary ends here.
    pub end: u64,
    /// Summary blocks in it (what GC cannot gain from it: moved blocks
    /// need summaries again).
    pub sums: u32,
    /// Live space in `BLOCK_UNITS` per block.
    pub live: u32,
    /// State.
    pub state: ZState,
    /// Snapshot references (GC and reset skip pinned zones).
    pub pins: u32,
    /// Write sequence when the zone was opened (age for cost-benefit GC).
    pub age: u64,
    /// GC could not empty it (its summaries are damaged): not a victim
    /// again until the next mount (RAM only).
    pub stuck: bool,
}

impl ZoneEnt {
    /// Live blocks (a partly live pack block counts whole).
    pub fn live_blocks(&self) -> u64 {
        self.live.div_ceil(BLOCK_UNITS) as u64
    }

    /// Blocks GC would have to write again to empty the zone: the live
    /// ones and (about as many) summaries of them.
    pub fn kept_blocks(&self) -> u64 {
        self.live_blocks() + self.sums as u64
    }
}

/// The zone table.
pub struct Zones {
    /// Device geometry.
    pub geo: Geometry,
    /// One entry per zone.
    pub z: FVec<ZoneEnt>,
    /// Open zone of each head.
    pub heads: [Option<u32>; NHEADS],
    /// The owners of each head's blocks since its last summary.
    pub chunks: [Chunk; NHEADS],
    /// Zones reserved for GC and metadata: user data never takes the last
    /// `reserve` free zones.
    pub reserve: u32,
    /// Increases with every zone opened.
    pub wseq: u64,
    /// Zone resets so far (a block read before one may be stale after).
    pub resets: u64,
    /// CRC seed of summary blocks.
    seed: u32,
    /// A summary block being written (kept: one allocation, not one per
    /// summary).
    sbuf: FVec<u8>,
    /// Summary blocks written.
    pub summary_blocks: u64,
    /// A summary write failed: the zones no longer match the device.
    pub failed: bool,
    /// Round-robin allocation cursor.
    cursor: u32,
}

impl Zones {
    /// An empty table for `geo` (every log zone free, wp 0).
    pub fn new(geo: Geometry, seed: u32) -> Result<Self> {
        let ent = ZoneEnt { wp: 0, end: 0, sums: 0, live: 0, state: ZState::Free, pins: 0, age: 0, stuck: false };
        let mut z = FVec::try_from_elem(ent, geo.zone_count as usize)?;
        for c in 0..CKPT_ZONES as usize {
            if let Some(e) = z.get_mut(c) {
                e.state = ZState::Ckpt;
            }
        }
        // GC must be able to compact even when the free space is spread
        // evenly over every zone: with `r` free zones and `s` zones of
        // slack over `n` log zones it gains a zone once r >= n/s - 1, so
        // the reserve grows like sqrt(n) (see `usable_blocks`).
        let log = geo.zone_count.saturating_sub(CKPT_ZONES);
        let reserve = core::cmp::max(3, isqrt(log));
        let chunks = [Chunk::for_head()?, Chunk::for_head()?, Chunk::for_head()?];
        Ok(Self {
            geo,
            z,
            heads: [None; NHEADS],
            chunks,
            reserve,
            wseq: 1,
            resets: 0,
            seed,
            sbuf: FVec::new(),
            summary_blocks: 0,
            failed: false,
            cursor: CKPT_ZONES,
        })
    }

    /// Blocks that may hold live data and nodes: the log zones minus the
    /// GC reserve and the open heads (so that when only the reserve is
    /// free, at least `NHEADS` zones' worth of dead blocks exist for GC),
    /// each without the blocks its summaries may take.
    pub fn usable_blocks(&self) -> u64 {
        let log = self.geo.zone_count.saturating_sub(CKPT_ZONES) as u64;
        let keep = self.reserve as u64 + NHEADS as u64;
        log.saturating_sub(keep).saturating_mul(self.block_room())
    }

    /// Blocks of a zone left for data and nodes when every block has
    /// another owner than the one before (the most summary blocks a zone
    /// can need: one per `RUNS_PER_BLOCK` blocks, the last one included).
    pub fn block_room(&self) -> u64 {
        let cap = self.geo.zone_cap;
        cap - cap.div_ceil(RUNS_PER_BLOCK as u64 + 1)
    }

    /// Zone and zone offset of `lba` if it is a usable log block.
    pub fn log_block(&self, lba: u64) -> Option<(u32, u64)> {
        let zone = self.geo.zone_of(lba)?;
        if zone < CKPT_ZONES {
            return None;
        }
        let rel = lba - self.geo.zone_start(zone);
        if rel >= self.geo.zone_cap {
            return None;
        }
        Some((zone, rel))
    }

    /// Counts `units` of live space at `lba`; `EUCLEAN` if it is not a
    /// written log block (a map pointing at nothing) or the count would
    /// pass the zone's capacity (blocks used twice).
    pub fn claim_units(&mut self, lba: u64, units: u32) -> Result<()> {
        let (zone, rel) = self.log_block(lba).ok_or(EUCLEAN)?;
        let most = (self.geo.zone_cap as u32).saturating_mul(BLOCK_UNITS);
        let ze = self.z.get_mut(zone as usize).ok_or(EUCLEAN)?;
        if rel >= ze.wp {
            return Err(EUCLEAN);
        }
        let live = ze.live.checked_add(units).filter(|&l| l <= most).ok_or(EUCLEAN)?;
        ze.live = live;
        Ok(())
    }

    /// Counts the whole block `lba` live.
    pub fn claim(&mut self, lba: u64) -> Result<()> {
        self.claim_units(lba, BLOCK_UNITS)
    }

    /// Counts `units` of live space at `lba` dead (only call for space
    /// counted live before).
    pub fn release_units(&mut self, lba: u64, units: u32) {
        if let Some((zone, _)) = self.log_block(lba) {
            if let Some(ze) = self.z.get_mut(zone as usize) {
                ze.live = ze.live.saturating_sub(units);
            }
        }
    }

    /// Counts block `lba` dead.
    pub fn release(&mut self, lba: u64) {
        self.release_units(lba, BLOCK_UNITS)
    }

    /// Counts a node dead: `blocks` blocks at `lba`, or its record's share
    /// `pack_share` of the pack block at `lba` when packed.
    pub fn release_node(&mut self, lba: u64, blocks: u32, pack_share: Option<u32>) {
        match pack_share {
            Some(units) => self.release_units(lba, units),
            None => {
                for k in 0..blocks as u64 {
                    self.release(lba + k);
                }
            }
        }
    }

    /// Live blocks over all zones.
    pub fn live_blocks(&self) -> u64 {
        self.z.iter().map(|e| e.live_blocks()).sum()
    }

    /// Free zones.
    pub fn free_zones(&self) -> u32 {
        self.z.iter().filter(|e| e.state == ZState::Free).count() as u32
    }

    /// Used zones whose blocks are all dead and unpinned: reclaimable by a
    /// reset once a checkpoint is durable.
    pub fn reclaimable(&self) -> u32 {
        self.z.iter().filter(|e| e.state == ZState::Used && e.live == 0 && e.pins == 0).count() as u32
    }

    /// Resets every reclaimable zone. Only call right after a durable
    /// checkpoint.
    pub fn reset_reclaimable<D: ZonedDevice>(&mut self, dev: &mut D) -> Result<()> {
        for zi in 0..self.z.len() {
            let e = self.z[zi];
            if e.state == ZState::Used && e.live == 0 && e.pins == 0 {
                dev.reset(zi as u32)?;
                self.resets += 1;
                self.z[zi].wp = 0;
                self.z[zi].end = 0;
                self.z[zi].sums = 0;
                self.z[zi].state = ZState::Free;
            }
        }
        Ok(())
    }

    /// Free space left in the zone of head `h` (the summary's block
    /// included).
    pub fn head_room(&self, h: usize) -> u64 {
        match self.heads.get(h).copied().flatten() {
            Some(zone) => self.z.get(zone as usize).map_or(0, |e| self.geo.zone_cap.saturating_sub(e.wp)),
            None => 0,
        }
    }

    /// Space for up to `want` blocks at head `h`: returns the LBA and how
    /// many blocks fit (all of `want` if `contiguous`). Opens a new zone if
    /// needed, taking it only if more than `keep_free` free zones remain.
    /// The caller may add one run of owners to the head's chunk (GC, which
    /// adds one per block, takes at most [`Zones::runs_free`] blocks).
    pub fn reserve_run<D: ZonedDevice>(
        &mut self,
        dev: &mut D,
        h: usize,
        want: u64,
        contiguous: bool,
        keep_free: u32,
    ) -> Result<(u64, u64)> {
        // The last block of a zone is its closing summary.
        let most = self.geo.zone_cap - 1;
        if want == 0 || h >= NHEADS || (contiguous && want > most) {
            return Err(ENOSPC);
        }
        let want = core::cmp::min(want, most);
        if self.heads[h].is_some() && self.chunks[h].runs_free() == 0 {
            self.seal(dev, h)?;
        }
        let room = self.head_room(h).saturating_sub(1);
        if room == 0 || (contiguous && room < want) {
            self.close_head(dev, h)?;
            if self.free_zones() <= keep_free {
                return Err(ENOSPC);
            }
            let zone = self.pick_free().ok_or(ENOSPC)?;
            if self.z[zone as usize].wp != 0 {
                dev.reset(zone)?;
                self.resets += 1;
            }
            self.wseq += 1;
            let e = &mut self.z[zone as usize];
            e.wp = 0;
            e.end = 0;
            e.sums = 0;
            e.state = ZState::Head;
            e.age = self.wseq;
            e.stuck = false;
            self.heads[h] = Some(zone);
            self.chunks[h].restart(0);
        }
        let zone = self.heads[h].ok_or(EIO)?;
        let e = self.z[zone as usize];
        let n = core::cmp::min(want, most - e.wp);
        Ok((self.geo.zone_start(zone) + e.wp, n))
    }

    /// Runs head `h`'s chunk can still take without a summary.
    pub fn runs_free(&self, h: usize) -> usize {
        self.chunks.get(h).map_or(0, |c| c.runs_free())
    }

    /// Records that `n` blocks were written at `lba` (the head's write
    /// pointer) for owner words `owner`, `owner + stride`, ...
    pub fn commit_run(&mut self, h: usize, lba: u64, n: u64, owner: u64) {
        let zone = match self.geo.zone_of(lba) {
            Some(z) => z,
            None => return,
        };
        let cap = self.geo.zone_cap;
        if let Some(e) = self.z.get_mut(zone as usize) {
            e.wp = core::cmp::min(cap, e.wp + n);
            e.end = e.wp;
        }
        if self.heads.get(h).copied().flatten() == Some(zone) && self.chunks[h].push(owner, n).is_err() {
            // Cannot happen (the chunk has room, `reserve_run`), but a
            // lost owner must not go unnoticed.
            self.failed = true;
        }
    }

    /// Writes head `h`'s chunk as a summary at its write pointer (nothing
    /// if the chunk is empty); the zone is closed if that fills it.
    pub fn seal<D: ZonedDevice>(&mut self, dev: &mut D, h: usize) -> Result<()> {
        let zone = match self.heads.get(h).copied().flatten() {
            Some(z) => z,
            None => return Ok(()),
        };
        if self.chunks[h].blocks == 0 {
            return Ok(());
        }
        let chunk = core::mem::replace(&mut self.chunks[h], Chunk::empty());
        let r = self.write_chunk(dev, zone, &chunk);
        self.chunks[h] = chunk;
        r?;
        let e = &mut self.z[zone as usize];
        self.chunks[h].restart(e.wp);
        if e.wp == self.geo.zone_cap {
            e.state = ZState::Used;
            self.heads[h] = None;
        }
        Ok(())
    }

    /// Writes the summary blocks of `chunk` at `zone`'s write pointer (the
    /// chunk ends there) and counts them; a failed write fails the device.
    pub fn write_chunk<D: ZonedDevice>(&mut self, dev: &mut D, zone: u32, chunk: &Chunk) -> Result<()> {
        let wp = self.z.get(zone as usize).ok_or(EIO)?.wp;
        let nb = chunk.summary_blocks();
        if wp + nb > self.geo.zone_cap {
            self.failed = true;
            return Err(EIO);
        }
        let lba = self.geo.zone_start(zone) + wp;
        chunk.encode_into(lba, self.seed, &mut self.sbuf)?;
        if let Err(e) = dev.write(lba, &self.sbuf) {
            self.failed = true;
            return Err(e);
        }
        self.summary_blocks += nb;
        let e = &mut self.z[zone as usize];
        e.wp += nb;
        e.end = e.wp;
        e.sums += nb as u32;
        Ok(())
    }

    /// Writes head `h`'s last summary and leaves its zone (finished, so it
    /// stops counting as active).
    pub fn close_head<D: ZonedDevice>(&mut self, dev: &mut D, h: usize) -> Result<()> {
        self.seal(dev, h)?;
        if let Some(zone) = self.heads[h].take() {
            if self.z[zone as usize].wp < self.geo.zone_cap {
                dev.finish(zone)?;
                self.z[zone as usize].wp = self.geo.zone_cap;
            }
            self.z[zone as usize].state = ZState::Used;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_words_name_one_thing_up_to_the_last_inode_and_block() {
        let last_ino = crate::types::INO_END - 1;
        let last_fblk = crate::types::MAX_FILE_SIZE / 4096 - 1;
        for ino in [1u64, 2, (1 << 31) - 1, 1 << 31, last_ino] {
            for fblk in [0u64, 1, 1 << 30, last_fblk] {
                let o = owner_data(ino, fblk);
                assert_eq!((owner_ino(o), owner_data_block(o), owner_node_index(o)), (ino, Some(fblk), None));
                assert_ne!(o, OWNER_PACK);
            }
            for idx in [0u64, 1, u16::MAX as u64] {
                let o = owner_node(ino, idx);
                assert_eq!((owner_ino(o), owner_data_block(o), owner_node_index(o)), (ino, None, Some(idx)));
            }
        }
        // Version 5's node 0 and a file's last block had one word.
        assert_ne!(owner_node(7, 0), owner_data(7, last_fblk));
        assert_eq!((owner_ino(OWNER_PACK), owner_data_block(OWNER_PACK), owner_node_index(OWNER_PACK)), (0, None, None));
        assert_eq!((owner_data_block(0), owner_node_index(0)), (None, None));
    }
}
