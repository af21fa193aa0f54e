//! A scope in which memory allocations do not recurse into filesystems.

use super::shim;

/// While this guard lives, allocations of the current task behave as
/// GFP_NOFS (`memalloc_nofs_save()`), so reclaim triggered by the core's
/// allocations cannot re-enter FluffleFS and deadlock on its mutex.
pub(crate) struct NoFs {
    flags: u32,
}

impl NoFs {
    /// Enters the scope.
    pub(crate) fn enter() -> Self {
        // SAFETY: saving the task's allocation flags has no preconditions.
        Self { flags: unsafe { shim::fluffle_nofs_save() } }
    }
}

impl Drop for NoFs {
    fn drop(&mut self) {
        // SAFETY: restores exactly the flags `enter` saved, in LIFO order
        // because guards are dropped in reverse order of creation.
        unsafe { shim::fluffle_nofs_restore(self.flags) };
    }
}
