//! In-memory inodes and their on-disk node payload.
//!
//! Node payload (little endian), written by [`Inode::encode`]:
//! `kind u8, flags u8, iflags u16, mode u32, uid u32, gid u32, nlink u32, size u64,
//! atime/mtime/ctime/btime (i64 sec, u32 nsec; btime, the birth time,
//! since format 7), parent u64,
//! n_extents u32, dents_len u32, n_xattrs u32, target_len u32, inline_len
//! u32 (`u32::MAX`: not inline), n_prealloc u32` (format version 7: the
//! runs of reserved, unwritten blocks, `fallocate.rs`; 0 but for regular
//! files), for a FIFO, device node or socket
//! only: `rdev u32` (0 unless a device node), then the
//! extents (varints: gap from the previous extent's end, zigzag delta of
//! the LBA from the previous extent's end LBA, length), the reserved runs
//! (varints: gap from the previous run's end, length), a small
//! directory's entry records (`dents_len` bytes, `dir.rs`), the xattrs
//! (`name_len u8, value_len u32, name, value`), the symlink target and the
//! inline data of a small regular file.
//!
//! `flags` holds [`FLAG_LINK_MARK`]; `iflags` (format 7, the former pad
//! bytes) the inode flags `chattr` sets ([`IFLAGS_KNOWN`], with the kernel's
//! `FS_*_FL` values so they pass through `FS_IOC_GETFLAGS` unchanged);
//! decode refuses any other bit.

use super::dir::DirState;
use super::dirty::DirtyList;
use super::errno::{Result, EUCLEAN};
use super::extent::{Extent, ExtentMap};
use super::layout::{unzigzag, uvar_len, zigzag, Dec, Enc};
use super::mem::{FBox, FVec};
use super::types::*;

/// One dirty (not yet written) page of file data.
pub struct Page {
    /// File block number.
    pub fblk: u64,
    /// 4096 bytes.
    pub data: FVec<u8>,
    /// The block was unmapped when the page was made (writing it back adds
    /// a live block instead of replacing one).
    pub fresh: bool,
}

/// One extended attribute.
pub struct Xattr {
    /// Full name (with the `user.` prefix).
    pub name: FVec<u8>,
    /// Value.
    pub value: FVec<u8>,
}

/// The name a node written by `fsync` of a new file carries, so that
/// roll-forward can put the file back into its directory without a
/// checkpoint (f2fs's dentry mark; `fsync.rs`).
pub struct LinkMark {
    /// The directory holding the name (it existed at the checkpoint).
    pub dir: u64,
    /// The name.
    pub name: FVec<u8>,
}

/// Flag in the node payload's first pad byte: a [`LinkMark`] follows the
/// inline data.
const FLAG_LINK_MARK: u8 = 1;

/// `FS_SYNC_FL` (`chattr +S`): writes are synchronous.
pub const IFLAG_SYNC: u16 = 0x8;
/// `FS_IMMUTABLE_FL` (`chattr +i`): no change at all.
pub const IFLAG_IMMUTABLE: u16 = 0x10;
/// `FS_APPEND_FL` (`chattr +a`): appending writes only.
pub const IFLAG_APPEND: u16 = 0x20;
/// `FS_NODUMP_FL` (`chattr +d`): skipped by dump(8); no effect here.
pub const IFLAG_NODUMP: u16 = 0x40;
/// `FS_NOATIME_FL` (`chattr +A`): reads do not update atime.
pub const IFLAG_NOATIME: u16 = 0x80;
/// Every inode flag FluffleFS stores; others are refused (`EOPNOTSUPP` when
/// set, `EUCLEAN` when found on disk).
pub const IFLAGS_KNOWN: u16 = IFLAG_SYNC | IFLAG_IMMUTABLE | IFLAG_APPEND | IFLAG_NODUMP | IFLAG_NOATIME;

/// Where a file created since the last checkpoint got its name (see
/// [`Inode::born`]).
#[derive(Clone, Copy)]
pub struct Born {
    /// The directory.
    pub dir: u64,
    /// The entry's readdir cookie (cookies start at 3: never zero).
    pub cookie: core::num::NonZeroU64,
}

