//! Space management under pressure, on a small device (16 zones of 1 MiB,
//! 896 KiB capacity each) so garbage collection works hard:
//! fill to 95 % of the usable blocks (`statfs.blocks`, which the core
//! documents as device capacity minus metadata zones and the GC reserve)
//! with files (counting each file as its data blocks plus at most one
//! inode node block, and the root directory's entries), overwrite at random for 3x the device size (with syncs,
//! fsyncs, background GC steps and remounts mixed in), delete half and
//! refill, then fill until ENOSPC. Every byte is verified against an
//! in-memory copy; ENOSPC before the usable space is used up is a failure,
//! and so is never reaching ENOSPC.

mod common;
mod model;

use common::*;
use fluffle::errno::ENOSPC;
use fluffle::fs::Fs;
use fluffle::memdev::MemDevice;
use model::rng::{pattern, Rng};

const ZONES: u32 = 16;
const ZONE_SIZE: u64 = 256;
const ZONE_CAP: u64 = 224;
const FILE_SIZE: usize = 64 * 1024;
const BLOCK: u64 = 4096;

/// The filesystem plus an exact copy of every file's content.
struct World {
    fs: Option<Fs<MemDevice>>,
    files: Vec<Option<(u64, String, Vec<u8>)>>,
    rng: Rng,
    next_name: u64,
}

impl World {
    fn fs(&mut self) -> &mut Fs<MemDevice> {
        self.fs.as_mut().expect("mounted")
    }

    fn live_bytes(&self) -> u64 {
        self.files.iter().flatten().map(|f| f.2.len() as u64).sum()
    }

    /// Blocks the live files need: data, one node block per inode (and the
    /// root's), the root directory's entries (~40 bytes each).
    fn live_blocks(&self) -> u64 {
        let n = self.files.iter().flatten().count() as u64;
        let data: u64 = self.files.iter().flatten().map(|f| (f.2.len() as u64).div_ceil(BLOCK)).sum();
        data + n + 1 + (n * 40).div_ceil(BLOCK)
    }

    fn usable_bytes(&mut self) -> u64 {
        self.fs().statfs().expect("statfs").blocks * BLOCK
    }

    fn context(&mut self) -> String {
        let live = self.live_bytes();
        let st = self.fs().statfs();
        let dev = self.fs().device().stats();
        format!("live data {} KiB in {} files ({} blocks with metadata); statfs {st:?}; device {dev:?}", live / 1024, self.files.iter().flatten().count(), self.live_blocks())
    }

    /// Creates one file of `FILE_SIZE` bytes; `Err` carries the errno.
    fn add_file(&mut self) -> Result<(), fluffle::errno::Errno> {
        let name = format!("f{:05}", self.next_name);
        self.next_name += 1;
        let seed = self.rng.next_u64();
        let data = pattern(seed, FILE_SIZE);
        let dir = ROOT;
        let a = self.fs().create(dir, name.as_bytes(), 0o644, 0, 0)?;
        for chunk in 0..FILE_SIZE / 16384 {
            let off = chunk * 16384;
            if let Err(e) = self.fs().write(a.ino, off as u64, &data[off..off + 16384]) {
                // Keep the model in step: a partly written file stays.
                let mut partial = data.clone();
                partial.truncate(off);
                self.files.push(Some((a.ino, name, partial)));
                return Err(e);
            }
        }
        self.files.push(Some((a.ino, name, data)));
        Ok(())
    }

    fn verify_all(&mut self, when: &str) {
        let files: Vec<(u64, String, Vec<u8>)> = self.files.iter().flatten().cloned().collect();
        for (ino, name, want) in files {
            let got = read_all(self.fs(), ino).unwrap_or_else(|e| panic!("{when}: reading {name}: {e:?}"));
            assert!(got == want, "{when}: content of {name} differs ({} vs {} bytes)", got.len(), want.len());
        }
    }

    fn remount(&mut self) {
        let dev = self.fs.take().expect("mounted").unmount().expect("unmount");
        self.fs = Some(mount(dev).expect("remount"));
        // Inode numbers are stable across remounts; names must still resolve.
        let files: Vec<(u64, String)> = self.files.iter().flatten().map(|f| (f.0, f.1.clone())).collect();
        for (ino, name) in files.iter().take(8) {
            assert_eq!(self.fs().lookup(ROOT, name.as_bytes()).expect("lookup after remount").ino, *ino);
        }
    }
}

