//! Directory entries as records in a byte buffer, the same in a node
//! (a small directory's inline entries) and in a dentry block
//! (`dir_blocks.rs`), and the in-memory state of a directory.
//!
//! Record (little endian): `slot u8, kind u8, name_len u8, ino u64, name`,
//! sorted by slot, each slot used once in its buffer. An entry's readdir
//! cookie is its position: `3 + block * 256 + slot` (a small directory's
//! entries count as block 0), so a cookie never moves while the entry
//! lives, and a directory that outgrows its node moves its entries to
//! dentry block 0 unchanged, cookies and all. Cookies 0..=2 are the start,
//! `.` and `..`.
//!
//! Buffers are validated when they are read ([`validate`]); every other
//! function here assumes a valid buffer and, should it meet a malformed
//! one anyway, stops rather than panics.

use super::errno::{Result, EINVAL, ENAMETOOLONG, EUCLEAN};
use super::inode::{kind_byte, kind_from};
use super::layout::get_u64;
use super::mem::FVec;
use super::types::{FileType, NAME_MAX};

/// Bytes of a record besides the name.
pub const DENTRY_FIXED: usize = 11;

/// Slots per block: the low part of a cookie.
pub const SLOTS: u64 = 256;

/// The first entry cookie (0: start, 1: `.`, 2: `..`).
pub const COOKIE_BASE: u64 = 3;

/// Bytes of entries a directory keeps in its node; the entry that would
/// pass this moves them all to dentry block 0.
pub const INLINE_DENTRY_MAX: usize = 2048;

/// The cookie of `slot` in `blk`.
pub fn cookie_of(blk: u64, slot: u8) -> u64 {
    COOKIE_BASE.saturating_add(blk.saturating_mul(SLOTS)).saturating_add(slot as u64)
}

/// The block and slot of an entry cookie (`None` for 0..=2).
pub fn cookie_split(cookie: u64) -> Option<(u64, u8)> {
    let c = cookie.checked_sub(COOKIE_BASE)?;
    Some((c / SLOTS, (c % SLOTS) as u8))
}

/// Bytes of the record of a `name_len`-byte name.
pub fn rec_len(name_len: usize) -> usize {
    DENTRY_FIXED + name_len
}

/// FNV-1a over the name (picks the hash bucket, `dir_hash.rs`).
pub fn name_hash(name: &[u8]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for &b in name {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    h
}

/// Validates a name: 1..=255 bytes, no `/` or NUL, not `.`/`..`.
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(EINVAL);
    }
    Ok(())
}

/// One record of a buffer.
#[derive(Clone, Copy)]
pub struct Rec<'a> {
    /// Slot in its buffer.
    pub slot: u8,
    /// Target inode.
    pub ino: u64,
    /// Target kind (for readdir's `d_type`).
    pub ftype: FileType,
    /// Name bytes.
    pub name: &'a [u8],
    /// Offset of the record in the buffer.
    pub off: usize,
}

impl Rec<'_> {
    /// Bytes of the record.
    pub fn len(&self) -> usize {
        rec_len(self.name.len())
    }
}

/// The records of a buffer, in slot order.
pub struct Recs<'a> {
    buf: &'a [u8],
    at: usize,
}

/// Iterates over the records of `buf`.
pub fn recs(buf: &[u8]) -> Recs<'_> {
    Recs { buf, at: 0 }
}

impl<'a> Iterator for Recs<'a> {
    type Item = Rec<'a>;

    fn next(&mut self) -> Option<Rec<'a>> {
        let off = self.at;
        let h = self.buf.get(off..off.checked_add(DENTRY_FIXED)?)?;
        let ftype = kind_from(h[1]).ok()?;
        let name = self.buf.get(off + DENTRY_FIXED..off + DENTRY_FIXED + h[2] as usize)?;
        self.at = off + DENTRY_FIXED + name.len();
        Some(Rec { slot: h[0], ino: get_u64(h, 3), ftype, name, off })
    }
}

/// Checks a buffer read from disk: whole records, slots increasing, valid
/// names and kinds, no inode 0. Returns the number of records.
pub fn validate(buf: &[u8]) -> Result<u64> {
    let (mut n, mut end, mut last) = (0u64, 0usize, None::<u8>);
    for r in recs(buf) {
        if last.is_some_and(|l| r.slot <= l) || r.ino == 0 || check_name(r.name).is_err() {
            return Err(EUCLEAN);
        }
        last = Some(r.slot);
        end = r.off + r.len();
        n += 1;
    }
    if end != buf.len() {
        return Err(EUCLEAN);
    }
    Ok(n)
}

