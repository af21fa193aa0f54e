//! Rust mirrors of kernel structs that the kernel's bindgen run leaves
//! opaque (their headers are not among the bound ones). `rust/shim.c`
//! checks every size and offset here with `static_assert`s at build time,
//! so a layout change in the kernel fails the build instead of corrupting
//! memory.

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_long, c_void};

/// `struct kstatfs` (include/linux/statfs.h).
#[repr(C)]
pub(crate) struct KStatFs {
    pub(crate) f_type: c_long,
    pub(crate) f_bsize: c_long,
    pub(crate) f_blocks: u64,
    pub(crate) f_bfree: u64,
    pub(crate) f_bavail: u64,
    pub(crate) f_files: u64,
    pub(crate) f_ffree: u64,
    pub(crate) f_fsid: [c_int; 2],
    pub(crate) f_namelen: c_long,
    pub(crate) f_frsize: c_long,
    pub(crate) f_flags: c_long,
    pub(crate) f_spare: [c_long; 4],
}

/// `xattr_handler.get`.
pub(crate) type XattrGet = unsafe extern "C" fn(
    *const XattrHandler,
    *mut bindings::dentry,
    *mut bindings::inode,
    *const c_char,
    *mut c_void,
    usize,
) -> c_int;

/// `xattr_handler.set`.
pub(crate) type XattrSet = unsafe extern "C" fn(
    *const XattrHandler,
    *mut bindings::mnt_idmap,
    *mut bindings::dentry,
    *mut bindings::inode,
    *const c_char,
    *const c_void,
    usize,
    c_int,
) -> c_int;

/// `struct xattr_handler` (include/linux/xattr.h).
#[repr(C)]
pub(crate) struct XattrHandler {
    pub(crate) name: *const c_char,
    pub(crate) prefix: *const c_char,
    pub(crate) flags: c_int,
    pub(crate) list: Option<unsafe extern "C" fn(*mut bindings::dentry) -> bool>,
    pub(crate) get: Option<XattrGet>,
    pub(crate) set: Option<XattrSet>,
}

// The sizes `rust/shim.c` asserts for the C side.
const _: () = assert!(core::mem::size_of::<KStatFs>() == 120);
const _: () = assert!(core::mem::size_of::<XattrHandler>() == 48);
