//! The super block: mount, unmount, statfs, sync, inode eviction, and the
//! mutex around the core that every other callback goes through.

use super::{inode, xattr};
use crate::csd::registry::Registry;
use crate::fluffle::errno::{Errno, EIO};
use crate::fluffle::fs::Fs;
use crate::fluffle::types::{MountOptions, MAX_FILE_SIZE};
use crate::vfs::bio::InflightIo;
use crate::vfs::errno::from_core;
use crate::vfs::cmirror::KStatFs;
use crate::vfs::nofs::NoFs;
use crate::vfs::vtable::{zeroed, VTable};
use crate::vfs::zoned_bdev::BlockZonedDevice;
use crate::vfs::{shim, time};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::ffi::{c_char, c_int, c_void};
use kernel::{bindings, new_mutex, prelude::*, sync::Arc, sync::Mutex};

/// `statfs.f_type` of FluffleFS ("FLUF").
pub(crate) const FLUFFLE_MAGIC: usize = 0x464c_5546;

/// The core filesystem on a real device.
pub(crate) type KFs = Fs<BlockZonedDevice>;

/// Per-mount state, in `super_block.s_fs_info`.
#[pin_data]
pub(crate) struct SbInfo {
    /// The core; `None` once unmounted (or dropped after a shutdown).
    #[pin]
    fs: Mutex<Option<KFs>>,
    /// Loaded CSD programs and process attachments (its own lock: never
    /// held while a program runs or the core mutex is taken).
    #[pin]
    pub(crate) csd: Mutex<Registry>,
    /// Set by `FS_IOC_SHUTDOWN`: every operation fails with EIO and
    /// nothing more is written.
    pub(crate) shutdown: AtomicBool,
    /// Set once a device write failed (the core's or writeback's): every
    /// change fails with EIO from then on; see [`writable`].
    stopped: AtomicBool,
    /// Writeback's bios in flight on the device (shared with it): its
    /// failure flag is how a lost asynchronous write stops changes before
    /// the core next touches the device.
    writes: Arc<InflightIo>,
    /// The background GC thread, or null.
    gc_task: AtomicPtr<bindings::task_struct>,
}

/// The `SbInfo` of a FluffleFS super block.
///
/// # Safety
///
/// `sb` must be a FluffleFS super block past a successful `fill_super`
/// setup of `s_fs_info` (every callback the VFS makes on a mounted FluffleFS).
pub(crate) unsafe fn info<'a>(sb: *mut bindings::super_block) -> &'a SbInfo {
    // SAFETY: per the contract, `s_fs_info` points to a live `SbInfo`
    // that is freed only in `kill_sb`, after the last callback.
    unsafe { &*((*sb).s_fs_info as *const SbInfo) }
}

/// Runs `f` on the core under the filesystem mutex, with the clock set,
/// allocations kept out of filesystem reclaim, and EIO after a shutdown.
///
/// # Safety
///
/// As for [`info`].
pub(crate) unsafe fn with_fs<R>(
    sb: *mut bindings::super_block,
    f: impl FnOnce(&mut KFs) -> core::result::Result<R, Errno>,
) -> core::result::Result<R, Errno> {
    // SAFETY: forwarded contract.
    let info = unsafe { info(sb) };
    if info.shutdown.load(Ordering::Acquire) {
        return Err(EIO);
    }
    let _nofs = NoFs::enter();
    let mut guard = info.fs.lock();
    let fs = guard.as_mut().ok_or(EIO)?;
    fs.set_time(time::now());
    if info.writes.has_failed() && !fs.is_shut_down() {
        // Writeback lost a write since the core last touched the device:
        // stop changes now, not at its next device operation.
        fs.shutdown();
    }
    let r = f(fs);
    if fs.is_shut_down() {
        // A device write failed under this call (the core stops itself).
        // SAFETY: forwarded contract.
        unsafe { note_stopped(sb, info) };
    }
    r
}

/// Whether changes may still be made: `EIO` after a shutdown or a failed
/// device write, checked without the core's mutex by the callbacks that
/// change file data in the page cache only (`write_iter`, `write_begin`),
/// so a write after a lost one fails instead of pretending (as f2fs does
/// once it stops checkpointing).
///
/// # Safety
///
/// As for [`info`].
pub(crate) unsafe fn writable(sb: *mut bindings::super_block) -> core::result::Result<(), Errno> {
    // SAFETY: forwarded contract.
    let info = unsafe { info(sb) };
    if info.shutdown.load(Ordering::Acquire) || info.stopped.load(Ordering::Acquire) {
        return Err(EIO);
    }
    if info.writes.has_failed() {
        // SAFETY: forwarded contract.
        unsafe { note_stopped(sb, info) };
        return Err(EIO);
    }
    Ok(())
}

