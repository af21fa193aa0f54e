//! Computational storage in the kernel: the per-mount program registry,
//! process-scoped attachments (`user.process.csd_*` attributes), the CSD
//! read and write paths, and the load/unload/run ioctls.
//!
//! A run works on a snapshot of the file taken when the request starts:
//! dirty pages are written back first so the snapshot holds everything
//! written before, then the core pins the file's blocks; the eBPF kernel
//! reads through [`KernelSnapshot`], which keeps a copy of the pinned block
//! map and reads the device without the filesystem mutex (taken only for
//! a moment per read, to hold zone resets off), so writers and GC go on
//! meanwhile (GC keeps pinned blocks). The registry has its own mutex,
//! never held during a run.
//!
//! Programs belong to the user that loaded them and attachments to the
//! process that made them (see `csd::registry`): this file tells the
//! registry who is calling and whether a process still runs.

use super::ioctl::{copy_from_user, copy_in, copy_out};
use super::sb::{self, with_fs};
use crate::csd::abi::{self, LoadArgs, RunArgs};
use crate::csd::registry::{AttachKey, Attachment, Caller, Owner, Stream};
use crate::csd::runner::{self, Request, RunMemory};
use crate::csd::source::{DeviceGeometry, FileInfo, SnapshotSource};
use crate::csd::error::{CsdError, CsdResult};
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::{Errno, EFAULT, EINTR, EINVAL, ENODATA, ERANGE};
use crate::fluffle::extent::ExtentMap;
use crate::fluffle::fs::SnapId;
use crate::fluffle::snapshot::read_mapped;
use crate::fluffle::mem::FVec;
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::prelude::*;

/// Largest output a single run may produce (read or ioctl).
const MAX_OUTPUT: usize = 16 << 20;
/// Largest write a write-stream kernel transforms in one call.
const MAX_WRITE_INPUT: usize = 16 << 20;

/// The attachment key of the calling process for inode `ino`.
fn key(ino: u64) -> AttachKey {
    // SAFETY: reading the current task's identity has no preconditions.
    let owner = unsafe { Owner { pid: shim::fluffle_current_tgid(), start: shim::fluffle_current_start_time() } };
    AttachKey { owner, object: ino }
}

/// Whether the process that made an attachment still runs.
fn alive(owner: Owner) -> bool {
    // SAFETY: a lookup by pid under RCU; no preconditions.
    unsafe { shim::fluffle_process_alive(owner.pid, owner.start) }
}

/// The calling user, as the registry's ownership rules see it.
fn caller() -> Caller {
    // SAFETY: reading the current task's credentials has no preconditions.
    unsafe { Caller { uid: shim::fluffle_current_euid(), admin: bindings::capable(bindings::CAP_SYS_ADMIN as _) } }
}

/// Logs a CSD failure, rate limited, as one line.
fn log_failure(what: &str, e: &CsdError) {
    // SAFETY: no preconditions.
    if unsafe { shim::fluffle_printk_ratelimit() } != 0 {
        pr_warn!("csd: {}: {}\n", what, e);
    }
}

/// Bytes a sequential CSD kernel's reads fetch at once: kernels read 64
/// KiB at a time (their scratch buffer), and a device request per 64 KiB,
/// waited for one at a time, is what made CSD reads slower than userland's
/// readahead; a window has all its bios in flight together.
const WINDOW: usize = 4 << 20;

/// A snapshot of a file: its pinned block map, read from the device
/// without the core's mutex, sequential reads through a window.
struct KernelSnapshot {
    sb: *mut bindings::super_block,
    snap: SnapId,
    size: u64,
    map: ExtentMap,
    geo: DeviceGeometry,
    /// Where the last read ended: a read starting there is sequential.
    next: u64,
    /// The window (allocated at the first sequential read), its file
    /// offset and how many of its bytes are valid.
    window: FVec<u8>,
    window_at: u64,
    window_len: usize,
}

