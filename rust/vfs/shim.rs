//! Declarations of the functions in `rust/shim.c` (static-inline kernel
//! helpers made callable), and of the few exported kernel symbols whose
//! headers the kernel's bindgen run does not include.

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_long, c_uint, c_void};

#[allow(improper_ctypes)]
extern "C" {
    pub(crate) fn fluffle_bdev_is_zoned(bdev: *mut bindings::block_device) -> bool;
    pub(crate) fn fluffle_bdev_nr_zones(bdev: *mut bindings::block_device) -> c_uint;
    pub(crate) fn fluffle_bdev_zone_sectors(bdev: *mut bindings::block_device) -> u64;
    pub(crate) fn fluffle_bdev_max_open_zones(bdev: *mut bindings::block_device) -> c_uint;
    pub(crate) fn fluffle_bdev_max_active_zones(bdev: *mut bindings::block_device) -> c_uint;
    pub(crate) fn fluffle_bdev_logical_block_size(bdev: *mut bindings::block_device) -> c_uint;

    pub(crate) fn fluffle_buf_to_page(addr: *const c_void) -> *mut bindings::page;

    pub(crate) fn fluffle_nofs_save() -> c_uint;
    pub(crate) fn fluffle_nofs_restore(flags: c_uint);

    pub(crate) fn fluffle_kmap_local_folio(folio: *mut bindings::folio, offset: usize) -> *mut c_void;
    pub(crate) fn fluffle_kunmap_local(addr: *const c_void);
    pub(crate) fn fluffle_folio_size(folio: *mut bindings::folio) -> usize;
    pub(crate) fn fluffle_folio_pos(folio: *mut bindings::folio) -> i64;
    pub(crate) fn fluffle_folio_mark_uptodate(folio: *mut bindings::folio);
    pub(crate) fn fluffle_folio_test_uptodate(folio: *mut bindings::folio) -> bool;
    pub(crate) fn fluffle_folio_put(folio: *mut bindings::folio);
    pub(crate) fn fluffle_folio_get(folio: *mut bindings::folio);
    pub(crate) fn fluffle_folio_address(folio: *mut bindings::folio) -> *mut c_void;
    pub(crate) fn fluffle_bio_end_folio_reads(bio: *mut bindings::bio);
    pub(crate) fn fluffle_bio_end_folio_writes(bio: *mut bindings::bio);
    pub(crate) fn fluffle_bio_io_error(bio: *mut bindings::bio);
    pub(crate) fn fluffle_wait_until_zero(count: *mut i32);
    pub(crate) fn fluffle_folio_unlock(folio: *mut bindings::folio);
    pub(crate) fn fluffle_folio_start_writeback(folio: *mut bindings::folio);
    pub(crate) fn fluffle_folio_end_writeback(folio: *mut bindings::folio);
    pub(crate) fn fluffle_write_begin_get_folio(
        mapping: *mut bindings::address_space,
        index: usize,
        len: usize,
    ) -> *mut bindings::folio;
    pub(crate) fn fluffle_mapping_set_folio_max_order(mapping: *mut bindings::address_space, max: c_uint);
    pub(crate) fn fluffle_folio_mark_dirty(folio: *mut bindings::folio) -> bool;
    pub(crate) fn fluffle_folio_test_dirty(folio: *mut bindings::folio) -> bool;
    pub(crate) fn fluffle_readahead_folio(rac: *mut bindings::readahead_control) -> *mut bindings::folio;
    pub(crate) fn fluffle_readahead_inode(rac: *mut bindings::readahead_control) -> *mut bindings::inode;
    pub(crate) fn fluffle_folio_set_error_mapping(folio: *mut bindings::folio, err: c_int);
    pub(crate) fn fluffle_folio_reserved(folio: *mut bindings::folio) -> usize;
    pub(crate) fn fluffle_folio_set_reserved(folio: *mut bindings::folio, blocks: usize);
    pub(crate) fn fluffle_folio_take_reserved(folio: *mut bindings::folio) -> usize;
    pub(crate) fn fluffle_vmf_folio(vmf: *mut bindings::vm_fault) -> *mut bindings::folio;
    pub(crate) fn fluffle_vmf_file(vmf: *mut bindings::vm_fault) -> *mut bindings::file;
    pub(crate) fn fluffle_folio_lock(folio: *mut bindings::folio);
    pub(crate) fn fluffle_folio_mapping(folio: *mut bindings::folio) -> *mut bindings::address_space;
    pub(crate) fn fluffle_sb_start_pagefault(sb: *mut bindings::super_block);
    pub(crate) fn fluffle_sb_end_pagefault(sb: *mut bindings::super_block);
    pub(crate) fn fluffle_vma_set_ops(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
        ops: *const bindings::vm_operations_struct,
    );

    pub(crate) fn fluffle_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const c_char,
        namelen: c_int,
        ino: u64,
        dtype: c_uint,
    ) -> bool;
    pub(crate) fn fluffle_inode_set_times(
        inode: *mut bindings::inode,
        atime: *const bindings::timespec64,
        mtime: *const bindings::timespec64,
        ctime: *const bindings::timespec64,
    );
    pub(crate) fn fluffle_inode_get_times(
        inode: *mut bindings::inode,
        atime: *mut bindings::timespec64,
        mtime: *mut bindings::timespec64,
        ctime: *mut bindings::timespec64,
    );
    pub(crate) fn fluffle_inode_set_ids(inode: *mut bindings::inode, uid: u32, gid: u32);
    pub(crate) fn fluffle_inode_uid(inode: *mut bindings::inode) -> u32;
    pub(crate) fn fluffle_inode_gid(inode: *mut bindings::inode) -> u32;
    pub(crate) fn fluffle_i_size_write(inode: *mut bindings::inode, size: i64);
    pub(crate) fn fluffle_i_size_read(inode: *const bindings::inode) -> i64;
    pub(crate) fn fluffle_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    pub(crate) fn fluffle_is_err(ptr: *const c_void) -> bool;
    pub(crate) fn fluffle_current_fsuid() -> u32;
    pub(crate) fn fluffle_current_fsgid() -> u32;
    pub(crate) fn fluffle_current_tgid() -> u32;
    pub(crate) fn fluffle_current_start_time() -> u64;
    pub(crate) fn fluffle_process_alive(tgid: u32, start: u64) -> bool;
    pub(crate) fn fluffle_current_euid() -> u32;
    pub(crate) fn fluffle_iov_iter_count(i: *const bindings::iov_iter) -> usize;
    pub(crate) fn fluffle_cond_resched();
    pub(crate) fn fluffle_fatal_signal_pending() -> bool;
    pub(crate) fn fluffle_printk_ratelimit() -> c_int;
    pub(crate) fn fluffle_ptr_err(ptr: *const c_void) -> c_long;
    pub(crate) fn fluffle_fileattr_fill_flags(fa: *mut bindings::fileattr, flags: u32);
    pub(crate) fn fluffle_fileattr_flags(fa: *const bindings::fileattr) -> u32;
    pub(crate) fn fluffle_fileattr_has_fsx(fa: *const bindings::fileattr) -> bool;
    pub(crate) fn fluffle_super_set_uuid(sb: *mut bindings::super_block, uuid: *const u8);
    pub(crate) fn fluffle_super_set_sysfs_name_bdev(sb: *mut bindings::super_block);

    /// The filesystem bio set (`block/bio.c`), for `bio_alloc_bioset()`.
    pub(crate) static mut fs_bio_set: bindings::bio_set;
    /// `mm/truncate.c`; pagemap.h is not among the bound headers.
    pub(crate) fn invalidate_inode_pages2_range(
        mapping: *mut bindings::address_space,
        start: usize,
        end: usize,
    ) -> c_int;
    /// `mm/page-writeback.c`; pagemap.h is not among the bound headers.
    pub(crate) fn folio_wait_stable(folio: *mut bindings::folio);
    /// `mm/migrate.c`: moves a folio and its private data.
    pub(crate) fn filemap_migrate_folio(
        mapping: *mut bindings::address_space,
        dst: *mut bindings::folio,
        src: *mut bindings::folio,
        mode: bindings::migrate_mode,
    ) -> c_int;
    /// `mm/filemap.c`; pagemap.h is not among the bound headers.
    pub(crate) fn filemap_write_and_wait_range(
        mapping: *mut bindings::address_space,
        start: i64,
        end: i64,
    ) -> c_int;
}