#[test]
fn fill_overwrite_delete_refill() {
    let dev = formatted(ZONES, ZONE_SIZE, ZONE_CAP);
    let device_bytes = ZONES as u64 * ZONE_CAP * BLOCK;
    let mut w = World { fs: Some(mount(dev).expect("mount")), files: Vec::new(), rng: Rng::new(42), next_name: 0 };
    let usable = w.usable_bytes();
    let usable_blocks = usable / BLOCK;
    let per_file = FILE_SIZE as u64 / BLOCK + 1;
    assert!(usable <= device_bytes, "statfs claims more blocks than the device has");
    // Half the zones are the GC reserve, the open heads and the checkpoint
    // ring at this size; each zone's closing summary takes one block more.
    assert!(usable * 100 >= device_bytes * 49, "reserve eats more than half the device: {usable} of {device_bytes}");

    // 1. Fill to 95 %.
    let target = usable_blocks * 95 / 100;
    while w.live_blocks() + per_file < target {
        if let Err(e) = w.add_file() {
            let ctx = w.context();
            panic!("fill: {e:?} at {} of {usable_blocks} usable blocks; {ctx}", w.live_blocks());
        }
    }
    w.verify_all("after fill");
    // statfs is honest: free space is at most what the file data leaves,
    // and at least what data plus a full node block per inode leaves (the
    // core may pack small inode records together), within 2 %.
    let st = w.fs().statfs().expect("statfs");
    let data_blocks = w.live_bytes().div_ceil(BLOCK);
    let (lo, hi) = ((usable_blocks - w.live_blocks()).saturating_sub(usable_blocks / 50 + 2), usable_blocks - data_blocks);
    assert!(st.bfree >= lo && st.bfree <= hi, "statfs free {} blocks, expected {lo}..={hi}; {}", st.bfree, w.context());

    // 2. Random overwrites for 3x the device size.
    let mut written = 0u64;
    let mut ops = 0u64;
    while written < 3 * device_bytes {
        let i = w.rng.below(w.files.len() as u64) as usize;
        let Some((ino, name, _)) = w.files[i].clone() else { continue };
        let len = match w.rng.below(3) {
            0 => 4096,
            1 => w.rng.range(1, 20000) as usize,
            _ => 16384,
        };
        let off = if w.rng.chance(50) { w.rng.below((FILE_SIZE - len) as u64 / 4096 + 1) * 4096 } else { w.rng.below((FILE_SIZE - len) as u64 + 1) };
        let data = pattern(w.rng.next_u64(), len);
        if let Err(e) = w.fs().write(ino, off, &data) {
            let ctx = w.context();
            panic!("overwrite #{ops} of {name} at {off}+{len}: {e:?} after {written} bytes; {ctx}");
        }
        if let Some((_, _, content)) = w.files[i].as_mut() {
            content[off as usize..off as usize + len].copy_from_slice(&data);
        }
        written += len as u64;
        ops += 1;
        match ops % 997 {
            0 => w.fs().sync().expect("sync"),
            101 => w.fs().fsync(ino, false).expect("fsync"),
            202 => {
                w.fs().gc_step().expect("gc_step");
            }
            303 if ops % (997 * 4) == 303 => w.remount(),
            _ => {}
        }
        if ops.is_multiple_of(50) {
            let got = read_all(w.fs(), ino).expect("read back");
            assert!(Some(&got) == w.files[i].as_ref().map(|f| &f.2), "overwrite #{ops}: {name} differs after write");
        }
    }
    w.verify_all("after overwrites");
    w.remount();
    w.verify_all("after overwrites + remount");

    // 3. Delete every other file, refill to 95 %.
    for i in (0..w.files.len()).step_by(2) {
        if let Some((_, name, _)) = w.files[i].take() {
            w.fs().unlink(ROOT, name.as_bytes()).expect("unlink");
        }
    }
    w.verify_all("after deleting half");
    while w.live_blocks() + per_file < target {
        if let Err(e) = w.add_file() {
            let ctx = w.context();
            panic!("refill: {e:?} at {} of {usable_blocks} usable blocks; {ctx}", w.live_blocks());
        }
    }
    w.verify_all("after refill");
    w.remount();
    w.verify_all("after refill + remount");

    // 4. Fill until ENOSPC: it must come, and not before the usable space
    // is used up (2 % slack for metadata this test does not model).
    let mut hit = None;
    for _ in 0..(usable / FILE_SIZE as u64 + 10) {
        if let Err(e) = w.add_file() {
            hit = Some(e);
            break;
        }
    }
    let live = w.live_blocks();
    match hit {
        Some(e) if e == ENOSPC => {
            assert!(live + per_file >= usable_blocks * 98 / 100, "ENOSPC with only {live} of {usable_blocks} usable blocks live; {}", w.context());
        }
        Some(e) => panic!("filling up failed with {e:?} instead of ENOSPC; {}", w.context()),
        None => panic!("never got ENOSPC: {live} blocks live, {usable_blocks} usable"),
    }
    assert!(w.live_bytes() <= usable, "more live data ({}) than usable space ({usable})", w.live_bytes());
    w.verify_all("when full");
    // Full is not broken: delete frees space for new data, and the whole
    // thing survives a remount.
    let victim = w.files.iter().position(|f| f.is_some()).expect("a file");
    let (_, name, _) = w.files[victim].take().expect("file");
    w.fs().unlink(ROOT, name.as_bytes()).expect("unlink when full");
    w.add_file().unwrap_or_else(|e| panic!("write after freeing a file: {e:?}; {}", w.context()));
    w.remount();
    w.verify_all("full + remount");
    fsck(w.fs()).expect("fsck");
}
