//! Test support: a tiny assembler and a runner with a context buffer.
#![allow(dead_code)]

use ebpf::opcode::*;
use ebpf::{
    interpreter, memory, run_decoded, translate, verify, Decoded, Exit, HelperError, Helpers, Memory, Op, RunError, VerifyConfig,
    VerifyError,
};

/// Builds programs instruction by instruction.
#[derive(Default, Clone)]
pub struct Asm {
    pub code: Vec<u8>,
}

pub fn raw(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    Insn { op, dst, src, off, imm }.encode()
}

impl Asm {
    pub fn new() -> Self {
        Asm::default()
    }
    pub fn len(&self) -> usize {
        self.code.len() / 8
    }
    pub fn insn(&mut self, op: u8, dst: u8, src: u8, off: i16, imm: i32) -> &mut Self {
        self.code.extend_from_slice(&raw(op, dst, src, off, imm));
        self
    }
    pub fn alu64_k(&mut self, code: u8, dst: u8, imm: i32) -> &mut Self {
        self.insn(CLS_ALU64 | SRC_K | code, dst, 0, 0, imm)
    }
    pub fn alu64_x(&mut self, code: u8, dst: u8, src: u8) -> &mut Self {
        self.insn(CLS_ALU64 | SRC_X | code, dst, src, 0, 0)
    }
    pub fn alu32_k(&mut self, code: u8, dst: u8, imm: i32) -> &mut Self {
        self.insn(CLS_ALU | SRC_K | code, dst, 0, 0, imm)
    }
    pub fn alu32_x(&mut self, code: u8, dst: u8, src: u8) -> &mut Self {
        self.insn(CLS_ALU | SRC_X | code, dst, src, 0, 0)
    }
    pub fn mov64(&mut self, dst: u8, imm: i32) -> &mut Self {
        self.alu64_k(ALU_MOV, dst, imm)
    }
    pub fn lddw(&mut self, dst: u8, v: u64) -> &mut Self {
        self.insn(LDDW, dst, 0, 0, v as u32 as i32);
        self.insn(0, 0, 0, 0, (v >> 32) as u32 as i32)
    }
    pub fn ldx(&mut self, size: u8, dst: u8, src: u8, off: i16) -> &mut Self {
        self.insn(CLS_LDX | MODE_MEM | size, dst, src, off, 0)
    }
    pub fn stx(&mut self, size: u8, dst: u8, src: u8, off: i16) -> &mut Self {
        self.insn(CLS_STX | MODE_MEM | size, dst, src, off, 0)
    }
    pub fn st(&mut self, size: u8, dst: u8, off: i16, imm: i32) -> &mut Self {
        self.insn(CLS_ST | MODE_MEM | size, dst, 0, off, imm)
    }
    pub fn jmp_k(&mut self, code: u8, dst: u8, imm: i32, off: i16) -> &mut Self {
        self.insn(CLS_JMP | SRC_K | code, dst, 0, off, imm)
    }
    pub fn jmp_x(&mut self, code: u8, dst: u8, src: u8, off: i16) -> &mut Self {
        self.insn(CLS_JMP | SRC_X | code, dst, src, off, 0)
    }
    pub fn ja(&mut self, off: i16) -> &mut Self {
        self.insn(JA, 0, 0, off, 0)
    }
    pub fn call_helper(&mut self, id: u32) -> &mut Self {
        self.insn(CALL, 0, 0, 0, id as i32)
    }
    pub fn call_local(&mut self, rel: i32) -> &mut Self {
        self.insn(CALL, 0, CALL_LOCAL, 0, rel)
    }
    pub fn exit(&mut self) -> &mut Self {
        self.insn(EXIT, 0, 0, 0, 0)
    }
}

/// Helpers used by tests: id 1 = sum of args, id 2 = fail, id 3 = register
/// the test's extra buffer as a read-only region and return its address.
pub struct TestHelpers<'a> {
    pub extra: Option<&'a [u8]>,
    pub calls: u32,
}

pub const TEST_HELPER_IDS: &[u32] = &[1, 2, 3];

impl<'a> Helpers<'a> for TestHelpers<'a> {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        self.calls += 1;
        match id {
            1 => Ok(a.iter().fold(0u64, |s, x| s.wrapping_add(*x))),
            2 => Err(HelperError::INVALID),
            3 => match self.extra.take() {
                Some(buf) => mem.add_readonly(buf),
                None => Err(HelperError::INVALID),
            },
            _ => Err(ebpf::helpers::UNKNOWN_HELPER),
        }
    }
}

pub fn verify_code(code: &[u8]) -> Result<ebpf::Program<'_>, VerifyError> {
    verify(code, 0, &VerifyConfig::new(TEST_HELPER_IDS))
}

/// Translates `prog` into a fresh op buffer.
pub fn decode(prog: &ebpf::Program<'_>) -> Vec<Op> {
    let mut ops = vec![Op::INVALID; prog.len()];
    translate(prog, &mut ops).expect("buffer is large enough");
    ops
}

/// Verifies and runs `code` with `ctx` as a writable region in r1, on the
/// checked interpreter and on the pre-decoded one: results, helper calls
/// and memory effects must be identical (the pre-decoded result is
/// returned).
pub fn run_ctx(code: &[u8], ctx: &mut [u8]) -> Result<Exit, RunError> {
    let prog = verify_code(code).unwrap_or_else(|e| panic!("verify failed: {e}"));
    let mut stack = vec![0u8; memory::STACK_SIZE];
    let mut ctx_checked = ctx.to_vec();
    let (checked, checked_calls) = {
        let mut mem = Memory::new(&mut stack);
        let r1 = mem.add_writable(&mut ctx_checked).unwrap();
        let mut h = TestHelpers { extra: None, calls: 0 };
        (interpreter::run(&prog, &mut mem, &mut h, r1, 1_000_000), h.calls)
    };
    let ops = decode(&prog);
    let dec = Decoded::reuse(&ops, prog.entry());
    let mut mem = Memory::new(&mut stack);
    let r1 = mem.add_writable(ctx).unwrap();
    let mut h = TestHelpers { extra: None, calls: 0 };
    let fast = run_decoded(&dec, &mut mem, &mut h, r1, 1_000_000);
    assert_same(&checked, &fast);
    assert_eq!(checked_calls, h.calls, "helper calls differ");
    assert_eq!(&ctx_checked[..], &ctx[..], "memory effects differ");
    fast
}

/// Two runs of one program ended the same way (fault addresses may differ
/// when the runs used different buffers, so errors compare index and kind
/// description).
pub fn assert_same(a: &Result<Exit, RunError>, b: &Result<Exit, RunError>) {
    match (a, b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "checked vs pre-decoded"),
        (Err(x), Err(y)) => {
            assert_eq!((x.index, x.kind.describe()), (y.index, y.kind.describe()), "checked {x:?} vs pre-decoded {y:?}")
        }
        _ => panic!("checked {a:?} vs pre-decoded {b:?}"),
    }
}

/// Runs `code` without context and returns r0, panicking on error.
pub fn r0(code: &Asm) -> u64 {
    let mut ctx = [0u8; 0];
    run_ctx(&code.code, &mut ctx).unwrap_or_else(|e| panic!("run failed: {e}")).r0
}

/// xorshift64*: tiny deterministic PRNG.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
