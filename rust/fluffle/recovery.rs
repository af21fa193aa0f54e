//! Mount: load the newest checkpoint, every node it points to, rebuild the
//! reverse map and SIT, roll forward over nodes written after the
//! checkpoint, free orphans, and (read-write) write a fresh checkpoint.
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
//! pointer and not owned by another inode, so a node whose data did not
//! reach the device is ignored.

use super::checkpoint::{find_newest, Checkpoint, NatEntry};
use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::{check_geometry, Fs};
use super::inode::{Inode, LinkMark};
use super::layout::{open_node, open_pack, pack_records, NodeHdr, CKPT_ZONES, NODE_HDR};
use super::mem::{FBox, FVec};
use super::read_window::ReadWindow;
use super::types::*;
use super::zones::{owner_data, owner_node, ZState};

impl<D: ZonedDevice> Fs<D> {
    /// Mounts the filesystem on `dev`: newest valid checkpoint, roll-forward
    /// of inodes fsynced after it, orphan cleanup, then (unless read-only) a
    /// fresh checkpoint. Corruption gives `EUCLEAN`/`EINVAL`/`EIO`.
    pub fn mount(mut dev: D, opts: &MountOptions) -> Result<Self> {
        let geo = dev.geometry();
        check_geometry(&geo)?;
        let cp = find_newest(&mut dev)?;
        let mut fs = Fs::empty(dev, geo, cp.uuid, opts.now)?;
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
        }
        fs.ckpt_wp = fs.zones.z[cp.zone as usize].wp;
        let nat = fs.load_nat(&cp)?;
        fs.load_nodes(&cp, &nat)?;
        for (z, want) in fs.zones.z.iter().zip(cp.sit.iter()) {
            if z.valid != *want {
                return Err(EUCLEAN);
            }
        }
        fs.roll_forward(&cp)?;
        fs.validate_tree()?;
        // Orphans: unlinked while open when the checkpoint was taken.
        let mut i = 0;
        while i < fs.inodes.len() {
            if fs.inodes[i].nlink == 0 {
                fs.free_inode(i)?;
            } else {
                i += 1;
            }
        }
        for zi in CKPT_ZONES as usize..fs.zones.z.len() {
            let e = &mut fs.zones.z[zi];
            e.state = if e.valid > 0 || e.wp > 0 { ZState::Used } else { ZState::Free };
        }
        if !fs.ro {
            for zi in CKPT_ZONES..geo.zone_count {
                let e = fs.zones.z[zi as usize];
                if e.valid > 0 && e.wp < geo.zone_cap {
                    fs.dev.finish(zi)?;
                    fs.zones.z[zi as usize].wp = geo.zone_cap;
                }
            }
            fs.checkpoint()?;
        }
        fs.stats = Default::default();
        Ok(fs)
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
        let mut found: Option<Inode> = None;
        pack_records(&blk, &h, &mut |rino, _, rec| {
            if rino == ino && found.is_none() {
                found = Some(Inode::decode(rino, rec)?);
            }
            Ok(())
        })?;
        found.ok_or(EUCLEAN)
    }

    /// Claims the node and data blocks of inode index `i`.
    fn claim_inode(&mut self, i: usize) -> Result<()> {
        let n = &self.inodes[i];
        let ino = n.ino;
        if n.packed {
            self.zones.claim_pack(n.node_lba)?;
        } else {
            for k in 0..n.node_blocks as u64 {
                self.zones.claim(n.node_lba + k, owner_node(ino, k))?;
            }
        }
        for e in n.map.v.iter() {
            for k in 0..e.len as u64 {
                self.zones.claim(e.lba + k, owner_data(ino, e.fblk + k))?;
            }
        }
        Ok(())
    }

    fn load_nodes(&mut self, cp: &Checkpoint, nat: &[NatEntry]) -> Result<()> {
        self.inodes.try_reserve(nat.len())?;
        // Consecutive inodes usually share a pack block: keep its checked
        // header (a CRC over the block per inode was a fifth of the mount
        // time); and consecutive pack blocks are usually neighbours, so
        // they are read many at a time.
        let mut win = ReadWindow::new()?;
        let mut pack_hdr: Option<(u64, NodeHdr)> = None;
        for e in nat.iter() {
            let (mut n, seq, version) = if e.blocks == 0 {
                let end = self.written_end(e.lba)?;
                let pack = win.block(&mut self.dev, e.lba, end)?;
                let h = match pack_hdr {
                    Some((lba, h)) if lba == e.lba => h,
                    _ => {
                        let h = open_pack(pack, self.seed)?;
                        pack_hdr = Some((e.lba, h));
                        h
                    }
                };
                let mut found: Option<(Inode, u64)> = None;
                pack_records(pack, &h, &mut |ino, version, rec| {
                    if ino == e.ino && found.is_none() {
                        found = Some((Inode::decode(ino, rec)?, version));
                    }
                    Ok(())
                })?;
                let (n, version) = found.ok_or(EUCLEAN)?;
                (n, h.cp_seq, version)
            } else {
                self.read_node(e.ino, e.lba, e.blocks)?
            };
            if seq > cp.seq || version >= cp.node_version {
                return Err(EUCLEAN);
            }
            n.node_lba = e.lba;
            n.node_blocks = core::cmp::max(e.blocks, 1);
            n.packed = e.blocks == 0;
            self.inodes.try_push(FBox::try_new(n)?)?;
            let i = self.inodes.len() - 1;
            self.claim_inode(i)?;
            self.load_dentry_blocks(i)?;
            self.inodes[i].reindex();
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

    fn roll_forward(&mut self, cp: &Checkpoint) -> Result<()> {
        // Where nodes written after the checkpoint can be.
        let mut ranges: FVec<(u32, u64)> = FVec::new();
        for &(z, wp) in cp.heads.iter() {
            if z != u32::MAX {
                ranges.try_push((z, wp))?;
            }
        }
        for z in CKPT_ZONES..self.geo.zone_count {
            let was_empty = cp.sit.get(z as usize).copied() == Some(0);
            if was_empty && !cp.heads.iter().any(|h| h.0 == z) {
                ranges.try_push((z, 0))?;
            }
        }
        // (version, ino, lba, blocks) of complete candidate nodes.
        let mut found: FVec<(u64, u64, u64, u32)> = FVec::new();
        let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
        for &(z, from) in ranges.iter() {
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
                    Err(_) => continue,
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
                Err(_) => {
                    self.replay_marked(cp, ino, lba, blocks)?;
                    continue;
                }
            };
            if self.inodes[i].ftype != FileType::Regular {
                continue;
            }
            let (mut n, _, version) = match self.read_node(ino, lba, blocks) {
                Ok(x) => x,
                Err(_) => continue,
            };
            if n.ftype != FileType::Regular || !self.node_blocks_ok(ino, &n) {
                continue;
            }
            if version >= self.node_version {
                self.node_version = version.saturating_add(1);
            }
            let old = &self.inodes[i];
            n.nlink = old.nlink;
            n.node_lba = lba;
            n.node_blocks = blocks;
            self.nat.changed(ino);
            for k in 0..old.node_blocks as u64 {
                self.zones.release(old.node_lba + k);
            }
            for e in old.map.v.iter() {
                for k in 0..e.len as u64 {
                    self.zones.release(e.lba + k);
                }
            }
            self.inodes[i] = FBox::try_new(n)?;
            self.inodes[i].mark_dirty(&mut self.dirty);
            self.claim_inode(i)?;
        }
        Ok(())
    }

    /// Roll-forward of a node of an inode the checkpoint does not have:
    /// a new file `fsync` wrote with its name (`fsync.rs`), else ignored.
    fn replay_marked(&mut self, cp: &Checkpoint, ino: u64, lba: u64, blocks: u32) -> Result<()> {
        let (n, mark, version) = match self.read_node_marked(ino, lba, blocks) {
            Ok((n, Some(m), _, version)) => (n, m, version),
            _ => return Ok(()),
        };
        if !self.node_blocks_ok(ino, &n) {
            return Ok(());
        }
        if let Some(i) = self.replay_new_file(cp.next_ino, n, &mark, lba, blocks)? {
            if version >= self.node_version {
                self.node_version = version.saturating_add(1);
            }
            self.claim_inode(i)?;
        }
        Ok(())
    }

    /// True if every block of node `n` of `ino` (data and the node itself
    /// excluded) is written and free or already `ino`'s.
    fn node_blocks_ok(&self, ino: u64, n: &Inode) -> bool {
        for e in n.map.v.iter() {
            for k in 0..e.len as u64 {
                let lba = e.lba + k;
                if self.zones.rindex(lba).is_none() {
                    return false;
                }
                let zone = match self.geo.zone_of(lba) {
                    Some(z) => z,
                    None => return false,
                };
                if lba - self.geo.zone_start(zone) >= self.zones.z[zone as usize].wp {
                    return false;
                }
                let o = self.zones.owner(lba);
                if o != 0 && o >> 32 != ino {
                    return false;
                }
            }
        }
        true
    }

    /// Checks what lookups rely on: the root is a directory, every entry
    /// names an existing inode of the recorded type, every directory's
    /// parent exists.
    fn validate_tree(&self) -> Result<()> {
        let root = self.inode(Self::ROOT_INO).map_err(|_| EUCLEAN)?;
        if root.ftype != FileType::Directory || root.parent != Self::ROOT_INO {
            return Err(EUCLEAN);
        }
        for n in self.inodes.iter() {
            if n.ftype == FileType::Directory {
                let p = self.inode(n.parent).map_err(|_| EUCLEAN)?;
                if p.ftype != FileType::Directory {
                    return Err(EUCLEAN);
                }
            }
            for e in n.entries().iter() {
                let t = self.inode(e.ino).map_err(|_| EUCLEAN)?;
                if t.ftype != e.ftype || e.ino == Self::ROOT_INO {
                    return Err(EUCLEAN);
                }
            }
        }
        Ok(())
    }
}
