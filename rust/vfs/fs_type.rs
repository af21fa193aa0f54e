//! Registration of a filesystem type with the VFS.

use super::vtable::zeroed;
use core::cell::UnsafeCell;
use kernel::{bindings, error::to_result, prelude::*, str::CStr, ThisModule};

/// The callbacks a block-device filesystem gives the VFS.
pub(crate) trait FileSystem {
    /// Name under which the type is registered (`mount -t NAME`).
    const NAME: &'static CStr;

    /// Fills a new super block for the block device `sb->s_bdev`.
    ///
    /// Called by `mount_bdev()` with `sb` locked and not yet visible to
    /// anyone else; returning an error makes the VFS tear it down again.
    fn fill_super(sb: *mut bindings::super_block) -> Result;

    /// Checks the mount's option string (the filesystem's own options:
    /// the VFS took its generic ones as flags) before the device is
    /// opened; an error refuses the mount.
    fn check_options(opts: &[u8]) -> Result;

    /// `kill_sb`: must end in `kill_block_super()` and free whatever
    /// `fill_super` attached to the super block.
    const KILL_SB: unsafe extern "C" fn(*mut bindings::super_block);
}

/// Static storage for one `file_system_type`.
///
/// A registered type must not live on the heap: the VFS keys the lock
/// classes of its super blocks and inodes (`s_umount_key`, `s_writers_key`,
/// `i_lock_key`, `i_mutex_key`, ...) by addresses inside it, and lockdep
/// accepts only static keys (or registered ones). Every C filesystem has
/// a `static struct file_system_type`; on the heap, lockdep reports "key
/// has not been registered" at the first mount and turns itself off.
///
/// # Invariants
///
/// The contents are only touched by [`Registration`]: written before
/// `register_filesystem()`, owned by the VFS until `unregister_filesystem()`.
pub(crate) struct FsTypeSlot(UnsafeCell<bindings::file_system_type>);

// SAFETY: the contents are written once, by `Registration::new` before the
// VFS sees them (the invariant); from then on the VFS serialises its own
// access (`file_systems_lock`).
unsafe impl Sync for FsTypeSlot {}

impl FsTypeSlot {
    /// An empty type, for a `static`.
    pub(crate) const fn new() -> Self {
        // SAFETY: `file_system_type` is a C struct for which all-zeroes is
        // a valid (empty) value.
        Self(UnsafeCell::new(unsafe { zeroed() }))
    }
}

/// A filesystem type registered with the VFS for as long as this lives.
///
/// # Invariants
///
/// `fs_type` points into a static [`FsTypeSlot`] that was successfully
/// passed to `register_filesystem()` and is unregistered on drop.
pub(crate) struct Registration {
    fs_type: *mut bindings::file_system_type,
}

// SAFETY: after registration the VFS owns all concurrent access to the
// `file_system_type`; this handle only passes its address to
// `unregister_filesystem()`, which may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: `Registration` has no methods that use `&self`.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers `T` as a filesystem type owned by `module`, in `slot`;
    /// `EBUSY` if the slot is registered already.
    pub(crate) fn new<T: FileSystem>(module: &'static ThisModule, slot: &'static FsTypeSlot) -> Result<Self> {
        let fs_type = slot.0.get();
        // SAFETY: `fs_type` points to static storage; it is written only
        // while unregistered (checked first: a registered type has its
        // name set, and only `register_filesystem()` below publishes it).
        unsafe {
            if !(*fs_type).name.is_null() {
                return Err(EBUSY);
            }
            (*fs_type).owner = module.as_ptr();
            (*fs_type).name = T::NAME.as_char_ptr();
            (*fs_type).fs_flags = bindings::FS_REQUIRES_DEV as i32;
            (*fs_type).mount = Some(mount_callback::<T>);
            (*fs_type).kill_sb = Some(T::KILL_SB);
        }
        // SAFETY: `fs_type` is fully initialised and static, and its name
        // is a static C string.
        if let Err(e) = to_result(unsafe { bindings::register_filesystem(fs_type) }) {
            // SAFETY: not registered: still ours to write.
            unsafe { (*fs_type).name = core::ptr::null() };
            return Err(e);
        }
        Ok(Self { fs_type })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the type is registered; the module
        // reference count keeps it from being unloaded while mounted, so no
        // super block refers to it any more. Once unregistered the slot is
        // ours again.
        unsafe {
            bindings::unregister_filesystem(self.fs_type);
            (*self.fs_type).name = core::ptr::null();
        }
    }
}

/// `file_system_type.mount`: the legacy path through `mount_bdev()`.
unsafe extern "C" fn mount_callback<T: FileSystem>(
    fs_type: *mut bindings::file_system_type,
    flags: core::ffi::c_int,
    dev_name: *const kernel::ffi::c_char,
    data: *mut core::ffi::c_void,
) -> *mut bindings::dentry {
    let opts = if data.is_null() {
        &[][..]
    } else {
        // SAFETY: for a filesystem without binary mount data (no
        // FS_BINARY_MOUNTDATA) a non-null `data` is the NUL-terminated
        // option string, valid for this call.
        unsafe { CStr::from_char_ptr(data.cast()) }.as_bytes()
    };
    if let Err(e) = T::check_options(opts) {
        return e.to_ptr();
    }
    // SAFETY: the VFS passes its own valid arguments straight through.
    unsafe { bindings::mount_bdev(fs_type, flags, dev_name, data, Some(fill_super_callback::<T>)) }
}

/// `fill_super` for `mount_bdev()`: converts `T::fill_super`'s result to an errno.
unsafe extern "C" fn fill_super_callback<T: FileSystem>(
    sb: *mut bindings::super_block,
    _data: *mut core::ffi::c_void,
    _silent: core::ffi::c_int,
) -> core::ffi::c_int {
    match T::fill_super(sb) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
