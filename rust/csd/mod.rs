//! FluffleFS computational storage: runs eBPF "CSD kernels" over pinned
//! snapshots of files.
//!
//! Compiled by cargo as the `csd` crate and by Kbuild as `mod csd` of the
//! kernel module (`--cfg MODULE`, next to `mod ebpf` and `mod fluffle`):
//! `core` only, allocation through `fluffle::mem`, no panics, no floats.
//! Sibling crates are reached as `super::ebpf` / `super::fluffle` through
//! the re-exports below, which resolve to the cargo dependencies on the host
//! and to the sibling modules in the kernel.
//!
//! - [`abi`]: helper ids, the context struct, ioctl numbers and argument
//!   structs (mirrored by `bpf/fluffle_csd.h`, kept in sync by a test).
//! - [`registry`]: load (verify + copy) / unload programs by id; per-process
//!   attachments keyed by an opaque `(owner, object)` pair.
//! - [`source`]: the [`SnapshotSource`](source::SnapshotSource) trait the
//!   helpers read through, and [`FsSnapshot`](source::FsSnapshot) for the core.
//! - [`runner`]: one run of a kernel for one request.
//! - [`error`]: [`CsdError`](error::CsdError) = errno + detail (the
//!   verifier's instruction index and reason, the run error, the kernel's
//!   own negative return) whose `Display` is the one-line dmesg message.
//!
//! Errnos: `EINVAL` verifier rejection or bad argument, `E2BIG` program
//! over [`abi::MAX_PROG_BYTES`], `ENOENT` unknown id, `EBUSY` unload while
//! attached, `ENOSPC` registry full, `ETIME` instruction budget exhausted,
//! `EFAULT` memory access outside the kernel's regions, `ENOMEM`, storage
//! errors as they come (`EIO`, `EINTR` from the glue's checkpoint), and a
//! kernel's own `return -E...;`.
//!
//! The C kernels are in `bpf/`: average.c, entropy.c, count_pattern.c,
//! count_lines.c, grep.c, lba_hash.c (read streams; lba_hash reads by LBA),
//! checksum_trailer.c (write stream);
//! `tests/` runs each against host-computed results.
//!
//! Typical use by the kernel glue (under its registry mutex / fs lock):
//! ```
//! use csd::{registry::{Caller, Registry}, runner::{self, Request, RunMemory}, source::FsSnapshot};
//! use fluffle::{fs::{format, Fs}, memdev::MemDevice, types::*};
//!
//! let mut dev = MemDevice::with_zones(16, 80, 64).unwrap();
//! format(&mut dev, &FormatOptions::default()).unwrap();
//! let mut fs = Fs::mount(dev, &MountOptions::default()).unwrap();
//! let a = fs.create(Fs::<MemDevice>::ROOT_INO, b"f", 0o644, 0, 0).unwrap();
//! fs.write(a.ino, 0, b"abc").unwrap();
//!
//! // "return csd_size() via emit": r1 = size; *(u64*)(r10-8) = r1;
//! // emit(r10-8, 8); r0 = 0; exit
//! let code: Vec<u8> = [
//!     [0x85u8, 0, 0, 0, 2, 0, 0, 0], [0x7b, 0x0a, 0xf8, 0xff, 0, 0, 0, 0],
//!     [0xbf, 0xa1, 0, 0, 0, 0, 0, 0], [0x07, 0x01, 0, 0, 0xf8, 0xff, 0xff, 0xff],
//!     [0xb7, 0x02, 0, 0, 8, 0, 0, 0], [0x85, 0, 0, 0, 3, 0, 0, 0],
//!     [0xb7, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0],
//! ].concat();
//! let mut reg = Registry::new();
//! let id = reg.load(Caller::ROOT, &code, 0).unwrap();
//!
//! let snap = fs.snapshot(a.ino).unwrap();
//! let mut mem = RunMemory::new().unwrap();
//! let mut out = [0u8; 64];
//! let res = {
//!     let mut src = FsSnapshot::new(&mut fs, snap, 4096).unwrap();
//!     let info = src.info(Fs::<MemDevice>::ROOT_INO).unwrap();
//!     let prog = reg.get(id).unwrap().program().unwrap();
//!     runner::run_program(&prog, &mut src, &info, &Request::read(0, 64), &mut mem, &mut out,
//!                         runner::budget_for(3)).unwrap()
//! };
//! fs.release_snapshot(snap).unwrap();
//! assert_eq!(res.emitted, 8);
//! assert_eq!(u64::from_le_bytes(out[..8].try_into().unwrap()), 3);
//! ```
#![cfg_attr(not(MODULE), no_std)]

#[cfg(MODULE)]
pub(crate) use crate::{ebpf, fluffle};
#[cfg(not(MODULE))]
pub use ::{ebpf, fluffle};

pub mod abi;
pub mod error;
mod helpers;
pub mod registry;
pub mod runner;
pub mod source;

