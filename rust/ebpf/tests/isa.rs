//! Per-instruction-class tests against RFC 9669 semantics.

mod common;
use common::*;
use ebpf::opcode::*;
use ebpf::RunErrorKind;

/// r0 = a; r0 <op>= b (64-bit, immediate); exit.
fn a64k(a: u64, code: u8, b: i32) -> u64 {
    let mut p = Asm::new();
    p.lddw(0, a).alu64_k(code, 0, b).exit();
    r0(&p)
}
fn a64x(a: u64, code: u8, b: u64) -> u64 {
    let mut p = Asm::new();
    p.lddw(0, a).lddw(1, b).alu64_x(code, 0, 1).exit();
    r0(&p)
}
fn a32k(a: u64, code: u8, b: i32) -> u64 {
    let mut p = Asm::new();
    p.lddw(0, a).alu32_k(code, 0, b).exit();
    r0(&p)
}
fn a32x(a: u64, code: u8, b: u64) -> u64 {
    let mut p = Asm::new();
    p.lddw(0, a).lddw(1, b).alu32_x(code, 0, 1).exit();
    r0(&p)
}
fn signed(code: u8, is64: bool, a: u64, b: u64) -> u64 {
    let mut p = Asm::new();
    let cls = if is64 { CLS_ALU64 } else { CLS_ALU };
    p.lddw(0, a).lddw(1, b).insn(cls | SRC_X | code, 0, 1, 1, 0).exit();
    r0(&p)
}

#[test]
fn alu64_arithmetic() {
    assert_eq!(a64k(5, ALU_ADD, -7), (-2i64) as u64);
    assert_eq!(a64x(u64::MAX, ALU_ADD, 2), 1);
    assert_eq!(a64k(5, ALU_SUB, 7), (-2i64) as u64);
    assert_eq!(a64x(3, ALU_MUL, 1 << 63), 1 << 63);
    assert_eq!(a64k(100, ALU_DIV, 7), 14);
    // Immediates are sign-extended, then divided unsigned.
    assert_eq!(a64k(u64::MAX, ALU_DIV, -1), 1);
    assert_eq!(a64k(100, ALU_MOD, 7), 2);
    assert_eq!(a64x(0xff00, ALU_OR, 0x0ff0), 0xfff0);
    assert_eq!(a64x(0xff00, ALU_AND, 0x0ff0), 0x0f00);
    assert_eq!(a64x(0xff00, ALU_XOR, 0x0ff0), 0xf0f0);
    assert_eq!(a64k(0, ALU_MOV, -1), u64::MAX);
    let mut p = Asm::new();
    p.lddw(0, 5).insn(CLS_ALU64 | ALU_NEG, 0, 0, 0, 0).exit();
    assert_eq!(r0(&p), (-5i64) as u64);
}

#[test]
fn alu32_zero_extends() {
    assert_eq!(a32k(0xffff_ffff_0000_0001, ALU_ADD, 1), 2);
    assert_eq!(a32k(0, ALU_SUB, 1), 0xffff_ffff);
    assert_eq!(a32x(0x1_0000_0003, ALU_MUL, 0x1_0000_0005), 15);
    assert_eq!(a32k(0xdead_0000_0000_0064, ALU_DIV, 7), 14);
    assert_eq!(a32k(7, ALU_MOV, -1), 0xffff_ffff);
    assert_eq!(a32x(0xffff_ffff_1234_5678, ALU_MOV, 0), 0);
    assert_eq!(a32x(7, ALU_MOV, 0xaaaa_bbbb_cccc_dddd), 0xcccc_dddd);
    assert_eq!(a32x(0xffff_0000_0000_f0f0, ALU_OR, 0x0f0f), 0xffff);
    let mut p = Asm::new();
    p.lddw(0, 0xffff_ffff_0000_0005).insn(CLS_ALU | ALU_NEG, 0, 0, 0, 0).exit();
    assert_eq!(r0(&p), 0xffff_fffb);
}