impl KernelSnapshot {
    /// Reads `buf.len()` bytes of the snapshot at `off` (short at the
    /// end) straight from the device.
    fn read_direct(&self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        // The lease only holds zone resets off (the snapshot's zones are
        // pinned anyway); it is taken under the mutex, as resets are made.
        // SAFETY: `sb` is the mounted super block of the file being read.
        let reader = unsafe { with_fs(self.sb, |fs| Ok(fs.device().async_reader()))? };
        read_mapped(&self.map, self.size, off, buf, |lba, blocks| {
            // SAFETY: the run's caller holds the file open (the filesystem
            // stays mounted); `buf` is heap memory (the run's or the
            // window); the blocks are the snapshot's, pinned until it is
            // released.
            unsafe { reader.read_into(lba, blocks) }
        })
    }

    /// Refills the window from block-aligned `at`.
    fn fill_window(&mut self, at: u64) -> Result<(), Errno> {
        if self.window.is_empty() {
            self.window = FVec::try_from_elem(0u8, WINDOW)?;
        }
        let mut window = core::mem::take(&mut self.window);
        let got = self.read_direct(at, &mut window);
        self.window = window;
        self.window_at = at;
        self.window_len = 0;
        self.window_len = got?;
        Ok(())
    }
}

impl SnapshotSource for KernelSnapshot {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if off >= self.size {
            return Ok(0);
        }
        let n = core::cmp::min(buf.len() as u64, self.size - off) as usize;
        let sequential = off == self.next;
        self.next = off.saturating_add(n as u64);
        let in_window = off >= self.window_at && off + n as u64 <= self.window_at + self.window_len as u64;
        if !in_window {
            // Random reads and reads as large as a window go straight to
            // the device; a sequential one refills the window.
            if !sequential || n >= WINDOW / 2 {
                return self.read_direct(off, buf);
            }
            self.fill_window(off - off % BLOCK_SIZE as u64)?;
        }
        let from = (off - self.window_at) as usize;
        let src = self.window.get(..self.window_len).and_then(|w| w.get(from..from + n)).ok_or(EINVAL)?;
        buf.get_mut(..n).ok_or(EINVAL)?.copy_from_slice(src);
        Ok(n)
    }

    fn lbas(&mut self, first: u64, out: &mut [u64]) -> Result<usize, Errno> {
        let snap = self.snap;
        // SAFETY: as in `read`.
        unsafe { with_fs(self.sb, |fs| fs.snapshot_lbas(snap, first, out)) }
    }

    fn read_lba(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let snap = self.snap;
        // SAFETY: as in `read`.
        unsafe { with_fs(self.sb, |fs| fs.snapshot_read_lba(snap, lba, buf)) }
    }

    fn geometry(&self) -> DeviceGeometry {
        self.geo
    }

    fn checkpoint(&mut self) -> Result<(), Errno> {
        // SAFETY: called from the process context of the request.
        unsafe {
            shim::fluffle_cond_resched();
            if shim::fluffle_fatal_signal_pending() {
                return Err(EINTR);
            }
        }
        Ok(())
    }
}

