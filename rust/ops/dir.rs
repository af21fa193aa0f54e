//! Directory operations: names in, core calls, dentries out.

use super::sb::{to_c, with_fs, KFs};
use super::{attr, file, inode, xattr};
use crate::fluffle::errno::{Errno, Result, EINVAL, ENAMETOOLONG, ENOENT};
use crate::fluffle::mem::FVec;
use crate::fluffle::types::{Attr, FileType, NAME_MAX, RENAME_WHITEOUT, S_IFDIR};
use crate::vfs::shim;
use crate::vfs::vtable::{zeroed, VTable};
use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint};

/// `S_ISGID` (a setgid directory passes its group on).
const S_ISGID: u32 = 0o2000;

/// The name of a dentry.
///
/// # Safety
///
/// `dentry` must be valid, and its name stable while the slice is used
/// (the VFS holds the parent's lock for every callback here).
unsafe fn name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
    // SAFETY: guaranteed by the caller; `hash_len` packs the length in its
    // upper 32 bits on little-endian machines, as `HASH_LEN_DECLARE` does.
    unsafe {
        let q = &(*dentry).d_name;
        let len = (q.__bindgen_anon_1.hash_len >> 32) as usize;
        core::slice::from_raw_parts(q.name, len)
    }
}

/// The inode of a positive dentry.
///
/// # Safety
///
/// `dentry` must be valid.
unsafe fn d_inode(dentry: *mut bindings::dentry) -> *mut bindings::inode {
    // SAFETY: guaranteed by the caller.
    unsafe { (*dentry).d_inode }
}

/// Owner and group for a new inode in `dir`, as `inode_init_owner` would
/// choose them: the caller's fsuid, and fsgid unless `dir` is setgid.
///
/// # Safety
///
/// `dir` must be a valid inode.
unsafe fn new_owner(dir: *mut bindings::inode, mode: u32) -> (u32, u32, u32) {
    // SAFETY: guaranteed by the caller; the creds helpers have no preconditions.
    unsafe {
        let uid = shim::fluffle_current_fsuid();
        let dir_mode = (*dir).i_mode as u32;
        if dir_mode & S_ISGID != 0 {
            let mode = if mode & S_IFDIR == S_IFDIR { mode | S_ISGID } else { mode };
            (uid, shim::fluffle_inode_gid(dir), mode)
        } else {
            (uid, shim::fluffle_current_fsgid(), mode)
        }
    }
}

/// Attaches the core's new inode `attr` to `dentry` and refreshes `dir`.
///
/// # Safety
///
/// `dir` and `dentry` must be the valid, locked arguments of a create-like
/// callback.
unsafe fn instantiate(dir: *mut bindings::inode, dentry: *mut bindings::dentry, attr: &Attr) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let inode = inode::iget((*dir).i_sb, attr.ino)?;
        bindings::d_instantiate(dentry, inode);
        inode::refresh(dir)
    }
}

unsafe extern "C" fn lookup(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: c_uint,
) -> *mut bindings::dentry {
    // SAFETY: the VFS passes a valid directory and a dentry it holds.
    unsafe {
        let name = name(dentry);
        if name.len() > NAME_MAX {
            return kernel::error::Error::from_errno(-ENAMETOOLONG.0).to_ptr();
        }
        let dino = (*dir).i_ino as u64;
        let found = with_fs((*dir).i_sb, |fs| match fs.lookup(dino, name) {
            Ok(a) => Ok(Some(a.ino)),
            Err(e) if e == ENOENT => Ok(None),
            Err(e) => Err(e),
        });
        let inode = match found {
            Ok(Some(ino)) => match inode::iget((*dir).i_sb, ino) {
                Ok(i) => i,
                Err(e) => return kernel::error::Error::from_errno(-e.0).to_ptr(),
            },
            // A negative dentry: the name does not exist (yet).
            Ok(None) => core::ptr::null_mut(),
            Err(e) => return kernel::error::Error::from_errno(-e.0).to_ptr(),
        };
        bindings::d_splice_alias(inode, dentry)
    }
}

