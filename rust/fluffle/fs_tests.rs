//! Unit tests of the filesystem core on the in-memory device.
extern crate std;
use std::vec;
use std::vec::Vec;

use super::errno::*;
use super::fs::{format, Fs};
use super::device::ZonedDevice;
use super::memdev::MemDevice;
use super::types::*;

fn dev(zones: u32, cap: u64) -> MemDevice {
    let mut d = MemDevice::with_zones(zones, cap + cap / 4, cap).unwrap();
    format(&mut d, &FormatOptions::default()).unwrap();
    d
}

fn mount(d: MemDevice) -> Fs<MemDevice> {
    Fs::mount(d, &MountOptions::default()).unwrap()
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn read_all(fs: &mut Fs<MemDevice>, ino: u64) -> Vec<u8> {
    let size = fs.getattr(ino).unwrap().size as usize;
    let mut b = vec![0u8; size];
    assert_eq!(fs.read(ino, 0, &mut b).unwrap(), size);
    b
}

#[test]
fn basic_files_survive_remount() {
    let mut fs = mount(dev(16, 64));
    let a = fs.create(Fs::<MemDevice>::ROOT_INO, b"a", 0o644, 1, 2).unwrap();
    let data = pattern(1, 50_000);
    fs.write(a.ino, 0, &data).unwrap();
    fs.write(a.ino, 100_000, b"tail").unwrap();
    let d = fs.mkdir(1, b"d", 0o755, 0, 0).unwrap();
    fs.symlink(d.ino, b"l", b"../a", 0, 0).unwrap();
    fs.setxattr(a.ino, b"user.k", b"v", 0).unwrap();
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev);
    let got = read_all(&mut fs, a.ino);
    assert_eq!(&got[..50_000], &data[..]);
    assert!(got[50_000..100_000].iter().all(|&b| b == 0));
    assert_eq!(&got[100_000..], b"tail");
    let l = fs.lookup(d.ino, b"l").unwrap();
    let mut t = [0u8; 16];
    assert_eq!(fs.readlink(l.ino, &mut t).unwrap(), 4);
    assert_eq!(&t[..4], b"../a");
    let mut v = [0u8; 4];
    assert_eq!(fs.getxattr(a.ino, b"user.k", &mut v).unwrap(), 1);
    assert_eq!(fs.getattr(1).unwrap().nlink, 3);
    assert_eq!(fs.getattr(a.ino).unwrap().uid, 1);
}

#[test]
fn namespace_ops() {
    let mut fs = mount(dev(16, 64));
    let d1 = fs.mkdir(1, b"d1", 0o755, 0, 0).unwrap().ino;
    let d2 = fs.mkdir(d1, b"d2", 0o755, 0, 0).unwrap().ino;
    assert_eq!(fs.rename(1, b"d1", d2, b"x", 0), Err(EINVAL));
    let f = fs.create(d2, b"f", 0o644, 0, 0).unwrap().ino;
    assert_eq!(fs.create(d2, b"f", 0o644, 0, 0), Err(EEXIST));
    assert_eq!(fs.rmdir(1, b"d1"), Err(ENOTEMPTY));
    assert_eq!(fs.unlink(1, b"d1"), Err(EISDIR));
    assert_eq!(fs.lookup(1, &[b'a'; 256]), Err(ENAMETOOLONG));
    fs.link(f, 1, b"hard").unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 2);
    fs.rename(d2, b"f", 1, b"hard", 0).unwrap(); // same inode: no-op
    assert_eq!(fs.getattr(f).unwrap().nlink, 2);
    fs.unlink(d2, b"f").unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 1);
    fs.rename(d1, b"d2", 1, b"d2", 0).unwrap();
    assert_eq!(fs.getattr(d1).unwrap().nlink, 2);
    assert_eq!(fs.getattr(1).unwrap().nlink, 4);
    fs.rename(1, b"d1", 1, b"d2", RENAME_EXCHANGE).unwrap();
    assert_eq!(fs.lookup(1, b"d2").unwrap().ino, d1);
    assert_eq!(fs.rename(1, b"hard", 1, b"d1", RENAME_NOREPLACE), Err(EEXIST));
    let mut names = Vec::new();
    fs.readdir(1, 0, &mut |n, _, _, c| {
        names.push((n.to_vec(), c));
        true
    })
    .unwrap();
    assert_eq!(names.len(), 5);
    // Stable cookies: resuming after the 3rd entry yields the rest.
    let c3 = names[2].1;
    let mut rest = 0;
    fs.readdir(1, c3, &mut |_, _, _, _| {
        rest += 1;
        true
    })
    .unwrap();
    assert_eq!(rest, 2);
    fs.rmdir(1, b"d1").unwrap();
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev);
    assert_eq!(fs.getattr(1).unwrap().nlink, 3);
    assert_eq!(fs.lookup(1, b"hard").unwrap().ino, f);
}

#[test]
fn truncate_and_holes() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    fs.write(f, 0, &[7u8; 10000]).unwrap();
    fs.sync().unwrap();
    fs.setattr(f, &SetAttr { size: Some(5000), ..Default::default() }).unwrap();
    fs.setattr(f, &SetAttr { size: Some(9000), ..Default::default() }).unwrap();
    let got = read_all(&mut fs, f);
    assert!(got[..5000].iter().all(|&b| b == 7));
    assert!(got[5000..].iter().all(|&b| b == 0));
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev);
    let got2 = read_all(&mut fs, f);
    assert_eq!(got, got2);
}

#[test]
fn fsync_rolls_forward_without_checkpoint() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    fs.sync().unwrap();
    let data = pattern(3, 20000);
    fs.write(f, 0, &data).unwrap();
    fs.fsync(f, false).unwrap();
    fs.write(f, 0, b"not synced").unwrap();
    let crashed = fs.device().after_power_loss();
    let mut fs2 = mount(crashed);
    assert_eq!(read_all(&mut fs2, f), data);
}

#[test]
fn crash_at_every_write_is_consistent() {
    crash_at_every_write(false);
}

#[test]
fn crash_at_every_write_with_volatile_cache() {
    crash_at_every_write(true);
}

