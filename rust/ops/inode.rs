//! Inodes: loading a core inode into the VFS inode cache, keeping the two
//! in step, and the operation tables per file type.

use super::sb::with_fs;
use super::{aops, attr, dir, file, iflags, xattr};
use crate::fluffle::errno::{Errno, Result, ENOMEM};
use crate::fluffle::mem::FVec;
use crate::fluffle::types::{Attr, FileType, SetAttr, SYMLINK_MAX};
use crate::vfs::vtable::{zeroed, VTable};
use crate::vfs::{shim, time};
use kernel::bindings;

/// Returns the referenced VFS inode for core inode `ino`, loading it from
/// the core if it is not cached.
///
/// # Safety
///
/// `sb` must be a mounted FluffleFS super block.
pub(crate) unsafe fn iget(sb: *mut bindings::super_block, ino: u64) -> Result<*mut bindings::inode> {
    // SAFETY: `sb` is valid.
    let inode = unsafe { bindings::iget_locked(sb, ino as _) };
    if inode.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `iget_locked` returned a referenced inode.
    if unsafe { (*inode).i_state } & bindings::I_NEW == 0 {
        return Ok(inode);
    }
    // A new inode: the core keeps it allocated while the VFS holds it,
    // even when its last link goes (released in evict_inode).
    // SAFETY: `sb` is mounted.
    let loaded = unsafe {
        with_fs(sb, |fs| {
            let attr = fs.getattr(ino)?;
            let link = if attr.ftype == FileType::Symlink { Some(read_link(fs, ino, attr.size)?) } else { None };
            let flags = fs.iflags(ino)?;
            fs.hold(ino)?;
            Ok((attr, link, flags))
        })
    };
    match loaded {
        Ok((attr, link, flags)) => {
            // SAFETY: the inode is new and locked (I_NEW), so it is ours to
            // fill before `unlock_new_inode` publishes it.
            unsafe {
                fill(inode, &attr);
                iflags::set_inode_flags(inode, flags);
                set_ops(inode, &attr, link);
                bindings::unlock_new_inode(inode);
            }
            Ok(inode)
        }
        Err(e) => {
            // SAFETY: a new inode we failed to fill.
            unsafe { bindings::iget_failed(inode) };
            Err(e)
        }
    }
}

/// Reads a symlink's target.
fn read_link(fs: &mut super::sb::KFs, ino: u64, size: u64) -> Result<FVec<u8>> {
    let len = core::cmp::min(size as usize, SYMLINK_MAX);
    let mut buf = FVec::try_from_elem(0u8, len)?;
    let n = fs.readlink(ino, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Copies the core's attributes into a VFS inode.
///
/// # Safety
///
/// `inode` must be valid and not concurrently modified.
pub(crate) unsafe fn fill(inode: *mut bindings::inode, a: &Attr) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        (*inode).i_mode = a.mode as _;
        shim::fluffle_inode_set_ids(inode, a.uid, a.gid);
        bindings::set_nlink(inode, a.nlink);
        shim::fluffle_i_size_write(inode, a.size as i64);
        (*inode).i_blocks = a.blocks;
        let (at, mt, ct) = (time::from_core(a.atime), time::from_core(a.mtime), time::from_core(a.ctime));
        shim::fluffle_inode_set_times(inode, &at, &mt, &ct);
    }
}

/// Refreshes link count and ctime (and, for directories, size) after a
/// namespace change in the core. A regular file's size is left alone: the
/// page cache may hold data the core has not seen yet.
///
/// # Safety
///
/// `inode` must be a valid inode of a mounted FluffleFS.
pub(crate) unsafe fn refresh(inode: *mut bindings::inode) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let ino = (*inode).i_ino as u64;
        let a = with_fs((*inode).i_sb, |fs| fs.getattr(ino))?;
        bindings::set_nlink(inode, a.nlink);
        if a.ftype == FileType::Directory {
            shim::fluffle_i_size_write(inode, a.size as i64);
        }
        let (mut at, mut mt, mut ct) = zero_times();
        shim::fluffle_inode_get_times(inode, &mut at, &mut mt, &mut ct);
        let (mt, ct) = (time::from_core(a.mtime), time::from_core(a.ctime));
        shim::fluffle_inode_set_times(inode, &at, &mt, &ct);
    }
    Ok(())
}

/// Takes the core's ctime into the VFS inode after an xattr change (the
/// core stamped it; ext4 changes ctime there too), leaving atime and mtime
/// as the VFS has them (mtime may be newer than the core's while data
/// waits for writeback).
///
/// # Safety
///
/// `inode` must be a valid inode of a mounted FluffleFS.
pub(crate) unsafe fn refresh_ctime(inode: *mut bindings::inode) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let ino = (*inode).i_ino as u64;
        let a = with_fs((*inode).i_sb, |fs| fs.getattr(ino))?;
        let (mut at, mut mt, mut ct) = zero_times();
        shim::fluffle_inode_get_times(inode, &mut at, &mut mt, &mut ct);
        shim::fluffle_inode_set_times(inode, &at, &mt, &time::from_core(a.ctime));
    }
    Ok(())
}

