//! Error types of the verifier, the interpreter and helpers.
//!
//! No allocation: every reason is an enum with a static description, and
//! `Display` writes the instruction index next to it.

use core::fmt;

/// Why the verifier rejected a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyReason {
    /// The program has no instructions.
    Empty,
    /// The byte length is not a multiple of 8.
    TruncatedInsn,
    /// More instructions than the configured limit.
    TooLong,
    /// The entry point is outside the program or inside an LDDW pair.
    BadEntry,
    /// The opcode is not part of the supported ISA.
    UnknownOpcode,
    /// Legacy packet access (LD_ABS/LD_IND) is not supported.
    LegacyPacketAccess,
    /// A register number above r10.
    BadRegister,
    /// The instruction writes r10, the read-only frame pointer.
    WriteToFramePointer,
    /// A field the instruction does not use is not zero.
    ReservedField,
    /// LDDW is the last slot, or its second slot is malformed.
    IncompleteLddw,
    /// LDDW with a pseudo source (map fd, BTF id, ...) cannot be honoured.
    UnsupportedLddwSource,
    /// A jump leaves the program.
    JumpOutOfRange,
    /// A jump lands on the second slot of an LDDW.
    JumpIntoLddw,
    /// A local call target leaves the program or is an LDDW second slot.
    BadCallTarget,
    /// CALL with a source type other than helper (0) or local (1).
    UnsupportedCallKind,
    /// CALLX (`call` through a register, RFC 9669 opcode 0x8d): call
    /// targets must be known at load.
    CallxUnsupported,
    /// A helper id the embedder did not register.
    UnknownHelper,
    /// The byte swap width is not 16, 32 or 64.
    BadSwapWidth,
    /// The sign-extension width of MOVSX is not allowed.
    BadMovsxWidth,
    /// The offset of DIV/MOD is neither 0 (unsigned) nor 1 (signed).
    BadDivModOffset,
    /// An atomic operation this VM does not implement.
    UnsupportedAtomic,
    /// The last instruction is neither EXIT nor an unconditional jump, so
    /// control could fall off the end.
    FallsOffEnd,
}

impl VerifyReason {
    /// A fixed human-readable description.
    pub fn describe(&self) -> &'static str {
        match self {
            VerifyReason::Empty => "program is empty",
            VerifyReason::TruncatedInsn => "program length is not a multiple of 8 bytes",
            VerifyReason::TooLong => "program has more instructions than allowed",
            VerifyReason::BadEntry => "entry point is outside the program or inside an LDDW",
            VerifyReason::UnknownOpcode => "unknown opcode",
            VerifyReason::LegacyPacketAccess => "legacy packet access (LD_ABS/LD_IND) is not supported",
            VerifyReason::BadRegister => "register number above r10",
            VerifyReason::WriteToFramePointer => "instruction writes r10 (read-only frame pointer)",
            VerifyReason::ReservedField => "unused instruction field is not zero",
            VerifyReason::IncompleteLddw => "LDDW without a valid second slot",
            VerifyReason::UnsupportedLddwSource => "LDDW pseudo source (maps, BTF) is not supported",
            VerifyReason::JumpOutOfRange => "jump target outside the program",
            VerifyReason::JumpIntoLddw => "jump target is the second slot of an LDDW",
            VerifyReason::BadCallTarget => "local call target outside the program or inside an LDDW",
            VerifyReason::UnsupportedCallKind => "call kind not supported (only helper and local calls)",
            VerifyReason::CallxUnsupported => "CALLX (call through a register) is not supported: call targets must be constant",
            VerifyReason::UnknownHelper => "call to a helper id that is not registered",
            VerifyReason::BadSwapWidth => "byte swap width is not 16, 32 or 64",
            VerifyReason::BadMovsxWidth => "sign-extending move width not allowed",
            VerifyReason::BadDivModOffset => "DIV/MOD offset is neither 0 nor 1",
            VerifyReason::UnsupportedAtomic => "atomic operation not supported",
            VerifyReason::FallsOffEnd => "last instruction is not EXIT or JA: control can fall off the end",
        }
    }
}

/// A rejected program: the instruction slot index and the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Index of the offending instruction slot (0-based).
    pub index: usize,
    /// What is wrong with it.
    pub reason: VerifyReason,
}

impl VerifyError {
    /// The reason's fixed description.
    pub fn describe(&self) -> &'static str {
        self.reason.describe()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "insn {}: {}", self.index, self.reason.describe())
    }
}

/// An error returned by a helper function; it ends the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelperError {
    /// Positive errno the embedder may hand on (e.g. 14 for EFAULT).
    pub errno: i32,
    /// Fixed description.
    pub reason: &'static str,
}

impl HelperError {
    /// A memory access by the helper on behalf of the program was refused.
    pub const FAULT: HelperError = HelperError { errno: 14, reason: "helper memory access outside the allowed regions" };
    /// The region table is full.
    pub const TOO_MANY_REGIONS: HelperError = HelperError { errno: 12, reason: "memory region table is full" };
    /// An argument is invalid.
    pub const INVALID: HelperError = HelperError { errno: 22, reason: "invalid helper argument" };
}

/// Why a run stopped with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunErrorKind {
    /// A load touched memory outside every readable region.
    BadLoad {
        /// The address the program used.
        addr: u64,
        /// Access size in bytes.
        len: u8,
    },
    /// A store or atomic touched memory outside every writable region.
    BadStore {
        /// The address the program used.
        addr: u64,
        /// Access size in bytes.
        len: u8,
    },
    /// The instruction budget ran out (e.g. an endless loop).
    BudgetExhausted,
    /// A local call would exceed the call depth or the stack given.
    CallDepthExceeded,
    /// A helper returned an error.
    Helper(HelperError),
    /// The program counter left the program or an instruction is invalid;
    /// cannot happen for verified programs and is reported, not trusted.
    InvalidInsn,
}

impl RunErrorKind {
    /// A fixed human-readable description.
    pub fn describe(&self) -> &'static str {
        match self {
            RunErrorKind::BadLoad { .. } => "load outside the allowed memory regions",
            RunErrorKind::BadStore { .. } => "store outside the writable memory regions",
            RunErrorKind::BudgetExhausted => "instruction budget exhausted",
            RunErrorKind::CallDepthExceeded => "call depth exceeded",
            RunErrorKind::Helper(e) => e.reason,
            RunErrorKind::InvalidInsn => "invalid instruction at run time",
        }
    }

    /// The positive errno an embedder should report for this error.
    pub fn errno(&self) -> i32 {
        match self {
            RunErrorKind::BadLoad { .. } | RunErrorKind::BadStore { .. } => 14, // EFAULT
            RunErrorKind::BudgetExhausted => 62,                                  // ETIME
            RunErrorKind::CallDepthExceeded => 7,                                 // E2BIG
            RunErrorKind::Helper(e) => e.errno,
            RunErrorKind::InvalidInsn => 22, // EINVAL
        }
    }
}

/// A failed run: the instruction slot index where it stopped and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunError {
    /// Index of the instruction slot that failed.
    pub index: usize,
    /// What happened.
    pub kind: RunErrorKind,
}

impl RunError {
    /// The kind's fixed description.
    pub fn describe(&self) -> &'static str {
        self.kind.describe()
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RunErrorKind::BadLoad { addr, len } | RunErrorKind::BadStore { addr, len } => write!(
                f,
                "insn {}: {} (addr {:#x}, {} bytes)",
                self.index,
                self.kind.describe(),
                addr,
                len
            ),
            _ => write!(f, "insn {}: {}", self.index, self.kind.describe()),
        }
    }
}
