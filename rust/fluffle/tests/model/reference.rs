//! The reference model: plain in-memory POSIX filesystem semantics as Linux
//! implements them (errno choice and precedence follow the VFS: the
//! `do_renameat2`/`do_linkat`/`do_unlinkat`/`do_rmdir` paths plus what
//! ext4's `lookup` and xattr code return).
//!
//! No open file handles are modelled: an inode whose link count drops to 0
//! is gone at once.

use std::collections::BTreeMap;

use fluffle::errno::*;

/// A model inode number (not the core's: the driver maps between them).
pub type Ino = u64;

/// Longest name Linux allows (NAME_MAX).
pub const NAME_MAX: usize = 255;
/// Longest xattr name (XATTR_NAME_MAX).
pub const XATTR_NAME_MAX: usize = 255;
/// Longest xattr value (XATTR_SIZE_MAX).
pub const XATTR_SIZE_MAX: usize = 65536;
/// Largest file size (the core's `MAX_FILE_SIZE`, 2^31 blocks of 4 KiB).
pub const MAX_FILE_SIZE: u64 = (1u64 << 31) * 4096;
/// `setxattr` flag: fail with EEXIST if the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `setxattr` flag: fail with ENODATA if the attribute does not exist.
pub const XATTR_REPLACE: u32 = 2;

/// What an inode is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A regular file and its bytes (holes are zeroes).
    File(Vec<u8>),
    /// A directory: name -> child, and the parent (root: itself).
    Dir { entries: BTreeMap<Vec<u8>, Ino>, parent: Ino },
    /// A symbolic link and its target.
    Symlink(Vec<u8>),
    /// A FIFO, device node or socket: attributes and a device number only.
    Special { kind: Kind, rdev: u32 },
}

/// The kind of an inode, as readdir and getattr report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Char,
    Block,
    Socket,
}

/// One model inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub body: Body,
    /// Link count as Linux reports it (dirs: 2 + number of subdirectories).
    pub nlink: u32,
    /// Permission bits only (`mode & 0o7777`).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Holds by the VFS (an open file): a held file survives link count 0
    /// (an orphan) until the last release.
    pub holds: u32,
    /// Times in seconds of the model clock ([`Model::now`]).
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
}

impl Node {
    pub fn kind(&self) -> Kind {
        match self.body {
            Body::File(_) => Kind::File,
            Body::Dir { .. } => Kind::Dir,
            Body::Symlink(_) => Kind::Symlink,
            Body::Special { kind, .. } => kind,
        }
    }

    /// `st_size`: file length, symlink target length; dirs are not compared.
    pub fn size(&self) -> u64 {
        match &self.body {
            Body::File(d) => d.len() as u64,
            Body::Symlink(t) => t.len() as u64,
            Body::Dir { .. } | Body::Special { .. } => 0,
        }
    }

    /// `st_rdev`: a device node's number, 0 for everything else.
    pub fn rdev(&self) -> u32 {
        match self.body {
            Body::Special { rdev, .. } => rdev,
            _ => 0,
        }
    }
}

/// The whole model filesystem.
#[derive(Clone, Debug)]
pub struct Model {
    pub nodes: BTreeMap<Ino, Node>,
    pub root: Ino,
    next_ino: Ino,
    /// The clock the next operation stamps (the driver advances it and
    /// gives the core the same time).
    pub now: i64,
    /// Per file, the end (bytes) of the furthest range `fallocate` may
    /// still hold reserved: reservations are not modelled, only bounded
    /// (st_blocks, statfs).
    pub reserved_end: BTreeMap<Ino, u64>,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

/// Name checks of the xattr syscalls: length first (ERANGE), then the
/// namespace (`user.`, `trusted.`, `security.` and the two ACL names are
/// stored; a bare prefix is EINVAL, anything else EOPNOTSUPP).
fn check_xattr_name(name: &[u8]) -> Result<()> {
    const PREFIXES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(ERANGE);
    }
    if PREFIXES.contains(&name) {
        return Err(EINVAL);
    }
    let acl = name == b"system.posix_acl_access" || name == b"system.posix_acl_default";
    if !acl && !PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Err(EOPNOTSUPP);
    }
    Ok(())
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    Ok(())
}

