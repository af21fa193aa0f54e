//! Scale benchmark on the in-memory zoned device (not a test).
//!
//! How the core's metadata costs grow with the number of files: the
//! BEFORE baseline for issue 11 ("no operation may cost in proportion to
//! the size of the filesystem"). `make bench-core` runs it after the
//! `bench` example; alone: `cargo run --release -p fluffle --example
//! scale` from `userland/`.
//!
//! Files (create + one 4 KiB write each) are added in steps to one
//! directory and, on a second filesystem, round-robin to a tree of
//! directories under the root. After each step the one-directory
//! filesystem is probed: device bytes written by one more create + 4 KiB
//! write + fsync, by one checkpoint after a one-inode change, the time to
//! mount it, and the heap the mounted core holds. One row per step; its
//! file count leaves out the probe files (one more per step in the
//! directory).
//!
//! Environment: `BENCH_SCALE_FILES` (files at the last step, default
//! 100000), `BENCH_SCALE_STEP` (files per step, default 10000),
//! `BENCH_SCALE_DIRS` (directories of the tree, default 100),
//! `BENCH_SCALE_BUDGET_S` (seconds a step may take before the run stops
//! after printing its row, default 60).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use fluffle::device::Geometry;
use fluffle::fs::{format, Fs};
use fluffle::memdev::MemDevice;
use fluffle::types::{FormatOptions, MountOptions, SetAttr};

type MemFs = Fs<MemDevice>;

const ROOT: u64 = MemFs::ROOT_INO;
const BLOCK: u64 = 4096;
const MIB: f64 = (1u64 << 20) as f64;
/// Room per directory entry allowed when sizing zones: the one-directory
/// filesystem keeps every entry in one node, which must fit in a zone.
const DIR_ENTRY: u64 = 50;

/// `System` with a count of the bytes currently allocated, so the heap the
/// mounted core holds can be read off as a difference of two counts.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only the
// counter is added, and it is updated only for successful calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller
        // guarantees `new_size` is valid for it.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes on the heap right now.
fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The run's parameters, from the environment.
struct Config {
    files: u64,
    step: u64,
    dirs: u64,
    budget_s: f64,
}

/// `name` parsed as a number, `default` when unset or unparsable.
fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl Config {
    /// Defaults sized to finish in well under a minute on today's core.
    fn from_env() -> Self {
        Self {
            files: env_num("BENCH_SCALE_FILES", 100_000u64).max(1),
            step: env_num("BENCH_SCALE_STEP", 10_000u64).max(1),
            dirs: env_num("BENCH_SCALE_DIRS", 100u64).max(1),
            budget_s: env_num("BENCH_SCALE_BUDGET_S", 60.0f64),
        }
    }
}

/// A geometry the largest step never fills: zones just big enough for the
/// one directory's node (at least 4 MiB), and twice the blocks the files' data needs plus three
/// zones per step (each mount finishes the partly written zones of the
/// log heads), so neither ENOSPC nor foreground GC (which would charge
/// relocation to the creates) happens. The in-memory device only
/// allocates the blocks written (and the rest of finished zones).
fn geometry(cfg: &Config) -> Geometry {
    let steps = cfg.files.div_ceil(cfg.step);
    let inodes = cfg.files + cfg.dirs + steps + 16;
    let dir_blocks = (inodes * DIR_ENTRY).div_ceil(BLOCK);
    let zone_cap = dir_blocks.max(1024).next_multiple_of(256);
    let zone_count = (2 * cfg.files).div_ceil(zone_cap) + 3 * steps + 24;
    Geometry { zone_count: zone_count as u32, zone_size: zone_cap, zone_cap, max_open: 14, max_active: 14 }
}

/// A freshly formatted and mounted filesystem on a new device.
fn new_fs(geo: Geometry) -> MemFs {
    let mut d = MemDevice::new(geo).expect("geometry");
    format(&mut d, &FormatOptions::default()).expect("format");
    Fs::mount(d, &MountOptions::default()).expect("mount")
}

/// Device bytes written so far.
fn dev_bytes(fs: &MemFs) -> u64 {
    fs.device().stats().blocks_written * BLOCK
}

