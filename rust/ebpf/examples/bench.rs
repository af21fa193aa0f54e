//! Benchmark (not a test): instructions per second (and ns per
//! instruction) of this crate's two interpreters — the checked one over
//! raw instructions and the pre-decoded one — and rbpf 0.4's interpreter on
//! the same programs.
//!
//! Run: `cargo run --release -p ebpf --example bench` (or
//! scripts/bench-ebpf.sh). Optional argument: repetitions (default 5; the
//! best run counts). `BENCH_ONLY=<text>` runs only the programs whose name
//! contains it (handy under `valgrind --tool=callgrind`).

use ebpf::opcode::*;
use ebpf::{interpreter, memory, run_decoded, translate, verify, HelperError, Helpers, Memory, Op, VerifyConfig};
use std::time::{Duration, Instant};

fn raw(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    Insn { op, dst, src, off, imm }.encode()
}

fn assemble(insns: &[[u8; 8]]) -> Vec<u8> {
    insns.concat()
}

/// r0 accumulates a mix of r1 = n .. 1: 7 instructions per iteration.
fn arith_loop(n: i32) -> Vec<u8> {
    assemble(&[
        raw(CLS_ALU64 | ALU_MOV, 0, 0, 0, 0),
        raw(CLS_ALU64 | ALU_MOV, 1, 0, 0, n),
        // loop:
        raw(CLS_ALU64 | SRC_X | ALU_ADD, 0, 1, 0, 0),
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 2, 1, 0, 0),
        raw(CLS_ALU64 | ALU_LSH, 2, 0, 0, 3),
        raw(CLS_ALU64 | SRC_X | ALU_XOR, 0, 2, 0, 0),
        raw(CLS_ALU64 | ALU_MUL, 0, 0, 0, 0x9e37),
        raw(CLS_ALU64 | ALU_SUB, 1, 0, 0, 1),
        raw(CLS_JMP | JMP_JNE, 1, 0, -7, 0),
        raw(EXIT, 0, 0, 0, 0),
    ])
}

/// Independent increments of r2..r6 (no eBPF instruction depends on the
/// one before it): the interpreters' own cost per instruction, without the
/// latency of dependency chains through the register file. 7 per iteration.
fn independent(n: i32) -> Vec<u8> {
    assemble(&[
        raw(CLS_ALU64 | ALU_MOV, 1, 0, 0, n),
        // loop:
        raw(CLS_ALU64 | ALU_ADD, 2, 0, 0, 1),
        raw(CLS_ALU64 | ALU_ADD, 3, 0, 0, 1),
        raw(CLS_ALU64 | ALU_ADD, 4, 0, 0, 1),
        raw(CLS_ALU64 | ALU_ADD, 5, 0, 0, 1),
        raw(CLS_ALU64 | ALU_ADD, 6, 0, 0, 1),
        raw(CLS_ALU64 | ALU_SUB, 1, 0, 0, 1),
        raw(CLS_JMP | JMP_JNE, 1, 0, -7, 0),
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 0, 6, 0, 0),
        raw(EXIT, 0, 0, 0, 0),
    ])
}

/// Byte histogram (the entropy kernel's core) over ctx = { u64 len;
/// u32 hist[256]; u8 data[len] }: 9 instructions per byte.
fn byte_scan() -> Vec<u8> {
    assemble(&[
        raw(CLS_LDX | MODE_MEM | SIZE_DW, 2, 1, 0, 0), // r2 = len
        raw(CLS_ALU64 | ALU_MOV, 3, 0, 0, 0),          // r3 = i
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 4, 1, 0, 0),
        raw(CLS_ALU64 | ALU_ADD, 4, 0, 0, 8 + 1024), // r4 = data
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 5, 1, 0, 0),
        raw(CLS_ALU64 | ALU_ADD, 5, 0, 0, 8), // r5 = hist
        raw(CLS_JMP | JMP_JEQ, 2, 0, 9, 0),   // len == 0 -> exit
        // loop:
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 0, 4, 0, 0),
        raw(CLS_ALU64 | SRC_X | ALU_ADD, 0, 3, 0, 0),
        raw(CLS_LDX | MODE_MEM | SIZE_B, 0, 0, 0, 0),
        raw(CLS_ALU64 | ALU_LSH, 0, 0, 0, 2),
        raw(CLS_ALU64 | SRC_X | ALU_ADD, 0, 5, 0, 0),
        raw(CLS_LDX | MODE_MEM | SIZE_W, 6, 0, 0, 0),
        raw(CLS_ALU64 | ALU_ADD, 6, 0, 0, 1),
        raw(CLS_STX | MODE_MEM | SIZE_W, 0, 6, 0, 0),
        raw(CLS_ALU64 | ALU_ADD, 3, 0, 0, 1),
        raw(CLS_JMP | SRC_X | JMP_JLT, 3, 2, -10, 0),
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 0, 3, 0, 0),
        raw(EXIT, 0, 0, 0, 0),
    ])
}

/// A loop calling a small local function and a helper each iteration.
fn call_heavy(n: i32) -> Vec<u8> {
    assemble(&[
        raw(CLS_ALU64 | ALU_MOV, 6, 0, 0, n),
        raw(CLS_ALU64 | ALU_MOV, 7, 0, 0, 0),
        // loop:
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 1, 6, 0, 0),
        raw(CALL, 0, CALL_LOCAL, 0, 6), // -> f
        raw(CLS_ALU64 | SRC_X | ALU_ADD, 7, 0, 0, 0),
        raw(CLS_ALU64 | ALU_SUB, 6, 0, 0, 1),
        raw(CLS_JMP | JMP_JNE, 6, 0, -5, 0),
        raw(CLS_ALU64 | SRC_X | ALU_MOV, 0, 7, 0, 0),
        raw(EXIT, 0, 0, 0, 0),
        raw(EXIT, 0, 0, 0, 0), // padding
        // f(r1): r0 = helper(r1, 3) ^ 5
        raw(CLS_ALU64 | ALU_MOV, 2, 0, 0, 3),
        raw(CALL, 0, 0, 0, 1),
        raw(CLS_ALU64 | ALU_XOR, 0, 0, 0, 5),
        raw(EXIT, 0, 0, 0, 0),
    ])
}