/// What few inodes have (see [`Inode::extra`]).
#[derive(Default)]
pub struct Extra {
    /// A directory's entries and their state.
    pub dir: DirState,
    /// Extended attributes.
    pub xattrs: FVec<Xattr>,
    /// Symlink target.
    pub target: FVec<u8>,
    /// A regular file's reserved, unwritten blocks (`fallocate.rs`): file
    /// blocks charged against the free space while neither mapped nor a
    /// dirty page (extents with `lba == fblk`, so neighbours merge).
    pub prealloc: ExtentMap,
}

/// An inode: attributes, content description, and cache state.
pub struct Inode {
    /// Inode number.
    pub ino: u64,
    /// Kind.
    pub ftype: FileType,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes (files); symlink target length; dirs: entry count.
    pub size: u64,
    /// Access time.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Change time.
    pub ctime: Timespec,
    /// Birth time (statx `btime`): set at creation, never changed.
    pub btime: Timespec,
    /// Device number of a device node (kernel `dev_t`); 0 otherwise.
    pub rdev: u32,
    /// Inode flags ([`IFLAGS_KNOWN`] bits only).
    pub iflags: u16,
    /// Parent directory (directories only; root: itself).
    pub parent: u64,
    /// Block map (regular files).
    pub map: ExtentMap,
    /// What few inodes have: a directory's entries, extended attributes,
    /// a symlink target (`None` when none: most inodes are plain files,
    /// and this keeps them in a 256-byte allocation).
    pub extra: Option<FBox<Extra>>,
    /// Content of a small regular file kept in its node (f2fs-style inline
    /// data): `Some` with exactly `size` bytes, or `None` for a block-mapped
    /// file.
    pub inline: Option<FVec<u8>>,
    /// Dirty data pages sorted by `fblk`.
    pub pages: FVec<Page>,
    /// Location of the current node on disk (0 = never written).
    pub node_lba: u64,
    /// Blocks of the current node.
    pub node_blocks: u32,
    /// The current node is a record in the pack block at `node_lba`
    /// (`node_blocks` is then 1).
    pub packed: bool,
    /// The record's share of that pack block's live space
    /// (`zones::pack_share`).
    pub pack_share: u8,
    /// The node on disk is stale (set only through [`Inode::mark_dirty`],
    /// which lists the inode for the next checkpoint).
    dirty: bool,
    /// In the filesystem's [`DirtyList`].
    listed: bool,
    /// Namespace changed since the last checkpoint (fsync must checkpoint).
    pub needs_cp: bool,
    /// VFS holds (see `Fs::hold`).
    pub holds: u32,
    /// (extent count, encoded length) when last measured (write admission).
    pub len_cache: (u32, u32),
    /// A regular file created since the last checkpoint whose only name is
    /// still the one it was created with: (directory, cookie of the entry).
    /// `fsync` can then write the name with the node instead of a
    /// checkpoint (`fsync.rs`).
    pub born: Option<Born>,
}

/// Fixed payload bytes before the arrays.
pub const INODE_FIXED: usize = 4 + 4 * 4 + 8 + 4 * 12 + 8 + 5 * 4 + 4;
/// Largest regular file kept inline in its node.
pub const INLINE_MAX: usize = 3072;
/// Fewest payload bytes an extent takes (three one-byte varints).
pub const EXTENT_MIN_BYTES: usize = 3;
/// Most payload bytes an extent takes (two 64-bit varints and a 32-bit one).
pub const EXTENT_MAX_BYTES: usize = 10 + 10 + 5;
/// Fewest payload bytes a reserved run takes (two one-byte varints).
pub const PREALLOC_MIN_BYTES: usize = 2;
/// Most payload bytes a reserved run takes (a 64-bit and a 32-bit varint).
pub const PREALLOC_MAX_BYTES: usize = 10 + 5;
pub use super::dir::DENTRY_FIXED;
/// Payload bytes per xattr besides name and value.
pub const XATTR_FIXED: usize = 5;

