//! On-disk format: constants, block headers and a bounds-checked
//! little-endian encoder/decoder.
//!
//! # Format (version 3)
//!
//! Zones 0 and 1 hold the checkpoint ring; zones 2.. are log zones.
//!
//! A **checkpoint** is `nblocks` contiguous blocks in a checkpoint zone:
//! a 32-byte header (`CKPT_MAGIC`, version, CRC32C over all `nblocks`
//! blocks with the CRC field zeroed, `nblocks`, sequence number, payload
//! length) followed by the payload (see `checkpoint.rs`), and ending with
//! a 16-byte trailer in its last block's last bytes (`CKPT_TRAILER_MAGIC`,
//! `nblocks` u32, sequence u64) so mount finds a zone's newest checkpoint
//! from the zone's write pointer alone. The payload holds the superblock
//! fields (uuid, geometry), counters, the log heads, the SIT (valid blocks
//! per zone), the root and height of the NAT tree and the NAT journal
//! (inode number -> node location for the entries newer than their NAT
//! leaf). With the NAT blocks it names, mount needs nothing else to find
//! every inode.
//!
//! A **NAT block** (node header, kind 3, inode 0) is a leaf or interior
//! block of the copy-on-write NAT tree (see `nat.rs`), written to the node
//! log by the checkpoints that change it (version 1 carried the whole NAT
//! in every checkpoint).
//!
//! A **node** is the complete record of one inode (attributes, block map
//! as extents, directory entries, xattrs, symlink target; see `inode.rs`)
//! split over 1..=N contiguous blocks of one log zone. Each node block
//! starts with a 48-byte header (`NODE_MAGIC`, version, CRC32C seeded with
//! the filesystem uuid so file data can never pass for a node, payload
//! length, inode number, node version, checkpoint sequence it was written
//! after, index and count) followed by up to `NODE_PAYLOAD` payload bytes.
//!
//! A **pack** block (same header, kind 2, inode 0) holds the nodes of
//! several small inodes as records (`ino u64, version u64, len u32,
//! payload`); a NAT entry with 0 blocks points at the pack holding its
//! record. Checkpoints pack every node of at most `PACK_MAX` bytes.
//!
//! A **dentry block** (kind 4, inode = the directory, version = block
//! index) holds whole directory entries of a directory too big to keep
//! them in its node (see `dir_blocks.rs`).
//!
//! A **summary** (kind 5, inode = its own LBA, version = the zone offset of
//! the first block it covers, usually 1 block) ends every chunk of a log
//! zone and names the owner of each block of the chunk as runs (`owner u64,
//! count u32`; see `summary.rs`): GC finds a victim's owners there. The
//! last block of every closed zone is a summary.
//!
//! **Data blocks** are raw file content.
//!
//! Version 3 added the summaries and counts live space in 1/128 blocks
//! (pack records share their block); version 2 kept the owners in RAM
//! only, rebuilt at mount from every node.

use super::crc32c::crc32c_append;
use super::device::BLOCK_SIZE;
use super::errno::{Result, EUCLEAN};
use super::mem::FVec;

/// On-disk format version written by this code (and the only one read).
pub const FORMAT_VERSION: u16 = 7;
/// "FCKP": checkpoint header magic.
pub const CKPT_MAGIC: u32 = 0x504b_4346;
/// "FNOD": node block magic.
pub const NODE_MAGIC: u32 = 0x444f_4e46;
/// Bytes of the checkpoint header.
pub const CKPT_HDR: usize = 32;
/// "FCKT": checkpoint trailer magic.
pub const CKPT_TRAILER_MAGIC: u32 = 0x544b_4346;
/// Bytes of the checkpoint trailer.
pub const CKPT_TRAILER: usize = 16;
/// Bytes of a node block header.
pub const NODE_HDR: usize = 48;
/// Payload bytes per node block.
pub const NODE_PAYLOAD: usize = BLOCK_SIZE - NODE_HDR;
/// Number of checkpoint zones (the ring).
pub const CKPT_ZONES: u32 = 2;