fn zero_times() -> (bindings::timespec64, bindings::timespec64, bindings::timespec64) {
    let z = bindings::timespec64 { tv_sec: 0, tv_nsec: 0 };
    (z, z, z)
}

/// Pushes the VFS inode's mode, owner and times to the core.
///
/// # Safety
///
/// `inode` must be a valid inode of a mounted FluffleFS.
pub(crate) unsafe fn push_attrs(inode: *mut bindings::inode) -> core::result::Result<(), Errno> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let (mut at, mut mt, mut ct) = zero_times();
        shim::fluffle_inode_get_times(inode, &mut at, &mut mt, &mut ct);
        let set = SetAttr {
            mode: Some((*inode).i_mode as u32 & 0o7777),
            uid: Some(shim::fluffle_inode_uid(inode)),
            gid: Some(shim::fluffle_inode_gid(inode)),
            size: None,
            atime: Some(time::to_core(&at)),
            mtime: Some(time::to_core(&mt)),
            ctime: Some(time::to_core(&ct)),
        };
        let ino = (*inode).i_ino as u64;
        with_fs((*inode).i_sb, |fs| fs.setattr(ino, &set).map(|_| ()))
    }
}

/// Sets the operation tables for the inode's type (`attr` is what
/// [`fill`] copied in: `i_mode` is set).
///
/// # Safety
///
/// `inode` must be a new inode (I_NEW) not yet visible to others.
unsafe fn set_ops(inode: *mut bindings::inode, attr: &Attr, link: Option<FVec<u8>>) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        match attr.ftype {
            FileType::Regular => {
                (*inode).i_op = FILE_INODE_OPS.get();
                (*inode).__bindgen_anon_3.i_fop = file::FILE_OPS.get();
                (*inode).i_data.a_ops = aops::AOPS.get();
                // Folios up to 1 MiB: one writeback run, one bio.
                shim::fluffle_mapping_set_folio_max_order(&mut (*inode).i_data, aops::MAX_FOLIO_ORDER);
            }
            FileType::Directory => {
                (*inode).i_op = dir::DIR_INODE_OPS.get();
                (*inode).__bindgen_anon_3.i_fop = dir::DIR_FILE_OPS.get();
            }
            FileType::Symlink => {
                (*inode).i_op = SYMLINK_INODE_OPS.get();
                if let Some(link) = link {
                    // The target lives as long as the inode: `simple_get_link`
                    // returns `i_link`, and `free_link` frees it on eviction.
                    // On allocation failure `i_link` stays null and reading
                    // the link fails instead of the whole lookup.
                    (*inode).__bindgen_anon_4.i_link =
                        bindings::kmemdup_nul(link.as_ptr().cast(), link.len(), bindings::GFP_KERNEL);
                }
            }
            FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => {
                // The VFS serves these (pipe code, the device's driver, the
                // socket layer) through the file operations
                // `init_special_inode` picks; it also sets `i_rdev` for
                // device nodes, which `getattr` reports. We keep attributes
                // and xattrs only, as ext4 does.
                (*inode).i_op = SPECIAL_INODE_OPS.get();
                bindings::init_special_inode(inode, (*inode).i_mode, attr.rdev as bindings::dev_t);
            }
        }
    }
}

/// Frees a symlink inode's cached target.
///
/// # Safety
///
/// `inode` must be an inode being evicted.
pub(crate) unsafe fn free_link(inode: *mut bindings::inode) {
    // SAFETY: guaranteed by the caller; only symlinks have `i_link` set,
    // by `set_ops` with a kmalloc'd copy (kfree ignores null).
    unsafe {
        if (*inode).i_mode as u32 & bindings::S_IFMT == bindings::S_IFLNK {
            bindings::kfree((*inode).__bindgen_anon_4.i_link.cast());
            (*inode).__bindgen_anon_4.i_link = core::ptr::null_mut();
        }
    }
}

static FILE_INODE_OPS: VTable<bindings::inode_operations> = VTable(bindings::inode_operations {
    setattr: Some(attr::setattr),
    getattr: Some(attr::getattr),
    listxattr: Some(xattr::listxattr),
    fileattr_get: Some(iflags::fileattr_get),
    fileattr_set: Some(iflags::fileattr_set),
    fiemap: Some(super::falloc::fiemap),
    // SAFETY: `inode_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});

/// FIFOs, device nodes and sockets: attributes and xattrs, no content.
static SPECIAL_INODE_OPS: VTable<bindings::inode_operations> = VTable(bindings::inode_operations {
    setattr: Some(attr::setattr),
    getattr: Some(attr::getattr),
    listxattr: Some(xattr::listxattr),
    // SAFETY: `inode_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});

static SYMLINK_INODE_OPS: VTable<bindings::inode_operations> = VTable(bindings::inode_operations {
    get_link: Some(bindings::simple_get_link),
    setattr: Some(attr::setattr),
    getattr: Some(attr::getattr),
    listxattr: Some(xattr::listxattr),
    // SAFETY: `inode_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});
