//! The filesystem API: an inode-number interface like FUSE low-level.
//!
//! # Overview (API.md)
//!
//! The kernel VFS glue (and the host tests and tools) drive one [`Fs`]
//! value under one mutex: every operation is a `&mut self` method taking
//! inode numbers and names, returning Linux errnos ([`super::errno`]).
//!
//! - Lifecycle: [`format`] a device, [`Fs::mount`] it (newest valid
//!   checkpoint + roll-forward of fsynced files), [`Fs::unmount`] (writes
//!   a checkpoint and hands the device back). [`Fs::ROOT_INO`] is the root.
//! - Time: the core has no clock; call [`Fs::set_time`] before operations
//!   that stamp times (the glue passes `current_time()`).
//! - Permissions (mode/uid/gid checks) are the VFS's job; the core stores
//!   mode/uid/gid and never checks them.
//! - Names are byte strings of 1..=255 bytes without `/` or NUL, not `.` or
//!   `..` (`EINVAL`; `ENAMETOOLONG` beyond 255).
//! - Directories: [`Fs::lookup`], [`Fs::create`], [`Fs::mkdir`],
//!   [`Fs::symlink`], [`Fs::mknod`] (FIFOs, device nodes, sockets), [`Fs::link`], [`Fs::unlink`], [`Fs::rmdir`],
//!   [`Fs::rename`] (with `RENAME_NOREPLACE` / `RENAME_EXCHANGE`),
//!   [`Fs::readdir`] with stable cookies: `.` has cookie 1, `..` cookie 2,
//!   every entry's cookie is its position (dentry block and slot,
//!   `dir.rs`), kept while it lives (a rename gives it a new one);
//!   `readdir(dir, c)` returns the entries whose cookie is > `c` in cookie
//!   order, so a cookie stays valid across unrelated inserts and
//!   removals, and an entry present throughout a listing is returned
//!   once. Start with cookie 0.
//! - Files: [`Fs::read`], [`Fs::write`] at any offset (holes read as
//!   zeros), [`Fs::setattr`] (size = truncate up/down), [`Fs::fsync`].
//! - Inode lifetime: an inode whose link count drops to 0 is freed at once
//!   unless it is held ([`Fs::hold`], e.g. from `iget` while the VFS has it
//!   in its inode cache); then it is freed on the last [`Fs::release`]
//!   (`evict_inode`). Orphans left by a crash are freed at mount. Memory:
//!   an inode is read from disk when a call names it and leaves memory
//!   after its last release once it is clean (`inode_cache.rs`), so the
//!   core holds what the VFS holds plus what the next checkpoint writes.
//! - Extended attributes: `user.` namespace only (`EOPNOTSUPP` otherwise),
//!   persistent: [`Fs::getxattr`], [`Fs::setxattr`], [`Fs::listxattr`],
//!   [`Fs::removexattr`] with Linux's ERANGE/ENODATA/EEXIST semantics.
//! - Snapshots (for computational storage): [`Fs::snapshot`] pins a
//!   regular file's block map and size in memory (not persistent); reads
//!   through the snapshot return the pinned content whatever writers do,
//!   GC skips zones holding pinned blocks; [`Fs::release_snapshot`] unpins.
//! - Durability: [`Fs::fsync`] returns once the file's data and the
//!   metadata to find it are durable (flush included): data + inode node
//!   for plain data changes and for new files (the node then carries the
//!   name; both rolled forward at mount, `fsync.rs`), a full checkpoint
//!   for directories and files renamed or linked since the last one.
//!   [`Fs::sync`] writes a checkpoint.
//! - Space: [`Fs::statfs`]; foreground GC runs inside writes when free
//!   zones run short; [`Fs::gc_step`] is one background GC step.
//! - Checking: [`super::fsck::fsck`] and [`Fs::check`]; [`Fs::dump`] prints
//!   the state.
//! - Shutdown (`FS_IOC_SHUTDOWN`): [`Fs::shutdown`] makes every later change
//!   fail with `EIO` and [`Fs::unmount`] write nothing.
//! - Space: inodes' nodes share pack blocks when small (regular files up to
//!   3 KiB keep their data inline in the node); `statfs` counts nodes as
//!   used.
//!
//! Times: `write` sets mtime+ctime; `setattr` sets ctime (and mtime on a
//! size change) unless given; link/unlink/rename/xattr changes set the
//! inode's ctime and the parents' mtime+ctime; reads never touch atime.

use super::device::ZonedDevice;
use super::errno::*;
pub use super::types::*;

use super::device::{Geometry, BLOCK_SIZE};
use super::dir::check_name;
use super::dir_blocks::Dent;
use super::dirty::DirtyList;
use super::inode::Inode;
use super::inode_table::InodeTable;
use super::layout::{uuid_seed, NODE_PAYLOAD};
use super::mem::{FBox, FVec};
use super::snapshot::Snap;
use super::zones::Zones;
use super::nat::NatTree;

/// Counters for benchmarks and tests.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct FsStats {
    /// Bytes accepted by `write`.
    pub user_bytes: u64,
    /// Data blocks written by writeback.
    pub data_blocks: u64,
    /// Node blocks written.
    pub node_blocks: u64,
    /// Blocks relocated by GC.
    pub gc_blocks: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Checkpoint blocks written.
    pub ckpt_blocks: u64,
    /// Zones reset.
    pub zone_resets: u64,
    /// NAT tree blocks written (counted in `node_blocks` too).
    pub nat_blocks: u64,
    /// Inodes read from their nodes into memory (`inode_cache.rs`).
    pub inode_loads: u64,
    /// Dentry blocks read from disk (`dir_blocks.rs`).
    pub dent_reads: u64,
}

