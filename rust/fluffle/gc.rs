//! Garbage collection.
//!
//! Foreground GC runs inside writes when the data log would have to take
//! one of the last `reserve` free zones: it compacts greedy victims (fewest
//! live blocks) into the GC head until enough zones are reclaimable, then
//! writes a checkpoint (so nothing durable references the victims any
//! more) and resets them. Background GC ([`Fs::gc_step`]) resets zones that
//! died on their own and compacts one cost-benefit victim (f2fs:
//! `(1 - u) * age / (1 + u)`) when space is getting short or a zone is
//! nearly empty. Zones pinned by snapshots are never victims nor reset.

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::mem::FVec;
use super::layout::{open_pack, pack_records};
use super::nat::nat_block_of;
use super::summary::{read_summary, Chunk};
use super::zones::{owner_data_block, owner_ino, owner_node_index, ZState, H_GC, H_NODE, OWNER_PACK};

/// Largest run GC reads and writes at once (blocks).
const GC_RUN: u64 = 64;

impl<D: ZonedDevice> Fs<D> {
    /// Best victim: greedy (least live) or cost-benefit; a zone GC would
    /// gain nothing from (every block live or a summary) is none.
    fn pick_victim(&self, greedy: bool) -> Option<u32> {
        let cap = self.geo.zone_cap;
        let mut best: Option<(u64, u32)> = None;
        for (zi, e) in self.zones.z.iter().enumerate() {
            let live = e.kept_blocks();
            if e.state != ZState::Used || e.pins != 0 || e.live == 0 || e.stuck || live >= cap {
                continue;
            }
            let score = if greedy {
                cap - live
            } else {
                let age = self.zones.wseq.saturating_sub(e.age) + 1;
                (cap - live).saturating_mul(age).saturating_mul(1024) / (cap + live)
            };
            if best.map_or(true, |b| score > b.0) {
                best = Some((score, zi as u32));
            }
        }
        best.map(|b| b.1)
    }

    /// The chunks of `zone` before zone offset `end` from its summaries,
    /// first to last. Walks back from `end`; a damaged summary ends the
    /// walk (for GC, the blocks before it stay where they are, and the
    /// zone keeps their live count).
    pub(super) fn zone_chunks(&mut self, zone: u32, mut end: u64) -> Result<FVec<Chunk>> {
        let mut chunks: FVec<Chunk> = FVec::new();
        while end > 0 {
            let c = match read_summary(&mut self.dev, &self.geo, self.seed, zone, end) {
                Ok(c) => c,
                Err(ENOMEM) => return Err(ENOMEM),
                Err(_) => break,
            };
            end = c.start;
            chunks.try_push(c)?;
        }
        chunks.reverse();
        Ok(chunks)
    }

    /// Moves every live block out of `zone`: data to the GC head, nodes by
    /// marking their inodes dirty (the next checkpoint rewrites them). Each
    /// block's owner comes from the zone's summaries and counts only if
    /// that owner still points at the block.
    pub(super) fn evacuate(&mut self, zone: u32) -> Result<()> {
        let start = self.geo.zone_start(zone);
        let chunks = self.zone_chunks(zone, self.zones.z[zone as usize].end)?;
        // Live data blocks waiting to move, consecutive on the device.
        let mut run: FVec<(u64, u64)> = FVec::new();
        for c in chunks.iter() {
            let mut lba = start + c.start;
            for r in c.runs.iter() {
                for k in 0..r.count as u64 {
                    let owner = r.owner_at(k);
                    let here = lba + k;
                    if !self.live_data(here, owner)? {
                        continue;
                    }
                    if run.last().map_or(false, |l| l.0 + 1 != here) || run.len() as u64 >= GC_RUN {
                        self.move_data(&run)?;
                        run.clear();
                    }
                    run.try_push((here, owner))?;
                }
                lba += r.count as u64;
            }
        }
        self.move_data(&run)
    }

    /// True if `lba` is a live data block of the owner its summary names
    /// (to be moved by the caller); for a live node, pack or NAT block,
    /// marks it for the next checkpoint to rewrite elsewhere and returns
    /// false.
    fn live_data(&mut self, lba: u64, owner: u64) -> Result<bool> {
        if owner == 0 {
            return Ok(false);
        }
        if owner == OWNER_PACK {
            self.dirty_pack_members(lba)?;
            return Ok(false);
        }
        if let Some((level, k)) = nat_block_of(owner) {
            if self.nat.block_lba(level, k) == Some(lba) {
                self.nat.moved(level, k)?;
            }
            return Ok(false);
        }
        // A block of an inode that is gone is dead; one whose owner cannot
        // be read stops GC (moving nothing is safe, guessing is not).
        let i = match self.find(owner_ino(owner)) {
            Ok(i) => i,
            Err(ENOENT) => return Ok(false),
            Err(e) => return Err(e),
        };
        let n = &mut self.inodes[i];
        if let Some(idx) = owner_node_index(owner) {
            if !n.packed && idx < n.node_blocks as u64 && n.node_lba + idx == lba {
                n.mark_dirty(&mut self.dirty);
            }
            return Ok(false);
        }
        let Some(fblk) = owner_data_block(owner) else { return Ok(false) };
        Ok(n.map.lookup(fblk).map(|m| m.0) == Some(lba))
    }

