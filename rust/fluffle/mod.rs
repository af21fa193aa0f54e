//! FluffleFS core: the log-structured filesystem for zoned devices.
//!
//! This directory is compiled twice: by cargo as the `fluffle` crate (host
//! tests and the userland tools; std only in `#[cfg(test)]`) and by Kbuild as
//! `mod fluffle` inside the kernel module (`--cfg MODULE`). It therefore uses
//! only `core`, relative paths (`super::`/`self::`) and the fallible
//! allocation shim in [`mem`]; no floats, no panics on input, and integer
//! arithmetic on disk values is checked (the kernel builds with overflow
//! checks on).
//!
//! See [`fs`] for the API overview.
#![cfg_attr(not(MODULE), no_std)]

pub mod checkpoint;
pub mod crc32c;
pub mod device;
pub mod dir;
pub mod dir_blocks;
pub mod dirty;
pub mod dump;
pub mod errno;
pub mod extent;
pub mod fallocate;
pub mod file;
pub mod fs;
pub mod fsck;
pub mod fsync;
pub mod iflags;
pub mod gc;
pub mod inode;
pub mod inode_cache;
pub mod inode_table;
pub mod label;
pub mod layout;
pub mod mem;
pub mod mount_opts;
pub mod memdev;
pub mod dir_hash;
pub mod nat;
pub mod overlay;
pub mod read_plan;
pub mod read_window;
pub mod recovery;
pub mod remount;
pub mod snapshot;
pub mod summary;
pub mod tails;
pub mod types;
pub mod xattr;
pub mod zones;
#[cfg(test)]
mod fs_tests;
#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod btime_tests;