/// Runs program `id` over a fresh snapshot of `inode` for `req`, writing
/// its output into `out`; returns the bytes emitted.
///
/// # Safety
///
/// `inode` must be a regular-file inode of a mounted FluffleFS and `parent`
/// its parent's inode number (0 if unknown).
unsafe fn run(inode: *mut bindings::inode, parent: u64, id: u32, req: &Request<'_>, out: &mut [u8]) -> CsdResult<usize> {
    // SAFETY: guaranteed by the caller.
    let (sbp, ino, mapping) = unsafe { ((*inode).i_sb, (*inode).i_ino as u64, &mut (*inode).i_data as *mut _) };
    // SAFETY: as above.
    let info = unsafe { sb::info(sbp) };
    // A copy, so an unload during the run cannot pull the code away.
    let prog = info.csd.lock().get(id)?.try_clone()?;
    let program = prog.program()?;
    // Everything written before the request is part of the snapshot, and
    // nothing written during it: holding the inode lock shared excludes
    // write() calls (which hold it exclusively) while dirty pages go to the
    // core and the core pins the file, so the snapshot falls between whole
    // writes.
    // SAFETY: `inode` is valid; the lock is released below on every path.
    unsafe { bindings::down_read(&mut (*inode).i_rwsem) };
    // SAFETY: `mapping` is the inode's own page cache; `sbp` is mounted.
    let pinned = unsafe {
        match shim::filemap_write_and_wait_range(mapping, 0, i64::MAX) {
            0 => with_fs(sbp, |fs| {
                let a = fs.getattr(ino)?;
                let g = fs.geometry();
                let snap = fs.snapshot(ino)?;
                let size = fs.snapshot_size(snap)?;
                match fs.snapshot_map(snap) {
                    Ok(map) => Ok((snap, size, map, a.mode, g)),
                    Err(e) => {
                        let _ = fs.release_snapshot(snap);
                        Err(e)
                    }
                }
            }),
            rc => Err(Errno(-rc)),
        }
    };
    // SAFETY: taken above.
    unsafe { bindings::up_read(&mut (*inode).i_rwsem) };
    let (snap, size, map, mode, geo) = pinned?;
    let geo = DeviceGeometry {
        sector_size: 4096,
        zone_size: geo.zone_size,
        zone_cap: geo.zone_cap,
        zone_count: geo.zone_count,
    };
    let mut src =
        KernelSnapshot { sb: sbp, snap, size, map, geo, next: 0, window: FVec::new(), window_at: 0, window_len: 0 };
    let file = FileInfo { ino, parent, mode };
    let budget = runner::budget_for(size.saturating_add(req.len));
    let result = RunMemory::new()
        .map_err(CsdError::from)
        .and_then(|mut mem| runner::run_program(&program, &mut src, &file, req, &mut mem, out, budget));
    // SAFETY: `sbp` is mounted; the snapshot is ours to release.
    let _ = unsafe { with_fs(sbp, |fs| fs.release_snapshot(snap)) };
    result.map(|o| o.emitted)
}

/// The parent directory's inode number of an open file.
///
/// # Safety
///
/// `file` must be an open file.
unsafe fn parent_ino(file: *mut bindings::file) -> u64 {
    // SAFETY: an open file pins its dentry, whose parent pointer is valid;
    // a racing rename may make the answer stale, which is harmless here.
    unsafe {
        let d = (*file).f_path.dentry;
        let p = (*d).d_parent;
        if p.is_null() || (*p).d_inode.is_null() {
            0
        } else {
            (*(*p).d_inode).i_ino as u64
        }
    }
}

/// The file, inode and the calling process's attachment for a kiocb.
///
/// # Safety
///
/// `iocb` must be a valid kiocb of an open regular file of ours.
unsafe fn attached(iocb: *mut bindings::kiocb) -> (*mut bindings::file, *mut bindings::inode, Attachment) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let file = (*iocb).ki_filp;
        let inode = shim::fluffle_file_inode(file);
        let ino = (*inode).i_ino as u64;
        (file, inode, sb::info((*inode).i_sb).csd.lock().attachment(key(ino)))
    }
}