#[test]
fn division_and_modulo_by_zero() {
    // RFC 9669: dst / 0 = 0, dst % 0 = dst (32-bit: zero-extended dst).
    assert_eq!(a64x(42, ALU_DIV, 0), 0);
    assert_eq!(a64k(42, ALU_DIV, 0), 0);
    assert_eq!(a64x(42, ALU_MOD, 0), 42);
    assert_eq!(a64k(42, ALU_MOD, 0), 42);
    assert_eq!(a32x(0xffff_ffff_0000_002a, ALU_DIV, 0), 0);
    assert_eq!(a32x(0xffff_ffff_0000_002a, ALU_MOD, 0), 42);
    // The 32-bit divisor is the low half only.
    assert_eq!(a32x(42, ALU_DIV, 0x1_0000_0000), 0);
    assert_eq!(a32x(42, ALU_MOD, 0x1_0000_0000), 42);
    assert_eq!(signed(ALU_DIV, true, 42, 0), 0);
    assert_eq!(signed(ALU_MOD, true, (-42i64) as u64, 0), (-42i64) as u64);
    assert_eq!(signed(ALU_DIV, false, 42, 0), 0);
    assert_eq!(signed(ALU_MOD, false, 0xffff_ffff_ffff_ffd6, 0), 0xffff_ffd6);
}

