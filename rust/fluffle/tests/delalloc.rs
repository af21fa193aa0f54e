//! Delayed allocation as the kernel uses it: a page cache outside the core
//! (modelled here) reserves room when a write dirties a folio
//! (`Fs::reserve`) and gives it back when writeback hands the folio to the
//! core (`Fs::unreserve`, then `write_blocks`) or truncate drops it. The
//! promise under test: a write the reservation admitted is never refused
//! at writeback (the kernel could only drop it: the writer was already
//! told it succeeded), and one that does not fit is refused up front.
//! Found in the VM: 200 MiB written without fsync to a 144 MiB disk came
//! back different after remount, with no error anywhere.

mod common;
mod model;

use std::collections::BTreeMap;

use common::*;
use fluffle::errno::ENOSPC;
use fluffle::memdev::MemDevice;
use model::rng::{pattern, Rng};

const BLOCK: usize = 4096;

/// A dirty folio of `blocks` blocks at block `first` of a file, and the
/// blocks reserved for it.
struct Folio {
    data: Vec<u8>,
    held: u64,
}

/// The kernel's page cache for one filesystem: dirty folios per inode,
/// keyed by first block.
#[derive(Default)]
struct PageCache {
    dirty: BTreeMap<(u64, u64), Folio>,
}

impl PageCache {
    /// `write(2)` of whole folios of `per` blocks at block `first`: each
    /// folio reserves before it is dirtied, as `write_begin` does.
    fn write(&mut self, fs: &mut CoreFs, ino: u64, first: u64, data: &[u8], per: u64) -> fluffle::errno::Result<()> {
        for (k, chunk) in data.chunks(per as usize * BLOCK).enumerate() {
            let at = first + k as u64 * per;
            let held = self.dirty.get(&(ino, at)).map_or(0, |f| f.held);
            let held = fs.reserve(ino, at, per, held)?;
            self.dirty.insert((ino, at), Folio { data: chunk.to_vec(), held });
        }
        Ok(())
    }

    /// Writeback of every dirty folio: give back its reservation, then
    /// write it (as `writepages` does, under one lock).
    fn writeback(&mut self, fs: &mut CoreFs) {
        for ((ino, first), f) in std::mem::take(&mut self.dirty) {
            fs.unreserve(f.held);
            let blocks: Vec<&[u8]> = f.data.chunks(BLOCK).collect();
            fs.write_blocks(ino, first * BLOCK as u64, &blocks)
                .unwrap_or_else(|e| panic!("writeback of an admitted folio of {ino} at {first}: {e:?}"));
        }
        assert_eq!(fs.reserved_blocks(), 0, "reservations left after writeback");
    }

    /// Truncate drops the folios of `ino` from block `from` on.
    fn truncate(&mut self, fs: &mut CoreFs, ino: u64, from: u64) {
        self.dirty.retain(|&(i, first), f| {
            let keep = i != ino || first < from;
            if !keep {
                fs.unreserve(f.held);
            }
            keep
        });
    }
}

fn small_fs() -> CoreFs {
    mount(formatted(12, 64, 48)).expect("mount")
}

/// Files written through the page cache until a reservation is refused,
/// with writeback now and then (GC has to reclaim the deleted files to
/// make room): everything admitted is written back and reads back intact
/// after remount, and the refusal comes only when the disk is nearly full.
#[test]
fn admitted_writes_always_reach_the_disk() {
    let mut fs = small_fs();
    let mut pc = PageCache::default();
    let mut rng = Rng::new(7);
    let usable = fs.statfs().unwrap().blocks;
    let mut files: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut refused = false;
    for n in 0..10_000u64 {
        let blocks = rng.range(1, 24);
        let data = pattern(n, blocks as usize * BLOCK);
        let ino = fs.create(ROOT, format!("f{n}").as_bytes(), 0o644, 0, 0).map(|a| a.ino);
        let ino = match ino {
            Ok(ino) => ino,
            Err(e) => {
                assert_eq!(e, ENOSPC);
                refused = true;
                break;
            }
        };
        let per = *rng.pick(&[1, 4, 16]);
        match pc.write(&mut fs, ino, 0, &data, per) {
            Ok(()) => files.push((ino, data)),
            Err(e) => {
                assert_eq!(e, ENOSPC);
                // The folios admitted before the refusal stay, as the
                // kernel keeps the bytes a short write copied.
                refused = true;
                pc.truncate(&mut fs, ino, 0);
                fs.unlink(ROOT, format!("f{n}").as_bytes()).unwrap();
                break;
            }
        }
        if rng.chance(20) {
            pc.writeback(&mut fs);
        }
        // Delete some files, so the disk fills with dead blocks GC must
        // reclaim before writeback can place the reserved ones.
        if rng.chance(30) && files.len() > 4 {
            let k = rng.below(files.len() as u64) as usize;
            let (ino, _) = files.swap_remove(k);
            pc.truncate(&mut fs, ino, 0);
            let name = list_dir(&mut fs, ROOT, 100_000).unwrap().into_iter().find(|e| e.1 == ino).unwrap().0;
            fs.unlink(ROOT, &name).unwrap();
        }
    }
    assert!(refused, "never refused: the test did not fill the disk");
    pc.writeback(&mut fs);
    let live: u64 = files.iter().map(|f| (f.1.len() / BLOCK) as u64 + 1).sum();
    assert!(live * 100 >= usable * 80, "refused with {live} of {usable} blocks live");
    let dev: MemDevice = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    for (ino, data) in &files {
        assert_eq!(&read_all(&mut fs, *ino).unwrap(), data, "inode {ino} after remount");
    }
    fsck(&mut fs).unwrap();
}

/// Reserved blocks are taken: other writes, creates and statfs see them,
/// and giving them back returns the space.
#[test]
fn reservations_count_as_used() {
    let mut fs = small_fs();
    let free0 = fs.statfs().unwrap().bfree;
    let f = fs.create(ROOT, b"f", 0o644, 0, 0).unwrap().ino;
    let g = fs.create(ROOT, b"g", 0o644, 0, 0).unwrap().ino;
    let free1 = fs.statfs().unwrap().bfree;
    assert!(free1 < free0);
    let held = fs.reserve(f, 0, free1, 0).unwrap();
    assert_eq!(held, free1);
    assert_eq!(fs.statfs().unwrap().bfree, 0);
    assert_eq!(fs.reserve(f, free1, 1, 0), Err(ENOSPC));
    assert_eq!(fs.write(g, 0, &[1u8; BLOCK]), Err(ENOSPC));
    fs.unreserve(held);
    assert_eq!(fs.statfs().unwrap().bfree, free1);
    fs.write(g, 0, &[1u8; BLOCK]).unwrap();
}

/// Only blocks writeback will add are reserved: an overwrite of mapped
/// blocks takes nothing, a second write to the same folio only tops up.
#[test]
fn reserve_counts_only_new_blocks() {
    let mut fs = small_fs();
    let f = fs.create(ROOT, b"f", 0o644, 0, 0).unwrap().ino;
    fs.write_blocks(f, 0, &[&[7u8; BLOCK], &[7u8; BLOCK]]).unwrap();
    assert_eq!(fs.reserve(f, 0, 2, 0).unwrap(), 0);
    assert_eq!(fs.reserve(f, 0, 4, 0).unwrap(), 2);
    assert_eq!(fs.reserve(f, 0, 4, 2).unwrap(), 2);
    assert_eq!(fs.reserve(f, 0, 8, 2).unwrap(), 6);
    assert_eq!(fs.reserved_blocks(), 6);
    fs.unreserve(6);
    assert_eq!(fs.reserved_blocks(), 0);
}
