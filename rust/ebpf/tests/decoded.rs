//! The pre-decoded interpreter (decode.rs, prove.rs, fast.rs): which
//! accesses are proven, programs built to defeat the proofs, the
//! straight-line budget, and random pointer-heavy programs, always
//! compared with the checked interpreter on the same buffers (same
//! results, same errors with the same addresses, same memory effects,
//! same helper calls and ticks).

mod common;
use common::*;
use ebpf::decode::Kind;
use ebpf::opcode::*;
use ebpf::{interpreter, memory, run_decoded, Decoded, Exit, HelperError, Helpers, Memory, RunError, RunErrorKind};

/// Kinds of the translated program, one per slot.
fn kinds(p: &Asm) -> Vec<Kind> {
    kinds_at(p, 0)
}

fn kinds_at(p: &Asm, entry: usize) -> Vec<Kind> {
    let prog = ebpf::verify(&p.code, entry, &ebpf::VerifyConfig::new(TEST_HELPER_IDS)).unwrap_or_else(|e| panic!("verify: {e}"));
    decode(&prog).iter().map(|o| o.kind()).collect()
}

/// Counts helper calls and ticks; helper 1 sums its arguments, helper 3
/// hands out `extra` read-only.
struct Counting<'a> {
    calls: u32,
    ticks: u64,
    extra: Option<&'a [u8]>,
}

impl<'a> Helpers<'a> for Counting<'a> {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        self.calls += 1;
        match id {
            1 => Ok(a.iter().fold(0u64, |s, x| s.wrapping_add(*x))),
            3 => match self.extra.take() {
                Some(b) => mem.add_readonly(b),
                None => Err(HelperError::INVALID),
            },
            _ => Err(HelperError::INVALID),
        }
    }
    fn tick(&mut self) -> Result<(), HelperError> {
        self.ticks += 1;
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Setup {
    virtual_addresses: bool,
    stack_len: usize,
    /// r1 = the context's address plus this.
    r1_shift: u64,
    budget: u64,
}

const SETUP: Setup = Setup { virtual_addresses: false, stack_len: memory::STACK_SIZE, r1_shift: 0, budget: 100_000 };

/// One run: result, context after it, helper calls, ticks.
type Run = (Result<Exit, RunError>, Vec<u8>, u32, u64);

/// The buffers both runs of a comparison share (so addresses agree too).
struct Bufs {
    stack: Vec<u8>,
    ctx: Vec<u8>,
    extra: [u8; 24],
}

fn run_one(code: &[u8], entry: usize, ctx_init: &[u8], s: Setup, bufs: &mut Bufs, decoded: bool) -> Run {
    let Bufs { stack, ctx, extra } = bufs;
    let prog = ebpf::verify(code, entry, &ebpf::VerifyConfig::new(TEST_HELPER_IDS)).unwrap_or_else(|e| panic!("verify: {e}"));
    let ops = decode(&prog);
    ctx.clear();
    ctx.extend_from_slice(ctx_init);
    let stack = &mut stack[..s.stack_len];
    let (r, calls, ticks) = {
        let mut h = Counting { calls: 0, ticks: 0, extra: Some(&extra[..]) };
        let mut mem = if s.virtual_addresses { Memory::with_virtual_addresses(stack) } else { Memory::new(stack) };
        let r1 = mem.add_writable(ctx).unwrap().wrapping_add(s.r1_shift);
        let r = if decoded {
            run_decoded(&Decoded::reuse(&ops, prog.entry()), &mut mem, &mut h, r1, s.budget)
        } else {
            interpreter::run(&prog, &mut mem, &mut h, r1, s.budget)
        };
        (r, h.calls, h.ticks)
    };
    (r, ctx.clone(), calls, ticks)
}

/// Runs `code` on both interpreters over the same buffers and requires
/// identical outcomes; returns the pre-decoded one.
fn both(code: &[u8], entry: usize, ctx_init: &[u8], s: Setup) -> Run {
    let mut bufs = Bufs { stack: vec![0u8; memory::STACK_SIZE], ctx: Vec::with_capacity(ctx_init.len()), extra: [0x5a; 24] };
    let checked = run_one(code, entry, ctx_init, s, &mut bufs, false);
    let fast = run_one(code, entry, ctx_init, s, &mut bufs, true);
    assert_eq!(checked, fast, "checked vs pre-decoded differ");
    fast
}

fn r0_of(run: &Run) -> u64 {
    match &run.0 {
        Ok(e) => e.r0,
        Err(e) => panic!("run failed: {e}"),
    }
}

#[test]
fn stack_accesses_through_r10_are_proven_inside_the_frame_only() {
    let mut p = Asm::new();
    p.stx(SIZE_DW, 10, 1, -8) // 0: proven
        .ldx(SIZE_DW, 0, 10, -8) // 1: proven
        .st(SIZE_W, 10, -512, 7) // 2: proven (frame bottom)
        .ldx(SIZE_W, 2, 10, -516) // 3: below this frame: checked
        .ldx(SIZE_B, 3, 10, 0) // 4: above the top: checked
        .exit();
    let k = kinds(&p);
    assert_eq!(&k[..5], &[Kind::Stx64Stack, Kind::Ldx64Stack, Kind::St32Stack, Kind::Ldx32, Kind::Ldx8]);
    // Slot 4 faults (r10 + 0 is past the stack) in both, at the same address.
    let r = both(&p.code, 0, &[0u8; 8], SETUP);
    assert!(matches!(r.0, Err(RunError { index: 4, kind: RunErrorKind::BadLoad { len: 1, .. } })), "{:?}", r.0);
}

#[test]
fn derived_stack_pointers_and_context_loads_are_proven_in_a_straight_line() {
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 6, 10) // 0: r6 = r10
        .alu64_k(ALU_ADD, 6, -16) // 1: r6 = r10 - 16
        .ldx(SIZE_W, 2, 1, 4) // 2: ctx + 4: proven
        .stx(SIZE_DW, 6, 2, 8) // 3: r10 - 8: proven
        .alu64_x(ALU_MOV, 7, 1) // 4: r7 = ctx
        .alu64_k(ALU_ADD, 7, 2) // 5
        .ldx(SIZE_H, 3, 7, 0) // 6: ctx + 2: proven
        .ldx(SIZE_DW, 0, 10, -8) // 7
        .alu64_x(ALU_ADD, 0, 3) // 8
        .exit();
    let k = kinds(&p);
    assert_eq!((k[2], k[3], k[6], k[7]), (Kind::Ldx32Ctx, Kind::Stx64Stack, Kind::Ldx16Ctx, Kind::Ldx64Stack));
    let ctx = [0u8, 0, 0x34, 0x12, 9, 0, 0, 0];
    let r = both(&p.code, 0, &ctx, SETUP);
    assert_eq!(r0_of(&r), 9 + 0x1234);
    // r1 not at a region start: the proven context loads take the checked
    // path (same values), and r1 near the end makes them fault alike.
    assert_eq!(r0_of(&both(&p.code, 0, &[0, 0, 0, 0, 0, 0x34, 0x12, 9, 0, 0, 0, 0], Setup { r1_shift: 3, ..SETUP })), 9 + 0x1234);
    let r = both(&p.code, 0, &ctx, Setup { r1_shift: 6, ..SETUP });
    assert!(matches!(r.0, Err(RunError { index: 2, .. })), "{:?}", r.0);
    // Virtual addresses: the same.
    assert_eq!(r0_of(&both(&p.code, 0, &ctx, Setup { virtual_addresses: true, ..SETUP })), 9 + 0x1234);
}

