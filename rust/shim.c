// SPDX-License-Identifier: GPL-2.0
/*
 * Static-inline kernel helpers and macros, made callable from Rust
 * (bindgen only sees real functions). Keep this file to one-line wrappers.
 */
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/fileattr.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <linux/wait_bit.h>
#include "shim.h"

bool fluffle_bdev_is_zoned(struct block_device *bdev)
{
	return bdev_is_zoned(bdev);
}

unsigned int fluffle_bdev_nr_zones(struct block_device *bdev)
{
	return bdev_nr_zones(bdev);
}

sector_t fluffle_bdev_zone_sectors(struct block_device *bdev)
{
	return bdev_zone_sectors(bdev);
}

unsigned int fluffle_bdev_max_open_zones(struct block_device *bdev)
{
	return bdev_max_open_zones(bdev);
}

unsigned int fluffle_bdev_max_active_zones(struct block_device *bdev)
{
	return bdev_max_active_zones(bdev);
}

unsigned int fluffle_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}

struct page *fluffle_buf_to_page(const void *addr)
{
	return is_vmalloc_addr(addr) ? vmalloc_to_page(addr) : virt_to_page(addr);
}

unsigned int fluffle_nofs_save(void)
{
	return memalloc_nofs_save();
}

void fluffle_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

void *fluffle_kmap_local_folio(struct folio *folio, size_t offset)
{
	return kmap_local_folio(folio, offset);
}

void fluffle_kunmap_local(const void *addr)
{
	kunmap_local(addr);
}

size_t fluffle_folio_size(struct folio *folio)
{
	return folio_size(folio);
}

loff_t fluffle_folio_pos(struct folio *folio)
{
	return folio_pos(folio);
}

void fluffle_folio_mark_uptodate(struct folio *folio)
{
	folio_mark_uptodate(folio);
}

bool fluffle_folio_test_uptodate(struct folio *folio)
{
	return folio_test_uptodate(folio);
}

void fluffle_folio_put(struct folio *folio)
{
	folio_put(folio);
}

void fluffle_folio_get(struct folio *folio)
{
	folio_get(folio);
}

/* Writeback hands folios to bios by their kernel address. */
#ifdef CONFIG_HIGHMEM
#error "FluffleFS assumes page-cache folios are directly mapped (no HIGHMEM)"
#endif
void *fluffle_folio_address(struct folio *folio)
{
	return folio_address(folio);
}

/* Readahead's bio completion: bio_for_each_folio_all is a macro. */
void fluffle_bio_end_folio_reads(struct bio *bio)
{
	struct folio_iter fi;

	bio_for_each_folio_all(fi, bio)
		folio_end_read(fi.folio, bio->bi_status == BLK_STS_OK);
}

/* Writeback's bio completion. */
void fluffle_bio_end_folio_writes(struct bio *bio)
{
	struct folio_iter fi;

	bio_for_each_folio_all(fi, bio) {
		if (bio->bi_status != BLK_STS_OK)
			mapping_set_error(fi.folio->mapping, -EIO);
		folio_end_writeback(fi.folio);
	}
}

void fluffle_bio_io_error(struct bio *bio)
{
	bio_io_error(bio);
}

/* A zone reset waits for readahead's bios: wait_var_event is a macro. */
void fluffle_wait_until_zero(int *count)
{
	wait_var_event(count, READ_ONCE(*count) == 0);
}

void fluffle_folio_unlock(struct folio *folio)
{
	folio_unlock(folio);
}

void fluffle_folio_start_writeback(struct folio *folio)
{
	folio_start_writeback(folio);
}

void fluffle_folio_end_writeback(struct folio *folio)
{
	folio_end_writeback(folio);
}

/* A folio for a write of len bytes at index: large if the write is. */
struct folio *fluffle_write_begin_get_folio(struct address_space *mapping, pgoff_t index, size_t len)
{
	return __filemap_get_folio(mapping, index, FGP_WRITEBEGIN | fgf_set_order(len),
				   mapping_gfp_mask(mapping));
}

void fluffle_mapping_set_folio_max_order(struct address_space *mapping, unsigned int max)
{
	mapping_set_folio_order_range(mapping, 0, max);
}

struct folio *fluffle_readahead_folio(struct readahead_control *rac)
{
	return readahead_folio(rac);
}

struct inode *fluffle_readahead_inode(struct readahead_control *rac)
{
	return rac->mapping->host;
}

bool fluffle_folio_mark_dirty(struct folio *folio)
{
	return folio_mark_dirty(folio);
}

bool fluffle_folio_test_dirty(struct folio *folio)
{
	return folio_test_dirty(folio);
}

void fluffle_folio_set_error_mapping(struct folio *folio, int err)
{
	mapping_set_error(folio->mapping, err);
}

/* Delayed allocation: the blocks reserved for a dirty folio are its private data. */
unsigned long fluffle_folio_reserved(struct folio *folio)
{
	return (unsigned long)folio_get_private(folio);
}

void fluffle_folio_set_reserved(struct folio *folio, unsigned long blocks)
{
	if (folio_test_private(folio))
		folio_change_private(folio, (void *)blocks);
	else
		folio_attach_private(folio, (void *)blocks);
}

unsigned long fluffle_folio_take_reserved(struct folio *folio)
{
	return (unsigned long)folio_detach_private(folio);
}

/* page_mkwrite: the parts of filemap_page_mkwrite that are inline. */
struct folio *fluffle_vmf_folio(struct vm_fault *vmf)
{
	return page_folio(vmf->page);
}

struct file *fluffle_vmf_file(struct vm_fault *vmf)
{
	return vmf->vma->vm_file;
}