#[test]
fn signed_division_and_modulo() {
    assert_eq!(signed(ALU_DIV, true, (-7i64) as u64, 2), (-3i64) as u64);
    assert_eq!(signed(ALU_MOD, true, (-7i64) as u64, 2), (-1i64) as u64);
    assert_eq!(signed(ALU_MOD, true, 7, (-2i64) as u64), 1);
    // Overflow: MIN / -1 = MIN, MIN % -1 = 0.
    assert_eq!(signed(ALU_DIV, true, 1 << 63, u64::MAX), 1 << 63);
    assert_eq!(signed(ALU_MOD, true, 1 << 63, u64::MAX), 0);
    assert_eq!(signed(ALU_DIV, false, (-7i32) as u32 as u64, 2), (-3i32) as u32 as u64);
    assert_eq!(signed(ALU_DIV, false, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
    assert_eq!(signed(ALU_MOD, false, 0x8000_0000, 0xffff_ffff), 0);
    // Immediate form, 64-bit.
    let mut p = Asm::new();
    p.mov64(0, -9).insn(CLS_ALU64 | ALU_DIV, 0, 0, 1, 2).exit();
    assert_eq!(r0(&p), (-4i64) as u64);
}

#[test]
fn shifts_mask_the_amount() {
    assert_eq!(a64k(1, ALU_LSH, 65), 2);
    assert_eq!(a64x(1, ALU_LSH, 64 + 63), 1 << 63);
    assert_eq!(a64k(1 << 63, ALU_RSH, 63), 1);
    assert_eq!(a64k(1 << 63, ALU_ARSH, 63), u64::MAX);
    assert_eq!(a64x(1 << 63, ALU_ARSH, 0x40 + 62), (-2i64) as u64);
    assert_eq!(a32k(1, ALU_LSH, 33), 2);
    assert_eq!(a32x(0x8000_0000, ALU_RSH, 32 + 31), 1);
    assert_eq!(a32k(0x8000_0000, ALU_ARSH, 31), 0xffff_ffff);
    assert_eq!(a32k(0xffff_ffff_0000_0001, ALU_LSH, 0), 1);
}

#[test]
fn byte_swaps() {
    let v = 0x0102_0304_0506_0708u64;
    let end = |op: u8, imm: i32| {
        let mut p = Asm::new();
        p.lddw(0, v).insn(op, 0, 0, 0, imm).exit();
        r0(&p)
    };
    // Host (x86) is little endian: TO_LE truncates, TO_BE swaps.
    assert_eq!(end(0xd4, 16), 0x0708);
    assert_eq!(end(0xd4, 32), 0x0506_0708);
    assert_eq!(end(0xd4, 64), v);
    assert_eq!(end(0xdc, 16), 0x0807);
    assert_eq!(end(0xdc, 32), 0x0807_0605);
    assert_eq!(end(0xdc, 64), 0x0807_0605_0403_0201);
    // BSWAP (ALU64 END) swaps unconditionally.
    assert_eq!(end(0xd7, 16), 0x0807);
    assert_eq!(end(0xd7, 32), 0x0807_0605);
    assert_eq!(end(0xd7, 64), 0x0807_0605_0403_0201);
}

#[test]
fn sign_extending_moves() {
    let movsx = |cls: u8, width: i16, v: u64| {
        let mut p = Asm::new();
        p.lddw(1, v).insn(cls | SRC_X | ALU_MOV, 0, 1, width, 0).exit();
        r0(&p)
    };
    assert_eq!(movsx(CLS_ALU64, 8, 0x80), 0xffff_ffff_ffff_ff80);
    assert_eq!(movsx(CLS_ALU64, 16, 0x1_8000), 0xffff_ffff_ffff_8000);
    assert_eq!(movsx(CLS_ALU64, 32, 0x8000_0000), 0xffff_ffff_8000_0000);
    assert_eq!(movsx(CLS_ALU64, 8, 0x7f), 0x7f);
    assert_eq!(movsx(CLS_ALU, 8, 0x80), 0xffff_ff80);
    assert_eq!(movsx(CLS_ALU, 16, 0xffff_8000), 0xffff_8000);
}

#[test]
fn lddw_loads_64_bits() {
    let mut p = Asm::new();
    p.lddw(3, 0x8765_4321_dead_beef).alu64_x(ALU_MOV, 0, 3).exit();
    assert_eq!(r0(&p), 0x8765_4321_dead_beef);
}

#[test]
fn loads_and_stores_all_sizes() {
    let mut ctx = [0u8; 32];
    let mut p = Asm::new();
    p.lddw(2, 0x1122_3344_5566_7788)
        .stx(SIZE_DW, 1, 2, 0)
        .stx(SIZE_W, 1, 2, 8)
        .stx(SIZE_H, 1, 2, 12)
        .stx(SIZE_B, 1, 2, 14)
        .st(SIZE_DW, 1, 16, -2)
        .st(SIZE_W, 1, 24, 0x0a0b_0c0d)
        .st(SIZE_H, 1, 28, 0x0e0f)
        .st(SIZE_B, 1, 30, 0x7f)
        .ldx(SIZE_DW, 0, 1, 0)
        .ldx(SIZE_W, 3, 1, 8)
        .alu64_x(ALU_ADD, 0, 3)
        .ldx(SIZE_H, 3, 1, 12)
        .alu64_x(ALU_ADD, 0, 3)
        .ldx(SIZE_B, 3, 1, 14)
        .alu64_x(ALU_ADD, 0, 3)
        .exit();
    let r = run_ctx(&p.code, &mut ctx).unwrap().r0;
    let expect = 0x1122_3344_5566_7788u64 + 0x5566_7788 + 0x7788 + 0x88;
    assert_eq!(r, expect);
    assert_eq!(&ctx[0..8], &0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(&ctx[8..12], &0x5566_7788u32.to_le_bytes());
    assert_eq!(&ctx[12..15], &[0x88, 0x77, 0x88]);
    assert_eq!(&ctx[16..24], &(-2i64).to_le_bytes());
    assert_eq!(&ctx[24..31], &[0x0d, 0x0c, 0x0b, 0x0a, 0x0f, 0x0e, 0x7f]);
}

#[test]
fn sign_extending_loads() {
    let mut ctx = [0x80u8, 0x80, 0x80, 0x80, 0, 0, 0, 0];
    for (size, expect) in [
        (SIZE_B, 0xffff_ffff_ffff_ff80u64),
        (SIZE_H, 0xffff_ffff_ffff_8080),
        (SIZE_W, 0xffff_ffff_8080_8080),
    ] {
        let mut p = Asm::new();
        p.insn(CLS_LDX | MODE_MEMSX | size, 0, 1, 0, 0).exit();
        assert_eq!(run_ctx(&p.code, &mut ctx).unwrap().r0, expect);
    }
}

#[test]
fn stack_is_usable_and_zeroed() {
    let mut p = Asm::new();
    p.ldx(SIZE_DW, 0, 10, -8) // fresh stack reads as 0
        .st(SIZE_DW, 10, -8, 77)
        .ldx(SIZE_DW, 2, 10, -8)
        .alu64_x(ALU_ADD, 0, 2)
        .ldx(SIZE_B, 2, 10, -512)
        .exit();
    assert_eq!(r0(&p), 77);
}

#[test]
fn memory_outside_regions_faults() {
    let mut ctx = [0u8; 8];
    // One past the end of the context.
    let mut p = Asm::new();
    p.ldx(SIZE_B, 0, 1, 8).exit();
    let e = run_ctx(&p.code, &mut ctx).unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::BadLoad { len: 1, .. }), "{e}");
    assert_eq!(e.index, 0);
    // Straddling the end.
    let mut p = Asm::new();
    p.mov64(0, 0).stx(SIZE_DW, 1, 0, 4).exit();
    let e = run_ctx(&p.code, &mut ctx).unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::BadStore { len: 8, .. }), "{e}");
    assert_eq!(e.index, 1);
    // Above the stack top.
    let mut p = Asm::new();
    p.ldx(SIZE_B, 0, 10, 0).exit();
    assert!(run_ctx(&p.code, &mut ctx).is_err());
    // Below the whole stack.
    let mut p = Asm::new();
    p.ldx(SIZE_B, 0, 10, -(ebpf::memory::STACK_SIZE as i16) - 1).exit();
    assert!(run_ctx(&p.code, &mut ctx).is_err());
    // Null and wrap-around addresses.
    let mut p = Asm::new();
    p.mov64(1, 0).ldx(SIZE_DW, 0, 1, 0).exit();
    assert!(run_ctx(&p.code, &mut ctx).is_err());
    let mut p = Asm::new();
    p.mov64(1, -1).ldx(SIZE_DW, 0, 1, 0).exit();
    assert!(run_ctx(&p.code, &mut ctx).is_err());
}