#[test]
fn a_register_that_is_a_stack_pointer_on_one_path_only_is_not_proven() {
    for scalar in [false, true] {
        let mut p = Asm::new();
        p.ldx(SIZE_B, 2, 1, 0) // 0: r2 = ctx[0]
            .alu64_x(ALU_MOV, 6, 10) // 1: r6 = r10
            .alu64_k(ALU_ADD, 6, -8) // 2: r6 = r10 - 8
            .jmp_k(JMP_JEQ, 2, 0, 1); // 3: ctx[0] == 0 -> 5
        if scalar {
            p.mov64(6, 12345); // 4: r6 = a number
        } else {
            p.alu64_x(ALU_MOV, 6, 1); // 4: r6 = ctx
        }
        p.st(SIZE_B, 6, 0, 42) // 5: *(u8 *)r6 = 42: two possible bases
            .ldx(SIZE_B, 0, 10, -8) // 6
            .exit();
        let k = kinds(&p);
        assert_eq!(k[5], Kind::St8, "a join point must forget r6");
        assert_eq!(k[6], Kind::Ldx8Stack);
        // Stack path: the store lands on the stack.
        assert_eq!(r0_of(&both(&p.code, 0, &[0, 0], SETUP)), 42);
        let r = both(&p.code, 0, &[1, 0], SETUP);
        if scalar {
            assert!(matches!(r.0, Err(RunError { index: 5, kind: RunErrorKind::BadStore { addr: 12345, len: 1 } })), "{:?}", r.0);
        } else {
            // Context path: the store lands in the context, not the stack.
            assert_eq!(r0_of(&r), 0);
            assert_eq!(r.1, [42, 0]);
        }
    }
}