/// The on-disk kind byte of a file type.
pub fn kind_byte(t: FileType) -> u8 {
    match t {
        FileType::Regular => 1,
        FileType::Directory => 2,
        FileType::Symlink => 3,
        FileType::Fifo => 4,
        FileType::CharDev => 5,
        FileType::BlockDev => 6,
        FileType::Socket => 7,
    }
}

/// Decodes a kind byte.
pub fn kind_from(b: u8) -> Result<FileType> {
    match b {
        1 => Ok(FileType::Regular),
        2 => Ok(FileType::Directory),
        3 => Ok(FileType::Symlink),
        4 => Ok(FileType::Fifo),
        5 => Ok(FileType::CharDev),
        6 => Ok(FileType::BlockDev),
        7 => Ok(FileType::Socket),
        _ => Err(EUCLEAN),
    }
}

fn enc_time(e: &mut Enc<'_>, t: Timespec) -> Result<()> {
    e.i64(t.sec)?;
    e.u32(t.nsec)
}

fn dec_time(d: &mut Dec<'_>) -> Result<Timespec> {
    let sec = d.i64()?;
    let nsec = d.u32()?;
    if nsec >= 1_000_000_000 {
        return Err(EUCLEAN);
    }
    Ok(Timespec { sec, nsec })
}

impl Inode {
    /// The live space its node holds in the pack block, if packed (else
    /// its `node_blocks` whole blocks at `node_lba`).
    pub fn pack_units(&self) -> Option<u32> {
        self.packed.then_some(self.pack_share as u32)
    }

    /// A new empty inode.
    pub fn new(ino: u64, ftype: FileType, mode: u32, uid: u32, gid: u32, now: Timespec) -> Self {
        Self {
            ino,
            ftype,
            mode: mode & 0o7777,
            uid,
            gid,
            nlink: 1,
            size: 0,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            rdev: 0,
            iflags: 0,
            parent: 0,
            map: ExtentMap::default(),
            extra: None,
            inline: if ftype == FileType::Regular { Some(FVec::new()) } else { None },
            pages: FVec::new(),
            node_lba: 0,
            node_blocks: 0,
            packed: false,
            pack_share: 0,
            dirty: true,
            listed: false,
            needs_cp: true,
            holds: 0,
            len_cache: (0, 0),
            born: None,
        }
    }

    /// The node on disk is stale: marks it so and lists the inode for the
    /// next checkpoint (`dirty.rs`). Every change to an inode's node or
    /// namespace goes through here.
    pub fn mark_dirty(&mut self, list: &mut DirtyList) {
        self.dirty = true;
        if !self.listed {
            self.listed = true;
            list.push(self.ino);
        }
    }

    /// True if the node on disk is stale.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// On the dirty list: the next checkpoint writes it or its namespace
    /// state (`born`, `needs_cp`) still matters.
    pub fn is_listed(&self) -> bool {
        self.listed
    }

    /// The node was just written.
    pub fn clear_dirty(&mut self) {
        self.dirty = false;
    }

    /// A checkpoint made everything about this inode durable: it leaves
    /// the dirty list and its namespace state is clean.
    pub fn checkpointed(&mut self) {
        self.listed = false;
        self.needs_cp = false;
        self.born = None;
        if let Some(x) = self.extra.as_mut() {
            x.dir.lost_names = false;
        }
    }

    /// Attributes as the API returns them.
    pub fn attr(&self) -> Attr {
        let blocks = self.map.mapped_blocks().saturating_add(self.pages.len() as u64).saturating_add(self.prealloc_blocks());
        Attr {
            ino: self.ino,
            ftype: self.ftype,
            mode: self.ftype.mode_bits() | self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            size: self.size,
            blocks: blocks.saturating_mul(8),
            rdev: self.rdev,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            btime: self.btime,
        }
    }

    /// A directory whose entries moved to dentry blocks (its block map
    /// then maps them; `dir_blocks.rs`): they are no longer in its node.
    pub fn entries_in_blocks(&self) -> bool {
        self.dir_state().is_some_and(|d| d.big)
    }