#[test]
fn readonly_regions_reject_stores() {
    let extra = [9u8; 16];
    let mut p = Asm::new();
    p.call_helper(3) // r0 = address of `extra` (read-only)
        .ldx(SIZE_B, 2, 0, 15)
        .stx(SIZE_B, 0, 2, 0)
        .exit();
    let prog = verify_code(&p.code).unwrap();
    let mut stack = vec![0u8; ebpf::memory::STACK_SIZE];
    let mut mem = ebpf::Memory::new(&mut stack);
    let mut h = TestHelpers { extra: Some(&extra), calls: 0 };
    let e = ebpf::run(&prog, &mut mem, &mut h, 0, 1000).unwrap_err();
    assert_eq!(e.index, 2);
    assert!(matches!(e.kind, RunErrorKind::BadStore { len: 1, .. }));
}

#[test]
fn atomics() {
    let mut ctx = [0u8; 16];
    ctx[0..8].copy_from_slice(&10u64.to_le_bytes());
    ctx[8..12].copy_from_slice(&0xf0u32.to_le_bytes());
    let mut p = Asm::new();
    p.mov64(2, 5)
        .insn(0xdb, 1, 2, 0, ATOMIC_ADD) // [0] = 15
        .mov64(3, 1)
        .insn(0xdb, 1, 3, 0, ATOMIC_ADD | ATOMIC_FETCH) // r3 = 15, [0] = 16
        .mov64(4, 0x0f)
        .insn(0xc3, 1, 4, 8, ATOMIC_OR | ATOMIC_FETCH) // r4 = 0xf0, [8] = 0xff
        .mov64(5, 0x3c)
        .insn(0xc3, 1, 5, 8, ATOMIC_AND) // [8] = 0x3c
        .mov64(6, 0xff)
        .insn(0xc3, 1, 6, 8, ATOMIC_XOR | ATOMIC_FETCH) // r6 = 0x3c, [8] = 0xc3
        .mov64(7, 99)
        .insn(0xdb, 1, 7, 0, ATOMIC_XCHG) // r7 = 16, [0] = 99
        .mov64(0, 98)
        .mov64(8, 1234)
        .insn(0xdb, 1, 8, 0, ATOMIC_CMPXCHG) // no match: r0 = 99
        .insn(0xdb, 1, 8, 0, ATOMIC_CMPXCHG) // match: [0] = 1234, r0 = 99
        .alu64_x(ALU_ADD, 0, 3) // 99 + 15
        .alu64_x(ALU_ADD, 0, 4) // + 0xf0
        .alu64_x(ALU_ADD, 0, 6) // + 0x3c
        .alu64_x(ALU_ADD, 0, 7) // + 16
        .exit();
    let r = run_ctx(&p.code, &mut ctx).unwrap().r0;
    assert_eq!(r, 99 + 15 + 0xf0 + 0x3c + 16);
    assert_eq!(u64::from_le_bytes(ctx[0..8].try_into().unwrap()), 1234);
    assert_eq!(u32::from_le_bytes(ctx[8..12].try_into().unwrap()), 0xc3);
}

