//! Shared by `tests/corrupt_image.rs` and the `mount_mutated` fuzz target:
//! a small populated image, byte mutations of it, and the check that a
//! mutated image either mounts and behaves or fails cleanly.

use fluffle::errno::{Errno, EINVAL, EIO, EOPNOTSUPP, EUCLEAN};
use fluffle::memdev::MemDevice;

use super::*;

/// Geometry of the sample image: 12 zones of 64 blocks, 48 writable.
pub const ZONES: u32 = 12;

/// A formatted device with a little of everything on it: directories,
/// files with holes, a symlink, hard links, xattrs, a FIFO, device nodes
/// (one hard-linked), a socket, a whiteout left by a rename, birth times
/// that differ from the change times; checkpointed by a sync,
/// then more data fsynced after it (so mount has to roll forward), and
/// finally left without unmount (as after a crash).
pub fn sample_image() -> MemDevice {
    sample_variant(true, true)
}

/// The sample image with or without each of the two operations fsynced
/// after the checkpoint.
pub fn sample_variant(fsync_new: bool, fdatasync_tail: bool) -> MemDevice {
    // A label (format 7) in every checkpoint, for the mutations to hit.
    let mut dev = MemDevice::with_zones(ZONES, 64, 48).expect("geometry");
    let label = fluffle::label::from_bytes(b"sample-label").expect("label");
    fluffle::fs::format(&mut dev, &fluffle::types::FormatOptions { label, ..Default::default() }).expect("format");
    {
        let mut fs = mount(&mut dev).expect("mount sample");
        // Birth times (format 7) of this instant, change times later.
        fs.set_time(fluffle::types::Timespec { sec: 1_700_000_000, nsec: 123_456_789 });
        let d = fs.mkdir(ROOT, b"dir", 0o755, 0, 0).expect("mkdir");
        let sub = fs.mkdir(d.ino, b"sub", 0o700, 1, 2).expect("mkdir");
        fs.set_iflags(sub.ino, fluffle::inode::IFLAG_IMMUTABLE as u32).expect("chattr");
        for i in 0..6u32 {
            let name = format!("file{i}");
            let f = fs.create(if i % 2 == 0 { ROOT } else { d.ino }, name.as_bytes(), 0o644, 0, 0).expect("create");
            let data: Vec<u8> = (0..(i as usize * 3000 + 10)).map(|j| (j * 7 + i as usize) as u8).collect();
            fs.write(f.ino, (i as u64) * 1000, &data).expect("write");
            if i == 2 {
                fs.setxattr(f.ino, b"user.colour", b"blue", 0).expect("setxattr");
                fs.link(f.ino, sub.ino, b"hardlink").expect("link");
                // Inode flags (format 7) on a file and, below, a directory.
                let fl = fluffle::inode::IFLAG_APPEND | fluffle::inode::IFLAG_NOATIME;
                fs.set_iflags(f.ino, fl as u32).expect("chattr");
                fs.setxattr(f.ino, b"trusted.t", b"x", 0).expect("setxattr trusted");
            }
        }
        fs.symlink(d.ino, b"link", b"../file0", 0, 0).expect("symlink");
        fs.mknod(d.ino, b"fifo", FileType::Fifo, 0o600, 0, 0, 0).expect("mkfifo");
        let c = fs.mknod(d.ino, b"null", FileType::CharDev, 0o666, (1 << 20) | 3, 0, 0).expect("mknod c");
        fs.link(c.ino, sub.ino, b"null-link").expect("link");
        fs.mknod(ROOT, b"disk", FileType::BlockDev, 0o660, (259 << 20) | 1, 0, 6).expect("mknod b");
        fs.mknod(sub.ino, b"sock", FileType::Socket, 0o755, 0, 3, 4).expect("socket");
        // A file with reserved runs (format version 7: `n_prealloc` in the
        // node, the total in the checkpoint), one past EOF, and a hole.
        let r = fs.create(d.ino, b"reserved", 0o644, 0, 0).expect("create");
        fs.write(r.ino, 0, &[0x33; 20000]).expect("write");
        fs.fallocate(r.ino, fluffle::fallocate::FALLOC_FL_KEEP_SIZE, 40960, 16384).expect("fallocate keep size");
        fs.fallocate(r.ino, 0, 8192, 4096).expect("fallocate");
        let punch = fluffle::fallocate::FALLOC_FL_PUNCH_HOLE | fluffle::fallocate::FALLOC_FL_KEEP_SIZE;
        fs.fallocate(r.ino, punch, 4096, 4096).expect("punch");
        // More inodes than a NAT leaf holds, so the checkpoint writes a
        // NAT tree (two leaves and a root) for the mutations to hit.
        let many = fs.mkdir(ROOT, b"many", 0o755, 0, 0).expect("mkdir");
        for i in 0..fluffle::nat::NAT_LEAF_ENTRIES {
            fs.create(many.ino, format!("m{i}").as_bytes(), 0o644, 0, 0).expect("create");
        }
        fs.set_time(fluffle::types::Timespec { sec: 1_700_000_100, nsec: 7 });
        let f0 = fs.lookup(ROOT, b"file0").expect("lookup").ino;
        fs.setattr(f0, &fluffle::types::SetAttr { mode: Some(0o640), ..Default::default() }).expect("chmod");
        fs.rename_whiteout(ROOT, b"file4", d.ino, b"file4-moved", fluffle::types::RENAME_WHITEOUT, 0, 0)
            .expect("whiteout rename");
        fs.sync().expect("sync");
        if fsync_new {
            let f = fs.create(sub.ino, b"after-checkpoint", 0o600, 0, 0).expect("create");
            fs.write(f.ino, 0, &vec![0x5a; 9000]).expect("write");
            fs.fsync(f.ino, false).expect("fsync");
        }
        if fdatasync_tail {
            let f0 = fs.lookup(ROOT, b"file0").expect("lookup").ino;
            fs.write(f0, 100_000, b"tail").expect("write");
            fs.fsync(f0, true).expect("fdatasync");
            // A roll-forward that changes a file's reserved runs.
            let r = fs.lookup(d.ino, b"reserved").expect("lookup").ino;
            fs.fallocate(r, fluffle::fallocate::FALLOC_FL_KEEP_SIZE, 65536, 8192).expect("fallocate");
            fs.fsync(r, true).expect("fdatasync");
        }
        // Dropped without unmount.
    }
    dev.after_power_loss()
}

