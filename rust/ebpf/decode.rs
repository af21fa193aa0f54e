//! Load-time translation of a verified [`Program`] into pre-decoded ops.
//!
//! The checked interpreter (`interpreter.rs`) decodes the bit fields of
//! every instruction each time it runs it and dispatches on the raw opcode.
//! [`translate`] does that work once: each slot becomes an [`Op`] with its
//! operation as one [`Kind`] (one `match` per instruction at run time),
//! its registers unpacked, jump and call targets resolved to absolute slot
//! indices, immediates already sign- or zero-extended as the operation
//! wants them, and LDDW folded into one op (its second slot becomes an
//! [`Kind::Invalid`] filler that no verified jump can reach).
//!
//! Slot indices are kept (op `i` is slot `i`), so run errors name the same
//! instruction index as the checked interpreter.
//!
//! No allocation: the ops go into a caller-provided buffer of at least
//! `prog.len()` entries (the CSD registry keeps one per loaded program).
//! After decoding, `prove.rs` upgrades memory accesses whose address it
//! can prove to be in the stack frame or the context to the `*Stack` /
//! `*Ctx` kinds; then `mov` + ALU pairs are fused and each op gets the
//! budget cost of the straight line it starts.

use super::opcode::*;
use super::prove;
use super::verifier::Program;

/// The operation of one pre-decoded op. `K` = immediate operand, `X` =
/// register operand; `W` = 32-bit (ALU: result zero-extended; JMP32:
/// compares the low halves).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Kind {
    /// Never executed by a verified program: the second slot of an LDDW,
    /// or an unused buffer entry. Running it is `InvalidInsn`.
    #[default]
    Invalid,
    // ALU64
    AddK, AddX, SubK, SubX, MulK, MulX, DivK, DivX, SDivK, SDivX,
    OrK, OrX, AndK, AndX, LshK, LshX, RshK, RshX, Neg, ModK, ModX,
    SModK, SModX, XorK, XorX, MovK, MovX, MovSx8, MovSx16, MovSx32,
    ArshK, ArshX, Swap16, Swap32, Swap64,
    // ALU (32-bit)
    AddWK, AddWX, SubWK, SubWX, MulWK, MulWX, DivWK, DivWX, SDivWK, SDivWX,
    OrWK, OrWX, AndWK, AndWX, LshWK, LshWX, RshWK, RshWX, NegW, ModWK, ModWX,
    SModWK, SModWX, XorWK, XorWX, MovWK, MovWX, MovWSx8, MovWSx16,
    ArshWK, ArshWX, Le16, Le32, Le64, Be16, Be32, Be64,
    /// `dst = imm` (64 bits), from LDDW.
    Lddw,
    // Loads through the region table: dst = *(src + off).
    Ldx8, Ldx16, Ldx32, Ldx64, Ldxs8, Ldxs16, Ldxs32,
    // Stores through the region table: *(dst + off) = imm / src.
    St8, St16, St32, St64, Stx8, Stx16, Stx32, Stx64,
    // Proven stack accesses: `off` is relative to this frame's r10.
    Ldx8Stack, Ldx16Stack, Ldx32Stack, Ldx64Stack,
    St8Stack, St16Stack, St32Stack, St64Stack,
    Stx8Stack, Stx16Stack, Stx32Stack, Stx64Stack,
    // Proven context loads: `off` is relative to the r1 the run started with.
    Ldx8Ctx, Ldx16Ctx, Ldx32Ctx, Ldx64Ctx,
    // Fused pairs `dst = src; dst op= aux/imm` (ALU64; clang's way of
    // writing three-address arithmetic). The second slot keeps its own op,
    // which runs alone only if the budget ends between the two.
    MovAddX, MovAddK, MovLshK, MovRshK, MovAndK,
    /// Fused `dst <<= imm; dst += aux` (ALU64: a scaled index added to a
    /// base). The second slot keeps its own op, as above.
    LshAddX,
    // Fused pairs `dst += 1` / `dst -= 1` (ALU64) followed by a conditional
    // jump on the same `dst` (a loop counter and its test): the op has the
    // jump's fields (`src`, compare immediate, target). The jump slot keeps
    // its own op, which runs alone if it is reached by a jump (the pair
    // is fused all the same) or if the budget ends between the two.
    IncJeqK, IncJeqX, IncJneK, IncJneX, IncJltK, IncJltX,
    IncJgtK, IncJgtX, IncJleK, IncJleX, IncJgeK, IncJgeX,
    DecJeqK, DecJeqX, DecJneK, DecJneX, DecJltK, DecJltX,
    DecJgtK, DecJgtX, DecJleK, DecJleX, DecJgeK, DecJgeX,
    /// Atomic read-modify-write (operation in `imm`), 32 / 64 bits.
    Atomic32, Atomic64,
    /// Unconditional jump to `off`.
    Ja,
    // Conditional jumps to `off`.
    JeqK, JeqX, JgtK, JgtX, JgeK, JgeX, JsetK, JsetX, JneK, JneX,
    JsgtK, JsgtX, JsgeK, JsgeX, JltK, JltX, JleK, JleX,
    JsltK, JsltX, JsleK, JsleX,
    JeqWK, JeqWX, JgtWK, JgtWX, JgeWK, JgeWX, JsetWK, JsetWX, JneWK, JneWX,
    JsgtWK, JsgtWX, JsgeWK, JsgeWX, JltWK, JltWX, JleWK, JleWX,
    JsltWK, JsltWX, JsleWK, JsleWX,
    /// Local call to `off`.
    CallLocal,
    /// Helper call, id in `imm`.
    CallHelper,
    Exit,
}

