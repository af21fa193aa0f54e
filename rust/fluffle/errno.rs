//! Linux errno values, the error type of every fallible core operation.

/// A positive Linux errno (`ENOENT` is `Errno(2)`); the VFS glue negates it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub i32);

pub const EPERM: Errno = Errno(1);
pub const ENOENT: Errno = Errno(2);
pub const EINTR: Errno = Errno(4);
pub const EIO: Errno = Errno(5);
pub const ENXIO: Errno = Errno(6);
pub const E2BIG: Errno = Errno(7);
pub const EBADF: Errno = Errno(9);
pub const EAGAIN: Errno = Errno(11);
pub const ENOMEM: Errno = Errno(12);
pub const EACCES: Errno = Errno(13);
pub const EFAULT: Errno = Errno(14);
pub const EBUSY: Errno = Errno(16);
pub const EEXIST: Errno = Errno(17);
pub const EXDEV: Errno = Errno(18);
pub const ENODEV: Errno = Errno(19);
pub const ENOTDIR: Errno = Errno(20);
pub const EISDIR: Errno = Errno(21);
pub const EINVAL: Errno = Errno(22);
pub const ENOTTY: Errno = Errno(25);
pub const EFBIG: Errno = Errno(27);
pub const ENOSPC: Errno = Errno(28);
pub const EROFS: Errno = Errno(30);
pub const EMLINK: Errno = Errno(31);
pub const ERANGE: Errno = Errno(34);
pub const ENAMETOOLONG: Errno = Errno(36);
pub const ENOSYS: Errno = Errno(38);
pub const ENOTEMPTY: Errno = Errno(39);
pub const ELOOP: Errno = Errno(40);
pub const ENODATA: Errno = Errno(61);
pub const EOVERFLOW: Errno = Errno(75);
pub const EOPNOTSUPP: Errno = Errno(95);
pub const ETIMEDOUT: Errno = Errno(110);
/// "Structure needs cleaning": on-disk corruption was detected.
pub const EUCLEAN: Errno = Errno(117);
/// "Quota exceeded": a per-user bound (CSD programs per user).
pub const EDQUOT: Errno = Errno(122);

/// Result of a core operation.
pub type Result<T = ()> = core::result::Result<T, Errno>;

/// Why a mount failed, in words (the kernel's message and `fluffle`'s).
pub fn mount_failure(e: Errno) -> &'static str {
    match e {
        EUCLEAN => "filesystem structures are corrupted",
        EINVAL => "not a FluffleFS filesystem or unsupported geometry",
        EOPNOTSUPP => "made by another version of FluffleFS (another on-disk format); this one reads only its own, and mkfs.flufflefs makes it",
        EIO => "I/O error",
        ENOMEM => "out of memory",
        _ => "mount failed",
    }
}