    /// The entry records the node itself holds: all of a small
    /// directory's.
    fn inline_entries(&self) -> &[u8] {
        match self.dir_state() {
            Some(d) if !d.big => &d.inline,
            _ => &[],
        }
    }

    /// The directory state, if it was ever made.
    pub fn dir_state(&self) -> Option<&DirState> {
        self.extra.as_ref().map(|x| &x.dir)
    }

    /// The directory state, if it was ever made.
    pub fn dir_state_mut(&mut self) -> Option<&mut DirState> {
        self.extra.as_deref_mut().map(|x| &mut x.dir)
    }

    /// Extended attributes (none for most inodes).
    pub fn xattrs(&self) -> &[Xattr] {
        self.extra.as_ref().map_or(&[], |x| &x.xattrs)
    }

    /// The symlink target (empty for other inodes).
    pub fn target(&self) -> &[u8] {
        self.extra.as_ref().map_or(&[], |x| &x.target)
    }

    /// The reserved, unwritten block runs (none for most inodes).
    pub fn prealloc(&self) -> &[Extent] {
        self.extra.as_ref().map_or(&[], |x| &x.prealloc.v)
    }

    /// Reserved, unwritten blocks (`fallocate.rs`).
    pub fn prealloc_blocks(&self) -> u64 {
        self.extra.as_ref().map_or(0, |x| x.prealloc.mapped_blocks())
    }

    /// Reserved blocks among file blocks `from..to`.
    pub fn prealloc_in(&self, from: u64, to: u64) -> u64 {
        self.extra.as_ref().map_or(0, |x| x.prealloc.mapped_in(from, to))
    }

    /// True if file block `fblk` is reserved.
    pub fn is_prealloc(&self, fblk: u64) -> bool {
        self.extra.as_ref().is_some_and(|x| x.prealloc.lookup(fblk).is_some())
    }

    /// Drops the reservation of file blocks `from..to`; returns how many
    /// blocks were reserved there.
    pub fn unprealloc(&mut self, from: u64, to: u64) -> Result<u64> {
        let Some(x) = self.extra.as_deref_mut() else { return Ok(0) };
        if x.prealloc.v.is_empty() || to <= from {
            return Ok(0);
        }
        let mut n = 0u64;
        let mut at = from;
        while at < to {
            let len = core::cmp::min(to - at, u32::MAX as u64) as u32;
            x.prealloc.set(at, len, None, &mut |_, k| n += k as u64)?;
            at += len as u64;
        }
        Ok(n)
    }

    /// The box of what few inodes have (directory state, xattrs, symlink
    /// target), made on first use.
    pub fn extra_mut(&mut self) -> Result<&mut Extra> {
        if self.extra.is_none() {
            self.extra = Some(FBox::try_new(Extra::default())?);
        }
        self.extra.as_deref_mut().ok_or(EUCLEAN)
    }

    /// The directory state, made on first use.
    pub fn dir_mut(&mut self) -> Result<&mut DirState> {
        Ok(&mut self.extra_mut()?.dir)
    }

    /// An upper bound of [`Inode::encoded_len`] that does not walk the
    /// block map (every extent at its longest encoding): admission checks
    /// run on every create in a directory whose map may hold thousands of
    /// dentry-block extents, and need the exact length only near the limit.
    pub fn encoded_len_bound(&self) -> usize {
        self.len_besides_map() + self.map.v.len().saturating_mul(EXTENT_MAX_BYTES)
    }

    /// Payload bytes of the reserved runs.
    fn prealloc_len(&self) -> usize {
        let mut n = 0;
        let mut pf = 0u64;
        for x in self.prealloc().iter() {
            n += uvar_len(x.fblk.wrapping_sub(pf)) + uvar_len(x.len as u64);
            pf = x.end();
        }
        n
    }

