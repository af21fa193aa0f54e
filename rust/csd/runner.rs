//! Runs a verified kernel over a snapshot for one request.
//!
//! The VM's memory is: the read-only context (r1), the stack, the scratch
//! buffer (`csd_scratch()`), and for write streams the read-only input
//! (`csd_input()`). The output is not VM memory: `csd_emit` copies into it,
//! bounded by its length. Stack and scratch are heap buffers owned by a
//! [`RunMemory`] (never on the kernel stack), zeroed before every run so no
//! run sees another's data.
//!
//! Errors (as errnos for the syscall):
//! - instruction budget exhausted: `ETIME` (62);
//! - a load/store outside the regions or a bad helper pointer: `EFAULT`;
//! - call depth exceeded: `E2BIG`;
//! - the kernel returned a negative `int` `-e` (the low 32 bits of r0):
//!   errno `e` (1..=4095, else `EINVAL`);
//! - storage errors while reading the snapshot: their errno (e.g. `EIO`).

use super::abi::*;
use super::ebpf::{memory, Memory, Runnable};
use super::error::{CsdError, CsdResult, Detail};
use super::fluffle::errno::{Errno, EINVAL};
use super::fluffle::mem::FVec;
use super::helpers::HelperState;
use super::source::{block_count, FileInfo, SnapshotSource};

/// Instructions a run may execute at least.
pub const BUDGET_BASE: u64 = 10_000_000;
/// Instructions a run may execute per byte of snapshot plus input.
pub const BUDGET_PER_BYTE: u64 = 24;
/// Upper bound of [`budget_for`].
pub const BUDGET_MAX: u64 = 16_000_000_000;

/// The default instruction budget for a run over `bytes` bytes (snapshot
/// size plus input length).
///
/// The bundled kernels need 2-10 instructions per byte (see
/// `examples/csd_bench.rs`), so 24 leaves room while an endless loop over
/// a small file fails within milliseconds. The interpreter runs about
/// 200-300 M instructions/s, so a runaway kernel over a 64 MiB file spins
/// for about 7 s before `ETIME`; well-behaved kernels call `csd_read`
/// often, which calls [`SnapshotSource::checkpoint`] (the glue's
/// `cond_resched()` and fatal-signal check).
pub fn budget_for(bytes: u64) -> u64 {
    BUDGET_BASE.saturating_add(bytes.saturating_mul(BUDGET_PER_BYTE)).min(BUDGET_MAX)
}

/// Heap memory a run needs besides the output: the eBPF stack and the
/// scratch buffer. Allocate once, reuse for many runs.
pub struct RunMemory {
    stack: FVec<u8>,
    scratch: FVec<u8>,
}

impl RunMemory {
    /// Allocates a full-depth stack and a [`SCRATCH_SIZE`] scratch buffer
    /// (`ENOMEM` on failure).
    pub fn new() -> Result<Self, Errno> {
        Ok(RunMemory {
            stack: FVec::try_from_elem(0u8, memory::STACK_SIZE)?,
            scratch: FVec::try_from_elem(0u8, SCRATCH_SIZE as usize)?,
        })
    }
}

/// What is being asked of the kernel.
#[derive(Clone, Copy, Debug)]
pub struct Request<'i> {
    /// [`OP_READ`] or [`OP_WRITE`].
    pub op: u32,
    /// File position of the read or write.
    pub offset: u64,
    /// Bytes asked for (read) or written (write).
    pub len: u64,
    /// The data written (write streams), visible through `csd_input()`.
    pub input: Option<&'i [u8]>,
}

impl<'i> Request<'i> {
    /// A read request of `len` bytes at `offset`.
    pub fn read(offset: u64, len: u64) -> Self {
        Request { op: OP_READ, offset, len, input: None }
    }

    /// A write request of `data` at `offset`.
    pub fn write(offset: u64, data: &'i [u8]) -> Self {
        Request { op: OP_WRITE, offset, len: data.len() as u64, input: Some(data) }
    }
}

/// How a successful run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Bytes the kernel emitted into the output.
    pub emitted: usize,
    /// Instructions executed.
    pub insns: u64,
}

/// The context for a run.
fn context(src: &dyn SnapshotSource, info: &FileInfo, req: &Request<'_>, scratch_size: usize, out_cap: usize) -> CsdCtx {
    let geo = src.geometry();
    let size = src.size();
    CsdCtx {
        abi_version: ABI_VERSION,
        op: req.op,
        req_offset: req.offset,
        req_len: req.len,
        ino: info.ino,
        parent: info.parent,
        file_type: info.file_type(),
        mode: info.mode,
        size,
        lba_count: block_count(size),
        block_size: BLOCK_SIZE,
        sector_size: geo.sector_size,
        zone_size: geo.zone_size,
        zone_cap: geo.zone_cap,
        zone_count: geo.zone_count,
        scratch_size: scratch_size as u32,
        input_len: req.input.map_or(0, |i| i.len() as u64),
        out_cap: out_cap as u64,
    }
}

fn region_error(_e: super::ebpf::HelperError) -> CsdError {
    CsdError::msg(super::fluffle::errno::ENOMEM, "VM region table full")
}

/// Runs `prog` over `src` for `req`, writing its output into `out` (whose
/// length is the output capacity); at most `budget` instructions. `prog` is
/// a loaded program's pre-decoded form ([`LoadedProgram::program`]) or a
/// plain verified [`Program`](super::ebpf::Program) (checked interpreter).
///
/// [`LoadedProgram::program`]: super::registry::LoadedProgram::program
pub fn run_program<P: Runnable + ?Sized>(
    prog: &P,
    src: &mut dyn SnapshotSource,
    info: &FileInfo,
    req: &Request<'_>,
    mem: &mut RunMemory,
    out: &mut [u8],
    budget: u64,
) -> CsdResult<RunOutcome> {
    let scratch: &mut [u8] = &mut mem.scratch;
    scratch.fill(0);
    let ctx_bytes = context(src, info, req, scratch.len(), out.len()).to_bytes();
    // Virtual addresses: a program (and so its output, which reaches user
    // space) never sees where the kernel's buffers really are.
    let mut vm = Memory::with_virtual_addresses(&mut mem.stack);
    let r1 = vm.add_readonly(&ctx_bytes).map_err(region_error)?;
    let scratch_addr = vm.add_writable(scratch).map_err(region_error)?;
    let input_addr = match req.input {
        // An empty slice has no address worth handing out.
        Some(i) if !i.is_empty() => vm.add_readonly(i).map_err(region_error)?,
        _ => 0,
    };
    let mut state = HelperState { src, out, emitted: 0, scratch_addr, input_addr };
    let exit = prog
        .run_on(&mut vm, &mut state, r1, budget)
        .map_err(|e| CsdError { errno: Errno(e.kind.errno()), detail: Detail::Run(e) })?;
    // Kernels return a C `int`: only the low 32 bits of r0 count (clang
    // leaves the upper half zero for `return -5;`).
    let r0 = exit.r0 as u32 as i32;
    if r0 < 0 {
        let errno = if r0 >= -4095 { Errno(r0.wrapping_neg()) } else { EINVAL };
        return Err(CsdError { errno, detail: Detail::KernelReturned(r0 as i64) });
    }
    Ok(RunOutcome { emitted: state.emitted, insns: exit.insns })
}