/// A mounted filesystem on device `D`.
pub struct Fs<D: ZonedDevice> {
    pub(super) dev: D,
    pub(super) geo: Geometry,
    pub(super) uuid: [u8; 16],
    /// Volume label (`label.rs`): bytes before the first NUL.
    pub(super) label: [u8; LABEL_MAX + 1],
    pub(super) seed: u32,
    pub(super) ro: bool,
    /// Set after a failed device write: the in-memory state no longer
    /// matches the device, so every later change fails with `EIO`.
    pub(super) broken: bool,
    pub(super) now: Timespec,
    /// Every inode in memory, in slots that do not move
    /// (`inode_table.rs`).
    pub(super) inodes: InodeTable,
    pub(super) next_ino: u64,
    pub(super) node_version: u64,
    /// Sequence of the newest durable checkpoint.
    pub(super) cp_seq: u64,
    pub(super) ckpt_zone: u32,
    pub(super) ckpt_wp: u64,
    pub(super) zones: Zones,
    /// Where the nodes are on disk: the NAT tree's blocks and journal.
    pub(super) nat: NatTree,
    /// Dirty pages over all inodes.
    pub(super) dirty_pages: u64,
    /// Dirty pages of blocks that are not mapped yet (they will add live
    /// blocks when written back).
    pub(super) fresh_pages: u64,
    /// Blocks reserved for dirty folios of the kernel's page cache that are
    /// not mapped yet ([`Fs::reserve`]): promised to a `write(2)` that
    /// already returned, so no other operation may take them.
    pub(super) reserved: u64,
    /// Blocks reserved by `fallocate` over all inodes, in memory or not
    /// (the sum of their reserved runs; kept in the checkpoint).
    pub(super) prealloc: u64,
    pub(super) snaps: FVec<Snap>,
    /// Modifying operations so far (paces the dirty-metadata check).
    pub(super) ops: u64,
    /// `ops` when `begin_op` last measured the dirty set, and after how
    /// many more it measures again.
    pub(super) ops_checked: u64,
    pub(super) check_every: u64,
    /// Inodes whose node was never written (each will take a block).
    pub(super) nodeless: u64,
    /// Inodes the next checkpoint must look at (`dirty.rs`).
    pub(super) dirty: DirtyList,
    /// `next_ino` at the last checkpoint: inodes below it are in it.
    pub(super) cp_next_ino: u64,
    /// Nodes written with a link mark since the last checkpoint (bounds
    /// what mount replays; `fsync.rs`).
    pub(super) marked_fsyncs: u32,
    /// Inside foreground GC (its checkpoints must not start another GC).
    pub(super) in_gc: bool,
    /// Summaries a read-only mount did not write: (zone, chunk)
    /// (`tails.rs`).
    pub(super) unsealed: FVec<(u32, super::summary::Chunk)>,
    /// Mounted read-only and not yet through [`Fs::finish_mount`]: a
    /// remount rw writes `unsealed` and finishes the mount (`remount.rs`).
    pub(super) unfinished: bool,
    /// Mount rolled fsynced nodes forward or freed orphans (what a journal
    /// replay is to ext4): [`Fs::needed_recovery`].
    pub(super) recovered: bool,
    pub(super) next_snap: u64,
    /// Inodes in use (in memory or not).
    pub(super) inodes_used: u64,
    /// Inodes that may leave memory (`inode_cache.rs`).
    pub(super) loose: super::inode_cache::Loose,
    /// Clean dentry blocks a directory keeps in memory before it drops
    /// them (`dir_blocks.rs`).
    pub(super) dent_cache_max: usize,
    /// The last pack block an inode was read from.
    pub(super) pack_cache: super::inode_cache::PackCache,
    /// Traffic counters.
    pub stats: FsStats,
}

/// Formats `dev`: resets every zone and writes an empty filesystem (root
/// directory only) with a first checkpoint. Needs at least 12 zones of at
/// least 16 blocks.
pub fn format<D: ZonedDevice>(dev: &mut D, opts: &FormatOptions) -> Result<()> {
    let geo = dev.geometry();
    check_geometry(&geo)?;
    for z in 0..geo.zone_count {
        dev.reset(z)?;
    }
    let mut fs = Fs::empty(&mut *dev, geo, opts.uuid, opts.now)?;
    fs.label = super::label::checked(&opts.label).ok_or(EINVAL)?;
    let mut root = Inode::new(Fs::<D>::ROOT_INO, FileType::Directory, opts.root_mode, opts.root_uid, opts.root_gid, opts.now);
    root.nlink = 2;
    root.parent = Fs::<D>::ROOT_INO;
    let r = fs.inodes.insert(FBox::try_new(root)?)?;
    fs.inodes[r].mark_dirty(&mut fs.dirty);
    fs.next_ino = Fs::<D>::ROOT_INO + 1;
    fs.inodes_used = 1;
    fs.sync()
}

