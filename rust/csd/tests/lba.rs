//! The LBA helpers and the context, over real FluffleFS snapshots: a kernel
//! can walk and read exactly the snapshot's blocks and nothing else.

mod common;
use common::*;
use csd::abi::*;
use csd::fluffle::fs::Fs;
use csd::fluffle::memdev::MemDevice;
use csd::fluffle::types::LBA_HOLE as CORE_HOLE;
use csd::registry::{Caller, Registry};
use csd::runner::Request;

const PROBE: &str = "rust/csd/tests/kernels/probe.c";

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

fn load(reg: &mut Registry, f: &str) -> u32 {
    let k = if f == "lba_hash" { kernel("bpf/lba_hash.c", f) } else { kernel(PROBE, f) };
    reg.load(Caller::ROOT, &k.code, k.entry).unwrap()
}

#[test]
fn lba_hole_values_agree() {
    assert_eq!(LBA_HOLE, CORE_HOLE);
    assert_eq!(BLOCK_SIZE as usize, csd::fluffle::device::BLOCK_SIZE);
}

#[test]
fn context_describes_file_request_and_device() {
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let id = load(&mut reg, "emit_ctx");
    let data = bytes(1, 10_000);
    let ino = create_file(&mut fs, "f", &data);
    let out = run_fs(&mut fs, &reg, id, ino, &Request::read(77, 300), 300).unwrap();
    assert_eq!(out.len(), CTX_SIZE);
    let want = CsdCtx {
        abi_version: ABI_VERSION,
        op: OP_READ,
        req_offset: 77,
        req_len: 300,
        ino,
        parent: Fs::<MemDevice>::ROOT_INO,
        file_type: FT_REGULAR,
        mode: 0o100644,
        size: 10_000,
        lba_count: 3,
        block_size: 4096,
        sector_size: 4096,
        zone_size: 320,
        zone_cap: 256,
        zone_count: 64,
        scratch_size: SCRATCH_SIZE,
        input_len: 0,
        out_cap: 300,
    };
    assert_eq!(out, want.to_bytes());
    let out = run_fs(&mut fs, &reg, id, ino, &Request::write(5, b"hello"), 4096).unwrap();
    assert_eq!(u32_at(&out, 4), OP_WRITE);
    assert_eq!(u64_at(&out, 96), 5, "input_len");
}

#[test]
fn walk_by_lba_equals_the_file_content() {
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let id = load(&mut reg, "lba_hash");
    for (i, &size) in SIZES.iter().enumerate() {
        let data = bytes(i as u64, size);
        let ino = create_file(&mut fs, &format!("f{i}"), &data);
        let out = run_fs(&mut fs, &reg, id, ino, &Request::read(0, 32), 32).unwrap();
        let sum: u64 = data.iter().map(|&b| b as u64).sum();
        assert_eq!(u64_at(&out, 0), fnv(&data), "size {size}");
        assert_eq!(u64_at(&out, 8), sum, "size {size}");
        assert_eq!(u64_at(&out, 16), (size as u64).div_ceil(4096), "blocks read");
        assert_eq!(u64_at(&out, 24), 0, "holes");
    }
}

#[test]
fn walk_by_lba_with_holes() {
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let id = load(&mut reg, "lba_hash");
    let ino = create_file(&mut fs, "sparse", &bytes(3, 4096));
    let tail = bytes(4, 5000);
    fs.write(ino, 3 * 4096 + 100, &tail).unwrap();
    let mut expect = bytes(3, 4096);
    expect.resize(3 * 4096 + 100, 0);
    expect.extend_from_slice(&tail);
    let out = run_fs(&mut fs, &reg, id, ino, &Request::read(0, 32), 32).unwrap();
    assert_eq!(u64_at(&out, 0), fnv(&expect));
    assert_eq!(u64_at(&out, 24), 2, "blocks 1 and 2 are holes");
    assert_eq!(u64_at(&out, 16), 3);
    // The same over an in-memory source with holes.
    let mut src = MemSource::new(expect.clone());
    src.holes = vec![1, 2];
    for b in [1, 2] {
        src.data[b * 4096..(b + 1) * 4096].fill(0);
    }
    let k = kernel("bpf/lba_hash.c", "lba_hash");
    let out = run_src(&k, &mut src, &Request::read(0, 32), 32).unwrap();
    assert_eq!(u64_at(&out, 0), fnv(&expect));
    assert_eq!(u64_at(&out, 24), 2);
    // Past offset 0 it reads as end of file.
    assert!(run_src(&k, &mut src, &Request::read(32, 32), 32).unwrap().is_empty());
}

#[test]
fn only_the_snapshots_lbas_can_be_read() {
    let mut fs = new_fs();
    let mut reg = Registry::new();
    let probe = load(&mut reg, "lba_probe");
    let data = bytes(5, 3 * 4096);
    let ino = create_file(&mut fs, "f", &data);
    let other = create_file(&mut fs, "g", &bytes(6, 4096));
    fs.sync().unwrap();
    let snap = fs.snapshot(ino).unwrap();
    let mut lbas = [0u64; 8];
    assert_eq!(fs.snapshot_lbas(snap, 0, &mut lbas).unwrap(), 3);
    // Every listed LBA reads the matching block.
    for (b, &lba) in lbas[..3].iter().enumerate() {
        let out = run_snap(&mut fs, &reg, probe, snap, &Request::read(lba, 16), 16).unwrap();
        assert_eq!(i64_at(&out, 0), 4096);
        assert_eq!(out[8..16], data[b * 4096..b * 4096 + 8]);
    }
    // Anything else is refused with -EACCES, which the kernel sees.
    let osnap = fs.snapshot(other).unwrap();
    let mut olba = [0u64; 1];
    fs.snapshot_lbas(osnap, 0, &mut olba).unwrap();
    fs.release_snapshot(osnap).unwrap();
    for lba in [olba[0], 0, 1, lbas[2] + 1, u64::MAX, LBA_HOLE - 1] {
        if lbas[..3].contains(&lba) {
            continue;
        }
        let out = run_snap(&mut fs, &reg, probe, snap, &Request::read(lba, 16), 16).unwrap();
        assert_eq!(i64_at(&out, 0), -(CSD_EACCES as i64), "lba {lba}");
        assert_eq!(out.len(), 8);
    }
    // After an overwrite the snapshot still reads its own (old) blocks, and
    // the file's new blocks are not the snapshot's.
    fs.write(ino, 0, &bytes(7, 3 * 4096)).unwrap();
    fs.sync().unwrap();
    let now = fs.snapshot(ino).unwrap();
    let mut new_lbas = [0u64; 3];
    fs.snapshot_lbas(now, 0, &mut new_lbas).unwrap();
    fs.release_snapshot(now).unwrap();
    let out = run_snap(&mut fs, &reg, probe, snap, &Request::read(lbas[0], 16), 16).unwrap();
    assert_eq!(out[8..16], data[..8], "old content through the old snapshot");
    for lba in new_lbas {
        if !lbas[..3].contains(&lba) {
            let out = run_snap(&mut fs, &reg, probe, snap, &Request::read(lba, 16), 16).unwrap();
            assert_eq!(i64_at(&out, 0), -13);
        }
    }
    fs.release_snapshot(snap).unwrap();
}
