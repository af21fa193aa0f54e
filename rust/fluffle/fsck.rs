//! fsck: checks every invariant of a mounted (or read-only mounted)
//! filesystem and lists the problems found.
//!
//! Mount itself verifies the checkpoint, the NAT's interior and the root;
//! every other inode is read (and its node checked) when first used, so
//! [`Fs::check`] first reads every inode the NAT names (one that does not
//! load is a `BadNode`), then verifies, on the live state: the number of
//! inodes in use, every inode reachable
//! from the root exactly as its link count says, directory link counts and
//! parent pointers, no duplicate names, every block owned once (the SIT
//! equal to a recount from the block maps, and the zones' summaries naming
//! each block's owner), every mapped block written, and every clean node
//! on disk decoding to the in-memory inode.

use super::device::ZonedDevice;
use super::errno::*;
use super::fs::Fs;
use super::mem::FVec;
use super::types::*;
use super::nat::owner_nat;
use super::layout::CKPT_ZONES;
use super::summary::Chunk;
use super::zones::{owner_data, owner_ino, owner_node, BLOCK_UNITS, OWNER_PACK};

/// fsck's own count of the blocks the maps use.
struct Recount {
    /// Owner word of every block (zone * zone_cap + offset).
    owners: FVec<u64>,
    /// Live units per zone.
    units: FVec<u32>,
}

/// Puts the owners of chunk `ch` into `said` (indexed by zone offset).
fn fill(said: &mut [u64], ch: &Chunk) {
    let mut at = ch.start as usize;
    for r in ch.runs.iter() {
        for k in 0..r.count as u64 {
            if let Some(s) = said.get_mut(at) {
                *s = r.owner_at(k);
            }
            at += 1;
        }
    }
}

/// Kinds of problems fsck reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProblemKind {
    /// Inode not reachable from the root.
    Unreachable,
    /// Link count differs from the number of entries naming it.
    LinkCount,
    /// Directory's parent pointer differs from the directory naming it.
    BadParent,
    /// Two entries with the same name in a directory.
    DuplicateName,
    /// A block is used twice (detail: LBA).
    DoubleUse,
    /// The zone's summary names another owner than the block maps, or
    /// none (detail: LBA).
    OwnerMismatch,
    /// SIT live count differs from the recount (detail: zone).
    SitMismatch,
    /// A mapped block lies beyond its zone's write pointer (detail: LBA).
    Unwritten,
    /// The on-disk node does not decode or differs (detail: node LBA).
    BadNode,
    /// Directory entry type differs from the inode's type.
    BadEntryType,
    /// Entry names a missing inode (detail: the missing number).
    DanglingEntry,
    /// A directory's dentry blocks on disk differ from its entries or do
    /// not decode (detail: its node LBA).
    BadDentryBlocks,
    /// The checkpoint's count of inodes in use differs from the NAT's
    /// (detail: the count kept).
    InodeCount,
    /// The filesystem's count of blocks reserved by `fallocate` differs
    /// from the sum of the inodes' reserved runs (detail: the count kept).
    ReservedCount,
    /// A reserved block is mapped or a dirty page, or a non-regular inode
    /// has reserved blocks (detail: the file block).
    ReservedInUse,
    /// Live blocks and reservations together exceed the usable blocks
    /// (detail: the blocks reserved).
    Overcommit,
}

/// One problem.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// Inode concerned (0 if none).
    pub ino: u64,
    /// Extra detail (LBA, zone, count...).
    pub detail: u64,
}

/// The result of a check.
#[derive(Debug, Default)]
pub struct FsckReport {
    /// Problems found (at most [`MAX_PROBLEMS`] kept).
    pub list: FVec<Problem>,
    /// Total number of problems.
    pub count: u64,
    /// Inodes checked.
    pub inodes: u64,
    /// Live blocks counted.
    pub blocks: u64,
}

/// Problems kept in the list (the count goes on).
pub const MAX_PROBLEMS: usize = 100;

impl FsckReport {
    /// Number of problems found.
    pub fn problems(&self) -> u64 {
        self.count
    }

    fn add(&mut self, kind: ProblemKind, ino: u64, detail: u64) {
        self.count += 1;
        if self.list.len() < MAX_PROBLEMS {
            let _ = self.list.try_push(Problem { kind, ino, detail });
        }
    }
}

/// Mounts `dev` read-only and checks it. A mount failure (corruption
/// detected while loading) is returned as the error.
pub fn fsck<D: ZonedDevice>(dev: D) -> Result<FsckReport> {
    let mut fs = Fs::mount(dev, &MountOptions { read_only: true, now: Timespec::default() })?;
    fs.check()
}

