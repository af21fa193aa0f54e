//! [`Target`] over the FluffleFS core on an in-memory zoned device.

use fluffle::errno::{Errno, Result, EIO};
use fluffle::fs::{self, FileType, FormatOptions, Fs, MountOptions, SetAttr, Timespec, RENAME_EXCHANGE, RENAME_NOREPLACE};
use fluffle::memdev::MemDevice;

use super::reference::Kind;
use super::target::{Attr, Dirent, Statfs, Target};

/// The core, mounted on a memory device (`None` only inside `remount`).
pub struct CoreTarget {
    pub fs: Option<Fs<MemDevice>>,
    now: i64,
}

/// The model's kind of a core file type.
pub fn kind(t: FileType) -> Kind {
    match t {
        FileType::Regular => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::Fifo => Kind::Fifo,
        FileType::CharDev => Kind::Char,
        FileType::BlockDev => Kind::Block,
        FileType::Socket => Kind::Socket,
    }
}

fn ftype(k: Kind) -> FileType {
    match k {
        Kind::File => FileType::Regular,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
        Kind::Fifo => FileType::Fifo,
        Kind::Char => FileType::CharDev,
        Kind::Block => FileType::BlockDev,
        Kind::Socket => FileType::Socket,
    }
}

fn attr(a: fs::Attr) -> Attr {
    Attr { ino: a.ino, kind: kind(a.ftype), size: a.size, nlink: a.nlink, perm: a.mode & 0o7777, uid: a.uid, gid: a.gid, blocks: a.blocks, times: [a.atime.sec, a.mtime.sec, a.ctime.sec], rdev: a.rdev }
}

impl CoreTarget {
    /// Formats a fresh device of the given geometry and mounts it.
    pub fn new(zones: u32, zone_size: u64, zone_cap: u64) -> Result<Self> {
        let mut dev = MemDevice::with_zones(zones, zone_size, zone_cap)?;
        fs::format(&mut dev, &FormatOptions::default())?;
        let mut fs = Fs::mount(dev, &MountOptions::default())?;
        fs.set_cache_limits(4, 8);
        Ok(CoreTarget { fs: Some(fs), now: 0 })
    }

    fn f(&mut self) -> Result<&mut Fs<MemDevice>> {
        self.fs.as_mut().ok_or(EIO)
    }
}

