//! Snapshot consistency with a writer interleaved *during* the run: the
//! source takes the filesystem per helper call (as the kernel glue does
//! with its mutex), and between calls a "concurrent writer" overwrites the
//! file again and again, on a small device so GC must reclaim zones. The
//! kernel's result equals the content at snapshot time.

mod common;
use common::*;
use csd::fluffle::errno::Errno;
use csd::fluffle::fs::{format, Fs};
use csd::fluffle::memdev::MemDevice;
use csd::fluffle::types::{FormatOptions, MountOptions, SnapId};
use csd::registry::verify_kernel;
use csd::runner::{budget_for, run_program, Request, RunMemory};
use csd::source::{DeviceGeometry, FileInfo, SnapshotSource};
use std::cell::RefCell;

/// A snapshot read through a shared filesystem, one borrow per call.
struct Shared<'f> {
    fs: &'f RefCell<Fs<MemDevice>>,
    snap: SnapId,
    size: u64,
    /// The concurrent writer: overwrites `ino` at every checkpoint.
    ino: u64,
    round: u64,
    piece: usize,
}

impl SnapshotSource for Shared<'_> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.fs.borrow_mut().snapshot_read(self.snap, off, buf)
    }
    fn lbas(&mut self, first: u64, out: &mut [u64]) -> Result<usize, Errno> {
        self.fs.borrow().snapshot_lbas(self.snap, first, out)
    }
    fn read_lba(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.fs.borrow_mut().snapshot_read_lba(self.snap, lba, buf)
    }
    fn geometry(&self) -> DeviceGeometry {
        let g = self.fs.borrow().geometry();
        DeviceGeometry { sector_size: 4096, zone_size: g.zone_size, zone_cap: g.zone_cap, zone_count: g.zone_count }
    }
    fn checkpoint(&mut self) -> Result<(), Errno> {
        // Another process rewrites a piece of the file and syncs.
        self.round += 1;
        let mut fs = self.fs.borrow_mut();
        let off = (self.round as usize * self.piece) % (self.size as usize);
        fs.write(self.ino, off as u64, &bytes(1000 + self.round, self.piece)).unwrap();
        if self.round % 4 == 0 {
            fs.sync().unwrap();
        }
        Ok(())
    }
}

#[test]
fn result_is_the_content_at_snapshot_time_despite_writers_and_gc() {
    let mut dev = MemDevice::with_zones(16, 256, 256).unwrap();
    format(&mut dev, &FormatOptions::default()).unwrap();
    let fs = RefCell::new(Fs::mount(dev, &MountOptions::default()).unwrap());
    let old = skewed(77, 3 << 20);
    let ino = create_file(&mut fs.borrow_mut(), "data", &old);
    fs.borrow_mut().sync().unwrap();
    let before_gc = fs.borrow().stats;
    let snap = fs.borrow_mut().snapshot(ino).unwrap();

    let k = kernel("bpf/entropy.c", "entropy");
    let prog = verify_kernel(&k.code, k.entry).unwrap();
    let mut mem = RunMemory::new().unwrap();
    let mut out = vec![0u8; 2048];
    let mut src = Shared { fs: &fs, snap, size: old.len() as u64, ino, round: 0, piece: 256 << 10 };
    let info = FileInfo { ino, parent: 1, mode: 0o100644 };
    let r = run_program(&prog, &mut src, &info, &Request::read(0, 2048), &mut mem, &mut out, budget_for(old.len() as u64)).unwrap();
    let rounds = src.round;
    out.truncate(r.emitted);

    // The histogram is the old content's.
    let mut hist = [0u32; 256];
    old.iter().for_each(|&b| hist[b as usize] += 1);
    for (b, &c) in hist.iter().enumerate() {
        assert_eq!(u32_at(&out, 4 * b), c, "bin {b}");
    }
    // The writer really ran: many rounds, more data written than the
    // device holds, so zones were reclaimed while the snapshot was pinned.
    assert!(rounds > 40, "{rounds} rounds");
    let written = rounds * (256 << 10);
    assert!(written > 12 << 20, "{written} bytes overwritten");
    let after = fs.borrow().stats;
    assert!(after.zone_resets > before_gc.zone_resets, "zones were reclaimed during the run: {after:?}");
    // And the file now differs from the snapshot.
    let mut now = vec![0u8; old.len()];
    fs.borrow_mut().read(ino, 0, &mut now).unwrap();
    assert_ne!(now, old);
    fs.borrow_mut().release_snapshot(snap).unwrap();
}