/// `create` and `mkdir`: a new inode of `mode` named by `dentry`, made by
/// `make` (the core's `create` or `mkdir`).
///
/// # Safety
///
/// `dir` and `dentry` must be the valid, locked callback arguments.
unsafe fn make_node(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: u32,
    make: fn(&mut KFs, u64, &[u8], u32, u32, u32) -> Result<Attr>,
) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let (uid, gid, mode) = new_owner(dir, mode);
        let dino = (*dir).i_ino as u64;
        let name = name(dentry);
        with_fs((*dir).i_sb, |fs| make(fs, dino, name, mode, uid, gid)).and_then(|a| instantiate(dir, dentry, &a))
    }
}

unsafe extern "C" fn create(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> c_int {
    // SAFETY: the VFS passes a locked directory and a negative dentry.
    to_c(unsafe { make_node(dir, dentry, mode as u32, KFs::create) })
}

unsafe extern "C" fn mkdir(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: the VFS passes a locked directory and a negative dentry.
    to_c(unsafe { make_node(dir, dentry, mode as u32 | S_IFDIR, KFs::mkdir) })
}

unsafe extern "C" fn symlink(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    target: *const c_char,
) -> c_int {
    // SAFETY: the VFS passes a locked directory, a negative dentry and a
    // NUL-terminated kernel copy of the target.
    to_c(unsafe {
        let (uid, gid, _) = new_owner(dir, 0);
        let dino = (*dir).i_ino as u64;
        let name = name(dentry);
        let target = kernel::str::CStr::from_char_ptr(target).as_bytes();
        with_fs((*dir).i_sb, |fs| fs.symlink(dino, name, target, uid, gid)).and_then(|a| instantiate(dir, dentry, &a))
    })
}

/// `mknod(2)`, `mkfifo(3)` and `bind(2)` of a UNIX socket: a FIFO, device
/// node or socket. The VFS sends regular files to `create` and passes
/// `rdev` 0 for FIFOs and sockets; device nodes keep theirs.
unsafe extern "C" fn mknod(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> c_int {
    let Some(ftype) = FileType::from_mode(mode as u32).filter(|t| t.is_special()) else {
        return -EINVAL.0;
    };
    let rdev = if ftype.has_rdev() { rdev as u32 } else { 0 };
    // SAFETY: the VFS passes a locked directory and a negative dentry.
    to_c(unsafe {
        let (uid, gid, mode) = new_owner(dir, mode as u32);
        let dino = (*dir).i_ino as u64;
        let name = name(dentry);
        with_fs((*dir).i_sb, |fs| fs.mknod(dino, name, ftype, mode, rdev, uid, gid))
            .and_then(|a| instantiate(dir, dentry, &a))
    })
}

unsafe extern "C" fn link(
    old: *mut bindings::dentry,
    dir: *mut bindings::inode,
    new: *mut bindings::dentry,
) -> c_int {
    // SAFETY: the VFS passes the existing dentry, the locked target
    // directory and a negative dentry.
    to_c(unsafe {
        let inode = d_inode(old);
        let (ino, dino) = ((*inode).i_ino as u64, (*dir).i_ino as u64);
        let name = name(new);
        with_fs((*dir).i_sb, |fs| fs.link(ino, dino, name).map(|_| ())).and_then(|()| {
            bindings::ihold(inode);
            bindings::d_instantiate(new, inode);
            inode::refresh(inode)?;
            inode::refresh(dir)
        })
    })
}

/// `unlink` and `rmdir`: the core call, then link counts from the core.
///
/// # Safety
///
/// `dir` and `dentry` must be the valid, locked callback arguments.
unsafe fn remove(dir: *mut bindings::inode, dentry: *mut bindings::dentry, is_dir: bool) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let dino = (*dir).i_ino as u64;
        let name = name(dentry);
        with_fs((*dir).i_sb, |fs| if is_dir { fs.rmdir(dino, name) } else { fs.unlink(dino, name) })?;
        // The victim stays in the core while the VFS holds it (evict frees it).
        let victim = d_inode(dentry);
        if is_dir {
            bindings::clear_nlink(victim);
        } else {
            inode::refresh(victim)?;
        }
        inode::refresh(dir)
    }
}

