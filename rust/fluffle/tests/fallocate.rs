//! fallocate (reserve, KEEP_SIZE, punch hole, zero range, refused modes),
//! SEEK_DATA/SEEK_HOLE and FIEMAP of the core (`fallocate.rs`): semantics
//! against Linux's, the space accounting of reservations (statfs,
//! st_blocks, ENOSPC with a reservation, through the kernel's delayed
//! allocation too), persistence across remount and fsync + crash, and
//! fsck's view of it.

mod common;

use common::*;
use fluffle::errno::*;
use fluffle::fallocate::*;
use fluffle::fs::{Fs, SetAttr};
use fluffle::mem::FVec;
use fluffle::memdev::MemDevice;

const B: u64 = 4096;
const KEEP: u32 = FALLOC_FL_KEEP_SIZE;
const PUNCH: u32 = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
const ZERO: u32 = FALLOC_FL_ZERO_RANGE;

fn roomy() -> CoreFs {
    mount(formatted(16, 256, 256)).expect("mount")
}

fn file(fs: &mut CoreFs, name: &str) -> u64 {
    fs.create(ROOT, name.as_bytes(), 0o644, 0, 0).expect("create").ino
}

fn free(fs: &mut CoreFs) -> u64 {
    fs.statfs().expect("statfs").bfree
}

/// Equal but for the metadata a change writes (nodes, packs: statfs
/// counts them as used too).
fn near(a: u64, b: u64) -> bool {
    a.abs_diff(b) <= 2
}

fn blocks(fs: &mut CoreFs, ino: u64) -> u64 {
    fs.getattr(ino).expect("getattr").blocks / 8
}

fn fsck_clean<D: fluffle::device::ZonedDevice>(fs: &mut Fs<D>) {
    let r = fs.check().expect("check");
    assert_eq!(r.problems(), 0, "fsck: {:?}", r.list);
}

fn remount(fs: CoreFs) -> CoreFs {
    let dev = fs.unmount().expect("unmount");
    let mut fs = mount(dev).expect("remount");
    fsck_clean(&mut fs);
    fs
}

fn extents(fs: &mut CoreFs, ino: u64) -> Vec<FiemapExtent> {
    let mut out = FVec::new();
    fs.fiemap(ino, 0, u64::MAX, 1000, &mut out).expect("fiemap");
    out.iter().copied().collect()
}

#[test]
fn refused_modes_and_ranges() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    for mode in [
        FALLOC_FL_COLLAPSE_RANGE,
        FALLOC_FL_INSERT_RANGE,
        FALLOC_FL_UNSHARE_RANGE,
        FALLOC_FL_NO_HIDE_STALE | KEEP,
        FALLOC_FL_PUNCH_HOLE,
        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | KEEP,
        0x80,
        1 << 20,
    ] {
        assert_eq!(fs.fallocate(f, mode, 0, B), Err(EOPNOTSUPP), "mode {mode:#x}");
    }
    assert_eq!(fs.fallocate(f, 0, 0, 0), Err(EINVAL));
    assert_eq!(fs.fallocate(f, 0, u64::MAX - 10, 100), Err(EFBIG));
    assert_eq!(fs.fallocate(f, 0, fluffle::fs::MAX_FILE_SIZE, 1), Err(EFBIG));
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    assert_eq!(fs.fallocate(d, 0, 0, B), Err(EISDIR));
    assert_eq!(fs.getattr(f).unwrap().size, 0);
    assert_eq!(blocks(&mut fs, f), 0);
    fsck_clean(&mut fs);
}

