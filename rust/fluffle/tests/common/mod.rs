//! Helpers shared by the crash, space and corrupt-image tests: a formatted
//! memory device, path resolution, and a bounded walk that reads the whole
//! tree through the API.

#![allow(dead_code)]

pub mod corrupt;

use std::collections::BTreeMap;

use fluffle::errno::{Errno, Result, EIO, ENOENT};
use fluffle::fs::{self, Attr, FileType, Fs, FormatOptions, MountOptions};
use fluffle::device::ZonedDevice;
use fluffle::memdev::MemDevice;

pub type CoreFs = Fs<MemDevice>;
pub const ROOT: u64 = 1;

/// A freshly formatted (not mounted) device.
pub fn formatted(zones: u32, zone_size: u64, zone_cap: u64) -> MemDevice {
    let mut dev = MemDevice::with_zones(zones, zone_size, zone_cap).expect("geometry");
    fs::format(&mut dev, &FormatOptions::default()).expect("format");
    dev
}

pub fn mount<D: ZonedDevice>(dev: D) -> Result<Fs<D>> {
    let mut fs = Fs::mount(dev, &MountOptions::default())?;
    // Inodes leave memory all the time, so every test also checks that
    // they come back from disk intact (`inode_cache.rs`).
    fs.set_cache_limits(4, 8);
    Ok(fs)
}

/// Splits "a/b/c" into its parent path components and last name.
pub fn split(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let last = parts.pop().unwrap_or("");
    (parts, last)
}

/// The inode at `path` ("" is the root).
pub fn resolve<D: ZonedDevice>(fs: &mut Fs<D>, path: &str) -> Result<u64> {
    let mut ino = ROOT;
    for c in path.split('/').filter(|s| !s.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes())?.ino;
    }
    Ok(ino)
}

/// (parent inode, last name) of `path`.
pub fn parent_of<'a, D: ZonedDevice>(fs: &mut Fs<D>, path: &'a str) -> Result<(u64, &'a str)> {
    let (dirs, last) = split(path);
    let mut ino = ROOT;
    for c in dirs {
        ino = fs.lookup(ino, c.as_bytes())?.ino;
    }
    Ok((ino, last))
}

/// Reads a whole file.
pub fn read_all<D: ZonedDevice>(fs: &mut Fs<D>, ino: u64) -> Result<Vec<u8>> {
    let size = fs.getattr(ino)?.size;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = fs.read(ino, out.len() as u64, &mut buf)?;
        if n == 0 {
            break;
        }
        if n > buf.len() {
            return Err(EIO);
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() as u64 > size {
            return Err(Errno(-10)); // read past the size
        }
    }
    if out.len() as u64 != size {
        return Err(Errno(-11)); // short read
    }
    Ok(out)
}

/// One object found by [`walk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub attr: Attr,
    /// File content or symlink target.
    pub data: Vec<u8>,
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Inode flags (`chattr`).
    pub iflags: u16,
}

/// Lists a directory completely (without `.` and `..`), bounded.
pub fn list_dir<D: ZonedDevice>(fs: &mut Fs<D>, dir: u64, limit: usize) -> Result<Vec<(Vec<u8>, u64, FileType)>> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
        let mut part = Vec::new();
        let mut last = cookie;
        fs.readdir(dir, cookie, &mut |name: &[u8], ino, t, next| {
            if part.len() >= 64 {
                return false;
            }
            last = next;
            part.push((name.to_vec(), ino, t));
            true
        })?;
        let done = part.len() < 64;
        for e in part {
            if e.0 != b"." && e.0 != b".." {
                out.push(e);
            }
        }
        if done {
            return Ok(out);
        }
        if last <= cookie || out.len() > limit {
            return Err(Errno(-12)); // cookies do not advance / runaway listing
        }
        cookie = last;
    }
}

/// Reads every object reachable from the root (files fully, symlinks,
/// xattrs). Bounded: a directory cycle or a runaway listing is an error,
/// not a hang. Paths are "/a/b".
pub fn walk<D: ZonedDevice>(fs: &mut Fs<D>) -> Result<BTreeMap<String, Found>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(String::new(), ROOT)];
    let mut visited_dirs = std::collections::BTreeSet::new();
    while let Some((path, ino)) = stack.pop() {
        let attr = fs.getattr(ino)?;
        let mut data = Vec::new();
        match attr.ftype {
            FileType::Directory => {
                if !visited_dirs.insert(ino) {
                    return Err(Errno(-13)); // a directory reachable twice
                }
                for (name, child, _) in list_dir(fs, ino, 100_000)? {
                    stack.push((format!("{path}/{}", String::from_utf8_lossy(&name)), child));
                }
            }
            FileType::Regular => data = read_all(fs, ino)?,
            FileType::Symlink => {
                let mut buf = vec![0u8; 4096];
                let n = fs.readlink(ino, &mut buf)?;
                buf.truncate(n.min(4096));
                data = buf;
            }
            // No content: the attributes (kind, rdev) are what counts, and
            // reading one as a file must be refused.
            FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket => {
                let mut buf = [0u8; 16];
                if fs.read(ino, 0, &mut buf) != Err(fluffle::errno::EINVAL) {
                    return Err(Errno(-15)); // a special file read as a file
                }
            }
        }
        let mut xattrs = BTreeMap::new();
        if attr.ftype != FileType::Symlink {
            let mut list = vec![0u8; 256 * 1024];
            let n = fs.listxattr(ino, &mut list)?;
            list.truncate(n.min(list.len()));
            for name in list.split(|b| *b == 0).filter(|n| !n.is_empty()) {
                let mut v = vec![0u8; 65536];
                let n = fs.getxattr(ino, name, &mut v)?;
                v.truncate(n.min(65536));
                xattrs.insert(name.to_vec(), v);
            }
        }
        if out.len() > 1_000_000 {
            return Err(Errno(-14));
        }
        let iflags = fs.iflags(ino)?;
        out.insert(if path.is_empty() { "/".into() } else { path }, Found { attr, data, xattrs, iflags });
    }
    Ok(out)
}

/// The core's consistency check of a mounted filesystem: an error or any
/// problem found is an `Err` describing it.
pub fn fsck<D: ZonedDevice>(fs: &mut Fs<D>) -> std::result::Result<(), String> {
    let r = fs.check().map_err(|e| format!("fsck failed: {e:?}"))?;
    if r.problems() > 0 {
        return Err(format!("fsck found {} problems: {:?}", r.problems(), r.list));
    }
    Ok(())
}

/// fsck of an unmounted device (read-only mount + check), as the
/// `fluffle fsck` tool does it.
pub fn fsck_device<D: ZonedDevice>(dev: D) -> std::result::Result<(), String> {
    let r = fluffle::fsck::fsck(dev).map_err(|e| format!("read-only mount for fsck failed: {e:?}"))?;
    if r.problems() > 0 {
        return Err(format!("fsck found {} problems: {:?}", r.problems(), r.list));
    }
    Ok(())
}

/// `ENOENT` helper for lookups expected to fail.
pub fn is_enoent<T>(r: &Result<T>) -> bool {
    matches!(r, Err(e) if *e == ENOENT)
}
