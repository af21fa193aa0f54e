//! The background garbage-collection thread of a mount.
//!
//! Once a second it runs one core GC step (reset fully invalid zones,
//! compact the best victim); it keeps going without sleeping while steps
//! report progress, and stops when `put_super` or `remount,ro` calls `kthread_stop`
//! (`remount,rw` starts it again).

use super::sb::{self, with_fs};
use kernel::bindings;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;

/// Steps run back to back at most before sleeping again, so a busy GC
/// cannot monopolise the filesystem mutex.
const MAX_STEPS_PER_WAKE: usize = 16;

unsafe extern "C" fn gc_main(data: *mut c_void) -> c_int {
    let sb = data.cast::<bindings::super_block>();
    // SAFETY: `kthread_should_stop` and `schedule_timeout_interruptible`
    // are called from this kthread; `sb` stays mounted until `put_super`
    // stops this thread (kthread_stop waits for us to return).
    unsafe {
        while !bindings::kthread_should_stop() {
            bindings::schedule_timeout_interruptible(bindings::HZ as _);
            for _ in 0..MAX_STEPS_PER_WAKE {
                if bindings::kthread_should_stop() {
                    break;
                }
                match with_fs(sb, |fs| fs.gc_step()) {
                    Ok(true) => continue,
                    _ => break,
                }
            }
        }
    }
    0
}

/// Starts the GC thread of `sb`; a mount without one still works (GC then
/// runs only in the foreground, inside writes).
///
/// # Safety
///
/// `sb` must be a fully set-up FluffleFS super block.
pub(crate) unsafe fn start(sb: *mut bindings::super_block) {
    // SAFETY: `gc_main` matches the kthread signature; the name is a
    // static format string without conversions.
    let task = unsafe {
        bindings::kthread_create_on_node(
            Some(gc_main),
            sb.cast::<c_void>(),
            bindings::NUMA_NO_NODE,
            c"flufflefs-gc".as_ptr().cast(),
        )
    };
    // SAFETY: `task` is checked for an error pointer before use.
    unsafe {
        if crate::vfs::shim::fluffle_is_err(task.cast()) {
            pr_warn!("could not start the background GC thread; GC runs in the foreground only\n");
            return;
        }
        sb::set_gc_task(sb::info(sb), task);
        bindings::wake_up_process(task);
    }
}