#[test]
fn mode0_grows_and_reserves_keep_size_does_not_grow() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    let free0 = free(&mut fs);
    fs.set_time(fluffle::fs::Timespec { sec: 100, nsec: 0 });
    fs.fallocate(f, 0, 0, 10 * B + 5).unwrap();
    let a = fs.getattr(f).unwrap();
    assert_eq!(a.size, 10 * B + 5);
    assert_eq!(a.blocks, 11 * 8);
    assert_eq!((a.mtime.sec, a.ctime.sec), (100, 100));
    assert_eq!(free0 - free(&mut fs), 11);
    // Reads zeros.
    assert_eq!(read_all(&mut fs, f).unwrap(), vec![0u8; (10 * B + 5) as usize]);
    // KEEP_SIZE past EOF: size unchanged, blocks and df change.
    fs.set_time(fluffle::fs::Timespec { sec: 200, nsec: 0 });
    fs.fallocate(f, KEEP, 20 * B, 4 * B).unwrap();
    let a = fs.getattr(f).unwrap();
    assert_eq!(a.size, 10 * B + 5);
    assert_eq!(a.blocks, 15 * 8);
    assert_eq!((a.mtime.sec, a.ctime.sec), (100, 200));
    assert_eq!(free0 - free(&mut fs), 15);
    // Reserving again what is reserved costs nothing.
    fs.fallocate(f, 0, 0, 24 * B).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 24 * B);
    assert_eq!(free0 - free(&mut fs), 24);
    assert_eq!(blocks(&mut fs, f), 24);
    fsck_clean(&mut fs);
}

#[test]
fn writes_consume_the_reservation_and_never_count_twice() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    let free0 = free(&mut fs);
    fs.fallocate(f, KEEP, 0, 16 * B).unwrap();
    assert_eq!(free0 - free(&mut fs), 16);
    // A byte-granular write (the core's dirty pages), a whole-block write
    // straight to the log (the kernel's writeback), then writeback.
    fs.write(f, 100, b"hello").unwrap();
    let blk = vec![7u8; B as usize];
    fs.write_blocks(f, 4 * B, &[&blk, &blk]).unwrap();
    assert_eq!(free0 - free(&mut fs), 16, "used space stays what was reserved");
    fs.sync().unwrap();
    // Nodes now take space too: count the data only.
    let a = fs.getattr(f).unwrap();
    assert_eq!(a.size, 6 * B);
    assert_eq!(a.blocks, 16 * 8);
    let ext = extents(&mut fs, f);
    let unwritten: u64 = ext.iter().filter(|e| e.kind == ExtentKind::Unwritten).map(|e| e.len / B).sum();
    let mapped: u64 = ext.iter().filter(|e| e.kind == ExtentKind::Mapped).map(|e| e.len / B).sum();
    assert_eq!((mapped, unwritten), (3, 13));
    fsck_clean(&mut fs);
    let mut fs = remount(fs);
    let a = fs.getattr(f).unwrap();
    assert_eq!(a.blocks, 16 * 8);
    let data = read_all(&mut fs, f).unwrap();
    assert_eq!(&data[100..105], b"hello");
    assert_eq!(&data[4 * B as usize..6 * B as usize], &[7u8; 2 * B as usize][..]);
    assert!(data[..100].iter().all(|&b| b == 0));
}

#[test]
fn truncate_and_unlink_give_reservations_back() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    let free0 = free(&mut fs);
    fs.fallocate(f, 0, 0, 8 * B).unwrap();
    fs.fallocate(f, KEEP, 8 * B, 8 * B).unwrap();
    assert_eq!(free0 - free(&mut fs), 16);
    // Shrinking drops everything past the new end, the KEEP_SIZE blocks too.
    fs.setattr(f, &SetAttr { size: Some(3 * B + 1), ..SetAttr::default() }).unwrap();
    assert_eq!(free0 - free(&mut fs), 4);
    assert_eq!(blocks(&mut fs, f), 4);
    // Growing keeps them.
    fs.setattr(f, &SetAttr { size: Some(100 * B), ..SetAttr::default() }).unwrap();
    assert_eq!(blocks(&mut fs, f), 4);
    fs.unlink(ROOT, b"f").unwrap();
    fs.sync().unwrap();
    assert!(near(free(&mut fs), free0));
    fsck_clean(&mut fs);
    // Open-unlinked: freed on the last release, or by the next mount.
    let g = file(&mut fs, "g");
    fs.hold(g).unwrap();
    fs.fallocate(g, KEEP, 0, 32 * B).unwrap();
    fs.unlink(ROOT, b"g").unwrap();
    fs.sync().unwrap();
    let used = free0 - free(&mut fs);
    assert!(used + 2 >= 32, "reservation of an open unlinked file stays: {used}");
    let dev = fs.into_device();
    let mut fs = mount(dev).unwrap();
    fsck_clean(&mut fs);
    assert!(near(free(&mut fs), free0), "the orphan's reservation is given back at mount");
}

