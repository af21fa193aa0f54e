//! Operation tables (`file_operations` and friends) as statics.

/// A C operations table that may live in a `static`.
///
/// The kernel's `*_operations` structs hold raw pointers (the owner module,
/// function pointers), so Rust does not consider them `Sync`; tables are
/// immutable after compilation and only read by the kernel.
#[repr(transparent)]
pub(crate) struct VTable<T>(pub(crate) T);

// SAFETY: a `VTable` is never mutated (it lives in a non-`mut` static) and
// holds only function pointers and pointers to other immutable statics.
unsafe impl<T> Sync for VTable<T> {}

impl<T> VTable<T> {
    /// The table's address, as the kernel wants it.
    pub(crate) const fn get(&'static self) -> *const T {
        &self.0
    }
}

/// An all-zero operations table: every callback absent.
///
/// # Safety
///
/// `T` must be a C struct of pointers and integers, for which all-zeroes
/// is a valid value.
pub(crate) const unsafe fn zeroed<T>() -> T {
    // SAFETY: guaranteed by the caller.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}
