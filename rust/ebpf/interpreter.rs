//! The interpreter: runs a verified [`Program`] over a [`Memory`].
//!
//! Iterative (one loop, call frames in a fixed array), allocation-free and
//! panic-free: registers live in a 16-entry array indexed by 4-bit fields,
//! every memory access goes through the region table, every jump target is
//! re-checked by the instruction fetch, and a budget bounds the number of
//! instructions per run. Semantics follow RFC 9669, including division by
//! zero (quotient 0, remainder = dividend) and masked shift amounts.

use super::error::{RunError, RunErrorKind};
use super::helpers::Helpers;
use super::memory::{Memory, FRAME_SIZE, MAX_FRAMES};
use super::alu::*;
use super::opcode::*;
use super::verifier::Program;

/// Instructions between two [`Helpers::tick`] calls (a power of two).
pub const TICK_INSNS: u64 = 1 << 20;

/// Default instruction budget per run.
pub const DEFAULT_BUDGET: u64 = 100_000_000;

/// How a successful run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// r0 at the final EXIT.
    pub r0: u64,
    /// Instructions executed (at most the budget).
    pub insns: u64,
}

#[derive(Clone, Copy)]
struct Frame {
    ret: usize,
    saved: [u64; 4],
}

/// Runs `prog` with r1 = `r1` (usually the context's address from
/// [`Memory::add_writable`]) and r10 = the stack top, executing at most
/// `budget` instructions. The stack is zeroed first.
pub fn run<'a, H: Helpers<'a> + ?Sized>(
    prog: &Program<'_>,
    mem: &mut Memory<'a>,
    helpers: &mut H,
    r1: u64,
    budget: u64,
) -> Result<Exit, RunError> {
    mem.zero_stack();
    let insns = prog.insns();
    let stack_top = mem.stack_top();
    let max_depth = mem.frames().min(MAX_FRAMES);
    let mut frames = [Frame { ret: 0, saved: [0; 4] }; MAX_FRAMES];
    let mut depth = 0usize;
    let mut reg = [0u64; 16];
    reg[1] = r1;
    reg[10] = stack_top;
    let mut pc = prog.entry();
    let mut remaining = budget;

    macro_rules! fail {
        ($at:expr, $kind:expr) => {
            return Err(RunError { index: $at, kind: $kind })
        };
    }

    loop {
        let cur = pc;
        let raw = match insns.get(cur) {
            Some(raw) => raw,
            None => fail!(cur, RunErrorKind::InvalidInsn),
        };
        if remaining == 0 {
            fail!(cur, RunErrorKind::BudgetExhausted);
        }
        remaining -= 1;
        if remaining & (TICK_INSNS - 1) == 0 {
            if let Err(e) = helpers.tick() {
                fail!(cur, RunErrorKind::Helper(e));
            }
        }
        let w = u64::from_le_bytes(*raw);
        let op = w as u8;
        let dst = ((w >> 8) & 0xf) as usize;
        let src = ((w >> 12) & 0xf) as usize;
        let off = (w >> 16) as u16 as i16;
        let imm = (w >> 32) as u32 as i32;
        pc = cur.wrapping_add(1);
        // Jump target relative to the next instruction; a bad one fails the
        // next fetch.
        let target = |delta: i64| pc.wrapping_add(delta as isize as usize);

        // Operands: immediates are sign-extended to 64 bits (ALU64, JMP) or
        // used as 32 bits (ALU, JMP32).
        let k64 = imm as i64 as u64;
        let k32 = imm as u32;

        macro_rules! load {
            ($n:literal, $t:ty) => {{
                let addr = reg[src].wrapping_add(off as i64 as u64);
                match mem.load::<$n>(addr) {
                    Some(b) => <$t>::from_le_bytes(b),
                    None => fail!(cur, RunErrorKind::BadLoad { addr, len: $n }),
                }
            }};
        }
        macro_rules! store {
            ($n:literal, $v:expr) => {{
                let addr = reg[dst].wrapping_add(off as i64 as u64);
                match mem.place::<$n>(addr) {
                    Some(p) => *p = $v.to_le_bytes(),
                    None => fail!(cur, RunErrorKind::BadStore { addr, len: $n }),
                }
            }};
        }
        // `alu32!(|a, b| expr, rhs)`: dst = expr with a = dst, b = rhs.
        macro_rules! alu32 {
            (|$a:ident, $b:ident| $e:expr, $rhs:expr) => {{
                let $a: u32 = reg[dst] as u32;
                let $b: u32 = $rhs;
                reg[dst] = ($e) as u64;
            }};
        }
        macro_rules! alu64 {
            (|$a:ident, $b:ident| $e:expr, $rhs:expr) => {{
                let $a: u64 = reg[dst];
                let $b: u64 = $rhs;
                reg[dst] = $e;
            }};
        }
        macro_rules! jmp_if {
            ($cond:expr) => {{
                if $cond {
                    pc = target(off as i64);
                }
            }};
        }

        match op {
            // ---- ALU (32-bit; results zero-extended) ----
            0x04 => alu32!(|a, b| a.wrapping_add(b), k32),
            0x0c => alu32!(|a, b| a.wrapping_add(b), reg[src] as u32),
            0x14 => alu32!(|a, b| a.wrapping_sub(b), k32),
            0x1c => alu32!(|a, b| a.wrapping_sub(b), reg[src] as u32),
            0x24 => alu32!(|a, b| a.wrapping_mul(b), k32),
            0x2c => alu32!(|a, b| a.wrapping_mul(b), reg[src] as u32),
            0x34 | 0x3c => {
                let b = if op & SRC_X != 0 { reg[src] as u32 } else { k32 };
                reg[dst] = if off == 0 { udiv32(reg[dst] as u32, b) } else { sdiv32(reg[dst] as u32, b) } as u64;
            }
            0x44 => alu32!(|a, b| a | b, k32),
            0x4c => alu32!(|a, b| a | b, reg[src] as u32),
            0x54 => alu32!(|a, b| a & b, k32),
            0x5c => alu32!(|a, b| a & b, reg[src] as u32),
            0x64 => alu32!(|a, b| a.wrapping_shl(b), k32),
            0x6c => alu32!(|a, b| a.wrapping_shl(b), reg[src] as u32),
            0x74 => alu32!(|a, b| a.wrapping_shr(b), k32),
            0x7c => alu32!(|a, b| a.wrapping_shr(b), reg[src] as u32),
            0x84 => reg[dst] = (reg[dst] as u32).wrapping_neg() as u64,
            0x94 | 0x9c => {
                let b = if op & SRC_X != 0 { reg[src] as u32 } else { k32 };
                reg[dst] = if off == 0 { umod32(reg[dst] as u32, b) } else { smod32(reg[dst] as u32, b) } as u64;
            }
            0xa4 => alu32!(|a, b| a ^ b, k32),
            0xac => alu32!(|a, b| a ^ b, reg[src] as u32),
            0xb4 => reg[dst] = k32 as u64,
            0xbc => {
                let s = reg[src];
                reg[dst] = match off {
                    8 => s as i8 as i32 as u32 as u64,
                    16 => s as i16 as i32 as u32 as u64,
                    _ => s as u32 as u64,
                };
            }
            0xc4 => alu32!(|a, b| ((a as i32).wrapping_shr(b)) as u32, k32),
            0xcc => alu32!(|a, b| ((a as i32).wrapping_shr(b)) as u32, reg[src] as u32),
            0xd4 => {
                let v = reg[dst];
                reg[dst] = match imm {
                    16 => (v as u16).to_le() as u64,
                    32 => (v as u32).to_le() as u64,
                    _ => v.to_le(),
                };
            }
            0xdc => {
                let v = reg[dst];
                reg[dst] = match imm {
                    16 => (v as u16).to_be() as u64,
                    32 => (v as u32).to_be() as u64,
                    _ => v.to_be(),
                };
            }

            // ---- ALU64 ----
            0x07 => alu64!(|a, b| a.wrapping_add(b), k64),
            0x0f => alu64!(|a, b| a.wrapping_add(b), reg[src]),
            0x17 => alu64!(|a, b| a.wrapping_sub(b), k64),
            0x1f => alu64!(|a, b| a.wrapping_sub(b), reg[src]),
            0x27 => alu64!(|a, b| a.wrapping_mul(b), k64),
            0x2f => alu64!(|a, b| a.wrapping_mul(b), reg[src]),
            0x37 | 0x3f => {
                let b = if op & SRC_X != 0 { reg[src] } else { k64 };
                reg[dst] = if off == 0 { udiv64(reg[dst], b) } else { sdiv64(reg[dst], b) };
            }
            0x47 => alu64!(|a, b| a | b, k64),
            0x4f => alu64!(|a, b| a | b, reg[src]),
            0x57 => alu64!(|a, b| a & b, k64),
            0x5f => alu64!(|a, b| a & b, reg[src]),
            0x67 => alu64!(|a, b| a.wrapping_shl(b as u32), k64),
            0x6f => alu64!(|a, b| a.wrapping_shl(b as u32), reg[src]),
            0x77 => alu64!(|a, b| a.wrapping_shr(b as u32), k64),
            0x7f => alu64!(|a, b| a.wrapping_shr(b as u32), reg[src]),
            0x87 => reg[dst] = reg[dst].wrapping_neg(),
            0x97 | 0x9f => {
                let b = if op & SRC_X != 0 { reg[src] } else { k64 };
                reg[dst] = if off == 0 { umod64(reg[dst], b) } else { smod64(reg[dst], b) };
            }
            0xa7 => alu64!(|a, b| a ^ b, k64),
            0xaf => alu64!(|a, b| a ^ b, reg[src]),
            0xb7 => reg[dst] = k64,
            0xbf => {
                let s = reg[src];
                reg[dst] = match off {
                    8 => s as i8 as i64 as u64,
                    16 => s as i16 as i64 as u64,
                    32 => s as i32 as i64 as u64,
                    _ => s,
                };
            }
            0xc7 => alu64!(|a, b| ((a as i64).wrapping_shr(b as u32)) as u64, k64),
            0xcf => alu64!(|a, b| ((a as i64).wrapping_shr(b as u32)) as u64, reg[src]),
            0xd7 => {
                let v = reg[dst];
                reg[dst] = match imm {
                    16 => (v as u16).swap_bytes() as u64,
                    32 => (v as u32).swap_bytes() as u64,
                    _ => v.swap_bytes(),
                };
            }

            // ---- LDDW ----
            LDDW => {
                let hi = match insns.get(pc) {
                    Some(next) => u32::from_le_bytes([next[4], next[5], next[6], next[7]]),
                    None => fail!(cur, RunErrorKind::InvalidInsn),
                };
                reg[dst] = (k32 as u64) | ((hi as u64) << 32);
                pc = pc.wrapping_add(1);
            }

            // ---- LDX ----
            0x61 => reg[dst] = load!(4, u32) as u64,
            0x69 => reg[dst] = load!(2, u16) as u64,
            0x71 => reg[dst] = load!(1, u8) as u64,
            0x79 => reg[dst] = load!(8, u64),
            0x81 => reg[dst] = load!(4, i32) as i64 as u64,
            0x89 => reg[dst] = load!(2, i16) as i64 as u64,
            0x91 => reg[dst] = load!(1, i8) as i64 as u64,

            // ---- ST / STX ----
            0x62 => store!(4, k32),
            0x6a => store!(2, (imm as u16)),
            0x72 => store!(1, (imm as u8)),
            0x7a => store!(8, k64),
            0x63 => store!(4, (reg[src] as u32)),
            0x6b => store!(2, (reg[src] as u16)),
            0x73 => store!(1, (reg[src] as u8)),
            0x7b => store!(8, reg[src]),

            // ---- atomics ----
            0xc3 => {
                let addr = reg[dst].wrapping_add(off as i64 as u64);
                let p = match mem.place::<4>(addr) {
                    Some(p) => p,
                    None => fail!(cur, RunErrorKind::BadStore { addr, len: 4 }),
                };
                let old = u32::from_le_bytes(*p);
                let s = reg[src] as u32;
                let new = match atomic_new(imm, old as u64, s as u64, reg[0] as u32 as u64) {
                    Some(v) => v as u32,
                    None => fail!(cur, RunErrorKind::InvalidInsn),
                };
                *p = new.to_le_bytes();
                atomic_fetch(&mut reg, imm, src, old as u64);
            }
            0xdb => {
                let addr = reg[dst].wrapping_add(off as i64 as u64);
                let p = match mem.place::<8>(addr) {
                    Some(p) => p,
                    None => fail!(cur, RunErrorKind::BadStore { addr, len: 8 }),
                };
                let old = u64::from_le_bytes(*p);
                let new = match atomic_new(imm, old, reg[src], reg[0]) {
                    Some(v) => v,
                    None => fail!(cur, RunErrorKind::InvalidInsn),
                };
                *p = new.to_le_bytes();
                atomic_fetch(&mut reg, imm, src, old);
            }

            // ---- JMP (64-bit compares) ----
            JA => pc = target(off as i64),
            0x15 => jmp_if!(reg[dst] == k64),
            0x1d => jmp_if!(reg[dst] == reg[src]),
            0x25 => jmp_if!(reg[dst] > k64),
            0x2d => jmp_if!(reg[dst] > reg[src]),
            0x35 => jmp_if!(reg[dst] >= k64),
            0x3d => jmp_if!(reg[dst] >= reg[src]),
            0x45 => jmp_if!(reg[dst] & k64 != 0),
            0x4d => jmp_if!(reg[dst] & reg[src] != 0),
            0x55 => jmp_if!(reg[dst] != k64),
            0x5d => jmp_if!(reg[dst] != reg[src]),
            0x65 => jmp_if!((reg[dst] as i64) > imm as i64),
            0x6d => jmp_if!((reg[dst] as i64) > reg[src] as i64),
            0x75 => jmp_if!((reg[dst] as i64) >= imm as i64),
            0x7d => jmp_if!((reg[dst] as i64) >= reg[src] as i64),
            0xa5 => jmp_if!(reg[dst] < k64),
            0xad => jmp_if!(reg[dst] < reg[src]),
            0xb5 => jmp_if!(reg[dst] <= k64),
            0xbd => jmp_if!(reg[dst] <= reg[src]),
            0xc5 => jmp_if!((reg[dst] as i64) < imm as i64),
            0xcd => jmp_if!((reg[dst] as i64) < reg[src] as i64),
            0xd5 => jmp_if!((reg[dst] as i64) <= imm as i64),
            0xdd => jmp_if!((reg[dst] as i64) <= reg[src] as i64),

            // ---- JMP32 (32-bit compares) ----
            JA32 => pc = target(imm as i64),
            0x16 => jmp_if!(reg[dst] as u32 == k32),
            0x1e => jmp_if!(reg[dst] as u32 == reg[src] as u32),
            0x26 => jmp_if!(reg[dst] as u32 > k32),
            0x2e => jmp_if!(reg[dst] as u32 > reg[src] as u32),
            0x36 => jmp_if!(reg[dst] as u32 >= k32),
            0x3e => jmp_if!(reg[dst] as u32 >= reg[src] as u32),
            0x46 => jmp_if!(reg[dst] as u32 & k32 != 0),
            0x4e => jmp_if!(reg[dst] as u32 & reg[src] as u32 != 0),
            0x56 => jmp_if!(reg[dst] as u32 != k32),
            0x5e => jmp_if!(reg[dst] as u32 != reg[src] as u32),
            0x66 => jmp_if!((reg[dst] as i32) > imm),
            0x6e => jmp_if!((reg[dst] as i32) > reg[src] as i32),
            0x76 => jmp_if!((reg[dst] as i32) >= imm),
            0x7e => jmp_if!((reg[dst] as i32) >= reg[src] as i32),
            0xa6 => jmp_if!((reg[dst] as u32) < k32),
            0xae => jmp_if!((reg[dst] as u32) < reg[src] as u32),
            0xb6 => jmp_if!(reg[dst] as u32 <= k32),
            0xbe => jmp_if!(reg[dst] as u32 <= reg[src] as u32),
            0xc6 => jmp_if!((reg[dst] as i32) < imm),
            0xce => jmp_if!((reg[dst] as i32) < reg[src] as i32),
            0xd6 => jmp_if!((reg[dst] as i32) <= imm),
            0xde => jmp_if!((reg[dst] as i32) <= reg[src] as i32),

            // ---- calls and exit ----
            CALL => {
                if src == CALL_LOCAL as usize {
                    if depth + 1 >= max_depth {
                        fail!(cur, RunErrorKind::CallDepthExceeded);
                    }
                    match frames.get_mut(depth) {
                        Some(f) => *f = Frame { ret: pc, saved: [reg[6], reg[7], reg[8], reg[9]] },
                        None => fail!(cur, RunErrorKind::CallDepthExceeded),
                    }
                    depth += 1;
                    reg[10] = stack_top.wrapping_sub((depth * FRAME_SIZE) as u64);
                    pc = target(imm as i64);
                } else if src == CALL_HELPER as usize {
                    let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
                    match helpers.call(imm as u32, args, mem) {
                        Ok(v) => reg[0] = v,
                        Err(e) => fail!(cur, RunErrorKind::Helper(e)),
                    }
                } else {
                    fail!(cur, RunErrorKind::InvalidInsn);
                }
            }
            EXIT => {
                if depth == 0 {
                    return Ok(Exit { r0: reg[0], insns: budget - remaining });
                }
                depth -= 1;
                let f = match frames.get(depth) {
                    Some(f) => *f,
                    None => fail!(cur, RunErrorKind::InvalidInsn),
                };
                reg[6] = f.saved[0];
                reg[7] = f.saved[1];
                reg[8] = f.saved[2];
                reg[9] = f.saved[3];
                reg[10] = stack_top.wrapping_sub((depth * FRAME_SIZE) as u64);
                pc = f.ret;
            }
            _ => fail!(cur, RunErrorKind::InvalidInsn),
        }
    }
}
