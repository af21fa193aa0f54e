//! The CSD ABI shared with C: helper ids, the context a kernel gets in r1,
//! error conventions, and the ioctl numbers and argument structs.
//!
//! `bpf/fluffle_csd.h` mirrors every item here for C kernels and userland;
//! `tests/abi_sync.rs` parses that header (and compiles a probe against it)
//! and fails if the two disagree. Change both together.
//!
//! All structs are `#[repr(C)]` with naturally aligned fixed-width fields and
//! no implicit padding, so their byte layout is the same in C, in Rust and on
//! every 64-bit little-endian target we build for. They are (de)serialized
//! explicitly with `to_bytes` / `from_bytes` (little-endian) so no `unsafe`
//! transmute is needed: the kernel glue does `copy_from_user` into a byte
//! array and calls `from_bytes`.

/// Version of this ABI, in [`CsdCtx::abi_version`]. Bumped on any
/// incompatible change.
pub const ABI_VERSION: u32 = 1;

// ---- Helper ids (CALL imm). Signatures are in bpf/fluffle_csd.h. ----

/// `long csd_read(u64 off, void *dst, u64 len)`: copies snapshot bytes
/// `[off, off+len)` (clipped at the snapshot size) to `dst`; returns the
/// number copied (0 at or past the end).
pub const HELPER_READ: u32 = 1;
/// `u64 csd_size(void)`: the snapshot's size in bytes.
pub const HELPER_SIZE: u32 = 2;
/// `long csd_emit(const void *src, u64 len)`: appends up to `len` bytes to
/// the output; returns how many fit (less than `len` once the output is
/// full, never an error for a full output).
pub const HELPER_EMIT: u32 = 3;
/// `void *csd_scratch(void)`: address of the run's zeroed scratch buffer
/// of [`CsdCtx::scratch_size`] bytes (the same address on every call).
pub const HELPER_SCRATCH: u32 = 4;
/// `u64 csd_lba_count(void)`: number of file blocks of the snapshot
/// (`ceil(size / block_size)`), holes included.
pub const HELPER_LBA_COUNT: u32 = 5;
/// `long csd_lbas(u64 first, u64 *dst, u64 n)`: writes the device LBAs of
/// file blocks `first..first+n` to `dst` ([`LBA_HOLE`] for holes); returns
/// how many were written (fewer at the end of the file).
pub const HELPER_LBAS: u32 = 6;
/// `long csd_read_lba(u64 lba, void *dst)`: reads one device block
/// ([`BLOCK_SIZE`] bytes) to `dst`, only if the snapshot references `lba`;
/// returns `BLOCK_SIZE`, or `-EACCES` for any other LBA.
pub const HELPER_READ_LBA: u32 = 7;
/// `const void *csd_input(void)`: address of the data being written (write
/// streams; [`CsdCtx::input_len`] bytes, read-only), or 0 for reads.
pub const HELPER_INPUT: u32 = 8;

/// Every helper id, as the verifier is configured.
pub const HELPER_IDS: &[u32] = &[
    HELPER_READ,
    HELPER_SIZE,
    HELPER_EMIT,
    HELPER_SCRATCH,
    HELPER_LBA_COUNT,
    HELPER_LBAS,
    HELPER_READ_LBA,
    HELPER_INPUT,
];

// ---- Constants ----

/// Bytes per device block, the unit of LBAs.
pub const BLOCK_SIZE: u32 = 4096;
/// Marks a hole in the output of `csd_lbas`.
pub const LBA_HOLE: u64 = u64::MAX;
/// Bytes of the scratch buffer every run gets.
pub const SCRATCH_SIZE: u32 = 64 * 1024;
/// Extra output room the glue gives a write-stream kernel beyond the input
/// length (for trailers and headers).
pub const WRITE_SLACK: u32 = 4096;
/// Largest program accepted by load, in bytes (8 bytes per instruction).
pub const MAX_PROG_BYTES: u32 = 64 * 1024 * 8;
/// Most programs loaded at once.
pub const MAX_PROGRAMS: u32 = 64;
/// Most programs one user (other than an administrator) may have loaded.
pub const MAX_PROGRAMS_PER_USER: u32 = 16;
/// Most attachments at once (all processes together).
pub const MAX_ATTACHMENTS: u32 = 4096;

