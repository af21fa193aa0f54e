//! Differential tests against rbpf 0.4's interpreter.
//!
//! Thousands of generated programs (fixed seed) run on both VMs; return
//! values, memory effects, and faults (with the faulting instruction's
//! index) must agree. Generated programs are
//! built so that only behaviour both VMs define identically is exercised.
//! Where rbpf differs from RFC 9669 (or lacks a feature), the generator
//! stays away, on purpose:
//! - 64-bit unsigned compares with an immediate (JEQ/JNE/JGT/JGE/JLT/JLE,
//!   class JMP): rbpf zero-extends the immediate, the RFC sign-extends it;
//!   the generator uses non-negative immediates there.
//! - ALU32 MOD by zero: rbpf leaves all 64 bits of dst, the RFC zero-extends
//!   the 32-bit result; every ALU32 MOD is preceded by `w_dst = w_dst` so
//!   both agree, and the by-zero path is still exercised.
//! - rbpf's stack is 512 bytes (ours is 512 per frame, 8 frames): stack
//!   offsets stay within [-512, -1] (or land above the top, where both fault).
//! - rbpf lacks SDIV/SMOD, MOVSX, MEMSX, BSWAP, JA32 and atomics (it ignores
//!   the offset of DIV/MOD/MOV, so it would silently compute something
//!   else): not generated here; the ISA unit tests cover them.
//! - rbpf panics (debug overflow check) on NEG64 of i64::MIN: such runs are
//!   caught and skipped (counted).
//! - Pointers differ between the VMs (separate buffers), so programs copy r1
//!   into r9 at the start and only use r9/r10 as load/store bases; no
//!   pointer value flows into data.

mod common;
use common::{raw, Rng};
use ebpf::opcode::*;
use ebpf::{HelperError, Helpers, Memory, RunErrorKind, VerifyConfig};

const MEM_LEN: usize = 64;
const HELPER_ID: u32 = 7;

fn helper_fn(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a.wrapping_mul(3).wrapping_add(b ^ c).wrapping_sub(d.rotate_left(5)) ^ e
}

struct DiffHelpers;
impl<'a> Helpers<'a> for DiffHelpers {
    fn call(&mut self, id: u32, a: [u64; 5], _mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        if id == HELPER_ID {
            Ok(helper_fn(a[0], a[1], a[2], a[3], a[4]))
        } else {
            Err(ebpf::helpers::UNKNOWN_HELPER)
        }
    }
}

/// A unit of generated code: one or two slots, or a forward jump whose
/// target (a unit index) is resolved after layout.
enum Unit {
    Code(Vec<[u8; 8]>),
    Jump { op: u8, dst: u8, src: u8, imm: i32, to: usize },
}

fn interesting_imm(r: &mut Rng) -> i32 {
    match r.below(6) {
        0 => r.pick(&[0, 1, -1, 2, 7, 31, 32, 33, 63, 64, 65, i32::MIN, i32::MAX]),
        1 => r.below(16) as i32,
        2 => -(r.below(16) as i32),
        3 => r.below(256) as i32,
        _ => r.next() as i32,
    }
}

fn data_reg(r: &mut Rng) -> u8 {
    // r0..=r7: never the loop counter r8 or the pointers r9/r10.
    r.below(8) as u8
}

fn gen_alu(r: &mut Rng, out: &mut Vec<Unit>) {
    let is64 = r.chance(50);
    let cls = if is64 { CLS_ALU64 } else { CLS_ALU };
    let code = r.pick(&[ALU_ADD, ALU_SUB, ALU_MUL, ALU_DIV, ALU_OR, ALU_AND, ALU_LSH, ALU_RSH, ALU_NEG, ALU_MOD, ALU_XOR, ALU_MOV, ALU_ARSH, ALU_END]);
    let dst = data_reg(r);
    let mut slots = Vec::new();
    if code == ALU_MOD && !is64 {
        // w_dst = w_dst: see the module comment.
        slots.push(raw(CLS_ALU | SRC_X | ALU_MOV, dst, dst, 0, 0));
    }
    if code == ALU_NEG {
        slots.push(raw(cls | ALU_NEG, dst, 0, 0, 0));
    } else if code == ALU_END {
        // rbpf has LE/BE (ALU class) but not BSWAP.
        let op = if r.chance(50) { 0xd4 } else { 0xdc };
        slots.push(raw(op, dst, 0, 0, r.pick(&[16, 32, 64])));
    } else if r.chance(50) {
        slots.push(raw(cls | SRC_K | code, dst, 0, 0, interesting_imm(r)));
    } else {
        let src = data_reg(r);
        slots.push(raw(cls | SRC_X | code, dst, src, 0, 0));
    }
    out.push(Unit::Code(slots));
}

