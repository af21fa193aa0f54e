//! Safe wrappers over the kernel's VFS and block-layer bindings.
//!
//! Everything `unsafe` that the filesystem needs from the kernel lives in
//! this directory and in `rust/ops/` (the FluffleFS callbacks), behind types
//! whose invariants make the rest safe.

pub(crate) mod bio;
pub(crate) mod cmirror;
pub(crate) mod errno;
pub(crate) mod folio;
pub(crate) mod fs_type;
pub(crate) mod nofs;
pub(crate) mod shim;
pub(crate) mod time;
pub(crate) mod vtable;
pub(crate) mod zoned_bdev;
