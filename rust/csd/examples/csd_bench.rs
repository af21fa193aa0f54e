//! Throughput of the CSD kernels in the interpreter (not a test):
//! `cargo run --release -p csd --example csd_bench [MiB]`.
//! Compiles bpf/*.c with clang-19, runs each kernel over an in-memory
//! snapshot and prints instructions per byte and MiB/s, next to the
//! default instruction budget for that size: on the checked interpreter
//! and on the pre-decoded one that loaded programs use.

use csd::ebpf::elf::{extract_program_mut, Selector};
use csd::fluffle::errno::{Errno, EACCES};
use csd::ebpf::Decoded;
use csd::registry::{decode_kernel, verify_kernel};
use csd::runner::{budget_for, run_program, Request, RunMemory};
use csd::source::{DeviceGeometry, FileInfo, SnapshotSource};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

struct Mem(Vec<u8>);

impl SnapshotSource for Mem {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let off = off.min(self.0.len() as u64) as usize;
        let n = buf.len().min(self.0.len() - off);
        buf[..n].copy_from_slice(&self.0[off..off + n]);
        Ok(n)
    }
    fn lbas(&mut self, _first: u64, _out: &mut [u64]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn read_lba(&mut self, _lba: u64, _buf: &mut [u8]) -> Result<(), Errno> {
        Err(EACCES)
    }
    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry::default()
    }
}

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("fluffle-csd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut x = 0x1234_5678_9abc_def1u64;
    let data: Vec<u8> = (0..mib << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    println!("{mib} MiB, default budget {} insns", budget_for(data.len() as u64));
    for (file, func) in [("average", "average"), ("entropy", "entropy"), ("count_pattern", "count_pattern"), ("count_lines", "count_lines")] {
        let obj = dir.join(format!("{file}.o"));
        let st = Command::new("clang-19")
            .args(["-target", "bpf", "-O2", "-Wall", "-Werror", "-c", "-I"])
            .arg(root.join("bpf"))
            .arg(root.join(format!("bpf/{file}.c")))
            .arg("-o")
            .arg(&obj)
            .status()
            .expect("clang-19");
        assert!(st.success());
        let mut elf = std::fs::read(&obj).unwrap();
        let p = extract_program_mut(&mut elf, &Selector { section: None, function: Some(func) }).unwrap();
        let prog = verify_kernel(p.code, p.entry).unwrap();
        let ops = decode_kernel(&prog).unwrap();
        let decoded = Decoded::reuse(&ops, prog.entry());
        for (vm, decoded_run) in [("checked", false), ("pre-decoded", true)] {
            let mut mem = RunMemory::new().unwrap();
            let mut out = vec![0u8; 4096];
            let mut src = Mem(data.clone());
            let t = Instant::now();
            let (file, req) = (FileInfo::default(), Request::read(0, 4096));
            let r = if decoded_run {
                run_program(&decoded, &mut src, &file, &req, &mut mem, &mut out, u64::MAX)
            } else {
                run_program(&prog, &mut src, &file, &req, &mut mem, &mut out, u64::MAX)
            }
            .unwrap();
            let s = t.elapsed().as_secs_f64();
            println!(
                "{func:14} {vm:11} {:6.2} insns/byte {:8.1} MiB/s {:6.0} Minsns/s {:7.3} s",
                r.insns as f64 / data.len() as f64,
                mib as f64 / s,
                r.insns as f64 / s / 1e6,
                s
            );
        }
    }
}
