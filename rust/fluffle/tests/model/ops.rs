//! The operations of the model-based test and their random generation.
//!
//! Operations name inodes by their *model* inode number; the driver maps
//! them to the core's numbers. Generation looks at the model's current
//! state so most operations hit existing objects, while a share of them
//! deliberately provoke every errno (missing names, wrong kinds, names of
//! 256 bytes, moving a directory under itself, ...).

use std::fmt;

use super::reference::{Ino, Kind, Model, XATTR_CREATE, XATTR_REPLACE};
use super::rng::Rng;

/// A file or directory name, printed compactly when long.
#[derive(Clone, PartialEq, Eq)]
pub struct Name(pub Vec<u8>);

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() > 24 {
            write!(f, "<{} bytes {:?}..>", self.0.len(), String::from_utf8_lossy(&self.0[..8]))
        } else {
            write!(f, "{:?}", String::from_utf8_lossy(&self.0))
        }
    }
}

/// One operation of a sequence.
#[derive(Clone, Debug)]
pub enum Op {
    Lookup { dir: Ino, name: Name },
    Getattr { ino: Ino },
    Create { dir: Ino, name: Name, perm: u32 },
    Mkdir { dir: Ino, name: Name, perm: u32 },
    Symlink { dir: Ino, name: Name, target: Name },
    /// A FIFO, device node or socket (`rdev` is dropped by the VFS, so
    /// by the model, for FIFOs and sockets).
    Mknod { dir: Ino, name: Name, kind: Kind, perm: u32, rdev: u32 },
    Readlink { ino: Ino },
    Link { ino: Ino, dir: Ino, name: Name },
    Unlink { dir: Ino, name: Name },
    Rmdir { dir: Ino, name: Name },
    Rename { sdir: Ino, sname: Name, ddir: Ino, dname: Name, noreplace: bool },
    /// `renameat2(RENAME_EXCHANGE)`.
    Exchange { sdir: Ino, sname: Name, ddir: Ino, dname: Name },
    /// Write `len` bytes of `pattern(seed, len)` at `off`.
    Write { ino: Ino, off: u64, len: usize, seed: u64 },
    Read { ino: Ino, off: u64, len: usize },
    Truncate { ino: Ino, size: u64 },
    /// `fallocate(mode, off, len)`.
    Fallocate { ino: Ino, mode: u32, off: u64, len: u64 },
    Chmod { ino: Ino, perm: u32 },
    Chown { ino: Ino, uid: u32, gid: u32 },
    /// List a directory `chunk` entries at a time (resuming by cookie).
    Readdir { dir: Ino, chunk: usize },
    /// Read part of a directory, mutate it with `mutation`, read the rest:
    /// entries untouched by the mutation must appear exactly once.
    ReaddirMutating { dir: Ino, first: usize, mutation: Box<Op> },
    /// The VFS takes / drops a reference (open file): unlinked files stay
    /// usable while held.
    Hold { ino: Ino },
    Release { ino: Ino },
    Fsync { ino: Ino, datasync: bool },
    Sync,
    Remount,
    Statfs,
    SetXattr { ino: Ino, name: Name, value_len: usize, seed: u64, flags: u32 },
    /// `size` 0 asks for the length; a too small size must give ERANGE.
    GetXattr { ino: Ino, name: Name, size: usize },
    ListXattr { ino: Ino, size: usize },
    RemoveXattr { ino: Ino, name: Name },
    /// Compare every file, directory and symlink of the whole tree.
    CheckAll,
    /// One garbage-collection step of the core (no visible effect allowed).
    GcStep,
    /// Pin the file's current content as snapshot number `slot`.
    SnapCreate { ino: Ino, slot: usize },
    /// Read snapshot `slot` (if it exists) and compare with what was pinned.
    SnapRead { slot: usize, off: u64, len: usize },
    SnapRelease { slot: usize },
}

/// Knobs of the generator.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// The model's total file bytes stay under this (ENOSPC is not modelled).
    pub data_budget: u64,
    /// Largest file offset written or truncated to.
    pub max_file: u64,
    /// Snapshot slots.
    pub snap_slots: usize,
    /// Live inodes stay under this: every inode costs the core a 4 KiB
    /// node block, so inodes are space too (ENOSPC is not modelled).
    pub max_inodes: usize,
}

const SHORT_NAMES: &[&[u8]] = &[
    b"a", b"b", b"c", b"d", b"e", b"dir", b"file", b"x.txt", b"Zz", b"long name with spaces",
    b"\xc3\xa9t\xc3\xa9", b"..a",
];