#[test]
fn a_loop_that_moves_a_pointer_is_checked_at_the_loop_head() {
    // for (p = r10 - 8; p != r10 - 64; p -= 8) *(u64 *)p = p - r10
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 6, 10) // 0
        .alu64_k(ALU_ADD, 6, -8) // 1
        .alu64_x(ALU_MOV, 7, 10) // 2
        .alu64_k(ALU_ADD, 7, -64) // 3
        .alu64_x(ALU_MOV, 2, 6) // 4: loop
        .alu64_x(ALU_SUB, 2, 10) // 5
        .stx(SIZE_DW, 6, 2, 0) // 6: base moves each iteration
        .alu64_k(ALU_ADD, 6, -8) // 7
        .jmp_x(JMP_JNE, 6, 7, -5) // 8
        .ldx(SIZE_DW, 0, 10, -56) // 9
        .exit();
    let k = kinds(&p);
    assert_eq!(k[6], Kind::Stx64, "the loop head forgets r6");
    assert_eq!(r0_of(&both(&p.code, 0, &[], SETUP)) as i64, -56);
}

#[test]
fn writes_to_r10_are_refused() {
    let bad = [
        Asm::new().mov64(10, 0).exit().clone(),
        Asm::new().alu64_k(ALU_ADD, 10, 8).exit().clone(),
        Asm::new().alu32_k(ALU_ADD, 10, 8).exit().clone(),
        Asm::new().ldx(SIZE_DW, 10, 1, 0).exit().clone(),
        Asm::new().lddw(10, 1).exit().clone(),
        // Atomic fetch-add returns the old value in src = r10.
        Asm::new().insn(CLS_STX | MODE_ATOMIC | SIZE_DW, 1, 10, 0, ATOMIC_ADD | ATOMIC_FETCH).exit().clone(),
    ];
    for p in &bad {
        assert_eq!(verify_code(&p.code).unwrap_err().reason, ebpf::VerifyReason::WriteToFramePointer);
    }
}

#[test]
fn a_local_call_forgets_r0_to_r5() {
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 2, 10) // 0: r2 = r10
        .alu64_k(ALU_ADD, 2, -8) // 1: r2 = r10 - 8
        .call_local(3) // 2: -> 6, which sets r2 = ctx
        .st(SIZE_B, 2, 0, 42) // 3: must go through r2's new value
        .ldx(SIZE_B, 0, 10, -8) // 4
        .exit() // 5
        .alu64_x(ALU_MOV, 2, 1) // 6
        .exit(); // 7
    let k = kinds(&p);
    assert_eq!(k[3], Kind::St8);
    let r = both(&p.code, 0, &[0], SETUP);
    assert_eq!((r0_of(&r), r.1[0]), (0, 42));
    // Helper calls too (here the helper leaves r2 alone, but the proof
    // may not assume it).
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 2, 10).alu64_k(ALU_ADD, 2, -8).call_helper(1).st(SIZE_B, 2, 0, 42).ldx(SIZE_B, 0, 10, -8).exit();
    assert_eq!(kinds(&p)[3], Kind::St8);
    assert_eq!(r0_of(&both(&p.code, 0, &[0], SETUP)), 42);
}

#[test]
fn r6_to_r9_survive_a_local_call_but_a_callee_has_its_own_frame() {
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 6, 10) // 0: r6 = r10 - 8 of main's frame
        .alu64_k(ALU_ADD, 6, -8) // 1
        .st(SIZE_DW, 10, -8, 42) // 2
        .call_local(3) // 3: -> 7
        .ldx(SIZE_DW, 7, 6, 0) // 4: r6 restored: main's frame, proven
        .alu64_x(ALU_ADD, 0, 7) // 5
        .exit() // 6
        // 7: the callee reads through the caller's r6 (main's frame). It
        // starts at a call target, so nothing is known of r6 there, even
        // though the unreachable slots before it fall through with a fact.
        .ldx(SIZE_DW, 0, 6, 0) // 7
        .exit(); // 8
    let mut q = p.clone();
    q.code.truncate(7 * 8);
    q.alu64_x(ALU_MOV, 6, 10).alu64_k(ALU_ADD, 6, -8); // 7, 8: dead, set r6 = r10 - 8
    q.ldx(SIZE_DW, 0, 6, 0).exit(); // 9, 10: the callee
    q.code[3 * 8 + 4] = 5; // call -> 9
    for (prog, callee) in [(&p, 7), (&q, 9)] {
        let k = kinds(prog);
        assert_eq!(k[4], Kind::Ldx64Stack);
        assert_eq!(k[callee], Kind::Ldx64, "a callee knows nothing of its caller's registers");
        assert_eq!(r0_of(&both(&prog.code, 0, &[], SETUP)), 84);
    }
}

