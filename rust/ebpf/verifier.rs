//! Load-time verifier: structural checks that make interpretation safe.
//!
//! One linear pass, no allocation. It checks every opcode, register and
//! reserved field, that jumps and local calls land on an instruction
//! boundary inside the program (never the second slot of an LDDW), that no
//! instruction writes r10, that only registered helpers are called and that
//! control cannot fall off the end.
//!
//! Why no control-flow graph is needed for "falls off the end": every
//! instruction but the last continues with a slot that exists, and jump
//! targets are checked to be inside the program; so control can only leave
//! the end through the last instruction, which must therefore be EXIT or an
//! unconditional jump. The interpreter still checks the program counter (a
//! verified program never trips it).
//!
//! Why a jump into an LDDW is detectable without a bitmap: opcode 0 is not a
//! valid instruction, the second slot of an LDDW must have opcode 0, and a
//! slot with opcode 0 anywhere else is rejected; so in an accepted program
//! "opcode byte is 0" means exactly "second slot of an LDDW".
//!
//! Memory safety does not depend on this verifier: every load and store is
//! checked at run time (see `memory.rs`), and the interpreter has an
//! instruction budget. What the verifier buys is early, clear errors and a
//! cheaper decode loop.

use super::error::{VerifyError, VerifyReason};
use super::opcode::*;

/// The default limit on program length, in instruction slots (the Linux
/// limit for privileged programs).
pub const DEFAULT_MAX_INSNS: usize = 1_000_000;

/// What the embedder allows.
#[derive(Clone, Copy, Debug)]
pub struct VerifyConfig<'h> {
    /// Upper bound on the number of instruction slots.
    pub max_insns: usize,
    /// Helper ids that CALL (src 0) may name.
    pub helper_ids: &'h [u32],
}

impl<'h> VerifyConfig<'h> {
    /// A config with the default size limit and the given helper ids.
    pub const fn new(helper_ids: &'h [u32]) -> Self {
        VerifyConfig { max_insns: DEFAULT_MAX_INSNS, helper_ids }
    }
}

/// A verified program: instruction slots borrowed from the caller plus the
/// entry slot. Only [`verify`] creates it. An embedder that stores the
/// bytes (e.g. the kernel's program registry) can simply verify again before
/// each run: it is linear and allocation-free (a few ns per instruction).
#[derive(Clone, Copy, Debug)]
pub struct Program<'p> {
    insns: &'p [[u8; INSN_SIZE]],
    entry: usize,
}

impl<'p> Program<'p> {
    /// The instruction slots.
    pub fn insns(&self) -> &'p [[u8; INSN_SIZE]] {
        self.insns
    }

    /// Index of the first instruction executed.
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// Number of instruction slots.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Always false: an empty program does not verify.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }
}

fn err(index: usize, reason: VerifyReason) -> VerifyError {
    VerifyError { index, reason }
}

/// Verifies `prog` (raw little-endian instruction bytes) starting at slot
/// `entry` and returns the program the interpreter accepts.
pub fn verify<'p>(prog: &'p [u8], entry: usize, cfg: &VerifyConfig<'_>) -> Result<Program<'p>, VerifyError> {
    let insns = slots(prog).ok_or(err(prog.len() / INSN_SIZE, VerifyReason::TruncatedInsn))?;
    if insns.is_empty() {
        return Err(err(0, VerifyReason::Empty));
    }
    if insns.len() > cfg.max_insns {
        return Err(err(cfg.max_insns, VerifyReason::TooLong));
    }
    let n = insns.len();
    let mut i = 0usize;
    let mut last_op = 0u8;
    let mut last_index = 0usize;
    while let Some(raw) = insns.get(i) {
        let insn = Insn::decode(raw);
        check_insn(insns, i, &insn, cfg)?;
        last_op = insn.op;
        last_index = i;
        // LDDW consumes its second slot (checked by `check_insn`).
        i += if insn.op == LDDW { 2 } else { 1 };
    }
    if !(last_op == EXIT || last_op == JA || last_op == JA32) {
        return Err(err(last_index, VerifyReason::FallsOffEnd));
    }
    match insns.get(entry) {
        Some(raw) if raw[0] != 0 => {}
        _ => return Err(err(entry.min(n), VerifyReason::BadEntry)),
    }
    Ok(Program { insns, entry })
}