fn crash_at_every_write(volatile: bool) {
    let mut base = dev(16, 32);
    base.set_volatile_cache(volatile);
    let w0 = base.write_count();
    let p1 = pattern(9, 30000);
    let p2 = pattern(10, 30000);
    // Runs the workload; returns the fsync/sync points reached (write
    // counts at which each durability promise was made).
    let run = |d: MemDevice, marks: &mut Vec<u64>| -> Option<Fs<MemDevice>> {
        let mut fs = Fs::mount(d, &MountOptions::default()).ok()?;
        let f = fs.create(1, b"f", 0o644, 0, 0).ok()?.ino;
        fs.write(f, 0, &p1).ok()?;
        fs.fsync(f, false).ok()?;
        marks.push(1);
        fs.write(f, 30000, &p2).ok()?;
        fs.fsync(f, false).ok()?;
        marks.push(2);
        fs.mkdir(1, b"d", 0o755, 0, 0).ok()?;
        fs.sync().ok()?;
        marks.push(3);
        Some(fs)
    };
    let mut m = Vec::new();
    let fs = run(base.clone(), &mut m).unwrap();
    let total = fs.device().write_count() - w0;
    assert!(total > 5);
    for cut in 0..=total {
        for tear in [false, true] {
            let mut d = base.clone();
            if tear {
                d.tear_write(w0 + cut + 1, 1);
            } else {
                d.power_cut_after(w0 + cut);
            }
            let mut marks = Vec::new();
            let out = run(d.clone(), &mut marks);
            let dev_after = match out {
                Some(fs) => fs.device().after_power_loss(),
                None => {
                    // Rerun to get the device state at the cut.
                    let mut d2 = d;
                    let mut m2 = Vec::new();
                    let _ = (|| -> Option<()> {
                        let mut fs = Fs::mount(&mut d2, &MountOptions::default()).ok()?;
                        let f = fs.create(1, b"f", 0o644, 0, 0).ok()?.ino;
                        fs.write(f, 0, &p1).ok()?;
                        fs.fsync(f, false).ok()?;
                        m2.push(1);
                        fs.write(f, 30000, &p2).ok()?;
                        fs.fsync(f, false).ok()?;
                        m2.push(2);
                        fs.mkdir(1, b"d", 0o755, 0, 0).ok()?;
                        fs.sync().ok()?;
                        m2.push(3);
                        None
                    })();
                    marks = m2;
                    d2.after_power_loss()
                }
            };
            let mut fs = Fs::mount(dev_after, &MountOptions::default())
                .unwrap_or_else(|e| panic!("cut {cut} tear {tear}: mount {e:?}"));
            let reached = marks.last().copied().unwrap_or(0);
            if reached >= 1 {
                let f = fs.lookup(1, b"f").unwrap().ino;
                let got = read_all(&mut fs, f);
                assert!(got.len() >= 30000, "cut {cut}");
                assert_eq!(&got[..30000], &p1[..], "cut {cut}");
                if reached >= 2 {
                    assert_eq!(&got[30000..60000], &p2[..], "cut {cut}");
                }
            }
            if reached >= 3 {
                fs.lookup(1, b"d").unwrap();
            }
            let r = fs.check().unwrap();
            assert_eq!(r.problems(), 0, "cut {cut} tear {tear}: {r:?}");
        }
    }
}

#[test]
fn random_overwrites_after_sequential_fill_do_not_enospc() {
    let mut d = MemDevice::with_zones(48, 64, 56).unwrap();
    format(&mut d, &FormatOptions::default()).unwrap();
    let mut fs = mount(d);
    let st = fs.statfs().unwrap();
    let blocks = st.blocks * 55 / 100;
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    let chunk = vec![1u8; 4096 * 16];
    for i in 0..blocks / 16 {
        fs.write(f, i * 16 * 4096, &chunk).unwrap();
    }
    fs.sync().unwrap();
    let mut x = 99u64;
    for k in 0..blocks * 4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x % (blocks / 16 * 16);
        fs.write(f, b * 4096, &[k as u8; 4096]).unwrap_or_else(|e| panic!("write {k}: {e:?} {:?}", fs.statfs()));
    }
    fs.sync().unwrap();
    assert_eq!(fs.check().unwrap().problems(), 0);
}

#[test]
fn many_creates_then_sync_never_enospc() {
    let mut d = MemDevice::with_zones(48, 64, 56).unwrap();
    format(&mut d, &FormatOptions::default()).unwrap();
    let mut fs = mount(d);
    let st = fs.statfs().unwrap();
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    let chunk = vec![1u8; 4096 * 16];
    for i in 0..(st.blocks / 2) / 16 {
        fs.write(f, i * 16 * 4096, &chunk).unwrap();
    }
    fs.sync().unwrap();
    let d = fs.mkdir(1, b"d", 0o755, 0, 0).unwrap().ino;
    let mut made = 0;
    for i in 0..st.blocks {
        match fs.create(d, std::format!("n{i}").as_bytes(), 0o644, 0, 0) {
            Ok(_) => made += 1,
            Err(e) => {
                assert_eq!(e, ENOSPC);
                break;
            }
        }
    }
    assert!(made > st.blocks / 4, "made {made}");
    fs.sync().unwrap();
    assert_eq!(fs.check().unwrap().problems(), 0);
}

#[test]
fn space_fill_overwrite_delete_refill() {
    let d = dev(16, 224);
    let mut fs = mount(d);
    let usable = fs.statfs().unwrap().blocks;
    const FB: u64 = 16; // blocks per file
    let mut files: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut seed = 1u64;
    // Fill to 95 % counting one node block per file.
    while (files.len() as u64 + 1) * (FB + 1) <= usable * 95 / 100 {
        let name = std::format!("f{}", files.len());
        let ino = fs.create(1, name.as_bytes(), 0o644, 0, 0).unwrap().ino;
        let data = pattern(seed, (FB * 4096) as usize);
        seed += 1;
        fs.write(ino, 0, &data).unwrap_or_else(|e| panic!("fill {}: {e:?} {:?}", files.len(), fs.statfs()));
        files.push((ino, data));
    }
    let mut x = 7u64;
    let total = 2 * 16 * 224;
    let mut written = 0u64;
    let mut n = 0u64;
    while written < total {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % files.len() as u64) as usize;
        let off = (x >> 20) % (FB * 4096 - 5000);
        let len = 1 + (x >> 40) % 5000;
        let data = pattern(x, len as usize);
        fs.write(files[i].0, off, &data).unwrap_or_else(|e| panic!("overwrite {n}: {e:?} {:?}", fs.statfs()));
        files[i].1[off as usize..(off + len) as usize].copy_from_slice(&data);
        written += len.div_ceil(4096);
        n += 1;
        if n % 500 == 0 {
            fs.fsync(files[i].0, false).unwrap();
        }
        if n % 1500 == 0 {
            fs = mount(fs.unmount().unwrap());
        }
        if n % 700 == 0 {
            fs.gc_step().unwrap();
        }
    }
    for (ino, want) in files.iter() {
        assert_eq!(&read_all(&mut fs, *ino), want);
    }
    assert_eq!(fs.check().unwrap().problems(), 0);
}