/// Appends little-endian values to a byte vector.
pub struct Enc<'a> {
    /// Output.
    pub out: &'a mut FVec<u8>,
}

impl<'a> Enc<'a> {
    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> Result<()> {
        self.out.try_extend_from_slice(b)
    }
    /// Appends a u8.
    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.out.try_push(v)
    }
    /// Appends a u16.
    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    /// Appends a u32.
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    /// Appends a u64.
    pub fn u64(&mut self, v: u64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    /// Appends an i64.
    pub fn i64(&mut self, v: i64) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    /// Appends an unsigned LEB128 varint (1..=10 bytes).
    pub fn uvar(&mut self, mut v: u64) -> Result<()> {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                return self.u8(b);
            }
            self.u8(b | 0x80)?;
        }
    }
}

/// Bytes [`Enc::uvar`] uses for `v`.
pub fn uvar_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Zigzag-encodes a signed delta.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Reads little-endian values from untrusted bytes; every read is bounds
/// checked and fails with `EUCLEAN`.
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    /// A decoder over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(EUCLEAN)?;
        let s = self.buf.get(self.pos..end).ok_or(EUCLEAN)?;
        self.pos = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    /// A u8.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.arr::<1>()?[0])
    }
    /// A u16.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    /// A u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    /// A u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// An i64.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    /// An unsigned LEB128 varint (at most 10 bytes, no overflow).
    pub fn uvar(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            let part = (b & 0x7f) as u64;
            if i == 9 && part > 1 {
                return Err(EUCLEAN);
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(EUCLEAN)
    }
}

/// Reads a little-endian u32 at `off` of `b` (0 if out of range; callers
/// validate lengths first).
pub fn get_u32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

/// Reads a little-endian u16 at `off`.
pub fn get_u16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

/// Reads a little-endian u64 at `off`.
pub fn get_u64(b: &[u8], off: usize) -> u64 {
    match b.get(off..off + 8) {
        Some(s) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        }
        None => 0,
    }
}

/// Writes `v` at `off` of `b` if it fits.
pub fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off + v.len()) {
        d.copy_from_slice(v);
    }
}

/// Header of one node block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodeHdr {
    /// Payload bytes in this block.
    pub len: u32,
    /// Inode number.
    pub ino: u64,
    /// Node version (global, increasing with every node write).
    pub version: u64,
    /// Sequence of the checkpoint this node was written after.
    pub cp_seq: u64,
    /// Index of this block in the node.
    pub idx: u16,
    /// Blocks of the node.
    pub count: u16,
}

/// Node block kind: one inode's node (or a part of it).
pub const KIND_NODE: u16 = 1;
/// Node block kind: a pack of small inode records.
pub const KIND_PACK: u16 = 2;
/// Node block kind: a block of the NAT tree (`nat.rs`; inode 0, version =
/// level << 32 | index).
pub const KIND_NAT: u16 = 3;
/// Node block kind: a directory's dentry block (`dir_blocks.rs`; inode =
/// the directory, version = block index in it).
pub const KIND_DENT: u16 = 4;
/// Node block kind: a zone chunk's block summary (`summary.rs`; inode =
/// the block's own LBA, version = first zone offset covered).
pub const KIND_SUMMARY: u16 = 5;
/// Largest node payload stored in a pack instead of its own block.
pub const PACK_MAX: usize = 1024;
/// Most records in one pack block (each owns at least a
/// `1/PACK_RECORDS_MAX` share of the block's live space, `zones.rs`).
pub const PACK_RECORDS_MAX: usize = 128;
/// Bytes of a pack record header (`ino u64, version u64, len u32`).
pub const PACK_REC: usize = 20;

/// CRC seed derived from the filesystem uuid.
pub fn uuid_seed(uuid: &[u8; 16]) -> u32 {
    crc32c_append(0x464c_5546, uuid)
}

/// Fills the header of node block `blk` (payload already in place) and its
/// CRC.
pub fn seal_node(blk: &mut [u8], h: &NodeHdr, seed: u32) {
    seal_kind(blk, h, seed, KIND_NODE)
}

