//! Checkpoints: the superblock log in zones 0 and 1.
//!
//! Payload after the 32-byte header (see `layout.rs`):
//! `uuid[16], zone_count u32, label_len u32 (at most 255), label (no NUL;
//! format 7, was a pad u32), zone_size u64, zone_cap u64,
//! next_ino u64, node_version u64, time (i64, u32), 3 x head (zone u32,
//! wp u64), nzones u32, SIT (per zone: live space u32 in `BLOCK_UNITS`
//! per block, end of the written part u32, summary blocks u32), NAT height u32, NAT root lba u64, n_journal u32, NAT
//! journal entries (ino u64, lba u64, blocks u32; lba 0: no inode) sorted
//! by inode number, inodes in use u64, n_orphans u32, orphans (ino u64,
//! sorted: inodes unlinked while open, freed by the next mount), 3 x open chunk (start u64, n_runs u32, runs: owner
//! u64, count u32) covering each head's blocks since its last summary
//! (`summary.rs`), reserved blocks u64` (version 7: the blocks `fallocate`
//! reserved over all inodes, the sum of their nodes' reserved runs). The journal holds at most
//! `NAT_JOURNAL_MAX` entries, so a checkpoint's size no longer depends on
//! the number of files (see `nat.rs`).
//!
//! Checkpoints are appended to the current checkpoint zone; when one does
//! not fit, the other zone is reset and receives it (the newest valid
//! checkpoint is always intact in one of the two zones). Each ends with a
//! trailer (magic, block count, sequence) in its last block, so mount
//! reads a zone's newest checkpoint at the zone's write pointer in two
//! reads; only when that fails (a torn or damaged last checkpoint) does it
//! scan the zone from the start (which read every checkpoint ever written
//! there: thousands after a busy day).

use super::crc32c::crc32c_append;
use super::device::{Geometry, ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::layout::*;
use super::mem::FVec;
use super::types::{Timespec, INO_END, LABEL_MAX};
use super::nat::{NAT_JOURNAL_MAX, NAT_MAX_HEIGHT};
use super::summary::{Chunk, RUNS_PER_BLOCK};
use super::zones::{BLOCK_UNITS, NHEADS};

/// Bytes per NAT journal entry.
pub const NAT_ENTRY: usize = 20;

/// One NAT entry: where inode `ino`'s node lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NatEntry {
    /// Inode number.
    pub ino: u64,
    /// First node block.
    pub lba: u64,
    /// Node blocks (0: a record in the pack block at `lba`).
    pub blocks: u32,
}

/// A decoded, validated checkpoint.
pub struct Checkpoint {
    /// Sequence number.
    pub seq: u64,
    /// Filesystem uuid.
    pub uuid: [u8; 16],
    /// Volume label (bytes before the first NUL; `label.rs`).
    pub label: [u8; LABEL_MAX + 1],
    /// Next inode number to hand out.
    pub next_ino: u64,
    /// Next node version.
    pub node_version: u64,
    /// Time of the checkpoint.
    pub time: Timespec,
    /// Log heads: (zone, relative write pointer); zone `u32::MAX` = none.
    pub heads: [(u32, u64); NHEADS],
    /// Live space per zone (`BLOCK_UNITS` per block).
    pub sit: FVec<u32>,
    /// End of the written part of each zone (where its last summary ends).
    pub ends: FVec<u32>,
    /// Summary blocks in each zone.
    pub sums: FVec<u32>,
    /// Interior levels of the NAT tree.
    pub nat_height: u32,
    /// Address of the NAT tree's root block (0: empty tree).
    pub nat_root: u64,
    /// NAT entries newer than their leaf, sorted by inode (lba 0: none).
    pub nat_journal: FVec<NatEntry>,
    /// Inodes in use (`statfs`, the inode limit).
    pub inodes: u64,
    /// Inodes unlinked while open (link count 0): mount frees them.
    pub orphans: FVec<u64>,
    /// Each head's open chunk: the owners of its blocks since its last
    /// summary (up to the head's write pointer).
    pub chunks: [Chunk; NHEADS],
    /// Blocks reserved by `fallocate` over all inodes (`fallocate.rs`).
    pub prealloc: u64,
    /// Zone holding it.
    pub zone: u32,
    /// Relative block just after it in its zone.
    pub end: u64,
}

pub(super) fn crc_of(buf: &[u8]) -> u32 {
    let mut c = crc32c_append(0, buf.get(..8).unwrap_or(&[]));
    c = crc32c_append(c, &[0u8; 4]);
    crc32c_append(c, buf.get(12..).unwrap_or(&[]))
}

