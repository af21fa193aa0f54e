//! Read plans: where each block of a file range comes from, so that a
//! reader doing its own I/O (the kernel's readahead, with asynchronous bios
//! straight into page-cache folios) reads the device without the core in
//! the data path, and [`Fs::read_blocks`], the synchronous form of the same.

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::fs::Fs;
use super::mem::FVec;

const BS: u64 = BLOCK_SIZE as u64;

/// Where a run of consecutive file blocks comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    /// Consecutive device blocks from this LBA, all in one zone. Blocks of
    /// a zoned device do not change until their zone is reset, so a reader
    /// outside the core only has to hold resets off until its reads end.
    Device(u64),
    /// Zeros: holes and blocks wholly past EOF.
    Zeros,
    /// One block only [`Fs::read`] can give: a dirty page, inline data, or
    /// the block holding an EOF that is not block aligned (its bytes past
    /// EOF must read as zeros).
    Core,
}

/// `count` blocks from `src`; a plan's segments follow each other.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    /// Blocks in the run (at least 1).
    pub count: u32,
    /// Where they come from.
    pub src: Source,
}

impl<D: ZonedDevice> Fs<D> {
    /// Plans a read of file blocks `first..first + n` of `ino` into `out`
    /// (cleared first): segments in order, covering exactly `n` blocks.
    /// `EISDIR` on directories, `EINVAL` on symlinks.
    pub fn plan_read(&mut self, ino: u64, first: u64, n: usize, out: &mut FVec<Segment>) -> Result<()> {
        let i = self.find(ino)?;
        self.regular(i)?;
        out.clear();
        let node = &self.inodes[i];
        let size = node.size;
        // Blocks wholly inside the file.
        let whole_end = size / BS;
        let mut k = 0usize;
        while k < n {
            let fblk = first.saturating_add(k as u64);
            let left = n - k;
            let (src, count) = if fblk.saturating_mul(BS) >= size {
                (Source::Zeros, left)
            } else if node.inline.is_some() || fblk >= whole_end {
                (Source::Core, 1)
            } else {
                let np = node.pages.partition_point(|p| p.fblk < fblk);
                let dirty_gap = node.pages.get(np).map_or(u64::MAX, |p| p.fblk - fblk);
                if dirty_gap == 0 {
                    (Source::Core, 1)
                } else {
                    let cap = [dirty_gap, whole_end - fblk, left as u64].into_iter().min().unwrap_or(1);
                    match node.map.lookup(fblk) {
                        None => (Source::Zeros, 1),
                        Some((lba, run)) => {
                            let in_zone = self.zone_end(lba).saturating_sub(lba);
                            let count = [run, cap, in_zone].into_iter().min().unwrap_or(1);
                            (Source::Device(lba), core::cmp::max(1, count) as usize)
                        }
                    }
                }
            };
            let count = core::cmp::min(count, left);
            match out.as_mut_slice().last_mut() {
                Some(last) if last.src == Source::Zeros && src == Source::Zeros => {
                    last.count = last.count.saturating_add(count as u32);
                }
                _ => out.try_push(Segment { count: count as u32, src })?,
            }
            k += count;
        }
        Ok(())
    }