/// Checks that the core can run on `geo`.
pub(super) fn check_geometry(geo: &Geometry) -> Result<()> {
    if geo.zone_count < 12 || geo.zone_cap < 16 || geo.zone_cap > geo.zone_size || geo.zone_cap > (u32::MAX / super::zones::BLOCK_UNITS) as u64 {
        return Err(EINVAL);
    }
    if geo.max_active != 0 && geo.max_active < 5 {
        return Err(EINVAL);
    }
    if geo.max_open != 0 && geo.max_open < 4 {
        return Err(EINVAL);
    }
    geo.zone_size.checked_mul(geo.zone_count as u64).ok_or(EINVAL)?;
    Ok(())
}

/// Node blocks one namespace or write operation dirties at most, as far as
/// `begin_op`'s pacing is concerned (an inode, a dentry block, a parent,
/// one more for a rename's second directory).
const DIRTY_BLOCKS_PER_OP: u64 = 4;

impl<D: ZonedDevice> Fs<D> {
    /// Inode number of the root directory.
    pub const ROOT_INO: u64 = 1;

    /// An in-memory filesystem with no inodes (format and mount fill it).
    pub(super) fn empty(dev: D, geo: Geometry, uuid: [u8; 16], now: Timespec) -> Result<Self> {
        Ok(Self {
            dev,
            geo,
            uuid,
            label: [0; LABEL_MAX + 1],
            seed: uuid_seed(&uuid),
            ro: false,
            broken: false,
            now,
            inodes: InodeTable::default(),
            next_ino: Self::ROOT_INO,
            node_version: 1,
            cp_seq: 0,
            ckpt_zone: 0,
            ckpt_wp: 0,
            zones: Zones::new(geo, uuid_seed(&uuid))?,
            nat: NatTree::new()?,
            dirty_pages: 0,
            fresh_pages: 0,
            reserved: 0,
            prealloc: 0,
            snaps: FVec::new(),
            in_gc: false,
            unsealed: FVec::new(),
            unfinished: false,
            recovered: false,
            nodeless: 0,
            dirty: DirtyList::default(),
            ops: 0,
            ops_checked: 0,
            cp_next_ino: 0,
            marked_fsyncs: 0,
            check_every: 64,
            next_snap: 1,
            inodes_used: 0,
            loose: super::inode_cache::Loose::new(),
            dent_cache_max: super::dir_blocks::DENT_CACHE_MAX,
            pack_cache: super::inode_cache::PackCache::new(),
            stats: FsStats::default(),
        })
    }

    /// Writes a checkpoint and returns the device. After [`Fs::shutdown`]
    /// (or a failed device write, already reported to that call) nothing
    /// is written and the device is returned as it is.
    pub fn unmount(mut self) -> Result<D> {
        if !self.ro && !self.broken && !self.zones.failed {
            self.sync()?;
        }
        Ok(self.dev)
    }

    /// The device (for statistics in tests and benchmarks).
    pub fn device(&self) -> &D {
        &self.dev
    }

    /// Sets the time stamped by the following operations.
    pub fn set_time(&mut self, now: Timespec) {
        self.now = now;
    }

    pub(super) fn writable(&self) -> Result<()> {
        if self.ro {
            return Err(EROFS);
        }
        if self.broken || self.zones.failed {
            return Err(EIO);
        }
        Ok(())
    }

    /// Start of a modifying operation: refuses on a read-only or broken
    /// filesystem, and bounds the metadata a checkpoint will have to write
    /// when space is short (a checkpoint writes every dirty node, and
    /// reclaiming space needs a checkpoint, so the dirty set must fit in
    /// the reserve).
    pub(super) fn begin_op(&mut self) -> Result<()> {
        self.writable()?;
        self.ops = self.ops.wrapping_add(1);
        let low = self.zones.free_zones() <= self.zones.reserve + 1;
        // Measuring the dirty set walks every inode, so it is measured
        // again only after as many operations as could, at a few node
        // blocks each (an inode, a dentry block, a parent), use up the
        // room left below the limit: O(1) per operation at any inode count,
        // every 64 operations near the limit, every one when space is low.
        if low || self.ops.wrapping_sub(self.ops_checked) >= self.check_every {
            self.ops_checked = self.ops;
            let free = self.zones.free_zones().saturating_sub(self.zones.reserve) as u64;
            let avail = free.saturating_mul(self.geo.zone_cap) + self.zones.head_room(super::zones::H_NODE);
            let mut dirty = self.dirty_node_blocks();
            if dirty > avail / 2 || (low && dirty > self.geo.zone_cap / 2) {
                // Best effort: an operation that frees space (unlink) must
                // not fail because this early checkpoint found none.
                match self.checkpoint() {
                    Err(ENOSPC) => {}
                    other => other?,
                }
                dirty = self.dirty_node_blocks();
            }
            self.check_every = ((avail / 2).saturating_sub(dirty) / DIRTY_BLOCKS_PER_OP).clamp(64, 1 << 16);
        }
        Ok(())
    }

    /// Blocks counted against `usable_blocks`: live blocks, dirty pages of
    /// unmapped blocks (the core's and the reserved ones), blocks reserved
    /// by `fallocate`, an estimate for never-written nodes, and the dead
    /// blocks of zones pinned by snapshots (GC cannot reclaim those until
    /// the snapshots go away, so admitting writes into them would turn
    /// into an ENOSPC at writeback).
    pub(super) fn used_blocks(&self) -> u64 {
        // New inodes will mostly share pack blocks; a quarter block each is
        // a conservative estimate until the checkpoint writes them.
        let mut used = self.zones.live_blocks() + self.fresh_pages + self.reserved + self.prealloc + self.nodeless.div_ceil(4);
        if !self.snaps.is_empty() {
            for z in self.zones.z.iter() {
                if z.pins > 0 {
                    used += z.wp.saturating_sub(z.live_blocks());
                }
            }
        }
        used
    }