/// Checks a jump or call target `i + 1 + delta`.
fn check_target(
    insns: &[[u8; INSN_SIZE]],
    i: usize,
    delta: i64,
    out_of_range: VerifyReason,
    into_lddw: VerifyReason,
) -> Result<(), VerifyError> {
    // `i` < 1M-ish and |delta| < 2^31: no overflow in i64.
    let target = (i as i64) + 1 + delta;
    if target < 0 {
        return Err(err(i, out_of_range));
    }
    match insns.get(target as usize) {
        None => Err(err(i, out_of_range)),
        Some(raw) if raw[0] == 0 => Err(err(i, into_lddw)),
        Some(_) => Ok(()),
    }
}

/// A register the instruction writes: r0..=r9.
fn check_dst_written(i: usize, reg: u8) -> Result<(), VerifyError> {
    if reg > REG_FP {
        Err(err(i, VerifyReason::BadRegister))
    } else if reg == REG_FP {
        Err(err(i, VerifyReason::WriteToFramePointer))
    } else {
        Ok(())
    }
}

/// A register the instruction only reads: r0..=r10.
fn check_reg_read(i: usize, reg: u8) -> Result<(), VerifyError> {
    if reg > REG_FP {
        Err(err(i, VerifyReason::BadRegister))
    } else {
        Ok(())
    }
}

fn require(i: usize, ok: bool, reason: VerifyReason) -> Result<(), VerifyError> {
    if ok {
        Ok(())
    } else {
        Err(err(i, reason))
    }
}

fn check_insn(insns: &[[u8; INSN_SIZE]], i: usize, insn: &Insn, cfg: &VerifyConfig<'_>) -> Result<(), VerifyError> {
    let op = insn.op;
    match op & CLASS_MASK {
        CLS_LD => check_ld(insns, i, insn),
        CLS_LDX => {
            let mode = op & 0xe0;
            let size = op & 0x18;
            let ok = mode == MODE_MEM || (mode == MODE_MEMSX && size != SIZE_DW);
            require(i, ok, VerifyReason::UnknownOpcode)?;
            check_reg_read(i, insn.src)?;
            check_dst_written(i, insn.dst)?;
            require(i, insn.imm == 0, VerifyReason::ReservedField)
        }
        CLS_ST => {
            require(i, op & 0xe0 == MODE_MEM, VerifyReason::UnknownOpcode)?;
            check_reg_read(i, insn.dst)?;
            require(i, insn.src == 0, VerifyReason::ReservedField)
        }
        CLS_STX => check_stx(i, insn),
        CLS_ALU | CLS_ALU64 => check_alu(i, insn),
        _ => check_jmp(insns, i, insn, cfg),
    }
}

fn check_ld(insns: &[[u8; INSN_SIZE]], i: usize, insn: &Insn) -> Result<(), VerifyError> {
    let mode = insn.op & 0xe0;
    if mode == MODE_ABS || mode == MODE_IND {
        return Err(err(i, VerifyReason::LegacyPacketAccess));
    }
    require(i, insn.op == LDDW, VerifyReason::UnknownOpcode)?;
    check_dst_written(i, insn.dst)?;
    require(i, insn.src == 0, VerifyReason::UnsupportedLddwSource)?;
    require(i, insn.off == 0, VerifyReason::ReservedField)?;
    let second = insns.get(i + 1).ok_or(err(i, VerifyReason::IncompleteLddw))?;
    let second = Insn::decode(second);
    let ok = second.op == 0 && second.dst == 0 && second.src == 0 && second.off == 0;
    require(i, ok, VerifyReason::IncompleteLddw)
}

fn check_stx(i: usize, insn: &Insn) -> Result<(), VerifyError> {
    let mode = insn.op & 0xe0;
    let size = insn.op & 0x18;
    check_reg_read(i, insn.dst)?;
    check_reg_read(i, insn.src)?;
    if mode == MODE_MEM {
        return require(i, insn.imm == 0, VerifyReason::ReservedField);
    }
    require(i, mode == MODE_ATOMIC && (size == SIZE_W || size == SIZE_DW), VerifyReason::UnknownOpcode)?;
    let base = insn.imm & !ATOMIC_FETCH;
    let known = matches!(base, ATOMIC_ADD | ATOMIC_OR | ATOMIC_AND | ATOMIC_XOR)
        || insn.imm == ATOMIC_XCHG
        || insn.imm == ATOMIC_CMPXCHG;
    require(i, known, VerifyReason::UnsupportedAtomic)?;
    // FETCH variants (and XCHG) write the old value into src.
    if insn.imm & ATOMIC_FETCH != 0 && insn.imm != ATOMIC_CMPXCHG {
        check_dst_written(i, insn.src)?;
    }
    Ok(())
}

