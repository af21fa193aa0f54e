//! A file's block map: sorted, non-overlapping extents (file block ->
//! device block runs). Unmapped file blocks are holes.

use super::errno::{Result, EUCLEAN};
use super::mem::FVec;

/// `len` file blocks from `fblk` live at device blocks `lba..lba+len`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Extent {
    /// First file block.
    pub fblk: u64,
    /// First device block.
    pub lba: u64,
    /// Number of blocks (>= 1).
    pub len: u32,
}

impl Extent {
    /// One past the last file block.
    pub fn end(&self) -> u64 {
        self.fblk + self.len as u64
    }
}

/// The extents of one file, sorted by `fblk`, never overlapping.
#[derive(Default)]
pub struct ExtentMap {
    /// The extents (kept sorted and disjoint by the methods below).
    pub v: FVec<Extent>,
}

impl ExtentMap {
    /// Index of the first extent ending after `fblk`.
    fn first_after(&self, fblk: u64) -> usize {
        self.v.partition_point(|e| e.end() <= fblk)
    }

    /// The device block of `fblk` and how many following file blocks are
    /// contiguous on the device (including `fblk`), or `None` for a hole.
    pub fn lookup(&self, fblk: u64) -> Option<(u64, u64)> {
        let e = self.v.get(self.first_after(fblk))?;
        if e.fblk > fblk {
            return None;
        }
        let d = fblk - e.fblk;
        Some((e.lba + d, e.len as u64 - d))
    }

    /// First mapped file block at or after `fblk`.
    pub fn next_mapped(&self, fblk: u64) -> Option<u64> {
        let e = self.v.get(self.first_after(fblk))?;
        Some(core::cmp::max(e.fblk, fblk))
    }

    /// Number of mapped blocks among file blocks `from..to`.
    pub fn mapped_in(&self, from: u64, to: u64) -> u64 {
        let mut n = 0;
        for e in self.v.get(self.first_after(from)..).unwrap_or(&[]) {
            if e.fblk >= to {
                break;
            }
            n += core::cmp::min(e.end(), to) - core::cmp::max(e.fblk, from);
        }
        n
    }

    /// Number of mapped blocks.
    pub fn mapped_blocks(&self) -> u64 {
        self.v.iter().map(|e| e.len as u64).sum()
    }

