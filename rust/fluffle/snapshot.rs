//! Snapshots: a regular file's block map and size pinned in memory.
//!
//! The file's dirty pages are written back first, so a snapshot refers to
//! device blocks only. Every zone holding a pinned block gets a pin count:
//! GC never picks it and checkpoints never reset it, so the blocks stay
//! readable at the same LBAs whatever writers and GC do. Snapshots are not
//! persistent (a remount drops them).

use super::device::{ZonedDevice, BLOCK_SIZE};
use super::errno::*;
use super::extent::ExtentMap;
use super::fs::Fs;
use super::mem::FVec;
use super::types::*;

/// A live snapshot.
pub struct Snap {
    /// Identifier.
    pub id: SnapId,
    /// Inode it was taken of.
    pub ino: u64,
    /// File size when taken.
    pub size: u64,
    /// Block map when taken.
    pub map: ExtentMap,
}

impl<D: ZonedDevice> Fs<D> {
    fn snap(&self, id: SnapId) -> Result<&Snap> {
        self.snaps.iter().find(|s| s.id == id).ok_or(ENOENT)
    }

    /// Pins the current content (block map and size) of regular file `ino`.
    pub fn snapshot(&mut self, ino: u64) -> Result<SnapId> {
        let i = self.find(ino)?;
        match self.inodes[i].ftype {
            FileType::Regular => {}
            FileType::Directory => return Err(EISDIR),
            FileType::Symlink | FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => {
                return Err(EINVAL)
            }
        }
        if self.inodes[i].inline.is_some() && self.inodes[i].size > 0 {
            // A snapshot hands out device blocks: give the content some.
            self.writable()?;
            self.uninline(i)?;
        }
        if !self.inodes[i].pages.is_empty() {
            self.writable()?;
            self.writeback_inode(i)?;
        }
        let i = self.find(ino)?;
        let mut map = ExtentMap::default();
        map.v = self.inodes[i].map.v.try_clone()?;
        self.snaps.try_reserve(1)?;
        for e in map.v.iter() {
            self.zones.pin_run(e.lba, e.len as u64, true);
        }
        let id = self.next_snap;
        self.next_snap += 1;
        let size = self.inodes[i].size;
        self.snaps.try_push(Snap { id, ino, size, map })?;
        Ok(id)
    }

    /// Size in bytes of the pinned content.
    pub fn snapshot_size(&self, snap: SnapId) -> Result<u64> {
        Ok(self.snap(snap)?.size)
    }

    /// Inode the snapshot was taken of.
    pub fn snapshot_ino(&self, snap: SnapId) -> Result<u64> {
        Ok(self.snap(snap)?.ino)
    }

    /// Reads pinned content like [`Fs::read`] (see [`read_mapped`]).
    pub fn snapshot_read(&mut self, snap: SnapId, off: u64, buf: &mut [u8]) -> Result<usize> {
        let s = self.snaps.iter().find(|s| s.id == snap).ok_or(ENOENT)?;
        let dev = &mut self.dev;
        read_mapped(&s.map, s.size, off, buf, |lba, blocks| dev.read(lba, blocks))
    }

    /// A copy of the snapshot's block map, so that the kernel glue can
    /// read the pinned blocks without the filesystem's mutex (the pins
    /// keep them where the map says until [`Fs::release_snapshot`]).
    pub fn snapshot_map(&self, snap: SnapId) -> Result<ExtentMap> {
        let mut map = ExtentMap::default();
        map.v = self.snap(snap)?.map.v.try_clone()?;
        Ok(map)
    }

    /// Fills `out` with the device LBAs of file blocks `first_block..` of
    /// the snapshot ([`LBA_HOLE`] for holes); returns how many were filled
    /// (0 at the end). The file has `ceil(size / 4096)` blocks.
    pub fn snapshot_lbas(&self, snap: SnapId, first_block: u64, out: &mut [u64]) -> Result<usize> {
        let s = self.snap(snap)?;
        let nblocks = s.size.div_ceil(BLOCK_SIZE as u64);
        let mut k = 0;
        while k < out.len() {
            let fblk = match first_block.checked_add(k as u64) {
                Some(f) if f < nblocks => f,
                _ => break,
            };
            out[k] = s.map.lookup(fblk).map_or(LBA_HOLE, |x| x.0);
            k += 1;
        }
        Ok(k)
    }