/// One pre-decoded instruction (16 bytes). Fields are private: only
/// [`translate`] makes ops, so the interpreter can rely on registers being
/// r0..=r10 (it still masks them, so a bad op cannot make it panic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Op {
    pub(super) kind: Kind,
    pub(super) dst: Reg,
    pub(super) src: Reg,
    /// The second source register of a fused `MovAddX`.
    pub(super) aux: Reg,
    /// Instructions run from here up to and including the next control
    /// transfer (jump, local call, exit), straight line: what the
    /// interpreter charges to the budget when control arrives here by a
    /// transfer.
    pub(super) cost: u32,
    /// The operands that are not registers, ready to use:
    /// - ALU64: the immediate sign-extended; ALU32: zero-extended;
    /// - LDDW: all 64 bits;
    /// - loads, register stores: the memory offset, sign-extended (for
    ///   `*Stack` kinds relative to this frame's r10; for `*Ctx` kinds to
    ///   the context);
    /// - immediate stores and atomics: the immediate (value or atomic
    ///   operation) in the low half, the memory offset in the high half;
    /// - jumps and local calls: the compare immediate in the low half, the
    ///   target slot in the high half; helper calls: the id.
    pub(super) imm: u64,
}

impl Op {
    /// The filler an op buffer can be initialised with.
    pub const INVALID: Op = Op { kind: Kind::Invalid, dst: Reg::R0, src: Reg::R0, aux: Reg::R0, cost: 0, imm: 0 };

    /// The operation.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Destination register (0..=15: the compiler knows, so indexing the
    /// 16-entry register file needs no check).
    #[inline(always)]
    pub(super) fn dst(&self) -> usize {
        self.dst as usize
    }

    /// Source register (0..=15).
    #[inline(always)]
    pub(super) fn src(&self) -> usize {
        self.src as usize
    }

    /// Second source register of a fused op (0..=15).
    #[inline(always)]
    pub(super) fn aux(&self) -> usize {
        self.aux as usize
    }

    /// Jump or call target slot (high half of `imm`).
    #[inline(always)]
    pub(super) fn target(&self) -> usize {
        (self.imm >> 32) as usize
    }

    /// Memory offset of a load or store (for `*Stack` kinds relative to
    /// this frame's r10, for `*Ctx` kinds to the context), sign-extended.
    #[inline(always)]
    pub fn mem_offset(&self) -> i64 {
        if has_split_imm(self.kind) {
            (self.imm >> 32) as u32 as i32 as i64
        } else {
            self.imm as i64
        }
    }

