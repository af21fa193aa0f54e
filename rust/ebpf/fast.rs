//! The pre-decoded interpreter: runs a [`Decoded`] program.
//!
//! Same semantics, errors and instruction counts as
//! [`interpreter::run`](super::interpreter::run) (the tests run both and
//! compare; ticks may come up to one straight line earlier), but each
//! instruction is one `match` on a [`Kind`] with its operands ready, jumps
//! go to absolute indices, `mov` + ALU pairs are one op, and:
//! - the budget is charged once per straight line (see [`Budget`]), not
//!   per instruction;
//! - proven stack and context accesses index their region directly;
//! - other accesses search the region table starting with the region the
//!   previous access hit (a run-time check all the same).
//!
//! Allocation-free, panic-free and iterative like the checked interpreter:
//! ops are fetched with `get`, registers are a 16-valued enum indexing a
//! 16-entry array, every memory access is bounds-checked.

use super::decode::{Decoded, Kind, Op};
use super::error::{HelperError, RunError, RunErrorKind};
use super::helpers::Helpers;
// `Exit` is also an op kind (glob-imported in the loop).
use super::interpreter::{Exit as Finished, TICK_INSNS};
use super::memory::{Memory, FRAME_SIZE, MAX_FRAMES};
use super::alu::*;

#[derive(Clone, Copy)]
struct Frame {
    ret: usize,
    saved: [u64; 4],
}

/// The instruction budget of a run, charged one straight line at a time.
///
/// The checked interpreter counts every instruction: it fails when none is
/// left and calls [`Helpers::tick`] after each instruction that leaves a
/// multiple of [`TICK_INSNS`]. Here, when control arrives somewhere by a
/// transfer (and at the entry), the whole straight line up to the next
/// transfer (`Op::cost` instructions) is charged at once: usually one
/// compare and two subtractions. When the line contains a tick point, the
/// ticks are called right away (so a tick may come up to one straight line
/// earlier than in the checked interpreter; the number of ticks is the
/// same). When the budget runs out inside the line, the interpreter is
/// told the slot of the first instruction that must not run, and fails
/// there with `BudgetExhausted`, exactly where the checked one does.
struct Budget {
    /// Budget left once every charged instruction has run.
    rem: u64,
    /// Instructions chargeable before a tick is due: `(rem - 1) % T + 1`
    /// (0 when `rem` is 0), so a charge of `c < room` needs no tick and
    /// cannot exhaust the budget.
    room: u64,
}

impl Budget {
    fn new(budget: u64) -> Budget {
        Budget { rem: budget, room: Self::room_for(budget) }
    }

    fn room_for(rem: u64) -> u64 {
        if rem == 0 {
            0
        } else {
            (rem - 1) % TICK_INSNS + 1
        }
    }

    #[inline(always)]
    fn fast_charge(&mut self, c: u64) -> bool {
        if c < self.room {
            // room <= rem, so neither wraps (and no overflow check can
            // panic here).
            self.room = self.room.wrapping_sub(c);
            self.rem = self.rem.wrapping_sub(c);
            true
        } else {
            false
        }
    }

    /// Charges `c` instructions of the straight line starting at `at`,
    /// calling the ticks due in it. Returns the slot up to which ops may
    /// run: `ops.len()`, or the slot of the instruction that exhausts the
    /// budget.
    #[cold]
    #[inline(never)]
    fn slow_charge<'a, H: Helpers<'a> + ?Sized>(
        &mut self,
        c: u64,
        helpers: &mut H,
        ops: &[Op],
        at: usize,
    ) -> Result<usize, HelperError> {
        let runs = c.min(self.rem);
        if runs > 0 {
            // Ticks: multiples of T among the budgets left after each of
            // the instructions that run, rem - runs ..= rem - 1.
            let (lo, hi) = (self.rem - runs, self.rem - 1);
            let below_lo = if lo == 0 { 0 } else { (lo - 1) / TICK_INSNS + 1 };
            let ticks = hi / TICK_INSNS + 1 - below_lo;
            for _ in 0..ticks {
                helpers.tick()?;
            }
        }
        if c <= self.rem {
            self.rem -= c;
            self.room = Self::room_for(self.rem);
            return Ok(ops.len());
        }
        // Runs out after `rem` more instructions of this straight line.
        let mut stop = at;
        for _ in 0..self.rem {
            let step = match ops.get(stop) {
                Some(op) if op.kind == Kind::Lddw => 2,
                _ => 1,
            };
            stop = stop.wrapping_add(step);
        }
        self.rem = 0;
        self.room = 0;
        Ok(stop.min(ops.len()))
    }
}