    /// Node blocks the next checkpoint will write.
    pub(super) fn dirty_node_blocks(&self) -> u64 {
        let (mut blocks, mut packed) = (0u64, 0u64);
        let mut k = 0;
        while let Some(slot) = self.dirty_slot(k) {
            k += 1;
            let Some(i) = slot else { continue };
            let n = &self.inodes[i];
            if !n.is_dirty() && n.node_blocks != 0 {
                continue;
            }
            // A directory's changed dentry blocks are written with it.
            blocks += n.dir_state().map_or(0, |d| d.dirty_blocks as u64);
            let len = n.encoded_len();
            if len <= super::layout::PACK_MAX {
                packed += (len + super::layout::PACK_REC) as u64;
            } else {
                blocks += len.div_ceil(NODE_PAYLOAD) as u64;
            }
        }
        // Packs are filled greedily: allow for the wasted tails.
        blocks + (packed * 2).div_ceil(NODE_PAYLOAD as u64)
    }

    /// Largest node payload: a node must fit in one zone.
    pub(super) fn max_node_bytes(&self) -> usize {
        let blocks = core::cmp::min(self.geo.zone_cap, u16::MAX as u64) as usize;
        blocks.saturating_mul(NODE_PAYLOAD)
    }

    /// Maximum number of inodes: inode numbers stay below [`INO_END`]
    /// (the NAT tree addresses all of them).
    pub(super) fn max_inodes(&self) -> u64 {
        INO_END - 2
    }

    /// Makes the next inode number at least `ino`; the numbers skipped are
    /// never used. Numbers are not reused, so a filesystem that has made
    /// billions of files hands out high ones: tests get there without
    /// making them all.
    pub fn skip_inode_numbers_to(&mut self, ino: u64) -> Result<()> {
        if ino > INO_END {
            return Err(EINVAL);
        }
        self.next_ino = core::cmp::max(self.next_ino, ino);
        Ok(())
    }

    /// Inodes the filesystem admits (`statfs.files`): the NAT bound, and
    /// at most 16 per usable block (small inodes share pack blocks).
    pub(super) fn inode_limit(&self) -> u64 {
        core::cmp::min(self.max_inodes(), self.zones.usable_blocks().saturating_mul(16))
    }

    pub(super) fn dir_index(&mut self, dir: u64) -> Result<usize> {
        let d = self.find(dir)?;
        if self.inodes[d].ftype != FileType::Directory {
            return Err(ENOTDIR);
        }
        Ok(d)
    }

    /// Looks `name` up in directory `dir`.
    pub fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<Attr> {
        self.trim_inodes(false);
        let d = self.dir_index(dir)?;
        check_name(name)?;
        let e = self.dir_find(d, name)?.ok_or(ENOENT)?;
        let (ino, ftype) = (e.ino, e.ftype);
        // An entry naming a missing inode, one of another type or the
        // root is damage the lookup reports.
        let n = self.inode(ino).map_err(|e| if e == ENOENT { EUCLEAN } else { e })?;
        if n.ftype != ftype || ino == Self::ROOT_INO {
            return Err(EUCLEAN);
        }
        Ok(n.attr())
    }

    /// Attributes of `ino`.
    pub fn getattr(&mut self, ino: u64) -> Result<Attr> {
        self.trim_inodes(false);
        Ok(self.inode(ino)?.attr())
    }

    /// Changes attributes; `size` truncates (`EISDIR` on directories,
    /// `EINVAL` on symlinks, `EFBIG` beyond [`MAX_FILE_SIZE`]). A size
    /// change sets mtime and ctime to now unless given; any change sets
    /// ctime to now unless given.
    pub fn setattr(&mut self, ino: u64, set: &SetAttr) -> Result<Attr> {
        self.begin_op()?;
        let i = self.find(ino)?;
        if let Some(size) = set.size {
            match self.inodes[i].ftype {
                FileType::Directory => return Err(EISDIR),
                // The VFS refuses these before they get here (truncate(2)
                // of a FIFO or device is EINVAL), as the core does.
                FileType::Symlink | FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => {
                    return Err(EINVAL)
                }
                FileType::Regular => {}
            }
            if size > MAX_FILE_SIZE {
                return Err(EFBIG);
            }
            if size > self.inodes[i].size {
                let grow = size.div_ceil(4096).saturating_sub(self.inodes[i].size.div_ceil(4096));
                let _ = grow; // holes take no space
            }
            self.truncate(i, size)?;
            let now = self.now;
            self.inodes[i].mtime = set.mtime.unwrap_or(now);
        }
        let now = self.now;
        let n = &mut self.inodes[i];
        if let Some(m) = set.mode {
            n.mode = m & 0o7777;
        }
        if let Some(u) = set.uid {
            n.uid = u;
        }
        if let Some(g) = set.gid {
            n.gid = g;
        }
        if let Some(t) = set.atime {
            n.atime = t;
        }
        if let Some(t) = set.mtime {
            n.mtime = t;
        }
        n.ctime = set.ctime.unwrap_or(now);
        n.mark_dirty(&mut self.dirty);
        Ok(n.attr())
    }