/// `read_iter`: the kernel's output for a process with a read-stream
/// kernel attached, the file's bytes for everyone else.
pub(crate) unsafe extern "C" fn read_iter(iocb: *mut bindings::kiocb, to: *mut bindings::iov_iter) -> isize {
    // SAFETY: the VFS passes a valid kiocb of an open file of ours and the
    // destination iterator.
    unsafe {
        let (file, inode, att) = attached(iocb);
        let id = att.read;
        if id == 0 {
            return bindings::generic_file_read_iter(iocb, to);
        }
        let count = core::cmp::min(shim::fluffle_iov_iter_count(to), MAX_OUTPUT);
        if count == 0 {
            return 0;
        }
        let pos = (*iocb).ki_pos.max(0) as u64;
        let mut out = match FVec::try_from_elem(0u8, count) {
            Ok(o) => o,
            Err(e) => return -(e.0 as isize),
        };
        match run(inode, parent_ino(file), id, &Request::read(pos, count as u64), &mut out) {
            Ok(n) => {
                let n = core::cmp::min(n, out.len());
                let copied = bindings::_copy_to_iter(out.as_ptr().cast(), n, to);
                (*iocb).ki_pos += copied as i64;
                if copied == 0 && n > 0 {
                    -(EFAULT.0 as isize)
                } else {
                    copied as isize
                }
            }
            Err(e) => {
                log_failure("read-stream kernel failed", &e);
                -(e.errno.0 as isize)
            }
        }
    }
}

/// `write_iter`: data written by a process with a write-stream kernel
/// attached goes through the kernel, which decides what is stored.
pub(crate) unsafe extern "C" fn write_iter(iocb: *mut bindings::kiocb, from: *mut bindings::iov_iter) -> isize {
    // SAFETY: the VFS passes a valid kiocb of an open file of ours and the
    // source iterator.
    unsafe {
        let (file, inode, att) = attached(iocb);
        // A write after a lost one fails (before any byte is taken).
        if let Err(e) = super::sb::writable((*inode).i_sb) {
            return -(e.0 as isize);
        }
        let id = att.write;
        if id == 0 {
            return bindings::generic_file_write_iter(iocb, from);
        }
        let len = shim::fluffle_iov_iter_count(from);
        if len > MAX_WRITE_INPUT {
            return -(ERANGE.0 as isize);
        }
        // O_APPEND writes go to the end of the file, as for plain writes.
        if (*file).f_flags & bindings::O_APPEND != 0 {
            (*iocb).ki_pos = shim::fluffle_i_size_read(inode);
        }
        match write_stream(file, inode, id, (*iocb).ki_pos.max(0) as u64, len, from) {
            Ok(stored) => {
                // The file position follows what was stored (a kernel may
                // add a trailer); the caller is told its whole write went in.
                (*iocb).ki_pos += stored as i64;
                len as isize
            }
            Err(e) => {
                log_failure("write-stream kernel failed", &e);
                -(e.errno.0 as isize)
            }
        }
    }
}

/// Runs the write-stream kernel over the `len` bytes of `from` and stores
/// its output at `pos`, keeping the page cache coherent; returns the number
/// of bytes stored.
///
/// # Safety
///
/// The arguments of a `write_iter` call on a regular file of ours.
unsafe fn write_stream(
    file: *mut bindings::file,
    inode: *mut bindings::inode,
    id: u32,
    pos: u64,
    len: usize,
    from: *mut bindings::iov_iter,
) -> CsdResult<usize> {
    let mut input = FVec::try_from_elem(0u8, len)?;
    // SAFETY: `input` has room for `len` bytes; `from` is the caller's iterator.
    if unsafe { bindings::_copy_from_iter(input.as_mut_ptr().cast(), len, from) } != len {
        return Err(EFAULT.into());
    }
    // Room for the kernel to grow the data (e.g. a trailer).
    let cap = core::cmp::min(len.saturating_mul(2).saturating_add(4096), MAX_OUTPUT);
    let mut out = FVec::try_from_elem(0u8, cap)?;
    // SAFETY: forwarded from the caller.
    let n = unsafe { run(inode, parent_ino(file), id, &Request::write(pos, &input), &mut out)? };
    let stored = out.get(..n).ok_or(EINVAL)?;
    // SAFETY: `inode` is ours; holding its lock exclusively makes the store
    // one write() as other writers and CSD snapshots see it. `run` wrote the
    // page cache back, so dropping the range afterwards loses nothing.
    let stored_ok = unsafe {
        bindings::down_write(&mut (*inode).i_rwsem);
        let ino = (*inode).i_ino as u64;
        let r = with_fs((*inode).i_sb, |fs| fs.write(ino, pos, stored));
        let end = pos.saturating_add(n as u64);
        if r.is_ok() && end as i64 > shim::fluffle_i_size_read(inode) {
            shim::fluffle_i_size_write(inode, end as i64);
        }
        let page = kernel::page::PAGE_SIZE as u64;
        shim::invalidate_inode_pages2_range(&mut (*inode).i_data, (pos / page) as usize, (end / page) as usize);
        bindings::up_write(&mut (*inode).i_rwsem);
        r
    };
    stored_ok?;
    Ok(n)
}

