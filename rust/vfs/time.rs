//! Wall-clock time for the core, which has no clock of its own.

use crate::fluffle::types::Timespec;
use kernel::bindings;

/// The current real time.
pub(crate) fn now() -> Timespec {
    let mut ts = bindings::timespec64 { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec64.
    unsafe { bindings::ktime_get_real_ts64(&mut ts) };
    to_core(&ts)
}

/// A kernel timespec64 as the core's timespec (nanoseconds clamped).
pub(crate) fn to_core(ts: &bindings::timespec64) -> Timespec {
    Timespec { sec: ts.tv_sec, nsec: (ts.tv_nsec as i64).clamp(0, 999_999_999) as u32 }
}

/// The core's timespec as a kernel timespec64.
pub(crate) fn from_core(t: Timespec) -> bindings::timespec64 {
    bindings::timespec64 { tv_sec: t.sec, tv_nsec: t.nsec as _ }
}
