//! The verifier rejects every malformed program with the right index and
//! reason, and accepts what clang emits.

mod common;
use common::*;
use ebpf::opcode::*;
use ebpf::{verify, VerifyConfig, VerifyReason as R};

fn rejects(p: &Asm, index: usize, reason: R) {
    match verify_code(&p.code) {
        Ok(_) => panic!("accepted, expected {reason:?} at {index}"),
        Err(e) => {
            assert_eq!((e.index, e.reason), (index, reason), "{e}");
            assert!(!e.describe().is_empty());
        }
    }
}

fn accepts(p: &Asm) {
    if let Err(e) = verify_code(&p.code) {
        panic!("rejected: {e}");
    }
}

#[test]
fn size_and_shape() {
    assert_eq!(verify_code(&[]).unwrap_err().reason, R::Empty);
    assert_eq!(verify_code(&[0x95, 0, 0, 0]).unwrap_err().reason, R::TruncatedInsn);
    let mut p = Asm::new();
    p.mov64(0, 0).mov64(0, 0).exit();
    let cfg = VerifyConfig { max_insns: 2, helper_ids: &[] };
    assert_eq!(verify(&p.code, 0, &cfg).unwrap_err().reason, R::TooLong);
    let cfg = VerifyConfig { max_insns: 3, helper_ids: &[] };
    assert!(verify(&p.code, 0, &cfg).is_ok());
}

#[test]
fn falls_off_end() {
    let mut p = Asm::new();
    p.mov64(0, 0);
    rejects(&p, 0, R::FallsOffEnd);
    let mut p = Asm::new();
    p.mov64(0, 0).jmp_k(JMP_JEQ, 0, 0, -1);
    rejects(&p, 1, R::FallsOffEnd);
    let mut p = Asm::new();
    p.exit().lddw(0, 1);
    rejects(&p, 1, R::FallsOffEnd);
    let mut p = Asm::new();
    p.exit().call_local(-2);
    rejects(&p, 1, R::FallsOffEnd);
    // Ending in an unconditional jump back is fine (budget handles loops).
    let mut p = Asm::new();
    p.exit().ja(-2);
    accepts(&p);
}

#[test]
fn opcodes() {
    for op in [0x00u8, 0x08, 0x0d, 0x8c, 0x8f, 0xdf, 0xe4, 0xf7, 0xe5, 0xf6, 0x96, 0x86, 0x99, 0x22, 0xe3] {
        let mut p = Asm::new();
        p.insn(op, 0, 0, 0, 16).exit();
        let e = verify_code(&p.code).unwrap_err();
        assert_eq!(e.index, 0, "op {op:#x}: {e}");
        assert!(matches!(e.reason, R::UnknownOpcode | R::ReservedField), "op {op:#x}: {e}");
    }
    for op in [0x20u8, 0x28, 0x30, 0x40, 0x48, 0x50] {
        let mut p = Asm::new();
        p.insn(op, 0, 0, 0, 0).exit();
        rejects(&p, 0, R::LegacyPacketAccess);
    }
    // CALLX is named, so the user knows which instruction to rewrite.
    let mut p = Asm::new();
    p.insn(0x8d, 0, 0, 0, 0).exit();
    rejects(&p, 0, R::CallxUnsupported);
    assert!(R::CallxUnsupported.describe().contains("CALLX"));
    // MEMSX has no DW size.
    let mut p = Asm::new();
    p.insn(0x99, 0, 1, 0, 0).exit();
    rejects(&p, 0, R::UnknownOpcode);
}

#[test]
fn registers() {
    let mut p = Asm::new();
    p.mov64(11, 0).exit();
    rejects(&p, 0, R::BadRegister);
    let mut p = Asm::new();
    p.alu64_x(ALU_ADD, 0, 12).exit();
    rejects(&p, 0, R::BadRegister);
    let mut p = Asm::new();
    p.mov64(10, 0).exit();
    rejects(&p, 0, R::WriteToFramePointer);
    let mut p = Asm::new();
    p.ldx(SIZE_W, 10, 1, 0).exit();
    rejects(&p, 0, R::WriteToFramePointer);
    let mut p = Asm::new();
    p.exit().lddw(10, 0).exit();
    rejects(&p, 1, R::WriteToFramePointer);
    // Atomic fetch writes src.
    let mut p = Asm::new();
    p.insn(0xdb, 1, 10, 0, ATOMIC_ADD | ATOMIC_FETCH).exit();
    rejects(&p, 0, R::WriteToFramePointer);
    // Storing through r10 and reading it are fine.
    let mut p = Asm::new();
    p.stx(SIZE_DW, 10, 10, -8).alu64_x(ALU_MOV, 0, 10).exit();
    accepts(&p);
}

#[test]
fn reserved_fields() {
    let mut p = Asm::new();
    p.insn(CLS_ALU64 | SRC_K | ALU_ADD, 0, 1, 0, 1).exit();
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(CLS_ALU64 | SRC_X | ALU_ADD, 0, 1, 0, 1).exit();
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(CLS_ALU64 | SRC_K | ALU_ADD, 0, 0, 3, 1).exit();
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(EXIT, 0, 0, 0, 1);
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(CLS_LDX | MODE_MEM | SIZE_W, 0, 1, 0, 5).exit();
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(CLS_ST | MODE_MEM | SIZE_W, 10, 1, -4, 5).exit();
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(JA, 0, 0, 0, 1).exit();
    rejects(&p, 0, R::ReservedField);
    let mut p = Asm::new();
    p.insn(JA32, 0, 0, 1, 0).exit();
    rejects(&p, 0, R::ReservedField);
}