/// Marks the filesystem stopped after a failed device write and says so
/// once, naming the device.
///
/// # Safety
///
/// As for [`info`]; `info` is `sb`'s.
unsafe fn note_stopped(sb: *mut bindings::super_block, info: &SbInfo) {
    if !info.stopped.swap(true, Ordering::AcqRel) {
        // SAFETY: `s_id` is the NUL-terminated device name the VFS set up.
        let dev = unsafe { CStr::from_char_ptr((*sb).s_id.as_ptr()) };
        pr_err!(
            "{}: a write to the device failed: every change now fails with EIO; \
             what was not fsynced may be lost; unmount, then fsck.flufflefs\n",
            dev
        );
    }
}

/// A core result as the C return value of a callback (0 or -errno).
pub(crate) fn to_c(r: core::result::Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => -e.0,
    }
}

/// `fill_super`: mounts the core on `sb->s_bdev` and makes the root.
pub(crate) fn fill_super(sb: *mut bindings::super_block) -> Result {
    // SAFETY: `mount_bdev()` hands us a valid, locked super block whose
    // `s_bdev` is the opened block device; it stays open until `kill_sb`.
    let dev = match unsafe { BlockZonedDevice::new((*sb).s_bdev) } {
        Ok(dev) => dev,
        Err(why) => {
            pr_err!("{}\n", why);
            return Err(EINVAL);
        }
    };
    let writes = dev.write_status();
    // `mount -o ro` (and mount(8)'s retry on a read-only device): the core
    // then writes nothing, not even mount's own checkpoint or summaries,
    // and GC does not run, so a read-only device mounts and stays as it
    // was.
    // SAFETY: `sb` is valid (above).
    let read_only = unsafe { (*sb).s_flags } & SB_RDONLY != 0;
    let fs = {
        let _nofs = NoFs::enter();
        KFs::mount(dev, &MountOptions { read_only, now: time::now() }).map_err(|e| {
            pr_err!("cannot mount: {} (errno {}); run fsck.flufflefs or mkfs.flufflefs\n", reason(e), e.0);
            from_core(e)
        })?
    };
    let uuid = fs.uuid();
    if read_only && fs.needed_recovery() {
        // As ext4/xfs say it; unlike them (which refuse a read-only device
        // that needs a journal replay), the roll-forward of fsynced files
        // and the orphan cleanup happen in memory only, so the device
        // stays untouched and what was fsynced is visible; `remount,rw`
        // (on a writable device) writes it.
        // SAFETY: `s_id` is the NUL-terminated device name the VFS set up.
        let dev = unsafe { CStr::from_char_ptr((*sb).s_id.as_ptr()) };
        pr_warn!(
            "{}: needs recovery (fsynced files to roll forward or orphans to free since the last checkpoint): \
             done in memory only, nothing written; mounted read-only; remount rw or mount rw to make it durable\n",
            dev
        );
    }
    let info = KBox::pin_init(
        pin_init!(SbInfo {
            fs <- new_mutex!(Some(fs)),
            csd <- new_mutex!(Registry::new()),
            shutdown: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            writes,
            gc_task: AtomicPtr::new(core::ptr::null_mut()),
        }),
        GFP_KERNEL,
    )?;
    // SAFETY: `sb` is valid and ours until `fill_super` returns. The
    // `SbInfo` is pinned on the heap and freed in `kill_sb` only.
    unsafe {
        if bindings::sb_set_blocksize(sb, 4096) == 0 {
            pr_err!("device does not support 4 KiB blocks\n");
            return Err(EINVAL);
        }
        (*sb).s_fs_info = KBox::into_raw(Pin::into_inner_unchecked(info)).cast::<c_void>();
        (*sb).s_magic = FLUFFLE_MAGIC;
        (*sb).s_op = SUPER_OPS.get();
        (*sb).s_xattr = xattr::HANDLERS.get().cast();
        // The VFS answers FS_IOC_GETFSUUID and FS_IOC_GETFSSYSFSPATH from
        // these; blkid-like tools read the uuid from there too.
        shim::fluffle_super_set_uuid(sb, uuid.as_ptr());
        shim::fluffle_super_set_sysfs_name_bdev(sb);
        (*sb).s_maxbytes = MAX_FILE_SIZE as i64;
        (*sb).s_time_gran = 1;
    }
    // SAFETY: `s_fs_info` is set up, so core calls work from here on.
    let root = unsafe { inode::iget(sb, KFs::ROOT_INO) }.map_err(from_core)?;
    // SAFETY: `root` is a referenced inode; `d_make_root` consumes that
    // reference (and drops it on failure).
    let dentry = unsafe { bindings::d_make_root(root) };
    if dentry.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `sb` is valid.
    unsafe { (*sb).s_root = dentry };
    if !read_only {
        // SAFETY: `sb` is fully set up.
        unsafe { super::gc::start(sb) };
    }
    Ok(())
}

