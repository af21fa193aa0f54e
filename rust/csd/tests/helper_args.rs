//! Every helper with random, mostly-wrong arguments: pointers near the
//! stack, the scratch buffer, the context and the input, lengths around
//! region sizes, huge values. Nothing may panic; every failure must be a
//! clean errno (EFAULT for bad memory) or a negative return the kernel
//! sees; the output never exceeds its capacity.

mod common;
use common::*;
use csd::abi::*;
use csd::ebpf::opcode::*;
use csd::registry::verify_kernel;
use csd::runner::{run_program, Request, RunMemory};

fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    Insn { op, dst, src, off, imm }.encode()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
}

/// `dst = value` for a 64-bit value.
fn lddw(code: &mut Vec<u8>, dst: u8, v: u64) {
    code.extend_from_slice(&insn(LDDW, dst, 0, 0, v as u32 as i32));
    code.extend_from_slice(&insn(0, 0, 0, 0, (v >> 32) as u32 as i32));
}

/// A base register value: r6 = scratch, r7 = ctx (r1 at entry), r8 = input,
/// r10 = stack top; plus a random offset.
fn pointer_arg(code: &mut Vec<u8>, rng: &mut Rng, dst: u8) {
    let base = rng.pick(&[6u8, 7, 8, 10]);
    let off = rng.pick(&[0i64, -8, -512, -4096, -4097, 8, 100, 4096, 65536 - 8, 65536, 65535, 111, -1, 1 << 20]);
    code.extend_from_slice(&insn(CLS_ALU64 | SRC_X | ALU_MOV, dst, base, 0, 0));
    lddw(code, 9, off as u64);
    code.extend_from_slice(&insn(CLS_ALU64 | SRC_X | ALU_ADD, dst, 9, 0, 0));
}

fn value_arg(code: &mut Vec<u8>, rng: &mut Rng, dst: u8) {
    let v = rng.pick(&[0u64, 1, 7, 8, 16, 100, 4095, 4096, 4097, 65536, 65537, 1 << 40, u64::MAX, u64::MAX - 7, 1000, 1003, 1006]);
    lddw(code, dst, v);
}

fn random_program(rng: &mut Rng) -> Vec<u8> {
    let mut code = Vec::new();
    // Prologue: r7 = ctx, r6 = csd_scratch(), r8 = csd_input().
    code.extend_from_slice(&insn(CLS_ALU64 | SRC_X | ALU_MOV, 7, 1, 0, 0));
    code.extend_from_slice(&insn(CALL, 0, 0, 0, HELPER_SCRATCH as i32));
    code.extend_from_slice(&insn(CLS_ALU64 | SRC_X | ALU_MOV, 6, 0, 0, 0));
    code.extend_from_slice(&insn(CALL, 0, 0, 0, HELPER_INPUT as i32));
    code.extend_from_slice(&insn(CLS_ALU64 | SRC_X | ALU_MOV, 8, 0, 0, 0));
    for _ in 0..1 + rng.next() % 4 {
        let id = rng.pick(HELPER_IDS);
        // Any argument may be a pointer or a plain value.
        for r in 1..=3u8 {
            if rng.next() % 2 == 0 {
                pointer_arg(&mut code, rng, r);
            } else {
                value_arg(&mut code, rng, r);
            }
        }
        code.extend_from_slice(&insn(CALL, 0, 0, 0, id as i32));
    }
    code.extend_from_slice(&insn(CLS_ALU64 | ALU_MOV, 0, 0, 0, 0));
    code.extend_from_slice(&insn(EXIT, 0, 0, 0, 0));
    code
}

#[test]
fn random_helper_arguments_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut mem = RunMemory::new().unwrap();
    let (mut ok, mut faults) = (0, 0);
    for i in 0..4000 {
        let code = random_program(&mut rng);
        let prog = verify_kernel(&code, 0).unwrap();
        let mut src = MemSource::new(bytes(i, (rng.next() % 20_000) as usize));
        let input = bytes(i + 1, (rng.next() % 300) as usize);
        let cap = rng.pick(&[0usize, 1, 8, 100, 5000]);
        let req = if rng.next() % 3 == 0 { Request::write(0, &input) } else { Request::read(rng.next() % 100, cap as u64) };
        let mut out = vec![0u8; cap];
        match run_program(&prog, &mut src, &MEM_INFO, &req, &mut mem, &mut out, 1_000_000) {
            Ok(r) => {
                assert!(r.emitted <= cap);
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.errno.0, 14, "only bad memory can fail these programs: {e}");
                faults += 1;
            }
        }
    }
    // Both outcomes are exercised.
    assert!(ok > 200 && faults > 200, "ok {ok}, faults {faults}");
}