    /// Reads one 4 KiB device block `lba` into `buf` (>= 4096 bytes), only
    /// if the snapshot references it (`EACCES` otherwise, `EINVAL` for a
    /// short buffer).
    pub fn snapshot_read_lba(&mut self, snap: SnapId, lba: u64, buf: &mut [u8]) -> Result<()> {
        let s = self.snap(snap)?;
        let ok = s.map.v.iter().any(|e| lba >= e.lba && lba - e.lba < e.len as u64);
        if !ok {
            return Err(EACCES);
        }
        let dst = buf.get_mut(..BLOCK_SIZE).ok_or(EINVAL)?;
        self.dev.read(lba, dst)
    }

    /// Unpins a snapshot (`ENOENT` if unknown).
    pub fn release_snapshot(&mut self, snap: SnapId) -> Result<()> {
        let si = self.snaps.iter().position(|s| s.id == snap).ok_or(ENOENT)?;
        let s = self.snaps.remove(si).ok_or(ENOENT)?;
        for e in s.map.v.iter() {
            self.zones.pin_run(e.lba, e.len as u64, false);
        }
        Ok(())
    }

    /// Number of live snapshots.
    pub fn snapshot_count(&self) -> usize {
        self.snaps.len()
    }
}

/// Reads the bytes at `off` of a file of `size` bytes whose blocks `map`
/// places, into `buf`; returns how many (short only at the end of the
/// file). Holes read as zeroes; `read_blocks(lba, dst)` reads whole device
/// blocks. Whole blocks contiguous on the device go to `buf` with one call
/// (a CSD kernel asks for 64 KiB at a time: one request instead of
/// sixteen); only a partial first or last block goes through a bounce
/// block.
pub fn read_mapped(
    map: &ExtentMap,
    size: u64,
    off: u64,
    buf: &mut [u8],
    mut read_blocks: impl FnMut(u64, &mut [u8]) -> Result<()>,
) -> Result<usize> {
    if off >= size {
        return Ok(0);
    }
    let n = core::cmp::min(buf.len() as u64, size - off) as usize;
    let bs = BLOCK_SIZE as u64;
    let mut bounce: Option<FVec<u8>> = None;
    let mut done = 0;
    while done < n {
        let pos = off + done as u64;
        let boff = (pos % bs) as usize;
        let dst = buf.get_mut(done..n).ok_or(EINVAL)?;
        let whole = if boff == 0 { dst.len() / BLOCK_SIZE } else { 0 };
        let chunk = match map.lookup(pos / bs) {
            None => {
                // A hole: up to the next mapped block (or the end).
                let next = map.next_mapped(pos / bs).map_or(u64::MAX, |f| f.saturating_mul(bs));
                let chunk = core::cmp::min(next.saturating_sub(pos), dst.len() as u64) as usize;
                dst.get_mut(..chunk).ok_or(EINVAL)?.fill(0);
                chunk
            }
            Some((lba, run)) if whole > 0 => {
                let chunk = core::cmp::min(run, whole as u64) as usize * BLOCK_SIZE;
                read_blocks(lba, dst.get_mut(..chunk).ok_or(EINVAL)?)?;
                chunk
            }
            Some((lba, _)) => {
                let chunk = core::cmp::min(BLOCK_SIZE - boff, dst.len());
                let b = match &mut bounce {
                    Some(b) => b,
                    None => bounce.insert(FVec::try_from_elem(0u8, BLOCK_SIZE)?),
                };
                read_blocks(lba, b)?;
                dst.get_mut(..chunk).ok_or(EINVAL)?.copy_from_slice(b.get(boff..boff + chunk).ok_or(EINVAL)?);
                chunk
            }
        };
        if chunk == 0 {
            // Cannot happen (a hole's next mapped block lies past `pos`);
            // never loop forever on a broken map.
            return Err(EUCLEAN);
        }
        done += chunk;
    }
    Ok(n)
}
