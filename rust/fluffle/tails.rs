//! The log written after the checkpoint, at mount: where roll-forward
//! looks for nodes, which of those blocks it keeps and for whom, and the
//! summaries mount writes for them.
//!
//! After the checkpoint, blocks can only have been appended at the
//! checkpoint's log heads (from their recorded write pointers) and in
//! zones that held nothing live then (from their start): the **tails**.
//! Roll-forward may claim tail blocks for the nodes it replays (each at
//! most once) and, for a file the checkpoint has, the blocks its map
//! already had; never any other block written before the checkpoint.
//!
//! None of the tail blocks is in a summary yet (the checkpoint carries the
//! open chunk of each head up to its write pointer, `checkpoint.rs`):
//! before mount closes a zone with live blocks, it writes the summary of
//! the checkpoint's chunk plus the tail, with the owners roll-forward kept
//! (every other tail block is dead).

use super::checkpoint::Checkpoint;
use super::device::ZonedDevice;
use super::errno::*;
use super::fs::Fs;
use super::inode::Inode;
use super::layout::CKPT_ZONES;
use super::mem::FVec;
use super::summary::Chunk;
use super::zones::{owner_data, owner_ino, owner_node, Zones};

/// One zone's tail.
pub(super) struct Tail {
    /// The zone.
    pub zone: u32,
    /// Zone offset where it starts.
    pub from: u64,
    /// Owner word of each tail block kept by roll-forward (0: dead).
    pub owners: FVec<u64>,
    /// Just after the last summary block roll-forward saw in it (where a
    /// zone closed after the checkpoint ends).
    pub summary_end: Option<u64>,
    /// Summary blocks roll-forward saw in it.
    pub summaries: u32,
}

/// Every tail, by zone.
pub(super) struct Tails {
    /// Tail index + 1 of each zone (0: no tail).
    by_zone: FVec<u32>,
    /// The tails.
    pub list: FVec<Tail>,
}

impl Tails {
    /// The tails after checkpoint `cp`, given the zones as the device
    /// reports them now.
    pub(super) fn new(cp: &Checkpoint, zones: &Zones) -> Result<Self> {
        let mut t = Tails { by_zone: FVec::try_from_elem(0u32, zones.z.len())?, list: FVec::new() };
        for &(z, wp) in cp.heads.iter() {
            if z != u32::MAX {
                t.add(z, wp, zones)?;
            }
        }
        for z in CKPT_ZONES..zones.z.len() as u32 {
            let was_empty = cp.sit.get(z as usize).copied() == Some(0);
            if was_empty && !cp.heads.iter().any(|h| h.0 == z) {
                t.add(z, 0, zones)?;
            }
        }
        Ok(t)
    }

    fn add(&mut self, zone: u32, from: u64, zones: &Zones) -> Result<()> {
        let wp = zones.z.get(zone as usize).ok_or(EUCLEAN)?.wp;
        let len = wp.checked_sub(from).ok_or(EUCLEAN)?;
        if self.by_zone[zone as usize] != 0 {
            return Err(EUCLEAN);
        }
        let owners = FVec::try_from_elem(0u64, len as usize)?;
        self.list.try_push(Tail { zone, from, owners, summary_end: None, summaries: 0 })?;
        self.by_zone[zone as usize] = self.list.len() as u32;
        Ok(())
    }

    /// The tail of `zone`, if any.
    pub(super) fn of_zone(&self, zone: u32) -> Option<&Tail> {
        let k = *self.by_zone.get(zone as usize)?;
        self.list.get(k.checked_sub(1)? as usize)
    }

    /// The owner slot of tail block (`zone`, offset `rel`), if it is one.
    fn slot(&mut self, zone: u32, rel: u64) -> Option<&mut u64> {
        let k = *self.by_zone.get(zone as usize)?;
        let t = self.list.get_mut(k.checked_sub(1)? as usize)?;
        let i = rel.checked_sub(t.from)?;
        t.owners.get_mut(i as usize)
    }
}

