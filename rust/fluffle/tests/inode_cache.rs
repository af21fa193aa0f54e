//! Inodes on demand (`inode_cache.rs`): the core holds what the VFS holds
//! and what the next checkpoint must write, reads the rest back from disk
//! intact, and mount reads no inode but the root.

mod common;

use common::*;
use fluffle::fs::{MountOptions, SetAttr};
use fluffle::fs::Fs;

/// Mounted the way the kernel glue uses the core: nothing is trimmed
/// before the VFS lets go (the default threshold).
fn mount_default(dev: fluffle::memdev::MemDevice) -> CoreFs {
    Fs::mount(dev, &MountOptions::default()).expect("mount")
}

/// Like the VFS: `iget` holds, `evict` releases. A clean inode leaves
/// memory at its last release; a dirty one stays until the checkpoint
/// that writes it, and then leaves with the next trim; each comes back
/// with what it had.
#[test]
fn evicted_inodes_leave_memory_and_come_back_intact() {
    let mut fs = mount_default(formatted(24, 64, 64));
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    let inos: Vec<u64> = (0..2000u32).map(|i| fs.create(d, format!("f{i}").as_bytes(), 0o644, i, 0).unwrap().ino).collect();
    fs.write(inos[7], 0, b"seven").unwrap();
    fs.sync().unwrap();
    let base = fs.inodes_in_memory();
    assert!(base <= 3, "{base} inodes in memory after a sync with nothing held");

    // Held while in use, released after: clean ones go at once.
    for &ino in inos.iter().take(500) {
        fs.getattr(ino).unwrap();
        fs.hold(ino).unwrap();
    }
    assert!(fs.inodes_in_memory() >= 500);
    for &ino in inos.iter().take(500) {
        fs.release(ino).unwrap();
    }
    assert!(fs.inodes_in_memory() <= base + 1, "{} in memory after release", fs.inodes_in_memory());

    // A dirty inode released stays until it is written.
    fs.hold(inos[3]).unwrap();
    fs.setattr(inos[3], &SetAttr { mode: Some(0o600), ..Default::default() }).unwrap();
    fs.release(inos[3]).unwrap();
    assert!(fs.inodes_in_memory() > base, "a dirty inode left memory before its node was written");
    fs.sync().unwrap();
    assert!(fs.inodes_in_memory() <= base + 1, "{} in memory after the sync", fs.inodes_in_memory());

    // Read back from disk: attributes, data, names.
    assert_eq!(fs.getattr(inos[3]).unwrap().mode & 0o7777, 0o600);
    assert_eq!(fs.getattr(inos[1999]).unwrap().uid, 1999);
    let mut buf = [0u8; 5];
    fs.read(inos[7], 0, &mut buf).unwrap();
    assert_eq!(&buf, b"seven");
    assert_eq!(fs.lookup(d, b"f1234").unwrap().ino, inos[1234]);
    assert!(fs.check().unwrap().problems() == 0);
}

/// Mount reads the checkpoint, the NAT's interior and the root: with
/// thousands of inodes it holds one or two, and it reads as many blocks
/// as with a few.
#[test]
fn mount_holds_and_reads_the_same_for_few_and_many_files() {
    let reads_to_mount = |files: u32| {
        let mut fs = mount_default(formatted(64, 128, 128));
        for i in 0..files {
            fs.create(ROOT, format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap();
        }
        let dev = fs.unmount().unwrap();
        let before = dev.stats().reads;
        let fs = mount_default(dev);
        assert!(fs.inodes_in_memory() <= 1 + (files > 0) as usize, "{} in memory", fs.inodes_in_memory());
        assert_eq!(fs.inode_count(), files as usize + 1);
        fs.device().stats().reads - before
    };
    let few = reads_to_mount(10);
    let many = reads_to_mount(8000);
    // The root's dentry blocks are what grows (the root is read at mount).
    assert!(many <= few + 8, "mount read {many} times with 8000 files, {few} with 10");
}

/// An inode unlinked while open is freed by the next mount, found through
/// the checkpoint's orphan list (mount no longer reads every inode).
#[test]
fn orphans_listed_in_the_checkpoint_are_freed_at_mount() {
    let mut fs = mount_default(formatted(24, 64, 64));
    let a = fs.create(ROOT, b"a", 0o644, 0, 0).unwrap().ino;
    fs.write(a, 0, &vec![1u8; 64 << 10]).unwrap();
    fs.hold(a).unwrap();
    fs.unlink(ROOT, b"a").unwrap();
    fs.sync().unwrap();
    let used = fs.statfs().unwrap();
    // Power cut with the file still open.
    let dev = fs.device().clone();
    drop(fs);
    let mut fs = mount_default(dev);
    let after = fs.statfs().unwrap();
    assert_eq!(after.ffree, used.ffree + 1, "the orphan's inode is free again");
    assert!(after.bfree >= used.bfree + 16, "its blocks are free again: {} -> {}", used.bfree, after.bfree);
    assert_eq!(fs.getattr(a).err(), Some(fluffle::errno::ENOENT));
    assert_eq!(fs.check().unwrap().problems(), 0);
}