/// Power cuts during a workload that runs GC (small device, overwrites,
/// fsyncs, syncs): every cut leaves a mountable, consistent filesystem
/// holding every file as of its last fsync/sync.
#[test]
fn crash_during_gc_workload() {
    let mut base = MemDevice::with_zones(14, 40, 32).unwrap();
    format(&mut base, &FormatOptions::default()).unwrap();
    base.set_volatile_cache(true);
    let w0 = base.write_count();
    // Returns, per file, the content promised durable (after fsync/sync).
    // `durable`: content promised durable; `cur`: content as last written.
    let run = |d: &mut MemDevice, durable: &mut Vec<Vec<u8>>, cur: &mut Vec<Vec<u8>>| -> Option<()> {
        let mut fs = Fs::mount(d, &MountOptions::default()).ok()?;
        let mut inos = Vec::new();
        for i in 0..6u64 {
            let ino = fs.create(1, std::format!("f{i}").as_bytes(), 0o644, 0, 0).ok()?.ino;
            let data = pattern(i, 40 * 1024);
            fs.write(ino, 0, &data).ok()?;
            inos.push(ino);
            cur.push(data);
        }
        fs.sync().ok()?;
        *durable = cur.clone();
        let cur = cur;
        let mut x = 5u64;
        for k in 0..300u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = (x % 6) as usize;
            let off = ((x >> 8) % 9) * 4096;
            let data = pattern(x, 4096);
            fs.write(inos[f], off, &data).ok()?;
            cur[f][off as usize..off as usize + 4096].copy_from_slice(&data);
            if k % 7 == 0 {
                fs.fsync(inos[f], k % 2 == 0).ok()?;
                durable[f] = cur[f].clone();
            }
            if k % 50 == 49 {
                fs.sync().ok()?;
                *durable = cur.clone();
            }
        }
        None
    };
    let mut full = base.clone();
    let (mut durable, mut cur) = (Vec::new(), Vec::new());
    run(&mut full, &mut durable, &mut cur);
    let total = full.write_count() - w0;
    assert!(full.stats().resets > base.stats().resets + 5, "the workload must run GC");
    let step = if option_env!("FLUFFLE_ALL_CUTS").is_some() { 1 } else { core::cmp::max(1, total / 60) };
    let mut cut = 1;
    while cut <= total {
        let mut d = base.clone();
        d.power_cut_after(w0 + cut);
        let (mut durable, mut cur) = (Vec::new(), Vec::new());
        run(&mut d, &mut durable, &mut cur);
        let after = d.after_power_loss();
        let mut fs = Fs::mount(after, &MountOptions::default()).unwrap_or_else(|e| panic!("cut {cut}: mount {e:?}"));
        for (i, want) in durable.iter().enumerate() {
            let ino = fs.lookup(1, std::format!("f{i}").as_bytes()).unwrap().ino;
            let got = read_all(&mut fs, ino);
            assert_eq!(got.len(), want.len(), "cut {cut} file {i}");
            // Each block holds the durable version or the newest one (later
            // unsynced writes may reach the disk through a checkpoint).
            for (b, (g, w)) in got.chunks(4096).zip(want.chunks(4096)).enumerate() {
                let newest = &cur[i][b * 4096..b * 4096 + g.len()];
                assert!(g == w || g == newest, "cut {cut} file {i} block {b}: neither durable nor newest");
            }
        }
        assert_eq!(fs.check().unwrap().problems(), 0, "cut {cut}");
        cut += step;
    }
}

#[test]
fn small_files_live_inline_and_convert() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"s", 0o644, 0, 0).unwrap().ino;
    fs.write(f, 10, b"hello").unwrap();
    fs.sync().unwrap();
    let live = fs.statfs().unwrap().bfree;
    let mut fs = mount(fs.unmount().unwrap());
    let got = read_all(&mut fs, f);
    assert_eq!(&got[..10], &[0u8; 10]);
    assert_eq!(&got[10..], b"hello");
    assert_eq!(fs.getattr(f).unwrap().blocks, 0, "inline data takes no data block");
    // Grow past the inline limit: becomes block-mapped, content kept.
    let big = pattern(4, 10000);
    fs.write(f, 100, &big).unwrap();
    let mut want = got.clone();
    want.resize(100, 0);
    want.extend_from_slice(&big);
    assert_eq!(read_all(&mut fs, f), want);
    let snap = fs.snapshot(f).unwrap();
    fs.setattr(f, &SetAttr { size: Some(3), ..Default::default() }).unwrap();
    let mut sb = vec![0u8; 20000];
    assert_eq!(fs.snapshot_read(snap, 0, &mut sb).unwrap(), want.len());
    assert_eq!(&sb[..want.len()], &want[..]);
    fs.release_snapshot(snap).unwrap();
    let mut fs = mount(fs.unmount().unwrap());
    assert_eq!(read_all(&mut fs, f), &want[..3]);
    assert!(fs.statfs().unwrap().bfree >= live - 2);
    // A fresh small file snapshot gets real blocks.
    let g = fs.create(1, b"g", 0o644, 0, 0).unwrap().ino;
    fs.write(g, 0, b"abc").unwrap();
    let s2 = fs.snapshot(g).unwrap();
    let mut l = [0u64; 2];
    assert_eq!(fs.snapshot_lbas(s2, 0, &mut l).unwrap(), 1);
    let mut blk = vec![0u8; 4096];
    fs.snapshot_read_lba(s2, l[0], &mut blk).unwrap();
    assert_eq!(&blk[..3], b"abc");
    assert_eq!(fs.snapshot_read_lba(s2, l[0] + 1, &mut blk), Err(EACCES));
    assert_eq!(fs.check().unwrap().problems(), 0);
}