    /// Payload bytes of everything but the extents: fixed part, symlink
    /// target, inline data, the entries kept in the node, xattrs.
    fn len_besides_map(&self) -> usize {
        let mut n = INODE_FIXED + self.rdev_len() + self.target().len() + self.inline.as_ref().map_or(0, |d| d.len());
        n += self.inline_entries().len() + self.prealloc_len();
        for x in self.xattrs().iter() {
            n += XATTR_FIXED + x.name.len() + x.value.len();
        }
        n
    }

    /// Payload bytes of the `rdev` field: only special files carry it.
    fn rdev_len(&self) -> usize {
        if self.ftype.is_special() {
            4
        } else {
            0
        }
    }

    /// Bytes of the encoded payload.
    pub fn encoded_len(&self) -> usize {
        let mut n = self.len_besides_map();
        let (mut pf, mut pl) = (0u64, 0u64);
        for x in self.map.v.iter() {
            n += uvar_len(x.fblk.wrapping_sub(pf)) + uvar_len(zigzag(x.lba.wrapping_sub(pl) as i64)) + uvar_len(x.len as u64);
            pf = x.end();
            pl = x.lba.wrapping_add(x.len as u64);
        }
        n
    }

    /// Appends the node payload to `out`.
    pub fn encode(&self, out: &mut FVec<u8>) -> Result<()> {
        self.encode_marked(out, None)
    }

    /// Appends the node payload to `out`, with `mark` after the inline
    /// data if given.
    pub fn encode_marked(&self, out: &mut FVec<u8>, mark: Option<&LinkMark>) -> Result<()> {
        out.try_reserve(self.encoded_len() + mark.map_or(0, |m| 9 + m.name.len()))?;
        let mut e = Enc { out };
        e.u8(kind_byte(self.ftype))?;
        e.u8(if mark.is_some() { FLAG_LINK_MARK } else { 0 })?;
        e.u16(self.iflags)?;
        e.u32(self.mode)?;
        e.u32(self.uid)?;
        e.u32(self.gid)?;
        e.u32(self.nlink)?;
        e.u64(self.size)?;
        enc_time(&mut e, self.atime)?;
        enc_time(&mut e, self.mtime)?;
        enc_time(&mut e, self.ctime)?;
        enc_time(&mut e, self.btime)?;
        e.u64(self.parent)?;
        e.u32(self.map.v.len() as u32)?;
        e.u32(self.inline_entries().len() as u32)?;
        e.u32(self.xattrs().len() as u32)?;
        e.u32(self.target().len() as u32)?;
        e.u32(self.inline.as_ref().map_or(u32::MAX, |d| d.len() as u32))?;
        e.u32(self.prealloc().len() as u32)?;
        if self.ftype.is_special() {
            e.u32(self.rdev)?;
        }
        let (mut pf, mut pl) = (0u64, 0u64);
        for x in self.map.v.iter() {
            e.uvar(x.fblk.wrapping_sub(pf))?;
            e.uvar(zigzag(x.lba.wrapping_sub(pl) as i64))?;
            e.uvar(x.len as u64)?;
            pf = x.end();
            pl = x.lba.wrapping_add(x.len as u64);
        }
        let mut pf = 0u64;
        for x in self.prealloc().iter() {
            e.uvar(x.fblk.wrapping_sub(pf))?;
            e.uvar(x.len as u64)?;
            pf = x.end();
        }
        e.bytes(self.inline_entries())?;
        for x in self.xattrs().iter() {
            e.u8(x.name.len() as u8)?;
            e.u32(x.value.len() as u32)?;
            e.bytes(&x.name)?;
            e.bytes(&x.value)?;
        }
        e.bytes(self.target())?;
        if let Some(d) = &self.inline {
            e.bytes(d)?;
        }
        if let Some(m) = mark {
            e.u64(m.dir)?;
            e.u8(m.name.len() as u8)?;
            e.bytes(&m.name)?;
        }
        Ok(())
    }

    /// Decodes and validates a node payload for inode `ino`, ignoring a
    /// link mark.
    pub fn decode(ino: u64, payload: &[u8]) -> Result<Self> {
        Ok(Self::decode_marked(ino, payload)?.0)
    }

