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
use super::zones::{owner_data, ZState, H_GC, H_NODE, OWNER_NODE, OWNER_PACK};

/// Largest run GC reads and writes at once (blocks).
const GC_RUN: u64 = 64;

impl<D: ZonedDevice> Fs<D> {
    /// Best victim: greedy (fewest valid) or cost-benefit.
    fn pick_victim(&self, greedy: bool) -> Option<u32> {
        let cap = self.geo.zone_cap;
        let mut best: Option<(u64, u32)> = None;
        for (zi, e) in self.zones.z.iter().enumerate() {
            if e.state != ZState::Used || e.pins != 0 || e.valid == 0 || e.valid as u64 >= cap {
                continue;
            }
            let score = if greedy {
                cap - e.valid as u64
            } else {
                let age = self.zones.wseq.saturating_sub(e.age) + 1;
                (cap - e.valid as u64).saturating_mul(age).saturating_mul(1024) / (cap + e.valid as u64)
            };
            if best.map_or(true, |b| score > b.0) {
                best = Some((score, zi as u32));
            }
        }
        best.map(|b| b.1)
    }

    /// Moves every live block out of `zone`: data to the GC head, nodes by
    /// marking their inodes dirty (the next checkpoint rewrites them).
    pub(super) fn evacuate(&mut self, zone: u32) -> Result<()> {
        let start = self.geo.zone_start(zone);
        let wp = self.zones.z[zone as usize].wp;
        let mut buf: FVec<u8> = FVec::new();
        let mut p = 0u64;
        while p < wp {
            let o = self.zones.owner(start + p);
            if o == 0 {
                p += 1;
                continue;
            }
            if o & OWNER_PACK != 0 {
                self.dirty_pack_members(start + p)?;
                p += 1;
                continue;
            }
            if let Some((level, k)) = nat_block_of(o) {
                // The next checkpoint writes the NAT block elsewhere.
                self.nat.moved(level, k)?;
                p += 1;
                continue;
            }
            if o & OWNER_NODE != 0 {
                let i = self.find(o >> 32).map_err(|_| EUCLEAN)?;
                self.inodes[i].mark_dirty(&mut self.dirty);
                p += 1;
                continue;
            }
            // A run of live data blocks.
            let mut n = 1u64;
            while p + n < wp && n < GC_RUN {
                let o2 = self.zones.owner(start + p + n);
                if o2 == 0 || o2 & (OWNER_NODE | OWNER_PACK) != 0 || nat_block_of(o2).is_some() {
                    break;
                }
                n += 1;
            }
            let keep = 0;
            let (to, got) = self.zones.reserve_run(&mut self.dev, H_GC, n, false, keep)?;
            buf.clear();
            buf.try_resize(got as usize * BLOCK_SIZE, 0)?;
            self.dev.read(start + p, &mut buf)?;
            if let Err(e) = self.dev.write(to, &buf) {
                self.broken = true;
                return Err(e);
            }
            self.zones.commit_run(H_GC, to, got);
            self.stats.gc_blocks += got;
            for k in 0..got {
                let from = start + p + k;
                let o = self.zones.owner(from);
                let ino = o >> 32;
                let fblk = (o & 0x7fff_ffff).wrapping_sub(1);
                let i = self.find(ino).map_err(|_| EUCLEAN)?;
                let zones = &mut self.zones;
                let n = &mut self.inodes[i];
                n.map.set(fblk, 1, Some(to + k), &mut |old, len| {
                    for j in 0..len as u64 {
                        zones.release(old + j);
                    }
                })?;
                zones.claim(to + k, owner_data(ino, fblk))?;
                n.mark_dirty(&mut self.dirty);
            }
            p += got;
        }
        Ok(())
    }

    /// Marks dirty every inode whose node is a record in pack block `lba`
    /// (the next checkpoint rewrites them elsewhere).
    fn dirty_pack_members(&mut self, lba: u64) -> Result<()> {
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        self.dev.read(lba, &mut blk)?;
        let h = open_pack(&blk, self.seed)?;
        let mut inos: FVec<u64> = FVec::new();
        pack_records(&blk, &h, &mut |ino, _, _| inos.try_push(ino))?;
        for ino in inos.iter() {
            if let Ok(i) = self.find(*ino) {
                let n = &mut self.inodes[i];
                if n.packed && n.node_lba == lba {
                    n.mark_dirty(&mut self.dirty);
                }
            }
        }
        Ok(())
    }

    /// Live data and node blocks in `zone`.
    fn victim_blocks(&self, zone: u32) -> (u64, u64) {
        let start = self.geo.zone_start(zone);
        let (mut data, mut nodes) = (0, 0);
        for p in 0..self.zones.z[zone as usize].wp {
            let o = self.zones.owner(start + p);
            if o == 0 {
                continue;
            }
            if o & (OWNER_NODE | OWNER_PACK) != 0 || nat_block_of(o).is_some() {
                nodes += 1;
            } else {
                data += 1;
            }
        }
        (data, nodes)
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
            while self.zones.free_zones() + self.zones.reclaimable() < round_target {
                let v = match self.pick_victim(true) {
                    Some(v) => v,
                    None => break,
                };
                // The round's checkpoint rewrites every dirty node plus the
                // nodes found in victims: keep room for them beside the
                // moved data (one zone of slack for contiguous nodes).
                let (data, nodes) = self.victim_blocks(v);
                let cap = self.geo.zone_cap;
                let room = self.zones.free_zones() as u64 * cap + self.zones.head_room(H_GC) + self.zones.head_room(H_NODE);
                let need = data + nodes + self.dirty_node_blocks() + cap;
                if room < need {
                    break;
                }
                self.evacuate(v)?;
                moved = true;
                if self.zones.z[v as usize].valid != 0 {
                    // Node blocks remain until the checkpoint rewrites them.
                    break;
                }
            }
            let before = self.zones.free_zones();
            self.checkpoint()?;
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
        if self.zones.reclaimable() > 0 {
            self.checkpoint()?;
            return Ok(true);
        }
        let low = self.zones.free_zones() <= 2 * self.zones.reserve + 3;
        let v = match self.pick_victim(!low) {
            Some(v) => v,
            None => return Ok(false),
        };
        let nearly_empty = (self.zones.z[v as usize].valid as u64) * 8 <= self.geo.zone_cap;
        if !low && !nearly_empty {
            return Ok(false);
        }
        self.evacuate(v)?;
        self.checkpoint()?;
        Ok(true)
    }
}