#[test]
fn shutdown_stops_writes_and_keeps_synced_state() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    fs.write(f, 0, b"durable").unwrap();
    fs.fsync(f, false).unwrap();
    fs.write(f, 0, b"lost!!!").unwrap();
    fs.shutdown();
    assert_eq!(fs.write(f, 0, b"x"), Err(EIO));
    assert_eq!(fs.create(1, b"g", 0o644, 0, 0), Err(EIO));
    let mut b = [0u8; 7];
    fs.read(f, 0, &mut b).unwrap();
    let writes = fs.device().write_count();
    let d = fs.unmount().unwrap();
    assert_eq!(d.write_count(), writes);
    let mut fs = mount(d);
    fs.read(f, 0, &mut b).unwrap();
    assert_eq!(&b, b"durable");
}

#[test]
fn small_inodes_share_pack_blocks() {
    let mut fs = mount(dev(16, 48));
    let blocks = fs.statfs().unwrap().blocks;
    let d = fs.mkdir(1, b"d", 0o755, 0, 0).unwrap().ino;
    // Far more small files than there are blocks.
    let n = blocks * 3;
    let mut inos = Vec::new();
    for i in 0..n {
        let name = std::format!("file-{i}");
        let a = fs.create(d, name.as_bytes(), 0o644, 7, 8).unwrap_or_else(|e| panic!("create {i}: {e:?} {:?}", fs.statfs()));
        fs.write(a.ino, 0, name.as_bytes()).unwrap();
        if i % 5 == 0 {
            fs.setxattr(a.ino, b"user.i", name.as_bytes(), 0).unwrap();
        }
        inos.push(a.ino);
        if i % 97 == 0 {
            fs.fsync(a.ino, false).unwrap();
        }
    }
    let mut fs = mount(fs.unmount().unwrap());
    assert_eq!(fs.check().unwrap().problems(), 0);
    for (i, ino) in inos.iter().enumerate() {
        let name = std::format!("file-{i}");
        assert_eq!(read_all(&mut fs, *ino), name.as_bytes());
        assert_eq!(fs.lookup(d, name.as_bytes()).unwrap().ino, *ino);
    }
    // Delete most, churn, and GC the packs.
    for i in 0..n {
        if i % 3 != 0 {
            fs.unlink(d, std::format!("file-{i}").as_bytes()).unwrap();
        }
    }
    for _ in 0..20 {
        fs.gc_step().unwrap();
    }
    let mut fs = mount(fs.unmount().unwrap());
    assert_eq!(fs.check().unwrap().problems(), 0);
    for i in (0..n).step_by(3) {
        let ino = fs.lookup(d, std::format!("file-{i}").as_bytes()).unwrap().ino;
        assert_eq!(read_all(&mut fs, ino), std::format!("file-{i}").as_bytes());
    }
}

#[test]
fn write_blocks_replaces_dirty_pages_in_one_device_write() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    let old = pattern(1, 3 * 4096 + 100);
    fs.write(f, 0, &old).unwrap(); // dirty pages 0..=3 in the core
    let (a, b) = (pattern(2, 4096), pattern(3, 4096));
    let writes = fs.device().write_count();
    fs.write_blocks(f, 4096, &[&a, &b]).unwrap();
    assert_eq!(fs.device().write_count(), writes + 1, "one device write for the run");
    let mut want = old.clone();
    want[4096..8192].copy_from_slice(&a);
    want[8192..12288].copy_from_slice(&b);
    assert_eq!(read_all(&mut fs, f), want);
    // Past the end: the size grows to the end of the blocks, a hole before.
    let c = pattern(4, 4096);
    fs.write_blocks(f, 10 * 4096, &[&c]).unwrap();
    want.resize(10 * 4096, 0);
    want.extend_from_slice(&c);
    assert_eq!(read_all(&mut fs, f), want);
    assert_eq!(fs.getattr(f).unwrap().blocks, 5 * 8, "blocks 0-3 and 10");
    fs.fsync(f, false).unwrap();
    let mut fs = mount(fs.device().after_power_loss());
    assert_eq!(read_all(&mut fs, f), want);
    let report = fs.check().unwrap();
    assert_eq!(report.count, 0, "fsck: {:?}", report.list.as_slice());
}

#[test]
fn write_blocks_converts_inline_files_and_refuses_bad_input() {
    let mut fs = mount(dev(16, 64));
    let g = fs.create(1, b"g", 0o644, 0, 0).unwrap().ino;
    fs.write(g, 0, b"inline").unwrap();
    let d = pattern(5, 4096);
    fs.write_blocks(g, 4096, &[&d]).unwrap();
    let mut want = b"inline".to_vec();
    want.resize(4096, 0);
    want.extend_from_slice(&d);
    assert_eq!(read_all(&mut fs, g), want);
    assert_eq!(fs.write_blocks(g, 100, &[&d]), Err(EINVAL), "unaligned offset");
    assert_eq!(fs.write_blocks(g, 0, &[&d[..100]]), Err(EINVAL), "partial block");
    assert_eq!(fs.write_blocks(1, 0, &[&d]), Err(EISDIR));
    assert_eq!(fs.write_blocks(g, MAX_FILE_SIZE, &[&d]), Err(EFBIG));
    assert_eq!(fs.write_blocks(g, u64::MAX & !4095, &[&d]), Err(EFBIG));
    assert_eq!(read_all(&mut fs, g), want, "refused writes change nothing");
    let dev = fs.unmount().unwrap();
    let mut fs = mount(dev);
    assert_eq!(read_all(&mut fs, g), want);
}