/// Decodes checkpoint bytes (`nblocks` whole blocks) for a device of
/// geometry `geo`.
pub fn decode(buf: &[u8], geo: &Geometry) -> Result<Checkpoint> {
    if get_u32(buf, 0) != CKPT_MAGIC || crc_of(buf) != get_u32(buf, 8) {
        return Err(EUCLEAN);
    }
    if get_u16(buf, 4) != FORMAT_VERSION {
        // A whole checkpoint of another format: say so, it is no damage.
        return Err(EOPNOTSUPP);
    }
    let seq = get_u64(buf, 16);
    let plen = usize::try_from(get_u64(buf, 24)).map_err(|_| EUCLEAN)?;
    let payload = buf.get(CKPT_HDR..CKPT_HDR.checked_add(plen).ok_or(EUCLEAN)?).ok_or(EUCLEAN)?;
    let mut d = Dec::new(payload);
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(d.bytes(16)?);
    let zc = d.u32()?;
    let label_len = d.u32()? as usize;
    if label_len > LABEL_MAX {
        return Err(EUCLEAN);
    }
    let mut label = [0u8; LABEL_MAX + 1];
    label[..label_len].copy_from_slice(d.bytes(label_len)?);
    let label = super::label::checked(&label).filter(|l| super::label::len(l) == label_len).ok_or(EUCLEAN)?;
    let zs = d.u64()?;
    let cap = d.u64()?;
    if zc != geo.zone_count || zs != geo.zone_size || cap != geo.zone_cap {
        return Err(EINVAL);
    }
    let next_ino = d.u64()?;
    let node_version = d.u64()?;
    let sec = d.i64()?;
    let nsec = d.u32()?;
    if nsec >= 1_000_000_000 || next_ino < 2 || next_ino > INO_END || node_version >= 1 << 62 || seq >= 1 << 62 {
        return Err(EUCLEAN);
    }
    let mut heads = [(u32::MAX, 0u64); NHEADS];
    for h in heads.iter_mut() {
        let z = d.u32()?;
        let wp = d.u64()?;
        if z != u32::MAX && (z < CKPT_ZONES || z >= zc || wp > cap) {
            return Err(EUCLEAN);
        }
        *h = (z, wp);
    }
    let nz = d.u32()?;
    if nz != zc || (nz as usize) > d.remaining() / 12 {
        return Err(EUCLEAN);
    }
    let mut sit = FVec::try_with_capacity(nz as usize)?;
    let mut ends = FVec::try_with_capacity(nz as usize)?;
    let mut sums = FVec::try_with_capacity(nz as usize)?;
    for _ in 0..nz {
        let v = d.u32()?;
        let end = d.u32()?;
        let s = d.u32()?;
        if v as u64 > cap * BLOCK_UNITS as u64 || end as u64 > cap || s > end {
            return Err(EUCLEAN);
        }
        sit.try_push(v)?;
        ends.try_push(end)?;
        sums.try_push(s)?;
    }
    let nat_height = d.u32()?;
    let nat_root = d.u64()?;
    if nat_height > NAT_MAX_HEIGHT || (nat_root != 0 && geo.zone_of(nat_root).map_or(true, |z| z < CKPT_ZONES)) {
        return Err(EUCLEAN);
    }
    let nn = d.u32()? as usize;
    if nn > NAT_JOURNAL_MAX || nn > d.remaining() / NAT_ENTRY {
        return Err(EUCLEAN);
    }
    // Entries are checked against the zones at mount (`Fs::load_nat`).
    let mut nat_journal = FVec::try_with_capacity(nn)?;
    let mut last = 0u64;
    for _ in 0..nn {
        let ino = d.u64()?;
        let lba = d.u64()?;
        let blocks = d.u32()?;
        if ino <= last {
            return Err(EUCLEAN);
        }
        last = ino;
        nat_journal.try_push(NatEntry { ino, lba, blocks })?;
    }
    let inodes = d.u64()?;
    let no = d.u32()? as usize;
    if inodes == 0 || inodes >= next_ino || no > d.remaining() / 8 {
        return Err(EUCLEAN);
    }
    let mut orphans = FVec::try_with_capacity(no)?;
    let mut last = 0u64;
    for _ in 0..no {
        let ino = d.u64()?;
        if ino <= last || ino >= next_ino {
            return Err(EUCLEAN);
        }
        last = ino;
        orphans.try_push(ino)?;
    }
    let mut chunks = [Chunk::empty(), Chunk::empty(), Chunk::empty()];
    for (c, &(z, wp)) in chunks.iter_mut().zip(heads.iter()) {
        c.start = d.u64()?;
        let nruns = d.u32()? as usize;
        if nruns > RUNS_PER_BLOCK || c.start > wp || (z == u32::MAX && (nruns != 0 || c.start != 0)) {
            return Err(EUCLEAN);
        }
        for _ in 0..nruns {
            let owner = d.u64()?;
            let count = d.u32()?;
            if count == 0 {
                return Err(EUCLEAN);
            }
            c.push(owner, count as u64)?;
        }
        if c.start + c.blocks != wp && z != u32::MAX {
            return Err(EUCLEAN);
        }
    }
    let prealloc = d.u64()?;
    if prealloc > geo.zone_count as u64 * cap {
        return Err(EUCLEAN);
    }
    if d.remaining() != 0 {
        return Err(EUCLEAN);
    }
    Ok(Checkpoint {
        seq,
        uuid,
        label,
        next_ino,
        node_version,
        time: Timespec { sec, nsec },
        heads,
        sit,
        ends,
        sums,
        nat_height,
        nat_root,
        nat_journal,
        inodes,
        orphans,
        chunks,
        prealloc,
        zone: 0,
        end: 0,
    })
}

