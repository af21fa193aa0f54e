//! [`Target`] over a second copy of the reference model, with different
//! inode numbers and name-interned readdir cookies. Running the driver on
//! it checks the generator and the driver themselves (no false alarms).

use std::collections::HashMap;

use fluffle::errno::{Result, ENOENT, ERANGE};

use super::reference::{Ino, Model};
use super::target::{Attr, Dirent, Statfs, Target};

const OFFSET: u64 = 1000;

pub struct SelfTarget {
    m: Model,
    cookies: HashMap<Vec<u8>, u64>,
    snaps: HashMap<u64, Vec<u8>>,
    next_snap: u64,
}

impl SelfTarget {
    pub fn new() -> Self {
        SelfTarget { m: Model::new(), cookies: HashMap::new(), snaps: HashMap::new(), next_snap: 1 }
    }
    fn i(ino: u64) -> Ino {
        ino.wrapping_sub(OFFSET)
    }
    fn attr(&self, ino: Ino) -> Result<Attr> {
        let n = self.m.node(ino)?;
        let blocks = self.m.file(ino).map(|d| d.chunks(4096).filter(|c| c.iter().any(|b| *b != 0)).count() as u64 * 8).unwrap_or(0);
        Ok(Attr { ino: ino + OFFSET, kind: n.kind(), size: n.size(), nlink: n.nlink, perm: n.perm, uid: n.uid, gid: n.gid, blocks, times: [n.atime, n.mtime, n.ctime], rdev: n.rdev() })
    }
    fn cookie(&mut self, name: &[u8]) -> u64 {
        let n = self.cookies.len() as u64 + 3;
        *self.cookies.entry(name.to_vec()).or_insert(n)
    }
}

