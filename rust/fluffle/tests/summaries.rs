//! Block summaries (`summary.rs`): GC finds the owners of a victim's
//! blocks on disk, across remounts (whose closed head zones get their
//! summary at mount) and crashes; a damaged summary leaves blocks where
//! they are instead of losing them.

mod common;

use common::*;
use fluffle::device::BLOCK_SIZE;
use fluffle::layout::{KIND_SUMMARY, NODE_MAGIC};
use fluffle::memdev::MemDevice;

const FILES: u64 = 8;
const CHUNKS: u64 = 40;

fn content(file: u64, chunk: u64) -> Vec<u8> {
    (0..BLOCK_SIZE).map(|i| (file * 31 + chunk * 7 + i as u64 % 251) as u8).collect()
}

/// `FILES` files written a block at a time in turn, each block fsynced,
/// so that every data zone holds blocks of every file; then a remount.
fn interleaved() -> (MemDevice, Vec<u64>) {
    interleaved_from(2)
}

/// As [`interleaved`], with inode numbers from `first_ino` on.
fn interleaved_from(first_ino: u64) -> (MemDevice, Vec<u64>) {
    let mut fs = mount(formatted(16, 256, 256)).unwrap();
    fs.skip_inode_numbers_to(first_ino).unwrap();
    let inos: Vec<u64> = (0..FILES).map(|f| fs.create(ROOT, format!("f{f}").as_bytes(), 0o644, 0, 0).unwrap().ino).collect();
    for c in 0..CHUNKS {
        for (f, &ino) in inos.iter().enumerate() {
            fs.write(ino, c * BLOCK_SIZE as u64, &content(f as u64, c)).unwrap();
            fs.fsync(ino, false).unwrap();
        }
    }
    fs.sync().unwrap();
    (fs.unmount().unwrap(), inos)
}

fn check_files(fs: &mut CoreFs, inos: &[u64], keep: impl Fn(u64) -> bool) {
    for (f, &ino) in inos.iter().enumerate() {
        if !keep(f as u64) {
            continue;
        }
        let data = read_all(fs, ino).unwrap();
        let want: Vec<u8> = (0..CHUNKS).flat_map(|c| content(f as u64, c)).collect();
        assert!(data == want, "file {f} changed");
    }
}

/// The one file `delete_most_and_collect` keeps.
fn kept(f: u64) -> bool {
    f == 5
}

/// Deletes all files but one (leaving every data zone nearly empty), then
/// runs background GC until it has nothing left to do; returns the blocks
/// it moved.
fn delete_most_and_collect(fs: &mut CoreFs) -> u64 {
    for f in (0..FILES).filter(|&f| !kept(f)) {
        fs.unlink(ROOT, format!("f{f}").as_bytes()).unwrap();
    }
    fs.sync().unwrap();
    let before = fs.stats.gc_blocks;
    for _ in 0..64 {
        if !fs.gc_step().unwrap() {
            break;
        }
    }
    fs.stats.gc_blocks - before
}

#[test]
fn gc_moves_live_blocks_found_through_summaries_after_a_remount() {
    let (dev, inos) = interleaved();
    let mut fs = mount(dev).unwrap();
    fsck(&mut fs).unwrap();
    let free_before = fs.statfs().unwrap().bfree;
    let moved = delete_most_and_collect(&mut fs);
    assert!(moved > 0, "GC moved nothing");
    fsck(&mut fs).unwrap();
    check_files(&mut fs, &inos, kept);
    assert!(fs.statfs().unwrap().bfree > free_before);
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    fsck(&mut fs).unwrap();
    check_files(&mut fs, &inos, kept);
}