    /// Reads whole blocks from the block-aligned `off` into `blocks` (each
    /// one whole block, `EINVAL` otherwise) by its [`Fs::plan_read`]: runs
    /// of device blocks go straight into the buffers. Holes and bytes past
    /// EOF read as zeros. Returns the bytes of the file the blocks cover (0
    /// at or past EOF), as [`Fs::read`] does.
    pub fn read_blocks(&mut self, ino: u64, off: u64, blocks: &mut [&mut [u8]]) -> Result<usize> {
        if off % BS != 0 || blocks.iter().any(|b| b.len() != BLOCK_SIZE) {
            return Err(EINVAL);
        }
        let mut plan = FVec::new();
        self.plan_read(ino, off / BS, blocks.len(), &mut plan)?;
        let mut k = 0usize;
        for seg in plan.iter() {
            let run = blocks.get_mut(k..k + seg.count as usize).ok_or(EIO)?;
            match seg.src {
                Source::Device(lba) => self.dev.read_vectored(lba, run)?,
                Source::Zeros => run.iter_mut().for_each(|b| b.fill(0)),
                Source::Core => {
                    for (j, b) in run.iter_mut().enumerate() {
                        self.read_padded(ino, off + ((k + j) as u64) * BS, b)?;
                    }
                }
            }
            k += seg.count as usize;
        }
        let size = self.inode(ino)?.size;
        let total = blocks.len().saturating_mul(BLOCK_SIZE) as u64;
        Ok(core::cmp::min(total, size.saturating_sub(off)) as usize)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::fs::format;
    use crate::memdev::MemDevice;
    use crate::types::{FormatOptions, MountOptions};
    use std::vec::Vec;

    fn fs() -> Fs<MemDevice> {
        let mut d = MemDevice::with_zones(16, 80, 64).unwrap();
        format(&mut d, &FormatOptions::default()).unwrap();
        Fs::mount(d, &MountOptions::default()).unwrap()
    }

    fn plan(fs: &mut Fs<MemDevice>, ino: u64, first: u64, n: usize) -> Vec<Segment> {
        let mut out = FVec::new();
        fs.plan_read(ino, first, n, &mut out).unwrap();
        out.as_slice().to_vec()
    }

    #[test]
    fn plan_splits_device_runs_dirty_pages_holes_and_eof() {
        let mut fs = fs();
        let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
        fs.write(f, 0, &[1u8; 6 * 4096]).unwrap();
        fs.sync().unwrap(); // blocks 0-5 on the device, one run
        fs.write(f, 2 * 4096, &[2u8; 10]).unwrap(); // block 2 a dirty page
        fs.write(f, 9 * 4096, &[3u8; 100]).unwrap(); // hole 6-8, EOF inside block 9
        let p = plan(&mut fs, f, 0, 12);
        let Source::Device(lba) = p[0].src else { panic!("{p:?}") };
        assert_eq!(
            p,
            [
                Segment { count: 2, src: Source::Device(lba) },
                Segment { count: 1, src: Source::Core },
                Segment { count: 3, src: Source::Device(lba + 3) },
                Segment { count: 3, src: Source::Zeros },
                Segment { count: 1, src: Source::Core },
                Segment { count: 2, src: Source::Zeros },
            ]
        );
        assert_eq!(p.iter().map(|s| s.count).sum::<u32>(), 12, "covers exactly n blocks");
        // From the middle of a run; wholly past EOF; nothing.
        assert_eq!(plan(&mut fs, f, 4, 2), [Segment { count: 2, src: Source::Device(lba + 4) }]);
        assert_eq!(plan(&mut fs, f, 50, 3), [Segment { count: 3, src: Source::Zeros }]);
        assert!(plan(&mut fs, f, 0, 0).is_empty());
        // Inline files are the core's, block by block.
        let g = fs.create(1, b"g", 0o644, 0, 0).unwrap().ino;
        fs.write(g, 0, b"tiny").unwrap();
        assert_eq!(plan(&mut fs, g, 0, 2), [Segment { count: 1, src: Source::Core }, Segment { count: 1, src: Source::Zeros }]);
        let mut out = FVec::new();
        assert_eq!(fs.plan_read(1, 0, 1, &mut out), Err(EISDIR));
    }

    #[test]
    fn plan_runs_stop_at_zone_ends() {
        let mut fs = fs();
        let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
        // More than a zone's capacity (64 blocks): the log crosses zones.
        fs.write(f, 0, &[7u8; 100 * 4096]).unwrap();
        fs.sync().unwrap();
        for seg in plan(&mut fs, f, 0, 100) {
            let Source::Device(lba) = seg.src else { panic!("{seg:?}") };
            assert_eq!(lba / 80, (lba + seg.count as u64 - 1) / 80, "{seg:?} crosses a zone");
        }
    }
}
