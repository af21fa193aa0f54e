//! Conversion between the core's errno values and the kernel's `Error`.

use crate::fluffle::errno::Errno;
use kernel::error::Error;

/// The kernel error for a core errno (the core's are positive, e.g. `EUCLEAN`,
/// many of which the kernel crate has no named constant for).
pub(crate) fn from_core(e: Errno) -> Error {
    // `from_errno` takes the negative form and maps anything out of range
    // to EINVAL itself, so hostile values cannot produce a bogus pointer.
    Error::from_errno(-e.0)
}
