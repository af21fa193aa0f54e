//! FluffleFS ioctls: the CSD program load/unload/run calls (see
//! `bpf/fluffle_csd.h`) and the shutdown used for crash testing.
//!
//! `FS_IOC_SHUTDOWN` (as ext4, xfs and f2fs implement it) stops all
//! writes so crash recovery can be tested: `FS_SHUTDOWN_FLAGS_DEFAULT` and
//! `LOGFLUSH` write a checkpoint first, `NOLOGFLUSH` drops everything not
//! yet durable.

use super::{csd, label, sb};
use crate::csd::abi;
use crate::fluffle::errno::{Errno, EFAULT, ENOTTY, EPERM};
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::{c_long, c_uint, c_ulong, c_void};

/// `FS_IOC_SHUTDOWN`: `_IOR('X', 125, __u32)`.
const FS_IOC_SHUTDOWN: c_uint = 0x8004_587d;
const FS_SHUTDOWN_FLAGS_DEFAULT: u32 = 0;
const FS_SHUTDOWN_FLAGS_LOGFLUSH: u32 = 1;
const FS_SHUTDOWN_FLAGS_NOLOGFLUSH: u32 = 2;

/// Fills `dst` from user address `src`.
///
/// # Safety
///
/// Must be called in process context of the ioctl's caller.
pub(crate) unsafe fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), Errno> {
    // SAFETY: `_copy_from_user` checks the user range itself and writes at
    // most `dst.len()` bytes into `dst`.
    let left = unsafe { bindings::_copy_from_user(dst.as_mut_ptr().cast(), src as *const c_void, dst.len() as _) };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(())
}

/// Copies an `N`-byte ioctl argument from user space.
///
/// # Safety
///
/// As for [`copy_from_user`].
pub(crate) unsafe fn copy_in<const N: usize>(arg: c_ulong) -> Result<[u8; N], Errno> {
    let mut b = [0u8; N];
    // SAFETY: forwarded contract.
    unsafe { copy_from_user(&mut b, arg as u64)? };
    Ok(b)
}

/// Copies `src` to user address `dst`.
///
/// # Safety
///
/// As for [`copy_from_user`].
pub(crate) unsafe fn copy_out(dst: u64, src: &[u8]) -> Result<(), Errno> {
    // SAFETY: `_copy_to_user` checks the user range itself and only reads `src`.
    let left = unsafe { bindings::_copy_to_user(dst as *mut c_void, src.as_ptr().cast(), src.len() as _) };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(())
}

/// Runs ioctl `cmd` on `file`.
///
/// # Safety
///
/// `file` must be an open file of a mounted FluffleFS; the call must come
/// from the ioctl system call (user context).
pub(crate) unsafe fn dispatch(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: guaranteed by the caller.
    let sb = unsafe { (*shim::fluffle_file_inode(file)).i_sb };
    let r = match cmd {
        FS_IOC_SHUTDOWN => {
            // SAFETY: `capable` has no preconditions.
            if !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as _) } {
                Err(EPERM)
            } else {
                // SAFETY: user context, per the contract.
                match unsafe { copy_in::<4>(arg) }.map(u32::from_le_bytes) {
                    Ok(FS_SHUTDOWN_FLAGS_DEFAULT) | Ok(FS_SHUTDOWN_FLAGS_LOGFLUSH) => {
                        // SAFETY: `sb` is mounted.
                        unsafe { sb::shutdown(sb, true) }
                    }
                    // SAFETY: `sb` is mounted.
                    Ok(FS_SHUTDOWN_FLAGS_NOLOGFLUSH) => unsafe { sb::shutdown(sb, false) },
                    Ok(_) => Err(crate::fluffle::errno::EINVAL),
                    Err(e) => Err(e),
                }
            }
        }
        // SAFETY (all three): user context of an ioctl on our file.
        abi::IOC_CSD_LOAD => unsafe { csd::ioctl_load(file, arg) },
        abi::IOC_CSD_UNLOAD => unsafe { csd::ioctl_unload(file, arg) },
        abi::IOC_CSD_RUN => unsafe { csd::ioctl_run(file, arg) },
        // SAFETY: `sb` is mounted; user context of an ioctl on our file.
        label::FS_IOC_GETFSLABEL => unsafe { label::ioctl_getfslabel(sb, arg) },
        _ => Err(ENOTTY),
    };
    match r {
        Ok(()) => 0,
        Err(e) => -(e.0 as c_long),
    }
}
