//! The NAT tree (`nat.rs`): a checkpoint writes what changed, not the
//! whole inode table; the tree survives remounts, grows with the inode
//! numbers, and GC can move its blocks.

mod common;

use common::*;
use fluffle::fs::FsStats;
use fluffle::memdev::MemDevice;
use fluffle::nat::{NAT_JOURNAL_MAX, NAT_LEAF_ENTRIES};

fn stats(fs: &CoreFs) -> FsStats {
    fs.stats.clone()
}

/// `n` empty files in a new directory `dir`, then a sync.
fn populate(fs: &mut CoreFs, dir: &str, n: u64) -> (u64, Vec<u64>) {
    let d = fs.mkdir(ROOT, dir.as_bytes(), 0o755, 0, 0).unwrap().ino;
    let inos = (0..n).map(|i| fs.create(d, format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap().ino).collect();
    fs.sync().unwrap();
    (d, inos)
}

/// The checkpoint no longer grows with the number of inodes: after
/// thousands of files, a sync that changed one inode writes one
/// checkpoint block and no NAT block (the change is journaled), and one
/// that changed more than the journal holds writes only the leaves of the
/// changed inodes and their path.
#[test]
fn checkpoint_writes_only_what_changed() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let (_, inos) = populate(&mut fs, "d", 3000);
    let a = stats(&fs);
    fs.write(inos[10], 0, b"one change").unwrap();
    fs.sync().unwrap();
    let b = stats(&fs);
    assert_eq!(b.checkpoints - a.checkpoints, 1);
    assert_eq!(b.ckpt_blocks - a.ckpt_blocks, 1, "checkpoint blocks for one change");
    assert_eq!(b.nat_blocks - a.nat_blocks, 0, "NAT blocks for one journaled change");
    // More changes than the journal holds, all in the first two leaves.
    let many = NAT_JOURNAL_MAX as usize + 20;
    assert!((many as u64) < 2 * NAT_LEAF_ENTRIES);
    for &ino in inos.iter().take(many) {
        fs.write(ino, 0, b"x").unwrap();
    }
    fs.sync().unwrap();
    let c = stats(&fs);
    let leaves = (inos[many - 1] / NAT_LEAF_ENTRIES) - (inos[0] / NAT_LEAF_ENTRIES) + 1;
    assert!(c.nat_blocks - b.nat_blocks <= leaves + 1, "{} NAT blocks for {leaves} leaves", c.nat_blocks - b.nat_blocks);
    assert!(c.nat_blocks - b.nat_blocks >= 1, "the journal overflowed but no leaf was written");
    assert!(c.ckpt_blocks - b.ckpt_blocks <= 2);
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    for (k, &ino) in inos.iter().enumerate() {
        let want: &[u8] = if k == 10 { b"xne change" } else if k < many { b"x" } else { b"" };
        let got = read_all(&mut fs, ino).unwrap();
        assert_eq!(&got[..want.len().min(got.len())], want, "inode {ino}");
    }
    fsck(&mut fs).unwrap();
}

/// Enough inodes for two interior levels' worth of leaves and deletions
/// spread over them: every remount sees exactly the live inodes (journal
/// and tree merged), and fsck counts the tree's blocks.
#[test]
fn tree_and_journal_survive_remounts() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let (d, inos) = populate(&mut fs, "d", 2 * NAT_LEAF_ENTRIES + 50);
    let mut live: Vec<(u64, String)> = inos.iter().enumerate().map(|(i, &ino)| (ino, format!("f{i}"))).collect();
    for round in 0..4 {
        // Delete every 7th file (journal or leaves, depending on count).
        let mut k = round;
        let mut gone = 0;
        while k < live.len() {
            fs.unlink(d, live[k].1.as_bytes()).unwrap();
            live.remove(k);
            gone += 1;
            k += 7 + round * 40;
        }
        assert!(gone > 0);
        let dev = fs.unmount().unwrap();
        fs = mount(dev).unwrap();
        let names = list_dir(&mut fs, d, 100_000).unwrap();
        assert_eq!(names.len(), live.len(), "round {round}");
        for (ino, name) in &live {
            assert_eq!(fs.lookup(d, name.as_bytes()).unwrap().ino, *ino);
        }
        fsck(&mut fs).unwrap();
    }
}

/// A small device whose node zones GC must compact: the NAT blocks move
/// with the rest, and the filesystem mounts and checks clean after.
#[test]
fn gc_moves_nat_blocks() {
    let mut fs = mount(formatted(12, 64, 64)).unwrap();
    let (_, inos) = populate(&mut fs, "d", NAT_LEAF_ENTRIES + 40);
    let big = fs.create(ROOT, b"big", 0o644, 0, 0).unwrap().ino;
    let cold = fs.create(ROOT, b"cold", 0o644, 0, 0).unwrap().ino;
    let before = stats(&fs);
    for round in 0..40u64 {
        fs.write(big, 0, &vec![round as u8; 64 * 4096]).unwrap();
        // Live blocks left in every zone: GC has to compact, not just reset.
        fs.write(cold, round * 4 * 4096, &vec![round as u8; 4 * 4096]).unwrap();
        // Rewrite many inodes of the first leaf only, so the journal
        // overflows and that leaf moves, while the second leaf (and the
        // packs of its cold inodes) stays behind in an old zone that GC
        // has to compact.
        for &ino in inos.iter().skip((round as usize * 37) % 150).take(NAT_JOURNAL_MAX + 10) {
            fs.write(ino, 0, &[round as u8]).unwrap();
        }
        fs.sync().unwrap();
    }
    let after = stats(&fs);
    assert!(after.gc_blocks > before.gc_blocks, "GC never ran");
    assert!(after.zone_resets > before.zone_resets);
    let dev: MemDevice = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    assert_eq!(read_all(&mut fs, big).unwrap(), vec![39u8; 64 * 4096]);
    let want: Vec<u8> = (0..40u8).flat_map(|r| vec![r; 4 * 4096]).collect();
    assert_eq!(read_all(&mut fs, cold).unwrap(), want);
    fsck(&mut fs).unwrap();
}
