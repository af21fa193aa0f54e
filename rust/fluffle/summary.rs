//! Block summaries: the owner of every block of a log zone, on disk.
//!
//! GC must know who owns each live block of a victim zone (to update that
//! owner's map when it moves the block). Version 2 kept a reverse map in
//! RAM, 8 bytes per device block (2 GiB per TiB) and rebuilt at mount from
//! every node. Now each log head collects the owner words of the blocks it
//! appends (`Chunk`, runs of consecutive owners: a file's sequential run
//! or a node's blocks are one run) and writes them as a **summary** block
//! at the end of the chunk: when the runs fill a block, when the zone is
//! one block from full, and when the head leaves the zone. The last block
//! of every closed zone is therefore a summary, and each summary says
//! where its chunk starts, so the block before that start is the previous
//! summary: GC walks a zone's summaries backwards from its write pointer
//! with no table anywhere (f2fs keeps an SSA area updated in place; a zoned
//! log cannot, and a summary lives and dies with the zone it describes, so
//! GC never moves one).
//!
//! A summary names the owner a block was written for, not whether it is
//! still live: GC checks each against its owner (the owner's map must
//! still point at the block), and the per-zone live counts (SIT, in the
//! checkpoint) say when a zone is empty. A wrong or unreadable summary can
//! therefore only leave live blocks unmoved (the zone then keeps its live
//! count and is never reset), never lose them.
//!
//! The open chunk of each head is in the checkpoint (`checkpoint.rs`);
//! mount writes it, with the owners of the blocks roll-forward kept, as the
//! summary of each zone it closes (`recovery.rs`).

use super::device::{Geometry, ZonedDevice, BLOCK_SIZE};
use super::errno::{Result, EUCLEAN};
use super::layout::{get_u32, get_u64, open_summary, put, seal_summary, NodeHdr, NODE_HDR, NODE_PAYLOAD};
use super::mem::FVec;
use super::zones::OWNER_PACK;

/// Bytes of one run on disk (`owner u64, count u32`).
pub const RUN_BYTES: usize = 12;
/// Runs one summary block holds.
pub const RUNS_PER_BLOCK: usize = NODE_PAYLOAD / RUN_BYTES;

/// `count` blocks whose owner words go up by `stride(owner)` per block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Run {
    /// Owner word of the first block (0: no owner, a dead block).
    pub owner: u64,
    /// Blocks.
    pub count: u32,
}

/// How an owner word changes from one block to the next in a run: data
/// blocks (file block + 1), node blocks (index + 1) and NAT blocks count
/// up; pack blocks (the records inside name their inodes) and ownerless
/// blocks repeat.
pub fn stride(owner: u64) -> u64 {
    if owner == 0 || owner == OWNER_PACK {
        0
    } else {
        1
    }
}

impl Run {
    /// Owner word of block `k` of the run.
    pub fn owner_at(&self, k: u64) -> u64 {
        self.owner.wrapping_add(stride(self.owner).wrapping_mul(k))
    }
}

/// The owners of blocks `start..start + blocks` of a zone, in order.
pub struct Chunk {
    /// Zone offset of the first block.
    pub start: u64,
    /// Blocks covered.
    pub blocks: u64,
    /// Their owners.
    pub runs: FVec<Run>,
}

impl Chunk {
    /// An empty chunk (allocates as runs are pushed).
    pub fn empty() -> Self {
        Self { start: 0, blocks: 0, runs: FVec::new() }
    }

    /// An empty chunk with room for one summary block's runs: a log head's,
    /// so that `push` below that never allocates while blocks are written.
    pub fn for_head() -> Result<Self> {
        let mut c = Self::empty();
        c.runs.try_reserve(RUNS_PER_BLOCK)?;
        Ok(c)
    }

    /// Empties the chunk; it starts at zone offset `start`.
    pub fn restart(&mut self, start: u64) {
        self.start = start;
        self.blocks = 0;
        self.runs.clear();
    }

    /// Appends `n` blocks starting with owner word `owner`.
    pub fn push(&mut self, owner: u64, n: u64) -> Result<()> {
        let mut left = n;
        while left > 0 {
            if let Some(last) = self.runs.last_mut() {
                if stride(last.owner) == stride(owner) && last.owner_at(last.count as u64) == owner && last.count < u32::MAX {
                    let take = core::cmp::min(left, (u32::MAX - last.count) as u64);
                    last.count += take as u32;
                    self.blocks += take;
                    left -= take;
                    continue;
                }
            }
            let take = core::cmp::min(left, u32::MAX as u64);
            self.runs.try_push(Run { owner, count: take as u32 })?;
            self.blocks += take;
            left -= take;
        }
        Ok(())
    }

    /// Runs that can still be added before the chunk needs a second
    /// summary block.
    pub fn runs_free(&self) -> usize {
        RUNS_PER_BLOCK.saturating_sub(self.runs.len())
    }

    /// Summary blocks this chunk takes.
    pub fn summary_blocks(&self) -> u64 {
        core::cmp::max(1, self.runs.len().div_ceil(RUNS_PER_BLOCK)) as u64
    }

    /// Owner word of zone offset `off` (0 outside the chunk).
    pub fn owner_of(&self, off: u64) -> u64 {
        let mut at = self.start;
        for r in self.runs.iter() {
            if off < at + r.count as u64 {
                return if off >= at { r.owner_at(off - at) } else { 0 };
            }
            at += r.count as u64;
        }
        0
    }