#[test]
fn read_blocks_matches_read_over_holes_dirty_pages_and_eof() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    fs.write(f, 0, &pattern(6, 5 * 4096)).unwrap();
    fs.sync().unwrap(); // blocks 0-4 on the device
    fs.write(f, 2 * 4096 + 10, b"dirty").unwrap(); // block 2 a dirty page
    fs.write(f, 9 * 4096, &pattern(7, 1000)).unwrap(); // hole 5-8, EOF in block 9
    let mut bufs = vec![[0xAAu8; 4096]; 12];
    let mut blocks: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
    let n = fs.read_blocks(f, 0, &mut blocks).unwrap();
    assert_eq!(n, 9 * 4096 + 1000);
    let flat: Vec<u8> = bufs.concat();
    let want = read_all(&mut fs, f);
    assert_eq!(&flat[..n], &want[..]);
    assert!(flat[n..].iter().all(|&b| b == 0), "past EOF reads as zeros");
    // From the middle, and past EOF.
    let mut one = [0u8; 4096];
    assert_eq!(fs.read_blocks(f, 3 * 4096, &mut [&mut one[..]]).unwrap(), 4096);
    assert_eq!(&one[..], &want[3 * 4096..4 * 4096]);
    assert_eq!(fs.read_blocks(f, 20 * 4096, &mut [&mut one[..]]).unwrap(), 0);
    assert!(one.iter().all(|&b| b == 0));
    assert_eq!(fs.read_blocks(f, 1, &mut [&mut one[..]]), Err(EINVAL));
    assert_eq!(fs.read_blocks(f, 0, &mut [&mut one[..10]]), Err(EINVAL));
    assert_eq!(fs.read_blocks(1, 0, &mut [&mut one[..]]), Err(EISDIR));
    // An inline file.
    let g = fs.create(1, b"g", 0o644, 0, 0).unwrap().ino;
    fs.write(g, 0, b"tiny").unwrap();
    let mut one = [0xAAu8; 4096];
    assert_eq!(fs.read_blocks(g, 0, &mut [&mut one[..]]).unwrap(), 4);
    assert_eq!(&one[..4], b"tiny");
    assert!(one[4..].iter().all(|&b| b == 0));
}

#[test]
fn write_blocks_with_places_runs_and_a_failed_write_stops_the_fs() {
    let mut fs = mount(dev(16, 64));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    fs.sync().unwrap();
    // The caller writes each run itself (the kernel leaves it in flight).
    let data = pattern(8, 100 * 4096);
    let blocks: Vec<&[u8]> = data.chunks(4096).collect();
    let mut runs = Vec::new();
    fs.write_blocks_with(f, 0, blocks.len(), |dev, lba, run| {
        runs.push(run.clone());
        crate::device::ZonedDevice::write_vectored(dev, lba, &blocks[run])
    })
    .unwrap();
    assert!(runs.len() >= 2, "100 blocks cross a 64-block zone: {runs:?}");
    assert_eq!(runs.first().unwrap().start, 0);
    assert!(runs.windows(2).all(|w| w[0].end == w[1].start), "runs follow each other: {runs:?}");
    assert_eq!(runs.last().unwrap().end, 100);
    assert_eq!(read_all(&mut fs, f), data);
    // A write the caller could not do: the error comes back and nothing
    // more is written until a remount.
    let r = fs.write_blocks_with(f, 0, 1, |_, _, _| Err(EIO));
    assert_eq!(r, Err(EIO));
    assert!(fs.write(f, 0, b"x").is_err(), "a broken filesystem takes no writes");
}

/// The node-size estimates that admission relies on without walking a big
/// directory: `encoded_len` is the encoded size exactly, and
/// `encoded_len_bound` never undercounts.
#[test]
fn node_size_estimates_follow_entry_changes() {
    let mut fs = mount(dev(24, 64));
    let root = Fs::<MemDevice>::ROOT_INO;
    let d = fs.mkdir(root, b"d", 0o755, 0, 0).unwrap().ino;
    let check = |fs: &Fs<MemDevice>| {
        for n in fs.inodes.iter() {
            let mut out = super::mem::FVec::new();
            n.encode(&mut out).unwrap();
            assert_eq!(n.encoded_len(), out.len(), "inode {}", n.ino);
            assert!(n.encoded_len_bound() >= out.len(), "inode {}", n.ino);
        }
    };
    for i in 0..300u32 {
        let name = std::format!("file-with-a-longish-name-{i}");
        fs.create(d, name.as_bytes(), 0o644, 0, 0).unwrap();
        if i % 7 == 3 {
            let old = std::format!("file-with-a-longish-name-{}", i - 1);
            fs.rename(d, old.as_bytes(), d, std::format!("r{i}").as_bytes(), 0).unwrap();
        }
        if i % 11 == 5 {
            let old = std::format!("file-with-a-longish-name-{}", i - 2);
            let _ = fs.unlink(d, old.as_bytes());
        }
        if i % 50 == 49 {
            check(&fs);
            fs.sync().unwrap();
        }
    }
    check(&fs);
    let fs = mount(fs.unmount().unwrap());
    check(&fs);
}