/// Inode numbers up to 2^32 - 1 (owner words give them 32 bits; version 5
/// stopped at 2^31 and mistook a node's first block for a file's last):
/// fsynced files, GC through the summaries, remounts, fsck; then the
/// numbers run out with `ENOSPC`.
#[test]
fn inode_numbers_reach_2_32() {
    let end = fluffle::types::INO_END;
    let (dev, inos) = interleaved_from(end - 2 * FILES);
    assert!(inos.iter().all(|&i| i >= 1 << 31 && i < end), "{inos:?}");
    let mut fs = mount(dev).unwrap();
    fsck(&mut fs).unwrap();
    assert!(delete_most_and_collect(&mut fs) > 0, "GC moved nothing");
    fsck(&mut fs).unwrap();
    check_files(&mut fs, &inos, kept);
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    fsck(&mut fs).unwrap();
    check_files(&mut fs, &inos, kept);
    let mut last = 0;
    let err = loop {
        match fs.create(ROOT, format!("n{last}").as_bytes(), 0o644, 0, 0) {
            Ok(a) => last = a.ino,
            Err(e) => break e,
        }
    };
    assert_eq!((last, err), (end - 1, fluffle::errno::ENOSPC));
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(fs.lookup(ROOT, format!("n{}", end - 2).as_bytes()).unwrap().ino, end - 1);
    fsck(&mut fs).unwrap();
}

/// Every summary block on the device, by LBA.
fn summary_blocks(dev: &mut MemDevice) -> Vec<u64> {
    let geo = fluffle::device::ZonedDevice::geometry(dev);
    let mut out = Vec::new();
    for z in 2..geo.zone_count {
        let start = geo.zone_start(z);
        let data = dev.zone_data_mut(z).unwrap();
        for (k, blk) in data.chunks(BLOCK_SIZE).enumerate() {
            let magic = u32::from_le_bytes(blk[0..4].try_into().unwrap());
            let kind = u16::from_le_bytes(blk[6..8].try_into().unwrap());
            if magic == NODE_MAGIC && kind == KIND_SUMMARY {
                out.push(start + k as u64);
            }
        }
    }
    out
}

#[test]
fn a_damaged_summary_leaves_blocks_in_place_and_loses_nothing() {
    let (dev, inos) = interleaved();
    // Mount closes the zones the last checkpoint left open, with their
    // summaries.
    let mut dev = mount(dev).unwrap().unmount().unwrap();
    let sums = summary_blocks(&mut dev);
    assert!(sums.len() >= 2, "expected summaries on the device, found {sums:?}");
    for &lba in sums.iter() {
        dev.corrupt_byte(lba, 100, 0x5a).unwrap();
    }
    let mut fs = mount(dev).unwrap();
    delete_most_and_collect(&mut fs);
    check_files(&mut fs, &inos, kept);
    // fsck sees that the summaries no longer name the owners...
    let r = fs.check().unwrap();
    assert!(r.list.iter().all(|p| p.kind == fluffle::fsck::ProblemKind::OwnerMismatch), "{:?}", r.list);
    assert!(r.problems() > 0);
    // ...and the files survive a remount and more writes.
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    check_files(&mut fs, &inos, kept);
    let g = fs.create(ROOT, b"after", 0o644, 0, 0).unwrap().ino;
    fs.write(g, 0, &content(99, 0)).unwrap();
    fs.sync().unwrap();
    check_files(&mut fs, &inos, kept);
}

/// Zones whose blocks are all live but their summaries give GC nothing:
/// background GC, even with free zones running short, must not copy them
/// around (it did, endlessly, when a summary counted as a dead block).
#[test]
fn gc_leaves_zones_without_dead_blocks_alone() {
    let mut fs = mount(formatted(16, 256, 256)).unwrap();
    let f = fs.create(ROOT, b"big", 0o644, 0, 0).unwrap().ino;
    let block = content(1, 1);
    for b in 0..7 * 256u64 {
        fs.write(f, b * BLOCK_SIZE as u64, &block).unwrap();
    }
    fs.sync().unwrap();
    let before = fs.stats.gc_blocks;
    for _ in 0..16 {
        fs.gc_step().unwrap();
    }
    assert_eq!(fs.stats.gc_blocks - before, 0, "GC moved blocks out of zones with nothing dead in them");
    fsck(&mut fs).unwrap();
}