#[test]
fn punch_hole_frees_blocks_and_reads_zeros() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    let data: Vec<u8> = (0..16 * B).map(|k| (k % 251) as u8 + 1).collect();
    fs.write(f, 0, &data).unwrap();
    fs.sync().unwrap();
    let free1 = free(&mut fs);
    fs.set_time(fluffle::fs::Timespec { sec: 300, nsec: 0 });
    // Bytes 1000 .. 5*B+7: block 0 partly, 1..5 wholly, block 5 partly.
    fs.fallocate(f, PUNCH, 1000, 5 * B + 7 - 1000).unwrap();
    let a = fs.getattr(f).unwrap();
    assert_eq!(a.size, 16 * B);
    assert_eq!((a.mtime.sec, a.ctime.sec), (300, 300));
    let mut want = data.clone();
    want[1000..(5 * B + 7) as usize].fill(0);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    fs.sync().unwrap();
    let freed = free(&mut fs) - free1;
    assert!(near(freed, 4), "four whole blocks freed: {freed}");
    // Within one block, and past EOF (nothing there): fine.
    fs.fallocate(f, PUNCH, 10 * B + 5, 10).unwrap();
    want[(10 * B + 5) as usize..(10 * B + 15) as usize].fill(0);
    fs.fallocate(f, PUNCH, 100 * B, B).unwrap();
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    // Dirty data in the range goes too.
    fs.write(f, 12 * B, &[9u8; 2 * B as usize]).unwrap();
    fs.fallocate(f, PUNCH, 12 * B, 2 * B).unwrap();
    want[(12 * B) as usize..(14 * B) as usize].fill(0);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    // Punching reserved blocks gives them back.
    let free2 = free(&mut fs);
    fs.fallocate(f, KEEP, 20 * B, 10 * B).unwrap();
    assert_eq!(free2 - free(&mut fs), 10);
    fs.fallocate(f, PUNCH, 22 * B, 3 * B).unwrap();
    assert_eq!(free2 - free(&mut fs), 7);
    fsck_clean(&mut fs);
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    // Holes stay holes after remount.
    assert_eq!(fs.seek_hole(f, 0).unwrap(), B);
    assert_eq!(fs.seek_data(f, B).unwrap(), 5 * B);
}

#[test]
fn punch_of_an_inline_file_zeroes_in_place() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    fs.write(f, 0, &[5u8; 1000]).unwrap();
    fs.fallocate(f, PUNCH, 10, 20).unwrap();
    let d = read_all(&mut fs, f).unwrap();
    assert_eq!(d.len(), 1000);
    assert!(d[10..30].iter().all(|&b| b == 0) && d[..10].iter().all(|&b| b == 5) && d[30..].iter().all(|&b| b == 5));
    let e = extents(&mut fs, f);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].kind, e[0].len, e[0].last), (ExtentKind::Inline, 1000, true));
    assert_eq!(fs.seek_data(f, 0).unwrap(), 0);
    assert_eq!(fs.seek_hole(f, 0).unwrap(), 1000);
    let mut fs = remount(fs);
    let d2 = read_all(&mut fs, f).unwrap();
    assert_eq!(d, d2);
}