#[test]
fn alu_special_fields() {
    for (cls, off, ok) in [(CLS_ALU64, 8, true), (CLS_ALU64, 32, true), (CLS_ALU, 32, false), (CLS_ALU, 16, true), (CLS_ALU64, 24, false)] {
        let mut p = Asm::new();
        p.insn(cls | SRC_X | ALU_MOV, 0, 1, off, 0).exit();
        match ok {
            true => accepts(&p),
            false => rejects(&p, 0, R::BadMovsxWidth),
        }
    }
    let mut p = Asm::new();
    p.insn(CLS_ALU64 | SRC_X | ALU_DIV, 0, 1, 2, 0).exit();
    rejects(&p, 0, R::BadDivModOffset);
    let mut p = Asm::new();
    p.insn(0xd4, 0, 0, 0, 8).exit();
    rejects(&p, 0, R::BadSwapWidth);
    let mut p = Asm::new();
    p.insn(0xd7, 0, 0, 0, 48).exit();
    rejects(&p, 0, R::BadSwapWidth);
}

#[test]
fn lddw_pairs() {
    let mut p = Asm::new();
    p.insn(LDDW, 0, 0, 0, 1);
    rejects(&p, 0, R::IncompleteLddw);
    let mut p = Asm::new();
    p.insn(LDDW, 0, 0, 0, 1).insn(0, 1, 0, 0, 0).exit();
    rejects(&p, 0, R::IncompleteLddw);
    let mut p = Asm::new();
    p.insn(LDDW, 0, 0, 0, 1).exit().exit();
    rejects(&p, 0, R::IncompleteLddw);
    for src in 1..=6 {
        let mut p = Asm::new();
        p.insn(LDDW, 1, src, 0, 1).insn(0, 0, 0, 0, 0).exit();
        rejects(&p, 0, R::UnsupportedLddwSource);
    }
    // A lone second slot is an unknown opcode.
    let mut p = Asm::new();
    p.insn(0, 0, 0, 0, 0).exit();
    rejects(&p, 0, R::UnknownOpcode);
}

#[test]
fn jump_targets() {
    let mut p = Asm::new();
    p.ja(1).exit();
    rejects(&p, 0, R::JumpOutOfRange);
    let mut p = Asm::new();
    p.ja(-2).exit();
    rejects(&p, 0, R::JumpOutOfRange);
    let mut p = Asm::new();
    p.jmp_k(JMP_JEQ, 0, 0, 1).lddw(0, 1).exit();
    rejects(&p, 0, R::JumpIntoLddw);
    let mut p = Asm::new();
    p.insn(JA32, 0, 0, 0, 1).lddw(0, 1).exit();
    rejects(&p, 0, R::JumpIntoLddw);
    let mut p = Asm::new();
    p.insn(JA32, 0, 0, 0, i32::MAX).exit();
    rejects(&p, 0, R::JumpOutOfRange);
    let mut p = Asm::new();
    p.insn(JA32, 0, 0, 0, i32::MIN).exit();
    rejects(&p, 0, R::JumpOutOfRange);
    let mut p = Asm::new();
    p.jmp_k(JMP_JEQ, 0, 0, 2).lddw(0, 1).exit();
    accepts(&p);
}

#[test]
fn calls() {
    let mut p = Asm::new();
    p.call_helper(99).exit();
    rejects(&p, 0, R::UnknownHelper);
    let mut p = Asm::new();
    p.call_helper(1).exit();
    accepts(&p);
    let mut p = Asm::new();
    p.call_local(5).exit();
    rejects(&p, 0, R::BadCallTarget);
    let mut p = Asm::new();
    p.call_local(1).lddw(0, 0).exit();
    rejects(&p, 0, R::BadCallTarget);
    let mut p = Asm::new();
    p.insn(CALL, 0, 2, 0, 1).exit();
    rejects(&p, 0, R::UnsupportedCallKind);
    let mut p = Asm::new();
    p.insn(CALL, 1, 0, 0, 1).exit();
    rejects(&p, 0, R::ReservedField);
}

#[test]
fn atomics() {
    for (imm, ok) in [(0x00, true), (0x01, true), (0x40, true), (0x51, true), (0xa1, true), (0xe1, true), (0xf1, true), (0xe0, false), (0xf0, false), (0x10, false), (0x100, false)] {
        let mut p = Asm::new();
        p.insn(0xdb, 1, 2, 0, imm).exit();
        match ok {
            true => accepts(&p),
            false => rejects(&p, 0, R::UnsupportedAtomic),
        }
    }
    // Only W and DW sizes.
    let mut p = Asm::new();
    p.insn(0xd3, 1, 2, 0, 0).exit();
    rejects(&p, 0, R::UnknownOpcode);
}

#[test]
fn entry_point() {
    let mut p = Asm::new();
    p.exit().lddw(0, 0).exit();
    let cfg = VerifyConfig::new(&[]);
    assert_eq!(verify(&p.code, 1, &cfg).unwrap().entry(), 1);
    assert_eq!(verify(&p.code, 2, &cfg).unwrap_err().reason, R::BadEntry);
    assert_eq!(verify(&p.code, 4, &cfg).unwrap_err().reason, R::BadEntry);
}

#[test]
fn display_names_index_and_reason() {
    let mut p = Asm::new();
    p.mov64(0, 0).mov64(10, 0).exit();
    let e = verify_code(&p.code).unwrap_err();
    assert_eq!(e.to_string(), "insn 1: instruction writes r10 (read-only frame pointer)");
}
