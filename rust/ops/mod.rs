//! FluffleFS's VFS callbacks: the kernel face of the core.
//!
//! Each file fills one of the kernel's operation tables and translates
//! between VFS objects (super block, inodes, dentries, folios) and the
//! core's inode-number API. All core calls go through [`sb::with_fs`],
//! which takes the one filesystem mutex. Lock order: VFS locks (inode
//! rwsem, folio lock) are always taken before the core mutex, and nothing
//! that may fault on user memory runs while the core mutex is held.

pub mod aops;
pub mod attr;
pub mod csd;
pub mod dir;
pub mod file;
pub mod gc;
pub mod inode;
pub mod ioctl;
pub mod sb;
pub mod xattr;
