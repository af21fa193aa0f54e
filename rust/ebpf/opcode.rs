//! Instruction encoding of the eBPF ISA (RFC 9669, section 3 and 4).
//!
//! An instruction is 8 bytes, little endian: `opcode:8 dst:4 src:4 off:16
//! imm:32`. LDDW (the 64-bit immediate load) takes two slots; the second
//! slot carries the upper 32 bits of the immediate in its `imm` and must be
//! zero otherwise.

/// Size of one instruction slot in bytes.
pub const INSN_SIZE: usize = 8;

/// Instruction classes (low 3 bits of the opcode).
pub const CLASS_MASK: u8 = 0x07;
/// Non-standard load operations (only LDDW is supported).
pub const CLS_LD: u8 = 0x00;
/// Load into register.
pub const CLS_LDX: u8 = 0x01;
/// Store from immediate.
pub const CLS_ST: u8 = 0x02;
/// Store from register (and atomics).
pub const CLS_STX: u8 = 0x03;
/// 32-bit arithmetic.
pub const CLS_ALU: u8 = 0x04;
/// 64-bit jumps, calls and exit.
pub const CLS_JMP: u8 = 0x05;
/// 32-bit jumps.
pub const CLS_JMP32: u8 = 0x06;
/// 64-bit arithmetic.
pub const CLS_ALU64: u8 = 0x07;

/// Source operand bit of arithmetic and jump opcodes: immediate.
pub const SRC_K: u8 = 0x00;
/// Source operand bit of arithmetic and jump opcodes: register.
pub const SRC_X: u8 = 0x08;

/// Arithmetic operation codes (high 4 bits).
pub const ALU_ADD: u8 = 0x00;
/// Subtraction.
pub const ALU_SUB: u8 = 0x10;
/// Multiplication.
pub const ALU_MUL: u8 = 0x20;
/// Division (signed when `off == 1`).
pub const ALU_DIV: u8 = 0x30;
/// Bitwise or.
pub const ALU_OR: u8 = 0x40;
/// Bitwise and.
pub const ALU_AND: u8 = 0x50;
/// Left shift.
pub const ALU_LSH: u8 = 0x60;
/// Logical right shift.
pub const ALU_RSH: u8 = 0x70;
/// Negation.
pub const ALU_NEG: u8 = 0x80;
/// Modulo (signed when `off == 1`).
pub const ALU_MOD: u8 = 0x90;
/// Bitwise xor.
pub const ALU_XOR: u8 = 0xa0;
/// Move (sign-extending when `off` is 8, 16 or 32).
pub const ALU_MOV: u8 = 0xb0;
/// Arithmetic right shift.
pub const ALU_ARSH: u8 = 0xc0;
/// Byte swap.
pub const ALU_END: u8 = 0xd0;

/// Jump operation codes (high 4 bits).
pub const JMP_JA: u8 = 0x00;
/// Jump if equal.
pub const JMP_JEQ: u8 = 0x10;
/// Jump if unsigned greater.
pub const JMP_JGT: u8 = 0x20;
/// Jump if unsigned greater or equal.
pub const JMP_JGE: u8 = 0x30;
/// Jump if `dst & src != 0`.
pub const JMP_JSET: u8 = 0x40;
/// Jump if not equal.
pub const JMP_JNE: u8 = 0x50;
/// Jump if signed greater.
pub const JMP_JSGT: u8 = 0x60;
/// Jump if signed greater or equal.
pub const JMP_JSGE: u8 = 0x70;
/// Function call.
pub const JMP_CALL: u8 = 0x80;
/// Function return.
pub const JMP_EXIT: u8 = 0x90;
/// Jump if unsigned less.
pub const JMP_JLT: u8 = 0xa0;
/// Jump if unsigned less or equal.
pub const JMP_JLE: u8 = 0xb0;
/// Jump if signed less.
pub const JMP_JSLT: u8 = 0xc0;
/// Jump if signed less or equal.
pub const JMP_JSLE: u8 = 0xd0;