/// `fsync` of a file created since the last checkpoint writes its data and
/// its node with its name, no checkpoint; after a power cut mount puts the
/// name back. Files never fsynced stay gone; a file in a directory that
/// lost a name since the checkpoint, and a renamed file, get a checkpoint.
#[test]
fn fsync_of_new_files_needs_no_checkpoint() {
    let mut fs = mount(dev(16, 64));
    let d = fs.mkdir(1, b"d", 0o755, 0, 0).unwrap().ino;
    let old = fs.create(1, b"old", 0o644, 0, 0).unwrap().ino;
    fs.sync().unwrap();
    let cps = fs.stats.checkpoints;
    let mut files = Vec::new();
    for k in 0..5u64 {
        let name = std::format!("new{k}");
        let f = fs.create(d, name.as_bytes(), 0o640, 7, 8).unwrap().ino;
        let data = pattern(k, 1000 + 3000 * k as usize);
        fs.write(f, 0, &data).unwrap();
        fs.fsync(f, k % 2 == 1).unwrap();
        files.push((name, f, data));
    }
    // Fsynced twice: the newer node wins.
    let (_, f0, d0) = &mut files[0];
    let more = pattern(99, 9000);
    fs.write(*f0, 0, &more).unwrap();
    fs.fsync(*f0, false).unwrap();
    *d0 = more;
    assert_eq!(fs.stats.checkpoints, cps, "fsync of new files took a checkpoint");
    let lost = fs.create(d, b"never-synced", 0o644, 0, 0).unwrap().ino;
    fs.write(lost, 0, b"gone").unwrap();
    let mut fs2 = mount(fs.device().after_power_loss());
    for (name, f, data) in files.iter() {
        let a = fs2.lookup(d, name.as_bytes()).unwrap();
        assert_eq!(a.ino, *f);
        assert_eq!((a.nlink, a.mode & 0o7777, a.uid, a.gid), (1, 0o640, 7, 8));
        assert_eq!(read_all(&mut fs2, *f), *data);
    }
    assert_eq!(fs2.lookup(d, b"never-synced").unwrap_err(), ENOENT);
    assert_eq!(fs2.check().unwrap().count, 0);
    // New inode numbers go on after the replayed ones.
    let n = fs2.create(d, b"after", 0o644, 0, 0).unwrap().ino;
    assert!(n > files.iter().map(|f| f.1).max().unwrap());

    // A directory that lost a name: the name may be in the checkpoint for
    // another inode, so fsync checkpoints.
    fs.unlink(1, b"old").unwrap();
    let _ = old;
    let g = fs.create(1, b"old", 0o644, 0, 0).unwrap().ino;
    let before = fs.stats.checkpoints;
    fs.fsync(g, false).unwrap();
    assert_eq!(fs.stats.checkpoints, before + 1);
    // Renamed since its creation: a checkpoint too.
    let h = fs.create(d, b"h", 0o644, 0, 0).unwrap().ino;
    fs.rename(d, b"h", d, b"h2", 0).unwrap();
    let before = fs.stats.checkpoints;
    fs.fsync(h, false).unwrap();
    assert_eq!(fs.stats.checkpoints, before + 1);
}