fn gen_mem(r: &mut Rng, out: &mut Vec<Unit>) {
    let (size, n) = r.pick(&[(SIZE_B, 1i64), (SIZE_H, 2), (SIZE_W, 4), (SIZE_DW, 8)]);
    let stack = r.chance(40);
    let base = if stack { 10 } else { 9 };
    let off: i64 = if r.chance(4) {
        // Out of range: past the end (both VMs fault).
        if stack {
            r.below(8) as i64 - n + 1
        } else {
            MEM_LEN as i64 - n + 1 + r.below(8) as i64
        }
    } else if stack {
        -(n + r.below((512 - n + 1) as u64) as i64)
    } else {
        r.below((MEM_LEN as i64 - n + 1) as u64) as i64
    };
    let off = off as i16;
    let slot = match r.below(3) {
        0 => raw(CLS_LDX | MODE_MEM | size, data_reg(r), base, off, 0),
        1 => raw(CLS_ST | MODE_MEM | size, base, 0, off, interesting_imm(r)),
        _ => raw(CLS_STX | MODE_MEM | size, base, data_reg(r), off, 0),
    };
    out.push(Unit::Code(vec![slot]));
}

fn gen_jump(r: &mut Rng, out: &mut Vec<Unit>, units_left: usize) {
    let is32 = r.chance(40);
    let code = r.pick(&[JMP_JA, JMP_JEQ, JMP_JGT, JMP_JGE, JMP_JSET, JMP_JNE, JMP_JSGT, JMP_JSGE, JMP_JLT, JMP_JLE, JMP_JSLT, JMP_JSLE]);
    let to = out.len() + 1 + r.below(units_left as u64 + 1) as usize;
    if code == JMP_JA {
        out.push(Unit::Jump { op: JA, dst: 0, src: 0, imm: 0, to });
        return;
    }
    let cls = if is32 { CLS_JMP32 } else { CLS_JMP };
    let dst = data_reg(r);
    if r.chance(50) {
        let mut imm = interesting_imm(r);
        let unsigned = matches!(code, JMP_JEQ | JMP_JNE | JMP_JGT | JMP_JGE | JMP_JLT | JMP_JLE);
        if !is32 && unsigned && imm < 0 {
            imm = imm.wrapping_neg().max(0); // rbpf zero-extends here
        }
        out.push(Unit::Jump { op: cls | SRC_K | code, dst, src: 0, imm, to });
    } else {
        out.push(Unit::Jump { op: cls | SRC_X | code, dst, src: data_reg(r), imm: 0, to });
    }
}

/// A bounded backward loop: `r8 = k; do { body } while ((s64)--r8 > 0)`.
/// A forward jump from earlier code may land inside the body; r8 is then
/// 0..=k and the loop still ends (signed compare), so both VMs terminate.
fn gen_loop(r: &mut Rng, out: &mut Vec<Unit>) {
    out.push(Unit::Code(vec![raw(CLS_ALU64 | ALU_MOV, 8, 0, 0, 1 + r.below(6) as i32)]));
    let start = out.len();
    for _ in 0..1 + r.below(6) {
        if r.chance(60) {
            gen_alu(r, out);
        } else {
            gen_mem(r, out);
        }
    }
    out.push(Unit::Code(vec![raw(CLS_ALU64 | ALU_SUB, 8, 0, 0, 1)]));
    out.push(Unit::Jump { op: CLS_JMP | JMP_JSGT, dst: 8, src: 0, imm: 0, to: start });
}

