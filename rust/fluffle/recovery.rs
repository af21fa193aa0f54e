//! Mount: load the newest checkpoint and the NAT's interior blocks (inodes
//! are read when an operation names them: `inode_cache.rs`), roll forward
//! over nodes written after the checkpoint, free the orphans it lists, and
//! (read-write) write the summaries of the zones it closes and a fresh
//! checkpoint. The SIT is the checkpoint's (fsck recounts it from every
//! node).
//!
//! Roll-forward (f2fs style): `fsync` of a file whose namespace did not
//! change since the last checkpoint writes the file's data, then its node
//! (tagged with the checkpoint sequence), then flushes. Mount scans the
//! zones that could hold such nodes (the heads recorded in the checkpoint
//! from their recorded write pointer, and zones that were empty at the
//! checkpoint), and applies, in node-version order, every complete node
//! of a regular file that exists in the checkpoint, keeping the link count
//! from the checkpoint, and every link-marked node of a file created after
//! it (`fsync.rs`: the inode is created and its name put back; other
//! namespace changes always go through a checkpoint).
//! A node is applied only if every block it maps is below its zone's write
//! pointer and either written after the checkpoint for nobody else or
//! already the file's (`tails.rs`), so a node whose data did not reach
//! the device is ignored.

use super::checkpoint::{find_newest, Checkpoint};
use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::{check_geometry, Fs};
use super::inode::{Inode, LinkMark};
use super::layout::{open_node, open_pack, open_summary, pack_record, CKPT_ZONES, NODE_HDR};
use super::mem::{FBox, FVec};
use super::types::*;
use super::tails::Tails;
use super::zones::ZState;

impl<D: ZonedDevice> Fs<D> {
    /// Mounts the filesystem on `dev`: newest valid checkpoint, roll-forward
    /// of inodes fsynced after it, orphan cleanup, then (unless read-only) a
    /// fresh checkpoint. Corruption gives `EUCLEAN`/`EINVAL`/`EIO`.
    pub fn mount(mut dev: D, opts: &MountOptions) -> Result<Self> {
        let geo = dev.geometry();
        check_geometry(&geo)?;
        let cp = find_newest(&mut dev)?;
        let mut fs = Fs::empty(dev, geo, cp.uuid, opts.now)?;
        fs.label = cp.label;
        fs.ro = opts.read_only;
        fs.cp_seq = cp.seq;
        fs.next_ino = cp.next_ino;
        fs.cp_next_ino = cp.next_ino;
        fs.node_version = cp.node_version;
        fs.ckpt_zone = cp.zone;
        for z in 0..geo.zone_count {
            let info = fs.dev.report_zone(z)?;
            let wp = info.wp.checked_sub(info.start).ok_or(EIO)?;
            let wp = if info.cond == super::device::ZoneCond::Full { geo.zone_cap } else { wp };
            if wp > geo.zone_cap {
                return Err(EIO);
            }
            fs.zones.z[z as usize].wp = wp;
            // Zones written after the checkpoint get theirs from roll-forward
            // (`tails.rs`); for the others, the checkpoint's must be there.
            let end = cp.ends.get(z as usize).copied().unwrap_or(0) as u64;
            fs.zones.z[z as usize].end = core::cmp::min(end, wp);
            fs.zones.z[z as usize].sums = cp.sums.get(z as usize).copied().unwrap_or(0);
        }
        fs.ckpt_wp = fs.zones.z[cp.zone as usize].wp;
        for (z, &live) in fs.zones.z.iter_mut().zip(cp.sit.iter()) {
            z.live = live;
        }
        fs.inodes_used = cp.inodes;
        fs.prealloc = cp.prealloc;
        fs.load_nat(&cp)?;
        // The root must be there (and `check_loaded` checks its shape).
        fs.find(Self::ROOT_INO).map_err(|e| if e == ENOENT { EUCLEAN } else { e })?;
        let mut tails = Tails::new(&cp, &fs.zones)?;
        fs.roll_forward(&cp, &mut tails)?;
        // Nothing is dirty at mount before roll-forward marks what it applied.
        fs.recovered = !fs.dirty.is_empty() || fs.dirty.overflowed() || !cp.orphans.is_empty();
        // Orphans: unlinked while open when the checkpoint was taken.
        for &ino in cp.orphans.iter() {
            let i = fs.find(ino).map_err(|e| if e == ENOENT { EUCLEAN } else { e })?;
            if fs.inodes[i].nlink != 0 {
                return Err(EUCLEAN);
            }
            fs.free_inode(i)?;
        }
        for zi in CKPT_ZONES as usize..fs.zones.z.len() {
            let e = &mut fs.zones.z[zi];
            e.state = if e.live > 0 || e.wp > 0 { ZState::Used } else { ZState::Free };
        }
        // Every closed zone ends with its summary (`summary.rs`).
        fs.write_tail_summaries(&cp, &tails)?;
        drop(tails);
        if fs.ro {
            // Remount rw does the rest (`remount.rs`).
            fs.unfinished = true;
        } else {
            fs.finish_mount()?;
        }
        fs.stats = Default::default();
        Ok(fs)
    }