/// A name: mostly from a small pool (so names collide), sometimes exactly
/// 255 bytes (valid) or 256 bytes (ENAMETOOLONG).
pub fn gen_name(r: &mut Rng) -> Name {
    let p = r.below(100);
    if p < 4 {
        let c = b'A' + r.below(3) as u8;
        Name(vec![c; 255])
    } else if p < 7 {
        Name(vec![b'L'; 256])
    } else {
        Name(r.pick(SHORT_NAMES).to_vec())
    }
}

/// An xattr name of `ino`, mostly an existing one.
fn pick_xattr_name(m: &Model, r: &mut Rng, ino: Ino) -> Name {
    if let Ok(n) = m.node(ino) {
        if !n.xattrs.is_empty() && r.chance(70) {
            let names: Vec<&Vec<u8>> = n.xattrs.keys().collect();
            return Name((*r.pick(&names)).clone());
        }
    }
    gen_xattr_name(r)
}

fn gen_xattr_name(r: &mut Rng) -> Name {
    const N: &[&[u8]] = &[b"user.a", b"user.b", b"user.colour", b"user.mime_type", b"user.x.y"];
    let p = r.below(100);
    if p < 3 {
        let mut n = b"user.".to_vec();
        n.resize(255 + (p == 0) as usize, b'q'); // 255 fine, 256 ERANGE
        Name(n)
    } else if p < 5 {
        Name(r.pick(&[&b"trusted.x"[..], b"security.selinux", b"system.posix_acl_access", b"nouser", b"trusted.", b"system.x"]).to_vec())
    } else {
        Name(r.pick(N).to_vec())
    }
}

/// A live inode of `kind`, or sometimes any inode (to provoke wrong-kind
/// errors).
fn pick_ino(m: &Model, r: &mut Rng, kind: Kind, stray_pct: u64) -> Ino {
    let all: Vec<Ino> = m.nodes.keys().copied().collect();
    if r.chance(stray_pct) {
        return *r.pick(&all);
    }
    let v = m.inos_of(kind);
    if v.is_empty() {
        *r.pick(&all)
    } else {
        *r.pick(&v)
    }
}

fn pick_dir(m: &Model, r: &mut Rng) -> Ino {
    pick_ino(m, r, Kind::Dir, 3)
}

/// An existing entry name of `dir` (mostly), or a random name.
fn pick_entry(m: &Model, r: &mut Rng, dir: Ino, existing_pct: u64) -> Name {
    if let Ok(e) = m.entries(dir) {
        if !e.is_empty() && r.chance(existing_pct) {
            let names: Vec<&Vec<u8>> = e.keys().collect();
            return Name((*r.pick(&names)).clone());
        }
    }
    gen_name(r)
}

fn pick_file(m: &Model, r: &mut Rng) -> Option<Ino> {
    let v = m.inos_of(Kind::File);
    if v.is_empty() {
        None
    } else {
        Some(*r.pick(&v))
    }
}

fn pick_xattr_target(m: &Model, r: &mut Rng) -> Ino {
    let with: Vec<Ino> = m.nodes.iter().filter(|(_, n)| !n.xattrs.is_empty()).map(|(i, _)| *i).collect();
    if !with.is_empty() && r.chance(60) {
        return *r.pick(&with);
    }
    let mut v = m.inos_of(Kind::File);
    v.extend(m.inos_of(Kind::Dir));
    *r.pick(&v)
}

/// A write/truncate offset: block aligned, unaligned, near EOF or far out
/// (making holes).
fn gen_offset(m: &Model, r: &mut Rng, ino: Ino, max: u64) -> u64 {
    let size = m.node(ino).map(|n| n.size()).unwrap_or(0);
    match r.below(12) {
        0 | 1 => 0,
        2 | 3 => size, // append
        4 | 5 => size.saturating_sub(r.below(5000)),
        6 => r.below(max / 4096 + 1) * 4096, // far out: a hole before
        7 => r.below(max),
        8 => size + r.below(20000), // a small hole
        _ => r.below(size + 1),
    }
}

fn gen_len(r: &mut Rng) -> usize {
    match r.below(8) {
        0 => 1,
        1 => 4096,
        2 => r.range(1, 64) as usize,
        3 => r.range(4090, 4100) as usize,
        4 => r.range(8192, 40000) as usize,
        _ => r.range(1, 9000) as usize,
    }
}

