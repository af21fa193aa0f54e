//! Regular-file operations: the kernel's generic page-cache paths (or the
//! CSD paths for a process with a kernel attached), fsync into the core
//! and our ioctls.

use super::sb::{to_c, with_fs};
use super::{csd, inode, ioctl as fioctl};
use crate::vfs::shim;
use crate::vfs::vtable::{zeroed, VTable};
use kernel::bindings;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};

unsafe extern "C" fn fsync(file: *mut bindings::file, start: i64, end: i64, datasync: c_int) -> c_int {
    // SAFETY: the VFS passes an open file of ours.
    unsafe {
        let inode = shim::fluffle_file_inode(file);
        // Dirty pages first (they reach the core), then the inode's times
        // and owner, then the core makes it all durable.
        let rc = bindings::file_write_and_wait_range(file, start, end);
        if rc != 0 {
            return rc;
        }
        let ino = (*inode).i_ino as u64;
        to_c(inode::push_attrs(inode).and_then(|()| with_fs((*inode).i_sb, |fs| fs.fsync(ino, datasync != 0))))
    }
}

/// Readahead window of a FluffleFS file: 4 MiB, four full bios that run
/// while the reader copies out the window before, where the device default
/// (128 KiB) costs a core call per small bio and keeps little in flight
/// (measured, 256 MiB cold read under TCG: about 520 MB/s with 1 MiB, 540-600
/// with 4 MiB).
const READAHEAD_PAGES: u32 = 1024;

/// `FMODE_CAN_ODIRECT` (a `__force` cast bindgen cannot see; shim.c checks
/// the value).
const FMODE_CAN_ODIRECT: u32 = 1 << 22;

/// `open`: the generic checks, O_DIRECT allowed ([`super::direct_io`]),
/// then a readahead window sized for the log's large sequential runs (as
/// POSIX_FADV_SEQUENTIAL would widen it).
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: the VFS passes the inode and the file being opened, which is
    // ours alone until `open` returns.
    unsafe {
        let rc = bindings::generic_file_open(inode, file);
        if rc == 0 {
            (*file).f_mode |= FMODE_CAN_ODIRECT;
            if (*file).__bindgen_anon_2.f_ra.ra_pages < READAHEAD_PAGES {
                (*file).__bindgen_anon_2.f_ra.ra_pages = READAHEAD_PAGES;
            }
        }
        rc
    }
}

/// `unlocked_ioctl` for files and directories.
pub(crate) unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: the VFS passes an open file of ours; `arg` is an untrusted
    // user value that `fioctl::dispatch` only uses through user-copy helpers.
    unsafe { fioctl::dispatch(file, cmd, arg) }
}

pub(crate) static FILE_OPS: VTable<bindings::file_operations> = VTable(bindings::file_operations {
    llseek: Some(super::falloc::llseek),
    read_iter: Some(csd::read_iter),
    write_iter: Some(csd::write_iter),
    mmap: Some(super::delalloc::mmap),
    open: Some(open),
    release: Some(csd::release),
    fsync: Some(fsync),
    splice_read: Some(bindings::filemap_splice_read),
    splice_write: Some(bindings::iter_file_splice_write),
    unlocked_ioctl: Some(ioctl),
    fallocate: Some(super::falloc::fallocate),
    // SAFETY: `file_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});
