//! Fallible allocation shim: the only way shared code allocates.
//!
//! In the kernel module (`--cfg MODULE`) an [`FVec`] is a `KVVec` (kvmalloc:
//! kmalloc for small sizes, vmalloc for large ones, so multi-megabyte zone
//! tables work); on the host it is a `Vec` grown with `try_reserve`. Every
//! growing call returns `Err(ENOMEM)` instead of aborting, so an allocation
//! failure in the kernel becomes an errno, never a panic.
//!
//! Only the small API below is offered; it is what both backends can do.
//! Kernel allocations use GFP_KERNEL: the VFS glue wraps every call into
//! the core in a `memalloc_nofs_save()` scope, which is how the kernel
//! keeps reclaim from re-entering the filesystem.

use super::errno::{Errno, ENOMEM};
use core::ops::{Deref, DerefMut};

#[cfg(not(MODULE))]
extern crate alloc;
#[cfg(not(MODULE))]
type Inner<T> = alloc::vec::Vec<T>;
#[cfg(MODULE)]
type Inner<T> = kernel::alloc::KVVec<T>;

/// A growable array whose every allocation is fallible.
pub struct FVec<T> {
    inner: Inner<T>,
}

impl<T> Default for FVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for FVec<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> FVec<T> {
    /// An empty vector; allocates nothing.
    pub const fn new() -> Self {
        Self { inner: Inner::new() }
    }

    /// An empty vector with room for `n` elements.
    pub fn try_with_capacity(n: usize) -> Result<Self, Errno> {
        let mut v = Self::new();
        v.try_reserve(n)?;
        Ok(v)
    }

    /// Makes room for `additional` more elements.
    #[cfg(not(MODULE))]
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), Errno> {
        self.inner.try_reserve(additional).map_err(|_| ENOMEM)
    }

    /// Makes room for `additional` more elements.
    #[cfg(MODULE)]
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), Errno> {
        self.inner
            .reserve(additional, kernel::alloc::flags::GFP_KERNEL)
            .map_err(|_| ENOMEM)
    }

    /// Appends `v`.
    pub fn try_push(&mut self, v: T) -> Result<(), Errno> {
        if self.inner.len() == self.inner.capacity() {
            // Grow geometrically so pushes stay amortised O(1), from room
            // for one: most vectors of the core never hold more (a small
            // file's block map is one extent), and four extents would put
            // every such file in a 96-byte allocation instead of 32.
            let want = core::cmp::max(1, self.inner.len());
            self.try_reserve(want)?;
        }
        self.push_within_capacity(v);
        Ok(())
    }

    #[cfg(not(MODULE))]
    fn push_within_capacity(&mut self, v: T) {
        self.inner.push(v);
    }

    #[cfg(MODULE)]
    fn push_within_capacity(&mut self, v: T) {
        // Capacity was reserved by the caller, so this cannot allocate and
        // the error branch is unreachable; ignoring it keeps us panic-free.
        let _ = self.inner.push(v, kernel::alloc::flags::GFP_KERNEL);
    }

    /// Inserts `v` at `index` (clamped to the length), shifting the tail.
    pub fn try_insert(&mut self, index: usize, v: T) -> Result<(), Errno> {
        let index = core::cmp::min(index, self.len());
        self.try_push(v)?;
        self.as_mut_slice()[index..].rotate_right(1);
        Ok(())
    }

    /// Removes and returns the element at `index`, shifting the tail.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len() {
            return None;
        }
        self.as_mut_slice()[index..].rotate_left(1);
        self.pop()
    }

    /// Removes the element at `index`, replacing it by the last one.
    pub fn swap_remove(&mut self, index: usize) -> Option<T> {
        let last = self.len().checked_sub(1)?;
        if index > last {
            return None;
        }
        self.as_mut_slice().swap(index, last);
        self.pop()
    }

    /// Removes and returns the last element.
    #[cfg(not(MODULE))]
    pub fn pop(&mut self) -> Option<T> {
        self.inner.pop()
    }

    /// Removes and returns the last element.
    #[cfg(MODULE)]
    pub fn pop(&mut self) -> Option<T> {
        let last = self.inner.len().checked_sub(1)?;
        // SAFETY: `last < len`, so the slot is initialised; shrinking the
        // length first means the value is read out exactly once and the
        // vector never drops it again.
        unsafe {
            self.inner.set_len(last);
            Some(core::ptr::read(self.inner.as_ptr().add(last)))
        }
    }

    /// Shortens the vector to `len` elements, dropping the rest.
    pub fn truncate(&mut self, len: usize) {
        while self.len() > len {
            drop(self.pop());
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// The elements as a slice.
    pub fn as_slice(&self) -> &[T] {
        &self.inner
    }

    /// The elements as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.inner
    }

    /// Number of elements the vector holds without reallocating.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// Keeps only the elements for which `keep` returns true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut kept = 0;
        for i in 0..self.len() {
            if keep(&self.as_slice()[i]) {
                self.as_mut_slice().swap(kept, i);
                kept += 1;
            }
        }
        self.truncate(kept);
    }
}