#[test]
fn atomic32_cmpxchg_zero_extends() {
    let mut ctx = 7u32.to_le_bytes();
    let mut p = Asm::new();
    p.lddw(0, 0xffff_ffff_0000_0007).mov64(2, 8).insn(0xc3, 1, 2, 0, ATOMIC_CMPXCHG).exit();
    assert_eq!(run_ctx(&p.code, &mut ctx).unwrap().r0, 7);
    assert_eq!(u32::from_le_bytes(ctx), 8);
}

/// Runs `if (a <op> b) r0 = 1 else r0 = 0` for a jump opcode.
fn taken(op: u8, a: u64, b: u64, imm: i32) -> bool {
    let mut p = Asm::new();
    p.lddw(1, a).lddw(2, b).mov64(0, 0).insn(op, 1, if op & SRC_X != 0 { 2 } else { 0 }, 1, imm).exit().mov64(0, 1).exit();
    r0(&p) == 1
}

#[test]
fn jumps_64() {
    let neg1 = u64::MAX;
    for (code, a, b, expect) in [
        (JMP_JEQ, 5, 5, true),
        (JMP_JEQ, 5, 6, false),
        (JMP_JNE, 5, 6, true),
        (JMP_JGT, neg1, 1, true),
        (JMP_JGE, 1, 1, true),
        (JMP_JLT, 1, neg1, true),
        (JMP_JLE, 2, 1, false),
        (JMP_JSGT, neg1, 1, false),
        (JMP_JSGE, 1, neg1, true),
        (JMP_JSLT, neg1, 1, true),
        (JMP_JSLE, neg1, neg1, true),
        (JMP_JSET, 6, 1, false),
        (JMP_JSET, 6, 2, true),
    ] {
        assert_eq!(taken(CLS_JMP | SRC_X | code, a, b, 0), expect, "X code {code:#x} {a} {b}");
        assert_eq!(taken(CLS_JMP | SRC_K | code, a, 0, b as i32), expect, "K code {code:#x} {a} {b}");
    }
    // 64-bit compares sign-extend the immediate.
    assert!(taken(CLS_JMP | JMP_JEQ, u64::MAX, 0, -1));
    assert!(!taken(CLS_JMP | JMP_JEQ, 0xffff_ffff, 0, -1));
}

