//! Load-time proofs of memory accesses, over pre-decoded ops.
//!
//! Tracks, for r0..r9, whether a register holds "this frame's r10 + d"
//! ([`Fact::Stack`]) or "the r1 the run started with + d" ([`Fact::Ctx`]),
//! and upgrades loads and stores whose address is then known:
//! - base r10 (or a Stack register) and the access inside the current
//!   frame `[r10 - 512, r10)`: `*Stack` kinds, which index the stack
//!   directly instead of searching the region table;
//! - base a Ctx register, offset >= 0: `Ldx*Ctx` kinds, which read the
//!   region r1 pointed to at the start of the run.
//!
//! Soundness without a control-flow graph: facts only flow along
//! fall-through edges inside an extended basic block. At every jump or
//! call target (flag `TARGET`), after every unconditional jump and EXIT,
//! and at the entry of a program that does not start at slot 0, every
//! register is unknown — the join of "anything" with anything. So a fact
//! at an instruction holds on every path that reaches it: the only way in
//! is from the previous instruction, whose facts were computed the same
//! way. r10 itself needs no fact: no instruction can write it (the verifier
//! refuses it) and the interpreter sets it on call and return. Calls (helper
//! or local) make r0-r5 unknown; r6-r9 survive a local call because EXIT
//! restores them, and a callee starts at a call target, so it knows nothing
//! of its caller's registers.
//!
//! What a wrong fact could do: the fast paths still bounds-check every
//! access against the stack or context slice (no `unsafe`, no panic) and
//! fall back to the region-table lookup when it fails, so a wrong proof
//! would give a wrong value, never touch memory outside the regions. The
//! differential tests compare the upgraded program with the checked
//! interpreter to catch that.

use super::decode::{is_transfer, Kind, Op, TARGET};
use super::memory::FRAME_SIZE;
use super::opcode::REG_FP;

/// What is known about a register at one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fact {
    Unknown,
    /// This frame's r10 plus the offset.
    Stack(i64),
    /// The run's initial r1 (the context) plus the offset.
    Ctx(i64),
}

/// Offsets tracked beyond this magnitude become unknown (keeps the
/// arithmetic far from overflow; no real program needs more).
const MAX_DELTA: i64 = 1 << 31;

type Facts = [Fact; 10];

const UNKNOWN: Facts = [Fact::Unknown; 10];

/// Upgrades the memory ops of `ops` (a translated program starting at
/// `entry`) whose addresses are proven.
pub(super) fn upgrade(ops: &mut [Op], entry: usize) {
    let mut facts = UNKNOWN;
    let mut i = 0usize;
    while let Some(op) = ops.get_mut(i) {
        if op.cost == TARGET {
            facts = UNKNOWN;
        }
        if i == 0 && op.cost != TARGET && entry == 0 {
            // Only reached as the entry: r1 is the context.
            facts = UNKNOWN;
            facts[1] = Fact::Ctx(0);
        } else if i == entry && i != 0 {
            // The entry may also be reached by falling through.
            facts = UNKNOWN;
        }
        upgrade_access(op, &facts);
        step(op, &mut facts);
        i += if op.kind == Kind::Lddw { 2 } else { 1 };
    }
}

/// The fact for a base register (r10 is always "this frame's r10 + 0").
fn base(facts: &Facts, reg: usize) -> Fact {
    if reg == REG_FP as usize {
        return Fact::Stack(0);
    }
    facts.get(reg).copied().unwrap_or(Fact::Unknown)
}

/// The proven kind of a load/store and its total offset, if any.
fn upgrade_access(op: &mut Op, facts: &Facts) {
    use Kind::*;
    let (size, reg, stack_kind, ctx_kind) = match op.kind {
        Ldx8 => (1, op.src(), Ldx8Stack, Some(Ldx8Ctx)),
        Ldx16 => (2, op.src(), Ldx16Stack, Some(Ldx16Ctx)),
        Ldx32 => (4, op.src(), Ldx32Stack, Some(Ldx32Ctx)),
        Ldx64 => (8, op.src(), Ldx64Stack, Some(Ldx64Ctx)),
        St8 => (1, op.dst(), St8Stack, None),
        St16 => (2, op.dst(), St16Stack, None),
        St32 => (4, op.dst(), St32Stack, None),
        St64 => (8, op.dst(), St64Stack, None),
        Stx8 => (1, op.dst(), Stx8Stack, None),
        Stx16 => (2, op.dst(), Stx16Stack, None),
        Stx32 => (4, op.dst(), Stx32Stack, None),
        Stx64 => (8, op.dst(), Stx64Stack, None),
        _ => return,
    };
    match base(facts, reg) {
        Fact::Stack(d) => {
            let total = d + op.mem_offset();
            // Entirely inside the current frame [r10 - 512, r10).
            if total >= -(FRAME_SIZE as i64) && total + size <= 0 {
                op.kind = stack_kind;
                op.set_mem_offset(total);
            }
        }
        Fact::Ctx(d) => {
            let total = d + op.mem_offset();
            if let Some(k) = ctx_kind {
                if (0..=i32::MAX as i64).contains(&total) {
                    op.kind = k;
                    op.set_mem_offset(total);
                }
            }
        }
        Fact::Unknown => {}
    }
}

fn set(facts: &mut Facts, reg: usize, f: Fact) {
    if let Some(slot) = facts.get_mut(reg) {
        *slot = f;
    }
}

fn offset(f: Fact, by: i64) -> Fact {
    let shift = |d: i64| {
        let n = d + by;
        if (-MAX_DELTA..=MAX_DELTA).contains(&n) {
            Some(n)
        } else {
            None
        }
    };
    match f {
        Fact::Stack(d) => shift(d).map_or(Fact::Unknown, Fact::Stack),
        Fact::Ctx(d) => shift(d).map_or(Fact::Unknown, Fact::Ctx),
        Fact::Unknown => Fact::Unknown,
    }
}

/// The facts after `op` (for the instruction that follows it in the slot
/// order, if control falls through).
fn step(op: &Op, facts: &mut Facts) {
    use Kind::*;
    match op.kind {
        MovX => {
            let f = base(facts, op.src());
            set(facts, op.dst(), f);
        }
        // imm is sign-extended to 64 bits for ALU64 (|imm| < 2^31).
        AddK => {
            let f = offset(base(facts, op.dst()), op.imm as i64);
            set(facts, op.dst(), f);
        }
        SubK => {
            let f = offset(base(facts, op.dst()), (op.imm as i64).wrapping_neg());
            set(facts, op.dst(), f);
        }
        // Memory ops that write no register, and conditional jumps.
        St8 | St16 | St32 | St64 | Stx8 | Stx16 | Stx32 | Stx64 | St8Stack | St16Stack | St32Stack | St64Stack
        | Stx8Stack | Stx16Stack | Stx32Stack | Stx64Stack => {}
        Atomic32 | Atomic64 => {
            // FETCH variants write src, CMPXCHG writes r0.
            set(facts, op.src(), Fact::Unknown);
            set(facts, 0, Fact::Unknown);
        }
        CallHelper | CallLocal => {
            for r in 0..=5usize {
                set(facts, r, Fact::Unknown);
            }
        }
        Ja | Exit | Invalid => *facts = UNKNOWN,
        // Conditional jumps write nothing.
        k if is_transfer(k) => {}
        // Everything else writes dst with a value we do not track.
        _ => set(facts, op.dst(), Fact::Unknown),
    }
}