/// Generates a valid program; every jump lands on a unit boundary.
fn gen_program(r: &mut Rng) -> Vec<u8> {
    let mut units = Vec::new();
    units.push(Unit::Code(vec![raw(CLS_ALU64 | SRC_X | ALU_MOV, 9, 1, 0, 0)]));
    for reg in 0..9u8 {
        let slots = match r.below(3) {
            0 => vec![raw(CLS_ALU64 | ALU_MOV, reg, 0, 0, interesting_imm(r))],
            1 => vec![raw(CLS_ALU | ALU_MOV, reg, 0, 0, interesting_imm(r))],
            _ => {
                let v = r.next();
                vec![raw(LDDW, reg, 0, 0, v as u32 as i32), raw(0, 0, 0, 0, (v >> 32) as u32 as i32)]
            }
        };
        units.push(Unit::Code(slots));
    }
    // r8 is the loop counter: small, and only loops change it.
    units.push(Unit::Code(vec![raw(CLS_ALU64 | ALU_MOV, 8, 0, 0, 2)]));
    let body = 3 + r.below(40) as usize;
    for i in 0..body {
        if r.chance(8) {
            gen_loop(r, &mut units);
            continue;
        }
        match r.below(10) {
            0..=4 => gen_alu(r, &mut units),
            5..=7 => gen_mem(r, &mut units),
            8 => gen_jump(r, &mut units, body - i - 1),
            _ => units.push(Unit::Code(vec![raw(CALL, 0, 0, 0, HELPER_ID as i32)])),
        }
    }
    // Mix registers into r0 so more state is observable.
    for reg in 1..9u8 {
        units.push(Unit::Code(vec![raw(CLS_ALU64 | SRC_X | ALU_XOR, 0, reg, 0, 0)]));
    }
    units.push(Unit::Code(vec![raw(EXIT, 0, 0, 0, 0)]));
    // Layout: slot index of every unit.
    let mut start = Vec::with_capacity(units.len() + 1);
    let mut pos = 0usize;
    for u in &units {
        start.push(pos);
        pos += match u {
            Unit::Code(s) => s.len(),
            Unit::Jump { .. } => 1,
        };
    }
    start.push(pos);
    let mut code = Vec::with_capacity(pos * 8);
    for (i, u) in units.iter().enumerate() {
        match u {
            Unit::Code(slots) => slots.iter().for_each(|s| code.extend_from_slice(s)),
            Unit::Jump { op, dst, src, imm, to } => {
                let to = (*to).min(units.len() - 1);
                let off = start[to] as i64 - start[i] as i64 - 1;
                code.extend_from_slice(&raw(*op, *dst, *src, off as i16, *imm));
            }
        }
    }
    code
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(u64, Vec<u8>),
    /// A memory fault at this instruction index.
    Err(usize),
}

fn run_ours(code: &[u8], mem_init: &[u8]) -> Result<Outcome, ebpf::VerifyError> {
    let prog = ebpf::verify(code, 0, &VerifyConfig::new(&[HELPER_ID]))?;
    let mut mem = mem_init.to_vec();
    let mut stack = vec![0u8; ebpf::memory::STACK_SIZE];
    let mut m = Memory::new(&mut stack);
    let r1 = m.add_writable(&mut mem).unwrap();
    let r = ebpf::run(&prog, &mut m, &mut DiffHelpers, r1, 1_000_000);
    // The pre-decoded interpreter must agree with the checked one exactly.
    let mut mem_dec = mem_init.to_vec();
    let ops = common::decode(&prog);
    let mut m = Memory::new(&mut stack);
    let r1 = m.add_writable(&mut mem_dec).unwrap();
    let d = ebpf::run_decoded(&ebpf::Decoded::reuse(&ops, 0), &mut m, &mut DiffHelpers, r1, 1_000_000);
    common::assert_same(&r, &d);
    assert_eq!(mem, mem_dec, "memory effects of the pre-decoded run differ");
    Ok(match r {
        Ok(exit) => Outcome::Ok(exit.r0, mem),
        Err(e) => {
            assert!(
                matches!(e.kind, RunErrorKind::BadLoad { .. } | RunErrorKind::BadStore { .. }),
                "unexpected error kind for a generated program: {e}"
            );
            Outcome::Err(e.index)
        }
    })
}

/// `None` if rbpf's verifier rejects the program, `Some(None)` if rbpf
/// panicked while running it.
fn run_rbpf(code: &[u8], mem_init: &[u8]) -> Option<Option<Outcome>> {
    let mut vm = rbpf::EbpfVmRaw::new(Some(code)).ok()?;
    vm.register_helper(HELPER_ID, helper_fn).unwrap();
    let mut mem = mem_init.to_vec();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.execute_program(&mut mem).map_err(|e| e.to_string())));
    Some(match r {
        Err(_) => None,
        Ok(Ok(v)) => Some(Outcome::Ok(v, mem)),
        Ok(Err(msg)) => Some(Outcome::Err(rbpf_fault_index(&msg))),
    })
}

/// rbpf reports "out of bounds memory ... (insn #N)" with N one past the
/// faulting instruction.
fn rbpf_fault_index(msg: &str) -> usize {
    assert!(msg.contains("out of bounds memory"), "unexpected rbpf error: {msg}");
    let tail = msg.split("insn #").nth(1).unwrap_or_else(|| panic!("no index in rbpf error: {msg}"));
    let digits: String = tail.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse::<usize>().unwrap() - 1
}

fn dump(code: &[u8]) -> String {
    code.chunks(8).enumerate().map(|(i, c)| format!("{i:3}: {c:02x?}\n")).collect()
}

/// Silences panics raised inside rbpf (reported as skips), keeps others.
fn quiet_rbpf_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_rbpf = info.location().map(|l| l.file().contains("rbpf")).unwrap_or(false);
        if !in_rbpf {
            default(info);
        }
    }));
}

