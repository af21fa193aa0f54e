//! Public value types of the filesystem API (attributes, statfs, options).

/// A timestamp: seconds since the epoch plus nanoseconds (`nsec < 1e9`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct Timespec {
    /// Seconds since 1970-01-01 UTC (may be negative).
    pub sec: i64,
    /// Nanoseconds, below 1_000_000_000.
    pub nsec: u32,
}

/// Kind of an inode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Named pipe (FIFO).
    Fifo,
    /// Character device node.
    CharDev,
    /// Block device node.
    BlockDev,
    /// UNIX domain socket.
    Socket,
}

/// `S_IFMT` and friends (Linux values).
pub const S_IFMT: u32 = 0o170000;
/// Directory type bits.
pub const S_IFDIR: u32 = 0o040000;
/// Regular file type bits.
pub const S_IFREG: u32 = 0o100000;
/// Symlink type bits.
pub const S_IFLNK: u32 = 0o120000;
/// FIFO type bits.
pub const S_IFIFO: u32 = 0o010000;
/// Character device type bits.
pub const S_IFCHR: u32 = 0o020000;
/// Block device type bits.
pub const S_IFBLK: u32 = 0o060000;
/// Socket type bits.
pub const S_IFSOCK: u32 = 0o140000;

impl FileType {
    /// The `S_IFMT` bits of this type.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => S_IFREG,
            FileType::Directory => S_IFDIR,
            FileType::Symlink => S_IFLNK,
            FileType::Fifo => S_IFIFO,
            FileType::CharDev => S_IFCHR,
            FileType::BlockDev => S_IFBLK,
            FileType::Socket => S_IFSOCK,
        }
    }

    /// The type named by the `S_IFMT` bits of `mode`, if any.
    pub fn from_mode(mode: u32) -> Option<Self> {
        Some(match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFLNK => FileType::Symlink,
            S_IFIFO => FileType::Fifo,
            S_IFCHR => FileType::CharDev,
            S_IFBLK => FileType::BlockDev,
            S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }

    /// A FIFO, device node or socket: no content of its own (the VFS
    /// serves it with `init_special_inode`), only attributes and `rdev`.
    pub fn is_special(self) -> bool {
        matches!(self, FileType::Fifo | FileType::CharDev | FileType::BlockDev | FileType::Socket)
    }

    /// A device node: its `rdev` names the device. A FIFO's or socket's
    /// is always 0 (as `init_special_inode` leaves it).
    pub fn has_rdev(self) -> bool {
        matches!(self, FileType::CharDev | FileType::BlockDev)
    }

    /// Linux `DT_*` value for readdir.
    pub fn dt(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::CharDev => 2,
            FileType::Directory => 4,
            FileType::BlockDev => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// Attributes of an inode (what `getattr` returns).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Attr {
    /// Inode number.
    pub ino: u64,
    /// Kind.
    pub ftype: FileType,
    /// Full `st_mode` (type bits | permission bits).
    pub mode: u32,
    /// Link count (directories: 2 + number of subdirectories).
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (directories: number of entries, symlinks: target length).
    pub size: u64,
    /// Allocated space in 512-byte units (data blocks on the device).
    pub blocks: u64,
    /// Device number of a device node (Linux's kernel `dev_t`: major << 20
    /// | minor); 0 for every other type.
    pub rdev: u32,
    /// Birth (creation) time: statx `btime`.
    pub btime: Timespec,
    /// Last access.
    pub atime: Timespec,
    /// Last data modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

/// Attribute changes for `setattr`; `None` leaves a field alone.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SetAttr {
    /// New permission bits (only `0o7777` is used; the type cannot change).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size: truncate down (data beyond is dropped) or up (a hole).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<Timespec>,
    /// New modification time.
    pub mtime: Option<Timespec>,
    /// New change time (if `None`, any change sets ctime to the current time).
    pub ctime: Option<Timespec>,
}

/// Filesystem statistics (`statfs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StatFs {
    /// Block size in bytes.
    pub bsize: u32,
    /// Blocks usable for files (device capacity minus metadata zones and the
    /// GC reserve).
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks available to unprivileged users (same as `bfree`).
    pub bavail: u64,
    /// Maximum number of inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Maximum name length (255).
    pub namelen: u32,
}

/// Options for [`super::fs::format`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FormatOptions {
    /// Filesystem identity; also seeds the checksums of log blocks so data
    /// written by users can never pass for metadata. mkfs takes it from
    /// /dev/urandom.
    pub uuid: [u8; 16],
    /// Creation time (root directory times).
    pub now: Timespec,
    /// Root directory owner.
    pub root_uid: u32,
    /// Root directory group.
    pub root_gid: u32,
    /// Root directory permission bits.
    pub root_mode: u32,
    /// Volume label (`mkfs -L`): the bytes before the first NUL, at most
    /// [`LABEL_MAX`] (the last byte is always NUL).
    pub label: [u8; LABEL_MAX + 1],
}

/// Longest volume label: `FSLABEL_MAX` (256) less its NUL, as the kernel's
/// `FS_IOC_GETFSLABEL` returns it.
pub const LABEL_MAX: usize = 255;

impl Default for FormatOptions {
    fn default() -> Self {
        Self { uuid: *b"fluffle-default!", now: Timespec::default(), root_uid: 0, root_gid: 0, root_mode: 0o755, label: [0; LABEL_MAX + 1] }
    }
}

/// Options for [`super::fs::Fs::mount`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MountOptions {
    /// Never write to the device (no roll-forward checkpoint, no GC, every
    /// modifying call fails with `EROFS`). Used by fsck and dump.
    pub read_only: bool,
    /// Time used for anything mount itself stamps.
    pub now: Timespec,
}

/// `rename` flag: fail with `EEXIST` if the target exists.
pub const RENAME_NOREPLACE: u32 = 1;
/// `rename` flag: atomically exchange source and target (both must exist).
pub const RENAME_EXCHANGE: u32 = 2;
/// `rename` flag: leave a whiteout (char device [`WHITEOUT_DEV`]) under the
/// old name (`Fs::rename_whiteout`, for overlayfs).
pub const RENAME_WHITEOUT: u32 = 4;
/// Device number of a whiteout (Linux `WHITEOUT_DEV`).
pub const WHITEOUT_DEV: u32 = 0;
/// `setxattr` flag: fail with `EEXIST` if the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `setxattr` flag: fail with `ENODATA` if the attribute does not exist.
pub const XATTR_REPLACE: u32 = 2;

/// Longest name of a directory entry (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest symlink target.
pub const SYMLINK_MAX: usize = 4095;
/// Longest extended attribute name (including the `user.` prefix).
pub const XATTR_NAME_MAX: usize = 255;
/// Longest extended attribute value.
pub const XATTR_SIZE_MAX: usize = 65536;
/// Total bytes of extended attributes (names + values) one inode may hold.
pub const XATTR_TOTAL_MAX: usize = 128 * 1024;
/// Largest link count (`EMLINK` beyond).
pub const LINK_MAX: u32 = 65000;
/// Inode numbers are below this (owner words keep 32 bits for them,
/// `zones.rs`).
pub const INO_END: u64 = 1 << 32;
/// Largest file size: 2^31 blocks of 4 KiB (8 TiB).
pub const MAX_FILE_SIZE: u64 = (1u64 << 31) * 4096;

/// Identifier of a live snapshot.
pub type SnapId = u64;
/// Marks a hole in [`super::fs::Fs::snapshot_lbas`] output.
pub const LBA_HOLE: u64 = u64::MAX;
