//! The CSD kernels of bpf/ compiled by clang-19, run over snapshots of files
//! on an in-memory FluffleFS (and an in-memory source), compared with the
//! host's computation on files of 0 B, 1 B, one block, odd sizes and MiBs.

mod common;
use common::*;
use csd::abi::*;
use csd::registry::{Caller, Registry};
use csd::runner::Request;
use std::sync::OnceLock;

fn avg_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/average.c", "average"))
}
fn entropy_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/entropy.c", "entropy"))
}
fn pattern_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/count_pattern.c", "count_pattern"))
}
fn lines_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/count_lines.c", "count_lines"))
}
fn scan_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/scan.c", "scan"))
}
fn trailer_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/checksum_trailer.c", "checksum_trailer"))
}

fn grep_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| kernel("bpf/grep.c", "grep"))
}

/// `grep fluffle`: matching lines with their newline.
fn expected_grep(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line.windows(7).any(|w| w == b"fluffle") {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Reads the read stream like `cat` with a `piece`-byte buffer: one run
/// per read at the growing offset until a run emits nothing.
fn read_stream(k: &Kernel, src: &mut MemSource, piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let got = run_src(k, src, &Request::read(out.len() as u64, piece as u64), piece).unwrap();
        if got.is_empty() {
            return out;
        }
        assert!(got.len() <= piece);
        out.extend_from_slice(&got);
    }
}

/// The sizes without the MiB one: the over-Fs test runs every kernel on
/// that, the in-memory tests need not repeat it (debug builds interpret
/// slowly).
fn small_sizes() -> &'static [usize] {
    &SIZES[..SIZES.len() - 1]
}

fn expected_average(data: &[u8]) -> (i64, u64, i64) {
    let ints: Vec<i64> = data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64).collect();
    let sum: i64 = ints.iter().sum();
    let n = ints.len() as u64;
    (sum, n, if n == 0 { 0 } else { sum / n as i64 })
}

fn check_average(out: &[u8], data: &[u8]) {
    assert_eq!(out.len(), 24);
    let (sum, n, avg) = expected_average(data);
    assert_eq!(i64_at(out, 0), sum, "sum, size {}", data.len());
    assert_eq!(u64_at(out, 8), n, "count, size {}", data.len());
    assert_eq!(i64_at(out, 16), avg, "average, size {}", data.len());
}

fn check_entropy(out: &[u8], data: &[u8]) {
    assert_eq!(out.len(), 1040, "size {}", data.len());
    let mut hist = [0u32; 256];
    data.iter().for_each(|&b| hist[b as usize] += 1);
    for (b, &c) in hist.iter().enumerate() {
        assert_eq!(u32_at(out, 4 * b), c, "bin {b}, size {}", data.len());
    }
    assert_eq!(u64_at(out, 1024), data.len() as u64);
    let q16 = u64_at(out, 1032) as f64 / 65536.0;
    let exact = entropy_f64(data);
    assert!((q16 - exact).abs() < 0.002, "entropy {q16} vs {exact}, size {}", data.len());
    // The caller's way: from the histogram alone.
    let n: u64 = (0..256).map(|b| u32_at(out, 4 * b) as u64).sum();
    let from_hist: f64 = (0..256)
        .map(|b| u32_at(out, 4 * b) as f64)
        .filter(|&c| c > 0.0)
        .map(|c| -(c / n as f64) * (c / n as f64).log2())
        .sum();
    assert!((from_hist - exact).abs() < 1e-9);
}

fn count_overlapping(data: &[u8], pat: &[u8]) -> u64 {
    if data.len() < pat.len() {
        return 0;
    }
    data.windows(pat.len()).filter(|w| *w == pat).count() as u64
}

/// Data with "fluffle" sprinkled in, overlapping forms and some across
/// 64 KiB chunk boundaries (the kernels read scratch-sized chunks).
fn pattern_data(len: usize) -> Vec<u8> {
    let mut d = skewed(5, len);
    let mut put = |at: usize, s: &[u8]| {
        if at + s.len() <= d.len() {
            d[at..at + s.len()].copy_from_slice(s);
        }
    };
    put(0, b"fluffle");
    for k in 1..40 {
        put(k * 777, b"flufflefluffle");
        put(k * 65536 - 3, b"fluffle"); // straddles a chunk boundary
        put(k * 61440 - 4, b"fluffle\n"); // entropy/lines chunk size
    }
    if len >= 7 {
        put(len - 7, b"fluffle");
    }
    for (i, b) in d.iter_mut().enumerate() {
        if i % 97 == 0 {
            *b = b'\n';
        }
    }
    d
}

