//! What the two interpreters (`interpreter.rs`, checked; `fast.rs`,
//! pre-decoded) compute the same way: RFC 9669 division and modulo, and
//! the atomics' read-modify-write. One copy, so the two cannot drift apart
//! (the differential tests compare them).

use super::opcode::*;

/// The value an atomic writes back, or `None` for an unknown operation.
#[inline(always)]
pub(super) fn atomic_new(imm: i32, old: u64, src: u64, r0: u64) -> Option<u64> {
    Some(match imm {
        ATOMIC_CMPXCHG => {
            if old == r0 {
                src
            } else {
                old
            }
        }
        ATOMIC_XCHG => src,
        _ => match imm & !ATOMIC_FETCH {
            ATOMIC_ADD => old.wrapping_add(src),
            ATOMIC_OR => old | src,
            ATOMIC_AND => old & src,
            ATOMIC_XOR => old ^ src,
            _ => return None,
        },
    })
}

/// Writes the fetched old value where the atomic's variant wants it.
#[inline(always)]
pub(super) fn atomic_fetch(reg: &mut [u64; 16], imm: i32, src: usize, old: u64) {
    if imm == ATOMIC_CMPXCHG {
        reg[0] = old;
    } else if imm & ATOMIC_FETCH != 0 {
        reg[src & 0xf] = old;
    }
}

// Division and modulo with the RFC 9669 rules: x / 0 = 0, x % 0 = x, and
// the signed overflow case MIN / -1 wraps (= MIN, remainder 0).
#[inline(always)]
pub(super) fn udiv32(a: u32, b: u32) -> u32 {
    a.checked_div(b).unwrap_or(0)
}
#[inline(always)]
pub(super) fn sdiv32(a: u32, b: u32) -> u32 {
    if b == 0 {
        0
    } else {
        (a as i32).wrapping_div(b as i32) as u32
    }
}
#[inline(always)]
pub(super) fn umod32(a: u32, b: u32) -> u32 {
    a.checked_rem(b).unwrap_or(a)
}
#[inline(always)]
pub(super) fn smod32(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        (a as i32).wrapping_rem(b as i32) as u32
    }
}
#[inline(always)]
pub(super) fn udiv64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}
#[inline(always)]
pub(super) fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}
#[inline(always)]
pub(super) fn umod64(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}
#[inline(always)]
pub(super) fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}