#[test]
fn alu32_on_a_stack_pointer_is_not_proven() {
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 6, 10).alu32_k(ALU_ADD, 6, -8).st(SIZE_DW, 6, 0, 1).mov64(0, 0).exit();
    assert_eq!(kinds(&p)[2], Kind::St64);
    for virtual_addresses in [false, true] {
        let r = both(&p.code, 0, &[], Setup { virtual_addresses, ..SETUP });
        assert!(matches!(r.0, Err(RunError { index: 2, kind: RunErrorKind::BadStore { .. } })), "{:?}", r.0);
    }
}

#[test]
fn an_entry_after_slot_0_starts_knowing_nothing() {
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 6, 10) // 0: would fall through into the entry with r6 = r10
        .ldx(SIZE_B, 0, 6, -8) // 1: entry: r6 is 0 here
        .exit();
    assert_eq!(kinds_at(&p, 1)[1], Kind::Ldx8);
    assert_eq!(kinds_at(&p, 0)[1], Kind::Ldx8Stack, "only because slot 1 is the entry");
    let r = both(&p.code, 1, &[7], SETUP);
    assert!(matches!(r.0, Err(RunError { index: 1, kind: RunErrorKind::BadLoad { addr, len: 1 } }) if addr == (-8i64) as u64), "{:?}", r.0);
    // And r1 is not known to be the context at an entry after slot 0.
    let mut p = Asm::new();
    p.mov64(2, 0).ldx(SIZE_B, 0, 1, 0).exit();
    assert_eq!(kinds_at(&p, 1)[1], Kind::Ldx8);
    assert_eq!(kinds_at(&p, 0)[1], Kind::Ldx8Ctx);
    assert_eq!(r0_of(&both(&p.code, 1, &[7], SETUP)), 7);
}

#[test]
fn a_stack_smaller_than_a_frame_falls_back_to_the_table() {
    let mut p = Asm::new();
    p.st(SIZE_DW, 10, -8, 5).ldx(SIZE_DW, 0, 10, -8).st(SIZE_B, 10, -512, 1).exit();
    assert_eq!(kinds(&p)[2], Kind::St8Stack);
    for virtual_addresses in [false, true] {
        let r = both(&p.code, 0, &[], Setup { stack_len: 256, virtual_addresses, ..SETUP });
        assert!(matches!(r.0, Err(RunError { index: 2, kind: RunErrorKind::BadStore { len: 1, .. } })), "{:?}", r.0);
    }
}

#[test]
fn deep_calls_use_their_own_frames() {
    // f(n): *(u64 *)(r10 - 8) = n; if n != 0 { f(n - 1) }; return n + *(u64 *)(r10 - 8)
    let mut p = Asm::new();
    p.mov64(1, 5) // 0
        .call_local(1) // 1: -> 3
        .exit() // 2
        .stx(SIZE_DW, 10, 1, -8) // 3: f
        .jmp_k(JMP_JEQ, 1, 0, 2) // 4
        .alu64_k(ALU_SUB, 1, 1) // 5
        .call_local(-4) // 6: -> 3
        .ldx(SIZE_DW, 0, 10, -8) // 7
        .alu64_x(ALU_ADD, 0, 0) // 8
        .exit(); // 9
    let k = kinds(&p);
    assert_eq!((k[3], k[7]), (Kind::Stx64Stack, Kind::Ldx64Stack));
    // Depth 6 of 8 frames; then a smaller stack that runs out of frames.
    assert_eq!(r0_of(&both(&p.code, 0, &[], SETUP)), 10);
    let r = both(&p.code, 0, &[], Setup { stack_len: 3 * memory::FRAME_SIZE, ..SETUP });
    assert!(matches!(r.0, Err(RunError { kind: RunErrorKind::CallDepthExceeded, .. })), "{:?}", r.0);
}

/// A loop of straight lines of various lengths, with an LDDW and a helper
/// call inside them.
fn budget_program() -> Asm {
    let mut p = Asm::new();
    p.mov64(6, 4) // 0
        .lddw(7, 0x1_0000_0001) // 1, 2
        .mov64(1, 1) // 3: loop
        .call_helper(1) // 4
        .lddw(2, 3) // 5, 6
        .alu64_x(ALU_ADD, 7, 2) // 7
        .st(SIZE_DW, 10, -8, 1) // 8
        .alu64_k(ALU_SUB, 6, 1) // 9
        .jmp_k(JMP_JNE, 6, 0, -8) // 10 -> 3
        .alu64_x(ALU_MOV, 0, 7) // 11
        .exit(); // 12
    p
}