#[test]
fn average_over_memory_snapshots() {
    let k = avg_kernel();
    for &size in SIZES {
        let data = bytes(size as u64, size);
        check_average(&run_mem(k, &data, 64).unwrap(), &data);
    }
    // All negative and all positive extremes.
    let neg: Vec<u8> = (0..1000).flat_map(|_| i32::MIN.to_le_bytes()).collect();
    check_average(&run_mem(k, &neg, 64).unwrap(), &neg);
    let mixed: Vec<u8> = [-7i32, 2, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let out = run_mem(k, &mixed, 64).unwrap();
    check_average(&out, &mixed);
    assert_eq!(i64_at(&out, 16), -1, "rounds toward zero like C");
}

#[test]
fn entropy_over_memory_snapshots() {
    let k = entropy_kernel();
    for &size in small_sizes() {
        let data = skewed(size as u64, size);
        check_entropy(&run_mem(k, &data, 2048).unwrap(), &data);
    }
    let uniform: Vec<u8> = (0..256 * 64).map(|i| i as u8).collect();
    let out = run_mem(k, &uniform, 2048).unwrap();
    check_entropy(&out, &uniform);
    assert_eq!(u64_at(&out, 1032), 8 << 16, "exactly 8 bits per byte");
    let constant = vec![7u8; 5000];
    assert_eq!(u64_at(&run_mem(k, &constant, 2048).unwrap(), 1032), 0);
}

#[test]
fn count_pattern_and_lines_over_memory_snapshots() {
    for &size in small_sizes() {
        let data = pattern_data(size);
        let out = run_mem(pattern_kernel(), &data, 8).unwrap();
        assert_eq!(u64_at(&out, 0), count_overlapping(&data, b"fluffle"), "size {size}");
        let out = run_mem(lines_kernel(), &data, 8).unwrap();
        assert_eq!(u64_at(&out, 0), count_overlapping(&data, b"\n"), "size {size}");
        // scan: every byte read, and the head of every 64 KiB chunk seen.
        let out = run_mem(scan_kernel(), &data, 16).unwrap();
        let fold = data.chunks(SCRATCH_SIZE as usize).fold(0u64, |f, c| {
            let mut head = [0u8; 8];
            let k = c.len().min(8);
            head[..k].copy_from_slice(&c[..k]);
            f ^ u64::from_le_bytes(head)
        });
        assert_eq!((u64_at(&out, 0), u64_at(&out, 8)), (size as u64, fold), "scan, size {size}");
    }
    // A pattern that overlaps itself: "flufflefluffle" holds two; a prefix
    // of zeros must not match at the very start of the file.
    let out = run_mem(pattern_kernel(), b"flufflefluffleflufflx", 8).unwrap();
    assert_eq!(u64_at(&out, 0), 2);
    let big = pattern_data(3 << 20);
    assert!(count_overlapping(&big, b"fluffle") > 100, "the MiB test data has matches to find");
}

#[test]
fn grep_filters_lines_for_any_read_size() {
    let k = grep_kernel();
    for &size in small_sizes() {
        let data = pattern_data(size);
        let want = expected_grep(&data);
        let mut src = MemSource::new(data.clone());
        assert_eq!(read_stream(k, &mut src, 1 << 20), want, "size {size}");
        if size < 100_000 {
            // Small reads: each run skips what earlier reads returned.
            assert_eq!(read_stream(k, &mut src, 100), want, "size {size}, 100-byte reads");
        }
    }
    // Long lines spanning the 32 KiB scan chunks, a match right at a chunk
    // boundary, and a last line without a newline.
    let mut data = vec![b'a'; 100_000];
    data[32768 - 3..32768 + 4].copy_from_slice(b"fluffle");
    data[50_000] = b'\n';
    data[70_000..70_007].copy_from_slice(b"fluffle");
    data.extend_from_slice(b"\nno match\nfluffle at the end");
    let want = expected_grep(&data);
    assert_eq!(want.len(), 50_001 + 50_000 + "fluffle at the end".len());
    let mut src = MemSource::new(data);
    assert_eq!(read_stream(k, &mut src, 1 << 20), want);
    assert_eq!(read_stream(k, &mut src, 40_000), want);
    // "flufflefluffle" and a pattern split by a newline.
    let mut src = MemSource::new(b"fluff\nle\nxflufflefluffle\n".to_vec());
    assert_eq!(read_stream(k, &mut src, 64), b"xflufflefluffle\n");
}

#[test]
fn aggregate_kernels_read_as_eof_past_offset_zero() {
    let data = bytes(1, 5000);
    for k in [avg_kernel(), entropy_kernel(), pattern_kernel()] {
        let mut src = MemSource::new(data.clone());
        let out = run_src(k, &mut src, &Request::read(24, 4096), 4096).unwrap();
        assert!(out.is_empty());
    }
}

#[test]
fn output_is_bounded_by_the_request() {
    // A read of 16 bytes gets the first 16 bytes of the 24-byte result.
    let data = bytes(2, 4000);
    let full = run_mem(avg_kernel(), &data, 64).unwrap();
    let short = run_mem(avg_kernel(), &data, 16).unwrap();
    assert_eq!(short, full[..16]);
    let none = run_mem(entropy_kernel(), &data, 0).unwrap();
    assert!(none.is_empty());
}

#[test]
fn checksum_trailer_stores_data_plus_crc32() {
    let k = trailer_kernel();
    for len in [0usize, 1, 5, 4096, 12345, 300_000] {
        let data = bytes(len as u64 + 3, len);
        let mut src = MemSource::new(Vec::new());
        let out = run_src(k, &mut src, &Request::write(0, &data), len + WRITE_SLACK as usize).unwrap();
        assert_eq!(out.len(), len + 4);
        assert_eq!(out[..len], data[..]);
        assert_eq!(u32_at(&out, len), crc32(&data), "len {len}");
    }
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "host CRC is the IEEE one");
    // Without room for the trailer the write fails with E2BIG, as a read.
    let mut src = MemSource::new(Vec::new());
    let e = run_src(k, &mut src, &Request::write(0, b"abc"), 3).unwrap_err();
    assert_eq!(e.errno.0, 7);
    let mut src = MemSource::new(b"abc".to_vec());
    let e = run_src(k, &mut src, &Request::read(0, 10), 10).unwrap_err();
    assert_eq!(e.errno.0, 22, "{e}");
}