impl Target for SelfTarget {
    fn root(&self) -> u64 {
        self.m.root + OFFSET
    }
    fn set_time(&mut self, sec: i64) {
        self.m.now = sec;
    }
    fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<Attr> {
        let i = self.m.lookup(Self::i(dir), name)?;
        self.attr(i)
    }
    fn getattr(&mut self, ino: u64) -> Result<Attr> {
        self.attr(Self::i(ino))
    }
    fn create(&mut self, dir: u64, name: &[u8], perm: u32) -> Result<Attr> {
        let i = self.m.create(Self::i(dir), name, perm)?;
        self.attr(i)
    }
    fn mkdir(&mut self, dir: u64, name: &[u8], perm: u32) -> Result<Attr> {
        let i = self.m.mkdir(Self::i(dir), name, perm)?;
        self.attr(i)
    }
    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8]) -> Result<Attr> {
        let i = self.m.symlink(Self::i(dir), name, target)?;
        self.attr(i)
    }
    fn mknod(&mut self, dir: u64, name: &[u8], kind: super::reference::Kind, perm: u32, rdev: u32) -> Result<Attr> {
        let i = self.m.mknod(Self::i(dir), name, kind, perm, rdev)?;
        self.attr(i)
    }
    fn readlink(&mut self, ino: u64) -> Result<Vec<u8>> {
        self.m.readlink(Self::i(ino))
    }
    fn link(&mut self, ino: u64, dir: u64, name: &[u8]) -> Result<Attr> {
        self.m.link(Self::i(ino), Self::i(dir), name)?;
        self.attr(Self::i(ino))
    }
    fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.m.unlink(Self::i(dir), name)
    }
    fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.m.rmdir(Self::i(dir), name)
    }
    fn rename(&mut self, sdir: u64, sname: &[u8], ddir: u64, dname: &[u8], noreplace: bool) -> Result<()> {
        self.m.rename(Self::i(sdir), sname, Self::i(ddir), dname, noreplace)
    }
    fn exchange(&mut self, sdir: u64, sname: &[u8], ddir: u64, dname: &[u8]) -> Result<()> {
        self.m.exchange(Self::i(sdir), sname, Self::i(ddir), dname)
    }
    fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        self.m.write(Self::i(ino), off, data)
    }
    fn read(&mut self, ino: u64, off: u64, len: usize) -> Result<Vec<u8>> {
        self.m.read(Self::i(ino), off, len)
    }
    fn truncate(&mut self, ino: u64, size: u64) -> Result<()> {
        self.m.truncate(Self::i(ino), size)
    }
    fn fallocate(&mut self, ino: u64, mode: u32, off: u64, len: u64) -> Result<()> {
        self.m.fallocate(Self::i(ino), mode, off, len)
    }
    fn chmod(&mut self, ino: u64, perm: u32) -> Result<()> {
        self.m.chmod(Self::i(ino), perm)
    }
    fn chown(&mut self, ino: u64, uid: u32, gid: u32) -> Result<()> {
        self.m.chown(Self::i(ino), uid, gid)
    }
    fn readdir(&mut self, dir: u64, cookie: u64, max: usize) -> Result<Vec<Dirent>> {
        let entries: Vec<(Vec<u8>, Ino)> = self.m.entries(Self::i(dir))?.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut all: Vec<Dirent> = Vec::new();
        for (name, ino) in entries {
            let c = self.cookie(&name);
            let kind = self.m.node(ino)?.kind();
            all.push(Dirent { name, ino: ino + OFFSET, kind, next: c });
        }
        all.sort_by_key(|d| d.next);
        Ok(all.into_iter().filter(|d| d.next > cookie).take(max).collect())
    }
    fn hold(&mut self, ino: u64) -> Result<()> {
        self.m.hold(Self::i(ino))
    }
    fn release(&mut self, ino: u64) -> Result<()> {
        self.m.release(Self::i(ino))
    }
    fn fsync(&mut self, ino: u64, _datasync: bool) -> Result<()> {
        self.m.node(Self::i(ino)).map(|_| ())
    }
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
    fn remount(&mut self) -> Result<()> {
        self.snaps.clear();
        self.m.remount();
        Ok(())
    }
    fn statfs(&mut self) -> Result<Statfs> {
        Ok(Statfs { bsize: 4096, blocks: 1000, bfree: 1000, bavail: 1000, files: 100000, ffree: 100000 - self.m.nodes.len() as u64, namelen: 255 })
    }
    fn setxattr(&mut self, ino: u64, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        self.m.setxattr(Self::i(ino), name, value, flags)
    }
    fn getxattr(&mut self, ino: u64, name: &[u8], size: usize) -> Result<(usize, Option<Vec<u8>>)> {
        let v = self.m.getxattr(Self::i(ino), name, size)?;
        Ok((v.len(), if size == 0 { None } else { Some(v) }))
    }
    fn listxattr(&mut self, ino: u64, size: usize) -> Result<(usize, Option<Vec<u8>>)> {
        let names = self.m.listxattr(Self::i(ino), size)?;
        let mut out = Vec::new();
        for n in names.iter().rev() {
            out.extend_from_slice(n);
            out.push(0);
        }
        if size != 0 && size < out.len() {
            return Err(ERANGE);
        }
        Ok((out.len(), if size == 0 { None } else { Some(out) }))
    }
    fn removexattr(&mut self, ino: u64, name: &[u8]) -> Result<()> {
        self.m.removexattr(Self::i(ino), name)
    }
    fn gc_step(&mut self) -> Result<()> {
        Ok(())
    }
    fn snap_create(&mut self, ino: u64) -> Result<u64> {
        let c = self.m.file(Self::i(ino))?.clone();
        let id = self.next_snap;
        self.next_snap += 1;
        self.snaps.insert(id, c);
        Ok(id)
    }
    fn snap_read(&mut self, snap: u64, off: u64, len: usize) -> Result<Vec<u8>> {
        let c = self.snaps.get(&snap).ok_or(ENOENT)?;
        let s = (off as usize).min(c.len());
        let e = s.saturating_add(len).min(c.len());
        Ok(c[s..e].to_vec())
    }
    fn snap_release(&mut self, snap: u64) -> Result<()> {
        self.snaps.remove(&snap).map(|_| ()).ok_or(ENOENT)
    }
    fn fsck(&mut self) -> Result<()> {
        Ok(())
    }
}