#[test]
fn the_budget_runs_out_at_the_same_instruction() {
    let p = budget_program();
    let full = both(&p.code, 0, &[], SETUP);
    let insns = full.0.as_ref().unwrap().insns;
    assert_eq!(insns, 2 + 4 * 7 + 2);
    for budget in 0..=insns + 2 {
        let r = both(&p.code, 0, &[], Setup { budget, ..SETUP });
        if budget < insns {
            assert!(matches!(r.0, Err(RunError { kind: RunErrorKind::BudgetExhausted, .. })), "{budget}: {:?}", r.0);
        } else {
            assert_eq!(r.0.as_ref().unwrap().insns, insns);
        }
    }
}

#[test]
fn ticks_come_as_often_as_in_the_checked_interpreter() {
    let t = interpreter::TICK_INSNS;
    // An endless one-instruction loop, and a loop of 8-instruction lines.
    let endless = Asm::new().ja(-1).exit().clone();
    let p = budget_program();
    for budget in [t - 1, t, t + 1, 2 * t, 3 * t + 7] {
        let r = both(&endless.code, 0, &[], Setup { budget, ..SETUP });
        assert_eq!(r.3, (budget - 1) / t + 1, "budget {budget}");
        let r = both(&p.code, 0, &[], Setup { budget, ..SETUP });
        assert!(r.0.is_ok());
    }
    // Ticks inside straight lines: 1000 loop iterations with budget just
    // above a multiple of T.
    let mut long = budget_program();
    long.code[4] = 0xe8; // r6 = 1000
    long.code[5] = 0x03;
    let r = both(&long.code, 0, &[], Setup { budget: t + 3, ..SETUP });
    assert_eq!(r.3, 1);
}

fn pointer_program(r: &mut Rng) -> Vec<u8> {
    let mut p = Asm::new();
    // Prologue: pointers into the frame and the context in most registers.
    p.alu64_x(ALU_MOV, 6, 10).alu64_x(ALU_MOV, 7, 1).alu64_x(ALU_MOV, 8, 10).alu64_k(ALU_ADD, 8, -32);
    p.alu64_x(ALU_MOV, 9, 1).alu64_k(ALU_ADD, 9, 16).alu64_x(ALU_MOV, 2, 1).alu64_k(ALU_ADD, 2, 32);
    p.alu64_x(ALU_MOV, 3, 10).alu64_k(ALU_SUB, 3, 64);
    let start = p.len();
    let main_len = start + 24 + r.below(16) as usize;
    let total = main_len + 6;
    let sizes = [SIZE_B, SIZE_H, SIZE_W, SIZE_DW];
    for i in start..total {
        if i == main_len - 1 || i == total - 1 {
            p.exit();
            continue;
        }
        let reg = |r: &mut Rng| r.below(10) as u8;
        // A base and an offset that fit if the base still holds what the
        // prologue put there (stack pointers: negative offsets; context
        // pointers: small positive ones); r4 holds anything.
        let addr = |r: &mut Rng| {
            let b = [10, 6, 8, 3, 7, 9, 2, 1, 4][r.below(9) as usize];
            let o = if matches!(b, 10 | 6 | 8 | 3) { -8 - r.below(32) as i16 } else { r.below(32) as i16 };
            (b, if r.below(4) == 0 { o } else { o & !7 })
        };
        let in_main = i < main_len - 1;
        let end = if in_main { main_len - 1 } else { total - 1 };
        match r.below(20) {
            0 => p.alu64_x(ALU_MOV, reg(r), 10),
            1 => p.alu64_x(ALU_MOV, reg(r), 1),
            2 => p.alu64_x(ALU_MOV, reg(r), reg(r)),
            3 | 4 => p.alu64_k(if r.below(2) == 0 { ALU_ADD } else { ALU_SUB }, reg(r), (r.below(5) as i32 - 2) * 8),
            5 => p.alu32_k(ALU_ADD, reg(r), r.below(16) as i32 - 8),
            6 => p.mov64(reg(r), r.below(64) as i32),
            7..=9 => {
                let (b, o) = addr(r);
                // Loads into r0/r4/r5 mostly, so pointers survive.
                let d = if r.below(4) == 0 { reg(r) } else { [0, 4, 5][r.below(3) as usize] };
                p.ldx(sizes[r.below(4) as usize], d, b, o)
            }
            10..=12 => {
                let (b, o) = addr(r);
                p.stx(sizes[r.below(4) as usize], b, reg(r), o)
            }
            13 => {
                let (b, o) = addr(r);
                p.st(sizes[r.below(4) as usize], b, o, r.below(1000) as i32)
            }
            14 | 15 => {
                // A jump anywhere in the same function (backwards: loops,
                // bounded by the budget).
                let lo = if in_main { start } else { main_len };
                let t = lo + r.below((end - lo + 1) as u64) as usize;
                let rel = t as i64 - i as i64 - 1;
                p.jmp_k(if r.below(2) == 0 { JMP_JEQ } else { JMP_JGT }, reg(r), r.below(8) as i32, rel as i16)
            }
            16 if in_main => p.call_local((main_len - i - 1) as i32),
            16 => p.call_helper(1),
            17 => {
                let (b, o) = addr(r);
                p.insn(CLS_STX | MODE_ATOMIC | SIZE_DW, b, [0, 4, 5][r.below(3) as usize], o & !7, ATOMIC_ADD | ATOMIC_FETCH)
            }
            _ => p.alu64_x(ALU_ADD, reg(r), reg(r)),
        };
    }
    p.code
}