/// [`CsdCtx::op`]: a read (read stream or the explicit run ioctl).
pub const OP_READ: u32 = 0;
/// [`CsdCtx::op`]: a write (write stream).
pub const OP_WRITE: u32 = 1;

/// [`CsdCtx::file_type`]: regular file.
pub const FT_REGULAR: u32 = 1;
/// [`CsdCtx::file_type`]: directory.
pub const FT_DIRECTORY: u32 = 2;
/// [`CsdCtx::file_type`]: symbolic link.
pub const FT_SYMLINK: u32 = 3;

/// Name of the process-scoped xattr attaching a read-stream kernel (value:
/// the id in decimal).
pub const XATTR_READ_STREAM: &str = "user.process.csd_read_stream";
/// Name of the process-scoped xattr attaching a write-stream kernel.
pub const XATTR_WRITE_STREAM: &str = "user.process.csd_write_stream";

// ---- Errno values a kernel sees as negative helper results ----

/// `csd_read_lba` returns `-CSD_EACCES` for an LBA not in the snapshot.
pub const CSD_EACCES: u32 = 13;
/// `-CSD_EINVAL`: an invalid argument (also what kernels return for a
/// request they cannot serve).
pub const CSD_EINVAL: u32 = 22;

// ---- The context (r1) ----

/// The read-only context a kernel gets in r1.
///
/// A kernel returns a C `int` (the low 32 bits of r0): 0 (or any
/// non-negative value) on success, or a negative errno that fails the
/// request with that errno; its result is what it emitted.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsdCtx {
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// [`OP_READ`] or [`OP_WRITE`].
    pub op: u32,
    /// Request offset: the file position of the read or write.
    pub req_offset: u64,
    /// Request length: bytes asked for (read) or written (write).
    pub req_len: u64,
    /// Inode number of the file.
    pub ino: u64,
    /// Inode number of its parent directory (0 if unknown).
    pub parent: u64,
    /// [`FT_REGULAR`], [`FT_DIRECTORY`] or [`FT_SYMLINK`].
    pub file_type: u32,
    /// Full `st_mode`.
    pub mode: u32,
    /// Snapshot size in bytes.
    pub size: u64,
    /// Number of file blocks (`csd_lba_count()`).
    pub lba_count: u64,
    /// Bytes per LBA ([`BLOCK_SIZE`]).
    pub block_size: u32,
    /// Logical sector size of the device in bytes.
    pub sector_size: u32,
    /// Zone size in blocks.
    pub zone_size: u64,
    /// Writable blocks per zone.
    pub zone_cap: u64,
    /// Number of zones.
    pub zone_count: u32,
    /// Bytes of the scratch buffer (`csd_scratch()`).
    pub scratch_size: u32,
    /// Bytes of input (`csd_input()`): the data written, 0 for reads.
    pub input_len: u64,
    /// Capacity of the output in bytes: what `csd_emit` accepts in total.
    pub out_cap: u64,
}

/// Size of [`CsdCtx`] in bytes.
pub const CTX_SIZE: usize = 112;

/// Writes `v` little-endian at `*at` and advances it.
fn put(out: &mut [u8], at: &mut usize, v: &[u8]) {
    let end = at.saturating_add(v.len());
    if let Some(dst) = out.get_mut(*at..end) {
        dst.copy_from_slice(v);
    }
    *at = end;
}

/// Reads N bytes at `*at` and advances it (zeros if out of range: callers
/// pass buffers of the exact struct size).
fn take<const N: usize>(b: &[u8], at: &mut usize) -> [u8; N] {
    let end = at.saturating_add(N);
    let mut v = [0u8; N];
    if let Some(src) = b.get(*at..end) {
        v.copy_from_slice(src);
    }
    *at = end;
    v
}