#[test]
fn generated_valid_programs_agree_with_rbpf() {
    quiet_rbpf_panics();
    let mut r = Rng(0x5eed_f1ff_1e00_0001);
    let (mut ok, mut faults, mut skipped) = (0, 0, 0);
    for n in 0..3000 {
        let code = gen_program(&mut r);
        let mut mem_init = vec![0u8; MEM_LEN];
        mem_init.iter_mut().for_each(|b| *b = r.next() as u8);
        let ours = run_ours(&code, &mem_init).unwrap_or_else(|e| panic!("program {n} rejected: {e}\n{}", dump(&code)));
        let theirs = run_rbpf(&code, &mem_init).unwrap_or_else(|| panic!("rbpf rejected program {n}\n{}", dump(&code)));
        let Some(theirs) = theirs else {
            skipped += 1;
            continue;
        };
        assert_eq!(ours, theirs, "program {n} differs\n{}", dump(&code));
        match ours {
            Outcome::Ok(..) => ok += 1,
            Outcome::Err(_) => faults += 1,
        }
    }
    println!("agree: {ok} ok, {faults} faulted; {skipped} skipped (rbpf panicked)");
    // The generator must exercise both outcomes substantially.
    assert!(ok > 1000 && faults > 100, "ok {ok} faults {faults}");
    assert!(skipped < 30);
}

/// Our extensions rbpf lacks, and rbpf verifier quirks (rejecting jumps
/// with offset -1, compares on r10): verdicts are not comparable for these.
fn uses_non_common_feature(code: &[u8]) -> bool {
    let mut i = 0;
    while i + 8 <= code.len() {
        let insn = Insn::decode(code[i..i + 8].try_into().unwrap());
        let cls = insn.op & CLASS_MASK;
        let alu = cls == CLS_ALU || cls == CLS_ALU64;
        let jmp = cls == CLS_JMP || cls == CLS_JMP32;
        let odd = (alu && matches!(insn.op & 0xf0, ALU_DIV | ALU_MOD | ALU_MOV) && insn.off != 0)
            || (cls == CLS_LDX && insn.op & 0xe0 == MODE_MEMSX)
            || insn.op == 0xd7
            || insn.op == JA32
            || (cls == CLS_STX && insn.op & 0xe0 == MODE_ATOMIC)
            || (jmp && insn.off == -1)
            // rbpf refuses r10 as dst of compares (it treats dst as written).
            || (jmp && insn.dst == 10);
        if odd {
            return true;
        }
        i += if insn.op == LDDW { 16 } else { 8 };
    }
    false
}

#[test]
fn mutated_programs_verifier_is_stricter_than_rbpf() {
    quiet_rbpf_panics();
    let mut r = Rng(0xbad0_c0de_0000_0002);
    let (mut both, mut only_rbpf, mut neither) = (0, 0, 0);
    for n in 0..3000 {
        let mut code = gen_program(&mut r);
        for _ in 0..1 + r.below(3) {
            let i = r.below(code.len() as u64) as usize;
            code[i] = r.next() as u8;
        }
        if r.chance(5) {
            code.truncate(code.len() - 8 * (1 + r.below(3) as usize));
        }
        let ours_ok = ebpf::verify(&code, 0, &VerifyConfig::new(&[HELPER_ID])).is_ok();
        let rbpf_verdict = rbpf::EbpfVmRaw::new(Some(&code)).map(|_| ());
        let rbpf_ok = rbpf_verdict.is_ok();
        if ours_ok && !rbpf_ok && !uses_non_common_feature(&code) {
            panic!("program {n}: we accept what rbpf rejects ({:?})\n{}", rbpf_verdict, dump(&code));
        }
        match (ours_ok, rbpf_ok) {
            (true, _) => both += 1,
            (false, true) => only_rbpf += 1,
            (false, false) => neither += 1,
        }
        // Whatever we accept runs to an answer without panicking.
        if ours_ok {
            let mem_init = vec![0u8; MEM_LEN];
            let _ = run_ours_any(&code, &mem_init);
        }
    }
    println!("mutated: {both} accepted by us, {only_rbpf} only by rbpf, {neither} by neither");
    assert!(both > 300 && neither > 300, "{both} {only_rbpf} {neither}");
}

fn run_ours_any(code: &[u8], mem_init: &[u8]) -> Result<u64, ebpf::RunError> {
    let prog = ebpf::verify(code, 0, &VerifyConfig::new(&[HELPER_ID])).unwrap();
    let mut mem = mem_init.to_vec();
    let mut stack = vec![0u8; ebpf::memory::STACK_SIZE];
    let mut m = Memory::new(&mut stack);
    let r1 = m.add_writable(&mut mem).unwrap();
    ebpf::run(&prog, &mut m, &mut DiffHelpers, r1, 100_000).map(|e| e.r0)
}