/// Seals a pack block (records already in the payload; `h.ino` is 0).
pub fn seal_pack(blk: &mut [u8], h: &NodeHdr, seed: u32) {
    seal_kind(blk, h, seed, KIND_PACK)
}

/// Seals a NAT tree block (payload already in place; `h.ino` is 0).
pub fn seal_nat(blk: &mut [u8], h: &NodeHdr, seed: u32) {
    seal_kind(blk, h, seed, KIND_NAT)
}

/// Seals a dentry block (entries already in the payload).
pub fn seal_dent(blk: &mut [u8], h: &NodeHdr, seed: u32) {
    seal_kind(blk, h, seed, KIND_DENT)
}

/// Seals a summary block (runs already in the payload).
pub fn seal_summary(blk: &mut [u8], h: &NodeHdr, seed: u32) {
    seal_kind(blk, h, seed, KIND_SUMMARY)
}

/// Validates a summary block and returns its header (the caller checks
/// that `h.ino` is where it was read and the runs against the zone).
pub fn open_summary(blk: &[u8], seed: u32) -> Result<NodeHdr> {
    open_kind(blk, seed, KIND_SUMMARY)
}

/// Validates a dentry block and returns its header (the caller checks the
/// directory and block index against where it was found).
pub fn open_dent(blk: &[u8], seed: u32) -> Result<NodeHdr> {
    let h = open_kind(blk, seed, KIND_DENT)?;
    if h.ino == 0 || h.count != 1 {
        return Err(EUCLEAN);
    }
    Ok(h)
}

fn seal_kind(blk: &mut [u8], h: &NodeHdr, seed: u32, kind: u16) {
    put(blk, 0, &NODE_MAGIC.to_le_bytes());
    put(blk, 4, &FORMAT_VERSION.to_le_bytes());
    put(blk, 6, &kind.to_le_bytes());
    put(blk, 8, &0u32.to_le_bytes());
    put(blk, 12, &h.len.to_le_bytes());
    put(blk, 16, &h.ino.to_le_bytes());
    put(blk, 24, &h.version.to_le_bytes());
    put(blk, 32, &h.cp_seq.to_le_bytes());
    put(blk, 40, &h.idx.to_le_bytes());
    put(blk, 42, &h.count.to_le_bytes());
    put(blk, 44, &0u32.to_le_bytes());
    let crc = crc32c_append(seed, blk);
    put(blk, 8, &crc.to_le_bytes());
}

/// Validates node block `blk` (magic, version, CRC, field ranges) and
/// returns its header; `EUCLEAN` if anything is off.
pub fn open_node(blk: &[u8], seed: u32) -> Result<NodeHdr> {
    let h = open_kind(blk, seed, KIND_NODE)?;
    if h.ino == 0 {
        return Err(EUCLEAN);
    }
    Ok(h)
}

/// Validates a pack block and returns its header (records in the payload:
/// `ino u64, version u64, len u32, payload`, see [`pack_records`]).
pub fn open_pack(blk: &[u8], seed: u32) -> Result<NodeHdr> {
    let h = open_kind(blk, seed, KIND_PACK)?;
    if h.ino != 0 || h.count != 1 {
        return Err(EUCLEAN);
    }
    Ok(h)
}

/// Validates a NAT tree block and returns its header (the caller checks
/// level, index and length against where it was found).
pub fn open_nat(blk: &[u8], seed: u32) -> Result<NodeHdr> {
    let h = open_kind(blk, seed, KIND_NAT)?;
    if h.ino != 0 || h.count != 1 {
        return Err(EUCLEAN);
    }
    Ok(h)
}