/// The record named `name`.
pub fn find_name<'a>(buf: &'a [u8], name: &[u8]) -> Option<Rec<'a>> {
    recs(buf).find(|r| r.name == name)
}

/// The record in `slot`.
pub fn find_slot(buf: &[u8], slot: u8) -> Option<Rec<'_>> {
    recs(buf).find(|r| r.slot == slot)
}

/// The lowest free slot.
pub fn free_slot(buf: &[u8]) -> Option<u8> {
    let mut want = 0u16;
    for r in recs(buf) {
        if r.slot as u16 != want {
            break;
        }
        want += 1;
    }
    u8::try_from(want).ok()
}

/// Adds a record in `slot` (free) keeping slot order.
pub fn insert(buf: &mut FVec<u8>, slot: u8, ino: u64, ftype: FileType, name: &[u8]) -> Result<()> {
    let at = recs(buf).find(|r| r.slot > slot).map_or(buf.len(), |r| r.off);
    let len = rec_len(name.len());
    buf.try_reserve(len)?;
    let old = buf.len();
    buf.try_resize(old + len, 0)?;
    buf.as_mut_slice().copy_within(at..old, at + len);
    let r = &mut buf.as_mut_slice()[at..at + len];
    r[0] = slot;
    r[1] = kind_byte(ftype);
    r[2] = name.len() as u8;
    r[3..11].copy_from_slice(&ino.to_le_bytes());
    r[11..].copy_from_slice(name);
    Ok(())
}

/// Appends a record in `slot`, above every slot in `buf`.
fn append(buf: &mut FVec<u8>, slot: u8, ino: u64, ftype: FileType, name: &[u8]) -> Result<()> {
    buf.try_reserve(rec_len(name.len()))?;
    buf.try_extend_from_slice(&[slot, kind_byte(ftype), name.len() as u8])?;
    buf.try_extend_from_slice(&ino.to_le_bytes())?;
    buf.try_extend_from_slice(name)
}

/// Removes the record in `slot`; false if there is none.
pub fn remove(buf: &mut FVec<u8>, slot: u8) -> bool {
    let Some((at, len)) = find_slot(buf, slot).map(|r| (r.off, r.len())) else { return false };
    let n = buf.len();
    buf.as_mut_slice().copy_within(at + len..n, at);
    buf.truncate(n - len);
    true
}

/// Points the record in `slot` at another inode; false if there is none.
pub fn set_target(buf: &mut FVec<u8>, slot: u8, ino: u64, ftype: FileType) -> bool {
    let Some(at) = find_slot(buf, slot).map(|r| r.off) else { return false };
    let r = &mut buf.as_mut_slice()[at..at + DENTRY_FIXED];
    r[1] = kind_byte(ftype);
    r[3..11].copy_from_slice(&ino.to_le_bytes());
    true
}

/// The slot of a record whose name an earlier record has (O(n^2): for
/// small buffers, fsck).
pub fn duplicate(buf: &[u8]) -> Option<u8> {
    recs(buf).enumerate().find(|(k, r)| recs(buf).take(*k).any(|o| o.name == r.name)).map(|(_, r)| r.slot)
}

/// One dentry block in memory (`dir_blocks.rs`).
///
/// # Invariants
///
/// Every name in `recs` has its two bits set in `filter`.
pub struct DentBlock {
    /// Block of the directory (index in its block map).
    pub blk: u64,
    /// Its records (change them only through the methods below).
    pub recs: FVec<u8>,
    /// Changed since it was read or written: the next checkpoint writes it
    /// (or, empty, unmaps it).
    pub dirty: bool,
    /// A Bloom filter of its names' hashes (4096 bits, four per name:
    /// 0.2 % false positives for 240 short names, a full block): a lookup
    /// skips a block whose filter says no instead of comparing every name.
    /// Under TCG the scan of the ~2 x levels blocks of a name's buckets
    /// made creates 12x slower than v4's in-memory hash index, and 2048
    /// bits still left a 30 % gap on 5000 creates; the filter costs 512
    /// bytes per block in memory.
    filter: [u64; FILTER_WORDS],
    /// Slots in use (bit `s` for slot `s`), so a free one is found
    /// without a scan.
    used: [u64; 4],
}

