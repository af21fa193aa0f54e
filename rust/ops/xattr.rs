//! Extended attributes: the `user.`, `trusted.` and `security.`
//! namespaces, stored by the core, except `user.process.*`, the calling
//! process's CSD attachments (never stored, never listed, invisible to
//! other processes). The VFS checks access before the handlers run
//! (`xattr_permission`: `trusted.*` needs CAP_SYS_ADMIN, EPERM to write
//! and ENODATA to read without it; `user.*` only on regular files and
//! directories); `listxattr` shows `trusted.*` names to CAP_SYS_ADMIN
//! only, as ext4 does.

use super::csd;
use super::sb::with_fs;
use crate::fluffle::errno::{Errno, Result};
use crate::fluffle::mem::FVec;
use crate::vfs::cmirror::XattrHandler;
use crate::vfs::vtable::VTable;
use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_void};

const USER: &[u8] = b"user.";
/// `user.process.*`: per-process CSD attachments, never stored.
const PROCESS: &[u8] = b"process.";

/// The suffix after `user.process.` if `suffix` (after `user.`) has it.
///
/// # Safety
///
/// `suffix` must be a NUL-terminated string.
unsafe fn process_attr<'a>(suffix: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: guaranteed by the caller.
    unsafe { kernel::str::CStr::from_char_ptr(suffix) }.as_bytes().strip_prefix(PROCESS)
}

/// The prefix of `handler`'s namespace (`user.`, `trusted.`, `security.`).
///
/// # Safety
///
/// `handler` must be one of [`HANDLERS`].
unsafe fn prefix<'a>(handler: *const XattrHandler) -> &'a [u8] {
    // SAFETY: our handlers all have a static NUL-terminated prefix.
    unsafe { kernel::str::CStr::from_char_ptr((*handler).prefix) }.as_bytes()
}

/// The full attribute name (`prefix` + the suffix the VFS passes).
///
/// # Safety
///
/// `suffix` must be a NUL-terminated string.
unsafe fn full_name(prefix: &[u8], suffix: *const c_char) -> Result<FVec<u8>> {
    // SAFETY: guaranteed by the caller.
    let s = unsafe { kernel::str::CStr::from_char_ptr(suffix) }.as_bytes();
    let mut name = FVec::try_with_capacity(prefix.len() + s.len())?;
    name.try_extend_from_slice(prefix)?;
    name.try_extend_from_slice(s)?;
    Ok(name)
}

fn errno_or_len(r: Result<usize>) -> c_int {
    match r {
        Ok(n) => n as c_int,
        Err(e) => -e.0,
    }
}

unsafe extern "C" fn get(
    handler: *const XattrHandler,
    _dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    suffix: *const c_char,
    buffer: *mut c_void,
    size: usize,
) -> c_int {
    // SAFETY: the VFS passes a valid inode, the name suffix and a kernel
    // buffer of `size` bytes (null when only the size is asked for).
    errno_or_len(unsafe {
        let buf: &mut [u8] =
            if buffer.is_null() { &mut [] } else { core::slice::from_raw_parts_mut(buffer.cast(), size) };
        let prefix = prefix(handler);
        if prefix == USER {
            if let Some(name) = process_attr(suffix) {
                return errno_or_len(csd::get_attr(inode, name, buf));
            }
        }
        full_name(prefix, suffix).and_then(|name| {
            let ino = (*inode).i_ino as u64;
            with_fs((*inode).i_sb, |fs| fs.getxattr(ino, &name, buf))
        })
    })
}

unsafe extern "C" fn set(
    handler: *const XattrHandler,
    _idmap: *mut bindings::mnt_idmap,
    _dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    suffix: *const c_char,
    value: *const c_void,
    size: usize,
    flags: c_int,
) -> c_int {
    // SAFETY: the VFS passes a valid, locked inode, the name suffix and a
    // kernel copy of the value (null: remove the attribute).
    let r: core::result::Result<(), Errno> = unsafe {
        let prefix = prefix(handler);
        if let Some(name) = process_attr(suffix).filter(|_| prefix == USER) {
            let v = if value.is_null() { None } else { Some(core::slice::from_raw_parts(value.cast::<u8>(), size)) };
            return match csd::set_attr(inode, name, v) {
                Ok(()) => 0,
                Err(e) => -e.0,
            };
        }
        full_name(prefix, suffix).and_then(|name| {
            let ino = (*inode).i_ino as u64;
            with_fs((*inode).i_sb, |fs| {
                if value.is_null() {
                    fs.removexattr(ino, &name)
                } else {
                    let v = core::slice::from_raw_parts(value.cast::<u8>(), size);
                    fs.setxattr(ino, &name, v, flags as u32)
                }
            })
            .and_then(|()| super::inode::refresh_ctime(inode))
        })
    };
    match r {
        Ok(()) => 0,
        Err(e) => -e.0,
    }
}

/// `listxattr`: the NUL-separated names (`size` 0 asks for the length).
pub(crate) unsafe extern "C" fn listxattr(dentry: *mut bindings::dentry, buffer: *mut c_char, size: usize) -> isize {
    // SAFETY: the VFS passes a valid dentry and a kernel buffer of `size`.
    let r = unsafe {
        let inode = (*dentry).d_inode;
        let buf: &mut [u8] =
            if buffer.is_null() || size == 0 { &mut [] } else { core::slice::from_raw_parts_mut(buffer.cast(), size) };
        let ino = (*inode).i_ino as u64;
        let trusted = bindings::capable(bindings::CAP_SYS_ADMIN as _);
        with_fs((*inode).i_sb, |fs| fs.listxattr_visible(ino, buf, trusted))
    };
    match r {
        Ok(n) => n as isize,
        Err(e) => -(e.0 as isize),
    }
}

static USER_HANDLER: VTable<XattrHandler> = VTable(XattrHandler {
    name: core::ptr::null(),
    prefix: c"user.".as_ptr().cast(),
    flags: 0,
    list: None,
    get: Some(get),
    set: Some(set),
});

static TRUSTED_HANDLER: VTable<XattrHandler> = VTable(XattrHandler {
    name: core::ptr::null(),
    prefix: c"trusted.".as_ptr().cast(),
    flags: 0,
    list: None,
    get: Some(get),
    set: Some(set),
});

static SECURITY_HANDLER: VTable<XattrHandler> = VTable(XattrHandler {
    name: core::ptr::null(),
    prefix: c"security.".as_ptr().cast(),
    flags: 0,
    list: None,
    get: Some(get),
    set: Some(set),
});

/// The NULL-terminated handler list for `super_block.s_xattr`.
pub(crate) static HANDLERS: VTable<[*const XattrHandler; 4]> =
    VTable([USER_HANDLER.get(), TRUSTED_HANDLER.get(), SECURITY_HANDLER.get(), core::ptr::null()]);
