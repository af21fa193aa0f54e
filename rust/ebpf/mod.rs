//! FluffleFS eBPF verifier and interpreter (RFC 9669), no_std.
//!
//! Compiled by cargo as the `ebpf` crate and by Kbuild as `mod ebpf` of the
//! kernel module (`--cfg MODULE`): `core` only, relative paths, no panics,
//! no allocation.
//!
//! Use:
//! 1. [`verifier::verify`] the program bytes (with the helper ids the
//!    embedder provides) into a [`Program`]; errors name the instruction.
//! 2. Build a [`Memory`] over a caller-owned stack ([`memory::STACK_SIZE`]
//!    bytes), add the context and other buffers as regions. In the kernel
//!    prefer [`Memory::with_virtual_addresses`]: programs then never see a
//!    kernel pointer.
//! 3. [`interpreter::run`] it with a [`Helpers`] implementation and an
//!    instruction budget.
//!
//! [`elf`] extracts the program bytes from a clang `-target bpf` object.
//!
//! ```
//! use ebpf::{memory, run, verify, HelperError, Helpers, Memory, VerifyConfig};
//!
//! // Helper 1 doubles its argument.
//! struct Double;
//! impl<'a> Helpers<'a> for Double {
//!     fn call(&mut self, id: u32, a: [u64; 5], _m: &mut Memory<'a>) -> Result<u64, HelperError> {
//!         if id == 1 { Ok(a[0] * 2) } else { Err(ebpf::helpers::UNKNOWN_HELPER) }
//!     }
//! }
//!
//! // r1 = *(u32 *)(r1 + 0); call 1; exit
//! let code = [
//!     0x61, 0x11, 0, 0, 0, 0, 0, 0,
//!     0x85, 0x00, 0, 0, 1, 0, 0, 0,
//!     0x95, 0x00, 0, 0, 0, 0, 0, 0,
//! ];
//! let prog = verify(&code, 0, &VerifyConfig::new(&[1])).unwrap();
//! let mut stack = [0u8; memory::STACK_SIZE]; // the kernel uses a heap buffer
//! let mut ctx = 21u32.to_le_bytes();
//! let mut mem = Memory::new(&mut stack);
//! let r1 = mem.add_writable(&mut ctx).unwrap();
//! let exit = run(&prog, &mut mem, &mut Double, r1, 1000).unwrap();
//! assert_eq!(exit.r0, 42);
//! ```
#![cfg_attr(not(MODULE), no_std)]

mod alu;
pub mod decode;
pub mod elf;
pub mod error;
pub mod fast;
pub mod helpers;
pub mod interpreter;
pub mod memory;
pub mod opcode;
mod prove;
pub mod runnable;
pub mod verifier;

pub use decode::{translate, Decoded, Op};
pub use error::{HelperError, RunError, RunErrorKind, VerifyError, VerifyReason};
pub use helpers::{HelperFn, HelperTable, Helpers, NoHelpers};
pub use fast::run_decoded;
pub use interpreter::{run, Exit, DEFAULT_BUDGET};
pub use memory::Memory;
pub use runnable::Runnable;
pub use verifier::{verify, Program, VerifyConfig};