/// The checkpoint that ends at the write pointer `wp` of checkpoint zone
/// `zone`, found through its trailer: the zone's newest, in two reads
/// however many checkpoints the zone holds. `None` when the last blocks
/// are no complete checkpoint (a torn write, damage, an old image): the
/// caller scans the zone.
fn last_checkpoint<D: ZonedDevice>(dev: &mut D, geo: &Geometry, zone: u32, wp: u64, blk: &mut [u8]) -> Result<Option<Checkpoint>> {
    if wp == 0 || dev.read(geo.zone_start(zone) + wp - 1, blk).is_err() {
        return Ok(None);
    }
    let t = BLOCK_SIZE - CKPT_TRAILER;
    let n = get_u32(blk, t + 4) as u64;
    let seq = get_u64(blk, t + 8);
    if get_u32(blk, t) != CKPT_TRAILER_MAGIC || n == 0 || n > wp {
        return Ok(None);
    }
    let start = wp - n;
    let mut all = FVec::try_from_elem(0u8, n as usize * BLOCK_SIZE)?;
    if dev.read(geo.zone_start(zone) + start, &mut all).is_err() || get_u32(&all, 12) as u64 != n {
        return Ok(None);
    }
    match decode(&all, geo) {
        Ok(mut c) if c.seq == seq => {
            c.zone = zone;
            c.end = wp;
            Ok(Some(c))
        }
        Err(e) if e == EINVAL || e == EOPNOTSUPP => Err(e), // another geometry or format
        _ => Ok(None),
    }
}

/// Finds the newest valid checkpoint in zones 0 and 1: each zone's last
/// one through its trailer, or by scanning the zone when that fails.
pub fn find_newest<D: ZonedDevice>(dev: &mut D) -> Result<Checkpoint> {
    let geo = dev.geometry();
    let mut best: Option<Checkpoint> = None;
    let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
    for zone in 0..CKPT_ZONES {
        let info = dev.report_zone(zone)?;
        let wp = info.wp.saturating_sub(info.start);
        if wp > geo.zone_cap {
            return Err(EIO);
        }
        if let Some(c) = last_checkpoint(dev, &geo, zone, wp, &mut blk)? {
            if best.as_ref().map_or(true, |b| c.seq > b.seq) {
                best = Some(c);
            }
            continue;
        }
        let mut p = 0u64;
        while p < wp {
            let lba = geo.zone_start(zone) + p;
            dev.read(lba, &mut blk)?;
            let n = get_u32(&blk, 12) as u64;
            if get_u32(&blk, 0) != CKPT_MAGIC || n == 0 || n > wp - p {
                p += 1;
                continue;
            }
            let mut all = FVec::try_from_elem(0u8, n as usize * BLOCK_SIZE)?;
            dev.read(lba, &mut all)?;
            match decode(&all, &geo) {
                Ok(mut c) => {
                    c.zone = zone;
                    c.end = p + n;
                    if best.as_ref().map_or(true, |b| c.seq > b.seq) {
                        best = Some(c);
                    }
                    p += n;
                }
                Err(e) if e == EINVAL || e == EOPNOTSUPP => return Err(e), // another geometry or format
                Err(_) => p += 1,
            }
        }
    }
    best.ok_or(EINVAL)
}