/// Creates files `from..to` (file `i` in `dirs[i % dirs.len()]`), each with
/// one 4 KiB write, then syncs so the step leaves nothing dirty for the
/// probes to pay for. Returns creates per second, the sync included.
fn create_files(fs: &mut MemFs, dirs: &[u64], from: u64, to: u64, page: &[u8]) -> f64 {
    let t = Instant::now();
    for i in from..to {
        let dir = dirs[(i % dirs.len() as u64) as usize];
        let ino = fs.create(dir, format!("f{i:08}").as_bytes(), 0o644, 0, 0).unwrap().ino;
        fs.write(ino, 0, page).unwrap();
    }
    fs.sync().unwrap();
    (to - from) as f64 / t.elapsed().as_secs_f64()
}

/// Device bytes written by one create + 4 KiB write + fsync of a new file
/// in `dir`: what an application pays to make one new file durable (the
/// data block and the file's node, which carries its name: no checkpoint,
/// `fsync.rs`). Returns the probe file's inode and the bytes.
fn probe_fsync(fs: &mut MemFs, dir: u64, k: usize, page: &[u8]) -> (u64, u64) {
    let before = dev_bytes(fs);
    let ino = fs.create(dir, format!("probe{k}").as_bytes(), 0o644, 0, 0).unwrap().ino;
    fs.write(ino, 0, page).unwrap();
    fs.fsync(ino, false).unwrap();
    (ino, dev_bytes(fs) - before)
}

/// Device bytes written by one checkpoint after a metadata-only change of
/// one inode (a chmod): the fixed cost of a checkpoint beyond the one
/// dirty node.
fn probe_checkpoint(fs: &mut MemFs, ino: u64) -> u64 {
    let before = dev_bytes(fs);
    fs.setattr(ino, &SetAttr { mode: Some(0o600), ..Default::default() }).unwrap();
    fs.sync().unwrap();
    dev_bytes(fs) - before
}

/// Unmounts and mounts again; returns the new mount, the mount time in ms
/// and the heap bytes the mounted core holds. The heap is counted with the
/// Fs mounted minus with it dropped again, not minus before the mount:
/// mount finishes the partly written log zones (the in-memory device then
/// holds their unwritten rest as zeros) and writes a checkpoint, which
/// grows the device's own buffers by megabytes, and that is not the
/// core's memory. Dropping the fresh mount
/// writes nothing, so mounting once more (untimed) gives the same state.
fn remount(fs: MemFs) -> (MemFs, f64, usize) {
    let dev = fs.unmount().unwrap();
    let t = Instant::now();
    let fs = Fs::mount(dev, &MountOptions::default()).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let mounted = live();
    let dev = fs.into_device();
    let mem = mounted.saturating_sub(live());
    (Fs::mount(dev, &MountOptions::default()).unwrap(), ms, mem)
}

/// One step's measurements.
struct Row {
    files: u64,
    dir_rate: f64,
    tree_rate: f64,
    fsync_bytes: u64,
    ckpt_bytes: u64,
    mount_ms: f64,
    mem: usize,
}

/// The header line with the device geometry and the empty filesystem's
/// mount time and core memory (what is there before any file: state per
/// zone and per device block), then the table head.
fn print_header(cfg: &Config, geo: &Geometry, fs: &mut MemFs, empty_ms: f64, empty_mem: usize) {
    let st = fs.statfs().unwrap();
    let zone_mib = geo.zone_size as f64 * BLOCK as f64 / MIB;
    println!(
        "FluffleFS core scale benchmark (in-memory ZNS device: {} zones of {zone_mib:.0} MiB, capacity {} blocks, \
         {:.1} GiB usable, {} inodes max; release build)",
        geo.zone_count,
        geo.zone_cap,
        (st.blocks * BLOCK) as f64 / MIB / 1024.0,
        st.files
    );
    println!(
        "Steps of {} files up to {}, tree of {} directories; empty filesystem: mount {empty_ms:.1} ms, core memory {:.1} MiB",
        cfg.step,
        cfg.files,
        cfg.dirs,
        empty_mem as f64 / MIB
    );
    println!("| files   | creates/s 1 dir | creates/s tree | bytes per create+4K+fsync | checkpoint bytes | mount ms | core memory MiB |");
    println!("|---------|-----------------|----------------|---------------------------|------------------|----------|-----------------|");
}