impl CsdCtx {
    /// The context as the kernel sees it in memory.
    pub fn to_bytes(&self) -> [u8; CTX_SIZE] {
        let mut b = [0u8; CTX_SIZE];
        let at = &mut 0usize;
        put(&mut b, at, &self.abi_version.to_le_bytes());
        put(&mut b, at, &self.op.to_le_bytes());
        put(&mut b, at, &self.req_offset.to_le_bytes());
        put(&mut b, at, &self.req_len.to_le_bytes());
        put(&mut b, at, &self.ino.to_le_bytes());
        put(&mut b, at, &self.parent.to_le_bytes());
        put(&mut b, at, &self.file_type.to_le_bytes());
        put(&mut b, at, &self.mode.to_le_bytes());
        put(&mut b, at, &self.size.to_le_bytes());
        put(&mut b, at, &self.lba_count.to_le_bytes());
        put(&mut b, at, &self.block_size.to_le_bytes());
        put(&mut b, at, &self.sector_size.to_le_bytes());
        put(&mut b, at, &self.zone_size.to_le_bytes());
        put(&mut b, at, &self.zone_cap.to_le_bytes());
        put(&mut b, at, &self.zone_count.to_le_bytes());
        put(&mut b, at, &self.scratch_size.to_le_bytes());
        put(&mut b, at, &self.input_len.to_le_bytes());
        put(&mut b, at, &self.out_cap.to_le_bytes());
        b
    }
}

// ---- ioctls ----

/// The ioctl type byte of FluffleFS.
pub const IOC_TYPE: u8 = b'F';

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Linux `_IOC(dir, type, nr, size)` (asm-generic layout: nr 8 bits, type 8
/// bits, size 14 bits, dir 2 bits).
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | (((size as u32) & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32
}

/// Argument of [`IOC_CSD_LOAD`]: verifies and stores a program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadArgs {
    /// User address of the instruction bytes.
    pub prog_ptr: u64,
    /// Their length in bytes (a multiple of 8, at most [`MAX_PROG_BYTES`]).
    pub prog_len: u32,
    /// Must be 0.
    pub flags: u32,
    /// Index of the entry instruction (what `ebpf::elf` extraction returns).
    pub entry: u32,
    /// Out: the program id (never 0).
    pub id_out: u32,
}

/// Size of [`LoadArgs`] in bytes.
pub const LOAD_ARGS_SIZE: usize = 24;

impl LoadArgs {
    /// Serializes as the C struct.
    pub fn to_bytes(&self) -> [u8; LOAD_ARGS_SIZE] {
        let mut b = [0u8; LOAD_ARGS_SIZE];
        let at = &mut 0usize;
        put(&mut b, at, &self.prog_ptr.to_le_bytes());
        put(&mut b, at, &self.prog_len.to_le_bytes());
        put(&mut b, at, &self.flags.to_le_bytes());
        put(&mut b, at, &self.entry.to_le_bytes());
        put(&mut b, at, &self.id_out.to_le_bytes());
        b
    }

    /// Parses the C struct.
    pub fn from_bytes(b: &[u8; LOAD_ARGS_SIZE]) -> Self {
        let at = &mut 0usize;
        LoadArgs {
            prog_ptr: u64::from_le_bytes(take(b, at)),
            prog_len: u32::from_le_bytes(take(b, at)),
            flags: u32::from_le_bytes(take(b, at)),
            entry: u32::from_le_bytes(take(b, at)),
            id_out: u32::from_le_bytes(take(b, at)),
        }
    }
}

/// Argument of [`IOC_CSD_RUN`]: runs a loaded program over a snapshot of
/// the file the ioctl is issued on, into a user buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunArgs {
    /// Program id.
    pub id: u32,
    /// Must be 0.
    pub flags: u32,
    /// Request offset ([`CsdCtx::req_offset`]).
    pub offset: u64,
    /// Request length ([`CsdCtx::req_len`]).
    pub len: u64,
    /// User address of the output buffer.
    pub out_ptr: u64,
    /// Its capacity in bytes ([`CsdCtx::out_cap`]).
    pub out_len: u64,
    /// Out: bytes the kernel emitted.
    pub result_len: u64,
}

/// Size of [`RunArgs`] in bytes.
pub const RUN_ARGS_SIZE: usize = 48;

