//! Registration of a filesystem type with the VFS.

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

    /// `kill_sb`: must end in `kill_block_super()` and free whatever
    /// `fill_super` attached to the super block.
    const KILL_SB: unsafe extern "C" fn(*mut bindings::super_block);
}

/// A filesystem type registered with the VFS for as long as this lives.
///
/// # Invariants
///
/// `fs_type` points to a `file_system_type` that was successfully passed to
/// `register_filesystem()` and is unregistered (and then freed) on drop; it
/// is never moved in between because it lives on the heap.
pub(crate) struct Registration {
    fs_type: KBox<bindings::file_system_type>,
}

// SAFETY: after registration the VFS owns all concurrent access to the
// `file_system_type`; this handle only passes its address to
// `unregister_filesystem()`, which may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: `Registration` has no methods that use `&self`.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers `T` as a filesystem type owned by `module`.
    pub(crate) fn new<T: FileSystem>(module: &'static ThisModule) -> Result<Self> {
        let mut fs_type = KBox::new(
            // SAFETY: `file_system_type` is a C struct for which all-zeroes
            // is a valid (empty) value.
            unsafe { core::mem::zeroed::<bindings::file_system_type>() },
            GFP_KERNEL,
        )?;
        fs_type.owner = module.as_ptr();
        fs_type.name = T::NAME.as_char_ptr();
        fs_type.fs_flags = bindings::FS_REQUIRES_DEV as i32;
        fs_type.mount = Some(mount_callback::<T>);
        fs_type.kill_sb = Some(T::KILL_SB);
        // SAFETY: `fs_type` is fully initialised, lives on the heap until
        // `drop` unregisters it, and its name is a static C string.
        to_result(unsafe { bindings::register_filesystem(&mut *fs_type) })?;
        Ok(Self { fs_type })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the type is registered; the module
        // reference count keeps it from being unloaded while mounted, so no
        // super block refers to it any more.
        unsafe { bindings::unregister_filesystem(&mut *self.fs_type) };
    }
}

/// `file_system_type.mount`: the legacy path through `mount_bdev()`.
unsafe extern "C" fn mount_callback<T: FileSystem>(
    fs_type: *mut bindings::file_system_type,
    flags: core::ffi::c_int,
    dev_name: *const kernel::ffi::c_char,
    data: *mut core::ffi::c_void,
) -> *mut bindings::dentry {
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
