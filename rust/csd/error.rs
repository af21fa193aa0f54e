//! The CSD error: an errno for the syscall plus what the glue prints.

use super::ebpf::{RunError, VerifyError};
use super::fluffle::errno::Errno;
use core::fmt;

/// Details kept next to the errno so the glue can log one precise line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Nothing more to say than the errno.
    None,
    /// The verifier rejected the program (errno `EINVAL`).
    Verify(VerifyError),
    /// The run failed in the interpreter or a helper.
    Run(RunError),
    /// The kernel returned this negative value (r0) to fail the request.
    KernelReturned(i64),
    /// A fixed explanation.
    Msg(&'static str),
}

/// A failed CSD operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsdError {
    /// What the syscall returns (negated by the glue).
    pub errno: Errno,
    /// Why, for dmesg.
    pub detail: Detail,
}

impl CsdError {
    /// An error with a fixed message.
    pub const fn msg(errno: Errno, msg: &'static str) -> Self {
        CsdError { errno, detail: Detail::Msg(msg) }
    }
}

impl From<Errno> for CsdError {
    fn from(errno: Errno) -> Self {
        CsdError { errno, detail: Detail::None }
    }
}

impl fmt::Display for CsdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Detail::None => write!(f, "errno {}", self.errno.0),
            Detail::Verify(v) => write!(f, "verifier rejected the program: {v}"),
            Detail::Run(r) => write!(f, "run failed: {r}"),
            Detail::KernelReturned(v) => write!(f, "kernel returned {v}"),
            Detail::Msg(m) => write!(f, "{m} (errno {})", self.errno.0),
        }
    }
}

/// Convenience alias.
pub type CsdResult<T> = Result<T, CsdError>;