    /// The summary blocks of this chunk, to be written at `lba` (right
    /// after the chunk's last block), in `buf`.
    pub fn encode_into(&self, lba: u64, seed: u32, buf: &mut FVec<u8>) -> Result<()> {
        let nb = self.summary_blocks();
        buf.clear();
        buf.try_resize(nb as usize * BLOCK_SIZE, 0)?;
        for b in 0..nb as usize {
            let runs = self.runs.iter().skip(b * RUNS_PER_BLOCK).take(RUNS_PER_BLOCK);
            let blk = &mut buf[b * BLOCK_SIZE..(b + 1) * BLOCK_SIZE];
            let mut len = 0usize;
            for r in runs {
                put(blk, NODE_HDR + len, &r.owner.to_le_bytes());
                put(blk, NODE_HDR + len + 8, &r.count.to_le_bytes());
                len += RUN_BYTES;
            }
            let h = NodeHdr { len: len as u32, ino: lba + b as u64, version: self.start, cp_seq: 0, idx: b as u16, count: nb as u16 };
            seal_summary(blk, &h, seed);
        }
        Ok(())
    }
}

/// Reads the summary whose last block is at zone offset `end - 1` of
/// `zone` and returns the chunk it describes (which ends where the summary
/// starts). `EUCLEAN` if that block is no summary of this place, or the
/// runs do not cover exactly the blocks before it.
pub fn read_summary<D: ZonedDevice>(dev: &mut D, geo: &Geometry, seed: u32, zone: u32, end: u64) -> Result<Chunk> {
    let zstart = geo.zone_start(zone);
    let last = end.checked_sub(1).ok_or(EUCLEAN)?;
    let mut blk = FVec::try_from_elem(0u8, BLOCK_SIZE)?;
    dev.read(zstart + last, &mut blk)?;
    let h = open_summary(&blk, seed)?;
    let nb = h.count as u64;
    if h.ino != zstart + last || h.idx as u64 != nb - 1 || nb > last + 1 {
        return Err(EUCLEAN);
    }
    let first = last + 1 - nb;
    let start = h.version;
    if start > first {
        return Err(EUCLEAN);
    }
    // Sized to what it holds: GC keeps every chunk of a victim at once.
    let mut chunk = Chunk { start, blocks: 0, runs: FVec::new() };
    for b in 0..nb {
        if b + 1 < nb {
            dev.read(zstart + first + b, &mut blk)?;
        } else if nb > 1 {
            dev.read(zstart + last, &mut blk)?;
        }
        let hb = open_summary(&blk, seed)?;
        if hb.ino != zstart + first + b || hb.idx as u64 != b || hb.count as u64 != nb || hb.version != start {
            return Err(EUCLEAN);
        }
        if hb.len as usize % RUN_BYTES != 0 {
            return Err(EUCLEAN);
        }
        for k in 0..hb.len as usize / RUN_BYTES {
            let at = NODE_HDR + k * RUN_BYTES;
            let owner = get_u64(&blk, at);
            let count = get_u32(&blk, at + 8);
            if count == 0 {
                return Err(EUCLEAN);
            }
            chunk.push(owner, count as u64)?;
        }
    }
    if chunk.blocks != first - start {
        return Err(EUCLEAN);
    }
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::memdev::MemDevice;
    use super::super::zones::{owner_data, owner_node};

    #[test]
    fn runs_merge_only_where_owners_follow_on() {
        let mut c = Chunk::empty();
        c.push(owner_data(5, 0), 3).unwrap();
        c.push(owner_data(5, 3), 2).unwrap();
        c.push(owner_data(6, 0), 1).unwrap();
        c.push(OWNER_PACK, 1).unwrap();
        c.push(OWNER_PACK, 1).unwrap();
        c.push(0, 2).unwrap();
        c.push(owner_node(7, 0), 2).unwrap();
        assert_eq!(c.runs.len(), 5);
        assert_eq!(c.blocks, 12);
        assert_eq!(c.owner_of(4), owner_data(5, 4));
        assert_eq!(c.owner_of(6), OWNER_PACK);
        assert_eq!(c.owner_of(8), 0);
        assert_eq!(c.owner_of(11), owner_node(7, 1));
        assert_eq!(c.owner_of(12), 0);
    }

    #[test]
    fn summaries_read_back_and_reject_other_places() {
        let mut dev = MemDevice::with_zones(16, 1024, 1024).unwrap();
        let geo = dev.geometry();
        let zstart = geo.zone_start(3);
        let mut c = Chunk::empty();
        c.restart(2);
        // More runs than one block holds: a two-block summary.
        for k in 0..RUNS_PER_BLOCK as u64 + 5 {
            c.push(owner_data(10 + k, 0), 1).unwrap();
        }
        let end_data = 2 + c.blocks;
        let filler = FVec::try_from_elem(0u8, end_data as usize * BLOCK_SIZE).unwrap();
        dev.write(zstart, &filler).unwrap();
        let mut buf = FVec::new();
        c.encode_into(zstart + end_data, 7, &mut buf).unwrap();
        assert_eq!(buf.len(), 2 * BLOCK_SIZE);
        dev.write(zstart + end_data, &buf).unwrap();
        let back = read_summary(&mut dev, &geo, 7, 3, end_data + 2).unwrap();
        assert_eq!(back.start, 2);
        assert_eq!(back.runs.as_slice(), c.runs.as_slice());
        // Wrong seed, wrong end, a data block: all refused.
        assert!(read_summary(&mut dev, &geo, 8, 3, end_data + 2).is_err());
        assert!(read_summary(&mut dev, &geo, 7, 3, end_data + 1).is_err());
        assert!(read_summary(&mut dev, &geo, 7, 3, end_data).is_err());
        assert!(read_summary(&mut dev, &geo, 7, 3, 0).is_err());
    }
}