/// `SB_RDONLY`: `BIT(0)`, a macro bindgen cannot evaluate (shim.c checks
/// the value).
const SB_RDONLY: usize = 1;

/// Refuses a mount (or remount) given options FluffleFS does not know:
/// it has none of its own (`fluffle::mount_opts`), so this names the first
/// and returns `EINVAL`, as ext4 does for an unknown option.
pub(crate) fn check_options(opts: &[u8]) -> Result {
    match crate::fluffle::mount_opts::first_unknown(opts) {
        None => Ok(()),
        Some(o) => {
            let shown = core::str::from_utf8(o).unwrap_or("(not UTF-8)");
            pr_err!("unknown mount option \"{}\" (FluffleFS has no options of its own; ro, noatime, ... are the VFS's)\n", shown);
            Err(EINVAL)
        }
    }
}

/// A short reason for a mount failure's errno.
fn reason(e: Errno) -> &'static str {
    crate::fluffle::errno::mount_failure(e)
}

/// Stores the GC thread so `put_super` can stop it.
pub(crate) fn set_gc_task(info: &SbInfo, task: *mut bindings::task_struct) {
    info.gc_task.store(task, Ordering::Release);
}

/// `kill_sb`: the VFS's block-device teardown, then our state.
pub(crate) unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
    // SAFETY: the VFS passes a valid super block being destroyed.
    unsafe {
        let info = (*sb).s_fs_info as *mut SbInfo;
        bindings::kill_block_super(sb);
        if !info.is_null() {
            // SAFETY: `info` came from `KBox::into_raw` in `fill_super`,
            // and no callback can run any more.
            drop(KBox::from_raw(info));
        }
    }
}

/// `put_super`: stops GC and unmounts the core (writing a checkpoint),
/// after the VFS evicted every inode and synced.
unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
    // SAFETY: called on a mounted FluffleFS super block.
    let info = unsafe { info(sb) };
    stop_gc(info);
    let _nofs = NoFs::enter();
    let fs = info.fs.lock().take();
    if let Some(fs) = fs {
        let left = fs.reserved_blocks();
        if left != 0 && !info.shutdown.load(Ordering::Acquire) {
            // Every dirty folio was written or dropped: each gave its
            // reservation back, or the accounting is wrong (vm/verdict.sh
            // fails the run on this message).
            pr_err!("reservation leak: {} blocks still reserved at unmount\n", left);
        }
        if info.shutdown.load(Ordering::Acquire) {
            // After a shutdown nothing may reach the device: drop it all.
            drop(fs);
        } else if let Err(e) = fs.unmount() {
            pr_err!("unmount failed to write its checkpoint: errno {}\n", e.0);
        }
    }
}

/// `sync_fs`: a checkpoint.
unsafe extern "C" fn sync_fs(sb: *mut bindings::super_block, _wait: c_int) -> c_int {
    // SAFETY: called on a mounted FluffleFS super block.
    to_c(unsafe { with_fs(sb, |fs| fs.sync()) })
}

/// `statfs`.
unsafe extern "C" fn statfs(dentry: *mut bindings::dentry, buf: *mut bindings::kstatfs) -> c_int {
    let buf = buf.cast::<KStatFs>();
    // SAFETY: the VFS passes a valid dentry of our filesystem and a
    // `kstatfs` buffer, whose layout `KStatFs` mirrors (checked in shim.c).
    unsafe {
        let sb = (*dentry).d_sb;
        match with_fs(sb, |fs| fs.statfs()) {
            Ok(s) => {
                (*buf).f_type = FLUFFLE_MAGIC as _;
                (*buf).f_bsize = s.bsize as _;
                (*buf).f_frsize = s.bsize as _;
                (*buf).f_blocks = s.blocks;
                (*buf).f_bfree = s.bfree;
                (*buf).f_bavail = s.bavail;
                (*buf).f_files = s.files;
                (*buf).f_ffree = s.ffree;
                (*buf).f_namelen = s.namelen as _;
                0
            }
            Err(e) => -e.0,
        }
    }
}