/// `release`: a process closing the file ends its attachments to it.
pub(crate) unsafe extern "C" fn release(inode: *mut bindings::inode, _file: *mut bindings::file) -> kernel::ffi::c_int {
    // SAFETY: the VFS passes the inode of the file being released.
    unsafe {
        let ino = (*inode).i_ino as u64;
        sb::info((*inode).i_sb).csd.lock().detach_key(key(ino));
    }
    0
}

/// `getxattr` of `user.process.<name>`: the caller's own attachment id.
///
/// # Safety
///
/// `inode` must be an inode of a mounted FluffleFS.
pub(crate) unsafe fn get_attr(inode: *mut bindings::inode, name: &[u8], buf: &mut [u8]) -> Result<usize, Errno> {
    let stream = stream_of(name)?;
    // SAFETY: guaranteed by the caller.
    let (ino, info) = unsafe { ((*inode).i_ino as u64, sb::info((*inode).i_sb)) };
    let a = info.csd.lock().attachment(key(ino));
    let id = match stream {
        Stream::Read => a.read,
        Stream::Write => a.write,
    };
    if id == 0 {
        return Err(ENODATA);
    }
    let mut text = [0u8; 10];
    let digits = format_u32(id, &mut text);
    if buf.is_empty() {
        return Ok(digits.len());
    }
    buf.get_mut(..digits.len()).ok_or(ERANGE)?.copy_from_slice(digits);
    Ok(digits.len())
}

/// `setxattr`/`removexattr` of `user.process.<name>` (`value` None: detach).
///
/// # Safety
///
/// `inode` must be an inode of a mounted FluffleFS.
pub(crate) unsafe fn set_attr(inode: *mut bindings::inode, name: &[u8], value: Option<&[u8]>) -> Result<(), Errno> {
    let stream = stream_of(name)?;
    // SAFETY: guaranteed by the caller.
    unsafe {
        if (*inode).i_mode as u32 & bindings::S_IFMT != bindings::S_IFREG {
            return Err(EINVAL);
        }
        // Attaching runs code over the file's content: the caller must be
        // able to read it (the VFS already checked write access for user.*).
        let rc = bindings::inode_permission(core::ptr::addr_of_mut!(bindings::nop_mnt_idmap), inode, bindings::MAY_READ as _);
        if rc != 0 {
            return Err(Errno(-rc));
        }
    }
    // SAFETY: guaranteed by the caller.
    let (ino, info) = unsafe { ((*inode).i_ino as u64, sb::info((*inode).i_sb)) };
    let mut reg = info.csd.lock();
    match value {
        None => reg.detach(key(ino), stream).map_err(|e| e.errno),
        Some(v) => {
            let id = parse_u32(v).ok_or(EINVAL)?;
            reg.attach(key(ino), stream, id, alive).map_err(|e| e.errno)
        }
    }
}

fn stream_of(name: &[u8]) -> Result<Stream, Errno> {
    match name {
        b"csd_read_stream" => Ok(Stream::Read),
        b"csd_write_stream" => Ok(Stream::Write),
        _ => Err(ENODATA),
    }
}

