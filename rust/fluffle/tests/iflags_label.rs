//! Inode flags (`chattr`), the volume label and the xattr namespaces
//! beyond `user.` (format 7): they persist across remount and through
//! fsync roll-forward, decode refuses flag bits it does not know, and the
//! label survives every checkpoint.

mod common;

use common::*;
use fluffle::errno::{EINVAL, EOPNOTSUPP, EUCLEAN};
use fluffle::fs::{format, Fs};
use fluffle::inode::{Inode, IFLAGS_KNOWN, IFLAG_APPEND, IFLAG_IMMUTABLE, IFLAG_NOATIME, IFLAG_SYNC};
use fluffle::label;
use fluffle::memdev::MemDevice;
use fluffle::types::{FileType, FormatOptions, Timespec};

#[test]
fn flags_persist_across_remount_and_roll_forward() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let a = fs.create(ROOT, b"a", 0o644, 0, 0).unwrap().ino;
    let d = fs.mkdir(ROOT, b"d", 0o755, 0, 0).unwrap().ino;
    let f = fs.mknod(ROOT, b"fifo", FileType::Fifo, 0o644, 0, 0, 0).unwrap().ino;
    let ctime = fs.getattr(a).unwrap().ctime;
    fs.set_time(Timespec { sec: ctime.sec + 10, nsec: 0 });
    fs.set_iflags(a, (IFLAG_IMMUTABLE | IFLAG_NOATIME) as u32).unwrap();
    assert_ne!(fs.getattr(a).unwrap().ctime, ctime, "chattr changes ctime");
    fs.set_iflags(d, IFLAG_APPEND as u32).unwrap();
    fs.set_iflags(f, IFLAG_SYNC as u32).unwrap();
    assert_eq!(fs.set_iflags(a, 0x1000), Err(EOPNOTSUPP), "an unknown flag (FS_DIRSYNC_FL)");
    assert_eq!(fs.iflags(a), Ok(IFLAG_IMMUTABLE | IFLAG_NOATIME), "a refused change changes nothing");
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(fs.iflags(a), Ok(IFLAG_IMMUTABLE | IFLAG_NOATIME));
    assert_eq!(fs.iflags(d), Ok(IFLAG_APPEND));
    assert_eq!(fs.iflags(f), Ok(IFLAG_SYNC));
    // Cleared, then fsynced only (no checkpoint): roll-forward brings it.
    fs.set_iflags(a, IFLAG_APPEND as u32).unwrap();
    fs.fsync(a, false).unwrap();
    let dev = fs.into_device();
    let mut fs = mount(dev).unwrap();
    assert_eq!(fs.iflags(a), Ok(IFLAG_APPEND));
    fsck(&mut fs).unwrap();
}

#[test]
fn decode_refuses_unknown_flag_bits() {
    let mut i = Inode::new(7, FileType::Regular, 0o644, 0, 0, Timespec::default());
    i.iflags = IFLAGS_KNOWN;
    let mut enc = fluffle::mem::FVec::new();
    i.encode(&mut enc).unwrap();
    let out: Vec<u8> = enc.to_vec();
    assert_eq!(Inode::decode(7, &out).map(|n| n.iflags).ok(), Some(IFLAGS_KNOWN));
    // iflags are payload bytes 2..4; each unknown bit is corruption.
    for bit in 0..16 {
        if IFLAGS_KNOWN & (1 << bit) != 0 {
            continue;
        }
        let mut bad = out.clone();
        let v = u16::from_le_bytes([bad[2], bad[3]]) | (1 << bit);
        bad[2..4].copy_from_slice(&v.to_le_bytes());
        assert_eq!(Inode::decode(7, &bad).err(), Some(EUCLEAN), "bit {bit}");
    }
}

#[test]
fn label_and_uuid_persist() {
    let mut d = MemDevice::with_zones(16, 1024, 1024).unwrap();
    let opts = FormatOptions { uuid: *b"0123456789abcdef", label: label::from_bytes(b"fluffy vol").unwrap(), ..Default::default() };
    format(&mut d, &opts).unwrap();
    let mut fs = mount(d).unwrap();
    assert_eq!(fs.label(), b"fluffy vol");
    assert_eq!(&fs.uuid(), b"0123456789abcdef");
    // Many checkpoints later (both checkpoint zones used), still there.
    for i in 0..300 {
        fs.create(ROOT, format!("f{i}").as_bytes(), 0o644, 0, 0).unwrap();
        fs.sync().unwrap();
    }
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(fs.label(), b"fluffy vol");
    let mut out = String::new();
    fs.dump(&mut out, false).unwrap();
    assert!(out.contains("label: \"fluffy vol\""), "{out}");
    assert!(out.contains("uuid: 30313233343536373839616263646566"), "{out}");
    // No label: empty, and a label too long or with a NUL is refused.
    assert_eq!(mount(formatted(16, 1024, 1024)).unwrap().label(), b"");
    assert!(label::from_bytes(&[b'x'; 256]).is_none());
    assert!(label::from_bytes(&[b'x'; 255]).is_some());
    assert!(label::from_bytes(b"a\0b").is_none());
    let mut bad = [0u8; 256];
    bad[0] = b'a';
    bad[5] = b'b'; // garbage after the NUL
    let mut d = MemDevice::with_zones(16, 1024, 1024).unwrap();
    assert_eq!(format(&mut d, &FormatOptions { label: bad, ..Default::default() }), Err(EINVAL));
}

#[test]
fn trusted_security_and_acl_xattrs_persist() {
    let mut fs = mount(formatted(16, 1024, 1024)).unwrap();
    let a = fs.create(ROOT, b"a", 0o644, 0, 0).unwrap().ino;
    let acl = [2u8, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff];
    fs.setxattr(a, b"trusted.t", b"T", 0).unwrap();
    fs.setxattr(a, b"security.s", b"S", 0).unwrap();
    fs.setxattr(a, b"system.posix_acl_access", &acl, 0).unwrap();
    fs.setxattr(a, b"user.u", b"U", 0).unwrap();
    assert_eq!(fs.setxattr(a, b"system.other", b"x", 0), Err(EOPNOTSUPP));
    assert_eq!(fs.setxattr(a, b"trusted.", b"x", 0), Err(EINVAL));
    let mut fs = mount(fs.unmount().unwrap()).unwrap();
    let mut v = [0u8; 64];
    assert_eq!(fs.getxattr(a, b"trusted.t", &mut v), Ok(1));
    assert_eq!(fs.getxattr(a, b"security.s", &mut v), Ok(1));
    assert_eq!(fs.getxattr(a, b"system.posix_acl_access", &mut v), Ok(acl.len()));
    assert_eq!(&v[..acl.len()], &acl);
    let mut l = [0u8; 256];
    let n = fs.listxattr_visible(a, &mut l, false).unwrap();
    assert_eq!(&l[..n], b"security.s\0system.posix_acl_access\0user.u\0", "trusted.* hidden from the unprivileged");
    let n = fs.listxattr_visible(a, &mut l, true).unwrap();
    assert_eq!(n, b"trusted.t\0security.s\0system.posix_acl_access\0user.u\0".len());
    assert_eq!(fs.listxattr_visible(a, &mut [], false), Ok(b"security.s\0system.posix_acl_access\0user.u\0".len()));
    fsck(&mut fs).unwrap();
}

#[test]
fn a_mounted_fs_keeps_its_identity() {
    let d = formatted(16, 1024, 1024);
    let fs: Fs<MemDevice> = mount(d).unwrap();
    assert_eq!(&fs.uuid(), b"fluffle-default!");
}
