//! Safe wrappers over the kernel's VFS and block-layer bindings.
//!
//! Everything `unsafe` that the filesystem needs from the kernel lives in
//! this directory and in `rust/ops/` (the FluffleFS callbacks), behind types
//! whose invariants make the rest safe.

pub mod cmirror;
pub mod errno;
pub mod folio;
pub mod fs_type;
pub mod nofs;
pub mod shim;
pub mod time;
pub mod vtable;
pub mod zoned_bdev;
