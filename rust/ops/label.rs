//! `FS_IOC_GETFSLABEL`: the volume label `mkfs -L` stored (the uuid is the
//! VFS's to report, from `sb->s_uuid`: `FS_IOC_GETFSUUID`). Setting the
//! label on a mounted filesystem (`FS_IOC_SETFSLABEL`) is not supported:
//! ENOTTY, as on filesystems without it.

use super::ioctl::copy_out;
use super::sb::with_fs;
use crate::fluffle::errno::Errno;
use crate::fluffle::types::LABEL_MAX;
use kernel::bindings;
use kernel::ffi::c_ulong;

/// `FS_IOC_GETFSLABEL`: `_IOR(0x94, 49, char[FSLABEL_MAX])`.
pub(crate) const FS_IOC_GETFSLABEL: u32 = 0x8100_9431;

/// Copies the label, NUL-padded to `FSLABEL_MAX` (256) bytes, to `arg`.
///
/// # Safety
///
/// `sb` must be a mounted FluffleFS; user context of the ioctl's caller.
pub(crate) unsafe fn ioctl_getfslabel(sb: *mut bindings::super_block, arg: c_ulong) -> Result<(), Errno> {
    let mut out = [0u8; LABEL_MAX + 1];
    // SAFETY: `sb` is mounted.
    unsafe {
        with_fs(sb, |fs| {
            let l = fs.label();
            out[..l.len()].copy_from_slice(l);
            Ok(())
        })?
    };
    // SAFETY: user context, per the contract.
    unsafe { copy_out(arg as u64, &out) }
}