/// A checkpoint looks only at the inodes that changed since the last one
/// (`dirty.rs`): each is listed once, the list empties when the
/// checkpoint is durable, and what was listed is what reaches the disk.
#[test]
fn checkpoint_looks_only_at_changed_inodes() {
    let mut fs = mount(dev(24, 64));
    let mut inos = Vec::new();
    for i in 0..500u32 {
        inos.push(fs.create(1, std::format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap().ino);
    }
    assert_eq!(fs.dirty.len(), 501, "500 new files and the root");
    fs.sync().unwrap();
    assert!(fs.dirty.is_empty());
    for mode in [0o600, 0o640] {
        fs.setattr(inos[7], &SetAttr { mode: Some(mode), ..Default::default() }).unwrap();
    }
    assert_eq!(fs.dirty.len(), 1, "one inode changed twice is listed once");
    let x = fs.create(1, b"x", 0o644, 0, 0).unwrap().ino;
    fs.unlink(1, b"f9").unwrap();
    assert_eq!(fs.dirty.len(), 4, "f7, the root, x, f9");
    fs.sync().unwrap();
    assert!(fs.dirty.is_empty());
    let mut fs = mount(fs.unmount().unwrap());
    assert_eq!(fs.getattr(inos[7]).unwrap().mode & 0o7777, 0o640);
    assert_eq!(fs.lookup(1, b"x").unwrap().ino, x);
    assert_eq!(fs.lookup(1, b"f9").unwrap_err(), ENOENT);
    assert_eq!(fs.check().unwrap().count, 0);
}

/// Mount reads the packs of consecutive inodes many blocks at a time; a
/// bad block among them that mount does not need (a dead pack) must not
/// fail it.
#[test]
fn mount_read_window_survives_a_bad_dead_block() {
    let mut fs = mount(dev(24, 64));
    let inos: Vec<u64> = (0..120u32).map(|i| fs.create(1, std::format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap().ino).collect();
    fs.sync().unwrap();
    fs.load_all().unwrap();
    let k = fs.inodes.find(inos[60]).unwrap();
    let lba = fs.inodes[k].node_lba;
    assert!(fs.inodes[k].packed);
    let members: Vec<u64> = inos.iter().copied().filter(|&x| fs.inodes.find(x).is_some_and(|k| fs.inodes[k].node_lba == lba)).collect();
    assert!(members.len() > 1);
    for &m in members.iter() {
        fs.setattr(m, &SetAttr { mode: Some(0o600), ..Default::default() }).unwrap();
    }
    fs.sync().unwrap();
    fs.load_all().unwrap();
    assert!(fs.inodes.iter().all(|n| n.node_lba != lba), "the old pack is dead");
    let mut d = fs.unmount().unwrap();
    d.fail_reads_of(lba);
    let mut fs = mount(d);
    for (k, &ino) in inos.iter().enumerate() {
        let a = fs.lookup(1, std::format!("f{k}").as_bytes()).unwrap();
        assert_eq!(a.ino, ino);
        assert_eq!(a.mode & 0o7777, if members.contains(&ino) { 0o600 } else { 0o644 });
    }
}

/// Mount reads no inode but the root, however many there are; reading
/// them all afterwards costs one read per pack block (consecutive inodes
/// share one: the pack cache) and one per NAT leaf.
#[test]
fn mount_reads_no_inodes_and_loads_share_pack_reads() {
    let mut fs = mount(dev(24, 64));
    for i in 0..3000u32 {
        fs.create(1, std::format!("file-{i}").as_bytes(), 0o644, 0, 0).unwrap();
    }
    let d = fs.unmount().unwrap();
    let mut fs = mount(d);
    fs.load_all().unwrap();
    let packs: std::collections::BTreeSet<u64> = fs.inodes.iter().filter(|n| n.packed).map(|n| n.node_lba).collect();
    assert!(packs.len() > 20, "{} packs", packs.len());
    let before = fs.device().stats().reads;
    let mut fs = mount(fs.unmount().unwrap());
    let reads = fs.device().stats().reads - before;
    assert!(reads <= 16, "{reads} reads to mount with 3000 inodes");
    assert!(fs.inodes_in_memory() <= 2, "{} inodes in memory after mount", fs.inodes_in_memory());
    assert_eq!(fs.inode_count(), 3001);
    let before = fs.device().stats().reads;
    fs.load_all().unwrap();
    let reads = fs.device().stats().reads - before;
    let leaves = 3001u64.div_ceil(super::nat::NAT_LEAF_ENTRIES) as usize;
    assert!(reads as usize <= packs.len() + 2 * leaves + 8, "{reads} reads for {} packs", packs.len());
}

/// Most inodes are files: an inode stays within a 256-byte allocation
/// (the kernel's kmalloc-256), a directory's state lives apart.
#[test]
fn an_inode_fits_a_small_allocation() {
    let size = core::mem::size_of::<super::inode::Inode>();
    assert!(size <= 256, "Inode is {size} bytes");
}

/// Mount finds the newest checkpoint from the checkpoint zone's write
/// pointer (its trailer), not by reading every checkpoint in the zone:
/// a few reads after hundreds of checkpoints. A torn last checkpoint
/// still falls back to the one before it.
#[test]
fn newest_checkpoint_found_in_a_few_reads() {
    let mut fs = mount(dev(16, 512));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap().ino;
    for k in 0..300u32 {
        fs.setattr(f, &SetAttr { mode: Some(0o600 | (k & 0o77)), ..Default::default() }).unwrap();
        fs.sync().unwrap();
    }
    let mut d = fs.unmount().unwrap();
    let before = d.stats().reads;
    let cp = super::checkpoint::find_newest(&mut d).unwrap();
    let reads = d.stats().reads - before;
    assert!(reads <= 4, "{reads} reads to find the newest checkpoint");
    let mut fs = mount(d);
    assert_eq!(fs.getattr(f).unwrap().mode & 0o7777, 0o600 | (299 & 0o77));
    // A damaged last checkpoint: the one before it, found by a scan.
    let mut d = fs.unmount().unwrap();
    let newest = super::checkpoint::find_newest(&mut d).unwrap();
    assert!(newest.seq > cp.seq);
    let geo = d.geometry();
    d.corrupt_byte(geo.zone_start(newest.zone) + newest.end - 1, crate::device::BLOCK_SIZE - 16, 0xff).unwrap();
    let older = super::checkpoint::find_newest(&mut d).unwrap();
    assert_eq!(older.seq + 1, newest.seq);
    let mut fs = mount(d);
    assert_eq!(fs.getattr(f).unwrap().mode & 0o7777, 0o600 | (299 & 0o77));
}

/// When the dirty list cannot grow (no memory) the checkpoint walks every
/// inode instead: nothing changed is lost, and the list works again after.
#[test]
fn dirty_list_overflow_falls_back_to_every_inode() {
    let mut fs = mount(dev(24, 64));
    let inos: Vec<u64> = (0..200u32).map(|i| fs.create(1, std::format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap().ino).collect();
    fs.sync().unwrap();
    for &i in inos.iter().step_by(3) {
        fs.setattr(i, &SetAttr { mode: Some(0o600), ..Default::default() }).unwrap();
    }
    fs.dirty.overflow_for_test();
    fs.create(1, b"late", 0o644, 0, 0).unwrap();
    fs.sync().unwrap();
    assert!(fs.dirty.is_empty() && !fs.dirty.overflowed());
    fs.setattr(inos[1], &SetAttr { mode: Some(0o640), ..Default::default() }).unwrap();
    assert_eq!(fs.dirty.len(), 1);
    let mut fs = mount(fs.unmount().unwrap());
    for (k, &i) in inos.iter().enumerate() {
        let want = if k % 3 == 0 { 0o600 } else if k == 1 { 0o640 } else { 0o644 };
        assert_eq!(fs.getattr(i).unwrap().mode & 0o7777, want, "inode {i}");
    }
    fs.lookup(1, b"late").unwrap();
}

/// An image of another on-disk format version is refused as such
/// (`EOPNOTSUPP`, "made by another version"), not as corruption.
#[test]
fn another_format_version_is_refused_by_name() {
    let mut dev = dev(16, 64);
    {
        let fs = mount(dev);
        dev = fs.unmount().unwrap();
    }
    // Rewrite each checkpoint's version (bytes 4..6) and its CRC, as an
    // older FluffleFS would have written them.
    let geo = dev.geometry();
    let mut patched = 0;
    for zone in 0..2u32 {
        let wp = dev.report_zone(zone).unwrap().wp - geo.zone_start(zone);
        for p in 0..wp {
            let lba = geo.zone_start(zone) + p;
            let mut blk = std::vec![0u8; 4096];
            dev.read(lba, &mut blk).unwrap();
            if super::layout::get_u32(&blk, 0) != super::layout::CKPT_MAGIC {
                continue;
            }
            let n = super::layout::get_u32(&blk, 12) as usize;
            let mut all = std::vec![0u8; n * 4096];
            dev.read(lba, &mut all).unwrap();
            all[4..6].copy_from_slice(&(super::layout::FORMAT_VERSION - 1).to_le_bytes());
            let crc = super::checkpoint::crc_of(&all);
            all[8..12].copy_from_slice(&crc.to_le_bytes());
            let mut old = std::vec![0u8; 4096];
            dev.read(lba, &mut old).unwrap();
            for i in 4..12 {
                dev.corrupt_byte(lba, i, old[i] ^ all[i]).unwrap();
            }
            patched += 1;
        }
    }
    assert!(patched > 0);
    let r = Fs::mount(dev, &MountOptions { read_only: true, now: Timespec::default() });
    assert_eq!(r.err(), Some(EOPNOTSUPP));
    assert!(super::errno::mount_failure(EOPNOTSUPP).contains("another version"));
}

/// FIFOs, device nodes and sockets: made by `mknod`, shown with their
/// kind and device number, linked, renamed, chmod/chown'd, given xattrs
/// and unlinked like files; they survive remounts and fsck knows them.
#[test]
fn special_files_survive_remount() {
    let mut fs = mount(dev(16, 64));
    let d = fs.mkdir(1, b"d", 0o755, 0, 0).unwrap().ino;
    let kinds = [
        (&b"fifo"[..], FileType::Fifo, 0u32, S_IFIFO),
        (&b"null"[..], FileType::CharDev, (1 << 20) | 3, S_IFCHR),
        (&b"sda"[..], FileType::BlockDev, u32::MAX, S_IFBLK),
        (&b"sock"[..], FileType::Socket, 0, S_IFSOCK),
    ];
    let mut inos = vec![];
    for (name, t, rdev, bits) in kinds {
        let a = fs.mknod(d, name, t, 0o640, rdev, 7, 8).unwrap();
        assert_eq!((a.ftype, a.rdev, a.mode, a.size, a.nlink, a.uid, a.gid), (t, rdev, bits | 0o640, 0, 1, 7, 8));
        // No content: reads, writes and truncates are refused.
        assert_eq!(fs.read(a.ino, 0, &mut [0u8; 4]), Err(EINVAL));
        assert_eq!(fs.write(a.ino, 0, b"x"), Err(EINVAL));
        assert_eq!(fs.setattr(a.ino, &SetAttr { size: Some(0), ..Default::default() }).err(), Some(EINVAL));
        inos.push(a.ino);
    }
    // The other types have their own calls; a FIFO's or socket's rdev is 0.
    assert_eq!(fs.mknod(d, b"r", FileType::Regular, 0o644, 0, 0, 0).err(), Some(EINVAL));
    assert_eq!(fs.mknod(d, b"r", FileType::Directory, 0o644, 0, 0, 0).err(), Some(EINVAL));
    assert_eq!(fs.mknod(d, b"r", FileType::Fifo, 0o644, 5, 0, 0).err(), Some(EINVAL));
    assert_eq!(fs.mknod(d, b"fifo", FileType::Fifo, 0o644, 0, 0, 0).err(), Some(EEXIST));
    // Every operation a file has but content.
    fs.link(inos[1], 1, b"null2").unwrap();
    fs.rename(d, b"sock", 1, b"sock", 0).unwrap();
    fs.setattr(inos[0], &SetAttr { mode: Some(0o600), uid: Some(9), gid: Some(10), ..Default::default() }).unwrap();
    fs.setxattr(inos[2], b"user.k", b"v", 0).unwrap();
    fs.unlink(d, b"null").unwrap();
    let mut seen = vec![];
    fs.readdir(d, 0, &mut |n, _, t, _| {
        seen.push((n.to_vec(), t));
        true
    })
    .unwrap();
    assert!(seen.contains(&(b"fifo".to_vec(), FileType::Fifo)) && seen.contains(&(b"sda".to_vec(), FileType::BlockDev)));
    assert_eq!(FileType::Socket.dt(), 12);
    let check = |fs: &mut Fs<MemDevice>| {
        let f = fs.lookup(d, b"fifo").unwrap();
        assert_eq!((f.ftype, f.mode, f.uid, f.gid, f.rdev), (FileType::Fifo, S_IFIFO | 0o600, 9, 10, 0));
        let c = fs.lookup(1, b"null2").unwrap();
        assert_eq!((c.ftype, c.rdev, c.nlink), (FileType::CharDev, (1 << 20) | 3, 1));
        let b = fs.lookup(d, b"sda").unwrap();
        assert_eq!((b.ftype, b.rdev), (FileType::BlockDev, u32::MAX));
        let mut v = [0u8; 8];
        assert_eq!(fs.getxattr(b.ino, b"user.k", &mut v), Ok(1));
        assert_eq!(fs.lookup(1, b"sock").unwrap().ftype, FileType::Socket);
        assert_eq!(fs.lookup(d, b"null").err(), Some(ENOENT));
        let r = fs.check().unwrap();
        assert_eq!(r.problems(), 0, "{:?}", r.list);
    };
    check(&mut fs);
    fs.sync().unwrap();
    let mut fs = mount(fs.unmount().unwrap());
    check(&mut fs);
    // Dropped from the cache and read back from their nodes.
    fs.set_cache_limits(0, 0);
    fs.sync().unwrap();
    check(&mut fs);
}

/// A node payload claiming a special file with a kind, rdev or content
/// it cannot have is damage (`EUCLEAN`), never a panic.
#[test]
fn malformed_special_nodes_are_refused() {
    use super::inode::{Inode, INODE_FIXED};
    let mut n = Inode::new(5, FileType::CharDev, 0o644, 0, 0, Timespec::default());
    n.rdev = 0x1234;
    let mut good = super::mem::FVec::new();
    n.encode(&mut good).unwrap();
    assert_eq!(good.len(), INODE_FIXED + 4);
    let back = Inode::decode(5, &good).unwrap();
    assert_eq!((back.ftype, back.rdev), (FileType::CharDev, 0x1234));
    let patched = |at: usize, bytes: &[u8]| {
        let mut v = good.to_vec();
        v[at..at + bytes.len()].copy_from_slice(bytes);
        v
    };
    // Kind bytes past the last type, and 0.
    for k in [0u8, 8, 0xff] {
        assert_eq!(Inode::decode(5, &patched(0, &[k])).err(), Some(EUCLEAN), "kind {k}");
    }
    // A FIFO or socket with a device number.
    assert_eq!(Inode::decode(5, &patched(0, &[4])).err(), Some(EUCLEAN));
    assert_eq!(Inode::decode(5, &patched(0, &[7])).err(), Some(EUCLEAN));
    // ... and without one they are fine.
    let mut fifo = patched(0, &[4]);
    let len = fifo.len();
    fifo[len - 4..].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(Inode::decode(5, &fifo).unwrap().ftype, FileType::Fifo);
    // A size (after kind, pad, mode, uid, gid, nlink), or no rdev field.
    let size_off = 4 + 4 * 4;
    assert_eq!(Inode::decode(5, &patched(size_off, &1u64.to_le_bytes())).err(), Some(EUCLEAN));
    assert_eq!(Inode::decode(5, &good[..good.len() - 4]).err(), Some(EUCLEAN));
    // Inline data (length field, last of the fixed part) on a device node.
    let ilen_off = INODE_FIXED - 4;
    let mut inl = patched(ilen_off, &1u32.to_le_bytes());
    inl.push(b'x');
    assert_eq!(Inode::decode(5, &inl).err(), Some(EUCLEAN));
    // A regular file never carries the rdev field: the same bytes with
    // kind 1 are four bytes too many.
    assert_eq!(Inode::decode(5, &patched(0, &[1])).err(), Some(EUCLEAN));
}