/// Parses a decimal id, allowing a trailing newline or NUL (as `setfattr`
/// and `echo` produce).
fn parse_u32(v: &[u8]) -> Option<u32> {
    let v = v.strip_suffix(b"\0").unwrap_or(v);
    let v = v.strip_suffix(b"\n").unwrap_or(v);
    if v.is_empty() || v.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &c in v {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u32)?;
    }
    Some(n)
}

fn format_u32(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// `FLUFFLE_IOC_CSD_LOAD`: verifies and stores a program, returns its id.
///
/// # Safety
///
/// `file` is an open file of ours; user context.
pub(crate) unsafe fn ioctl_load(file: *mut bindings::file, arg: c_ulong) -> Result<(), Errno> {
    // SAFETY: user context, per the contract.
    let mut args = LoadArgs::from_bytes(&unsafe { copy_in::<{ abi::LOAD_ARGS_SIZE }>(arg) }?);
    let len = args.prog_len as usize;
    if len == 0 || len > abi::MAX_PROG_BYTES as usize {
        log_failure("load refused", &CsdError::msg(crate::fluffle::errno::E2BIG, "program size out of range"));
        return Err(if len == 0 { EINVAL } else { crate::fluffle::errno::E2BIG });
    }
    let mut code = FVec::try_from_elem(0u8, len)?;
    // SAFETY: user context, per the contract.
    unsafe { copy_from_user(&mut code, args.prog_ptr)? };
    // SAFETY: `file` is ours.
    let info = unsafe { sb::info((*shim::fluffle_file_inode(file)).i_sb) };
    let id = info.csd.lock().load(caller(), &code, args.entry as usize).map_err(|e| {
        log_failure("load refused", &e);
        e.errno
    })?;
    args.id_out = id;
    // SAFETY: user context.
    unsafe { copy_out(arg as u64, &args.to_bytes()) }
}

/// `FLUFFLE_IOC_CSD_UNLOAD`.
///
/// # Safety
///
/// `file` is an open file of ours; user context.
pub(crate) unsafe fn ioctl_unload(file: *mut bindings::file, arg: c_ulong) -> Result<(), Errno> {
    // SAFETY: user context, per the contract.
    let id = u32::from_le_bytes(unsafe { copy_in::<4>(arg) }?);
    // SAFETY: `file` is ours.
    let info = unsafe { sb::info((*shim::fluffle_file_inode(file)).i_sb) };
    let r = info.csd.lock().unload(caller(), id, alive).map_err(|e| e.errno);
    r
}

/// `FLUFFLE_IOC_CSD_RUN`: runs a program over a byte range of the file
/// into a user buffer.
///
/// # Safety
///
/// `file` is an open file of ours; user context.
pub(crate) unsafe fn ioctl_run(file: *mut bindings::file, arg: c_ulong) -> Result<(), Errno> {
    // SAFETY: user context, per the contract.
    let mut args = RunArgs::from_bytes(&unsafe { copy_in::<{ abi::RUN_ARGS_SIZE }>(arg) }?);
    // SAFETY: `file` is open.
    let inode = unsafe { shim::fluffle_file_inode(file) };
    // SAFETY: as above.
    if unsafe { (*inode).i_mode } as u32 & bindings::S_IFMT != bindings::S_IFREG {
        return Err(EINVAL);
    }
    let cap = core::cmp::min(args.out_len, MAX_OUTPUT as u64) as usize;
    let mut out = FVec::try_from_elem(0u8, cap)?;
    // SAFETY: `inode` is a regular file of ours.
    let n = unsafe { run(inode, parent_ino(file), args.id, &Request::read(args.offset, args.len), &mut out) }
        .map_err(|e| {
            log_failure("run failed", &e);
            e.errno
        })?;
    let n = core::cmp::min(n, out.len());
    // SAFETY: user context.
    unsafe { copy_out(args.out_ptr, out.get(..n).unwrap_or(&[]))? };
    args.result_len = n as u64;
    // SAFETY: user context.
    unsafe { copy_out(arg as u64, &args.to_bytes()) }
}