    /// Decodes and validates a node payload for inode `ino` and its link
    /// mark, if it has one (only regular files may).
    pub fn decode_marked(ino: u64, payload: &[u8]) -> Result<(Self, Option<LinkMark>)> {
        let mut d = Dec::new(payload);
        let ftype = kind_from(d.u8()?)?;
        let flags = d.u8()?;
        let iflags = d.u16()?;
        if flags & !FLAG_LINK_MARK != 0 || (flags != 0 && ftype != FileType::Regular) || iflags & !IFLAGS_KNOWN != 0 {
            return Err(EUCLEAN);
        }
        let mode = d.u32()?;
        let uid = d.u32()?;
        let gid = d.u32()?;
        let nlink = d.u32()?;
        let size = d.u64()?;
        let atime = dec_time(&mut d)?;
        let mtime = dec_time(&mut d)?;
        let ctime = dec_time(&mut d)?;
        let btime = dec_time(&mut d)?;
        let parent = d.u64()?;
        let n_ext = d.u32()? as usize;
        let dents_len = d.u32()? as usize;
        let n_x = d.u32()? as usize;
        let tlen = d.u32()? as usize;
        let ilen = d.u32()?;
        let n_pre = d.u32()? as usize;
        let rdev = if ftype.is_special() { d.u32()? } else { 0 };
        if mode & !0o7777 != 0 || nlink > LINK_MAX + 2 {
            return Err(EUCLEAN);
        }
        let mut ino_ = Inode::new(ino, ftype, mode, uid, gid, atime);
        ino_.nlink = nlink;
        ino_.size = size;
        ino_.mtime = mtime;
        ino_.ctime = ctime;
        ino_.btime = btime;
        ino_.parent = parent;
        ino_.rdev = rdev;
        ino_.iflags = iflags;
        ino_.dirty = false;
        ino_.needs_cp = false;
        // Bound every count by the bytes that remain before allocating.
        if n_ext > d.remaining() / EXTENT_MIN_BYTES {
            return Err(EUCLEAN);
        }
        ino_.map.v.try_reserve(n_ext)?;
        let (mut pf, mut pl) = (0u64, 0u64);
        for _ in 0..n_ext {
            // Gaps and lengths are checked (validate() bounds the result);
            // the LBA delta wraps like the encoder.
            let fblk = pf.checked_add(d.uvar()?).ok_or(EUCLEAN)?;
            let lba = pl.wrapping_add(unzigzag(d.uvar()?) as u64);
            let len = u32::try_from(d.uvar()?).map_err(|_| EUCLEAN)?;
            let end = fblk.checked_add(len as u64).ok_or(EUCLEAN)?;
            ino_.map.v.try_push(Extent { fblk, lba, len })?;
            pf = end;
            pl = lba.wrapping_add(len as u64);
        }
        if n_pre != 0 {
            // Reserved runs: only a regular file's, sorted, disjoint, of
            // holes (checked below with the map).
            if ftype != FileType::Regular || n_pre > d.remaining() / PREALLOC_MIN_BYTES {
                return Err(EUCLEAN);
            }
            let pre = &mut ino_.extra_mut()?.prealloc;
            pre.v.try_reserve(n_pre)?;
            let mut pf = 0u64;
            for k in 0..n_pre {
                let gap = d.uvar()?;
                let fblk = pf.checked_add(gap).ok_or(EUCLEAN)?;
                let len = u32::try_from(d.uvar()?).map_err(|_| EUCLEAN)?;
                // Runs are stored merged: touching runs are damage.
                if len == 0 || (k != 0 && gap == 0) {
                    return Err(EUCLEAN);
                }
                let end = fblk.checked_add(len as u64).ok_or(EUCLEAN)?;
                pre.v.try_push(Extent { fblk, lba: fblk, len })?;
                pf = end;
            }
        }
        let dents = d.bytes(dents_len)?;
        let n_ent = super::dir::validate(dents)?;
        if dents_len > super::dir::INLINE_DENTRY_MAX {
            return Err(EUCLEAN);
        }
        if ftype == FileType::Directory && n_ext != 0 {
            // Entries in dentry blocks: as many levels as the map reaches.
            let last = ino_.map.v.last().map_or(0, |e| e.end().saturating_sub(1));
            let levels = super::dir_hash::level_of(last).map_or(super::dir_hash::MAX_LEVELS, |l| l + 1);
            let dir = ino_.dir_mut()?;
            dir.big = true;
            dir.levels = levels;
        } else if ftype == FileType::Directory && n_ent != 0 {
            ino_.dir_mut()?.inline.try_extend_from_slice(dents)?;
        }
        if n_x > d.remaining() / XATTR_FIXED {
            return Err(EUCLEAN);
        }
        let mut total = 0usize;
        for _ in 0..n_x {
            let nl = d.u8()? as usize;
            let vl = d.u32()? as usize;
            let name = d.bytes(nl)?;
            let value = d.bytes(vl)?;
            total += nl + vl;
            if vl > XATTR_SIZE_MAX || total > XATTR_TOTAL_MAX || !super::xattr::valid_name(name) {
                return Err(EUCLEAN);
            }
            let mut n = FVec::new();
            n.try_extend_from_slice(name)?;
            let mut v = FVec::new();
            v.try_extend_from_slice(value)?;
            ino_.extra_mut()?.xattrs.try_push(Xattr { name: n, value: v })?;
        }
        let t = d.bytes(tlen)?;
        if !t.is_empty() {
            ino_.extra_mut()?.target.try_extend_from_slice(t)?;
        }
        ino_.inline = None;
        if ilen != u32::MAX {
            let data = d.bytes(ilen as usize)?;
            if ftype != FileType::Regular || n_ext != 0 || ilen as usize > INLINE_MAX || size != ilen as u64 {
                return Err(EUCLEAN);
            }
            let mut v = FVec::new();
            v.try_extend_from_slice(data)?;
            ino_.inline = Some(v);
        }
        let mut mark = None;
        if flags & FLAG_LINK_MARK != 0 {
            let dir = d.u64()?;
            let len = d.u8()? as usize;
            let name = d.bytes(len)?;
            if super::dir::check_name(name).is_err() || dir == 0 {
                return Err(EUCLEAN);
            }
            let mut v = FVec::new();
            v.try_extend_from_slice(name)?;
            mark = Some(LinkMark { dir, name: v });
        }
        if d.remaining() != 0 {
            return Err(EUCLEAN);
        }
        match ftype {
            FileType::Regular => {
                if size > MAX_FILE_SIZE || n_ent != 0 || tlen != 0 {
                    return Err(EUCLEAN);
                }
                ino_.map.validate(size.div_ceil(4096))?;
                // Reserved blocks may lie past EOF (FALLOC_FL_KEEP_SIZE),
                // never on a mapped block.
                if let Some(x) = ino_.extra.as_ref() {
                    x.prealloc.validate(MAX_FILE_SIZE / 4096)?;
                    if x.prealloc.v.iter().any(|r| ino_.map.mapped_in(r.fblk, r.end()) != 0) {
                        return Err(EUCLEAN);
                    }
                }
            }
            FileType::Directory => {
                // Entries inline (no blocks) or all in dentry blocks
                // (counted by `size`, checked when they are read).
                let inline_ok = n_ext == 0 && size == n_ent;
                if !(inline_ok || (n_ext != 0 && n_ent == 0)) || tlen != 0 || parent == 0 {
                    return Err(EUCLEAN);
                }
                ino_.map.validate(1 << 31)?;
            }
            FileType::Symlink => {
                if n_ext != 0 || n_ent != 0 || tlen == 0 || tlen > SYMLINK_MAX || size != tlen as u64 {
                    return Err(EUCLEAN);
                }
            }
            FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => {
                // Attributes only: no blocks, entries, target or data; a
                // FIFO's or socket's rdev is 0 (what the VFS leaves it).
                if n_ext != 0 || n_ent != 0 || tlen != 0 || size != 0 || (rdev != 0 && !ftype.has_rdev()) {
                    return Err(EUCLEAN);
                }
            }
        }
        Ok((ino_, mark))
    }
}