const FILTER_WORDS: usize = 64;

/// The filter bits of `hash`, from bits the bucket choice does not use
/// (a bucket's names share their low bits).
fn filter_bits(hash: u32) -> [usize; 4] {
    let x = (hash as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    [(x >> 52) as usize, ((x >> 40) & 4095) as usize, ((x >> 28) & 4095) as usize, ((x >> 16) & 4095) as usize]
}

fn set_bits(filter: &mut [u64; FILTER_WORDS], hash: u32) {
    for b in filter_bits(hash) {
        filter[b / 64] |= 1 << (b % 64);
    }
}

impl DentBlock {
    /// Block `blk` holding `recs` (valid records).
    pub fn new(blk: u64, recs: FVec<u8>) -> Self {
        let mut b = Self { blk, recs, dirty: false, filter: [0; FILTER_WORDS], used: [0; 4] };
        b.refilter();
        b
    }

    /// False if no name hashing to `hash` is in the block.
    pub fn may_hold(&self, hash: u32) -> bool {
        filter_bits(hash).iter().all(|&b| self.filter[b / 64] & (1 << (b % 64)) != 0)
    }

    fn note(&mut self, hash: u32) {
        set_bits(&mut self.filter, hash);
    }

    /// Recomputes the filter and the slots in use from the records
    /// (after a removal).
    fn refilter(&mut self) {
        let mut f = [0u64; FILTER_WORDS];
        let mut used = [0u64; 4];
        for r in recs(&self.recs) {
            set_bits(&mut f, name_hash(r.name));
            used[r.slot as usize / 64] |= 1 << (r.slot % 64);
        }
        self.filter = f;
        self.used = used;
    }

    /// The lowest free slot.
    pub fn free_slot(&self) -> Option<u8> {
        let w = self.used.iter().position(|&w| w != u64::MAX)?;
        u8::try_from(w * 64 + (!self.used[w]).trailing_zeros() as usize).ok()
    }

    /// The record named `name` (whose hash is `hash`).
    pub fn find(&self, name: &[u8], hash: u32) -> Option<Rec<'_>> {
        if !self.may_hold(hash) {
            return None;
        }
        find_name(&self.recs, name)
    }

    /// Adds a record in `slot` (free).
    pub fn insert(&mut self, slot: u8, ino: u64, ftype: FileType, name: &[u8]) -> Result<()> {
        let last = self.used.iter().enumerate().rev().find(|(_, &w)| w != 0).map(|(k, &w)| k * 64 + 63 - w.leading_zeros() as usize);
        if last.map_or(true, |l| l < slot as usize) {
            // Above every slot in use (the common case): goes last, no scan.
            append(&mut self.recs, slot, ino, ftype, name)?;
        } else {
            insert(&mut self.recs, slot, ino, ftype, name)?;
        }
        self.note(name_hash(name));
        self.used[slot as usize / 64] |= 1 << (slot % 64);
        Ok(())
    }

    /// Removes the record in `slot`; false if there is none.
    pub fn remove(&mut self, slot: u8) -> bool {
        let found = remove(&mut self.recs, slot);
        if found {
            self.refilter();
        }
        found
    }
}

/// A directory's entries and what is kept about them (boxed in
/// [`super::inode::Inode::extra`], so a file's inode does not carry it).
#[derive(Default)]
pub struct DirState {
    /// The entries live in dentry blocks (the block map says where), not
    /// in the node.
    pub big: bool,
    /// A small directory's records (`!big`).
    pub inline: FVec<u8>,
    /// The dentry blocks read or changed since the directory was loaded,
    /// sorted by block (`big`); they leave memory with the directory.
    pub blocks: FVec<DentBlock>,
    /// Hash levels that may hold entries (`dir_hash.rs`).
    pub levels: u32,
    /// Dirty blocks in `blocks` (the checkpoint's size estimate).
    pub dirty_blocks: u32,
    /// A name was lost or retargeted since the last checkpoint
    /// (roll-forward must not add a name the checkpoint may still hold for
    /// another inode; `fsync.rs`).
    pub lost_names: bool,
}

impl DirState {
    /// Position of block `blk` in `blocks`, or where it would go.
    pub fn block_pos(&self, blk: u64) -> core::result::Result<usize, usize> {
        self.blocks.binary_search_by_key(&blk, |b| b.blk)
    }

