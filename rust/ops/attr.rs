//! `setattr` (chmod, chown, utimes, truncate) and `getattr`.

use super::inode;
use super::sb::{to_c, with_fs};
use crate::fluffle::errno::Result;
use crate::fluffle::types::SetAttr;
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint};

/// Truncates (or extends) a regular file to `size`: the page cache first,
/// so that writeback cannot re-extend the core file behind our back, then
/// the core.
///
/// # Safety
///
/// `inode` must be a valid regular-file inode of ours, locked by the VFS.
unsafe fn truncate(inode: *mut bindings::inode, size: u64) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        bindings::truncate_setsize(inode, size as i64);
        let ino = (*inode).i_ino as u64;
        let set = SetAttr { size: Some(size), ..SetAttr::default() };
        with_fs((*inode).i_sb, |fs| fs.setattr(ino, &set).map(|_| ()))
    }
}

/// Sets `inode`'s mtime and ctime to the current time, atime unchanged.
///
/// # Safety
///
/// `inode` must be a valid inode of ours, locked by the VFS.
unsafe fn stamp_modified(inode: *mut bindings::inode) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let z = bindings::timespec64 { tv_sec: 0, tv_nsec: 0 };
        let (mut at, mut mt, mut ct) = (z, z, z);
        shim::fluffle_inode_get_times(inode, &mut at, &mut mt, &mut ct);
        let now = bindings::current_time(inode);
        shim::fluffle_inode_set_times(inode, &at, &now, &now);
    }
}

pub(crate) unsafe extern "C" fn setattr(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> c_int {
    // SAFETY: the VFS passes a valid dentry of ours with its inode locked,
    // and the requested changes.
    to_c(unsafe {
        let inode = (*dentry).d_inode;
        let rc = bindings::setattr_prepare(idmap, dentry, attr);
        if rc != 0 {
            return rc;
        }
        let valid = (*attr).ia_valid;
        let is_reg = (*inode).i_mode as u32 & bindings::S_IFMT == bindings::S_IFREG;
        if valid & bindings::ATTR_SIZE != 0 && is_reg && (*attr).ia_size != shim::fluffle_i_size_read(inode) {
            // A size change is a modification: truncate(2) by path passes
            // no ATTR_MTIME/ATTR_CTIME (ftruncate does), so the filesystem
            // stamps both, as ext4 does; explicit times given with the
            // size still win in `setattr_copy` below.
            stamp_modified(inode);
        }
        let sized = if valid & bindings::ATTR_SIZE != 0 && is_reg {
            truncate(inode, (*attr).ia_size as u64)
        } else {
            Ok(())
        };
        // `setattr_copy` applies mode (incl. clearing setgid), owner and
        // times to the VFS inode exactly as Linux defines; the core then
        // takes them from there.
        sized.and_then(|()| {
            bindings::setattr_copy(idmap, inode, attr);
            inode::push_attrs(inode)
        })
    })
}

pub(crate) unsafe extern "C" fn getattr(
    idmap: *mut bindings::mnt_idmap,
    path: *const bindings::path,
    stat: *mut bindings::kstat,
    request_mask: u32,
    _flags: c_uint,
) -> c_int {
    // SAFETY: the VFS passes a valid path of ours and a stat buffer. The
    // VFS inode is authoritative: it includes data still in the page cache.
    unsafe {
        let inode = (*(*path).dentry).d_inode;
        bindings::generic_fillattr(idmap, request_mask, inode, stat);
        if request_mask & bindings::STATX_BTIME != 0 {
            // The birth time lives in the core only (the VFS inode has none).
            let ino = (*inode).i_ino as u64;
            match with_fs((*inode).i_sb, |fs| fs.getattr(ino)) {
                Ok(a) => {
                    (*stat).btime = crate::vfs::time::from_core(a.btime);
                    (*stat).result_mask |= bindings::STATX_BTIME;
                }
                Err(e) => return -e.0,
            }
        }
    }
    0
}
