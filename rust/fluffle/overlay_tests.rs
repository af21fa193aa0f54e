//! Host tests of `overlay.rs` (O_TMPFILE, RENAME_WHITEOUT) and
//! `remount.rs` (remount ro/rw, read-only mount that needed recovery).
extern crate std;
use std::vec;

use super::errno::*;
use super::fs::{format, Fs};
use super::memdev::MemDevice;
use super::types::*;

const ROOT: u64 = 1;

fn dev() -> MemDevice {
    let mut d = MemDevice::with_zones(16, 80, 64).unwrap();
    format(&mut d, &FormatOptions::default()).unwrap();
    d
}

fn mount(d: MemDevice) -> Fs<MemDevice> {
    Fs::mount(d, &MountOptions::default()).unwrap()
}

fn mount_ro(d: MemDevice) -> Fs<MemDevice> {
    Fs::mount(d, &MountOptions { read_only: true, now: Timespec::default() }).unwrap()
}

fn clean(fs: &mut Fs<MemDevice>) {
    let r = fs.check().unwrap();
    assert_eq!(r.count, 0, "fsck: {:?}", r.list.as_slice());
}

fn read(fs: &mut Fs<MemDevice>, ino: u64) -> std::vec::Vec<u8> {
    let size = fs.getattr(ino).unwrap().size as usize;
    let mut b = vec![0u8; size];
    assert_eq!(fs.read(ino, 0, &mut b).unwrap(), size);
    b
}

/// A tmpfile never linked, checkpointed while held, is an orphan: after
/// a crash mount frees it and its blocks; linked, it persists by name.
#[test]
fn tmpfile_orphan_is_freed_at_mount_and_linked_one_persists() {
    let mut fs = mount(dev());
    let before = fs.statfs().unwrap();
    let t = fs.tmpfile(ROOT, 0o600, 3, 4).unwrap();
    assert_eq!((t.nlink, t.ftype, t.mode, t.uid), (0, FileType::Regular, S_IFREG | 0o600, 3));
    fs.hold(t.ino).unwrap();
    fs.write(t.ino, 0, &vec![7u8; 40_000]).unwrap();
    // Nameless: no directory lists it.
    let mut names = 0;
    fs.readdir(ROOT, 0, &mut |_, _, _, _| {
        names += 1;
        true
    })
    .unwrap();
    assert_eq!(names, 2, ". and .. only");
    let keep = fs.tmpfile(ROOT, 0o644, 0, 0).unwrap();
    fs.hold(keep.ino).unwrap();
    fs.write(keep.ino, 0, b"named later").unwrap();
    fs.link(keep.ino, ROOT, b"k").unwrap();
    // Never written: only the tmpfile call itself must put it in the checkpoint.
    let empty = fs.tmpfile(ROOT, 0o600, 0, 0).unwrap();
    fs.hold(empty.ino).unwrap();
    fs.sync().unwrap();
    assert!(fs.statfs().unwrap().bfree < before.bfree);
    // Crash with both held: the unlinked one must not leak.
    let mut fs = mount(fs.device().after_power_loss());
    assert_eq!(fs.getattr(t.ino).err(), Some(ENOENT));
    assert_eq!(fs.getattr(empty.ino).err(), Some(ENOENT));
    let k = fs.lookup(ROOT, b"k").unwrap();
    assert_eq!((k.ino, k.nlink), (keep.ino, 1));
    assert_eq!(read(&mut fs, k.ino), b"named later");
    fs.unlink(ROOT, b"k").unwrap();
    fs.sync().unwrap();
    assert_eq!(fs.statfs().unwrap().bfree, before.bfree, "tmpfile space leaked");
    assert_eq!(fs.statfs().unwrap().ffree, before.ffree);
    clean(&mut fs);
    // Closed without a link: freed at once.
    let t = fs.tmpfile(ROOT, 0o600, 0, 0).unwrap();
    fs.hold(t.ino).unwrap();
    fs.release(t.ino).unwrap();
    assert_eq!(fs.getattr(t.ino).err(), Some(ENOENT));
    assert_eq!(fs.tmpfile(b"x".len() as u64 + 1000, 0o600, 0, 0).err(), Some(ENOENT));
}