impl<D: ZonedDevice> Fs<D> {
    /// Writes every dirty node, then a checkpoint, then resets the zones it
    /// made reclaimable. Does not write back dirty data pages.
    pub(super) fn checkpoint(&mut self) -> Result<()> {
        self.writable()?;
        if !self.in_gc && self.zones.free_zones() <= self.zones.reserve {
            self.gc_foreground()?;
        }
        self.write_dirty_nodes()?;
        self.write_nat()?;
        let journal = self.nat_journal()?;
        let orphans = self.orphans()?;
        let seq = self.cp_seq.checked_add(1).ok_or(EUCLEAN)?;
        let mut buf: FVec<u8> = FVec::new();
        buf.try_resize(CKPT_HDR, 0)?;
        {
            let mut e = Enc { out: &mut buf };
            e.bytes(&self.uuid)?;
            e.u32(self.geo.zone_count)?;
            let label = &self.label[..super::label::len(&self.label)];
            e.u32(label.len() as u32)?;
            e.bytes(label)?;
            e.u64(self.geo.zone_size)?;
            e.u64(self.geo.zone_cap)?;
            e.u64(self.next_ino)?;
            e.u64(self.node_version)?;
            e.i64(self.now.sec)?;
            e.u32(self.now.nsec)?;
            for h in 0..NHEADS {
                match self.zones.heads[h] {
                    Some(z) => {
                        e.u32(z)?;
                        e.u64(self.zones.z[z as usize].wp)?;
                    }
                    None => {
                        e.u32(u32::MAX)?;
                        e.u64(0)?;
                    }
                }
            }
            e.u32(self.geo.zone_count)?;
            for z in self.zones.z.iter() {
                e.u32(z.live)?;
                e.u32(z.end as u32)?;
                e.u32(z.sums)?;
            }
            e.u32(self.nat.height())?;
            e.u64(self.nat.root())?;
            e.u32(journal.len() as u32)?;
            for j in journal.iter() {
                e.u64(j.ino)?;
                e.u64(j.lba)?;
                // 0 blocks: the node is a record in the pack block at lba.
                e.u32(j.blocks)?;
            }
            e.u64(self.inodes_used)?;
            e.u32(orphans.len() as u32)?;
            for &o in orphans.iter() {
                e.u64(o)?;
            }
            for (h, c) in self.zones.chunks.iter().enumerate() {
                let open = self.zones.heads[h].is_some();
                e.u64(if open { c.start } else { 0 })?;
                let runs = if open { c.runs.as_slice() } else { &[] };
                e.u32(runs.len() as u32)?;
                for r in runs {
                    e.u64(r.owner)?;
                    e.u32(r.count)?;
                }
            }
            e.u64(self.prealloc)?;
        }
        let plen = buf.len() - CKPT_HDR;
        let nblocks = (buf.len() + CKPT_TRAILER).div_ceil(BLOCK_SIZE) as u64;
        buf.try_resize(nblocks as usize * BLOCK_SIZE, 0)?;
        if nblocks > self.geo.zone_cap {
            return Err(ENOSPC);
        }
        let t = buf.len() - CKPT_TRAILER;
        put(&mut buf, t, &CKPT_TRAILER_MAGIC.to_le_bytes());
        put(&mut buf, t + 4, &(nblocks as u32).to_le_bytes());
        put(&mut buf, t + 8, &seq.to_le_bytes());
        put(&mut buf, 0, &CKPT_MAGIC.to_le_bytes());
        put(&mut buf, 4, &FORMAT_VERSION.to_le_bytes());
        put(&mut buf, 12, &(nblocks as u32).to_le_bytes());
        put(&mut buf, 16, &seq.to_le_bytes());
        put(&mut buf, 24, &(plen as u64).to_le_bytes());
        let crc = crc_of(&buf);
        put(&mut buf, 8, &crc.to_le_bytes());
        let r = self.write_ckpt_blocks(&buf, nblocks);
        if r.is_err() {
            self.broken = true;
            return r;
        }
        self.cp_seq = seq;
        self.stats.checkpoints += 1;
        self.stats.ckpt_blocks += nblocks;
        let mut k = 0;
        while let Some(slot) = self.dirty_slot(k) {
            k += 1;
            if let Some(i) = slot {
                self.inodes[i].checkpointed();
            }
        }
        self.dirty.clear();
        self.cp_next_ino = self.next_ino;
        self.marked_fsyncs = 0;
        let before = self.dev_resets();
        let r = self.zones.reset_reclaimable(&mut self.dev);
        self.stats.zone_resets += self.dev_resets().saturating_sub(before);
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    fn dev_resets(&self) -> u64 {
        self.zones.z.iter().filter(|z| z.state == super::zones::ZState::Free).count() as u64
    }

    fn write_ckpt_blocks(&mut self, buf: &[u8], nblocks: u64) -> Result<()> {
        if self.ckpt_wp + nblocks > self.geo.zone_cap {
            let old = self.ckpt_zone;
            let other = (old + 1) % CKPT_ZONES;
            // The old zone keeps its last checkpoint readable until the
            // new one is durable; it is not finished (that would make mount
            // scan a zone full of zeros) and stays within the active limit
            // the core asks for (5).
            let _ = old;
            self.dev.reset(other)?;
            self.ckpt_zone = other;
            self.ckpt_wp = 0;
        }
        // Durable after every node it names, and durable itself: one
        // request on the kernel's device (a preflush and FUA).
        let lba = self.geo.zone_start(self.ckpt_zone) + self.ckpt_wp;
        let r = self.dev.write_durable(lba, buf);
        if r.is_ok() {
            self.ckpt_wp += nblocks;
        }
        r
    }
}