impl RunArgs {
    /// Serializes as the C struct.
    pub fn to_bytes(&self) -> [u8; RUN_ARGS_SIZE] {
        let mut b = [0u8; RUN_ARGS_SIZE];
        let at = &mut 0usize;
        put(&mut b, at, &self.id.to_le_bytes());
        put(&mut b, at, &self.flags.to_le_bytes());
        put(&mut b, at, &self.offset.to_le_bytes());
        put(&mut b, at, &self.len.to_le_bytes());
        put(&mut b, at, &self.out_ptr.to_le_bytes());
        put(&mut b, at, &self.out_len.to_le_bytes());
        put(&mut b, at, &self.result_len.to_le_bytes());
        b
    }

    /// Parses the C struct.
    pub fn from_bytes(b: &[u8; RUN_ARGS_SIZE]) -> Self {
        let at = &mut 0usize;
        RunArgs {
            id: u32::from_le_bytes(take(b, at)),
            flags: u32::from_le_bytes(take(b, at)),
            offset: u64::from_le_bytes(take(b, at)),
            len: u64::from_le_bytes(take(b, at)),
            out_ptr: u64::from_le_bytes(take(b, at)),
            out_len: u64::from_le_bytes(take(b, at)),
            result_len: u64::from_le_bytes(take(b, at)),
        }
    }
}

/// `_IOWR('F', 1, struct fluffle_csd_load)`: load a program.
pub const IOC_CSD_LOAD: u32 = ioc(IOC_READ | IOC_WRITE, IOC_TYPE, 1, LOAD_ARGS_SIZE);
/// `_IOW('F', 2, __u32)`: unload program id (`EBUSY` while attached).
pub const IOC_CSD_UNLOAD: u32 = ioc(IOC_WRITE, IOC_TYPE, 2, 4);
/// `_IOWR('F', 3, struct fluffle_csd_run)`: run a program explicitly.
pub const IOC_CSD_RUN: u32 = ioc(IOC_READ | IOC_WRITE, IOC_TYPE, 3, RUN_ARGS_SIZE);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn sizes_match_the_repr_c_layout() {
        assert_eq!(size_of::<CsdCtx>(), CTX_SIZE);
        assert_eq!(size_of::<LoadArgs>(), LOAD_ARGS_SIZE);
        assert_eq!(size_of::<RunArgs>(), RUN_ARGS_SIZE);
    }

    #[test]
    fn ctx_bytes_follow_field_offsets() {
        let c = CsdCtx { zone_count: 0x1122_3344, out_cap: 0x0102_0304_0506_0708, op: 7, ..Default::default() };
        let b = c.to_bytes();
        let zc = offset_of!(CsdCtx, zone_count);
        assert_eq!(b[zc..zc + 4], 0x1122_3344u32.to_le_bytes());
        let oc = offset_of!(CsdCtx, out_cap);
        assert_eq!(b[oc..oc + 8], 0x0102_0304_0506_0708u64.to_le_bytes());
        let op = offset_of!(CsdCtx, op);
        assert_eq!(b[op..op + 4], 7u32.to_le_bytes());
    }

    #[test]
    fn ioctl_args_round_trip() {
        let l = LoadArgs { prog_ptr: 0xdead_beef_0000, prog_len: 80, flags: 0, entry: 3, id_out: 9 };
        assert_eq!(LoadArgs::from_bytes(&l.to_bytes()), l);
        let off = offset_of!(LoadArgs, id_out);
        assert_eq!(l.to_bytes()[off..off + 4], 9u32.to_le_bytes());
        let r = RunArgs { id: 5, flags: 0, offset: 1, len: 2, out_ptr: 3, out_len: 4, result_len: 5 };
        assert_eq!(RunArgs::from_bytes(&r.to_bytes()), r);
        let off = offset_of!(RunArgs, result_len);
        assert_eq!(r.to_bytes()[off..off + 8], 5u64.to_le_bytes());
    }

    #[test]
    fn ioctl_numbers_use_the_linux_encoding() {
        // Values computed by hand from asm-generic/ioctl.h.
        assert_eq!(IOC_CSD_LOAD, 0xc018_4601);
        assert_eq!(IOC_CSD_UNLOAD, 0x4004_4602);
        assert_eq!(IOC_CSD_RUN, 0xc030_4603);
    }
}