/// RENAME_WHITEOUT: the new name has the inode, the old one a whiteout
/// (char device 0/0), persistent; NOREPLACE still refuses; EXCHANGE is
/// EINVAL and a failed rename leaves no whiteout.
#[test]
fn whiteout_rename() {
    let mut fs = mount(dev());
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    let a = fs.create(ROOT, b"a", 0o644, 0, 0).unwrap().ino;
    fs.create(ROOT, b"b", 0o644, 0, 0).unwrap();
    assert_eq!(fs.rename_whiteout(ROOT, b"a", ROOT, b"b", RENAME_WHITEOUT | RENAME_EXCHANGE, 0, 0).err(), Some(EINVAL));
    assert_eq!(fs.rename_whiteout(ROOT, b"a", ROOT, b"b", RENAME_WHITEOUT | RENAME_NOREPLACE, 0, 0).err(), Some(EEXIST));
    assert_eq!(fs.lookup(ROOT, b"a").unwrap().ino, a, "failed rename changed the source");
    assert_eq!(fs.rename(ROOT, b"a", d, b"x", RENAME_WHITEOUT).err(), Some(EINVAL), "plain rename refuses the flag");
    fs.rename_whiteout(ROOT, b"a", d, b"x", RENAME_WHITEOUT, 5, 6).unwrap();
    let check = |fs: &mut Fs<MemDevice>| {
        assert_eq!(fs.lookup(d, b"x").unwrap().ino, a);
        let w = fs.lookup(ROOT, b"a").unwrap();
        assert_ne!(w.ino, a);
        assert_eq!((w.ftype, w.rdev, w.mode, w.nlink, w.uid, w.gid), (FileType::CharDev, 0, S_IFCHR, 1, 5, 6));
    };
    check(&mut fs);
    // A directory too (overlayfs renames directories with a whiteout).
    fs.mkdir(ROOT, b"sub", 0o755, 0, 0).unwrap();
    fs.rename_whiteout(ROOT, b"sub", d, b"sub2", RENAME_WHITEOUT | RENAME_NOREPLACE, 0, 0).unwrap();
    assert_eq!(fs.lookup(ROOT, b"sub").unwrap().ftype, FileType::CharDev);
    assert_eq!(fs.getattr(d).unwrap().nlink, 3);
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev);
    check(&mut fs);
    assert_eq!(fs.lookup(d, b"sub2").unwrap().ftype, FileType::Directory);
    clean(&mut fs);
}

/// remount ro writes everything back and checkpoints (a power cut then
/// loses nothing), refuses changes with EROFS and runs no GC; remount rw
/// makes changes work again.
#[test]
fn remount_ro_refuses_writes_and_rw_resumes() {
    let mut fs = mount(dev());
    let f = fs.create(ROOT, b"f", 0o644, 0, 0).unwrap().ino;
    fs.write(f, 0, &vec![9u8; 20_000]).unwrap();
    fs.set_read_only().unwrap();
    assert!(fs.is_read_only());
    assert_eq!(fs.write(f, 0, b"x").err(), Some(EROFS));
    assert_eq!(fs.create(ROOT, b"g", 0o644, 0, 0).err(), Some(EROFS));
    assert_eq!(fs.unlink(ROOT, b"f").err(), Some(EROFS));
    assert_eq!(fs.gc_step().err(), Some(EROFS));
    assert_eq!(read(&mut fs, f), vec![9u8; 20_000]);
    // Nothing was left only in memory.
    let mut crashed = mount_ro(fs.device().after_power_loss());
    assert_eq!(read(&mut crashed, f), vec![9u8; 20_000]);
    clean(&mut crashed);
    fs.set_read_write().unwrap();
    assert!(!fs.is_read_only());
    let g = fs.create(ROOT, b"g", 0o644, 0, 0).unwrap().ino;
    fs.write(g, 0, b"after").unwrap();
    fs.sync().unwrap();
    let mut fs = mount(fs.device().after_power_loss());
    assert_eq!(read(&mut fs, g), b"after");
    clean(&mut fs);
}

/// A file unlinked while open, closed while read-only: remount rw frees it.
#[test]
fn open_unlinked_file_closed_while_ro_is_freed_at_remount_rw() {
    let mut fs = mount(dev());
    let before = fs.statfs().unwrap();
    let f = fs.create(ROOT, b"f", 0o644, 0, 0).unwrap().ino;
    fs.hold(f).unwrap();
    fs.write(f, 0, &vec![1u8; 30_000]).unwrap();
    fs.unlink(ROOT, b"f").unwrap();
    fs.set_read_only().unwrap();
    fs.release(f).unwrap();
    fs.set_read_write().unwrap();
    assert_eq!(fs.getattr(f).err(), Some(ENOENT));
    fs.sync().unwrap();
    assert_eq!(fs.statfs().unwrap().bfree, before.bfree);
    clean(&mut fs);
}

/// A crash after an fsync: a read-only mount rolls forward in memory only
/// (the device is unchanged), and remount rw writes what a read-write
/// mount would have: a later crash loses nothing.
#[test]
fn ro_mount_recovers_in_memory_and_remount_rw_finishes() {
    let mut fs = mount(dev());
    let f = fs.create(ROOT, b"f", 0o644, 0, 0).unwrap().ino;
    fs.sync().unwrap();
    fs.write(f, 0, b"fsynced").unwrap();
    fs.fsync(f, false).unwrap();
    let crashed = fs.device().after_power_loss();
    let writes = crashed.write_count();
    let mut fs = mount_ro(crashed);
    assert_eq!(read(&mut fs, f), b"fsynced");
    assert!(fs.needed_recovery());
    clean(&mut fs);
    assert_eq!(fs.device().write_count(), writes, "a read-only mount wrote");
    fs.set_read_write().unwrap();
    assert!(fs.device().write_count() > writes);
    fs.write(f, 7, b"+rw").unwrap();
    fs.sync().unwrap();
    let mut fs = mount(fs.device().after_power_loss());
    assert!(!fs.needed_recovery());
    assert_eq!(read(&mut fs, f), b"fsynced+rw");
    clean(&mut fs);
    let mut fs = mount(fs.unmount().unwrap());
    assert!(!fs.needed_recovery());
    clean(&mut fs);
}