    /// The writing part of a read-write mount, after the tail summaries:
    /// finishes every zone that holds live blocks but is no log head (log
    /// heads start in fresh zones), then a checkpoint of what roll-forward
    /// and orphan cleanup changed.
    pub(super) fn finish_mount(&mut self) -> Result<()> {
        for zi in CKPT_ZONES..self.geo.zone_count {
            let e = self.zones.z[zi as usize];
            if e.live > 0 && e.wp < self.geo.zone_cap {
                self.dev.finish(zi)?;
                self.zones.z[zi as usize].wp = self.geo.zone_cap;
            }
        }
        self.checkpoint()
    }

    /// Reads and decodes the node of `ino` at `lba` (`blocks` long).
    /// Returns the inode and the node's checkpoint sequence and version.
    pub(super) fn read_node(&mut self, ino: u64, lba: u64, blocks: u32) -> Result<(Inode, u64, u64)> {
        let (n, _, cp_seq, version) = self.read_node_marked(ino, lba, blocks)?;
        Ok((n, cp_seq, version))
    }

    /// [`Fs::read_node`], with the node's link mark (`fsync.rs`).
    fn read_node_marked(&mut self, ino: u64, lba: u64, blocks: u32) -> Result<(Inode, Option<LinkMark>, u64, u64)> {
        let mut buf = FVec::try_from_elem(0u8, blocks as usize * BLOCK_SIZE)?;
        self.dev.read(lba, &mut buf)?;
        let mut payload: FVec<u8> = FVec::new();
        let mut version = 0;
        let mut cp_seq = 0;
        for k in 0..blocks as usize {
            let blk = &buf[k * BLOCK_SIZE..(k + 1) * BLOCK_SIZE];
            let h = open_node(blk, self.seed)?;
            if h.ino != ino || h.idx as usize != k || h.count as u32 != blocks {
                return Err(EUCLEAN);
            }
            if k == 0 {
                version = h.version;
                cp_seq = h.cp_seq;
            } else if h.version != version || h.cp_seq != cp_seq {
                return Err(EUCLEAN);
            }
            payload.try_extend_from_slice(&blk[NODE_HDR..NODE_HDR + h.len as usize])?;
        }
        let (n, mark) = Inode::decode_marked(ino, &payload)?;
        Ok((n, mark, cp_seq, version))
    }

    /// Reads back the current on-disk node of inode index `i`.
    pub(super) fn read_inode_node(&mut self, i: usize) -> Result<Inode> {
        let (ino, lba, blocks, packed) = {
            let n = &self.inodes[i];
            (n.ino, n.node_lba, n.node_blocks, n.packed)
        };
        if !packed {
            return Ok(self.read_node(ino, lba, blocks)?.0);
        }
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        self.dev.read(lba, &mut blk)?;
        let h = open_pack(&blk, self.seed)?;
        let found = pack_record(&blk, &h, ino, &mut |rec| Inode::decode(ino, rec))?;
        found.map(|f| f.0).ok_or(EUCLEAN)
    }

    /// Counts the node and data blocks of inode index `i` live.
    fn claim_inode(&mut self, i: usize) -> Result<()> {
        let n = &self.inodes[i];
        match n.pack_units() {
            Some(units) => self.zones.claim_units(n.node_lba, units)?,
            None => {
                for k in 0..n.node_blocks as u64 {
                    self.zones.claim(n.node_lba + k)?;
                }
            }
        }
        for e in n.map.v.iter() {
            for k in 0..e.len as u64 {
                self.zones.claim(e.lba + k)?;
            }
        }
        Ok(())
    }