#[test]
fn kernels_over_fluffle_snapshots() {
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let avg = reg.load(Caller::ROOT, &avg_kernel().code, avg_kernel().entry).unwrap();
    let ent = reg.load(Caller::ROOT, &entropy_kernel().code, entropy_kernel().entry).unwrap();
    let pat = reg.load(Caller::ROOT, &pattern_kernel().code, pattern_kernel().entry).unwrap();
    let grep = reg.load(Caller::ROOT, &grep_kernel().code, grep_kernel().entry).unwrap();
    for (i, &size) in SIZES.iter().enumerate() {
        let data = pattern_data(size);
        let ino = create_file(&mut fs, &format!("f{i}"), &data);
        check_average(&run_fs(&mut fs, &reg, avg, ino, &Request::read(0, 4096), 4096).unwrap(), &data);
        check_entropy(&run_fs(&mut fs, &reg, ent, ino, &Request::read(0, 4096), 4096).unwrap(), &data);
        let out = run_fs(&mut fs, &reg, pat, ino, &Request::read(0, 8), 8).unwrap();
        assert_eq!(u64_at(&out, 0), count_overlapping(&data, b"fluffle"));
        let out = run_fs(&mut fs, &reg, grep, ino, &Request::read(0, 8 << 20), 8 << 20).unwrap();
        assert_eq!(out, expected_grep(&data));
    }
    assert_eq!(fs.snapshot_count(), 0);
}

#[test]
fn write_stream_over_fluffle_then_stored() {
    // What the glue does for a write: run the kernel on the data, store
    // the output at the write position.
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let t = reg.load(Caller::ROOT, &trailer_kernel().code, trailer_kernel().entry).unwrap();
    let ino = create_file(&mut fs, "log", b"");
    let mut pos = 0u64;
    let mut expect = Vec::new();
    for rec in [&b"first record"[..], b"", b"third"] {
        let out = run_fs(&mut fs, &reg, t, ino, &Request::write(pos, rec), rec.len() + WRITE_SLACK as usize).unwrap();
        fs.write(ino, pos, &out).unwrap();
        pos += out.len() as u64;
        expect.extend_from_slice(rec);
        expect.extend_from_slice(&crc32(rec).to_le_bytes());
    }
    let mut back = vec![0u8; expect.len()];
    assert_eq!(fs.read(ino, 0, &mut back).unwrap(), expect.len());
    assert_eq!(back, expect);
}

#[test]
fn snapshot_is_consistent_while_the_file_changes() {
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let ent = reg.load(Caller::ROOT, &entropy_kernel().code, entropy_kernel().entry).unwrap();
    let avg = reg.load(Caller::ROOT, &avg_kernel().code, avg_kernel().entry).unwrap();
    let old = skewed(9, 2 << 20);
    let ino = create_file(&mut fs, "big", &old);
    let snap = fs.snapshot(ino).unwrap();
    // Overwrite everything, extend it, then force GC-like churn with more
    // writes; the snapshot keeps showing the old content.
    let new = bytes(10, 3 << 20);
    fs.write(ino, 0, &new).unwrap();
    fs.sync().unwrap();
    let other = create_file(&mut fs, "other", &bytes(11, 4 << 20));
    fs.unlink(csd::fluffle::fs::Fs::<csd::fluffle::memdev::MemDevice>::ROOT_INO, b"other").unwrap();
    let _ = other;
    fs.sync().unwrap();
    check_entropy(&run_snap(&mut fs, &reg, ent, snap, &Request::read(0, 4096), 4096).unwrap(), &old);
    check_average(&run_snap(&mut fs, &reg, avg, snap, &Request::read(0, 4096), 4096).unwrap(), &old);
    fs.release_snapshot(snap).unwrap();
    // A fresh snapshot sees the new content.
    check_entropy(&run_fs(&mut fs, &reg, ent, ino, &Request::read(0, 4096), 4096).unwrap(), &new);
}