impl<D: ZonedDevice> Fs<D> {
    /// True if roll-forward may give inode `n` (of number `ino`) its
    /// blocks: each is written, and either a tail block nobody else kept
    /// or (for a file the checkpoint has, `old`) one `old` maps at the
    /// same place.
    pub(super) fn tail_blocks_ok(&self, tails: &Tails, ino: u64, n: &Inode, old: Option<&Inode>) -> bool {
        for e in n.map.v.iter() {
            for k in 0..e.len as u64 {
                let lba = e.lba + k;
                let Some((zone, rel)) = self.zones.log_block(lba) else { return false };
                if rel >= self.zones.z[zone as usize].wp {
                    return false;
                }
                let in_tail = tails.of_zone(zone).and_then(|t| t.owners.get(rel.checked_sub(t.from)? as usize).copied());
                let ok = match in_tail {
                    Some(o) => o == 0 || owner_ino(o) == ino,
                    None => old.map_or(false, |o| o.map.lookup(e.fblk + k).map(|m| m.0) == Some(lba)),
                };
                if !ok {
                    return false;
                }
            }
        }
        true
    }

    /// Records in `tails` who owns the tail blocks of inode `n` (`keep`) or
    /// that they are dead again (`!keep`: its earlier version's).
    pub(super) fn note_tail_owner(&self, tails: &mut Tails, n: &Inode, keep: bool) {
        let mut note = |lba: u64, owner: u64| {
            if let Some((zone, rel)) = self.zones.log_block(lba) {
                if let Some(s) = tails.slot(zone, rel) {
                    *s = if keep { owner } else { 0 };
                }
            }
        };
        if !n.packed {
            for k in 0..n.node_blocks as u64 {
                note(n.node_lba + k, owner_node(n.ino, k));
            }
        }
        for e in n.map.v.iter() {
            for k in 0..e.len as u64 {
                note(e.lba + k, owner_data(n.ino, e.fblk + k));
            }
        }
    }

    /// Writes the summary of every zone with a tail that holds live blocks
    /// and is about to be closed: the checkpoint's open chunk of that zone
    /// (if it was a head) plus the tail's owners. A zone with no room left
    /// for it stays without (GC then leaves its blocks alone). A read-only
    /// mount keeps them in memory instead ([`Fs::unsealed_chunk`]).
    pub(super) fn write_tail_summaries(&mut self, cp: &Checkpoint, tails: &Tails) -> Result<()> {
        let mut chunk = Chunk::empty();
        for t in tails.list.iter() {
            // Summaries before the tail (a head at the checkpoint's) and in it.
            let before = if t.from > 0 { self.zones.z[t.zone as usize].sums } else { 0 };
            self.zones.z[t.zone as usize].sums = before + t.summaries;
            let e = self.zones.z[t.zone as usize];
            if e.wp >= self.geo.zone_cap {
                // Closed after the checkpoint (its closing summary ends
                // the written part) or filled.
                self.zones.z[t.zone as usize].end = t.summary_end.unwrap_or(t.from);
                continue;
            }
            self.zones.z[t.zone as usize].end = e.wp;
            if e.live == 0 {
                continue;
            }
            chunk.restart(t.from);
            if let Some(h) = cp.heads.iter().position(|h| h.0 == t.zone) {
                let c = &cp.chunks[h];
                chunk.restart(c.start);
                for r in c.runs.iter() {
                    chunk.push(r.owner, r.count as u64)?;
                }
            }
            for &o in t.owners.iter() {
                chunk.push(o, 1)?;
            }
            if chunk.blocks == 0 || e.wp + chunk.summary_blocks() > self.geo.zone_cap {
                continue;
            }
            if self.ro {
                // Nothing is written: keep it for fsck.
                self.unsealed.try_reserve(1)?;
                let keep = core::mem::replace(&mut chunk, Chunk::empty());
                self.unsealed.try_push((t.zone, keep))?;
                continue;
            }
            if let Err(err) = self.zones.write_chunk(&mut self.dev, t.zone, &chunk) {
                self.broken = true;
                return Err(err);
            }
        }
        Ok(())
    }
}

impl<D: ZonedDevice> Fs<D> {
    /// The summary a read-only mount would have written for `zone`.
    pub(super) fn unsealed_chunk(&self, zone: u32) -> Option<&Chunk> {
        self.unsealed.iter().find(|u| u.0 == zone).map(|u| &u.1)
    }
}