    /// Creates a new inode named `name` in `dir`; returns its index.
    fn new_inode(&mut self, dir: u64, name: &[u8], ftype: FileType, mode: u32, uid: u32, gid: u32) -> Result<usize> {
        self.begin_op()?;
        self.new_inode_in(dir, name, ftype, mode, uid, gid)
    }

    /// [`Fs::new_inode`] inside an operation that already began (no
    /// early checkpoint can split it: `overlay.rs`'s whiteout).
    pub(super) fn new_inode_in(&mut self, dir: u64, name: &[u8], ftype: FileType, mode: u32, uid: u32, gid: u32) -> Result<usize> {
        let d = self.dir_index(dir)?;
        check_name(name)?;
        if self.dir_find(d, name)?.is_some() {
            return Err(EEXIST);
        }
        if self.inodes_used >= self.inode_limit() || self.next_ino >= INO_END {
            return Err(ENOSPC);
        }
        // Every inode needs at least one node block.
        let used = self.used_blocks();
        if used + 1 > self.zones.usable_blocks() {
            return Err(ENOSPC);
        }
        self.check_node_growth(d, super::inode::DENTRY_FIXED + name.len())?;
        if ftype == FileType::Directory && self.inodes[d].nlink >= LINK_MAX {
            return Err(EMLINK);
        }
        let ino = self.next_ino;
        let mut n = Inode::new(ino, ftype, mode, uid, gid, self.now);
        if ftype == FileType::Directory {
            n.nlink = 2;
            n.parent = dir;
        }
        self.inodes.try_reserve(1)?;
        let mut n = FBox::try_new(n)?;
        let cookie = self.dir_add(d, name, ino, ftype)?;
        if ftype == FileType::Regular {
            n.born = core::num::NonZeroU64::new(cookie).map(|cookie| super::inode::Born { dir, cookie });
        }
        // Cannot fail now: room was reserved above (and the number is new).
        let k = self.inodes.insert(n)?;
        self.inodes[k].mark_dirty(&mut self.dirty);
        self.loose.note(ino);
        self.next_ino += 1;
        self.inodes_used += 1;
        self.nodeless += 1;
        if ftype == FileType::Directory {
            self.inodes[d].nlink += 1;
        }
        self.touch_dir(d);
        Ok(k)
    }

    /// `ENOSPC` if inode `i`'s node would outgrow a zone by `extra` bytes.
    pub(super) fn check_node_growth(&self, i: usize, extra: usize) -> Result<()> {
        let n = &self.inodes[i];
        if n.encoded_len_bound().saturating_add(extra) <= self.max_node_bytes() {
            return Ok(());
        }
        if n.encoded_len().saturating_add(extra) > self.max_node_bytes() {
            return Err(ENOSPC);
        }
        Ok(())
    }