fn helper_mul(a: u64, b: u64, _c: u64, _d: u64, _e: u64) -> u64 {
    a.wrapping_mul(b)
}

struct BenchHelpers;
impl<'a> Helpers<'a> for BenchHelpers {
    #[inline]
    fn call(&mut self, id: u32, a: [u64; 5], _mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        match id {
            1 => Ok(helper_mul(a[0], a[1], a[2], a[3], a[4])),
            _ => Err(ebpf::helpers::UNKNOWN_HELPER),
        }
    }
}

fn best<F: FnMut() -> u64>(reps: usize, mut f: F) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut r = 0;
    for _ in 0..reps {
        let t = Instant::now();
        r = f();
        best = best.min(t.elapsed());
    }
    (best, r)
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let data_len = 1 << 20;
    let mut ctx_init = (data_len as u64).to_le_bytes().to_vec();
    ctx_init.extend_from_slice(&[0u8; 1024]);
    let mut x = 0x1234_5678u32;
    for _ in 0..data_len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ctx_init.push(x as u8);
    }
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("arith loop (1M iterations)", arith_loop(1_000_000), vec![0u8; 8]),
        ("byte histogram (1 MiB)", byte_scan(), ctx_init.clone()),
        ("calls: local + helper (300k)", call_heavy(300_000), vec![0u8; 8]),
        ("independent adds (1M)", independent(1_000_000), vec![0u8; 8]),
    ];
    println!("best of {reps} runs (wall time)");
    println!(
        "{:<30} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7}",
        "program", "insns/run", "checked", "decoded", "rbpf", "checked", "decoded", "rbpf", "decoded"
    );
    println!(
        "{:<30} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7}",
        "", "", "Minsn/s", "Minsn/s", "Minsn/s", "ns/insn", "ns/insn", "ns/insn", "/rbpf"
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (name, code, ctx) in cases.iter().filter(|c| c.0.contains(only.as_str())) {
        let prog = verify(code, 0, &VerifyConfig::new(&[1])).expect("bench program verifies");
        let mut ops = vec![Op::INVALID; prog.len()];
        let dec = translate(&prog, &mut ops).expect("buffer fits");
        let mut stack = vec![0u8; memory::STACK_SIZE];
        let mut insns = 0;
        let (checked_t, checked_r) = best(reps, || {
            let mut c = ctx.clone();
            let mut mem = Memory::new(&mut stack);
            let r1 = mem.add_writable(&mut c).unwrap();
            let exit = interpreter::run(&prog, &mut mem, &mut BenchHelpers, r1, u64::MAX).expect("ours runs");
            insns = exit.insns;
            exit.r0
        });
        let (dec_t, dec_r) = best(reps, || {
            let mut c = ctx.clone();
            let mut mem = Memory::new(&mut stack);
            let r1 = mem.add_writable(&mut c).unwrap();
            let exit = run_decoded(&dec, &mut mem, &mut BenchHelpers, r1, u64::MAX).expect("decoded runs");
            assert_eq!(exit.insns, insns, "{name}: instruction counts differ");
            exit.r0
        });
        let mut vm = rbpf::EbpfVmRaw::new(Some(code)).expect("rbpf verifies");
        vm.register_helper(1, helper_mul).unwrap();
        let (rbpf_t, rbpf_r) = best(reps, || {
            let mut c = ctx.clone();
            vm.execute_program(&mut c).expect("rbpf runs")
        });
        assert_eq!(checked_r, rbpf_r, "{name}: results differ");
        assert_eq!(dec_r, rbpf_r, "{name}: results differ");
        let mips = |t: Duration| insns as f64 / t.as_secs_f64() / 1e6;
        let ns = |t: Duration| t.as_secs_f64() * 1e9 / insns as f64;
        println!(
            "{:<30} {:>10} {:>9.1} {:>9.1} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>6.2}x",
            name,
            insns,
            mips(checked_t),
            mips(dec_t),
            mips(rbpf_t),
            ns(checked_t),
            ns(dec_t),
            ns(rbpf_t),
            mips(dec_t) / mips(rbpf_t)
        );
    }
    // Verifier speed on a large program (embedders may re-verify per run).
    let body = arith_loop(1);
    let mut big = Vec::new();
    for _ in 0..100_000 {
        big.extend_from_slice(&body[..body.len() - 8]);
    }
    big.extend_from_slice(&raw(EXIT, 0, 0, 0, 0));
    let n = big.len() / 8;
    let (t, _) = best(reps, || verify(&big, 0, &VerifyConfig::new(&[])).map(|p| p.len() as u64).unwrap_or(0));
    println!("verify: {} insns in {:.2} ms ({:.2} ns/insn)", n, t.as_secs_f64() * 1e3, t.as_secs_f64() * 1e9 / n as f64);
    let prog = verify(&big, 0, &VerifyConfig::new(&[])).expect("big program verifies");
    let mut ops = vec![Op::INVALID; prog.len()];
    let (t, _) = best(reps, || translate(&prog, &mut ops).map(|d| d.ops().len() as u64).unwrap_or(0));
    println!("translate: {} insns in {:.2} ms ({:.2} ns/insn)", n, t.as_secs_f64() * 1e3, t.as_secs_f64() * 1e9 / n as f64);
}