impl<D: ZonedDevice> Fs<D> {
    /// Checks every invariant (see the module docs).
    pub fn check(&mut self) -> Result<FsckReport> {
        let mut r = FsckReport::default();
        for ino in self.nat_inos()?.iter().copied() {
            match self.find(ino) {
                Ok(_) => {}
                Err(ENOMEM) => return Err(ENOMEM),
                Err(_) => r.add(ProblemKind::BadNode, ino, 0),
            }
        }
        r.inodes = self.inodes.len() as u64;
        if r.inodes != self.inodes_used {
            r.add(ProblemKind::InodeCount, 0, self.inodes_used);
        }
        // By slot: refs[i]: entries naming inode i; subdirs[i]: its
        // subdirectory count.
        let n = self.inodes.slot_bound();
        let mut refs = FVec::try_from_elem(0u32, n)?;
        let mut subdirs = FVec::try_from_elem(0u32, n)?;
        let mut reached = FVec::try_from_elem(false, n)?;
        let mut queue: FVec<usize> = FVec::new();
        let root = self.find(Self::ROOT_INO)?;
        reached[root] = true;
        queue.try_push(root)?;
        let mut qi = 0;
        while qi < queue.len() {
            let d = queue[qi];
            qi += 1;
            let dino = self.inodes[d].ino;
            // A small directory's names are checked here, a big one's with
            // its blocks below.
            if let Some(slot) = self.inodes[d].dir_state().filter(|x| !x.big).and_then(|x| super::dir::duplicate(&x.inline)) {
                r.add(ProblemKind::DuplicateName, dino, super::dir::cookie_of(0, slot));
            }
            let mut ents: FVec<super::dir_blocks::Dent> = FVec::new();
            let mut full = Ok(());
            let walked = self.dir_walk(d, 2, &mut |e, _| match ents.try_push(e) {
                Ok(()) => true,
                Err(x) => {
                    full = Err(x);
                    false
                }
            });
            full?;
            if walked.is_err() {
                r.add(ProblemKind::BadDentryBlocks, dino, 0);
            }
            for e in ents.iter() {
                let dir = &self.inodes[d];
                let t = match self.inodes.find(e.ino) {
                    Some(t) => t,
                    None => {
                        r.add(ProblemKind::DanglingEntry, dir.ino, e.ino);
                        continue;
                    }
                };
                refs[t] += 1;
                let child = &self.inodes[t];
                if child.ftype != e.ftype {
                    r.add(ProblemKind::BadEntryType, e.ino, 0);
                }
                if child.ftype == FileType::Directory {
                    subdirs[d] += 1;
                    if child.parent != dir.ino {
                        r.add(ProblemKind::BadParent, e.ino, child.parent);
                    }
                }
                if !reached[t] {
                    reached[t] = true;
                    if child.ftype == FileType::Directory {
                        queue.try_push(t)?;
                    }
                }
            }
        }
        for i in self.inodes.slots()?.iter().copied() {
            let x = &self.inodes[i];
            if !reached[i] && !(x.nlink == 0 && x.holds > 0) {
                r.add(ProblemKind::Unreachable, x.ino, 0);
            }
            let want = if x.ftype == FileType::Directory {
                let self_ref = if x.ino == Self::ROOT_INO { 1 } else { refs[i] };
                if self_ref != 1 {
                    r.add(ProblemKind::LinkCount, x.ino, refs[i] as u64);
                }
                2 + subdirs[i]
            } else {
                refs[i]
            };
            if x.nlink != want {
                r.add(ProblemKind::LinkCount, x.ino, x.nlink as u64);
            }
        }
        self.check_blocks(&mut r)?;
        self.check_reservations(&mut r);
        self.check_nodes(&mut r)?;
        Ok(r)
    }

    /// Reservations (`fallocate.rs`): each inode's runs are holes of a
    /// regular file, their sum is the filesystem's count, and with the
    /// files' data blocks they fit in the usable space (admission keeps
    /// that true; metadata written since may take the live count past the
    /// usable blocks of a full filesystem, so nodes are not counted).
    fn check_reservations(&mut self, r: &mut FsckReport) {
        let mut total = 0u64;
        let mut data = 0u64;
        for x in self.inodes.iter() {
            total = total.saturating_add(x.prealloc_blocks());
            if x.ftype == FileType::Regular {
                data = data.saturating_add(x.map.mapped_blocks());
            }
            for run in x.prealloc().iter() {
                let page = x.pages.iter().find(|p| p.fblk >= run.fblk && p.fblk < run.end()).map(|p| p.fblk);
                let mapped = x.map.next_mapped(run.fblk).filter(|&b| b < run.end());
                if x.ftype != FileType::Regular || page.is_some() || mapped.is_some() {
                    r.add(ProblemKind::ReservedInUse, x.ino, mapped.or(page).unwrap_or(run.fblk));
                }
            }
        }
        if total != self.prealloc {
            r.add(ProblemKind::ReservedCount, 0, self.prealloc);
        }
        if data.saturating_add(self.prealloc) > self.zones.usable_blocks() {
            r.add(ProblemKind::Overcommit, 0, self.prealloc);
        }
    }