    /// Creates a regular file (`mode` = permission bits).
    pub fn create(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Attr> {
        let i = self.new_inode(dir, name, FileType::Regular, mode, uid, gid)?;
        Ok(self.inodes[i].attr())
    }

    /// Creates a directory.
    pub fn mkdir(&mut self, dir: u64, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Attr> {
        let i = self.new_inode(dir, name, FileType::Directory, mode, uid, gid)?;
        Ok(self.inodes[i].attr())
    }

    /// Creates a symlink to `target` (1..=4095 bytes, `ENAMETOOLONG`
    /// beyond, `ENOENT` if empty), mode 0777.
    pub fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Attr> {
        if target.is_empty() {
            return Err(ENOENT);
        }
        if target.len() > SYMLINK_MAX {
            return Err(ENAMETOOLONG);
        }
        let mut t = FVec::new();
        t.try_extend_from_slice(target)?;
        let i = self.new_inode(dir, name, FileType::Symlink, 0o777, uid, gid)?;
        let n = &mut self.inodes[i];
        n.extra_mut()?.target = t;
        n.size = target.len() as u64;
        Ok(n.attr())
    }

    /// Creates a FIFO, device node or socket (`ftype`; `EINVAL` for other
    /// types, which have their own calls). `rdev` is kept for device nodes
    /// and must be 0 for the others (`EINVAL`; the kernel glue passes 0,
    /// as `init_special_inode` ignores it for them).
    pub fn mknod(&mut self, dir: u64, name: &[u8], ftype: FileType, mode: u32, rdev: u32, uid: u32, gid: u32) -> Result<Attr> {
        if !ftype.is_special() || (rdev != 0 && !ftype.has_rdev()) {
            return Err(EINVAL);
        }
        let i = self.new_inode(dir, name, ftype, mode, uid, gid)?;
        let n = &mut self.inodes[i];
        n.rdev = rdev;
        Ok(n.attr())
    }

    /// Copies a symlink's target into `buf`; returns the bytes copied
    /// (truncated if `buf` is short, like readlink(2)). `EINVAL` if `ino`
    /// is not a symlink.
    pub fn readlink(&mut self, ino: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.inode(ino)?;
        if n.ftype != FileType::Symlink {
            return Err(EINVAL);
        }
        let target = n.target();
        let k = core::cmp::min(buf.len(), target.len());
        buf[..k].copy_from_slice(&target[..k]);
        Ok(k)
    }

    /// Adds a hard link `newdir/newname` to `ino` (`EPERM` for directories,
    /// `EMLINK` beyond [`LINK_MAX`]).
    pub fn link(&mut self, ino: u64, newdir: u64, newname: &[u8]) -> Result<Attr> {
        self.begin_op()?;
        let i = self.find(ino)?;
        let d = self.dir_index(newdir)?;
        check_name(newname)?;
        if self.dir_find(d, newname)?.is_some() {
            return Err(EEXIST);
        }
        if self.inodes[i].ftype == FileType::Directory {
            return Err(EPERM);
        }
        if self.inodes[i].nlink >= LINK_MAX {
            return Err(EMLINK);
        }
        self.check_node_growth(d, super::inode::DENTRY_FIXED + newname.len())?;
        let ftype = self.inodes[i].ftype;
        self.dir_add(d, newname, ino, ftype)?;
        self.touch_dir(d);
        let now = self.now;
        let n = &mut self.inodes[i];
        n.nlink += 1;
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        n.needs_cp = true;
        n.born = None;
        Ok(n.attr())
    }

    /// Drops one link of inode index `i`; frees it at 0 unless held.
    fn drop_link(&mut self, i: usize) -> Result<()> {
        let now = self.now;
        let n = &mut self.inodes[i];
        n.nlink = n.nlink.saturating_sub(1);
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        n.needs_cp = true;
        n.born = None;
        if n.nlink == 0 && n.holds == 0 {
            self.free_inode(i)?;
        }
        Ok(())
    }

    /// Frees inode index `i`: its blocks, node and pages.
    pub(super) fn free_inode(&mut self, i: usize) -> Result<()> {
        if self.inodes[i].node_blocks != 0 {
            // Its NAT entry goes.
            let ino = self.inodes[i].ino;
            self.nat.set(super::checkpoint::NatEntry { ino, lba: 0, blocks: 0 })?;
        }
        let n = self.inodes.remove(i).ok_or(ENOENT)?;
        self.inodes_used = self.inodes_used.saturating_sub(1);
        if n.node_blocks == 0 {
            self.nodeless = self.nodeless.saturating_sub(1);
        }
        for e in n.map.v.iter() {
            for k in 0..e.len as u64 {
                self.zones.release(e.lba + k);
            }
        }
        self.zones.release_node(n.node_lba, n.node_blocks, n.pack_units());
        self.prealloc = self.prealloc.saturating_sub(n.prealloc_blocks());
        self.dirty_pages = self.dirty_pages.saturating_sub(n.pages.len() as u64);
        let fresh = n.pages.iter().filter(|p| p.fresh).count() as u64;
        self.fresh_pages = self.fresh_pages.saturating_sub(fresh);
        Ok(())
    }

    fn touch_dir(&mut self, d: usize) {
        let now = self.now;
        let p = &mut self.inodes[d];
        p.mtime = now;
        p.ctime = now;
        p.mark_dirty(&mut self.dirty);
        p.needs_cp = true;
    }

    /// Removes a non-directory entry (`EISDIR` for directories).
    pub fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.begin_op()?;
        let d = self.dir_index(dir)?;
        check_name(name)?;
        let e = self.dir_find(d, name)?.ok_or(ENOENT)?;
        if e.ftype == FileType::Directory {
            return Err(EISDIR);
        }
        self.dir_remove(d, e.cookie)?;
        let ino = e.ino;
        self.touch_dir(d);
        let i = self.find(ino).map_err(|_| EUCLEAN)?;
        self.drop_link(i)
    }

    /// Removes an empty directory (`ENOTEMPTY`, `ENOTDIR`).
    pub fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.begin_op()?;
        let d = self.dir_index(dir)?;
        check_name(name)?;
        let e = self.dir_find(d, name)?.ok_or(ENOENT)?;
        let ino = e.ino;
        let i = self.find(ino).map_err(|_| EUCLEAN)?;
        if self.inodes[i].ftype != FileType::Directory {
            return Err(ENOTDIR);
        }
        if self.inodes[i].size != 0 {
            return Err(ENOTEMPTY);
        }
        self.dir_remove(d, e.cookie)?;
        self.inodes[d].nlink = self.inodes[d].nlink.saturating_sub(1);
        self.touch_dir(d);
        let i = self.find(ino)?;
        self.inodes[i].nlink = 1;
        self.drop_link(i)
    }

    /// True if directory `anc` is `ino` or one of its ancestors.
    fn is_ancestor(&mut self, anc: u64, mut ino: u64) -> Result<bool> {
        // Bounded by the number of inodes: a parent cycle on a corrupted
        // image cannot loop forever.
        for _ in 0..=self.inodes_used {
            if ino == anc {
                return Ok(true);
            }
            if ino == Self::ROOT_INO {
                return Ok(false);
            }
            ino = self.inode(ino)?.parent;
        }
        Err(EUCLEAN)
    }

