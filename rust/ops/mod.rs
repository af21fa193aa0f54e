//! FluffleFS's VFS callbacks: the kernel face of the core.
//!
//! Each file fills one of the kernel's operation tables and translates
//! between VFS objects (super block, inodes, dentries, folios) and the
//! core's inode-number API. All core calls go through [`sb::with_fs`],
//! which takes the one filesystem mutex. Lock order: VFS locks (inode
//! rwsem, folio lock) are always taken before the core mutex, and nothing
//! that may fault on user memory runs while the core mutex is held.
//! Writeback holds a run of folios locked at once, always taken in
//! ascending index order (as `writeback_iter` hands them out). Under the
//! core mutex the device may wait for its asynchronous bios (readahead,
//! writeback); their completions take no lock.

pub(crate) mod aops;
pub(crate) mod attr;
pub(crate) mod csd;
pub(crate) mod delalloc;
pub(crate) mod dir;
pub(crate) mod direct_io;
pub(crate) mod falloc;
pub(crate) mod file;
pub(crate) mod gc;
pub(crate) mod iflags;
pub(crate) mod inode;
pub(crate) mod ioctl;
pub(crate) mod label;
pub(crate) mod sb;
pub(crate) mod writeback;
pub(crate) mod xattr;
