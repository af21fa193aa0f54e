// SPDX-License-Identifier: GPL-2.0

//! FluffleFS: a log-structured filesystem for zoned (ZNS) SSDs that runs
//! eBPF "CSD kernels" next to the data.
//!
//! This file is the module's crate root: it registers the filesystem type
//! and pulls in the kernel glue (`vfs`) and the shared no_std parts
//! (`fluffle`, `ebpf`, `csd`), which cargo also builds and tests on the host.

use kernel::{bindings, c_str, prelude::*, str::CStr};

// The shared crates are written for cargo too: items that only the host
// uses are dead here, and `pub` there is crate-visible here.
#[allow(dead_code, unreachable_pub)]
pub mod csd;
#[allow(dead_code, unreachable_pub)]
pub mod ebpf;
#[allow(dead_code, unreachable_pub)]
mod fluffle;
mod ops;
mod vfs;

module! {
    type: FluffleFsModule,
    name: "flufflefs",
    author: "FluffleFS developers",
    description: "Log-structured filesystem for zoned SSDs with in-storage eBPF",
    license: "GPL",
}

struct FluffleFsModule {
    _registration: vfs::fs_type::Registration,
}

/// The filesystem type as the VFS sees it.
struct FluffleFs;

/// Its `file_system_type`, static as lockdep needs (see `FsTypeSlot`).
static FS_TYPE: vfs::fs_type::FsTypeSlot = vfs::fs_type::FsTypeSlot::new();

impl vfs::fs_type::FileSystem for FluffleFs {
    const NAME: &'static CStr = c_str!("flufflefs");

    fn fill_super(sb: *mut bindings::super_block) -> Result {
        ops::sb::fill_super(sb)
    }

    fn check_options(opts: &[u8]) -> Result {
        ops::sb::check_options(opts)
    }

    // SAFETY: `ops::sb::kill_sb` tears down through `kill_block_super` and
    // then frees what `fill_super` allocated.
    const KILL_SB: unsafe extern "C" fn(*mut bindings::super_block) = ops::sb::kill_sb;
}

/// CRC32C of "123456789" per RFC 3720; checks at load time that the shared
/// core was built into the module correctly (the host tests check the same).
fn core_self_test() -> Result {
    if fluffle::crc32c::crc32c(b"123456789") == 0xe306_9283 {
        Ok(())
    } else {
        pr_err!("core self-test failed (crc32c)\n");
        Err(EINVAL)
    }
}

impl kernel::Module for FluffleFsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        core_self_test()?;
        let registration = vfs::fs_type::Registration::new::<FluffleFs>(module, &FS_TYPE)?;
        pr_info!("registered (core self-test ok)\n");
        Ok(Self { _registration: registration })
    }
}

impl Drop for FluffleFsModule {
    fn drop(&mut self) {
        pr_info!("unregistered\n");
    }
}
