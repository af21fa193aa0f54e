/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C shim of the FluffleFS module: static-inline kernel helpers (and
 * macros) exported as real functions so the Rust side can call them;
 * bindgen only sees real functions. Nothing else lives here.
 */
#ifndef FLUFFLEFS_SHIM_H
#define FLUFFLEFS_SHIM_H

#include <linux/types.h>

struct block_device;
struct page;
struct bio;
struct folio;
struct inode;
struct dir_context;
struct timespec64;
struct iov_iter;
struct readahead_control;
struct super_block;
struct file;
struct vm_fault;
struct vm_area_struct;
struct vm_operations_struct;

/* blkdev.h */
bool fluffle_bdev_is_zoned(struct block_device *bdev);
unsigned int fluffle_bdev_nr_zones(struct block_device *bdev);
sector_t fluffle_bdev_zone_sectors(struct block_device *bdev);
unsigned int fluffle_bdev_max_open_zones(struct block_device *bdev);
unsigned int fluffle_bdev_max_active_zones(struct block_device *bdev);
unsigned int fluffle_bdev_logical_block_size(struct block_device *bdev);

/* mm: the page behind a kmalloc or vmalloc address */
struct page *fluffle_buf_to_page(const void *addr);

/* sched/mm.h: scope in which allocations do not recurse into filesystems */
unsigned int fluffle_nofs_save(void);
void fluffle_nofs_restore(unsigned int flags);

/* pagemap.h / mm.h: folios */
void *fluffle_kmap_local_folio(struct folio *folio, size_t offset);
void fluffle_kunmap_local(const void *addr);
size_t fluffle_folio_size(struct folio *folio);
loff_t fluffle_folio_pos(struct folio *folio);
void fluffle_folio_mark_uptodate(struct folio *folio);
bool fluffle_folio_test_uptodate(struct folio *folio);
void fluffle_folio_put(struct folio *folio);
void fluffle_folio_get(struct folio *folio);
void *fluffle_folio_address(struct folio *folio);
void fluffle_bio_end_folio_reads(struct bio *bio);
void fluffle_bio_end_folio_writes(struct bio *bio);
void fluffle_bio_io_error(struct bio *bio);
void fluffle_wait_until_zero(int *count);
void fluffle_folio_unlock(struct folio *folio);
void fluffle_folio_start_writeback(struct folio *folio);
void fluffle_folio_end_writeback(struct folio *folio);
struct folio *fluffle_write_begin_get_folio(struct address_space *mapping, pgoff_t index, size_t len);
void fluffle_mapping_set_folio_max_order(struct address_space *mapping, unsigned int max);
bool fluffle_folio_mark_dirty(struct folio *folio);
bool fluffle_folio_test_dirty(struct folio *folio);
struct folio *fluffle_readahead_folio(struct readahead_control *rac);
struct inode *fluffle_readahead_inode(struct readahead_control *rac);
void fluffle_folio_set_error_mapping(struct folio *folio, int err);
unsigned long fluffle_folio_reserved(struct folio *folio);
void fluffle_folio_set_reserved(struct folio *folio, unsigned long blocks);
unsigned long fluffle_folio_take_reserved(struct folio *folio);
struct folio *fluffle_vmf_folio(struct vm_fault *vmf);
struct file *fluffle_vmf_file(struct vm_fault *vmf);
void fluffle_folio_lock(struct folio *folio);
struct address_space *fluffle_folio_mapping(struct folio *folio);
void fluffle_sb_start_pagefault(struct super_block *sb);
void fluffle_sb_end_pagefault(struct super_block *sb);
void fluffle_vma_set_ops(struct file *file, struct vm_area_struct *vma, const struct vm_operations_struct *ops);

/* fs.h */
bool fluffle_dir_emit(struct dir_context *ctx, const char *name, int namelen, u64 ino, unsigned int type);
void fluffle_inode_set_times(struct inode *inode, const struct timespec64 *atime,
			     const struct timespec64 *mtime, const struct timespec64 *ctime);
void fluffle_inode_get_times(struct inode *inode, struct timespec64 *atime,
			     struct timespec64 *mtime, struct timespec64 *ctime);
void fluffle_inode_set_ids(struct inode *inode, u32 uid, u32 gid);
u32 fluffle_inode_uid(struct inode *inode);
u32 fluffle_inode_gid(struct inode *inode);
void fluffle_i_size_write(struct inode *inode, loff_t size);
loff_t fluffle_i_size_read(const struct inode *inode);
struct inode *fluffle_file_inode(const struct file *file);
bool fluffle_is_err(const void *ptr);
u32 fluffle_current_fsuid(void);
u32 fluffle_current_tgid(void);
u64 fluffle_current_start_time(void);
bool fluffle_process_alive(u32 tgid, u64 start);
u32 fluffle_current_euid(void);
size_t fluffle_iov_iter_count(const struct iov_iter *i);
void fluffle_cond_resched(void);
bool fluffle_fatal_signal_pending(void);
int fluffle_printk_ratelimit(void);
u32 fluffle_current_fsgid(void);
long fluffle_ptr_err(const void *ptr);

/* fileattr.h, super_block identity */
struct fileattr;
void fluffle_fileattr_fill_flags(struct fileattr *fa, u32 flags);
u32 fluffle_fileattr_flags(const struct fileattr *fa);
bool fluffle_fileattr_has_fsx(const struct fileattr *fa);
void fluffle_super_set_uuid(struct super_block *sb, const u8 *uuid);
void fluffle_super_set_sysfs_name_bdev(struct super_block *sb);

#endif /* FLUFFLEFS_SHIM_H */