void fluffle_folio_lock(struct folio *folio)
{
	folio_lock(folio);
}

struct address_space *fluffle_folio_mapping(struct folio *folio)
{
	return folio->mapping;
}

void fluffle_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void fluffle_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

/* mmap: generic_file_mmap with our vm_operations. */
void fluffle_vma_set_ops(struct file *file, struct vm_area_struct *vma, const struct vm_operations_struct *ops)
{
	file_accessed(file);
	vma->vm_ops = ops;
}

bool fluffle_dir_emit(struct dir_context *ctx, const char *name, int namelen, u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}

void fluffle_inode_set_times(struct inode *inode, const struct timespec64 *atime,
			     const struct timespec64 *mtime, const struct timespec64 *ctime)
{
	inode_set_atime_to_ts(inode, *atime);
	inode_set_mtime_to_ts(inode, *mtime);
	inode_set_ctime_to_ts(inode, *ctime);
}

void fluffle_inode_get_times(struct inode *inode, struct timespec64 *atime,
			     struct timespec64 *mtime, struct timespec64 *ctime)
{
	*atime = inode_get_atime(inode);
	*mtime = inode_get_mtime(inode);
	*ctime = inode_get_ctime(inode);
}

void fluffle_inode_set_ids(struct inode *inode, u32 uid, u32 gid)
{
	i_uid_write(inode, uid);
	i_gid_write(inode, gid);
}

u32 fluffle_inode_uid(struct inode *inode)
{
	return i_uid_read(inode);
}

u32 fluffle_inode_gid(struct inode *inode)
{
	return i_gid_read(inode);
}

void fluffle_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

loff_t fluffle_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

struct inode *fluffle_file_inode(const struct file *file)
{
	return file_inode(file);
}

bool fluffle_is_err(const void *ptr)
{
	return IS_ERR(ptr);
}

long fluffle_ptr_err(const void *ptr)
{
	return PTR_ERR(ptr);
}

u32 fluffle_current_fsuid(void)
{
	return from_kuid(&init_user_ns, current_fsuid());
}

/*
 * Identity of the calling process for process-scoped CSD attachments: its
 * tgid (in the initial pid namespace) and the thread group leader's start
 * time, so a recycled pid never inherits another process's attachments.
 */
u32 fluffle_current_tgid(void)
{
	return task_tgid_nr(current);
}

u64 fluffle_current_start_time(void)
{
	return current->group_leader->start_time;
}

/*
 * Whether the process (tgid, start) found above still runs: its leader is
 * found by pid and has the same start time, and the group has live
 * threads (signal->live drops to 0 as the last one exits, before the
 * zombie is reaped). The task and its signal_struct are freed only after
 * an RCU grace period, so reading them under rcu_read_lock is safe.
 */
bool fluffle_process_alive(u32 tgid, u64 start)
{
	struct task_struct *t;
	bool alive = false;

	rcu_read_lock();
	t = pid_task(find_pid_ns(tgid, &init_pid_ns), PIDTYPE_TGID);
	if (t && t->start_time == start && atomic_read(&t->signal->live) > 0)
		alive = true;
	rcu_read_unlock();
	return alive;
}

/* The caller's effective uid in the initial user namespace (CSD program owner). */
u32 fluffle_current_euid(void)
{
	return from_kuid(&init_user_ns, current_euid());
}

size_t fluffle_iov_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}

void fluffle_cond_resched(void)
{
	cond_resched();
}

bool fluffle_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

int fluffle_printk_ratelimit(void)
{
	return printk_ratelimit();
}

u32 fluffle_current_fsgid(void)
{
	return from_kgid(&init_user_ns, current_fsgid());
}

/* fileattr.h (chattr/lsattr); struct fileattr is opaque to bindgen. */
void fluffle_fileattr_fill_flags(struct fileattr *fa, u32 flags)
{
	fileattr_fill_flags(fa, flags);
}

u32 fluffle_fileattr_flags(const struct fileattr *fa)
{
	return fa->flags;
}

bool fluffle_fileattr_has_fsx(const struct fileattr *fa)
{
	return fileattr_has_fsx(fa);
}

/* FS_IOC_GETFSUUID and FS_IOC_GETFSSYSFSPATH, served by the VFS from these. */
void fluffle_super_set_uuid(struct super_block *sb, const u8 *uuid)
{
	super_set_uuid(sb, uuid, 16);
}

void fluffle_super_set_sysfs_name_bdev(struct super_block *sb)
{
	super_set_sysfs_name_bdev(sb);
}

/*
 * Layouts that rust/vfs/cmirror.rs mirrors by hand (bindgen leaves these
 * structs opaque): a mismatch fails the build here.
 */
#include <linux/statfs.h>
#include <linux/xattr.h>
static_assert(FMODE_CAN_ODIRECT == (__force fmode_t)(1u << 22));
static_assert(SB_RDONLY == 1);
static_assert(sizeof(struct kstatfs) == 120);
static_assert(offsetof(struct kstatfs, f_blocks) == 16);
static_assert(offsetof(struct kstatfs, f_ffree) == 48);
static_assert(offsetof(struct kstatfs, f_namelen) == 64);
static_assert(offsetof(struct kstatfs, f_frsize) == 72);
static_assert(sizeof(struct xattr_handler) == 48);
static_assert(offsetof(struct xattr_handler, prefix) == 8);
static_assert(offsetof(struct xattr_handler, flags) == 16);
static_assert(offsetof(struct xattr_handler, list) == 24);
static_assert(offsetof(struct xattr_handler, get) == 32);
static_assert(offsetof(struct xattr_handler, set) == 40);
