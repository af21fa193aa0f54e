//! `direct_IO`: O_DIRECT reads and writes, past the page cache.
//!
//! A request whose offset and length are multiples of 4 KiB goes to the
//! device (or comes from it) before the call returns, through a kernel
//! buffer of up to [`CHUNK`] bytes: one copy, but the user's pages are
//! never pinned, so the user buffer needs no alignment. Other requests
//! return 0 and the VFS does them buffered, as for any filesystem with
//! alignment rules. The VFS has already written back and will invalidate
//! the page-cache range, and grows `i_size` after a write; the core drops
//! its own dirty pages of the range (`write_blocks`).

use super::sb::with_fs;
use crate::fluffle::device::BLOCK_SIZE;
use crate::fluffle::errno::{Errno, EFAULT, ENOMEM};
use crate::fluffle::mem::FVec;
use crate::vfs::shim;
use kernel::bindings;
use kernel::ffi::c_void;

/// Bytes moved per core call.
const CHUNK: usize = 1 << 20;

/// `direct_IO` of regular files.
pub(crate) unsafe extern "C" fn direct_io(iocb: *mut bindings::kiocb, iter: *mut bindings::iov_iter) -> isize {
    // SAFETY: the VFS passes a live request on one of our files and its
    // user-memory iterator, which only the user-copy functions touch
    // (outside the core mutex, as they may fault).
    unsafe {
        let inode = shim::fluffle_file_inode((*iocb).ki_filp);
        let (sb, ino) = ((*inode).i_sb, (*inode).i_ino as u64);
        let pos = (*iocb).ki_pos as u64;
        let count = shim::fluffle_iov_iter_count(iter);
        let bs = BLOCK_SIZE as u64;
        if count == 0 || pos % bs != 0 || count as u64 % bs != 0 {
            return 0;
        }
        let writing = (*iter).data_source;
        let mut buf = FVec::new();
        if buf.try_resize(core::cmp::min(count, CHUNK), 0u8).is_err() {
            return -(ENOMEM.0 as isize);
        }
        let mut done = 0usize;
        while done < count {
            let n = core::cmp::min(CHUNK, count - done);
            let at = pos + done as u64;
            let chunk = &mut buf[..n];
            let r = if writing {
                write_chunk(sb, ino, at, chunk, iter)
            } else {
                read_chunk(sb, ino, at, chunk, iter)
            };
            match r {
                Ok(moved) => {
                    done += moved;
                    if moved < n {
                        break; // EOF
                    }
                }
                Err(e) if done == 0 => return -(e.0 as isize),
                Err(_) => break,
            }
        }
        done as isize
    }
}

/// Copies `buf.len()` bytes from `iter` and writes them at `at`; on
/// failure the iterator is rewound, as nothing counts as written.
///
/// # Safety
///
/// `sb` must be mounted, `ino` one of its regular files, `iter` valid.
unsafe fn write_chunk(sb: *mut bindings::super_block, ino: u64, at: u64, buf: &mut [u8], iter: *mut bindings::iov_iter) -> Result<usize, Errno> {
    // SAFETY: guaranteed by the caller; `buf` is ours.
    let got = unsafe { bindings::_copy_from_iter(buf.as_mut_ptr().cast::<c_void>(), buf.len(), iter) };
    let r = if got != buf.len() {
        Err(EFAULT)
    } else {
        let mut blocks: FVec<&[u8]> = FVec::new();
        match blocks.try_reserve(buf.len() / BLOCK_SIZE) {
            Err(_) => Err(ENOMEM),
            Ok(()) => {
                for b in buf.chunks(BLOCK_SIZE) {
                    // Cannot fail: reserved.
                    let _ = blocks.try_push(b);
                }
                // SAFETY: guaranteed by the caller.
                unsafe { with_fs(sb, |fs| fs.write_blocks(ino, at, &blocks)) }
            }
        }
    };
    match r {
        Ok(()) => Ok(buf.len()),
        Err(e) => {
            // SAFETY: `got` bytes were just taken from `iter`.
            unsafe { bindings::iov_iter_revert(iter, got) };
            Err(e)
        }
    }
}

/// Reads up to `buf.len()` bytes at `at` (fewer at EOF) and copies them to
/// `iter`; returns the bytes copied.
///
/// # Safety
///
/// As [`write_chunk`].
unsafe fn read_chunk(sb: *mut bindings::super_block, ino: u64, at: u64, buf: &mut [u8], iter: *mut bindings::iov_iter) -> Result<usize, Errno> {
    let mut blocks: FVec<&mut [u8]> = FVec::new();
    blocks.try_reserve(buf.len() / BLOCK_SIZE).map_err(|_| ENOMEM)?;
    for b in buf.chunks_mut(BLOCK_SIZE) {
        // Cannot fail: reserved.
        let _ = blocks.try_push(b);
    }
    // SAFETY: guaranteed by the caller.
    let n = unsafe { with_fs(sb, |fs| fs.read_blocks(ino, at, &mut blocks)) }?;
    drop(blocks);
    let n = core::cmp::min(n, buf.len());
    // SAFETY: the core filled the first `n` bytes of `buf`; `iter` is the
    // caller's.
    let copied = unsafe { bindings::_copy_to_iter(buf.as_ptr().cast::<c_void>(), n, iter) };
    if copied == 0 && n > 0 {
        return Err(EFAULT);
    }
    Ok(copied)
}