    /// Sets the memory offset of a load or store.
    pub(super) fn set_mem_offset(&mut self, off: i64) {
        if has_split_imm(self.kind) {
            self.imm = (self.imm & 0xffff_ffff) | ((off as u32 as u64) << 32);
        } else {
            self.imm = off as u64;
        }
    }

    /// Instructions charged when control transfers here.
    pub fn cost(&self) -> u32 {
        self.cost
    }

}

/// A register number as encoded (4 bits; the verifier allows r0..=r10).
/// An enum rather than a `u8` so that its range is part of the type.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Reg {
    #[default]
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
}

impl Reg {
    /// The register named by the low 4 bits of `n`.
    pub fn of(n: u8) -> Reg {
        use Reg::*;
        match n & 0xf {
            0 => R0,
            1 => R1,
            2 => R2,
            3 => R3,
            4 => R4,
            5 => R5,
            6 => R6,
            7 => R7,
            8 => R8,
            9 => R9,
            10 => R10,
            11 => R11,
            12 => R12,
            13 => R13,
            14 => R14,
            _ => R15,
        }
    }
}

/// Stores of an immediate and atomics keep the memory offset in the high
/// half of `imm`.
fn has_split_imm(k: Kind) -> bool {
    use Kind::*;
    matches!(k, St8 | St16 | St32 | St64 | St8Stack | St16Stack | St32Stack | St64Stack | Atomic32 | Atomic64)
}

/// While translating, `cost` is 1 on jump and local-call targets (control
/// can arrive there other than by falling through) for [`prove`]; the real
/// costs are computed last.
pub(super) const TARGET: u32 = 1;

/// A translated program: ops borrowed from the caller's buffer plus the
/// entry index.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'o> {
    ops: &'o [Op],
    entry: usize,
}

impl<'o> Decoded<'o> {
    /// The ops (one per instruction slot).
    pub fn ops(&self) -> &'o [Op] {
        self.ops
    }

    /// Index of the first op executed.
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// Wraps ops that [`translate`] produced earlier (e.g. stored by a
    /// program registry) so they can be run again without translating.
    /// Ops can only be made by [`translate`]; the interpreter stays
    /// memory-safe and panic-free whatever ops it is given.
    pub fn reuse(ops: &'o [Op], entry: usize) -> Decoded<'o> {
        Decoded { ops, entry }
    }
}

/// [`translate`] needs a buffer of at least `needed` ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// The program's length in slots.
    pub needed: usize,
}

/// Translates a verified program into `out[..prog.len()]`.
pub fn translate<'o>(prog: &Program<'_>, out: &'o mut [Op]) -> Result<Decoded<'o>, BufferTooSmall> {
    let insns = prog.insns();
    let n = insns.len();
    let out = out.get_mut(..n).ok_or(BufferTooSmall { needed: n })?;
    out.fill(Op::INVALID);
    let mut i = 0usize;
    while let Some(raw) = insns.get(i) {
        let insn = Insn::decode(raw);
        let hi = insns.get(i + 1).map_or(0, |s| u32::from_le_bytes([s[4], s[5], s[6], s[7]]));
        let op = decode_one(&insn, i, hi);
        if let Some(slot) = out.get_mut(i) {
            let cost = slot.cost;
            *slot = Op { cost, ..op };
        }
        if is_transfer(op.kind) && op.kind != Kind::Exit {
            if let Some(t) = out.get_mut(op.target()) {
                t.cost = TARGET;
            }
        }
        i += if insn.op == LDDW { 2 } else { 1 };
    }
    prove::upgrade(out, prog.entry());
    fuse(out);
    set_costs(out);
    Ok(Decoded { ops: out, entry: prog.entry() })
}