#[test]
fn random_pointer_programs_agree_with_the_checked_interpreter() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    let (mut ok, mut faults, mut exhausted, mut proven) = (0, 0, 0, 0);
    let ctx: Vec<u8> = (0..128u8).collect();
    for n in 0..6000 {
        let code = pointer_program(&mut r);
        let prog = match verify_code(&code) {
            Ok(p) => p,
            Err(_) => continue,
        };
        proven += decode(&prog)
            .iter()
            .filter(|o| {
                matches!(
                    o.kind(),
                    Kind::Ldx8Stack
                        | Kind::Ldx16Stack
                        | Kind::Ldx32Stack
                        | Kind::Ldx64Stack
                        | Kind::Stx8Stack
                        | Kind::Stx16Stack
                        | Kind::Stx32Stack
                        | Kind::Stx64Stack
                        | Kind::Ldx8Ctx
                        | Kind::Ldx16Ctx
                        | Kind::Ldx32Ctx
                        | Kind::Ldx64Ctx
                )
            })
            .count();
        let s = Setup { virtual_addresses: n % 2 == 1, budget: 500, ..SETUP };
        match both(&code, 0, &ctx, s).0 {
            Ok(_) => ok += 1,
            Err(RunError { kind: RunErrorKind::BudgetExhausted, .. }) => exhausted += 1,
            Err(_) => faults += 1,
        }
    }
    println!("random pointer programs: {ok} ok, {faults} faults, {exhausted} out of budget, {proven} proven accesses");
    assert!(ok > 300 && faults > 300 && exhausted > 50 && proven > 3000, "{ok} {faults} {exhausted} {proven}");
}

#[test]
fn mov_then_alu_pairs_are_fused_and_behave_as_two_instructions() {
    // r2 = r1; r2 op= ... for every fused form, with the second operand the
    // destination itself, the first source, or another register.
    let seconds: [(u8, bool, Kind); 5] = [
        (ALU_ADD, true, Kind::MovAddX),
        (ALU_ADD, false, Kind::MovAddK),
        (ALU_LSH, false, Kind::MovLshK),
        (ALU_RSH, false, Kind::MovRshK),
        (ALU_AND, false, Kind::MovAndK),
    ];
    for (code, x, fused) in seconds {
        for other in [2u8, 1, 3] {
            let mut p = Asm::new();
            p.lddw(1, 0x8765_4321_0fed_cba9).mov64(3, 77).alu64_x(ALU_MOV, 2, 1); // 0-3
            if x {
                p.alu64_x(code, 2, other); // 4
            } else {
                p.alu64_k(code, 2, -13 + other as i32); // 4
            }
            p.alu64_x(ALU_MOV, 0, 2).exit();
            let k = kinds(&p);
            assert_eq!((k[3], k[4]), (fused, if x { Kind::AddX } else { k[4] }), "{code:#x} {x}");
            let full = both(&p.code, 0, &[], SETUP);
            let insns = full.0.as_ref().unwrap().insns;
            assert_eq!(insns, 6);
            // The budget ends between the two halves, and on either side.
            for budget in 2..=5 {
                let r = both(&p.code, 0, &[], Setup { budget, ..SETUP });
                assert!(matches!(r.0, Err(RunError { index, kind: RunErrorKind::BudgetExhausted }) if index == budget as usize + 1), "{budget}: {:?}", r.0);
            }
        }
    }
    // Not fused: a different destination, or a jump lands on the second.
    let mut p = Asm::new();
    p.alu64_x(ALU_MOV, 2, 1).alu64_k(ALU_ADD, 3, 1).mov64(0, 0).exit();
    assert_eq!(kinds(&p)[0], Kind::MovX);
    let mut p = Asm::new();
    p.mov64(0, 1).jmp_k(JMP_JEQ, 0, 1, 1).alu64_x(ALU_MOV, 2, 10).alu64_k(ALU_ADD, 2, -8).alu64_x(ALU_MOV, 0, 2).exit();
    assert_eq!(kinds(&p)[2], Kind::MovX);
    let r = both(&p.code, 0, &[], SETUP);
    assert!(r.0.is_ok());
}