#[test]
fn zero_range_zeroes_reserves_and_grows() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    let data = vec![0xabu8; (8 * B) as usize];
    fs.write(f, 0, &data).unwrap();
    fs.sync().unwrap();
    let free1 = free(&mut fs);
    fs.fallocate(f, ZERO, 2 * B + 100, 3 * B).unwrap();
    let mut want = data.clone();
    want[(2 * B + 100) as usize..(5 * B + 100) as usize].fill(0);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    // The two whole blocks were freed and reserved again: no net change.
    fs.sync().unwrap();
    assert!(near(free1, free(&mut fs)));
    assert_eq!(blocks(&mut fs, f), 8);
    // Past EOF: grows, reserved.
    fs.fallocate(f, ZERO, 8 * B, 2 * B + 1).unwrap();
    want.resize((10 * B + 1) as usize, 0);
    assert_eq!(fs.getattr(f).unwrap().size, 10 * B + 1);
    assert_eq!(blocks(&mut fs, f), 11);
    // KEEP_SIZE: no growth.
    fs.fallocate(f, ZERO | KEEP, 20 * B, B).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 10 * B + 1);
    assert_eq!(blocks(&mut fs, f), 12);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    fsck_clean(&mut fs);
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    assert_eq!(blocks(&mut fs, f), 12);
}

#[test]
fn seek_data_and_hole_follow_the_layout() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    // data at blocks 2..4 (written back), 10 (dirty page), reserved 6..8,
    // hole elsewhere; size 13 blocks.
    fs.write(f, 2 * B, &[1u8; 2 * B as usize]).unwrap();
    fs.sync().unwrap();
    fs.write(f, 10 * B, &[2u8; B as usize]).unwrap();
    fs.fallocate(f, KEEP, 6 * B, 2 * B).unwrap();
    fs.setattr(f, &SetAttr { size: Some(13 * B), ..SetAttr::default() }).unwrap();
    assert_eq!(fs.seek_data(f, 0).unwrap(), 2 * B);
    assert_eq!(fs.seek_data(f, 2 * B + 7).unwrap(), 2 * B + 7);
    assert_eq!(fs.seek_hole(f, 0).unwrap(), 0);
    assert_eq!(fs.seek_hole(f, 2 * B).unwrap(), 4 * B);
    assert_eq!(fs.seek_data(f, 4 * B).unwrap(), 10 * B, "reserved blocks are holes");
    assert_eq!(fs.seek_hole(f, 10 * B).unwrap(), 11 * B);
    assert_eq!(fs.seek_data(f, 11 * B), Err(ENXIO));
    assert_eq!(fs.seek_hole(f, 12 * B).unwrap(), 12 * B);
    assert_eq!(fs.seek_hole(f, 13 * B), Err(ENXIO));
    assert_eq!(fs.seek_data(f, 13 * B), Err(ENXIO));
    // A fully written file: the only hole is at EOF.
    let g = file(&mut fs, "g");
    fs.write(g, 0, &vec![3u8; (5 * B + 10) as usize]).unwrap();
    assert_eq!(fs.seek_hole(g, 0).unwrap(), 5 * B + 10);
    assert_eq!(fs.seek_data(g, 5 * B + 9).unwrap(), 5 * B + 9);
    // An empty file has neither.
    let h = file(&mut fs, "h");
    assert_eq!(fs.seek_data(h, 0), Err(ENXIO));
    assert_eq!(fs.seek_hole(h, 0), Err(ENXIO));
}