impl<T: Clone> FVec<T> {
    /// Appends a copy of every element of `s`.
    pub fn try_extend_from_slice(&mut self, s: &[T]) -> Result<(), Errno> {
        self.try_reserve(s.len())?;
        self.extend_within_capacity(s);
        Ok(())
    }

    /// Grows or shrinks to `len`, filling new slots with `value`.
    pub fn try_resize(&mut self, len: usize, value: T) -> Result<(), Errno> {
        if len <= self.len() {
            self.truncate(len);
            return Ok(());
        }
        let more = len - self.len();
        self.try_reserve(more)?;
        self.fill_within_capacity(more, value);
        Ok(())
    }

    // The bulk helpers below run after `try_reserve`, so they never
    // allocate: the std/kernel bulk operations (memcpy/memset speed) are
    // safe to use and cannot fail.

    #[cfg(not(MODULE))]
    fn extend_within_capacity(&mut self, s: &[T]) {
        self.inner.extend_from_slice(s);
    }

    #[cfg(MODULE)]
    fn extend_within_capacity(&mut self, s: &[T]) {
        let _ = self.inner.extend_from_slice(s, kernel::alloc::flags::GFP_KERNEL);
    }

    #[cfg(not(MODULE))]
    fn fill_within_capacity(&mut self, n: usize, value: T) {
        let len = self.inner.len() + n;
        self.inner.resize(len, value);
    }

    #[cfg(MODULE)]
    fn fill_within_capacity(&mut self, n: usize, value: T) {
        let _ = self.inner.extend_with(n, value, kernel::alloc::flags::GFP_KERNEL);
    }

    /// A vector of `n` copies of `value`.
    pub fn try_from_elem(value: T, n: usize) -> Result<Self, Errno> {
        let mut v = Self::new();
        v.try_resize(n, value)?;
        Ok(v)
    }

    /// A copy of the vector; fails with ENOMEM instead of aborting.
    pub fn try_clone(&self) -> Result<Self, Errno> {
        let mut v = Self::try_with_capacity(self.len())?;
        v.try_extend_from_slice(self)?;
        Ok(v)
    }
}

impl<T> Deref for FVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> DerefMut for FVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

/// A heap-allocated value, fallibly.
pub struct FBox<T> {
    inner: FVec<T>,
}

impl<T> FBox<T> {
    /// Moves `v` to the heap.
    pub fn try_new(v: T) -> Result<Self, Errno> {
        let mut inner = FVec::try_with_capacity(1)?;
        inner.try_push(v)?;
        Ok(Self { inner })
    }
}

impl<T> Deref for FBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // An FBox is built with exactly one element and never shrinks.
        &self.inner.as_slice()[0]
    }
}

impl<T> DerefMut for FBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner.as_mut_slice()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_insert_remove_truncate() {
        let mut v: FVec<u32> = FVec::new();
        for i in 0..100 {
            v.try_push(i).unwrap();
        }
        v.try_insert(0, 1000).unwrap();
        assert_eq!(v[0], 1000);
        assert_eq!(v[1], 0);
        assert_eq!(v.remove(0), Some(1000));
        assert_eq!(v.remove(500), None);
        assert_eq!(v.swap_remove(0), Some(0));
        assert_eq!(v[0], 99);
        v.truncate(10);
        assert_eq!(v.len(), 10);
        v.retain(|x| x % 2 == 1);
        assert!(v.iter().all(|x| x % 2 == 1));
        v.clear();
        assert!(v.is_empty());
        assert_eq!(v.pop(), None);
    }

    #[test]
    fn resize_clone_box() {
        let mut v = FVec::try_from_elem(7u8, 5).unwrap();
        v.try_resize(8, 1).unwrap();
        assert_eq!(&v[..], &[7, 7, 7, 7, 7, 1, 1, 1]);
        let c = v.try_clone().unwrap();
        assert_eq!(&c[..], &v[..]);
        let mut b = FBox::try_new([0u64; 4]).unwrap();
        b[2] = 9;
        assert_eq!(b[2], 9);
    }

    #[test]
    fn huge_reserve_is_enomem_not_abort() {
        let mut v: FVec<u64> = FVec::new();
        assert_eq!(v.try_reserve(usize::MAX / 4).err(), Some(ENOMEM));
    }
}