#[test]
fn jumps_32() {
    let hi = 0xdead_0000_0000_0000u64;
    for (code, a, b, expect) in [
        (JMP_JEQ, hi | 5, 5, true),
        (JMP_JNE, hi | 5, 5, false),
        (JMP_JGT, 0xffff_ffff, 1, true),
        (JMP_JGE, hi, 0, true),
        (JMP_JLT, 1, hi | 2, true),
        (JMP_JLE, 3, 2, false),
        (JMP_JSGT, 0xffff_ffff, 1, false),
        (JMP_JSGE, 1, 0xffff_ffff, true),
        (JMP_JSLT, 0x8000_0000, 0, true),
        (JMP_JSLE, 0, 0, true),
        (JMP_JSET, hi | 1, 2, false),
        (JMP_JSET, 3, hi | 2, true),
    ] {
        assert_eq!(taken(CLS_JMP32 | SRC_X | code, a, b, 0), expect, "X code {code:#x} {a:#x} {b:#x}");
        assert_eq!(taken(CLS_JMP32 | SRC_K | code, a, 0, b as i32), expect, "K code {code:#x} {a:#x} {b:#x}");
    }
}

#[test]
fn long_jump_ja32() {
    let mut p = Asm::new();
    p.mov64(0, 1).insn(JA32, 0, 0, 0, 1).mov64(0, 2).exit();
    assert_eq!(r0(&p), 1);
    // Backwards JA32 loop with a counter.
    let mut p = Asm::new();
    p.mov64(0, 0) // 0
        .alu64_k(ALU_ADD, 0, 1) // 1
        .jmp_k(JMP_JGE, 0, 10, 1) // 2
        .insn(JA32, 0, 0, 0, -3) // 3 -> 1
        .exit(); // 4
    assert_eq!(r0(&p), 10);
}

#[test]
fn helper_calls() {
    let mut p = Asm::new();
    p.mov64(1, 1).mov64(2, 2).mov64(3, 3).mov64(4, 4).mov64(5, 5).call_helper(1).exit();
    assert_eq!(r0(&p), 15);
    let mut p = Asm::new();
    p.call_helper(2).exit();
    let e = run_ctx(&p.code, &mut []).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::Helper(ebpf::HelperError::INVALID));
    assert_eq!(e.index, 0);
}

#[test]
fn local_calls_save_registers_and_frames() {
    // main: r6 = 7; store 11 at fp-8; call f(5); r0 += r6 + [fp-8]
    // f: r6 = 100; store 1000 at its fp-8; r0 = r1 * 2 + [fp-8]
    let mut p = Asm::new();
    p.mov64(6, 7) // 0
        .st(SIZE_DW, 10, -8, 11) // 1
        .mov64(1, 5) // 2
        .call_local(5) // 3 -> 9
        .alu64_x(ALU_ADD, 0, 6) // 4
        .ldx(SIZE_DW, 2, 10, -8) // 5
        .alu64_x(ALU_ADD, 0, 2) // 6
        .exit() // 7
        .exit() // 8 (padding)
        .mov64(6, 100) // 9
        .st(SIZE_DW, 10, -8, 1000) // 10
        .alu64_x(ALU_MOV, 0, 1) // 11
        .alu64_k(ALU_MUL, 0, 2) // 12
        .ldx(SIZE_DW, 2, 10, -8) // 13
        .alu64_x(ALU_ADD, 0, 2) // 14
        .exit(); // 15
    assert_eq!(r0(&p), 10 + 1000 + 7 + 11);
}