/// `evict_inode`: drops the page cache and the core's hold (which frees
/// an unlinked inode).
unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
    // SAFETY: the VFS passes an inode being evicted; nobody else uses it.
    unsafe {
        bindings::truncate_inode_pages_final(&mut (*inode).i_data);
        bindings::clear_inode(inode);
        inode::free_link(inode);
        let ino = (*inode).i_ino as u64;
        let _ = with_fs((*inode).i_sb, |fs| fs.release(ino));
    }
}

/// `write_inode`: pushes times and ownership the VFS changed to the core.
unsafe extern "C" fn write_inode(inode: *mut bindings::inode, _wbc: *mut bindings::writeback_control) -> c_int {
    // SAFETY: the VFS passes a valid inode of ours.
    to_c(unsafe { inode::push_attrs(inode) })
}

/// `remount`: options as at mount, and ro <-> rw for real.
///
/// `remount,ro` (the VFS has made sure no file is open for writing): GC
/// stops, dirty pages and inodes are written back (`sync_filesystem`, as
/// ext4 does here), then the core writes a checkpoint and refuses every
/// change with EROFS from then on; what was written before is on disk.
/// `remount,rw`: the core takes changes again (after a read-only mount it
/// first writes what that mount left in memory: `fluffle/remount.rs`) and
/// GC restarts. The VFS already refuses `rw` on a read-only device
/// (EACCES). On a failure the mount stays as it was.
unsafe extern "C" fn remount_fs(sb: *mut bindings::super_block, flags: *mut c_int, data: *mut c_char) -> c_int {
    if !data.is_null() {
        // SAFETY: a non-null `data` is the NUL-terminated option string.
        let opts = unsafe { CStr::from_char_ptr(data) }.as_bytes();
        if let Err(e) = check_options(opts) {
            return e.to_errno();
        }
    }
    // SAFETY: the VFS passes our mounted super block and the new flags.
    let (was_ro, want_ro) = unsafe {
        ((*sb).s_flags & SB_RDONLY != 0, (*flags as usize) & SB_RDONLY != 0)
    };
    if was_ro == want_ro {
        return 0;
    }
    // SAFETY: `sb` is mounted; the VFS holds `s_umount` exclusively
    // across `remount_fs`, as `sync_filesystem` wants.
    let r = unsafe {
        if want_ro {
            stop_gc(info(sb));
            let rc = bindings::sync_filesystem(sb);
            let r = if rc != 0 { Err(Errno(-rc)) } else { with_fs(sb, |fs| fs.set_read_only()) };
            if r.is_err() {
                super::gc::start(sb);
            }
            r
        } else {
            let r = with_fs(sb, |fs| fs.set_read_write());
            if r.is_ok() {
                super::gc::start(sb);
            }
            r
        }
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            pr_err!("remount {} failed: errno {}\n", if want_ro { "ro" } else { "rw" }, e.0);
            -e.0
        }
    }
}

/// Stops the GC thread, if one runs (remount ro, unmount).
fn stop_gc(info: &SbInfo) {
    let task = info.gc_task.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !task.is_null() {
        // SAFETY: `task` is our GC kthread, which only exits when told to.
        unsafe { bindings::kthread_stop(task) };
    }
}

static SUPER_OPS: VTable<bindings::super_operations> = VTable(bindings::super_operations {
    evict_inode: Some(evict_inode),
    remount_fs: Some(remount_fs),
    put_super: Some(put_super),
    sync_fs: Some(sync_fs),
    statfs: Some(statfs),
    write_inode: Some(write_inode),
    // SAFETY: `super_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});

/// Marks the filesystem shut down (`FS_IOC_SHUTDOWN`); with `flush`, a
/// checkpoint is written first.
///
/// # Safety
///
/// As for [`info`].
pub(crate) unsafe fn shutdown(sb: *mut bindings::super_block, flush: bool) -> core::result::Result<(), Errno> {
    if flush {
        // Dirty pages and inodes first, then the checkpoint (sync_fs);
        // `sync_filesystem` wants `s_umount` held.
        // SAFETY: forwarded contract; the ioctl's open file keeps `sb` alive.
        let rc = unsafe {
            bindings::down_read(&mut (*sb).s_umount);
            let rc = bindings::sync_filesystem(sb);
            bindings::up_read(&mut (*sb).s_umount);
            rc
        };
        if rc != 0 {
            return Err(Errno(-rc));
        }
    }
    // SAFETY: forwarded contract.
    let info = unsafe { info(sb) };
    info.shutdown.store(true, Ordering::Release);
    pr_warn!("filesystem shut down{}\n", if flush { " after a checkpoint" } else { " without flushing" });
    Ok(())
}