#[test]
fn increment_then_jump_pairs_are_fused_and_behave_as_two_instructions() {
    use Kind::*;
    let jumps: [(u8, [Kind; 2], [Kind; 2]); 6] = [
        (JMP_JEQ, [IncJeqK, IncJeqX], [DecJeqK, DecJeqX]),
        (JMP_JNE, [IncJneK, IncJneX], [DecJneK, DecJneX]),
        (JMP_JLT, [IncJltK, IncJltX], [DecJltK, DecJltX]),
        (JMP_JGT, [IncJgtK, IncJgtX], [DecJgtK, DecJgtX]),
        (JMP_JLE, [IncJleK, IncJleX], [DecJleK, DecJleX]),
        (JMP_JGE, [IncJgeK, IncJgeX], [DecJgeK, DecJgeX]),
    ];
    // (ALU op, its immediate, increments?): sub -1 is an increment too.
    let steps: [(u8, i32, bool); 4] = [(ALU_ADD, 1, true), (ALU_SUB, -1, true), (ALU_SUB, 1, false), (ALU_ADD, -1, false)];
    let mut runs = 0;
    for (jmp, inc_kinds, dec_kinds) in jumps {
        for (alu, imm, inc) in steps {
            for x in [false, true] {
                // Starting values around the bound 5, and around the wrap
                // (0 / u64::MAX: compares are unsigned).
                for start in [3u64, 4, 5, 6, 7, 0, u64::MAX, u64::MAX - 1] {
                    for bound in [5i32, 0, -1] {
                        let mut p = Asm::new();
                        p.lddw(1, start).mov64(3, bound).mov64(0, 0); // 0-3
                        p.alu64_k(ALU_ADD, 0, 1); // 4: loop
                        p.alu64_k(alu, 1, imm); // 5
                        if x {
                            p.jmp_x(jmp, 1, 3, -3); // 6 -> 4
                        } else {
                            p.jmp_k(jmp, 1, bound, -3); // 6 -> 4
                        }
                        p.exit(); // 7
                        let k = kinds(&p);
                        let want = if inc { inc_kinds } else { dec_kinds }[x as usize];
                        assert_eq!(k[5], want, "{jmp:#x} {alu:#x} {imm} {x}");
                        // The jump slot keeps its own op.
                        assert_eq!(k[6], if x { jmp_kind_x(jmp) } else { jmp_kind_k(jmp) });
                        // Loops that do not end run out of budget, on both.
                        let full = both(&p.code, 0, &[], Setup { budget: 64, ..SETUP });
                        runs += 1;
                        // The budget ends at every instruction, in
                        // particular between the two halves.
                        let insns = match &full.0 {
                            Ok(e) => e.insns,
                            Err(_) => 64,
                        };
                        for budget in 0..insns.min(20) {
                            let r = both(&p.code, 0, &[], Setup { budget, ..SETUP });
                            assert!(matches!(r.0, Err(RunError { kind: RunErrorKind::BudgetExhausted, .. })), "{budget}: {:?}", r.0);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(runs, 6 * 4 * 2 * 8 * 3);
    // Not fused: a step other than 1, another register, ALU32, and a jump
    // (here: the loop's back edge) that lands on the jump slot.
    let not_fused = |p: &Asm, at: usize| {
        let k = kinds(p);
        assert!(!format!("{:?}", k[at]).starts_with("Inc") && !format!("{:?}", k[at]).starts_with("Dec"), "{:?}", k[at]);
        let r = both(&p.code, 0, &[], Setup { budget: 100, ..SETUP });
        assert!(r.0.is_ok() || matches!(r.0, Err(RunError { kind: RunErrorKind::BudgetExhausted, .. })));
    };
    not_fused(Asm::new().mov64(1, 9).alu64_k(ALU_ADD, 1, 2).jmp_k(JMP_JLT, 1, 20, -2).mov64(0, 0).exit(), 1);
    not_fused(Asm::new().mov64(1, 9).alu64_k(ALU_ADD, 2, 1).jmp_k(JMP_JLT, 1, 20, -2).mov64(0, 0).exit(), 1);
    not_fused(Asm::new().mov64(1, 9).alu32_k(ALU_ADD, 1, 1).jmp_k(JMP_JLT, 1, 20, -2).mov64(0, 0).exit(), 1);
    not_fused(Asm::new().mov64(1, 9).jmp_k(JMP_JSGT, 1, 20, -2).mov64(0, 0).exit(), 0);
    // A jump onto the jump slot does not prevent the fusion (the slot keeps
    // its own op, which then runs alone): r1 counts up to 20, the back edge
    // lands on the jump itself.
    let mut p = Asm::new();
    p.mov64(1, 0).mov64(0, 0).alu64_k(ALU_ADD, 1, 1).jmp_k(JMP_JGE, 1, 20, 2).alu64_k(ALU_ADD, 1, 1).ja(-3).exit();
    // 0: r1 = 0; 1: r0 = 0; 2: r1 += 1; 3: if r1 >= 20 goto 6; 4: r1 += 1; 5: goto 3; 6: exit
    assert_eq!((kinds(&p)[2], kinds(&p)[3]), (Kind::IncJgeK, Kind::JgeK));
    let r = both(&p.code, 0, &[], SETUP);
    assert_eq!(r.0.as_ref().unwrap().insns, 2 + 2 + 19 * 3 + 1);
    for budget in 0..2 + 2 + 19 * 3 + 1 {
        let r = both(&p.code, 0, &[], Setup { budget, ..SETUP });
        assert!(matches!(r.0, Err(RunError { kind: RunErrorKind::BudgetExhausted, .. })), "{budget}: {:?}", r.0);
    }
    // The same with a loop guard that jumps onto the loop's closing jump
    // (as the bench's byte histogram does when the length is 0).
    for n in [0, 1, 3] {
        let mut p = Asm::new();
        p.mov64(2, n).mov64(3, 0).mov64(0, 0).jmp_k(JMP_JEQ, 2, 0, 2); // 0-3 -> 6
        p.alu64_k(ALU_ADD, 0, 7).alu64_k(ALU_ADD, 3, 1).jmp_x(JMP_JLT, 3, 2, -3).exit(); // 4-7
        assert_eq!((kinds(&p)[5], kinds(&p)[6]), (Kind::IncJltX, Kind::JltX));
        assert_eq!(r0_of(&both(&p.code, 0, &[], SETUP)), 7 * n as u64);
    }
}

fn jmp_kind_k(jmp: u8) -> Kind {
    match jmp {
        JMP_JEQ => Kind::JeqK,
        JMP_JNE => Kind::JneK,
        JMP_JLT => Kind::JltK,
        JMP_JGT => Kind::JgtK,
        JMP_JLE => Kind::JleK,
        _ => Kind::JgeK,
    }
}

fn jmp_kind_x(jmp: u8) -> Kind {
    match jmp {
        JMP_JEQ => Kind::JeqX,
        JMP_JNE => Kind::JneX,
        JMP_JLT => Kind::JltX,
        JMP_JGT => Kind::JgtX,
        JMP_JLE => Kind::JleX,
        _ => Kind::JgeX,
    }
}

#[test]
fn shift_then_add_pairs_are_fused_and_behave_as_two_instructions() {
    // r2 <<= k; r2 += other, with other the destination itself, another
    // register, and shifts of 0, 2, 63 and 64 (masked to 0).
    for k in [0i32, 2, 63, 64] {
        for other in [2u8, 1, 3] {
            let mut p = Asm::new();
            p.lddw(1, 0x8765_4321_0fed_cba9).lddw(2, 0x0123_4567_89ab_cdef).mov64(3, -77); // 0-4
            p.alu64_k(ALU_LSH, 2, k).alu64_x(ALU_ADD, 2, other); // 5, 6
            p.alu64_x(ALU_MOV, 0, 2).exit();
            let k5 = kinds(&p);
            assert_eq!((k5[5], k5[6]), (Kind::LshAddX, Kind::AddX), "{k} {other}");
            let full = both(&p.code, 0, &[], SETUP);
            assert_eq!(full.0.as_ref().unwrap().insns, 7);
            for budget in 0..7 {
                let r = both(&p.code, 0, &[], Setup { budget, ..SETUP });
                assert!(matches!(r.0, Err(RunError { kind: RunErrorKind::BudgetExhausted, .. })), "{budget}: {:?}", r.0);
            }
        }
    }
    // Not fused: another destination, or a jump lands on the add.
    let mut p = Asm::new();
    p.mov64(2, 5).alu64_k(ALU_LSH, 2, 3).alu64_x(ALU_ADD, 3, 2).alu64_x(ALU_MOV, 0, 3).exit();
    assert_eq!(kinds(&p)[1], Kind::LshK);
    let mut p = Asm::new();
    p.mov64(2, 5).jmp_k(JMP_JEQ, 2, 5, 1).alu64_k(ALU_LSH, 2, 3).alu64_x(ALU_ADD, 2, 2).alu64_x(ALU_MOV, 0, 2).exit();
    assert_eq!(kinds(&p)[2], Kind::LshK);
    assert_eq!(r0_of(&both(&p.code, 0, &[], SETUP)), 10);
}