/// Calls `f(ino, version, payload)` for each record of a validated pack
/// block; `EUCLEAN` on a malformed record.
pub fn pack_records(blk: &[u8], h: &NodeHdr, f: &mut dyn FnMut(u64, u64, &[u8]) -> Result<()>) -> Result<()> {
    let payload = blk.get(NODE_HDR..NODE_HDR + h.len as usize).ok_or(EUCLEAN)?;
    let mut d = Dec::new(payload);
    let mut n = 0usize;
    while d.remaining() > 0 {
        let ino = d.u64()?;
        let version = d.u64()?;
        let len = d.u32()? as usize;
        let rec = d.bytes(len)?;
        if ino == 0 || len > PACK_MAX {
            return Err(EUCLEAN);
        }
        n += 1;
        if n > PACK_RECORDS_MAX {
            return Err(EUCLEAN);
        }
        f(ino, version, rec)?;
    }
    Ok(())
}

/// A record found in a pack block.
pub struct PackRecord {
    /// The record's node version.
    pub version: u64,
    /// Its place among the block's records, and how many there are: they
    /// fix its share of the block's live space (`zones::pack_share`).
    pub index: usize,
    /// Records in the block.
    pub records: usize,
}

/// Finds inode `ino`'s record in a validated pack block and decodes it with
/// `decode`; `None` if the pack has no record of `ino`.
pub fn pack_record<T>(blk: &[u8], h: &NodeHdr, ino: u64, decode: &mut dyn FnMut(&[u8]) -> Result<T>) -> Result<Option<(T, PackRecord)>> {
    let mut found: Option<(T, u64, usize)> = None;
    let mut records = 0usize;
    pack_records(blk, h, &mut |rino, version, rec| {
        if rino == ino && found.is_none() {
            found = Some((decode(rec)?, version, records));
        }
        records += 1;
        Ok(())
    })?;
    Ok(found.map(|(t, version, index)| (t, PackRecord { version, index, records })))
}

fn open_kind(blk: &[u8], seed: u32, kind: u16) -> Result<NodeHdr> {
    if blk.len() != BLOCK_SIZE || get_u32(blk, 0) != NODE_MAGIC {
        return Err(EUCLEAN);
    }
    if get_u16(blk, 4) != FORMAT_VERSION || get_u16(blk, 6) != kind {
        return Err(EUCLEAN);
    }
    let want = get_u32(blk, 8);
    let mut c = crc32c_append(seed, &blk[..8]);
    c = crc32c_append(c, &[0u8; 4]);
    c = crc32c_append(c, &blk[12..]);
    if c != want {
        return Err(EUCLEAN);
    }
    let h = NodeHdr {
        len: get_u32(blk, 12),
        ino: get_u64(blk, 16),
        version: get_u64(blk, 24),
        cp_seq: get_u64(blk, 32),
        idx: get_u16(blk, 40),
        count: get_u16(blk, 42),
    };
    if h.len as usize > NODE_PAYLOAD || h.count == 0 || h.idx >= h.count {
        return Err(EUCLEAN);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_seal_open_roundtrip_and_corruption() {
        let mut b = [0u8; BLOCK_SIZE];
        b[NODE_HDR] = 7;
        let h = NodeHdr { len: 1, ino: 5, version: 9, cp_seq: 3, idx: 0, count: 1 };
        seal_node(&mut b, &h, 42);
        assert_eq!(open_node(&b, 42), Ok(h));
        assert_eq!(open_node(&b, 43), Err(EUCLEAN));
        b[100] ^= 1;
        assert_eq!(open_node(&b, 42), Err(EUCLEAN));
    }

    #[test]
    fn varints_roundtrip() {
        let mut out = FVec::new();
        let vals = [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        {
            let mut e = Enc { out: &mut out };
            for v in vals {
                e.uvar(v).unwrap();
            }
        }
        assert_eq!(out.len(), vals.iter().map(|&v| uvar_len(v)).sum::<usize>());
        let mut d = Dec::new(&out);
        for v in vals {
            assert_eq!(d.uvar(), Ok(v));
        }
        assert_eq!(Dec::new(&[0xff; 11]).uvar(), Err(EUCLEAN));
        for v in [0i64, 1, -1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn decoder_bounds() {
        let d = [1u8, 2, 3];
        let mut r = Dec::new(&d);
        assert_eq!(r.u16(), Ok(0x0201));
        assert_eq!(r.u16(), Err(EUCLEAN));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.bytes(usize::MAX), Err(EUCLEAN));
    }
}