    /// Records `units` of block `lba` as used by `owner` in the recount.
    fn mark(&self, r: &mut FsckReport, c: &mut Recount, lba: u64, owner: u64, units: u32, ino: u64) {
        let Some((zone, rel)) = self.zones.log_block(lba) else {
            r.add(ProblemKind::Unwritten, ino, lba);
            return;
        };
        if rel >= self.zones.z[zone as usize].wp {
            r.add(ProblemKind::Unwritten, ino, lba);
        }
        c.units[zone as usize] += units;
        let slot = &mut c.owners[(zone as u64 * self.geo.zone_cap + rel) as usize];
        let shared_pack = owner == OWNER_PACK && *slot == OWNER_PACK;
        if *slot != 0 && !shared_pack {
            r.add(ProblemKind::DoubleUse, ino, lba);
        }
        if !shared_pack {
            r.blocks += 1;
        }
        *slot = owner;
    }

    fn check_blocks(&mut self, r: &mut FsckReport) -> Result<()> {
        let cap = self.geo.zone_cap;
        let mut c = Recount {
            owners: FVec::try_from_elem(0u64, (self.geo.zone_count as u64 * cap) as usize)?,
            units: FVec::try_from_elem(0u32, self.zones.z.len())?,
        };
        for x in self.inodes.iter() {
            match x.pack_units() {
                Some(units) => self.mark(r, &mut c, x.node_lba, OWNER_PACK, units, x.ino),
                None => {
                    for k in 0..x.node_blocks as u64 {
                        self.mark(r, &mut c, x.node_lba + k, owner_node(x.ino, k), BLOCK_UNITS, x.ino);
                    }
                }
            }
            for e in x.map.v.iter() {
                for k in 0..e.len as u64 {
                    self.mark(r, &mut c, e.lba + k, owner_data(x.ino, e.fblk + k), BLOCK_UNITS, x.ino);
                }
            }
        }
        let mut nat: FVec<(u32, u64, u64)> = FVec::new();
        let mut full = false;
        self.nat.for_each_block(&mut |level, k, lba| full |= nat.try_push((level, k, lba)).is_err());
        if full {
            return Err(ENOMEM);
        }
        for &(level, k, lba) in nat.iter() {
            self.mark(r, &mut c, lba, owner_nat(level, k), BLOCK_UNITS, 0);
        }
        for (z, (a, e)) in c.units.iter().zip(self.zones.z.iter()).enumerate() {
            if *a != e.live {
                r.add(ProblemKind::SitMismatch, 0, z as u64);
            }
        }
        for zone in CKPT_ZONES..self.geo.zone_count {
            let owned = &c.owners[(zone as u64 * cap) as usize..((zone as u64 + 1) * cap) as usize];
            if owned.iter().all(|&o| o == 0) {
                continue;
            }
            let said = self.summarized_owners(zone)?;
            let start = self.geo.zone_start(zone);
            for (rel, (&want, &got)) in owned.iter().zip(said.iter()).enumerate() {
                if want != 0 && want != got {
                    r.add(ProblemKind::OwnerMismatch, owner_ino(want), start + rel as u64);
                }
            }
        }
        Ok(())
    }

    /// The owner word of each block of `zone` as its summaries (and, for
    /// an open head, its chunk in memory) say; 0 where none says.
    fn summarized_owners(&mut self, zone: u32) -> Result<FVec<u64>> {
        let mut said = FVec::try_from_elem(0u64, self.geo.zone_cap as usize)?;
        let mut end = self.zones.z[zone as usize].end;
        let open = self.zones.heads.iter().position(|h| *h == Some(zone));
        let pending = open.map(|h| &self.zones.chunks[h]).or_else(|| self.unsealed_chunk(zone));
        if let Some(ch) = pending {
            fill(&mut said, ch);
            end = ch.start;
        }
        for ch in self.zone_chunks(zone, end)?.iter() {
            fill(&mut said, ch);
        }
        Ok(said)
    }
    fn check_nodes(&mut self, r: &mut FsckReport) -> Result<()> {
        let mut a: FVec<u8> = FVec::new();
        let mut b: FVec<u8> = FVec::new();
        for i in self.inodes.slots()?.iter().copied() {
            let (ino, lba, blocks, dirty) = {
                let x = &self.inodes[i];
                (x.ino, x.node_lba, x.node_blocks, x.is_dirty())
            };
            let _ = blocks;
            if dirty || blocks == 0 {
                continue;
            }
            match self.read_inode_node(i) {
                Ok(disk) => {
                    a.clear();
                    b.clear();
                    disk.encode(&mut a)?;
                    self.inodes[i].encode(&mut b)?;
                    // The link count may legitimately differ after a
                    // roll-forward (it is rewritten at the next checkpoint,
                    // and such inodes are dirty), so compare everything.
                    if a.as_slice() != b.as_slice() {
                        r.add(ProblemKind::BadNode, ino, lba);
                    }
                }
                Err(_) => r.add(ProblemKind::BadNode, ino, lba),
            }
            if self.inodes[i].ftype == FileType::Directory && self.check_dentry_blocks(i)? != 0 {
                r.add(ProblemKind::BadDentryBlocks, ino, lba);
            }
        }
        Ok(())
    }
}
