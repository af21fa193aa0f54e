//! Safe wrappers over the kernel's VFS and block-layer bindings.
//!
//! Everything `unsafe` that the filesystem needs from the kernel lives in
//! this directory, behind types whose invariants make the rest safe.

pub mod errno;
pub mod fs_type;
pub mod shim;