impl Model {
    /// A freshly formatted filesystem: an empty root directory.
    pub fn new() -> Self {
        let root = 1;
        let mut nodes = BTreeMap::new();
        nodes.insert(
            root,
            Node {
                body: Body::Dir { entries: BTreeMap::new(), parent: root },
                nlink: 2,
                perm: 0o755,
                uid: 0,
                gid: 0,
                xattrs: BTreeMap::new(),
                holds: 0,
                atime: 0,
                mtime: 0,
                ctime: 0,
            },
        );
        Model { nodes, root, next_ino: 2, now: 0, reserved_end: BTreeMap::new() }
    }

    pub fn node(&self, ino: Ino) -> Result<&Node> {
        self.nodes.get(&ino).ok_or(ENOENT)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node> {
        self.nodes.get_mut(&ino).ok_or(ENOENT)
    }

    /// The entries of directory `dir` (ENOTDIR otherwise).
    pub fn entries(&self, dir: Ino) -> Result<&BTreeMap<Vec<u8>, Ino>> {
        match &self.node(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            _ => Err(ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: Ino) -> Result<&mut BTreeMap<Vec<u8>, Ino>> {
        match &mut self.node_mut(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            _ => Err(ENOTDIR),
        }
    }

    /// The parent of directory `dir`.
    pub fn parent(&self, dir: Ino) -> Option<Ino> {
        match &self.nodes.get(&dir)?.body {
            Body::Dir { parent, .. } => Some(*parent),
            _ => None,
        }
    }

    /// True if directory `anc` is `dir` or one of its ancestors.
    pub fn is_ancestor_or_self(&self, anc: Ino, mut dir: Ino) -> bool {
        loop {
            if dir == anc {
                return true;
            }
            match self.parent(dir) {
                Some(p) if p != dir => dir = p,
                _ => return false,
            }
        }
    }

    /// Every live inode of the given kind, in inode order.
    pub fn inos_of(&self, kind: Kind) -> Vec<Ino> {
        self.nodes.iter().filter(|(_, n)| n.kind() == kind).map(|(i, _)| *i).collect()
    }

    fn alloc(&mut self, body: Body, perm: u32) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        let nlink = if matches!(body, Body::Dir { .. }) { 2 } else { 1 };
        let t = self.now;
        self.nodes.insert(
            ino,
            Node { body, nlink, perm: perm & 0o7777, uid: 0, gid: 0, xattrs: BTreeMap::new(), holds: 0, atime: t, mtime: t, ctime: t },
        );
        ino
    }

    /// A content change: mtime and ctime.
    fn touch_mc(&mut self, ino: Ino) {
        let t = self.now;
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.mtime = t;
            n.ctime = t;
        }
    }

    /// A status change: ctime.
    fn touch_c(&mut self, ino: Ino) {
        let t = self.now;
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.ctime = t;
        }
    }

    /// Drops one link of `ino` (its ctime changes); frees it when none is
    /// left.
    fn drop_link(&mut self, ino: Ino) {
        self.touch_c(ino);
        let gone = match self.nodes.get_mut(&ino) {
            Some(n) => {
                if matches!(n.body, Body::Dir { .. }) {
                    true
                } else {
                    n.nlink -= 1;
                    n.nlink == 0 && n.holds == 0
                }
            }
            None => false,
        };
        if gone {
            self.nodes.remove(&ino);
        }
    }

    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino> {
        let entries = self.entries(dir)?;
        check_name(name)?;
        entries.get(name).copied().ok_or(ENOENT)
    }

