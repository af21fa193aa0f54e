//! The helper functions a CSD kernel calls (ids and C signatures in
//! [`abi`](super::abi) and bpf/fluffle_csd.h).
//!
//! Conventions:
//! - Every pointer argument is resolved through the run's region table, so
//!   a kernel can only hand over memory it may access; a bad pointer or
//!   length ends the run with `EFAULT` (it is a bug in the kernel, not a
//!   condition it could handle).
//! - Conditions a kernel can handle come back as a negative errno in r0:
//!   an LBA the snapshot does not reference is `-EACCES`.
//! - Errors of the storage below (e.g. `EIO`) end the run with that errno:
//!   a kernel must not silently compute over missing data.

use super::abi::*;
use super::ebpf::{HelperError, Helpers, Memory};
use super::fluffle::errno::{Errno, EACCES, EINVAL};
use super::source::{block_count, SnapshotSource};

/// Per-run state the helpers work on.
pub(super) struct HelperState<'s> {
    /// The snapshot being read.
    pub src: &'s mut dyn SnapshotSource,
    /// Output buffer (its length is the output capacity).
    pub out: &'s mut [u8],
    /// Bytes emitted so far.
    pub emitted: usize,
    /// VM address of the scratch buffer (0 if none).
    pub scratch_addr: u64,
    /// VM address of the input (0 if none).
    pub input_addr: u64,
}

/// The errno as a negative helper result.
fn neg(e: Errno) -> u64 {
    (-(e.0 as i64)) as u64
}

/// Ends the run with a storage error.
fn storage(e: Errno) -> HelperError {
    HelperError { errno: e.0, reason: "snapshot storage error" }
}

/// A length argument as usize (a value that cannot be a length faults).
fn len_arg(v: u64) -> Result<usize, HelperError> {
    usize::try_from(v).map_err(|_| HelperError::FAULT)
}

impl<'s> HelperState<'s> {
    fn read(&mut self, a: [u64; 5], mem: &mut Memory<'_>) -> Result<u64, HelperError> {
        let (off, dst, len) = (a[0], a[1], len_arg(a[2])?);
        if len == 0 {
            return Ok(0);
        }
        self.src.checkpoint().map_err(storage)?;
        let buf = mem.slice_mut(dst, len)?;
        let n = self.src.read(off, buf).map_err(storage)?;
        Ok(n as u64)
    }

    fn emit(&mut self, a: [u64; 5], mem: &mut Memory<'_>) -> Result<u64, HelperError> {
        let (src, len) = (a[0], len_arg(a[1])?);
        if len == 0 {
            return Ok(0);
        }
        // The whole range must be valid even if only part of it fits.
        let bytes = mem.slice(src, len)?;
        let room = self.out.len().saturating_sub(self.emitted);
        let n = len.min(room);
        let end = self.emitted.saturating_add(n);
        let dst = self.out.get_mut(self.emitted..end).ok_or(HelperError::FAULT)?;
        let part = bytes.get(..n).ok_or(HelperError::FAULT)?;
        dst.copy_from_slice(part);
        self.emitted = end;
        Ok(n as u64)
    }

    fn lbas(&mut self, a: [u64; 5], mem: &mut Memory<'_>) -> Result<u64, HelperError> {
        let (first, dst, n) = (a[0], a[1], len_arg(a[2])?);
        let bytes = n.checked_mul(8).ok_or(HelperError::FAULT)?;
        let out = mem.slice_mut(dst, bytes)?;
        let mut tmp = [0u64; 32];
        let mut done = 0usize;
        while done < n {
            let want = (n - done).min(tmp.len());
            let from = match first.checked_add(done as u64) {
                Some(f) => f,
                None => break,
            };
            let got = self.src.lbas(from, &mut tmp[..want]).map_err(storage)?;
            if got == 0 {
                break;
            }
            for (i, lba) in tmp.iter().take(got.min(want)).enumerate() {
                let at = (done + i) * 8;
                if let Some(d) = out.get_mut(at..at + 8) {
                    d.copy_from_slice(&lba.to_le_bytes());
                }
            }
            done += got.min(want);
        }
        Ok(done as u64)
    }

    fn read_lba(&mut self, a: [u64; 5], mem: &mut Memory<'_>) -> Result<u64, HelperError> {
        let (lba, dst) = (a[0], a[1]);
        self.src.checkpoint().map_err(storage)?;
        let buf = mem.slice_mut(dst, BLOCK_SIZE as usize)?;
        match self.src.read_lba(lba, buf) {
            Ok(()) => Ok(BLOCK_SIZE as u64),
            Err(e) if e == EACCES || e == EINVAL => Ok(neg(e)),
            Err(e) => Err(storage(e)),
        }
    }
}

impl<'a, 's> Helpers<'a> for HelperState<'s> {
    /// Long runs yield the CPU and stop on a fatal signal even when the
    /// kernel calls no helper (an endless loop runs until its budget).
    fn tick(&mut self) -> Result<(), HelperError> {
        self.src.checkpoint().map_err(storage)
    }

    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        match id {
            HELPER_READ => self.read(args, mem),
            HELPER_SIZE => Ok(self.src.size()),
            HELPER_EMIT => self.emit(args, mem),
            HELPER_SCRATCH => Ok(self.scratch_addr),
            HELPER_LBA_COUNT => Ok(block_count(self.src.size())),
            HELPER_LBAS => self.lbas(args, mem),
            HELPER_READ_LBA => self.read_lba(args, mem),
            HELPER_INPUT => Ok(self.input_addr),
            _ => Err(super::ebpf::helpers::UNKNOWN_HELPER),
        }
    }
}
