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
//!    bytes), add the context and other buffers as regions.
//! 3. [`interpreter::run`] it with a [`Helpers`] implementation and an
//!    instruction budget.
//!
//! [`elf`] extracts the program bytes from a clang `-target bpf` object.
#![cfg_attr(not(MODULE), no_std)]

pub mod elf;
pub mod error;
pub mod helpers;
pub mod interpreter;
pub mod memory;
pub mod opcode;
pub mod verifier;

pub use error::{HelperError, RunError, RunErrorKind, VerifyError, VerifyReason};
pub use helpers::{HelperFn, HelperTable, Helpers, NoHelpers};
pub use interpreter::{run, Exit, DEFAULT_BUDGET};
pub use memory::Memory;
pub use verifier::{verify, Program, VerifyConfig};