unsafe extern "C" fn unlink(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
    // SAFETY: the VFS passes a locked directory and a positive dentry.
    to_c(unsafe { remove(dir, dentry, false) })
}

unsafe extern "C" fn rmdir(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
    // SAFETY: the VFS passes a locked directory and a positive dentry.
    to_c(unsafe { remove(dir, dentry, true) })
}

unsafe extern "C" fn rename(
    _idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new: *mut bindings::dentry,
    flags: c_uint,
) -> c_int {
    // SAFETY: the VFS passes both locked directories, the positive source
    // dentry and the (maybe positive) target dentry.
    to_c(unsafe {
        let (od, nd) = ((*old_dir).i_ino as u64, (*new_dir).i_ino as u64);
        let (on, nn) = (name(old), name(new));
        let r = if flags & RENAME_WHITEOUT != 0 {
            // The whiteout is owned like a new inode in the old directory
            // (as ext4's); the VFS moves the old dentry, so the whiteout
            // gets none here (a later lookup finds it).
            let (uid, gid, _) = new_owner(old_dir, 0);
            with_fs((*old_dir).i_sb, |fs| fs.rename_whiteout(od, on, nd, nn, flags, uid, gid))
        } else {
            with_fs((*old_dir).i_sb, |fs| fs.rename(od, on, nd, nn, flags))
        };
        r.and_then(|()| {
            let target = d_inode(new);
            if !target.is_null() {
                inode::refresh(target)?;
            }
            inode::refresh(d_inode(old))?;
            inode::refresh(old_dir)?;
            if new_dir != old_dir {
                inode::refresh(new_dir)?;
            }
            Ok(())
        })
    })
}

/// `open(O_TMPFILE)`: a nameless regular file at link count 0 (the core
/// frees it at the last close unless `linkat` named it, and mount after a
/// crash).
unsafe extern "C" fn tmpfile(
    _idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    file: *mut bindings::file,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: the VFS passes a directory of ours and a file being opened
    // whose `f_path.dentry` is the new, negative dentry.
    to_c(unsafe {
        let sb = (*dir).i_sb;
        let (uid, gid, mode) = new_owner(dir, mode as u32);
        let dino = (*dir).i_ino as u64;
        with_fs(sb, |fs| fs.tmpfile(dino, mode, uid, gid)).and_then(|a| {
            let inode = match inode::iget(sb, a.ino) {
                Ok(i) => i,
                Err(e) => {
                    // Nobody holds it: release frees it.
                    let _ = with_fs(sb, |fs| fs.release(a.ino));
                    return Err(e);
                }
            };
            // `d_tmpfile` drops the link a new inode has (to 0, the core's).
            bindings::set_nlink(inode, 1);
            bindings::d_tmpfile(file, inode);
            match bindings::finish_open(file, (*file).f_path.dentry, None) {
                0 => Ok(()),
                rc => Err(Errno(-rc)),
            }
        })
    })
}

/// A directory entry copied out of the core, to be emitted without the
/// core mutex held (`dir_emit` writes to user memory and may fault).
struct Entry {
    name_at: usize,
    name_len: usize,
    ino: u64,
    dtype: u32,
    cookie: u64,
}

/// Entries fetched per core call.
const BATCH: usize = 128;

fn dtype(t: FileType) -> u32 {
    match t {
        FileType::Regular => bindings::DT_REG,
        FileType::Directory => bindings::DT_DIR,
        FileType::Symlink => bindings::DT_LNK,
        FileType::Fifo => bindings::DT_FIFO,
        FileType::CharDev => bindings::DT_CHR,
        FileType::BlockDev => bindings::DT_BLK,
        FileType::Socket => bindings::DT_SOCK,
    }
}