#[test]
fn fiemap_reports_mapped_delalloc_unwritten_and_last() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    fs.write(f, 0, &[1u8; 3 * B as usize]).unwrap();
    fs.sync().unwrap();
    fs.write(f, 5 * B, &[2u8; 2 * B as usize]).unwrap();
    fs.fallocate(f, KEEP, 9 * B, 3 * B).unwrap();
    let e = extents(&mut fs, f);
    let got: Vec<(u64, u64, ExtentKind, bool)> = e.iter().map(|x| (x.logical / B, x.len / B, x.kind, x.last)).collect();
    assert_eq!(
        got,
        vec![(0, 3, ExtentKind::Mapped, false), (5, 2, ExtentKind::Delalloc, false), (9, 3, ExtentKind::Unwritten, true)]
    );
    let geo = fs.geometry();
    let dev_blocks = geo.zone_count as u64 * geo.zone_size;
    assert!(e[0].physical / B >= 2 * geo.zone_size && e[0].physical / B + 3 <= dev_blocks);
    // A window: only what overlaps it, and the last one it gives is not
    // the file's last.
    let mut out = FVec::new();
    fs.fiemap(f, 4 * B, 2 * B, 100, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].logical, out[0].kind, out[0].last), (5 * B, ExtentKind::Delalloc, false));
    fs.fiemap(f, 0, u64::MAX, 2, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert!(!out[1].last);
    // The mapped extent is where the data is.
    let mut blk = vec![0u8; B as usize];
    let mut dev = fs.unmount().unwrap();
    fluffle::device::ZonedDevice::read(&mut dev, e[0].physical / B, &mut blk).unwrap();
    assert!(blk.iter().all(|&b| b == 1));
}

/// A reservation holds: after filling every other block of the device,
/// writes into the reserved range still succeed (through the core's
/// pages and through the kernel's delayed allocation), while other writes
/// get ENOSPC; and a reservation that does not fit is refused whole.
#[test]
fn enospc_with_a_reservation() {
    let dev = formatted(16, 64, 64);
    let mut fs = mount(dev).unwrap();
    let f = file(&mut fs, "reserved");
    let k = file(&mut fs, "kernel");
    fs.fallocate(f, 0, 0, 40 * B).unwrap();
    fs.fallocate(k, 0, 0, 24 * B).unwrap();
    let avail = free(&mut fs);
    // A reservation bigger than what is left: refused, nothing changes.
    let g = file(&mut fs, "filler");
    let other = file(&mut fs, "other");
    assert_eq!(fs.fallocate(g, 0, 0, (avail + 1) * B), Err(ENOSPC));
    assert_eq!(fs.getattr(g).unwrap().size, 0);
    assert_eq!(blocks(&mut fs, g), 0);
    // Fill the rest with another file.
    let chunk = vec![0x5au8; 16 * B as usize];
    let mut off = 0u64;
    loop {
        match fs.write(g, off, &chunk) {
            Ok(_) => off += chunk.len() as u64,
            Err(ENOSPC) => break,
            Err(e) => panic!("filler: {e:?}"),
        }
        if off % (256 * B) == 0 {
            fs.sync().unwrap();
        }
    }
    loop {
        match fs.write(g, off, &[0x5a; B as usize]) {
            Ok(_) => off += B,
            Err(ENOSPC) => break,
            Err(e) => panic!("filler: {e:?}"),
        }
    }
    assert_eq!(fs.write(other, 0, &[1u8; B as usize * 2]), Err(ENOSPC));
    // Every reserved block can still be written.
    let want: Vec<u8> = (0..40 * B).map(|x| (x % 97) as u8).collect();
    for (n, c) in want.chunks(3000).enumerate() {
        fs.write(f, n as u64 * 3000, c).unwrap_or_else(|e| panic!("write into the reservation at {n}: {e:?}"));
    }
    fs.sync().unwrap();
    // The kernel's path: reserve() for the folios, then write_blocks().
    let held = fs.reserve(k, 0, 24, 0).unwrap();
    assert_eq!(held, 0, "reserved blocks need no delayed-allocation room");
    let blk = vec![0x77u8; B as usize];
    let bufs: Vec<&[u8]> = (0..24).map(|_| blk.as_slice()).collect();
    let st = fs.statfs().unwrap();
    if let Err(e) = fs.write_blocks(k, 0, &bufs) {
        let mut out = String::new();
        fs.dump(&mut out, false).ok();
        panic!("write_blocks: {e:?} statfs {st:?}\n{}", &out[..out.len().min(4000)]);
    }
    fs.sync().unwrap();
    fsck_clean(&mut fs);
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    assert_eq!(read_all(&mut fs, k).unwrap(), vec![0x77u8; 24 * B as usize]);
}