fn check_alu(i: usize, insn: &Insn) -> Result<(), VerifyError> {
    let is64 = insn.op & CLASS_MASK == CLS_ALU64;
    let code = insn.op & 0xf0;
    let x = insn.op & SRC_X != 0;
    check_dst_written(i, insn.dst)?;
    match code {
        ALU_NEG => {
            require(i, !x, VerifyReason::UnknownOpcode)?;
            return require(i, insn.src == 0 && insn.off == 0 && insn.imm == 0, VerifyReason::ReservedField);
        }
        ALU_END => {
            // ALU64 END is BSWAP and only exists with the "to LE" bit clear.
            require(i, !(is64 && x), VerifyReason::UnknownOpcode)?;
            require(i, insn.src == 0 && insn.off == 0, VerifyReason::ReservedField)?;
            return require(i, matches!(insn.imm, 16 | 32 | 64), VerifyReason::BadSwapWidth);
        }
        ALU_DIV | ALU_MOD => require(i, insn.off == 0 || insn.off == 1, VerifyReason::BadDivModOffset)?,
        ALU_MOV if x => {
            let ok = match insn.off {
                0 | 8 | 16 => true,
                32 => is64,
                _ => false,
            };
            require(i, ok, VerifyReason::BadMovsxWidth)?;
        }
        0xe0 | 0xf0 => return Err(err(i, VerifyReason::UnknownOpcode)),
        _ => require(i, insn.off == 0, VerifyReason::ReservedField)?,
    }
    if x {
        check_reg_read(i, insn.src)?;
        require(i, insn.imm == 0, VerifyReason::ReservedField)
    } else {
        require(i, insn.src == 0, VerifyReason::ReservedField)
    }
}

fn check_jmp(insns: &[[u8; INSN_SIZE]], i: usize, insn: &Insn, cfg: &VerifyConfig<'_>) -> Result<(), VerifyError> {
    let is32 = insn.op & CLASS_MASK == CLS_JMP32;
    let code = insn.op & 0xf0;
    let x = insn.op & SRC_X != 0;
    match code {
        JMP_JA => {
            require(i, !x, VerifyReason::UnknownOpcode)?;
            require(i, insn.dst == 0 && insn.src == 0, VerifyReason::ReservedField)?;
            if is32 {
                require(i, insn.off == 0, VerifyReason::ReservedField)?;
                check_target(insns, i, insn.imm as i64, VerifyReason::JumpOutOfRange, VerifyReason::JumpIntoLddw)
            } else {
                require(i, insn.imm == 0, VerifyReason::ReservedField)?;
                check_target(insns, i, insn.off as i64, VerifyReason::JumpOutOfRange, VerifyReason::JumpIntoLddw)
            }
        }
        JMP_CALL => {
            require(i, !is32, VerifyReason::UnknownOpcode)?;
            // RFC 9669's CALLX (call through a register) is a real opcode:
            // name it, so a user knows what to rewrite.
            require(i, !x, VerifyReason::CallxUnsupported)?;
            require(i, insn.dst == 0 && insn.off == 0, VerifyReason::ReservedField)?;
            match insn.src {
                CALL_HELPER => {
                    let id = insn.imm as u32;
                    require(i, cfg.helper_ids.contains(&id), VerifyReason::UnknownHelper)
                }
                CALL_LOCAL => check_target(insns, i, insn.imm as i64, VerifyReason::BadCallTarget, VerifyReason::BadCallTarget),
                _ => Err(err(i, VerifyReason::UnsupportedCallKind)),
            }
        }
        JMP_EXIT => {
            require(i, !is32 && !x, VerifyReason::UnknownOpcode)?;
            require(i, insn.dst == 0 && insn.src == 0 && insn.off == 0 && insn.imm == 0, VerifyReason::ReservedField)
        }
        0xe0 | 0xf0 => Err(err(i, VerifyReason::UnknownOpcode)),
        _ => {
            check_reg_read(i, insn.dst)?;
            if x {
                check_reg_read(i, insn.src)?;
                require(i, insn.imm == 0, VerifyReason::ReservedField)?;
            } else {
                require(i, insn.src == 0, VerifyReason::ReservedField)?;
            }
            check_target(insns, i, insn.off as i64, VerifyReason::JumpOutOfRange, VerifyReason::JumpIntoLddw)
        }
    }
}
