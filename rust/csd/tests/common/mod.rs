//! Test support: compiling CSD kernels with clang-19, an in-memory snapshot
//! source, a FluffleFS on the in-memory device, and one-call runners.
#![allow(dead_code)]

use csd::abi::*;
use csd::ebpf::elf::{extract_program_mut, Selector};
use csd::fluffle::errno::{Errno, EACCES, EINVAL};
use csd::fluffle::fs::{format, Fs};
use csd::fluffle::memdev::MemDevice;
use csd::fluffle::types::{FormatOptions, MountOptions};
use csd::registry::{verify_kernel, Registry};
use csd::runner::{budget_for, run_program, Request, RunMemory, RunOutcome};
use csd::source::{DeviceGeometry, FileInfo, FsSnapshot, SnapshotSource};
use csd::error::CsdResult;
use std::path::PathBuf;
use std::process::Command;

/// Root of the repository.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compiles `src` (relative to the repository) as the Makefile does and
/// returns the object bytes. clang-19 missing is a failure, not a skip.
pub fn compile(src: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("fluffle-csd-clang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = repo().join(src);
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let obj = dir.join(format!("{stem}.o"));
    let out = Command::new("clang-19")
        .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", "-I"])
        .arg(repo().join("bpf"))
        .arg("-c")
        .arg(&path)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap_or_else(|e| panic!("clang-19 is required for the CSD tests but could not be run ({e})"));
    assert!(out.status.success(), "clang-19 failed on {}:\n{}", path.display(), String::from_utf8_lossy(&out.stderr));
    std::fs::read(&obj).unwrap()
}

/// A kernel ready to run: code bytes and entry index.
#[derive(Clone)]
pub struct Kernel {
    pub code: Vec<u8>,
    pub entry: usize,
}

/// Compiles `src` and extracts the function `func` as `fluffle load` does.
pub fn kernel(src: &str, func: &str) -> Kernel {
    let mut elf = compile(src);
    let p = extract_program_mut(&mut elf, &Selector { section: None, function: Some(func) })
        .unwrap_or_else(|e| panic!("{src}:{func}: {e}"));
    Kernel { code: p.code.to_vec(), entry: p.entry }
}

/// An in-memory snapshot: the file's bytes laid out in "device blocks" at
/// LBAs `base, base+3, base+6, ...` (so the LBA list is not contiguous),
/// with optional holes.
pub struct MemSource {
    pub data: Vec<u8>,
    pub base: u64,
    pub holes: Vec<u64>,
    pub checkpoints: u64,
    /// Fail reads with this errno (storage error injection).
    pub fail_reads: Option<Errno>,
}

impl MemSource {
    pub fn new(data: Vec<u8>) -> Self {
        MemSource { data, base: 1000, holes: Vec::new(), checkpoints: 0, fail_reads: None }
    }
    pub fn lba_of(&self, block: u64) -> u64 {
        if self.holes.contains(&block) {
            LBA_HOLE
        } else {
            self.base + 3 * block
        }
    }
    fn nblocks(&self) -> u64 {
        (self.data.len() as u64).div_ceil(BLOCK_SIZE as u64)
    }
}

impl SnapshotSource for MemSource {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if let Some(e) = self.fail_reads {
            return Err(e);
        }
        let len = self.data.len() as u64;
        if off >= len {
            return Ok(0);
        }
        let n = buf.len().min((len - off) as usize);
        buf[..n].copy_from_slice(&self.data[off as usize..off as usize + n]);
        Ok(n)
    }
    fn lbas(&mut self, first: u64, out: &mut [u64]) -> Result<usize, Errno> {
        let mut k = 0;
        while k < out.len() && first + (k as u64) < self.nblocks() {
            out[k] = self.lba_of(first + k as u64);
            k += 1;
        }
        Ok(k)
    }
    fn read_lba(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.len() != BLOCK_SIZE as usize {
            return Err(EINVAL);
        }
        if lba < self.base || !(lba - self.base).is_multiple_of(3) {
            return Err(EACCES);
        }
        let block = (lba - self.base) / 3;
        if block >= self.nblocks() || self.holes.contains(&block) {
            return Err(EACCES);
        }
        buf.fill(0);
        let start = (block * BLOCK_SIZE as u64) as usize;
        let end = (start + BLOCK_SIZE as usize).min(self.data.len());
        buf[..end - start].copy_from_slice(&self.data[start..end]);
        Ok(())
    }
    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry { sector_size: 512, zone_size: 2048, zone_cap: 1536, zone_count: 77 }
    }
    fn checkpoint(&mut self) -> Result<(), Errno> {
        self.checkpoints += 1;
        Ok(())
    }
}