/// Reservations, holes and punched ranges survive unmount + mount, and a
/// crash after fsync (roll-forward of the node) keeps the total right.
#[test]
fn remount_and_fsync_crash_keep_reservations_and_holes() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    fs.write(f, 0, &vec![4u8; (8 * B) as usize]).unwrap();
    fs.fallocate(f, KEEP, 8 * B, 8 * B).unwrap();
    fs.sync().unwrap();
    let free0 = free(&mut fs);
    let mut fs = remount(fs);
    assert_eq!(free(&mut fs), free0);
    assert_eq!(blocks(&mut fs, f), 16);
    // After the checkpoint: punch, reserve more, write some reserved
    // blocks, fsync, crash.
    fs.fallocate(f, PUNCH, 2 * B, 2 * B).unwrap();
    fs.fallocate(f, KEEP, 20 * B, 4 * B).unwrap();
    fs.write(f, 8 * B, &[6u8; B as usize]).unwrap();
    fs.fsync(f, false).unwrap();
    let want = read_all(&mut fs, f).unwrap();
    let want_blocks = blocks(&mut fs, f);
    assert_eq!(want_blocks, 6 + 1 + 7 + 4);
    let dev = fs.into_device();
    let mut fs = mount(dev).unwrap();
    fsck_clean(&mut fs);
    assert_eq!(read_all(&mut fs, f).unwrap(), want);
    assert_eq!(blocks(&mut fs, f), want_blocks);
    assert_eq!(fs.seek_hole(f, 0).unwrap(), 2 * B);
    assert_eq!(fs.seek_data(f, 2 * B).unwrap(), 4 * B);
    // A new file with a reservation, fsynced (its node carries its name).
    let g = file(&mut fs, "g");
    fs.fallocate(g, 0, 0, 5 * B).unwrap();
    fs.fsync(g, false).unwrap();
    let dev = fs.into_device();
    let mut fs = mount(dev).unwrap();
    fsck_clean(&mut fs);
    let g = resolve(&mut fs, "g").unwrap();
    assert_eq!(fs.getattr(g).unwrap().size, 5 * B);
    assert_eq!(blocks(&mut fs, g), 5);
    // Without fsync, a crash loses the reservation with the rest.
    let h = file(&mut fs, "h");
    fs.fallocate(h, 0, 0, 50 * B).unwrap();
    let dev = fs.into_device();
    let mut fs = mount(dev).unwrap();
    fsck_clean(&mut fs);
    assert_eq!(resolve(&mut fs, "h"), Err(ENOENT));
}

