//! Inode flags (`lsattr`/`chattr`, `FS_IOC_GETFLAGS`/`SETFLAGS` and
//! `FS_IOC_FSGETXATTR`/`FSSETXATTR`): the `fileattr_get`/`fileattr_set`
//! inode operations, through which the VFS serves all four ioctls. The
//! VFS checks ownership and `CAP_LINUX_IMMUTABLE` (for `i` and `a`) before
//! `fileattr_set`; the flags are stored by the core and mirrored into the
//! VFS inode's `i_flags`, where the VFS enforces them as for ext4
//! (`ext4_set_inode_flags`): `S_IMMUTABLE` and `S_APPEND` refuse writes,
//! truncation, unlink, rename, link, chmod/chown and xattr changes with
//! EPERM, `S_NOATIME` keeps atime, `S_SYNC` makes writes synchronous.

use super::sb::{to_c, with_fs};
use crate::fluffle::errno::EOPNOTSUPP;
use crate::fluffle::inode::{IFLAG_APPEND, IFLAG_IMMUTABLE, IFLAG_NOATIME, IFLAG_SYNC};
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::c_int;

/// Mirrors the core's flags `iflags` into `inode->i_flags`.
///
/// # Safety
///
/// `inode` must be a valid inode of ours (new, or locked by the caller).
pub(crate) unsafe fn set_inode_flags(inode: *mut bindings::inode, iflags: u16) {
    let map = [
        (IFLAG_SYNC, bindings::S_SYNC),
        (IFLAG_APPEND, bindings::S_APPEND),
        (IFLAG_IMMUTABLE, bindings::S_IMMUTABLE),
        (IFLAG_NOATIME, bindings::S_NOATIME),
    ];
    let mut mask = 0;
    let mut new = 0;
    for (fl, s) in map {
        mask |= s;
        if iflags & fl != 0 {
            new |= s;
        }
    }
    // SAFETY: guaranteed by the caller; `inode_set_flags` updates only the
    // `mask` bits, atomically against other `i_flags` changes.
    unsafe { bindings::inode_set_flags(inode, new, mask) };
}

/// `fileattr_get`: the stored flags (`fileattr_fill_flags` derives the
/// xfs-style `fsx_xflags` from them).
pub(crate) unsafe extern "C" fn fileattr_get(dentry: *mut bindings::dentry, fa: *mut bindings::fileattr) -> c_int {
    // SAFETY: the VFS passes a valid dentry of ours and a fileattr to fill.
    to_c(unsafe {
        let inode = (*dentry).d_inode;
        let ino = (*inode).i_ino as u64;
        with_fs((*inode).i_sb, |fs| fs.iflags(ino)).map(|f| shim::fluffle_fileattr_fill_flags(fa, f as u32))
    })
}

/// `fileattr_set`: stores the new flags (`EOPNOTSUPP` for one FluffleFS
/// does not keep, or for xfs-only attributes such as an extent size hint
/// or project id), then mirrors them and the new ctime into the inode.
pub(crate) unsafe extern "C" fn fileattr_set(
    _idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    fa: *mut bindings::fileattr,
) -> c_int {
    // SAFETY: the VFS passes a valid dentry of ours, its inode locked, and
    // the checked new attributes.
    to_c(unsafe {
        let inode = (*dentry).d_inode;
        let ino = (*inode).i_ino as u64;
        if shim::fluffle_fileattr_has_fsx(fa) {
            Err(EOPNOTSUPP)
        } else {
            let flags = shim::fluffle_fileattr_flags(fa);
            with_fs((*inode).i_sb, |fs| fs.set_iflags(ino, flags)).and_then(|()| {
                set_inode_flags(inode, flags as u16);
                super::inode::refresh_ctime(inode)
            })
        }
    })
}