pub const MEM_INFO: FileInfo = FileInfo { ino: 42, parent: 7, mode: 0o100644 };

/// Runs kernel `k` over `src` for `req` with an output of `cap` bytes and
/// the default budget; returns the output.
pub fn run_src(k: &Kernel, src: &mut dyn SnapshotSource, req: &Request<'_>, cap: usize) -> CsdResult<Vec<u8>> {
    let budget = budget_for(src.size() + req.input.map_or(0, |i| i.len() as u64));
    run_budget(k, src, req, cap, budget).map(|(out, _)| out)
}

/// Like [`run_src`] with an explicit budget; also returns the outcome.
pub fn run_budget(k: &Kernel, src: &mut dyn SnapshotSource, req: &Request<'_>, cap: usize, budget: u64) -> CsdResult<(Vec<u8>, RunOutcome)> {
    let prog = verify_kernel(&k.code, k.entry)?;
    let mut mem = RunMemory::new()?;
    let mut out = vec![0u8; cap];
    let res = run_program(&prog, src, &MEM_INFO, req, &mut mem, &mut out, budget)?;
    out.truncate(res.emitted);
    Ok((out, res))
}

/// Runs over an in-memory source holding `data` (a read of `cap` at 0).
pub fn run_mem(k: &Kernel, data: &[u8], cap: usize) -> CsdResult<Vec<u8>> {
    let mut src = MemSource::new(data.to_vec());
    run_src(k, &mut src, &Request::read(0, cap as u64), cap)
}

/// A formatted and mounted FluffleFS on a 64 MiB in-memory device.
pub fn new_fs() -> Fs<MemDevice> {
    let mut dev = MemDevice::with_zones(64, 320, 256).unwrap();
    format(&mut dev, &FormatOptions::default()).unwrap();
    Fs::mount(dev, &MountOptions::default()).unwrap()
}

/// Creates `/name` with `data`; returns its inode number.
pub fn create_file(fs: &mut Fs<MemDevice>, name: &str, data: &[u8]) -> u64 {
    let a = fs.create(Fs::<MemDevice>::ROOT_INO, name.as_bytes(), 0o644, 0, 0).unwrap();
    let mut off = 0;
    while off < data.len() {
        let end = (off + (1 << 20)).min(data.len());
        off += fs.write(a.ino, off as u64, &data[off..end]).unwrap();
    }
    a.ino
}

/// Loads `k` into `reg`, snapshots `ino`, runs, releases; returns output.
pub fn run_fs(fs: &mut Fs<MemDevice>, reg: &Registry, id: u32, ino: u64, req: &Request<'_>, cap: usize) -> CsdResult<Vec<u8>> {
    let snap = fs.snapshot(ino)?;
    let res = run_snap(fs, reg, id, snap, req, cap);
    fs.release_snapshot(snap).unwrap();
    res
}

/// Runs program `id` over live snapshot `snap`.
pub fn run_snap(
    fs: &mut Fs<MemDevice>,
    reg: &Registry,
    id: u32,
    snap: u64,
    req: &Request<'_>,
    cap: usize,
) -> CsdResult<Vec<u8>> {
    let mut src = FsSnapshot::new(fs, snap, 4096)?;
    let info = src.info(Fs::<MemDevice>::ROOT_INO)?;
    let prog = reg.get(id)?.program()?;
    let mut mem = RunMemory::new()?;
    let mut out = vec![0u8; cap];
    let budget = budget_for(src.size() + req.input.map_or(0, |i| i.len() as u64));
    let res = run_program(&prog, &mut src, &info, req, &mut mem, &mut out, budget)?;
    out.truncate(res.emitted);
    Ok(out)
}

/// Deterministic pseudo-random bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Bytes with a skewed distribution (so the entropy is not ~8).
pub fn skewed(seed: u64, len: usize) -> Vec<u8> {
    bytes(seed, len).into_iter().map(|b| b & (b >> 3) & 0x3f).collect()
}

/// The sizes every kernel is checked on.
pub const SIZES: &[usize] = &[0, 1, 3, 4, 4096, 12345, 65536 + 7, 3 * 1024 * 1024 + 1234];

pub fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}
pub fn i64_at(b: &[u8], off: usize) -> i64 {
    i64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// CRC-32 (IEEE, as zlib), bitwise.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { 0xedb8_8320 ^ (crc >> 1) } else { crc >> 1 };
        }
    }
    !crc
}

/// Shannon entropy in bits per byte.
pub fn entropy_f64(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut h = [0u64; 256];
    data.iter().for_each(|&b| h[b as usize] += 1);
    let n = data.len() as f64;
    h.iter().filter(|&&c| c > 0).map(|&c| {
        let p = c as f64 / n;
        -p * p.log2()
    }).sum()
}