    /// Maps `len` blocks from `fblk` to `lba..` (or unmaps them if `lba`
    /// is `None`). `old(lba, n)` is called for every replaced device run.
    pub fn set(&mut self, fblk: u64, len: u32, lba: Option<u64>, old: &mut dyn FnMut(u64, u32)) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let end = fblk + len as u64;
        let mut i = self.first_after(fblk);
        // Reserve up front so the split below cannot fail half-way.
        self.v.try_reserve(2)?;
        while let Some(&e) = self.v.get(i) {
            if e.fblk >= end {
                break;
            }
            let ostart = core::cmp::max(e.fblk, fblk);
            let oend = core::cmp::min(e.end(), end);
            old(e.lba + (ostart - e.fblk), (oend - ostart) as u32);
            let left = ostart > e.fblk;
            let right = e.end() > oend;
            match (left, right) {
                (false, false) => {
                    self.v.remove(i);
                }
                (true, false) => {
                    self.v[i].len = (ostart - e.fblk) as u32;
                    i += 1;
                }
                (false, true) => {
                    let cut = oend - e.fblk;
                    self.v[i] = Extent { fblk: oend, lba: e.lba + cut, len: (e.end() - oend) as u32 };
                    i += 1;
                }
                (true, true) => {
                    self.v[i].len = (ostart - e.fblk) as u32;
                    let cut = oend - e.fblk;
                    let r = Extent { fblk: oend, lba: e.lba + cut, len: (e.end() - oend) as u32 };
                    self.v.try_insert(i + 1, r)?;
                    i += 2;
                }
            }
        }
        let lba = match lba {
            Some(l) => l,
            None => return Ok(()),
        };
        let pos = self.first_after(fblk);
        let new = Extent { fblk, lba, len };
        // Merge with the left neighbour when both runs are contiguous.
        if pos > 0 {
            let p = self.v[pos - 1];
            if p.end() == fblk && p.lba + p.len as u64 == lba && (p.len as u64 + len as u64) <= u32::MAX as u64 {
                self.v[pos - 1].len += len;
                self.merge_right(pos - 1);
                return Ok(());
            }
        }
        self.v.try_insert(pos, new)?;
        self.merge_right(pos);
        Ok(())
    }

    fn merge_right(&mut self, i: usize) {
        let (a, b) = match (self.v.get(i), self.v.get(i + 1)) {
            (Some(a), Some(b)) => (*a, *b),
            _ => return,
        };
        if a.end() == b.fblk && a.lba + a.len as u64 == b.lba && (a.len as u64 + b.len as u64) <= u32::MAX as u64 {
            self.v[i].len += b.len;
            self.v.remove(i + 1);
        }
    }

    /// Unmaps every block at or after `fblk`.
    pub fn truncate(&mut self, fblk: u64, old: &mut dyn FnMut(u64, u32)) -> Result<()> {
        let last = match self.v.last() {
            Some(e) => e.end(),
            None => return Ok(()),
        };
        if last <= fblk {
            return Ok(());
        }
        let len = last - fblk;
        // Runs are u32-long; unmap in pieces for absurdly sparse maps.
        let mut at = fblk;
        let mut left = len;
        while left > 0 {
            let n = core::cmp::min(left, u32::MAX as u64) as u32;
            self.set(at, n, None, old)?;
            at += n as u64;
            left -= n as u64;
        }
        Ok(())
    }

    /// Checks the invariants on a map decoded from disk.
    pub fn validate(&self, max_blocks: u64) -> Result<()> {
        let mut prev_end = 0u64;
        for e in self.v.iter() {
            if e.len == 0 || e.fblk < prev_end {
                return Err(EUCLEAN);
            }
            let end = e.fblk.checked_add(e.len as u64).ok_or(EUCLEAN)?;
            if end > max_blocks {
                return Err(EUCLEAN);
            }
            e.lba.checked_add(e.len as u64).ok_or(EUCLEAN)?;
            prev_end = end;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn model_check(m: &ExtentMap, model: &[Option<u64>]) {
        for (i, want) in model.iter().enumerate() {
            assert_eq!(m.lookup(i as u64).map(|x| x.0), *want, "block {i}");
        }
        for (a, b) in [(0, 64), (0, 1), (5, 17), (31, 33), (60, 100), (63, 64), (10, 10)] {
            let want = model.iter().take(b).skip(a).filter(|s| s.is_some()).count() as u64;
            assert_eq!(m.mapped_in(a as u64, b as u64), want, "mapped in {a}..{b}");
        }
        m.validate(u64::MAX).unwrap();
    }

    #[test]
    fn random_against_model() {
        let mut m = ExtentMap::default();
        let mut model: Vec<Option<u64>> = std::vec![None; 64];
        let mut seed = 12345u64;
        let mut next_lba = 1000u64;
        for _ in 0..3000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let f = (seed >> 33) % 60;
            let len = 1 + (seed >> 20) % 4;
            let unmap = (seed >> 10) % 5 == 0;
            let mut freed = 0u64;
            let lba = if unmap { None } else { Some(next_lba) };
            m.set(f, len as u32, lba, &mut |_, n| freed += n as u64).unwrap();
            let mut expect_freed = 0;
            for k in 0..len {
                let slot = &mut model[(f + k) as usize];
                if slot.is_some() {
                    expect_freed += 1;
                }
                *slot = lba.map(|l| l + k);
            }
            assert_eq!(freed, expect_freed);
            next_lba += len + (seed >> 40) % 2; // sometimes contiguous
            model_check(&m, &model);
        }
        let mut freed = 0u64;
        m.truncate(30, &mut |_, n| freed += n as u64).unwrap();
        for s in model.iter_mut().skip(30) {
            *s = None;
        }
        model_check(&m, &model);
        assert!(m.v.iter().all(|e| e.end() <= 30));
    }

    #[test]
    fn merges_contiguous() {
        let mut m = ExtentMap::default();
        for i in 0..10 {
            m.set(i, 1, Some(100 + i), &mut |_, _| {}).unwrap();
        }
        assert_eq!(m.v.len(), 1);
        assert_eq!(m.next_mapped(20), None);
        assert_eq!(m.lookup(3), Some((103, 7)));
    }
}