    /// The end of the written part of `lba`'s zone (`EUCLEAN` if `lba` is
    /// not in a written part of the device).
    pub(super) fn written_end(&self, lba: u64) -> Result<u64> {
        let zone = self.geo.zone_of(lba).ok_or(EUCLEAN)?;
        let end = self.geo.zone_start(zone) + self.zones.z[zone as usize].wp;
        if lba >= end {
            return Err(EUCLEAN);
        }
        Ok(end)
    }

    fn roll_forward(&mut self, cp: &Checkpoint, tails: &mut Tails) -> Result<()> {
        // (version, ino, lba, blocks) of complete candidate nodes.
        let mut found: FVec<(u64, u64, u64, u32)> = FVec::new();
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        for t in tails.list.iter_mut() {
            let (z, from) = (t.zone, t.from);
            let start = self.geo.zone_start(z);
            let to = self.zones.z[z as usize].wp;
            let mut p = from;
            while p < to {
                let lba = start + p;
                p += 1;
                if self.dev.read(lba, &mut blk).is_err() {
                    break;
                }
                let h = match open_node(&blk, self.seed) {
                    Ok(h) => h,
                    Err(_) => {
                        if let Ok(s) = open_summary(&blk, self.seed) {
                            if s.ino == lba {
                                t.summaries += 1;
                                if s.idx + 1 == s.count {
                                    t.summary_end = Some(p);
                                }
                            }
                        }
                        continue;
                    }
                };
                if h.cp_seq != cp.seq || h.idx != 0 || h.version < cp.node_version {
                    continue;
                }
                if (p - 1) + h.count as u64 > to {
                    continue;
                }
                found.try_push((h.version, h.ino, lba, h.count as u32))?;
            }
        }
        found.sort_unstable_by_key(|f| f.0);
        for &(_, ino, lba, blocks) in found.iter() {
            let i = match self.find(ino) {
                Ok(i) => i,
                Err(ENOENT) => {
                    self.replay_marked(cp, tails, ino, lba, blocks)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if self.inodes[i].ftype != FileType::Regular {
                continue;
            }
            let (mut n, _, version) = match self.read_node(ino, lba, blocks) {
                Ok(x) => x,
                Err(_) => continue,
            };
            if n.ftype != FileType::Regular || !self.tail_blocks_ok(tails, ino, &n, Some(&self.inodes[i])) {
                continue;
            }
            if version >= self.node_version {
                self.node_version = version.saturating_add(1);
            }
            let old = &self.inodes[i];
            n.nlink = old.nlink;
            n.node_lba = lba;
            n.node_blocks = blocks;
            // The node's reserved runs replace the checkpoint's: the total
            // follows (`fallocate.rs`).
            self.prealloc = self.prealloc.saturating_sub(old.prealloc_blocks()).saturating_add(n.prealloc_blocks());
            self.zones.release_node(old.node_lba, old.node_blocks, old.pack_units());
            for e in old.map.v.iter() {
                for k in 0..e.len as u64 {
                    self.zones.release(e.lba + k);
                }
            }
            self.note_tail_owner(tails, old, false);
            self.note_tail_owner(tails, &n, true);
            self.inodes[i] = FBox::try_new(n)?;
            self.inodes[i].mark_dirty(&mut self.dirty);
            self.nat_changed_at(i)?;
            self.claim_inode(i)?;
        }
        Ok(())
    }

    /// Roll-forward of a node of an inode the checkpoint does not have:
    /// a new file `fsync` wrote with its name (`fsync.rs`), else ignored.
    fn replay_marked(&mut self, cp: &Checkpoint, tails: &mut Tails, ino: u64, lba: u64, blocks: u32) -> Result<()> {
        let (n, mark, version) = match self.read_node_marked(ino, lba, blocks) {
            Ok((n, Some(m), _, version)) => (n, m, version),
            _ => return Ok(()),
        };
        if !self.tail_blocks_ok(tails, ino, &n, None) {
            return Ok(());
        }
        if let Some(i) = self.replay_new_file(cp.next_ino, n, &mark, lba, blocks)? {
            if version >= self.node_version {
                self.node_version = version.saturating_add(1);
            }
            self.prealloc = self.prealloc.saturating_add(self.inodes[i].prealloc_blocks());
            self.note_tail_owner(tails, &self.inodes[i], true);
            self.claim_inode(i)?;
        }
        Ok(())
    }
}