/// The node grows by one run per reserved gap: a pathological pattern
/// is refused with ENOSPC before the node outgrows its limit.
#[test]
fn many_runs_stay_within_the_node() {
    let mut fs = mount(formatted(12, 16, 16)).unwrap();
    let f = file(&mut fs, "f");
    let mut refused = false;
    for k in 0..20000u64 {
        match fs.fallocate(f, KEEP, k * 2 * B * 1000, B) {
            Ok(()) => {}
            Err(ENOSPC) => {
                refused = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(refused);
    fs.sync().unwrap();
    fsck_clean(&mut fs);
}

/// fsck sees a wrong total.
#[test]
fn fsck_checks_the_reserved_total() {
    let mut fs = roomy();
    let f = file(&mut fs, "f");
    fs.fallocate(f, KEEP, 0, 8 * B).unwrap();
    fs.sync().unwrap();
    fsck_clean(&mut fs);
    // Damage: the file's runs go, the total stays.
    fs.fallocate(f, PUNCH, 0, 8 * B).unwrap();
    fs.debug_set_prealloc_total(8);
    let r = fs.check().unwrap();
    assert!(r.list.iter().any(|p| p.kind == fluffle::fsck::ProblemKind::ReservedCount), "{:?}", r.list);
}

#[test]
fn random_ranges_against_a_model() {
    let mut fs = mount(formatted(12, 64, 64)).unwrap();
    let f = file(&mut fs, "f");
    let mut model: Vec<u8> = Vec::new();
    let mut seed = 0x1234_5678u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..3000 {
        let op = next() % 7;
        let off = next() % (40 * B);
        let len = 1 + next() % (6 * B);
        let r = match op {
            0 | 1 => {
                let d: Vec<u8> = (0..len).map(|x| (x as u8) ^ (step as u8) | 1).collect();
                let r = fs.write(f, off, &d).map(|_| ());
                if r.is_ok() {
                    let end = (off + len) as usize;
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[off as usize..end].copy_from_slice(&d);
                }
                r
            }
            2 => {
                let r = fs.fallocate(f, PUNCH, off, len);
                if r.is_ok() {
                    let end = core::cmp::min((off + len) as usize, model.len());
                    if (off as usize) < end {
                        model[off as usize..end].fill(0);
                    }
                }
                r
            }
            3 => {
                let keep = next() % 2 == 0;
                let r = fs.fallocate(f, ZERO | if keep { KEEP } else { 0 }, off, len);
                if r.is_ok() {
                    let end = (off + len) as usize;
                    if !keep && model.len() < end {
                        model.resize(end, 0);
                    }
                    let e = core::cmp::min(end, model.len());
                    if (off as usize) < e {
                        model[off as usize..e].fill(0);
                    }
                }
                r
            }
            4 => {
                let keep = next() % 2 == 0;
                let r = fs.fallocate(f, if keep { KEEP } else { 0 }, off, len);
                if r.is_ok() && !keep && model.len() < (off + len) as usize {
                    model.resize((off + len) as usize, 0);
                }
                r
            }
            5 => {
                let size = next() % (40 * B);
                let r = fs.setattr(f, &SetAttr { size: Some(size), ..SetAttr::default() }).map(|_| ());
                if r.is_ok() {
                    model.resize(size as usize, 0);
                }
                r
            }
            _ => match next() % 3 {
                0 => fs.sync(),
                1 => fs.fsync(f, false),
                _ => fs.gc_step().map(|_| ()),
            },
        };
        match r {
            Ok(()) | Err(ENOSPC) => {}
            Err(e) => panic!("step {step} op {op}: {e:?}"),
        }
        let got = read_all(&mut fs, f).unwrap();
        assert_eq!(got.len(), model.len(), "step {step} op {op}");
        assert!(got == model, "step {step} op {op}: content differs");
        // SEEK_DATA never skips data, SEEK_HOLE never lands on data.
        let p = next() % (model.len() as u64 + 1);
        match fs.seek_data(f, p) {
            Ok(d) => assert!(d >= p && d < model.len() as u64),
            Err(ENXIO) => assert!(model[p as usize..].iter().all(|&b| b == 0)),
            Err(e) => panic!("{e:?}"),
        }
        if let Ok(d) = fs.seek_data(f, p) {
            assert!(model[p as usize..d as usize].iter().all(|&b| b == 0), "step {step}: data skipped");
        }
        if (p as usize) < model.len() {
            let h = fs.seek_hole(f, p).unwrap();
            assert!(h >= p && h <= model.len() as u64);
            if h < model.len() as u64 {
                let blk = (h / B * B) as usize;
                let e = core::cmp::min(blk + B as usize, model.len());
                assert!(model[blk..e].iter().all(|&b| b == 0), "step {step}: hole at {h} holds data");
            }
        }
        if step % 500 == 0 {
            fsck_clean(&mut fs);
        }
    }
    fs.sync().unwrap();
    fsck_clean(&mut fs);
    let dev: MemDevice = fs.unmount().unwrap();
    let mut fs = mount(dev).unwrap();
    fsck_clean(&mut fs);
    assert!(read_all(&mut fs, f).unwrap() == model);
}