/// One table row, printed as soon as its step is done.
fn print_row(r: &Row) {
    println!(
        "| {:>7} | {:>15.0} | {:>14.0} | {:>25} | {:>16} | {:>8.1} | {:>15.1} |",
        r.files,
        r.dir_rate,
        r.tree_rate,
        r.fsync_bytes,
        r.ckpt_bytes,
        r.mount_ms,
        r.mem as f64 / MIB
    );
}

/// The closing line: which costs grew from the first row to the last, as
/// ratios next to the growth of the file count (a cost that grows like the
/// file count is O(n) per operation).
fn print_summary(rows: &[Row]) {
    let (Some(a), Some(b)) = (rows.first(), rows.last()) else { return };
    if rows.len() < 2 {
        println!("One step only: nothing to compare.");
        return;
    }
    let costs = [
        ("bytes per create+fsync", a.fsync_bytes as f64, b.fsync_bytes as f64),
        ("checkpoint bytes", a.ckpt_bytes as f64, b.ckpt_bytes as f64),
        ("mount time", a.mount_ms, b.mount_ms),
        ("core memory", a.mem as f64, b.mem as f64),
        ("time per create, 1 dir", 1.0 / a.dir_rate, 1.0 / b.dir_rate),
        ("time per create, tree", 1.0 / a.tree_rate, 1.0 / b.tree_rate),
    ];
    let mut grow = Vec::new();
    let mut flat = Vec::new();
    for (name, first, last) in costs {
        let x = last / first;
        if x >= 1.5 {
            grow.push(format!("{name} x{x:.1}"));
        } else {
            flat.push(format!("{name} x{x:.1}"));
        }
    }
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    println!(
        "Files x{:.0} from the first row to the last; costs that grow: {}; about flat: {}.",
        b.files as f64 / a.files as f64,
        list(&grow),
        list(&flat)
    );
}

fn main() {
    let cfg = Config::from_env();
    let geo = geometry(&cfg);
    let page = [0x5au8; BLOCK as usize];
    let mut one = new_fs(geo);
    let dir = one.mkdir(ROOT, b"one", 0o755, 0, 0).unwrap().ino;
    one.sync().unwrap();
    let mut tree = new_fs(geo);
    let tdirs: Vec<u64> =
        (0..cfg.dirs).map(|k| tree.mkdir(ROOT, format!("d{k:04}").as_bytes(), 0o755, 0, 0).unwrap().ino).collect();
    tree.sync().unwrap();
    let (fs, empty_ms, empty_mem) = remount(one);
    one = fs;
    print_header(&cfg, &geo, &mut one, empty_ms, empty_mem);
    let mut rows = Vec::new();
    let mut done = 0;
    // Fs::mount zeroes the stats: summed for `one` before each remount.
    let mut gc_moved = 0;
    while done < cfg.files {
        let t = Instant::now();
        let to = (done + cfg.step).min(cfg.files);
        let dir_rate = create_files(&mut one, &[dir], done, to, &page);
        let tree_rate = create_files(&mut tree, &tdirs, done, to, &page);
        let (probe, fsync_bytes) = probe_fsync(&mut one, dir, rows.len(), &page);
        let ckpt_bytes = probe_checkpoint(&mut one, probe);
        gc_moved += one.stats.gc_blocks;
        let (fs, mount_ms, mem) = remount(one);
        one = fs;
        done = to;
        let row = Row { files: done, dir_rate, tree_rate, fsync_bytes, ckpt_bytes, mount_ms, mem };
        print_row(&row);
        rows.push(row);
        let secs = t.elapsed().as_secs_f64();
        if secs > cfg.budget_s && done < cfg.files {
            println!(
                "Stopped: the step to {done} files took {secs:.1} s, over the {} s budget (BENCH_SCALE_BUDGET_S).",
                cfg.budget_s
            );
            break;
        }
    }
    gc_moved += tree.stats.gc_blocks;
    if gc_moved > 0 {
        println!("Warning: foreground GC moved {gc_moved} blocks (the device is too small for these numbers).");
    }
    print_summary(&rows);
}