/// Fuses `mov dst, src` with a following ALU64 op on the same `dst` (see
/// `Kind::MovAddX`), and `dst += 1` / `dst -= 1` with a following
/// conditional jump on `dst` (see `Kind::IncJltX`; also when the jump is a
/// jump target), and `lsh dst, k` with
/// a following `add dst, src` (`Kind::LshAddX`), unless the second is a
/// jump or call target. Runs after the proofs (which see the ops unfused)
/// and before the costs (which do not change: a fused op is still its two
/// instructions).
fn fuse(ops: &mut [Op]) {
    let mut i = 0usize;
    while i + 1 < ops.len() {
        let (Some(first), Some(second)) = (ops.get(i).copied(), ops.get(i + 1).copied()) else {
            break;
        };
        if first.kind == Kind::MovX && second.dst == first.dst && second.cost != TARGET {
            let kind = match second.kind {
                Kind::AddX => Some(Kind::MovAddX),
                Kind::AddK => Some(Kind::MovAddK),
                Kind::LshK => Some(Kind::MovLshK),
                Kind::RshK => Some(Kind::MovRshK),
                Kind::AndK => Some(Kind::MovAndK),
                _ => None,
            };
            if let (Some(kind), Some(op)) = (kind, ops.get_mut(i)) {
                *op = Op { kind, aux: second.src, imm: second.imm, ..first };
                i += 2;
                continue;
            }
        }
        if first.kind == Kind::LshK && second.kind == Kind::AddX && second.dst == first.dst && second.cost != TARGET {
            if let Some(op) = ops.get_mut(i) {
                *op = Op { kind: Kind::LshAddX, aux: second.src, ..first };
                i += 2;
                continue;
            }
        }
        // The jump slot may be a jump target: it keeps its own op, which
        // runs alone when control arrives there by a jump.
        if second.dst == first.dst {
            if let (Some(kind), Some(op)) = (inc_jump(&first, second.kind), ops.get_mut(i)) {
                *op = Op { kind, ..second };
                i += 2;
                continue;
            }
        }
        i += if first.kind == Kind::Lddw { 2 } else { 1 };
    }
}

/// The fused kind of `first` (an ALU64 add or subtract of 1 or -1) followed
/// by a conditional jump of kind `jump` on the same register, if there is
/// one.
fn inc_jump(first: &Op, jump: Kind) -> Option<Kind> {
    use Kind::*;
    let inc = match (first.kind, first.imm) {
        (AddK, 1) | (SubK, u64::MAX) => true,
        (AddK, u64::MAX) | (SubK, 1) => false,
        _ => return None,
    };
    Some(match (inc, jump) {
        (true, JeqK) => IncJeqK,
        (true, JeqX) => IncJeqX,
        (true, JneK) => IncJneK,
        (true, JneX) => IncJneX,
        (true, JltK) => IncJltK,
        (true, JltX) => IncJltX,
        (true, JgtK) => IncJgtK,
        (true, JgtX) => IncJgtX,
        (true, JleK) => IncJleK,
        (true, JleX) => IncJleX,
        (true, JgeK) => IncJgeK,
        (true, JgeX) => IncJgeX,
        (false, JeqK) => DecJeqK,
        (false, JeqX) => DecJeqX,
        (false, JneK) => DecJneK,
        (false, JneX) => DecJneX,
        (false, JltK) => DecJltK,
        (false, JltX) => DecJltX,
        (false, JgtK) => DecJgtK,
        (false, JgtX) => DecJgtX,
        (false, JleK) => DecJleK,
        (false, JleX) => DecJleX,
        (false, JgeK) => DecJgeK,
        (false, JgeX) => DecJgeX,
        _ => return None,
    })
}

/// Whether control may leave the straight line after this op.
pub(super) fn is_transfer(k: Kind) -> bool {
    use Kind::*;
    matches!(
        k,
        Invalid
            | Ja
            | JeqK
            | JeqX
            | JgtK
            | JgtX
            | JgeK
            | JgeX
            | JsetK
            | JsetX
            | JneK
            | JneX
            | JsgtK
            | JsgtX
            | JsgeK
            | JsgeX
            | JltK
            | JltX
            | JleK
            | JleX
            | JsltK
            | JsltX
            | JsleK
            | JsleX
            | JeqWK
            | JeqWX
            | JgtWK
            | JgtWX
            | JgeWK
            | JgeWX
            | JsetWK
            | JsetWX
            | JneWK
            | JneWX
            | JsgtWK
            | JsgtWX
            | JsgeWK
            | JsgeWX
            | JltWK
            | JltWX
            | JleWK
            | JleWX
            | JsltWK
            | JsltWX
            | JsleWK
            | JsleWX
            | CallLocal
            | Exit
    )
}