    /// Checks for creating `name` in `dir`: ENOTDIR, ENAMETOOLONG, EEXIST.
    fn check_new(&self, dir: Ino, name: &[u8]) -> Result<()> {
        let entries = self.entries(dir)?;
        check_name(name)?;
        if entries.contains_key(name) {
            return Err(EEXIST);
        }
        Ok(())
    }

    pub fn create(&mut self, dir: Ino, name: &[u8], perm: u32) -> Result<Ino> {
        self.check_new(dir, name)?;
        let ino = self.alloc(Body::File(Vec::new()), perm);
        self.entries_mut(dir)?.insert(name.to_vec(), ino);
        self.touch_mc(dir);
        Ok(ino)
    }

    pub fn mkdir(&mut self, dir: Ino, name: &[u8], perm: u32) -> Result<Ino> {
        self.check_new(dir, name)?;
        let ino = self.alloc(Body::Dir { entries: BTreeMap::new(), parent: dir }, perm);
        self.entries_mut(dir)?.insert(name.to_vec(), ino);
        self.node_mut(dir)?.nlink += 1;
        self.touch_mc(dir);
        Ok(ino)
    }

    /// `symlink(2)`: the target is copied in first (getname: ENOENT when
    /// empty, ENAMETOOLONG from PATH_MAX = 4096 bytes with its NUL).
    pub fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8]) -> Result<Ino> {
        if target.is_empty() {
            return Err(ENOENT);
        }
        if target.len() > 4095 {
            return Err(ENAMETOOLONG);
        }
        self.check_new(dir, name)?;
        let ino = self.alloc(Body::Symlink(target.to_vec()), 0o777);
        self.entries_mut(dir)?.insert(name.to_vec(), ino);
        self.touch_mc(dir);
        Ok(ino)
    }

    /// `mknod(2)` of a FIFO, device node or socket (`kind`); `rdev` is
    /// kept for device nodes only (the VFS drops it for the others).
    pub fn mknod(&mut self, dir: Ino, name: &[u8], kind: Kind, perm: u32, rdev: u32) -> Result<Ino> {
        self.check_new(dir, name)?;
        let rdev = if matches!(kind, Kind::Char | Kind::Block) { rdev } else { 0 };
        let ino = self.alloc(Body::Special { kind, rdev }, perm);
        self.entries_mut(dir)?.insert(name.to_vec(), ino);
        self.touch_mc(dir);
        Ok(ino)
    }

    pub fn readlink(&self, ino: Ino) -> Result<Vec<u8>> {
        match &self.node(ino)?.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(EINVAL),
        }
    }

    /// The VFS holds `ino` (an open file).
    pub fn hold(&mut self, ino: Ino) -> Result<()> {
        self.node_mut(ino)?.holds += 1;
        Ok(())
    }

    /// Drops a hold; an orphan (link count 0) goes with its last hold.
    pub fn release(&mut self, ino: Ino) -> Result<()> {
        let n = self.node_mut(ino)?;
        n.holds = n.holds.saturating_sub(1);
        if n.holds == 0 && n.nlink == 0 {
            self.nodes.remove(&ino);
        }
        Ok(())
    }

    /// Unmount + mount: holds end, orphans are freed.
    pub fn remount(&mut self) {
        self.nodes.retain(|_, n| n.nlink > 0);
        for n in self.nodes.values_mut() {
            n.holds = 0;
        }
    }

    /// `link(2)`: filename_create's checks come before vfs_link's EPERM.
    pub fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<()> {
        self.check_new(dir, name)?;
        let n = self.node_mut(ino)?;
        if n.kind() == Kind::Dir {
            return Err(EPERM);
        }
        n.nlink += 1;
        self.entries_mut(dir)?.insert(name.to_vec(), ino);
        self.touch_c(ino);
        self.touch_mc(dir);
        Ok(())
    }

    pub fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<()> {
        let ino = self.lookup(dir, name)?;
        if self.node(ino)?.kind() == Kind::Dir {
            return Err(EISDIR);
        }
        self.entries_mut(dir)?.remove(name);
        self.drop_link(ino);
        self.touch_mc(dir);
        Ok(())
    }

    pub fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<()> {
        let ino = self.lookup(dir, name)?;
        if !self.entries(ino).map(|e| e.is_empty()).map_err(|_| ENOTDIR)? {
            return Err(ENOTEMPTY);
        }
        self.entries_mut(dir)?.remove(name);
        self.node_mut(dir)?.nlink -= 1;
        self.nodes.remove(&ino);
        self.touch_mc(dir);
        Ok(())
    }

    /// `rename(2)` / `renameat2(RENAME_NOREPLACE)` in do_renameat2 order.
    pub fn rename(
        &mut self,
        sdir: Ino,
        sname: &[u8],
        ddir: Ino,
        dname: &[u8],
        noreplace: bool,
    ) -> Result<()> {
        self.entries(sdir)?;
        self.entries(ddir)?;
        let src = self.lookup(sdir, sname)?;
        let dst = match self.lookup(ddir, dname) {
            Ok(i) => Some(i),
            Err(e) if e == ENOENT => None,
            Err(e) => return Err(e),
        };
        if noreplace && dst.is_some() {
            return Err(EEXIST);
        }
        let src_is_dir = self.node(src)?.kind() == Kind::Dir;
        // lock_rename()'s trap: the source must not be an ancestor of the
        // destination directory (EINVAL) ...
        if sdir != ddir && src_is_dir && self.is_ancestor_or_self(src, ddir) {
            return Err(EINVAL);
        }
        // ... and the target must not be an ancestor of the source.
        if let Some(d) = dst {
            if sdir != ddir && self.node(d)?.kind() == Kind::Dir && self.is_ancestor_or_self(d, sdir)
            {
                return Err(ENOTEMPTY);
            }
        }
        if dst == Some(src) {
            // Same inode (e.g. two hard links): rename does nothing.
            return Ok(());
        }
        if let Some(d) = dst {
            let dst_is_dir = self.node(d)?.kind() == Kind::Dir;
            if src_is_dir && !dst_is_dir {
                return Err(ENOTDIR);
            }
            if !src_is_dir && dst_is_dir {
                return Err(EISDIR);
            }
            if dst_is_dir && !self.entries(d)?.is_empty() {
                return Err(ENOTEMPTY);
            }
        }
        // Commit.
        if let Some(d) = dst {
            self.entries_mut(ddir)?.remove(dname);
            if self.node(d)?.kind() == Kind::Dir {
                self.node_mut(ddir)?.nlink -= 1;
            }
            self.drop_link(d);
        }
        self.entries_mut(sdir)?.remove(sname);
        self.entries_mut(ddir)?.insert(dname.to_vec(), src);
        if src_is_dir && sdir != ddir {
            self.node_mut(sdir)?.nlink -= 1;
            self.node_mut(ddir)?.nlink += 1;
            if let Body::Dir { parent, .. } = &mut self.node_mut(src)?.body {
                *parent = ddir;
            }
        }
        self.touch_mc(sdir);
        self.touch_mc(ddir);
        self.touch_c(src);
        Ok(())
    }

    /// `renameat2(RENAME_EXCHANGE)`: both names must exist; they swap
    /// inodes. Order as do_renameat2: lookups (ENOENT), then the traps
    /// (EINVAL either way round for an exchange).
    pub fn exchange(&mut self, sdir: Ino, sname: &[u8], ddir: Ino, dname: &[u8]) -> Result<()> {
        self.entries(sdir)?;
        self.entries(ddir)?;
        let src = self.lookup(sdir, sname)?;
        let dst = self.lookup(ddir, dname)?;
        let src_dir = self.node(src)?.kind() == Kind::Dir;
        let dst_dir = self.node(dst)?.kind() == Kind::Dir;
        if sdir != ddir {
            if src_dir && self.is_ancestor_or_self(src, ddir) {
                return Err(EINVAL);
            }
            if dst_dir && self.is_ancestor_or_self(dst, sdir) {
                return Err(EINVAL);
            }
        }
        if src == dst {
            return Ok(());
        }
        self.entries_mut(sdir)?.insert(sname.to_vec(), dst);
        self.entries_mut(ddir)?.insert(dname.to_vec(), src);
        if sdir != ddir {
            if src_dir {
                self.node_mut(sdir)?.nlink -= 1;
                self.node_mut(ddir)?.nlink += 1;
                if let Body::Dir { parent, .. } = &mut self.node_mut(src)?.body {
                    *parent = ddir;
                }
            }
            if dst_dir {
                self.node_mut(ddir)?.nlink -= 1;
                self.node_mut(sdir)?.nlink += 1;
                if let Body::Dir { parent, .. } = &mut self.node_mut(dst)?.body {
                    *parent = sdir;
                }
            }
        }
        self.touch_mc(sdir);
        self.touch_mc(ddir);
        self.touch_c(src);
        self.touch_c(dst);
        Ok(())
    }

    fn file_mut(&mut self, ino: Ino) -> Result<&mut Vec<u8>> {
        match &mut self.node_mut(ino)?.body {
            Body::File(d) => Ok(d),
            Body::Dir { .. } => Err(EISDIR),
            Body::Symlink(_) | Body::Special { .. } => Err(EINVAL),
        }
    }

    pub fn file(&self, ino: Ino) -> Result<&Vec<u8>> {
        match &self.node(ino)?.body {
            Body::File(d) => Ok(d),
            Body::Dir { .. } => Err(EISDIR),
            Body::Symlink(_) | Body::Special { .. } => Err(EINVAL),
        }
    }

    pub fn write(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<usize> {
        let f = self.file_mut(ino)?;
        if !data.is_empty() && off >= MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        let off = off as usize;
        let end = off + data.len();
        if data.is_empty() {
            return Ok(0);
        }
        if f.len() < end {
            f.resize(end, 0);
        }
        f[off..end].copy_from_slice(data);
        self.touch_mc(ino);
        Ok(data.len())
    }

    pub fn read(&self, ino: Ino, off: u64, len: usize) -> Result<Vec<u8>> {
        let f = self.file(ino)?;
        let off = off.min(f.len() as u64) as usize;
        let end = (off + len).min(f.len());
        Ok(f[off..end].to_vec())
    }

    pub fn truncate(&mut self, ino: Ino, size: u64) -> Result<()> {
        let f = self.file_mut(ino)?;
        if size > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        let shrink = size <= f.len() as u64;
        f.resize(size as usize, 0);
        if shrink {
            // Reservations past the new end go.
            if let Some(r) = self.reserved_end.get_mut(&ino) {
                *r = (*r).min(size);
            }
        }
        self.touch_mc(ino);
        Ok(())
    }

    /// Blocks a file may hold: its size, or the end of what `fallocate`
    /// may have reserved past it.
    pub fn file_blocks_bound(&self, ino: Ino) -> u64 {
        let size = self.node(ino).map(|n| n.size()).unwrap_or(0);
        size.max(self.reserved_end.get(&ino).copied().unwrap_or(0)).div_ceil(4096)
    }

    /// `fallocate(2)` as the core gives it: mode 0 and `KEEP_SIZE` (1)
    /// reserve (no visible change but the size, which mode 0 grows),
    /// `PUNCH_HOLE` (2, with `KEEP_SIZE` only) zeroes the range,
    /// `ZERO_RANGE` (0x10) zeroes it and grows the file unless
    /// `KEEP_SIZE`; other bits: EOPNOTSUPP. Reservations are not modelled.
    pub fn fallocate(&mut self, ino: Ino, mode: u32, off: u64, len: u64) -> Result<()> {
        let f = self.file_mut(ino)?;
        let (keep, punch, zero) = (mode & 1 != 0, mode & 2 != 0, mode & 0x10 != 0);
        if mode & !0x13 != 0 || (punch && zero) || (punch && !keep) {
            return Err(EOPNOTSUPP);
        }
        if len == 0 {
            return Err(EINVAL);
        }
        let end = off.checked_add(len).ok_or(EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        let grew = !keep && !punch && end > f.len() as u64;
        if !punch {
            let r = self.reserved_end.entry(ino).or_insert(0);
            *r = (*r).max(end);
        }
        let f = self.file_mut(ino)?;
        if grew {
            f.resize(end as usize, 0);
        }
        if punch || zero {
            let to = (end as usize).min(f.len());
            let from = (off as usize).min(to);
            f[from..to].fill(0);
        }
        if punch || zero || grew {
            self.touch_mc(ino);
        } else {
            self.touch_c(ino);
        }
        Ok(())
    }

    pub fn chmod(&mut self, ino: Ino, perm: u32) -> Result<()> {
        self.node_mut(ino)?.perm = perm & 0o7777;
        self.touch_c(ino);
        Ok(())
    }

    pub fn chown(&mut self, ino: Ino, uid: u32, gid: u32) -> Result<()> {
        let n = self.node_mut(ino)?;
        n.uid = uid;
        n.gid = gid;
        self.touch_c(ino);
        Ok(())
    }

    /// `setxattr(2)` for a `user.` name.
    pub fn setxattr(&mut self, ino: Ino, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        check_xattr_name(name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(E2BIG);
        }
        let n = self.node_mut(ino)?;
        let exists = n.xattrs.contains_key(name);
        if flags & XATTR_CREATE != 0 && exists {
            return Err(EEXIST);
        }
        if flags & XATTR_REPLACE != 0 && !exists {
            return Err(ENODATA);
        }
        n.xattrs.insert(name.to_vec(), value.to_vec());
        self.touch_c(ino);
        Ok(())
    }

    /// `getxattr(2)`: size 0 asks for the length only.
    pub fn getxattr(&self, ino: Ino, name: &[u8], size: usize) -> Result<Vec<u8>> {
        check_xattr_name(name)?;
        let v = self.node(ino)?.xattrs.get(name).ok_or(ENODATA)?;
        if size != 0 && size < v.len() {
            return Err(ERANGE);
        }
        Ok(v.clone())
    }

    /// `listxattr(2)`: the names, NUL-terminated, in the model's order.
    pub fn listxattr(&self, ino: Ino, size: usize) -> Result<Vec<Vec<u8>>> {
        let n = self.node(ino)?;
        let total: usize = n.xattrs.keys().map(|k| k.len() + 1).sum();
        if size != 0 && size < total {
            return Err(ERANGE);
        }
        Ok(n.xattrs.keys().cloned().collect())
    }

    pub fn removexattr(&mut self, ino: Ino, name: &[u8]) -> Result<()> {
        check_xattr_name(name)?;
        self.node_mut(ino)?.xattrs.remove(name).ok_or(ENODATA)?;
        self.touch_c(ino);
        Ok(())
    }

    /// Total bytes of file content (a bound on the data the core stores).
    pub fn data_bytes(&self) -> u64 {
        // Reservations past EOF take room too.
        self.nodes
            .iter()
            .map(|(i, n)| if let Body::File(d) = &n.body { (d.len() as u64).max(self.reserved_end.get(i).copied().unwrap_or(0)) } else { 0 })
            .sum()
    }

    /// Every (path, ino) reachable from the root, depth first.
    pub fn walk(&self) -> Vec<(Vec<u8>, Ino)> {
        let mut out = Vec::new();
        let mut stack = vec![(b"".to_vec(), self.root)];
        while let Some((path, ino)) = stack.pop() {
            if let Ok(entries) = self.entries(ino) {
                for (name, child) in entries.iter().rev() {
                    let mut p = path.clone();
                    p.push(b'/');
                    p.extend_from_slice(name);
                    stack.push((p, *child));
                }
            }
            out.push((path, ino));
        }
        out
    }
}
