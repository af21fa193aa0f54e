//! Fuzz target for the access proofs of the pre-decoded interpreter: the
//! input bytes choose, instruction by instruction, a program that moves
//! pointers around (r10, r1, copies, constant adds, ALU32 truncations)
//! across branches, loops and local calls and loads and stores through
//! them. Raw bytes (the `verify_run` target) rarely verify and rarely build
//! such programs. Both interpreters run it over the same buffers; any
//! difference in result, error or memory is a wrong proof (or budget).
#![no_main]

use ebpf::opcode::*;
use ebpf::{interpreter, memory, run_decoded, translate, verify, HelperError, Helpers, Memory, Op, VerifyConfig};
use libfuzzer_sys::fuzz_target;

struct Sum;
impl<'a> Helpers<'a> for Sum {
    fn call(&mut self, _id: u32, a: [u64; 5], _m: &mut Memory<'a>) -> Result<u64, HelperError> {
        Ok(a.iter().fold(0u64, |s, x| s.wrapping_add(*x)))
    }
}

fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    Insn { op, dst, src, off, imm }.encode()
}

/// Builds the program: a prologue that points r2, r3, r6-r9 into the frame
/// and the context, then one instruction per 3 input bytes, the last
/// quarter of them a callee.
fn build(data: &[u8]) -> Vec<[u8; 8]> {
    let mut p = vec![
        insn(CLS_ALU64 | SRC_X | ALU_MOV, 6, 10, 0, 0),
        insn(CLS_ALU64 | SRC_X | ALU_MOV, 7, 1, 0, 0),
        insn(CLS_ALU64 | SRC_X | ALU_MOV, 8, 10, 0, 0),
        insn(CLS_ALU64 | ALU_ADD, 8, 0, 0, -32),
        insn(CLS_ALU64 | SRC_X | ALU_MOV, 9, 1, 0, 0),
        insn(CLS_ALU64 | ALU_ADD, 9, 0, 0, 16),
        insn(CLS_ALU64 | SRC_X | ALU_MOV, 2, 1, 0, 0),
        insn(CLS_ALU64 | ALU_ADD, 2, 0, 0, 32),
        insn(CLS_ALU64 | SRC_X | ALU_MOV, 3, 10, 0, 0),
        insn(CLS_ALU64 | ALU_SUB, 3, 0, 0, 64),
    ];
    let start = p.len();
    let n = (data.len() / 3).clamp(4, 200);
    let main_len = start + n - n / 4;
    let total = start + n + 1;
    let sizes = [SIZE_B, SIZE_H, SIZE_W, SIZE_DW];
    for i in start..total {
        if i == main_len - 1 || i == total - 1 {
            p.push(insn(EXIT, 0, 0, 0, 0));
            continue;
        }
        let k = (i - start) * 3;
        let (a, b, c) = (
            data.get(k).copied().unwrap_or(0),
            data.get(k + 1).copied().unwrap_or(0),
            data.get(k + 2).copied().unwrap_or(0),
        );
        let reg = b % 10;
        let base = [10, 6, 8, 3, 7, 9, 2, 1, 4][(c % 9) as usize];
        let off = if matches!(base, 10 | 6 | 8 | 3) { -8 - (c / 9 % 40) as i16 } else { (c / 9 % 40) as i16 };
        let size = sizes[(b / 10 % 4) as usize];
        let in_main = i < main_len - 1;
        let (lo, end) = if in_main { (start, main_len - 1) } else { (main_len, total - 1) };
        p.push(match a % 18 {
            0 => insn(CLS_ALU64 | SRC_X | ALU_MOV, reg, 10, 0, 0),
            1 => insn(CLS_ALU64 | SRC_X | ALU_MOV, reg, 1, 0, 0),
            2 => insn(CLS_ALU64 | SRC_X | ALU_MOV, reg, c % 11, 0, 0),
            3 => insn(CLS_ALU64 | ALU_ADD, reg, 0, 0, (c as i8 as i32) & !7),
            4 => insn(CLS_ALU64 | ALU_SUB, reg, 0, 0, (c as i8 as i32) & !7),
            5 => insn(CLS_ALU | ALU_ADD, reg, 0, 0, c as i8 as i32),
            6 => insn(CLS_ALU64 | ALU_MOV, reg, 0, 0, c as i32),
            7 | 8 => insn(CLS_LDX | MODE_MEM | size, [0, 4, 5, reg][(a / 18 % 4) as usize], base, off, 0),
            9 | 10 => insn(CLS_STX | MODE_MEM | size, base, reg, off, 0),
            11 => insn(CLS_ST | MODE_MEM | size, base, 0, off, c as i32),
            12 | 13 => {
                let t = lo + (c as usize) % (end - lo + 1);
                let rel = t as i64 - i as i64 - 1;
                insn(CLS_JMP | if a & 32 != 0 { JMP_JEQ } else { JMP_JGT }, reg, 0, rel as i16, (a / 64) as i32)
            }
            14 if in_main => insn(CALL, 0, CALL_LOCAL, 0, (main_len - i - 1) as i32),
            14 => insn(CALL, 0, CALL_HELPER, 0, 1),
            15 => insn(CLS_STX | MODE_ATOMIC | SIZE_DW, base, [0, 4, 5][(c % 3) as usize], off & !7, ATOMIC_ADD | ATOMIC_FETCH),
            16 => insn(CLS_ALU64 | SRC_X | ALU_ADD, reg, c % 10, 0, 0),
            _ => insn(CLS_ALU64 | ALU_LSH, reg, 0, 0, (c % 8) as i32),
        });
    }
    p
}

fuzz_target!(|data: &[u8]| {
    let code: Vec<u8> = build(data).concat();
    let prog = match verify(&code, 0, &VerifyConfig { max_insns: 4096, helper_ids: &[1] }) {
        Ok(p) => p,
        Err(_) => return,
    };
    let mut ops = vec![Op::INVALID; prog.len()];
    let decoded = translate(&prog, &mut ops).expect("buffer has prog.len() ops");
    let virtual_addresses = data.first().is_some_and(|b| b & 1 != 0);
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut ctx = vec![0u8; 128];
    let mut outcomes = Vec::new();
    for decoded_run in [false, true] {
        for (i, b) in ctx.iter_mut().enumerate() {
            *b = i as u8;
        }
        let r = {
            let mut mem = if virtual_addresses { Memory::with_virtual_addresses(&mut stack) } else { Memory::new(&mut stack) };
            let r1 = mem.add_writable(&mut ctx).unwrap_or(0);
            if decoded_run {
                run_decoded(&decoded, &mut mem, &mut Sum, r1, 2000)
            } else {
                interpreter::run(&prog, &mut mem, &mut Sum, r1, 2000)
            }
        };
        outcomes.push((r, ctx.clone()));
    }
    assert_eq!(outcomes[0], outcomes[1], "checked vs pre-decoded interpreter");
});