/// Fills in `cost`, backwards: a transfer costs 1, any other op 1 more
/// than the op after it (LDDW: after its second slot). The second slot of
/// an LDDW gets 0 (it is never a place control arrives at).
fn set_costs(ops: &mut [Op]) {
    let mut next_cost = 0u32;
    let mut i = ops.len();
    while i > 0 {
        i -= 1;
        let filler = i > 0 && ops.get(i - 1).is_some_and(|p| p.kind == Kind::Lddw);
        if let Some(op) = ops.get_mut(i) {
            if filler {
                // next_cost stays the cost of the op after the pair.
                op.cost = 0;
                continue;
            }
            op.cost = if is_transfer(op.kind) { 1 } else { next_cost.saturating_add(1) };
            next_cost = op.cost;
        }
    }
}

/// The op for one verified instruction at slot `i` (`hi`: the next slot's
/// imm, used by LDDW).
fn decode_one(insn: &Insn, i: usize, hi: u32) -> Op {
    let k64 = insn.imm as i64 as u64;
    let k32 = insn.imm as u32 as u64;
    let off = insn.off as i64 as u64;
    // Immediate in the low half, offset in the high half.
    let split = k32 | (off << 32);
    let mut op = Op { kind: Kind::Invalid, dst: Reg::of(insn.dst), src: Reg::of(insn.src), aux: Reg::R0, cost: 0, imm: k64 };
    // Relative to the next slot; the verifier checked it lands in range
    // (so it fits in 32 bits).
    let rel = |delta: i64| ((i as i64).wrapping_add(1).wrapping_add(delta) as u32 as u64) << 32;
    let x = insn.op & SRC_X != 0;
    op.kind = match insn.op & CLASS_MASK {
        CLS_ALU64 => alu64_kind(insn, x),
        CLS_ALU => {
            op.imm = k32;
            alu32_kind(insn, x)
        }
        CLS_LD => {
            op.imm = k32 | ((hi as u64) << 32);
            if insn.op == LDDW {
                Kind::Lddw
            } else {
                Kind::Invalid
            }
        }
        CLS_LDX => {
            op.imm = off;
            match insn.op {
            0x71 => Kind::Ldx8,
            0x69 => Kind::Ldx16,
            0x61 => Kind::Ldx32,
            0x79 => Kind::Ldx64,
            0x91 => Kind::Ldxs8,
            0x89 => Kind::Ldxs16,
            0x81 => Kind::Ldxs32,
            _ => Kind::Invalid,
            }
        }
        CLS_ST => {
            op.imm = split;
            match insn.op {
            0x72 => Kind::St8,
            0x6a => Kind::St16,
            0x62 => Kind::St32,
            0x7a => Kind::St64,
            _ => Kind::Invalid,
            }
        }
        CLS_STX => {
            op.imm = off;
            match insn.op {
            0x73 => Kind::Stx8,
            0x6b => Kind::Stx16,
            0x63 => Kind::Stx32,
            0x7b => Kind::Stx64,
            0xc3 => {
                op.imm = split;
                Kind::Atomic32
            }
            0xdb => {
                op.imm = split;
                Kind::Atomic64
            }
            _ => Kind::Invalid,
            }
        }
        cls => match insn.op & 0xf0 {
            JMP_CALL => {
                if insn.src == CALL_LOCAL {
                    op.imm = rel(insn.imm as i64);
                    Kind::CallLocal
                } else if insn.src == CALL_HELPER {
                    op.imm = k32;
                    Kind::CallHelper
                } else {
                    Kind::Invalid
                }
            }
            JMP_EXIT => Kind::Exit,
            code => {
                let delta = if insn.op == JA32 { insn.imm as i64 } else { insn.off as i64 };
                // Compare immediate in the low half (the interpreter
                // extends it as the class wants).
                op.imm = rel(delta) | k32;
                jmp_kind(code, cls == CLS_JMP32, x)
            }
        },
    };
    op
}