    /// Renames like rename(2)/renameat2(2): replaces a compatible target
    /// (`EISDIR`/`ENOTDIR`/`ENOTEMPTY` otherwise), `EINVAL` when moving a
    /// directory under itself, flags [`RENAME_NOREPLACE`] and
    /// [`RENAME_EXCHANGE`]. Renaming onto a hard link of the same inode is
    /// a no-op. The renamed entry gets a new readdir cookie (its name's
    /// hash places it; a replaced target's entry keeps its own).
    pub fn rename(&mut self, olddir: u64, oldname: &[u8], newdir: u64, newname: &[u8], flags: u32) -> Result<()> {
        self.begin_op()?;
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(EINVAL);
        }
        let od = self.dir_index(olddir)?;
        let nd = self.dir_index(newdir)?;
        check_name(oldname)?;
        let se = self.dir_find(od, oldname)?.ok_or(ENOENT)?;
        check_name(newname)?;
        let (src, stype) = (se.ino, se.ftype);
        let de = self.dir_find(nd, newname)?;
        let dst = de.map(|e| (e.ino, e.ftype));
        if flags & RENAME_NOREPLACE != 0 && dst.is_some() {
            return Err(EEXIST);
        }
        // lock_rename()'s traps, in Linux's order: the source may not be an
        // ancestor of the target directory (EINVAL), the target may not be
        // an ancestor of the source directory (ENOTEMPTY, EINVAL for an
        // exchange).
        if stype == FileType::Directory && olddir != newdir && self.is_ancestor(src, newdir)? {
            return Err(EINVAL);
        }
        if let Some((dino, dtype)) = dst {
            if dtype == FileType::Directory && olddir != newdir && self.is_ancestor(dino, olddir)? {
                return Err(if flags & RENAME_EXCHANGE != 0 { EINVAL } else { ENOTEMPTY });
            }
        }
        if flags & RENAME_EXCHANGE != 0 {
            dst.ok_or(ENOENT)?;
            return self.exchange(od, se, nd, de.ok_or(ENOENT)?);
        }
        if let Some((dino, dtype)) = dst {
            if dino == src {
                return Ok(());
            }
            match (stype == FileType::Directory, dtype == FileType::Directory) {
                (true, false) => return Err(ENOTDIR),
                (false, true) => return Err(EISDIR),
                _ => {}
            }
            let di = self.find(dino).map_err(|_| EUCLEAN)?;
            if dtype == FileType::Directory && self.inodes[di].size != 0 {
                return Err(ENOTEMPTY);
            }
        } else {
            self.check_node_growth(nd, super::inode::DENTRY_FIXED + newname.len())?;
        }
        // A replaced target's entry (and cookie) takes the source, so a
        // listing in progress sees that name once; otherwise the new name
        // is added before the old one goes (a failure keeps a name).
        if let (Some((dino, dtype)), Some(de)) = (dst, de) {
            self.dir_retarget(nd, de.cookie, src, stype)?;
            let od = self.find(olddir)?;
            self.dir_remove(od, se.cookie)?;
            let di = self.find(dino)?;
            if dtype == FileType::Directory {
                self.inodes[di].nlink = 1;
                let nd2 = self.find(newdir)?;
                self.inodes[nd2].nlink = self.inodes[nd2].nlink.saturating_sub(1);
            }
            self.drop_link(di)?;
        }
        let od = self.find(olddir)?;
        let nd = self.find(newdir)?;
        if dst.is_none() {
            self.dir_add(nd, newname, src, stype)?;
            self.dir_remove(od, se.cookie)?;
        }
        if stype == FileType::Directory && olddir != newdir {
            self.inodes[od].nlink = self.inodes[od].nlink.saturating_sub(1);
            self.inodes[nd].nlink += 1;
            let si = self.find(src)?;
            self.inodes[si].parent = newdir;
        }
        self.touch_dir(od);
        self.touch_dir(nd);
        let si = self.find(src)?;
        let now = self.now;
        let s = &mut self.inodes[si];
        s.ctime = now;
        s.mark_dirty(&mut self.dirty);
        s.needs_cp = true;
        s.born = None;
        Ok(())
    }

    /// RENAME_EXCHANGE: swaps the targets of two entries.
    fn exchange(&mut self, od: usize, se: Dent, nd: usize, de: Dent) -> Result<()> {
        let (a, at) = (se.ino, se.ftype);
        let (b, bt) = (de.ino, de.ftype);
        if a == b {
            return Ok(());
        }
        self.dir_retarget(od, se.cookie, b, bt)?;
        self.dir_retarget(nd, de.cookie, a, at)?;
        let (oino, nino) = (self.inodes[od].ino, self.inodes[nd].ino);
        if oino != nino {
            let a_dir = at == FileType::Directory;
            let b_dir = bt == FileType::Directory;
            if a_dir != b_dir {
                // The directory moves from one parent to the other.
                let (from, to) = if a_dir { (od, nd) } else { (nd, od) };
                self.inodes[from].nlink = self.inodes[from].nlink.saturating_sub(1);
                self.inodes[to].nlink += 1;
            }
            if a_dir {
                let ai = self.find(a)?;
                self.inodes[ai].parent = nino;
            }
            if b_dir {
                let bi = self.find(b)?;
                self.inodes[bi].parent = oino;
            }
        }
        self.touch_dir(od);
        self.touch_dir(nd);
        let now = self.now;
        for ino in [a, b] {
            let i = self.find(ino)?;
            let n = &mut self.inodes[i];
            n.ctime = now;
            n.mark_dirty(&mut self.dirty);
            n.needs_cp = true;
            n.born = None;
        }
        Ok(())
    }

    /// Lists `dir` from after `cookie` (0 = start). For each entry calls
    /// `emit(name, ino, type, next_cookie)`; `emit` returns false to stop
    /// (the entry it returned false for is not consumed: resume with the
    /// previous entry's cookie). `.` and `..` are included (cookies 1, 2).
    pub fn readdir(
        &mut self,
        dir: u64,
        cookie: u64,
        emit: &mut dyn FnMut(&[u8], u64, FileType, u64) -> bool,
    ) -> Result<()> {
        self.trim_inodes(false);
        let d = self.dir_index(dir)?;
        let (ino, parent) = (self.inodes[d].ino, self.inodes[d].parent);
        if cookie < 1 && !emit(b".", ino, FileType::Directory, 1) {
            return Ok(());
        }
        if cookie < 2 && !emit(b"..", parent, FileType::Directory, 2) {
            return Ok(());
        }
        self.dir_walk(d, cookie, &mut |e, name| emit(name, e.ino, e.ftype, e.cookie))
    }

    /// Flushes the device; a failure breaks the filesystem.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.dev.flush().map_err(|e| {
            self.broken = true;
            e
        })
    }

    /// Writes all dirty data, then a checkpoint (then lets the inodes it
    /// made clean leave memory: callers hold no slot across it).
    pub fn sync(&mut self) -> Result<()> {
        self.writable()?;
        self.writeback_all()?;
        self.checkpoint()?;
        self.trim_inodes(true);
        Ok(())
    }

    /// Filesystem statistics.
    pub fn statfs(&mut self) -> Result<StatFs> {
        let blocks = self.zones.usable_blocks();
        let used = self.used_blocks();
        let free = blocks.saturating_sub(used);
        let files = self.inode_limit();
        Ok(StatFs {
            bsize: BLOCK_SIZE as u32,
            blocks,
            bfree: free,
            bavail: free,
            files,
            ffree: files.saturating_sub(self.inodes_used),
            namelen: NAME_MAX as u32,
        })
    }

    /// Notes that the VFS holds `ino` (it stays allocated at link count 0).
    pub fn hold(&mut self, ino: u64) -> Result<()> {
        let i = self.find(ino)?;
        self.inodes[i].holds = self.inodes[i].holds.saturating_add(1);
        Ok(())
    }

    /// Drops one hold; frees the inode if it was the last and its link
    /// count is 0.
    pub fn release(&mut self, ino: u64) -> Result<()> {
        let i = self.find(ino)?;
        let n = &mut self.inodes[i];
        n.holds = n.holds.saturating_sub(1);
        if n.holds == 0 && n.nlink == 0 && !self.ro {
            self.free_inode(i)?;
        } else if n.holds == 0 {
            // The VFS evicted it: it leaves memory once it is clean.
            self.let_go(i);
        }
        Ok(())
    }

    /// Reads xattr `name` into `buf`; returns its size. An empty `buf`
    /// queries the size; `ERANGE` if `buf` is too small, `ENODATA` if
    /// absent, `EOPNOTSUPP` outside the stored namespaces (`xattr.rs`).
    pub fn getxattr(&mut self, ino: u64, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        self.inode(ino)?.get_xattr(name, buf)
    }

    /// Sets xattr `name` ([`XATTR_CREATE`] -> `EEXIST`, [`XATTR_REPLACE`] ->
    /// `ENODATA`; `E2BIG` beyond [`XATTR_SIZE_MAX`], `ENOSPC` beyond
    /// [`XATTR_TOTAL_MAX`] per inode). Sets ctime.
    pub fn setxattr(&mut self, ino: u64, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        self.begin_op()?;
        let i = self.find(ino)?;
        self.check_node_growth(i, super::inode::XATTR_FIXED + name.len() + value.len())?;
        let now = self.now;
        let n = &mut self.inodes[i];
        n.set_xattr(name, value, flags)?;
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// Lists xattr names, each NUL-terminated, into `buf`; returns the total
    /// size (empty `buf` = size query, `ERANGE` if too small).
    pub fn listxattr(&mut self, ino: u64, buf: &mut [u8]) -> Result<usize> {
        self.listxattr_visible(ino, buf, true)
    }

    /// [`Fs::listxattr`] leaving out `trusted.*` names unless `trusted`
    /// (the caller has CAP_SYS_ADMIN: ext4 lists them only then).
    pub fn listxattr_visible(&mut self, ino: u64, buf: &mut [u8], trusted: bool) -> Result<usize> {
        self.inode(ino)?.list_xattr(buf, trusted)
    }

    /// Removes xattr `name` (`ENODATA` if absent). Sets ctime.
    pub fn removexattr(&mut self, ino: u64, name: &[u8]) -> Result<()> {
        self.begin_op()?;
        let i = self.find(ino)?;
        let now = self.now;
        let n = &mut self.inodes[i];
        n.remove_xattr(name)?;
        n.ctime = now;
        n.mark_dirty(&mut self.dirty);
        Ok(())
    }

    /// FS_IOC_SHUTDOWN (no log flush): from now on every modifying call
    /// fails with `EIO` and nothing more reaches the device; reads keep
    /// working. What the last checkpoint and fsyncs made durable is what a
    /// remount will see.
    pub fn shutdown(&mut self) {
        self.broken = true;
    }

    /// True after [`Fs::shutdown`] or a failed device write.
    pub fn is_shut_down(&self) -> bool {
        self.broken || self.zones.failed
    }

    /// Drops the in-memory state without writing anything (a crash, as far
    /// as the device is concerned) and returns the device.
    pub fn into_device(self) -> D {
        self.dev
    }

    /// Geometry of the device.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Number of inodes in use.
    pub fn inode_count(&self) -> usize {
        self.inodes_used as usize
    }

    /// Number of inodes in memory.
    pub fn inodes_in_memory(&self) -> usize {
        self.inodes.len()
    }
}