/// Memory access sizes (bits 3-4 of load/store opcodes).
pub const SIZE_W: u8 = 0x00;
/// Half word (2 bytes).
pub const SIZE_H: u8 = 0x08;
/// Byte.
pub const SIZE_B: u8 = 0x10;
/// Double word (8 bytes).
pub const SIZE_DW: u8 = 0x18;

/// Memory access modes (bits 5-7 of load/store opcodes).
pub const MODE_IMM: u8 = 0x00;
/// Legacy packet access, absolute (not supported).
pub const MODE_ABS: u8 = 0x20;
/// Legacy packet access, indirect (not supported).
pub const MODE_IND: u8 = 0x40;
/// Regular memory access.
pub const MODE_MEM: u8 = 0x60;
/// Sign-extending load.
pub const MODE_MEMSX: u8 = 0x80;
/// Atomic read-modify-write.
pub const MODE_ATOMIC: u8 = 0xc0;

/// Atomic operation (in `imm`): add.
pub const ATOMIC_ADD: i32 = 0x00;
/// Atomic or.
pub const ATOMIC_OR: i32 = 0x40;
/// Atomic and.
pub const ATOMIC_AND: i32 = 0x50;
/// Atomic xor.
pub const ATOMIC_XOR: i32 = 0xa0;
/// Flag: also return the old value in `src`.
pub const ATOMIC_FETCH: i32 = 0x01;
/// Atomic exchange (always fetches).
pub const ATOMIC_XCHG: i32 = 0xe0 | ATOMIC_FETCH;
/// Atomic compare and exchange against `r0` (always fetches into `r0`).
pub const ATOMIC_CMPXCHG: i32 = 0xf0 | ATOMIC_FETCH;

// Full opcodes used often enough to deserve a name.
/// `dst = imm64` (two slots).
pub const LDDW: u8 = CLS_LD | MODE_IMM | SIZE_DW;
/// Call a helper (src 0) or a local function (src 1).
pub const CALL: u8 = CLS_JMP | JMP_CALL;
/// Return from the current function (or the program).
pub const EXIT: u8 = CLS_JMP | JMP_EXIT;
/// Unconditional jump by `off`.
pub const JA: u8 = CLS_JMP | JMP_JA;
/// Unconditional jump by `imm` (JMP32 class).
pub const JA32: u8 = CLS_JMP32 | JMP_JA;

/// `src` value of CALL for a helper call.
pub const CALL_HELPER: u8 = 0;
/// `src` value of CALL for a local (bpf-to-bpf) call.
pub const CALL_LOCAL: u8 = 1;

/// Registers r0..=r10; r10 is the read-only frame pointer.
pub const NUM_REGS: usize = 11;
/// The frame pointer register.
pub const REG_FP: u8 = 10;

/// One decoded instruction slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Opcode byte.
    pub op: u8,
    /// Destination register number (0..=15 as encoded).
    pub dst: u8,
    /// Source register number (0..=15 as encoded).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl Insn {
    /// Decodes one 8-byte slot.
    #[inline(always)]
    pub fn decode(raw: &[u8; INSN_SIZE]) -> Insn {
        let w = u64::from_le_bytes(*raw);
        Insn {
            op: w as u8,
            dst: ((w >> 8) & 0xf) as u8,
            src: ((w >> 12) & 0xf) as u8,
            off: (w >> 16) as u16 as i16,
            imm: (w >> 32) as u32 as i32,
        }
    }

    /// Encodes this instruction into one 8-byte slot.
    pub fn encode(&self) -> [u8; INSN_SIZE] {
        let w = (self.op as u64)
            | (((self.dst & 0xf) as u64) << 8)
            | (((self.src & 0xf) as u64) << 12)
            | ((self.off as u16 as u64) << 16)
            | ((self.imm as u32 as u64) << 32);
        w.to_le_bytes()
    }
}

/// Splits program bytes into instruction slots, or `None` if the length is
/// not a multiple of [`INSN_SIZE`].
pub fn slots(prog: &[u8]) -> Option<&[[u8; INSN_SIZE]]> {
    let (slots, rest) = prog.as_chunks::<INSN_SIZE>();
    if rest.is_empty() {
        Some(slots)
    } else {
        None
    }
}