    /// Marks the block at position `p` changed.
    pub fn touch(&mut self, p: usize) {
        if let Some(b) = self.blocks.get_mut(p) {
            if !b.dirty {
                b.dirty = true;
                self.dirty_blocks += 1;
            }
        }
    }

    /// The records of the buffer holding `cookie`'s block, if in memory:
    /// the inline ones for a small directory.
    pub fn buf_of(&self, blk: u64) -> Option<&FVec<u8>> {
        if !self.big {
            return (blk == 0).then_some(&self.inline);
        }
        self.block_pos(blk).ok().map(|p| &self.blocks[p].recs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    fn buf(slots: &[u8]) -> FVec<u8> {
        let mut b = FVec::new();
        for &s in slots {
            let name = [b'a' + s % 26, b'0' + s / 26];
            insert(&mut b, s, 100 + s as u64, FileType::Regular, &name).unwrap();
        }
        b
    }

    #[test]
    fn records_stay_in_slot_order_through_inserts_and_removes() {
        let mut b = buf(&[5, 1, 3, 0]);
        assert_eq!(validate(&b), Ok(4));
        assert_eq!(recs(&b).map(|r| r.slot).collect::<std::vec::Vec<_>>(), [0, 1, 3, 5]);
        assert_eq!(free_slot(&b), Some(2));
        assert!(remove(&mut b, 1));
        assert!(!remove(&mut b, 1));
        assert_eq!(free_slot(&b), Some(1));
        assert!(set_target(&mut b, 3, 7, FileType::Directory));
        let r = find_slot(&b, 3).unwrap();
        assert_eq!((r.ino, r.ftype), (7, FileType::Directory));
        assert_eq!(find_name(&b, b"f0").map(|r| r.slot), Some(5));
        assert_eq!(validate(&b), Ok(3));
    }

    #[test]
    fn a_full_buffer_has_no_free_slot() {
        let all: std::vec::Vec<u8> = (0..=255u8).collect();
        let b = buf(&all);
        assert_eq!(free_slot(&b), None);
    }

    #[test]
    fn damaged_buffers_are_refused() {
        let b = buf(&[0, 1]);
        let mut bad = b.try_clone().unwrap();
        bad[DENTRY_FIXED + 2] = 0; // second record's slot equals the first's
        assert_eq!(validate(&bad), Err(EUCLEAN));
        assert_eq!(validate(&b[..b.len() - 1]), Err(EUCLEAN));
        let mut bad = b.try_clone().unwrap();
        bad[1] = 9; // no such kind
        assert_eq!(validate(&bad), Err(EUCLEAN));
        let mut bad = b.try_clone().unwrap();
        bad[3..11].fill(0); // inode 0
        assert_eq!(validate(&bad), Err(EUCLEAN));
    }

    #[test]
    fn the_block_filter_holds_every_name_and_few_others() {
        let mut b = DentBlock::new(5, FVec::new());
        let name = |i: u32| std::format!("entry-{i}").into_bytes();
        for i in 0..100u32 {
            b.insert(i as u8, 10 + i as u64, FileType::Regular, &name(i)).unwrap();
        }
        for i in 0..100u32 {
            assert!(b.find(&name(i), name_hash(&name(i))).is_some(), "{i}");
        }
        let fp = (1000..11000u32).filter(|&i| b.may_hold(name_hash(&name(i)))).count();
        assert!(fp < 200, "{fp} of 10000 absent names pass the filter");
        assert_eq!(b.free_slot(), Some(100));
        assert!(b.remove(7));
        assert_eq!(b.free_slot(), Some(7));
        b.insert(7, 99, FileType::Symlink, b"back-in-seven").unwrap();
        assert_eq!(validate(&b.recs), Ok(100));
        assert_eq!(recs(&b.recs).map(|r| r.slot).nth(7), Some(7));
        assert!(b.find(&name(7), name_hash(&name(7))).is_none());
        assert!(b.find(&name(8), name_hash(&name(8))).is_some());
    }

    #[test]
    fn cookies_split_back() {
        assert_eq!(cookie_split(cookie_of(0, 0)), Some((0, 0)));
        assert_eq!(cookie_split(cookie_of(77, 255)), Some((77, 255)));
        assert_eq!(cookie_split(2), None);
    }
}