#[test]
fn recursion_depth_is_bounded() {
    // f: call f (infinite recursion) -> call depth error, not a host crash.
    let mut p = Asm::new();
    p.call_local(-1).exit();
    let e = run_ctx(&p.code, &mut []).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::CallDepthExceeded);
    // Depth 8 (main + 7 nested) is allowed: f(6) .. f(0).
    let mut p = Asm::new();
    p.mov64(1, 6) // 0
        .call_local(1) // 1 -> 3
        .exit() // 2
        .mov64(0, 0) // 3: f(r1)
        .jmp_k(JMP_JEQ, 1, 0, 3) // 4 -> 8
        .alu64_k(ALU_SUB, 1, 1) // 5
        .call_local(-4) // 6 -> 3
        .alu64_k(ALU_ADD, 0, 1) // 7
        .exit(); // 8
    assert_eq!(r0(&p), 6);
    let mut p2 = p.clone();
    p2.code[4..8].copy_from_slice(&7i32.to_le_bytes());
    let e = run_ctx(&p2.code, &mut []).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::CallDepthExceeded);
}

#[test]
fn infinite_loop_hits_budget() {
    let mut p = Asm::new();
    p.ja(-1).exit();
    let e = run_ctx(&p.code, &mut []).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::BudgetExhausted);
    assert_eq!(e.index, 0);
}

#[test]
fn budget_counts_instructions() {
    let mut p = Asm::new();
    p.mov64(0, 1).mov64(0, 2).exit();
    assert_eq!(run_ctx(&p.code, &mut []).unwrap().insns, 3);
}

#[test]
fn small_stack_limits_depth() {
    let mut p = Asm::new();
    p.call_local(1).exit().mov64(0, 3).exit();
    let prog = verify_code(&p.code).unwrap();
    let mut stack = vec![0u8; 512];
    let mut mem = ebpf::Memory::new(&mut stack);
    let e = ebpf::run(&prog, &mut mem, &mut ebpf::NoHelpers, 0, 100).unwrap_err();
    assert_eq!(e.kind, RunErrorKind::CallDepthExceeded);
}

/// Every conditional jump, both widths and operand kinds, on values equal,
/// one apart and across the sign boundary, against Rust's comparisons.
#[test]
fn jumps_at_the_boundaries() {
    let vals: [u64; 8] = [0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, u64::MAX, u64::MAX - 1];
    let codes = [JMP_JEQ, JMP_JGT, JMP_JGE, JMP_JSET, JMP_JNE, JMP_JSGT, JMP_JSGE, JMP_JLT, JMP_JLE, JMP_JSLT, JMP_JSLE];
    let reference = |code: u8, a: u64, b: u64| match code {
        JMP_JEQ => a == b,
        JMP_JGT => a > b,
        JMP_JGE => a >= b,
        JMP_JSET => a & b != 0,
        JMP_JNE => a != b,
        JMP_JSGT => (a as i64) > b as i64,
        JMP_JSGE => (a as i64) >= b as i64,
        JMP_JLT => a < b,
        JMP_JLE => a <= b,
        JMP_JSLT => (a as i64) < (b as i64),
        _ => (a as i64) <= b as i64,
    };
    for code in codes {
        for &a in &vals {
            for &b in &vals {
                assert_eq!(taken(CLS_JMP | SRC_X | code, a, b, 0), reference(code, a, b), "X {code:#x} {a:#x} {b:#x}");
                // Immediates are sign-extended 32-bit values.
                let k = b as i32;
                assert_eq!(taken(CLS_JMP | code, a, 0, k), reference(code, a, k as i64 as u64), "K {code:#x} {a:#x} {k}");
                // JMP32 compares the low halves (signed: as i32).
                let (a32, b32) = (a as u32 as i32 as i64 as u64, b as u32 as i32 as i64 as u64);
                let r32 = match code {
                    JMP_JSGT | JMP_JSGE | JMP_JSLT | JMP_JSLE => reference(code, a32, b32),
                    _ => reference(code, a as u32 as u64, b as u32 as u64),
                };
                assert_eq!(taken(CLS_JMP32 | SRC_X | code, a, b, 0), r32, "X32 {code:#x} {a:#x} {b:#x}");
                assert_eq!(taken(CLS_JMP32 | code, a, 0, b as u32 as i32), r32, "K32 {code:#x} {a:#x} {b:#x}");
            }
        }
    }
}