/// Runs `prog` with r1 = `r1` and r10 = the stack top, executing at most
/// `budget` instructions; the stack is zeroed first. See
/// [`interpreter::run`](super::interpreter::run).
pub fn run_decoded<'a, H: Helpers<'a> + ?Sized>(
    prog: &Decoded<'_>,
    mem: &mut Memory<'a>,
    helpers: &mut H,
    r1: u64,
    budget: u64,
) -> Result<Finished, RunError> {
    mem.zero_stack();
    let ops: &[Op] = prog.ops();
    let stack_top = mem.stack_top();
    let stack_len = mem.stack_len();
    let max_depth = mem.frames().min(MAX_FRAMES);
    // The context's region, for proven context loads (usize::MAX: none,
    // so they take the checked path).
    let ctx_region = mem.region_starting_at(r1).unwrap_or(usize::MAX);
    let mut frames = [Frame { ret: 0, saved: [0; 4] }; MAX_FRAMES];
    let mut depth = 0usize;
    // Offset of this frame's r10 inside the stack region.
    let mut frame_top = stack_len;
    let mut reg = [0u64; 16];
    reg[1] = r1;
    reg[10] = stack_top;
    // Region of the last table lookup; the context is a good first guess.
    let mut hint = if ctx_region == usize::MAX { 0 } else { ctx_region };
    // Budget accounting per straight line: `rem` is the budget left once
    // every instruction charged so far has run; `room` how many more can
    // be charged before a tick is due (see `Budget`); `view` is `ops` cut
    // at the instruction that exhausts the budget, if that is known.
    let mut budget_left = Budget::new(budget);
    let mut view: &[Op] = ops;
    let mut pc = prog.entry();

    macro_rules! fail {
        ($at:expr, $kind:expr) => {
            return Err(RunError { index: $at, kind: $kind })
        };
    }
    // Control arrives at `pc` by a transfer: charge its straight line.
    macro_rules! charge {
        ($at:expr) => {{
            let c = ops.get(pc).map_or(1, |o| o.cost as u64);
            if !budget_left.fast_charge(c) {
                match budget_left.slow_charge(c, helpers, ops, pc) {
                    Ok(limit) => view = ops.get(..limit).unwrap_or(ops),
                    Err(e) => fail!($at, RunErrorKind::Helper(e)),
                }
            }
        }};
    }
    charge!(pc);

    loop {
        // `pc` moves past the op right away; `here!()` is the op's own
        // index (errors), computed only on the paths that need it.
        let op = match view.get(pc) {
            Some(op) => op,
            // The first instruction the budget does not cover.
            None if pc == view.len() && view.len() < ops.len() => fail!(pc, RunErrorKind::BudgetExhausted),
            None => fail!(pc, RunErrorKind::InvalidInsn),
        };
        pc = pc.wrapping_add(1);
        macro_rules! here {
            () => {
                pc.wrapping_sub(1)
            };
        }
        // Operands are read inside each arm (not here), so an op reads
        // only the fields it uses.

        macro_rules! load {
            ($n:literal, $t:ty) => {{
                let addr = reg[op.src()].wrapping_add(op.imm);
                match mem.load_hinted::<$n>(addr, &mut hint) {
                    Some(b) => <$t>::from_le_bytes(b),
                    None => fail!(here!(), RunErrorKind::BadLoad { addr, len: $n }),
                }
            }};
        }
        macro_rules! store {
            ($n:literal, $v:expr, $off:expr) => {{
                let addr = reg[op.dst()].wrapping_add($off);
                match mem.place_hinted::<$n>(addr, &mut hint) {
                    Some(p) => *p = $v.to_le_bytes(),
                    None => fail!(here!(), RunErrorKind::BadStore { addr, len: $n }),
                }
            }};
        }
        // Proven stack access: `off` is relative to this frame's r10. If
        // the frame does not hold it (a stack smaller than one frame), the
        // address r10 + off goes through the table, as unproven.
        macro_rules! load_stack {
            ($n:literal, $t:ty) => {{
                let off = op.imm;
                match mem.region_load::<$n>(0, frame_top.wrapping_add(off as usize)) {
                    Some(b) => <$t>::from_le_bytes(b),
                    None => {
                        let addr = reg[10].wrapping_add(off);
                        match mem.load::<$n>(addr) {
                            Some(b) => <$t>::from_le_bytes(b),
                            None => fail!(here!(), RunErrorKind::BadLoad { addr, len: $n }),
                        }
                    }
                }
            }};
        }
        macro_rules! store_stack {
            ($n:literal, $v:expr, $off:expr) => {{
                let off: u64 = $off;
                let bytes = $v.to_le_bytes();
                match mem.region_place::<$n>(0, frame_top.wrapping_add(off as usize)) {
                    Some(p) => *p = bytes,
                    None => {
                        let addr = reg[10].wrapping_add(off);
                        match mem.place::<$n>(addr) {
                            Some(p) => *p = bytes,
                            None => fail!(here!(), RunErrorKind::BadStore { addr, len: $n }),
                        }
                    }
                }
            }};
        }
        // Proven context load: `off` is relative to the run's initial r1.
        macro_rules! load_ctx {
            ($n:literal, $t:ty) => {{
                match mem.region_load::<$n>(ctx_region, op.imm as usize) {
                    Some(b) => <$t>::from_le_bytes(b),
                    None => {
                        let addr = r1.wrapping_add(op.imm);
                        match mem.load::<$n>(addr) {
                            Some(b) => <$t>::from_le_bytes(b),
                            None => fail!(here!(), RunErrorKind::BadLoad { addr, len: $n }),
                        }
                    }
                }
            }};
        }
        macro_rules! alu64 {
            (|$a:ident, $b:ident| $e:expr, $rhs:expr) => {{
                let $a: u64 = reg[op.dst()];
                let $b: u64 = $rhs;
                reg[op.dst()] = $e;
            }};
        }
        // A fused `dst = src; dst = f(dst)`: the second half runs (and
        // counts) only if the budget covers its slot.
        macro_rules! fused {
            (|$a:ident| $e:expr) => {{
                let d = op.dst();
                reg[d] = reg[op.src()];
                if pc < view.len() {
                    let $a = reg[d];
                    reg[d] = $e;
                    pc = pc.wrapping_add(1);
                }
            }};
        }
        macro_rules! alu32 {
            (|$a:ident, $b:ident| $e:expr, $rhs:expr) => {{
                let $a: u32 = reg[op.dst()] as u32;
                let $b: u32 = $rhs as u32;
                reg[op.dst()] = ($e) as u64;
            }};
        }
        // Compare immediates: the low half of `imm`, extended as the
        // class wants (64-bit compares: sign-extended).
        // The immediate of an immediate store or a jump compare (low half
        // of `imm`), and the offset of an immediate store or atomic (high
        // half).
        macro_rules! k64 {
            () => {
                (op.imm as i32 as i64 as u64)
            };
        }
        macro_rules! k32 {
            () => {
                (op.imm as u32)
            };
        }
        macro_rules! hi_off {
            () => {
                ((op.imm >> 32) as u32 as i32 as i64 as u64)
            };
        }
        macro_rules! jmp_if {
            ($cond:expr) => {{
                let at = here!();
                if $cond {
                    pc = op.target();
                }
                charge!(at);
            }};
        }

        // A fused `dst += delta; if cond(dst) goto target`: the jump half
        // runs (and counts, and charges the next straight line) only if the
        // budget covers its slot; otherwise the run stops there.
        macro_rules! inc_jmp {
            ($delta:expr, |$a:ident| $cond:expr) => {{
                let d = op.dst();
                let $a = reg[d].wrapping_add($delta);
                reg[d] = $a;
                if pc < view.len() {
                    pc = pc.wrapping_add(1);
                    jmp_if!($cond);
                }
            }};
        }

        use Kind::*;
        match op.kind {
            Invalid => fail!(here!(), RunErrorKind::InvalidInsn),

            // ---- ALU64 ----
            AddK => alu64!(|a, b| a.wrapping_add(b), op.imm),
            AddX => alu64!(|a, b| a.wrapping_add(b), reg[op.src()]),
            SubK => alu64!(|a, b| a.wrapping_sub(b), op.imm),
            SubX => alu64!(|a, b| a.wrapping_sub(b), reg[op.src()]),
            MulK => alu64!(|a, b| a.wrapping_mul(b), op.imm),
            MulX => alu64!(|a, b| a.wrapping_mul(b), reg[op.src()]),
            DivK => alu64!(|a, b| a.checked_div(b).unwrap_or(0), op.imm),
            DivX => alu64!(|a, b| a.checked_div(b).unwrap_or(0), reg[op.src()]),
            SDivK => alu64!(|a, b| sdiv64(a, b), op.imm),
            SDivX => alu64!(|a, b| sdiv64(a, b), reg[op.src()]),
            OrK => alu64!(|a, b| a | b, op.imm),
            OrX => alu64!(|a, b| a | b, reg[op.src()]),
            AndK => alu64!(|a, b| a & b, op.imm),
            AndX => alu64!(|a, b| a & b, reg[op.src()]),
            LshK => alu64!(|a, b| a.wrapping_shl(b as u32), op.imm),
            LshX => alu64!(|a, b| a.wrapping_shl(b as u32), reg[op.src()]),
            RshK => alu64!(|a, b| a.wrapping_shr(b as u32), op.imm),
            RshX => alu64!(|a, b| a.wrapping_shr(b as u32), reg[op.src()]),
            Neg => reg[op.dst()] = reg[op.dst()].wrapping_neg(),
            ModK => alu64!(|a, b| a.checked_rem(b).unwrap_or(a), op.imm),
            ModX => alu64!(|a, b| a.checked_rem(b).unwrap_or(a), reg[op.src()]),
            SModK => alu64!(|a, b| smod64(a, b), op.imm),
            SModX => alu64!(|a, b| smod64(a, b), reg[op.src()]),
            XorK => alu64!(|a, b| a ^ b, op.imm),
            XorX => alu64!(|a, b| a ^ b, reg[op.src()]),
            MovK => reg[op.dst()] = op.imm,
            MovX => reg[op.dst()] = reg[op.src()],
            MovSx8 => reg[op.dst()] = reg[op.src()] as i8 as i64 as u64,
            MovSx16 => reg[op.dst()] = reg[op.src()] as i16 as i64 as u64,
            MovSx32 => reg[op.dst()] = reg[op.src()] as i32 as i64 as u64,
            ArshK => alu64!(|a, b| ((a as i64).wrapping_shr(b as u32)) as u64, op.imm),
            ArshX => alu64!(|a, b| ((a as i64).wrapping_shr(b as u32)) as u64, reg[op.src()]),
            Swap16 => reg[op.dst()] = (reg[op.dst()] as u16).swap_bytes() as u64,
            Swap32 => reg[op.dst()] = (reg[op.dst()] as u32).swap_bytes() as u64,
            Swap64 => reg[op.dst()] = reg[op.dst()].swap_bytes(),

            // ---- ALU (32-bit, zero-extended) ----
            AddWK => alu32!(|a, b| a.wrapping_add(b), op.imm),
            AddWX => alu32!(|a, b| a.wrapping_add(b), reg[op.src()]),
            SubWK => alu32!(|a, b| a.wrapping_sub(b), op.imm),
            SubWX => alu32!(|a, b| a.wrapping_sub(b), reg[op.src()]),
            MulWK => alu32!(|a, b| a.wrapping_mul(b), op.imm),
            MulWX => alu32!(|a, b| a.wrapping_mul(b), reg[op.src()]),
            DivWK => alu32!(|a, b| a.checked_div(b).unwrap_or(0), op.imm),
            DivWX => alu32!(|a, b| a.checked_div(b).unwrap_or(0), reg[op.src()]),
            SDivWK => alu32!(|a, b| sdiv32(a, b), op.imm),
            SDivWX => alu32!(|a, b| sdiv32(a, b), reg[op.src()]),
            OrWK => alu32!(|a, b| a | b, op.imm),
            OrWX => alu32!(|a, b| a | b, reg[op.src()]),
            AndWK => alu32!(|a, b| a & b, op.imm),
            AndWX => alu32!(|a, b| a & b, reg[op.src()]),
            LshWK => alu32!(|a, b| a.wrapping_shl(b), op.imm),
            LshWX => alu32!(|a, b| a.wrapping_shl(b), reg[op.src()]),
            RshWK => alu32!(|a, b| a.wrapping_shr(b), op.imm),
            RshWX => alu32!(|a, b| a.wrapping_shr(b), reg[op.src()]),
            NegW => reg[op.dst()] = (reg[op.dst()] as u32).wrapping_neg() as u64,
            ModWK => alu32!(|a, b| a.checked_rem(b).unwrap_or(a), op.imm),
            ModWX => alu32!(|a, b| a.checked_rem(b).unwrap_or(a), reg[op.src()]),
            SModWK => alu32!(|a, b| smod32(a, b), op.imm),
            SModWX => alu32!(|a, b| smod32(a, b), reg[op.src()]),
            XorWK => alu32!(|a, b| a ^ b, op.imm),
            XorWX => alu32!(|a, b| a ^ b, reg[op.src()]),
            MovWK => reg[op.dst()] = op.imm as u32 as u64,
            MovWX => reg[op.dst()] = reg[op.src()] as u32 as u64,
            MovWSx8 => reg[op.dst()] = reg[op.src()] as i8 as i32 as u32 as u64,
            MovWSx16 => reg[op.dst()] = reg[op.src()] as i16 as i32 as u32 as u64,
            ArshWK => alu32!(|a, b| ((a as i32).wrapping_shr(b)) as u32, op.imm),
            ArshWX => alu32!(|a, b| ((a as i32).wrapping_shr(b)) as u32, reg[op.src()]),
            Le16 => reg[op.dst()] = (reg[op.dst()] as u16).to_le() as u64,
            Le32 => reg[op.dst()] = (reg[op.dst()] as u32).to_le() as u64,
            Le64 => reg[op.dst()] = reg[op.dst()].to_le(),
            Be16 => reg[op.dst()] = (reg[op.dst()] as u16).to_be() as u64,
            Be32 => reg[op.dst()] = (reg[op.dst()] as u32).to_be() as u64,
            Be64 => reg[op.dst()] = reg[op.dst()].to_be(),

            // ---- fused pairs (both halves run unless the budget ends
            // after the first: then the second slot is where it stops) ----
            MovAddX => fused!(|a| a.wrapping_add(reg[op.aux()])),
            MovAddK => fused!(|a| a.wrapping_add(op.imm)),
            MovLshK => fused!(|a| a.wrapping_shl(op.imm as u32)),
            MovRshK => fused!(|a| a.wrapping_shr(op.imm as u32)),
            MovAndK => fused!(|a| a & op.imm),

            LshAddX => {
                let d = op.dst();
                reg[d] = reg[d].wrapping_shl(op.imm as u32);
                if pc < view.len() {
                    reg[d] = reg[d].wrapping_add(reg[op.aux()]);
                    pc = pc.wrapping_add(1);
                }
            }
            IncJeqK => inc_jmp!(1, |a| a == k64!()),
            IncJeqX => inc_jmp!(1, |a| a == reg[op.src()]),
            IncJneK => inc_jmp!(1, |a| a != k64!()),
            IncJneX => inc_jmp!(1, |a| a != reg[op.src()]),
            IncJltK => inc_jmp!(1, |a| a < k64!()),
            IncJltX => inc_jmp!(1, |a| a < reg[op.src()]),
            IncJgtK => inc_jmp!(1, |a| a > k64!()),
            IncJgtX => inc_jmp!(1, |a| a > reg[op.src()]),
            IncJleK => inc_jmp!(1, |a| a <= k64!()),
            IncJleX => inc_jmp!(1, |a| a <= reg[op.src()]),
            IncJgeK => inc_jmp!(1, |a| a >= k64!()),
            IncJgeX => inc_jmp!(1, |a| a >= reg[op.src()]),
            DecJeqK => inc_jmp!(u64::MAX, |a| a == k64!()),
            DecJeqX => inc_jmp!(u64::MAX, |a| a == reg[op.src()]),
            DecJneK => inc_jmp!(u64::MAX, |a| a != k64!()),
            DecJneX => inc_jmp!(u64::MAX, |a| a != reg[op.src()]),
            DecJltK => inc_jmp!(u64::MAX, |a| a < k64!()),
            DecJltX => inc_jmp!(u64::MAX, |a| a < reg[op.src()]),
            DecJgtK => inc_jmp!(u64::MAX, |a| a > k64!()),
            DecJgtX => inc_jmp!(u64::MAX, |a| a > reg[op.src()]),
            DecJleK => inc_jmp!(u64::MAX, |a| a <= k64!()),
            DecJleX => inc_jmp!(u64::MAX, |a| a <= reg[op.src()]),
            DecJgeK => inc_jmp!(u64::MAX, |a| a >= k64!()),
            DecJgeX => inc_jmp!(u64::MAX, |a| a >= reg[op.src()]),

            Lddw => {
                reg[op.dst()] = op.imm;
                pc = pc.wrapping_add(1);
            }

            // ---- loads and stores through the region table ----
            Ldx8 => reg[op.dst()] = load!(1, u8) as u64,
            Ldx16 => reg[op.dst()] = load!(2, u16) as u64,
            Ldx32 => reg[op.dst()] = load!(4, u32) as u64,
            Ldx64 => reg[op.dst()] = load!(8, u64),
            Ldxs8 => reg[op.dst()] = load!(1, i8) as i64 as u64,
            Ldxs16 => reg[op.dst()] = load!(2, i16) as i64 as u64,
            Ldxs32 => reg[op.dst()] = load!(4, i32) as i64 as u64,
            St8 => store!(1, (op.imm as u8), hi_off!()),
            St16 => store!(2, (op.imm as u16), hi_off!()),
            St32 => store!(4, (op.imm as u32), hi_off!()),
            St64 => store!(8, k64!(), hi_off!()),
            Stx8 => store!(1, (reg[op.src()] as u8), op.imm),
            Stx16 => store!(2, (reg[op.src()] as u16), op.imm),
            Stx32 => store!(4, (reg[op.src()] as u32), op.imm),
            Stx64 => store!(8, reg[op.src()], op.imm),

            // ---- proven accesses ----
            Ldx8Stack => reg[op.dst()] = load_stack!(1, u8) as u64,
            Ldx16Stack => reg[op.dst()] = load_stack!(2, u16) as u64,
            Ldx32Stack => reg[op.dst()] = load_stack!(4, u32) as u64,
            Ldx64Stack => reg[op.dst()] = load_stack!(8, u64),
            St8Stack => store_stack!(1, (op.imm as u8), hi_off!()),
            St16Stack => store_stack!(2, (op.imm as u16), hi_off!()),
            St32Stack => store_stack!(4, (op.imm as u32), hi_off!()),
            St64Stack => store_stack!(8, k64!(), hi_off!()),
            Stx8Stack => store_stack!(1, (reg[op.src()] as u8), op.imm),
            Stx16Stack => store_stack!(2, (reg[op.src()] as u16), op.imm),
            Stx32Stack => store_stack!(4, (reg[op.src()] as u32), op.imm),
            Stx64Stack => store_stack!(8, reg[op.src()], op.imm),
            Ldx8Ctx => reg[op.dst()] = load_ctx!(1, u8) as u64,
            Ldx16Ctx => reg[op.dst()] = load_ctx!(2, u16) as u64,
            Ldx32Ctx => reg[op.dst()] = load_ctx!(4, u32) as u64,
            Ldx64Ctx => reg[op.dst()] = load_ctx!(8, u64),

            // ---- atomics (rare: decoded further here) ----
            Atomic32 => {
                let (dst, src) = (op.dst(), op.src());
                let addr = reg[dst].wrapping_add(hi_off!());
                let p = match mem.place::<4>(addr) {
                    Some(p) => p,
                    None => fail!(here!(), RunErrorKind::BadStore { addr, len: 4 }),
                };
                let old = u32::from_le_bytes(*p);
                let code = op.imm as i32;
                let new = match atomic_new(code, old as u64, reg[op.src()] as u32 as u64, reg[0] as u32 as u64) {
                    Some(v) => v as u32,
                    None => fail!(here!(), RunErrorKind::InvalidInsn),
                };
                *p = new.to_le_bytes();
                atomic_fetch(&mut reg, code, src, old as u64);
            }
            Atomic64 => {
                let (dst, src) = (op.dst(), op.src());
                let addr = reg[dst].wrapping_add(hi_off!());
                let p = match mem.place::<8>(addr) {
                    Some(p) => p,
                    None => fail!(here!(), RunErrorKind::BadStore { addr, len: 8 }),
                };
                let old = u64::from_le_bytes(*p);
                let code = op.imm as i32;
                let new = match atomic_new(code, old, reg[op.src()], reg[0]) {
                    Some(v) => v,
                    None => fail!(here!(), RunErrorKind::InvalidInsn),
                };
                *p = new.to_le_bytes();
                atomic_fetch(&mut reg, code, src, old);
            }

            // ---- jumps ----
            Ja => {
                let at = here!();
                pc = op.target();
                charge!(at);
            }
            JeqK => jmp_if!(reg[op.dst()] == k64!()),
            JeqX => jmp_if!(reg[op.dst()] == reg[op.src()]),
            JgtK => jmp_if!(reg[op.dst()] > k64!()),
            JgtX => jmp_if!(reg[op.dst()] > reg[op.src()]),
            JgeK => jmp_if!(reg[op.dst()] >= k64!()),
            JgeX => jmp_if!(reg[op.dst()] >= reg[op.src()]),
            JsetK => jmp_if!(reg[op.dst()] & k64!() != 0),
            JsetX => jmp_if!(reg[op.dst()] & reg[op.src()] != 0),
            JneK => jmp_if!(reg[op.dst()] != k64!()),
            JneX => jmp_if!(reg[op.dst()] != reg[op.src()]),
            JsgtK => jmp_if!((reg[op.dst()] as i64) > k64!() as i64),
            JsgtX => jmp_if!((reg[op.dst()] as i64) > reg[op.src()] as i64),
            JsgeK => jmp_if!((reg[op.dst()] as i64) >= k64!() as i64),
            JsgeX => jmp_if!((reg[op.dst()] as i64) >= reg[op.src()] as i64),
            JltK => jmp_if!(reg[op.dst()] < k64!()),
            JltX => jmp_if!(reg[op.dst()] < reg[op.src()]),
            JleK => jmp_if!(reg[op.dst()] <= k64!()),
            JleX => jmp_if!(reg[op.dst()] <= reg[op.src()]),
            JsltK => jmp_if!((reg[op.dst()] as i64) < k64!() as i64),
            JsltX => jmp_if!((reg[op.dst()] as i64) < reg[op.src()] as i64),
            JsleK => jmp_if!((reg[op.dst()] as i64) <= k64!() as i64),
            JsleX => jmp_if!((reg[op.dst()] as i64) <= reg[op.src()] as i64),
            JeqWK => jmp_if!(reg[op.dst()] as u32 == k32!()),
            JeqWX => jmp_if!(reg[op.dst()] as u32 == reg[op.src()] as u32),
            JgtWK => jmp_if!(reg[op.dst()] as u32 > k32!()),
            JgtWX => jmp_if!(reg[op.dst()] as u32 > reg[op.src()] as u32),
            JgeWK => jmp_if!(reg[op.dst()] as u32 >= k32!()),
            JgeWX => jmp_if!(reg[op.dst()] as u32 >= reg[op.src()] as u32),
            JsetWK => jmp_if!(reg[op.dst()] as u32 & k32!() != 0),
            JsetWX => jmp_if!(reg[op.dst()] as u32 & reg[op.src()] as u32 != 0),
            JneWK => jmp_if!(reg[op.dst()] as u32 != k32!()),
            JneWX => jmp_if!(reg[op.dst()] as u32 != reg[op.src()] as u32),
            JsgtWK => jmp_if!((reg[op.dst()] as i32) > k32!() as i32),
            JsgtWX => jmp_if!((reg[op.dst()] as i32) > reg[op.src()] as i32),
            JsgeWK => jmp_if!((reg[op.dst()] as i32) >= k32!() as i32),
            JsgeWX => jmp_if!((reg[op.dst()] as i32) >= reg[op.src()] as i32),
            JltWK => jmp_if!((reg[op.dst()] as u32) < k32!()),
            JltWX => jmp_if!((reg[op.dst()] as u32) < reg[op.src()] as u32),
            JleWK => jmp_if!(reg[op.dst()] as u32 <= k32!()),
            JleWX => jmp_if!(reg[op.dst()] as u32 <= reg[op.src()] as u32),
            JsltWK => jmp_if!((reg[op.dst()] as i32) < k32!() as i32),
            JsltWX => jmp_if!((reg[op.dst()] as i32) < reg[op.src()] as i32),
            JsleWK => jmp_if!((reg[op.dst()] as i32) <= k32!() as i32),
            JsleWX => jmp_if!((reg[op.dst()] as i32) <= reg[op.src()] as i32),

            // ---- calls and exit ----
            CallLocal => {
                if depth + 1 >= max_depth {
                    fail!(here!(), RunErrorKind::CallDepthExceeded);
                }
                match frames.get_mut(depth) {
                    Some(f) => *f = Frame { ret: pc, saved: [reg[6], reg[7], reg[8], reg[9]] },
                    None => fail!(here!(), RunErrorKind::CallDepthExceeded),
                }
                depth += 1;
                frame_top = stack_len.wrapping_sub(depth * FRAME_SIZE);
                reg[10] = stack_top.wrapping_sub((depth * FRAME_SIZE) as u64);
                let at = here!();
                pc = op.target();
                charge!(at);
            }
            CallHelper => {
                let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
                match helpers.call(op.imm as u32, args, mem) {
                    Ok(v) => reg[0] = v,
                    Err(e) => fail!(here!(), RunErrorKind::Helper(e)),
                }
            }
            Exit => {
                if depth == 0 {
                    return Ok(Finished { r0: reg[0], insns: budget - budget_left.rem });
                }
                depth -= 1;
                let f = match frames.get(depth) {
                    Some(f) => *f,
                    None => fail!(here!(), RunErrorKind::InvalidInsn),
                };
                reg[6] = f.saved[0];
                reg[7] = f.saved[1];
                reg[8] = f.saved[2];
                reg[9] = f.saved[3];
                frame_top = stack_len.wrapping_sub(depth * FRAME_SIZE);
                reg[10] = stack_top.wrapping_sub((depth * FRAME_SIZE) as u64);
                let at = here!();
                pc = f.ret;
                charge!(at);
            }
        }
    }
}