/// One random operation for the model's current state.
pub fn gen_op(m: &Model, r: &mut Rng, cfg: &GenConfig, allow_nested: bool) -> Op {
    loop {
        let w = r.below(1000);
        let op = match w {
            0..=39 => {
                let dir = pick_dir(m, r);
                Op::Lookup { dir, name: pick_entry(m, r, dir, 70) }
            }
            40..=79 => Op::Getattr { ino: *r.pick(&m.nodes.keys().copied().collect::<Vec<_>>()) },
            80..=154 => Op::Create { dir: pick_dir(m, r), name: gen_name(r), perm: 0o600 | r.below(0o200) as u32 },
            155..=169 => {
                let kind = *r.pick(&[Kind::Fifo, Kind::Char, Kind::Block, Kind::Socket]);
                // Device numbers as the kernel keeps them (major << 20 |
                // minor), including the largest.
                let rdev = match r.below(4) {
                    0 => 0,
                    1 => u32::MAX,
                    _ => ((r.below(4096) as u32) << 20) | r.below(1 << 20) as u32,
                };
                let rdev = if matches!(kind, Kind::Char | Kind::Block) { rdev } else { 0 };
                Op::Mknod { dir: pick_dir(m, r), name: gen_name(r), kind, perm: 0o600 | r.below(0o7777) as u32, rdev }
            }
            170..=209 => Op::Mkdir { dir: pick_dir(m, r), name: gen_name(r), perm: 0o700 | r.below(0o100) as u32 },
            210..=229 => {
                let tl = match r.below(5) {
                    0 => 1,
                    1 => 4095 + r.below(2) as usize, // PATH_MAX - 1 is the longest
                    2 => r.range(200, 1000) as usize,
                    _ => r.range(1, 40) as usize,
                };
                let t: Vec<u8> = (0..tl).map(|i| b"abc/../xyz"[i % 10]).collect();
                Op::Symlink { dir: pick_dir(m, r), name: gen_name(r), target: Name(t) }
            }
            230..=244 => Op::Readlink { ino: pick_ino(m, r, Kind::Symlink, 20) },
            245..=284 => {
                // Mostly files; a quarter of the time a FIFO, device or
                // socket (hard links to them work as to files).
                let specials: Vec<Ino> = [Kind::Fifo, Kind::Char, Kind::Block, Kind::Socket].iter().flat_map(|k| m.inos_of(*k)).collect();
                let ino = if !specials.is_empty() && r.chance(25) { *r.pick(&specials) } else { pick_ino(m, r, Kind::File, 8) };
                if m.node(ino).map(|n| n.nlink == 0).unwrap_or(false) {
                    continue; // linking an orphan: the VFS refuses it (ENOENT) first
                }
                Op::Link { ino, dir: pick_dir(m, r), name: gen_name(r) }
            }
            285..=334 => {
                let dir = pick_dir(m, r);
                Op::Unlink { dir, name: pick_entry(m, r, dir, 85) }
            }
            335..=364 => {
                // Mostly an existing subdirectory (empty or not).
                let dirs: Vec<Ino> = m.inos_of(Kind::Dir).into_iter().filter(|d| *d != m.root).collect();
                if !dirs.is_empty() && r.chance(70) {
                    let d = *r.pick(&dirs);
                    let parent = m.parent(d).unwrap_or(m.root);
                    let name = m.entries(parent).ok().and_then(|e| e.iter().find(|(_, i)| **i == d).map(|(n, _)| n.clone()));
                    match name {
                        Some(n) => Op::Rmdir { dir: parent, name: Name(n) },
                        None => continue,
                    }
                } else {
                    let dir = pick_dir(m, r);
                    Op::Rmdir { dir, name: pick_entry(m, r, dir, 85) }
                }
            }
            365..=444 => {
                let sdir = pick_dir(m, r);
                let sname = pick_entry(m, r, sdir, 90);
                // Sometimes aim at a directory below the source (EINVAL) or
                // at an existing entry (replace).
                let ddir = if r.chance(15) {
                    match m.lookup(sdir, &sname.0) {
                        Ok(src) if m.entries(src).is_ok() => {
                            let below: Vec<Ino> = m
                                .inos_of(Kind::Dir)
                                .into_iter()
                                .filter(|d| m.is_ancestor_or_self(src, *d))
                                .collect();
                            *r.pick(&below)
                        }
                        _ => pick_dir(m, r),
                    }
                } else {
                    pick_dir(m, r)
                };
                if r.chance(15) {
                    let dname = pick_entry(m, r, ddir, 85);
                    return Op::Exchange { sdir, sname, ddir, dname };
                }
                let dname = pick_entry(m, r, ddir, 40);
                Op::Rename { sdir, sname, ddir, dname, noreplace: r.chance(20) }
            }
            565..=589 => {
                // fallocate: reserve (mode 0, KEEP_SIZE), punch, zero range,
                // and now and then a refused mode, an empty range or one
                // past the largest file.
                let Some(ino) = pick_file(m, r) else { continue };
                let ino = if r.chance(2) { pick_ino(m, r, Kind::Dir, 0) } else { ino };
                let mode = match r.below(12) {
                    0 | 1 => 0,
                    2 | 3 => 0x01,
                    4..=6 => 0x03,
                    7 | 8 => 0x10,
                    9 => 0x11,
                    10 => *r.pick(&[0x02u32, 0x08, 0x20, 0x40, 0x13, 0x100]),
                    _ => 0x03,
                };
                if r.chance(2) {
                    return Op::Fallocate { ino, mode, off: gen_offset(m, r, ino, cfg.max_file), len: 0 };
                }
                if r.chance(1) {
                    // Ends past the largest file: EFBIG.
                    let off = super::reference::MAX_FILE_SIZE - r.below(2) * 4096;
                    return Op::Fallocate { ino, mode, off, len: 8192 };
                }
                let off = gen_offset(m, r, ino, cfg.max_file);
                let len = gen_len(r) as u64;
                let cur = m.file_blocks_bound(ino) * 4096;
                let end = off + len;
                if mode & 0x02 == 0 && (end > cfg.max_file || m.data_bytes() + end.saturating_sub(cur) > cfg.data_budget) {
                    let size = m.node(ino).map(|n| n.size()).unwrap_or(0);
                    Op::Truncate { ino, size: r.below(size / 2 + 1) }
                } else {
                    Op::Fallocate { ino, mode, off, len }
                }
            }
            445..=564 => {
                let Some(ino) = pick_file(m, r) else { continue };
                let ino = if r.chance(2) { pick_ino(m, r, Kind::Dir, 0) } else { ino };
                let len = gen_len(r);
                let off = gen_offset(m, r, ino, cfg.max_file);
                if r.chance(1) {
                    // Beyond the largest file size: EFBIG, nothing written.
                    let off = super::reference::MAX_FILE_SIZE + r.below(3) * 4096;
                    return Op::Write { ino, off, len, seed: r.next_u64() };
                }
                let new_end = off + len as u64;
                let cur = m.node(ino).map(|n| n.size()).unwrap_or(0);
                if new_end > cfg.max_file
                    || m.data_bytes() + new_end.saturating_sub(cur) > cfg.data_budget
                {
                    // Would outgrow the budget: shrink a file instead.
                    Op::Truncate { ino, size: r.below(cur / 2 + 1) }
                } else {
                    Op::Write { ino, off, len, seed: r.next_u64() }
                }
            }
            590..=659 => {
                let Some(ino) = pick_file(m, r) else { continue };
                let ino = if r.chance(2) { pick_ino(m, r, Kind::Dir, 0) } else { ino };
                let size = m.node(ino).map(|n| n.size()).unwrap_or(0);
                let off = if r.chance(1) { u64::MAX - r.below(5000) } else if r.chance(10) { size + r.below(10000) } else { r.below(size + 1) };
                Op::Read { ino, off, len: gen_len(r) }
            }
            660..=699 => {
                let Some(ino) = pick_file(m, r) else { continue };
                let cur = m.node(ino).map(|n| n.size()).unwrap_or(0);
                if r.chance(1) {
                    return Op::Truncate { ino, size: super::reference::MAX_FILE_SIZE + 1 + r.below(5000) };
                }
                let size = match r.below(5) {
                    0 => 0,
                    1 => r.below(cur + 1),
                    2 => cur + r.below(20000),
                    3 => (r.below(cur / 4096 + 2)) * 4096,
                    _ => r.below(cfg.max_file),
                };
                if m.data_bytes() + size.saturating_sub(cur) > cfg.data_budget {
                    Op::Truncate { ino, size: r.below(cur + 1) }
                } else {
                    Op::Truncate { ino, size }
                }
            }
            700..=714 => Op::Chmod { ino: *r.pick(&m.nodes.keys().copied().collect::<Vec<_>>()), perm: r.below(0o10000) as u32 },
            715..=724 => Op::Chown { ino: *r.pick(&m.nodes.keys().copied().collect::<Vec<_>>()), uid: r.below(3) as u32 * 1000, gid: r.below(3) as u32 * 100 },
            725..=744 => Op::Readdir { dir: pick_dir(m, r), chunk: r.range(1, 8) as usize },
            745..=759 => {
                // Hold a file, or unlink a name of a held one (orphans).
                let held: Vec<Ino> = m.nodes.iter().filter(|(_, n)| n.holds > 0 && n.nlink > 0).map(|(i, _)| *i).collect();
                if !held.is_empty() && r.chance(60) {
                    let target = *r.pick(&held);
                    let names: Vec<(Ino, Vec<u8>)> = m
                        .inos_of(Kind::Dir)
                        .into_iter()
                        .flat_map(|d| m.entries(d).map(|e| e.iter().filter(|(_, i)| **i == target).map(|(n, _)| (d, n.clone())).collect::<Vec<_>>()).unwrap_or_default())
                        .collect();
                    if names.is_empty() {
                        continue;
                    }
                    let (dir, name) = r.pick(&names).clone();
                    Op::Unlink { dir, name: Name(name) }
                } else {
                    let Some(ino) = pick_file(m, r) else { continue };
                    Op::Hold { ino }
                }
            }
            760..=764 => {
                let held: Vec<Ino> = m.nodes.iter().filter(|(_, n)| n.holds > 0).map(|(i, _)| *i).collect();
                if held.is_empty() {
                    continue;
                }
                Op::Release { ino: *r.pick(&held) }
            }
            765..=779 => {
                if !allow_nested {
                    continue;
                }
                let dir = pick_ino(m, r, Kind::Dir, 0);
                let first = r.below(m.entries(dir).map(|e| e.len() as u64 + 1).unwrap_or(1)) as usize;
                // A mutation inside the same directory.
                let mutation = match r.below(4) {
                    0 => Op::Create { dir, name: gen_name(r), perm: 0o644 },
                    1 => Op::Unlink { dir, name: pick_entry(m, r, dir, 90) },
                    2 => Op::Mkdir { dir, name: gen_name(r), perm: 0o755 },
                    _ => Op::Rename { sdir: dir, sname: pick_entry(m, r, dir, 90), ddir: dir, dname: gen_name(r), noreplace: false },
                };
                Op::ReaddirMutating { dir, first, mutation: Box::new(mutation) }
            }
            780..=809 => Op::Fsync { ino: *r.pick(&m.nodes.keys().copied().collect::<Vec<_>>()), datasync: r.chance(30) },
            810..=819 => Op::Sync,
            820..=834 => Op::Remount,
            835..=844 => Op::Statfs,
            845..=894 => {
                let flags = match r.below(4) {
                    0 => XATTR_CREATE,
                    1 => XATTR_REPLACE,
                    _ => 0,
                };
                let value_len = match r.below(5) {
                    0 => 0,
                    1 => r.range(100, 300) as usize,
                    _ => r.range(1, 40) as usize,
                };
                let ino = pick_xattr_target(m, r);
                Op::SetXattr { ino, name: pick_xattr_name(m, r, ino), value_len, seed: r.next_u64(), flags }
            }
            895..=929 => {
                let ino = pick_xattr_target(m, r);
                let size = match r.below(4) {
                    0 => 0,
                    1 => r.below(10) as usize,
                    _ => 65536,
                };
                Op::GetXattr { ino, name: pick_xattr_name(m, r, ino), size }
            }
            930..=949 => {
                let size = match r.below(3) {
                    0 => 0,
                    1 => r.below(12) as usize,
                    _ => 65536,
                };
                Op::ListXattr { ino: pick_xattr_target(m, r), size }
            }
            950..=964 => {
                let ino = pick_xattr_target(m, r);
                Op::RemoveXattr { ino, name: pick_xattr_name(m, r, ino) }
            }
            965..=969 => Op::CheckAll,
            970..=979 => Op::GcStep,
            980..=999 if cfg.snap_slots == 0 => continue,
            980..=986 => {
                let Some(ino) = pick_file(m, r) else { continue };
                Op::SnapCreate { ino, slot: r.below(cfg.snap_slots as u64) as usize }
            }
            987..=995 => Op::SnapRead { slot: r.below(cfg.snap_slots as u64) as usize, off: r.below(cfg.max_file / 2), len: gen_len(r) },
            _ => Op::SnapRelease { slot: r.below(cfg.snap_slots as u64) as usize },
        };
        if matches!(op, Op::Create { .. } | Op::Mkdir { .. } | Op::Symlink { .. } | Op::Mknod { .. }) && m.nodes.len() >= cfg.max_inodes {
            continue;
        }
        return op;
    }
}