/// The trees a mutated sample may legitimately mount as: a damaged
/// newest checkpoint makes mount fall back to an older one (the empty
/// filesystem of format/first mount), and a damaged node in the log tail
/// ends roll-forward early, so any subset of the two fsynced operations
/// may be missing. (File data is not compared: data blocks carry no CRC.)
pub fn legit_states() -> Vec<BTreeMap<String, Found>> {
    let mut out = Vec::new();
    let mut empty = mount(formatted(ZONES, 64, 48)).expect("mount");
    out.push(walk(&mut empty).expect("walk"));
    for (a, b) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut fs = mount(sample_variant(a, b)).expect("mount variant");
        out.push(walk(&mut fs).expect("walk variant"));
    }
    out
}

/// One mutation: in zone `zone`'s written data at `offset` (modulo its
/// length), apply `kind` with `value`.
#[derive(Clone, Copy, Debug)]
pub struct Mutation {
    pub zone: u32,
    pub offset: u32,
    pub kind: u8,
    pub value: u8,
}

/// Applies a mutation (no-op on an empty zone).
pub fn mutate(dev: &mut MemDevice, m: Mutation) {
    let Some(data) = dev.zone_data_mut(m.zone % ZONES) else { return };
    if data.is_empty() {
        return;
    }
    let len = data.len();
    let at = m.offset as usize % len;
    match m.kind % 6 {
        0 => data[at] ^= m.value | 1,
        1 => data[at] = m.value,
        2 => {
            // A 32-bit field set to an extreme.
            let v: u32 = if m.value & 1 == 0 { u32::MAX } else { 0x8000_0000 | m.value as u32 };
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                if let Some(x) = data.get_mut(at + k) {
                    *x = *b;
                }
            }
        }
        3 => {
            // Zero 64 bytes.
            for x in data.iter_mut().skip(at).take(64) {
                *x = 0;
            }
        }
        4 => {
            // Copy 16 bytes from elsewhere in the zone.
            let from = (at + (m.value as usize) * 97) % len;
            for k in 0..16 {
                let b = data[(from + k) % len];
                if let Some(x) = data.get_mut(at + k) {
                    *x = b;
                }
            }
        }
        _ => {
            // A 64-bit field set to a huge value.
            let v = u64::MAX - m.value as u64;
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                if let Some(x) = data.get_mut(at + k) {
                    *x = *b;
                }
            }
        }
    }
}