fn alu64_kind(insn: &Insn, x: bool) -> Kind {
    use Kind::*;
    let signed = insn.off == 1;
    let p = |k: Kind, xk: Kind| if x { xk } else { k };
    match insn.op & 0xf0 {
        ALU_ADD => p(AddK, AddX),
        ALU_SUB => p(SubK, SubX),
        ALU_MUL => p(MulK, MulX),
        ALU_DIV if signed => p(SDivK, SDivX),
        ALU_DIV => p(DivK, DivX),
        ALU_OR => p(OrK, OrX),
        ALU_AND => p(AndK, AndX),
        ALU_LSH => p(LshK, LshX),
        ALU_RSH => p(RshK, RshX),
        ALU_NEG => Neg,
        ALU_MOD if signed => p(SModK, SModX),
        ALU_MOD => p(ModK, ModX),
        ALU_XOR => p(XorK, XorX),
        ALU_MOV if x => match insn.off {
            8 => MovSx8,
            16 => MovSx16,
            32 => MovSx32,
            _ => MovX,
        },
        ALU_MOV => MovK,
        ALU_ARSH => p(ArshK, ArshX),
        ALU_END => match insn.imm {
            16 => Swap16,
            32 => Swap32,
            _ => Swap64,
        },
        _ => Invalid,
    }
}

fn alu32_kind(insn: &Insn, x: bool) -> Kind {
    use Kind::*;
    let signed = insn.off == 1;
    let p = |k: Kind, xk: Kind| if x { xk } else { k };
    match insn.op & 0xf0 {
        ALU_ADD => p(AddWK, AddWX),
        ALU_SUB => p(SubWK, SubWX),
        ALU_MUL => p(MulWK, MulWX),
        ALU_DIV if signed => p(SDivWK, SDivWX),
        ALU_DIV => p(DivWK, DivWX),
        ALU_OR => p(OrWK, OrWX),
        ALU_AND => p(AndWK, AndWX),
        ALU_LSH => p(LshWK, LshWX),
        ALU_RSH => p(RshWK, RshWX),
        ALU_NEG => NegW,
        ALU_MOD if signed => p(SModWK, SModWX),
        ALU_MOD => p(ModWK, ModWX),
        ALU_XOR => p(XorWK, XorWX),
        ALU_MOV if x => match insn.off {
            8 => MovWSx8,
            16 => MovWSx16,
            _ => MovWX,
        },
        ALU_MOV => MovWK,
        ALU_ARSH => p(ArshWK, ArshWX),
        // The source bit of END picks the byte order: K = to LE, X = to BE.
        ALU_END => match (x, insn.imm) {
            (false, 16) => Le16,
            (false, 32) => Le32,
            (false, _) => Le64,
            (true, 16) => Be16,
            (true, 32) => Be32,
            (true, _) => Be64,
        },
        _ => Invalid,
    }
}

fn jmp_kind(code: u8, is32: bool, x: bool) -> Kind {
    use Kind::*;
    let p = |k: Kind, xk: Kind, wk: Kind, wxk: Kind| match (is32, x) {
        (false, false) => k,
        (false, true) => xk,
        (true, false) => wk,
        (true, true) => wxk,
    };
    match code {
        JMP_JA => Ja,
        JMP_JEQ => p(JeqK, JeqX, JeqWK, JeqWX),
        JMP_JGT => p(JgtK, JgtX, JgtWK, JgtWX),
        JMP_JGE => p(JgeK, JgeX, JgeWK, JgeWX),
        JMP_JSET => p(JsetK, JsetX, JsetWK, JsetWX),
        JMP_JNE => p(JneK, JneX, JneWK, JneWX),
        JMP_JSGT => p(JsgtK, JsgtX, JsgtWK, JsgtWX),
        JMP_JSGE => p(JsgeK, JsgeX, JsgeWK, JsgeWX),
        JMP_JLT => p(JltK, JltX, JltWK, JltWX),
        JMP_JLE => p(JleK, JleX, JleWK, JleWX),
        JMP_JSLT => p(JsltK, JsltX, JsltWK, JsltWX),
        JMP_JSLE => p(JsleK, JsleX, JsleWK, JsleWX),
        _ => Invalid,
    }
}