/// Fetches up to `BATCH` entries after `cookie`.
///
/// # Safety
///
/// `dir` must be a valid directory inode of a mounted FluffleFS.
unsafe fn fetch(dir: *mut bindings::inode, cookie: u64, names: &mut FVec<u8>, out: &mut FVec<Entry>) -> Result<()> {
    // SAFETY: guaranteed by the caller.
    let (sb, dino) = unsafe { ((*dir).i_sb, (*dir).i_ino as u64) };
    // SAFETY: as above.
    unsafe {
        with_fs(sb, |fs| {
            let mut err: Option<Errno> = None;
            fs.readdir(dino, cookie, &mut |name, ino, ftype, next| {
                if out.len() >= BATCH {
                    return false;
                }
                let at = names.len();
                let pushed = names.try_extend_from_slice(name).and_then(|()| {
                    out.try_push(Entry { name_at: at, name_len: name.len(), ino, dtype: dtype(ftype), cookie: next })
                });
                match pushed {
                    Ok(()) => true,
                    Err(e) => {
                        err = Some(e);
                        false
                    }
                }
            })?;
            err.map_or(Ok(()), Err)
        })
    }
}

unsafe extern "C" fn iterate_shared(file: *mut bindings::file, ctx: *mut bindings::dir_context) -> c_int {
    // SAFETY: the VFS passes an open directory and its iteration context;
    // the position is the core's cookie of the last entry emitted.
    unsafe {
        let dir = shim::fluffle_file_inode(file);
        let mut names = FVec::new();
        let mut entries = FVec::new();
        loop {
            names.clear();
            entries.clear();
            if let Err(e) = fetch(dir, (*ctx).pos as u64, &mut names, &mut entries) {
                return -e.0;
            }
            if entries.is_empty() {
                return 0;
            }
            for e in entries.iter() {
                let Some(n) = names.get(e.name_at..e.name_at + e.name_len) else {
                    return 0;
                };
                if !shim::fluffle_dir_emit(ctx, n.as_ptr().cast(), n.len() as c_int, e.ino, e.dtype) {
                    return 0;
                }
                (*ctx).pos = e.cookie as i64;
            }
        }
    }
}

unsafe extern "C" fn dir_fsync(file: *mut bindings::file, _start: i64, _end: i64, datasync: c_int) -> c_int {
    // SAFETY: the VFS passes an open directory of ours.
    to_c(unsafe {
        let dir = shim::fluffle_file_inode(file);
        let ino = (*dir).i_ino as u64;
        with_fs((*dir).i_sb, |fs| fs.fsync(ino, datasync != 0))
    })
}

pub(crate) static DIR_INODE_OPS: VTable<bindings::inode_operations> = VTable(bindings::inode_operations {
    lookup: Some(lookup),
    create: Some(create),
    mkdir: Some(mkdir),
    symlink: Some(symlink),
    mknod: Some(mknod),
    link: Some(link),
    unlink: Some(unlink),
    rmdir: Some(rmdir),
    rename: Some(rename),
    tmpfile: Some(tmpfile),
    setattr: Some(attr::setattr),
    getattr: Some(attr::getattr),
    listxattr: Some(xattr::listxattr),
    fileattr_get: Some(super::iflags::fileattr_get),
    fileattr_set: Some(super::iflags::fileattr_set),
    // SAFETY: `inode_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});

pub(crate) static DIR_FILE_OPS: VTable<bindings::file_operations> = VTable(bindings::file_operations {
    llseek: Some(bindings::generic_file_llseek),
    read: Some(bindings::generic_read_dir),
    iterate_shared: Some(iterate_shared),
    fsync: Some(dir_fsync),
    unlocked_ioctl: Some(file::ioctl),
    // SAFETY: `file_operations` is a C struct of function pointers.
    ..unsafe { zeroed() }
});
