//! Hostile and broken kernels: each gets its errno, nothing panics or
//! hangs, and the next good kernel works.

mod common;
use common::*;
use csd::abi::*;
use csd::ebpf::opcode::*;
use csd::ebpf::{RunErrorKind, VerifyReason};
use csd::registry::{verify_kernel, Caller, Registry};
use csd::runner::{budget_for, Request};
use csd::error::Detail;
use std::time::Instant;

const PROBE: &str = "rust/csd/tests/kernels/probe.c";

fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    Insn { op, dst, src, off, imm }.encode()
}

fn good() -> Vec<u8> {
    [insn(CLS_ALU64 | ALU_MOV, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)].concat()
}

#[test]
fn infinite_loop_exhausts_the_budget() {
    let k = kernel(PROBE, "spin");
    let mut src = MemSource::new(vec![1; 100]);
    let t = Instant::now();
    let e = run_src(&k, &mut src, &Request::read(0, 8), 8).unwrap_err();
    assert_eq!(e.errno.0, 62, "ETIME");
    assert!(matches!(e.detail, Detail::Run(r) if r.kind == RunErrorKind::BudgetExhausted), "{e}");
    assert!(t.elapsed().as_secs() < 30, "a small file's budget is small");
    // An explicit budget is honoured exactly.
    let e = run_budget(&k, &mut src, &Request::read(0, 8), 8, 1000).unwrap_err();
    assert_eq!(e.errno.0, 62);
    // The budget grows with the data but is bounded.
    assert!(budget_for(1 << 26) > budget_for(0));
    assert_eq!(budget_for(u64::MAX), csd::runner::BUDGET_MAX);
}

#[test]
fn memory_outside_the_regions_faults() {
    for f in ["load_outside", "store_ctx", "read_to_bad_pointer", "read_too_long", "emit_bad_pointer", "smash_stack"] {
        let k = kernel(PROBE, f);
        let mut src = MemSource::new(vec![1; 100]);
        let e = run_src(&k, &mut src, &Request::read(0, 8), 8).map(|o| o.len()).expect_err(f);
        assert_eq!(e.errno.0, 14, "{f}: EFAULT, got {e}");
        let line = e.to_string();
        assert!(line.contains("insn"), "{f}: one-line reason names the instruction: {line}");
    }
}

#[test]
fn reads_past_the_end_return_zero() {
    let k = kernel(PROBE, "read_at");
    let mut src = MemSource::new(vec![1; 100]);
    for (off, len, expect) in [(0u64, 10u64, 10i64), (95, 10, 5), (100, 10, 0), (u64::MAX, 10, 0), (0, 0, 0)] {
        let out = run_src(&k, &mut src, &Request::read(off, len), 8).unwrap();
        assert_eq!(i64_at(&out, 0), expect, "off {off} len {len}");
    }
}

#[test]
fn kernel_errno_fails_the_request() {
    let k = kernel(PROBE, "fail_enodata");
    let e = run_mem(&k, b"x", 8).unwrap_err();
    assert_eq!(e.errno.0, 61);
    assert_eq!(e.detail, Detail::KernelReturned(-61));
}

#[test]
fn storage_errors_end_the_run() {
    let k = kernel(PROBE, "read_at");
    let mut src = MemSource::new(vec![1; 100]);
    src.fail_reads = Some(csd::fluffle::errno::EIO);
    let e = run_src(&k, &mut src, &Request::read(0, 10), 8).unwrap_err();
    assert_eq!(e.errno.0, 5);
    assert!(src.checkpoints > 0, "the glue's checkpoint hook runs before reads");
}

#[test]
fn bad_opcode_is_rejected_at_load() {
    let mut code = good();
    code.splice(0..0, insn(0xff, 0, 0, 0, 0));
    let mut reg = Registry::new();
    let e = reg.load(Caller::ROOT, &code, 0).unwrap_err();
    assert_eq!(e.errno.0, 22);
    match e.detail {
        Detail::Verify(v) => {
            assert_eq!(v.index, 0);
            assert_eq!(v.reason, VerifyReason::UnknownOpcode);
        }
        d => panic!("no verifier detail: {d:?}"),
    }
    assert!(e.to_string().contains("insn 0: unknown opcode"), "{e}");
    assert_eq!(reg.program_count(), 0);
    // Truncated and empty programs too.
    assert_eq!(reg.load(Caller::ROOT, &good()[..12], 0).unwrap_err().errno.0, 22);
    assert_eq!(reg.load(Caller::ROOT, &[], 0).unwrap_err().errno.0, 22);
    // A bad entry point.
    assert_eq!(reg.load(Caller::ROOT, &good(), 5).unwrap_err().errno.0, 22);
}

#[test]
fn unknown_helper_is_rejected_at_load() {
    let k = kernel(PROBE, "unknown_helper");
    let e = verify_kernel(&k.code, k.entry).unwrap_err();
    assert_eq!(e.errno.0, 22);
    assert!(matches!(e.detail, Detail::Verify(v) if v.reason == VerifyReason::UnknownHelper), "{e}");
    // Hand-made: helper 0 and a huge id.
    for id in [0i32, 9, -1] {
        let code = [insn(CALL, 0, 0, 0, id), insn(EXIT, 0, 0, 0, 0)].concat();
        assert_eq!(verify_kernel(&code, 0).unwrap_err().errno.0, 22, "helper {id}");
    }
}

#[test]
fn huge_program_is_e2big() {
    let n = MAX_PROG_BYTES as usize / 8;
    let mut code: Vec<u8> = (0..n - 1).flat_map(|_| insn(CLS_ALU64 | ALU_MOV, 0, 0, 0, 0)).collect();
    code.extend_from_slice(&insn(EXIT, 0, 0, 0, 0));
    let mut reg = Registry::new();
    let id = reg.load(Caller::ROOT, &code, 0).expect("exactly the limit loads");
    reg.unload(Caller::ROOT, id, |_| true).unwrap();
    let mut bigger = insn(CLS_ALU64 | ALU_MOV, 0, 0, 0, 0).to_vec();
    bigger.extend_from_slice(&code);
    assert_eq!(reg.load(Caller::ROOT, &bigger, 0).unwrap_err().errno.0, 7, "E2BIG");
    let giant = vec![0u8; 64 << 20];
    assert_eq!(reg.load(Caller::ROOT, &giant, 0).unwrap_err().errno.0, 7);
}

#[test]
fn the_next_good_kernel_still_works() {
    let mut reg = Registry::new();
    for f in ["spin", "load_outside", "store_ctx", "emit_bad_pointer", "fail_enodata"] {
        let k = kernel(PROBE, f);
        let id = reg.load(Caller::ROOT, &k.code, k.entry).unwrap();
        let prog = reg.get(id).unwrap().program().unwrap();
        let mut mem = csd::runner::RunMemory::new().unwrap();
        let mut out = [0u8; 8];
        let mut src = MemSource::new(vec![3; 10]);
        assert!(csd::runner::run_program(&prog, &mut src, &MEM_INFO, &Request::read(0, 8), &mut mem, &mut out, 100_000).is_err());
        // Same memory, a good kernel: the stack and scratch were reset.
        let ok = kernel("bpf/average.c", "average");
        let okp = verify_kernel(&ok.code, ok.entry).unwrap();
        let mut out = [0u8; 24];
        let r = csd::runner::run_program(&okp, &mut src, &MEM_INFO, &Request::read(0, 24), &mut mem, &mut out, 1_000_000).unwrap();
        assert_eq!(r.emitted, 24);
        assert_eq!(i64_at(&out, 0), 2 * 0x0303_0303);
    }
}