    /// Copies live data blocks `run` (consecutive on the device, with their
    /// owners) to the GC head and points their owners' maps at the copies.
    fn move_data(&mut self, run: &[(u64, u64)]) -> Result<()> {
        let mut buf: FVec<u8> = FVec::new();
        let mut done = 0usize;
        while done < run.len() {
            let want = (run.len() - done) as u64;
            let (to, got) = self.zones.reserve_run(&mut self.dev, H_GC, want, false, 0)?;
            // Each block may add a run of owners to the head's summary.
            let got = core::cmp::min(got, core::cmp::max(1, self.zones.runs_free(H_GC)) as u64);
            let from = run[done].0;
            buf.clear();
            buf.try_resize(got as usize * BLOCK_SIZE, 0)?;
            self.dev.read(from, &mut buf)?;
            if let Err(e) = self.dev.write(to, &buf) {
                self.broken = true;
                return Err(e);
            }
            self.stats.gc_blocks += got;
            for k in 0..got {
                let owner = run[done + k as usize].1;
                self.zones.commit_run(H_GC, to + k, 1, owner);
                let fblk = owner_data_block(owner).ok_or(EUCLEAN)?;
                let i = self.find(owner_ino(owner)).map_err(|_| EUCLEAN)?;
                let zones = &mut self.zones;
                let n = &mut self.inodes[i];
                n.map.set(fblk, 1, Some(to + k), &mut |gone, len| {
                    for j in 0..len as u64 {
                        zones.release(gone + j);
                    }
                })?;
                zones.claim(to + k)?;
                n.mark_dirty(&mut self.dirty);
            }
            done += got as usize;
        }
        Ok(())
    }

    /// Marks dirty every inode whose node is a record in pack block `lba`
    /// (the next checkpoint rewrites them elsewhere).
    fn dirty_pack_members(&mut self, lba: u64) -> Result<()> {
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        self.dev.read(lba, &mut blk)?;
        let h = match open_pack(&blk, self.seed) {
            Ok(h) => h,
            // Not a pack (a damaged block or summary): nothing of it is
            // live, or the zone keeps its count.
            Err(_) => return Ok(()),
        };
        let mut inos: FVec<u64> = FVec::new();
        pack_records(&blk, &h, &mut |ino, _, _| inos.try_push(ino))?;
        for ino in inos.iter() {
            let found = match self.find(*ino) {
                Err(ENOENT) => None,
                other => Some(other?),
            };
            if let Some(i) = found {
                let n = &mut self.inodes[i];
                if n.packed && n.node_lba == lba {
                    n.mark_dirty(&mut self.dirty);
                }
            }
        }
        Ok(())
    }

    /// Foreground GC: frees zones until more than the reserve is free.
    pub(super) fn gc_foreground(&mut self) -> Result<()> {
        if self.in_gc {
            return Err(ENOSPC);
        }
        self.in_gc = true;
        let r = self.gc_foreground_inner();
        self.in_gc = false;
        r
    }

    fn gc_foreground_inner(&mut self) -> Result<()> {
        let target = self.zones.reserve + 1;
        // Each round ends with a checkpoint (it rewrites the nodes of every
        // file GC touched); aim past the target so rounds are few.
        let round_target = target + core::cmp::max(1, self.zones.reserve);
        for _ in 0..self.geo.zone_count.saturating_mul(2) {
            if self.zones.free_zones() >= target {
                return Ok(());
            }
            if self.zones.free_zones() + self.zones.reclaimable() >= target {
                self.checkpoint()?;
                continue;
            }
            // Compact victims until enough are reclaimable, then checkpoint.
            let mut moved = false;
            let mut victims: FVec<u32> = FVec::new();
            while self.zones.free_zones() + self.zones.reclaimable() < round_target {
                let v = match self.pick_victim(true) {
                    Some(v) => v,
                    None => break,
                };
                // The round's checkpoint rewrites every dirty node plus the
                // nodes found in victims: keep room for them beside the
                // moved data (one zone of slack for contiguous nodes).
                let live = self.zones.z[v as usize].kept_blocks();
                let cap = self.geo.zone_cap;
                let room = self.zones.free_zones() as u64 * cap + self.zones.head_room(H_GC) + self.zones.head_room(H_NODE);
                let need = live + self.dirty_node_blocks() + cap;
                if room < need {
                    break;
                }
                self.evacuate(v)?;
                moved = true;
                victims.try_push(v)?;
                if self.zones.z[v as usize].live != 0 {
                    // Node blocks remain until the checkpoint rewrites them.
                    break;
                }
            }
            let before = self.zones.free_zones();
            self.checkpoint()?;
            self.mark_stuck(&victims);
            if !moved && self.zones.free_zones() <= before {
                return Err(ENOSPC);
            }
        }
        if self.zones.free_zones() > 0 {
            Ok(())
        } else {
            Err(ENOSPC)
        }
    }

    /// One background GC step: resets reclaimable zones (by writing a
    /// checkpoint) and compacts the best cost-benefit victim when free
    /// zones run low or a zone is nearly empty. Returns true if it did
    /// something.
    pub fn gc_step(&mut self) -> Result<bool> {
        self.writable()?;
        self.trim_inodes(false);
        if self.zones.reclaimable() > 0 {
            self.checkpoint()?;
            return Ok(true);
        }
        let low = self.zones.free_zones() <= 2 * self.zones.reserve + 3;
        let v = match self.pick_victim(!low) {
            Some(v) => v,
            None => return Ok(false),
        };
        let nearly_empty = self.zones.z[v as usize].kept_blocks() * 8 <= self.geo.zone_cap;
        if !low && !nearly_empty {
            return Ok(false);
        }
        self.evacuate(v)?;
        self.checkpoint()?;
        self.mark_stuck(&[v]);
        Ok(true)
    }

    /// After the checkpoint that rewrote what GC marked: a victim that
    /// still holds live blocks has summaries that missed them (damaged);
    /// picking it again would not help.
    fn mark_stuck(&mut self, victims: &[u32]) {
        for &v in victims {
            if let Some(e) = self.zones.z.get_mut(v as usize) {
                if e.live != 0 && e.state == ZState::Used {
                    e.stuck = true;
                }
            }
        }
    }
}