fn clean(e: Errno) -> bool {
    e == EUCLEAN || e == EINVAL || e == EIO
}

/// What happened to one mutated image.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Verdict {
    /// Mount refused it with a clean errno.
    Refused,
    /// Mounted; reading everything gave a clean error somewhere.
    MountedWithErrors,
    /// Mounted and fully readable, everything as before the mutation.
    Mounted,
    /// Mounted and fully readable, but some file data differs from the
    /// unmutated image: data blocks are raw content without checksums
    /// (layout.rs documents this, as ext4 without data checksums), so a
    /// flipped data byte reads back flipped. Metadata (nodes, checkpoints)
    /// is CRC-protected: an undetected metadata change is a failure.
    MountedDataChanged,
}

/// Mounts a mutated image, walks everything, runs fsck and a few writes,
/// unmounts and remounts. Any panic is the caller's failure; an errno
/// other than EUCLEAN/EINVAL/EIO from mount or from reading is an `Err`.
pub fn exercise(dev: MemDevice) -> std::result::Result<Verdict, String> {
    exercise_against(dev, None)
}

/// [`exercise`], also checking the readable tree against `legit` (see
/// [`legit_states`]; the first one with the same metadata decides whether
/// data changed).
pub fn exercise_against(dev: MemDevice, legit: Option<&[BTreeMap<String, Found>]>) -> std::result::Result<Verdict, String> {
    let mut fs = match mount(dev) {
        Ok(fs) => fs,
        // EOPNOTSUPP: a whole checkpoint of another format version.
        Err(e) if clean(e) || e == EOPNOTSUPP => return Ok(Verdict::Refused),
        Err(e) => return Err(format!("mount failed with {e:?}, not EUCLEAN/EINVAL/EIO/EOPNOTSUPP")),
    };
    let mut verdict = Verdict::Mounted;
    match walk(&mut fs) {
        Ok(tree) => {
            if let Some(states) = legit {
                match states.iter().find(|s| same_metadata(s, &tree)) {
                    None => {
                        let paths: Vec<&String> = tree.keys().collect();
                        return Err(format!("mounted with metadata that no legitimate state has (undetected damage); paths {paths:?}"));
                    }
                    Some(s) if !same_data(s, &tree) => verdict = Verdict::MountedDataChanged,
                    Some(_) => {}
                }
            }
        }
        Err(e) if clean(e) => verdict = Verdict::MountedWithErrors,
        Err(e) => return Err(format!("reading the mounted image failed with {e:?}")),
    }
    let _ = fsck(&mut fs);
    let _ = fs.statfs();
    // Writes on a damaged filesystem may fail (any errno), never panic.
    if let Ok(f) = fs.create(ROOT, b"new-after-mutation", 0o644, 0, 0) {
        let _ = fs.write(f.ino, 0, &[1u8; 5000]);
        let _ = fs.fsync(f.ino, false);
    }
    for _ in 0..3 {
        let _ = fs.gc_step();
    }
    let _ = fs.unlink(ROOT, b"file0");
    if let Ok(dev) = fs.unmount() {
        if let Ok(mut fs) = mount(dev) {
            let _ = walk(&mut fs);
            let _ = fs.unmount();
        }
    }
    Ok(verdict)
}

/// Same file contents (trees with the same paths).
fn same_data(a: &BTreeMap<String, Found>, b: &BTreeMap<String, Found>) -> bool {
    a.iter().zip(b.iter()).all(|((_, fa), (_, fb))| fa.data == fb.data)
}

/// Equal namespace and metadata: paths, inode numbers, attributes (not
/// times), xattrs, symlink targets.
fn same_metadata(a: &BTreeMap<String, Found>, b: &BTreeMap<String, Found>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b.iter()).all(|((pa, fa), (pb, fb))| {
            pa == pb
                && (fa.attr.ftype != fluffle::fs::FileType::Symlink || fa.data == fb.data)
                && fa.xattrs == fb.xattrs
                && fa.attr.ino == fb.attr.ino
                && fa.attr.mode == fb.attr.mode
                && fa.attr.nlink == fb.attr.nlink
                && fa.attr.size == fb.attr.size
                && fa.attr.uid == fb.attr.uid
                && fa.attr.gid == fb.attr.gid
        })
}