impl Target for CoreTarget {
    fn root(&self) -> u64 {
        Fs::<MemDevice>::ROOT_INO
    }
    fn set_time(&mut self, sec: i64) {
        self.now = sec;
        if let Some(fs) = self.fs.as_mut() {
            fs.set_time(Timespec { sec, nsec: 0 });
        }
    }
    fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<Attr> {
        self.f()?.lookup(dir, name).map(attr)
    }
    fn getattr(&mut self, ino: u64) -> Result<Attr> {
        self.f()?.getattr(ino).map(attr)
    }
    fn create(&mut self, dir: u64, name: &[u8], perm: u32) -> Result<Attr> {
        self.f()?.create(dir, name, perm, 0, 0).map(attr)
    }
    fn mkdir(&mut self, dir: u64, name: &[u8], perm: u32) -> Result<Attr> {
        self.f()?.mkdir(dir, name, perm, 0, 0).map(attr)
    }
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8]) -> Result<Attr> {
        self.f()?.symlink(dir, name, target, 0, 0).map(attr)
    }
    fn mknod(&mut self, dir: u64, name: &[u8], kind: Kind, perm: u32, rdev: u32) -> Result<Attr> {
        self.f()?.mknod(dir, name, ftype(kind), perm, rdev, 0, 0).map(attr)
    }
    fn readlink(&mut self, ino: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        let n = self.f()?.readlink(ino, &mut buf)?;
        buf.truncate(n.min(4096));
        Ok(buf)
    }
    fn link(&mut self, ino: u64, dir: u64, name: &[u8]) -> Result<Attr> {
        self.f()?.link(ino, dir, name).map(attr)
    }
    fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.f()?.unlink(dir, name)
    }
    fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.f()?.rmdir(dir, name)
    }
    fn rename(&mut self, sdir: u64, sname: &[u8], ddir: u64, dname: &[u8], noreplace: bool) -> Result<()> {
        let flags = if noreplace { RENAME_NOREPLACE } else { 0 };
        self.f()?.rename(sdir, sname, ddir, dname, flags)
    }
    fn exchange(&mut self, sdir: u64, sname: &[u8], ddir: u64, dname: &[u8]) -> Result<()> {
        self.f()?.rename(sdir, sname, ddir, dname, RENAME_EXCHANGE)
    }
    fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        if off % 4096 == 0 && !data.is_empty() && data.len() % 4096 == 0 {
            // Whole blocks go the way the kernel's writeback sends page-cache
            // folios: straight to the log, past the core's dirty pages.
            let blocks: Vec<&[u8]> = data.chunks(4096).collect();
            return self.f()?.write_blocks(ino, off, &blocks).map(|()| data.len());
        }
        self.f()?.write(ino, off, data)
    }
    fn read(&mut self, ino: u64, off: u64, len: usize) -> Result<Vec<u8>> {
        if off % 4096 == 0 && len > 0 && len % 4096 == 0 {
            // Whole blocks go the way the kernel's readahead reads folios.
            let mut buf = vec![0u8; len];
            let mut blocks: Vec<&mut [u8]> = buf.chunks_mut(4096).collect();
            let n = self.f()?.read_blocks(ino, off, &mut blocks)?;
            if n > len || buf[n..].iter().any(|&b| b != 0) {
                return Err(Errno(-2));
            }
            buf.truncate(n);
            return Ok(buf);
        }
        let mut buf = vec![0u8; len];
        let n = self.f()?.read(ino, off, &mut buf)?;
        if n > len {
            return Err(Errno(-2));
        }
        buf.truncate(n);
        Ok(buf)
    }
    fn truncate(&mut self, ino: u64, size: u64) -> Result<()> {
        self.f()?.setattr(ino, &SetAttr { size: Some(size), ..Default::default() }).map(|_| ())
    }
    fn fallocate(&mut self, ino: u64, mode: u32, off: u64, len: u64) -> Result<()> {
        self.f()?.fallocate(ino, mode, off, len)
    }
    fn chmod(&mut self, ino: u64, perm: u32) -> Result<()> {
        self.f()?.setattr(ino, &SetAttr { mode: Some(perm), ..Default::default() }).map(|_| ())
    }
    fn chown(&mut self, ino: u64, uid: u32, gid: u32) -> Result<()> {
        self.f()?.setattr(ino, &SetAttr { uid: Some(uid), gid: Some(gid), ..Default::default() }).map(|_| ())
    }
    fn readdir(&mut self, dir: u64, cookie: u64, max: usize) -> Result<Vec<Dirent>> {
        let mut out: Vec<Dirent> = Vec::new();
        let mut dots_ok = true;
        // One call lists to the end unless `emit` stops it; `.` and `..`
        // are checked (directories) and dropped.
        self.f()?.readdir(dir, cookie, &mut |name: &[u8], ino, t, next| {
            if out.len() >= max {
                return false;
            }
            if name == b"." || name == b".." {
                dots_ok &= t == FileType::Directory && ino != 0;
                return true;
            }
            out.push(Dirent { name: name.to_vec(), ino, kind: kind(t), next });
            true
        })?;
        if !dots_ok {
            return Err(Errno(-3));
        }
        Ok(out)
    }
    fn hold(&mut self, ino: u64) -> Result<()> {
        self.f()?.hold(ino)
    }
    fn release(&mut self, ino: u64) -> Result<()> {
        self.f()?.release(ino)
    }
    fn fsync(&mut self, ino: u64, datasync: bool) -> Result<()> {
        self.f()?.fsync(ino, datasync)
    }
    fn sync(&mut self) -> Result<()> {
        self.f()?.sync()
    }
    fn remount(&mut self) -> Result<()> {
        let fs = self.fs.take().ok_or(EIO)?;
        let dev = fs.unmount()?;
        let mut fs = Fs::mount(dev, &MountOptions::default())?;
        fs.set_cache_limits(4, 8);
        fs.set_time(Timespec { sec: self.now, nsec: 0 });
        self.fs = Some(fs);
        Ok(())
    }
    fn statfs(&mut self) -> Result<Statfs> {
        let s = self.f()?.statfs()?;
        Ok(Statfs {
            bsize: s.bsize as u64,
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            namelen: s.namelen as u64,
        })
    }
    fn setxattr(&mut self, ino: u64, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        self.f()?.setxattr(ino, name, value, flags)
    }
    fn getxattr(&mut self, ino: u64, name: &[u8], size: usize) -> Result<(usize, Option<Vec<u8>>)> {
        let mut buf = vec![0u8; size];
        let n = self.f()?.getxattr(ino, name, &mut buf)?;
        if size == 0 {
            return Ok((n, None));
        }
        if n > size {
            return Err(Errno(-2));
        }
        buf.truncate(n);
        Ok((n, Some(buf)))
    }
    fn listxattr(&mut self, ino: u64, size: usize) -> Result<(usize, Option<Vec<u8>>)> {
        let mut buf = vec![0u8; size];
        let n = self.f()?.listxattr(ino, &mut buf)?;
        if size == 0 {
            return Ok((n, None));
        }
        if n > size {
            return Err(Errno(-2));
        }
        buf.truncate(n);
        Ok((n, Some(buf)))
    }
    fn removexattr(&mut self, ino: u64, name: &[u8]) -> Result<()> {
        self.f()?.removexattr(ino, name)
    }
    fn gc_step(&mut self) -> Result<()> {
        self.f()?.gc_step().map(|_| ())
    }
    fn snap_create(&mut self, ino: u64) -> Result<u64> {
        self.f()?.snapshot(ino)
    }
    fn snap_read(&mut self, snap: u64, off: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = self.f()?.snapshot_read(snap, off, &mut buf)?;
        if n > len {
            return Err(Errno(-2));
        }
        buf.truncate(n);
        Ok(buf)
    }
    fn snap_release(&mut self, snap: u64) -> Result<()> {
        self.f()?.release_snapshot(snap)
    }
    fn fsck(&mut self) -> Result<()> {
        // The mounted state, then the unmounted image as `fluffle fsck`
        // sees it (read-only mount + check), then mount again.
        let r = self.f()?.check()?;
        if r.problems() > 0 {
            eprintln!("fsck problems: {:?}", r.list);
            return Err(fluffle::errno::EUCLEAN);
        }
        let mut dev = self.fs.take().ok_or(EIO)?.unmount()?;
        let r = fluffle::fsck::fsck(&mut dev)?;
        if r.problems() > 0 {
            eprintln!("fsck (unmounted image) problems: {:?}", r.list);
            return Err(fluffle::errno::EUCLEAN);
        }
        let mut fs = Fs::mount(dev, &MountOptions::default())?;
        fs.set_cache_limits(4, 8);
        fs.set_time(Timespec { sec: self.now, nsec: 0 });
        self.fs = Some(fs);
        Ok(())
    }
}
