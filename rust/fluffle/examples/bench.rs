//! Core benchmark on the in-memory zoned device (not a test).
//!
//! `make bench-core` (scripts/bench-core.sh) runs it in release mode and
//! prints a table: sequential 1 MiB writes and reads, random 4 KiB
//! overwrites, file creates per second, and write amplification (device
//! blocks written / user blocks written) under uniform random 4 KiB
//! overwrites at 50 %, 80 % and 95 % utilisation, where utilisation is
//! live file data over the usable space statfs reports.

use std::time::Instant;

use fluffle::fs::{format, Fs};
use fluffle::memdev::MemDevice;
use fluffle::types::{FormatOptions, MountOptions};

const MIB: usize = 1 << 20;

fn device(zones: u32, zone_size: u64, cap: u64) -> Fs<MemDevice> {
    let mut d = MemDevice::new(fluffle::device::Geometry { zone_count: zones, zone_size, zone_cap: cap, max_open: 14, max_active: 14 })
        .expect("geometry");
    format(&mut d, &FormatOptions::default()).expect("format");
    Fs::mount(d, &MountOptions::default()).expect("mount")
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn mbs(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / MIB as f64 / secs
}

fn main() {
    let total_mib: usize = std::env::var("BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    // 1 MiB zones with 896 KiB capacity, sized for the data set.
    let zones = (total_mib * 3 + 80) as u32;
    let mut fs = device(zones, 256, 224);
    let buf: Vec<u8> = (0..MIB).map(|i| (i * 7 + 3) as u8).collect();
    let f = fs.create(1, b"seq", 0o644, 0, 0).unwrap().ino;
    let t = Instant::now();
    for i in 0..total_mib {
        fs.write(f, (i * MIB) as u64, &buf).unwrap();
    }
    fs.sync().unwrap();
    let seq_w = mbs(total_mib * MIB, t.elapsed().as_secs_f64());
    let mut rbuf = vec![0u8; MIB];
    let t = Instant::now();
    for i in 0..total_mib {
        fs.read(f, (i * MIB) as u64, &mut rbuf).unwrap();
    }
    let seq_r = mbs(total_mib * MIB, t.elapsed().as_secs_f64());
    assert_eq!(rbuf, buf);
    let mut rng = Rng(0x1234_5678);
    let blocks = (total_mib * MIB / 4096) as u64;
    let n = 32768usize;
    let t = Instant::now();
    for _ in 0..n {
        let b = rng.next() % blocks;
        fs.write(f, b * 4096, &buf[..4096]).unwrap();
    }
    fs.sync().unwrap();
    let rnd_w = mbs(n * 4096, t.elapsed().as_secs_f64());
    // The kernel's page-cache path: one 4 KiB write per page, then fsync;
    // reads of 128 KiB (readahead).
    let g = fs.create(1, b"pages", 0o644, 0, 0).unwrap().ino;
    let t = Instant::now();
    for i in 0..total_mib * 256 {
        fs.write(g, (i * 4096) as u64, &buf[..4096]).unwrap();
    }
    fs.fsync(g, false).unwrap();
    let page_w = mbs(total_mib * MIB, t.elapsed().as_secs_f64());
    let t = Instant::now();
    for i in 0..total_mib * 8 {
        fs.read(g, (i * 131072) as u64, &mut rbuf[..131072]).unwrap();
    }
    let page_r = mbs(total_mib * MIB, t.elapsed().as_secs_f64());
    let d = fs.mkdir(1, b"many", 0o755, 0, 0).unwrap().ino;
    let nfiles = 10_000;
    let t = Instant::now();
    for i in 0..nfiles {
        let name = format!("file{i:06}");
        fs.create(d, name.as_bytes(), 0o644, 0, 0).unwrap();
    }
    fs.sync().unwrap();
    let creates = nfiles as f64 / t.elapsed().as_secs_f64();

    println!("FluffleFS core benchmark (in-memory ZNS device, 1 MiB zones, 896 KiB capacity, release build)");
    println!("| metric                         | value          |");
    println!("|--------------------------------|----------------|");
    println!("| sequential write, 1 MiB writes | {seq_w:>9.0} MB/s |");
    println!("| sequential read, 1 MiB reads   | {seq_r:>9.0} MB/s |");
    println!("| random 4 KiB overwrites        | {rnd_w:>9.0} MB/s |");
    println!("| 4 KiB sequential writes+fsync  | {page_w:>9.0} MB/s |");
    println!("| 128 KiB sequential reads       | {page_r:>9.0} MB/s |");
    println!("| file creates                   | {creates:>9.0} /s   |");

    for pct in [50u64, 80, 95] {
        let (wa, detail) = write_amp(pct, false);
        println!("| write amplification at {pct:>2} %    | {wa:>14.2} | uniform: {detail}");
    }
    let (wa, detail) = write_amp(80, true);
    println!("| WA at 80 %, 90/10 hot/cold     | {wa:>14.2} | 90 % of writes to 10 % of the data: {detail}");
}

/// Fills an 84 MiB device to `pct` % of its usable space with 1 MiB
/// files, overwrites random 4 KiB blocks for 4x the data size (the first
/// 1x as warm-up; uniform, or with `skew` 90 % of the writes to the first
/// 10 % of the data), and returns device blocks / user blocks over the rest
/// and where they went.
fn write_amp(pct: u64, skew: bool) -> (f64, String) {
    let mut fs = device(96, 256, 224);
    let st = fs.statfs().unwrap();
    let files = (st.blocks * pct / 100) / 256;
    let chunk = vec![0x5au8; MIB];
    let mut inos = Vec::new();
    for i in 0..files {
        let ino = fs.create(1, format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap().ino;
        fs.write(ino, 0, &chunk).unwrap();
        inos.push(ino);
    }
    fs.sync().unwrap();
    let total_blocks = files * 256;
    let mut rng = Rng(0xdead_beef);
    let page = [0xa5u8; 4096];
    let mut overwrite = |fs: &mut Fs<MemDevice>, count: u64| {
        for _ in 0..count {
            let r = rng.next();
            let b = if skew && r % 10 != 0 { (r >> 8) % (total_blocks / 10) } else { (r >> 8) % total_blocks };
            let ino = inos[(b / 256) as usize];
            fs.write(ino, (b % 256) * 4096, &page).unwrap();
        }
    };
    overwrite(&mut fs, total_blocks);
    fs.sync().unwrap();
    let dev0 = fs.device().stats().blocks_written;
    let s0 = fs.stats;
    let count = 3 * total_blocks;
    overwrite(&mut fs, count);
    fs.sync().unwrap();
    let dev = fs.device().stats().blocks_written - dev0;
    let s = fs.stats;
    let per = |a: u64, b: u64| (a - b) as f64 / count as f64;
    let detail = format!(
        "data {:.2} + gc {:.2} + nodes {:.2} + checkpoints {:.2} ({} ckpts)",
        per(s.data_blocks, s0.data_blocks),
        per(s.gc_blocks, s0.gc_blocks),
        per(s.node_blocks, s0.node_blocks),
        per(s.ckpt_blocks, s0.ckpt_blocks),
        s.checkpoints - s0.checkpoints
    );
    (dev as f64 / count as f64, detail)
}
