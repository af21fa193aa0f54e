//! Host tests of the birth time (format 7): set at creation, unchanged by
//! writes and attribute changes, persistent, validated on decode.
extern crate std;
use std::vec;

use super::errno::*;
use super::fs::{format, Fs};
use super::inode::Inode;
use super::memdev::MemDevice;
use super::mem::FVec;
use super::types::*;

fn t(sec: i64, nsec: u32) -> Timespec {
    Timespec { sec, nsec }
}

#[test]
fn btime_is_set_at_create_kept_by_changes_and_persists() {
    let mut d = MemDevice::with_zones(16, 80, 64).unwrap();
    format(&mut d, &FormatOptions::default()).unwrap();
    let mut fs = Fs::mount(d, &MountOptions::default()).unwrap();
    fs.set_time(t(1000, 5));
    let f = fs.create(1, b"f", 0o644, 0, 0).unwrap();
    let dir = fs.mkdir(1, b"d", 0o755, 0, 0).unwrap();
    let s = fs.symlink(1, b"s", b"f", 0, 0).unwrap();
    let n = fs.mknod(1, b"n", FileType::Fifo, 0o644, 0, 0, 0).unwrap();
    for a in [f, dir, s, n] {
        assert_eq!(a.btime, t(1000, 5));
    }
    fs.set_time(t(2000, 7));
    fs.write(f.ino, 0, &vec![1u8; 9000]).unwrap();
    for ino in [f.ino, dir.ino, s.ino, n.ino] {
        // Every other time differs from the birth time.
        fs.setattr(ino, &SetAttr { atime: Some(t(3, 0)), mtime: Some(t(1, 0)), ..Default::default() }).unwrap();
    }
    fs.setattr(f.ino, &SetAttr { mode: Some(0o600), ..Default::default() }).unwrap();
    fs.create(dir.ino, b"x", 0o644, 0, 0).unwrap();
    fs.rename(1, b"f", dir.ino, b"g", 0).unwrap();
    let a = fs.getattr(f.ino).unwrap();
    assert_eq!((a.btime, a.ctime), (t(1000, 5), t(2000, 7)));
    assert_eq!(fs.getattr(dir.ino).unwrap().btime, t(1000, 5));
    let mut fs = Fs::mount(fs.unmount().unwrap(), &MountOptions::default()).unwrap();
    for ino in [f.ino, dir.ino, s.ino, n.ino] {
        assert_eq!(fs.getattr(ino).unwrap().btime, t(1000, 5), "btime of {ino} after remount");
    }
    assert_eq!(fs.lookup(dir.ino, b"x").unwrap().btime, t(2000, 7));
}

#[test]
fn decode_refuses_a_btime_nsec_out_of_range() {
    let mut n = Inode::new(5, FileType::Regular, 0o644, 0, 0, t(3, 4));
    n.btime = t(-7, 999_999_999);
    let mut buf = FVec::new();
    n.encode(&mut buf).unwrap();
    assert_eq!(Inode::decode(5, &buf).unwrap().btime, t(-7, 999_999_999));
    // kind+pad 4, mode/uid/gid/nlink 16, size 8, atime/mtime/ctime 36: btime at 64.
    assert_eq!(&buf[64..72], &(-7i64).to_le_bytes());
    buf[72..76].copy_from_slice(&1_000_000_000u32.to_le_bytes());
    assert_eq!(Inode::decode(5, &buf).err(), Some(EUCLEAN));
}
