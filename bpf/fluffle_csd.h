/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FluffleFS computational storage ABI: what a CSD kernel (eBPF, compiled
 * with `clang -target bpf`) and a userland tool see.
 *
 * This header mirrors rust/csd/abi.rs; rust/csd/tests/abi_sync.rs parses it
 * and fails when the two disagree. Change both together.
 *
 * A kernel is one function `int f(const struct fluffle_csd_ctx *ctx)` in an
 * executable section (CSD_KERNEL puts it in "csd"; `fluffle load` takes the
 * first executable section, or --function/--section). The loader verifies
 * and keeps that whole section, so helper functions must be `static inline`
 * or live in the same section. It returns 0 on success or a negative errno
 * to fail the read/write with that errno; its result is what it passed to
 * csd_emit(). Rules for kernels:
 *  - no global or static data (the loader refuses relocations): keep
 *    constants in code or on the stack;
 *  - the eBPF stack is 512 bytes per frame: big buffers go in the scratch
 *    buffer (csd_scratch(), FLUFFLE_CSD_SCRATCH_SIZE bytes, zeroed per run);
 *  - every run has an instruction budget (by default 10M + 24 per byte of
 *    file and input); beyond it the request fails with ETIME.
 *
 * Read streams (setxattr user.process.csd_read_stream = id, or the RUN
 * ioctl): a read of req_len bytes at req_offset returns what the kernel
 * emits (at most out_cap bytes; 0 bytes emitted reads as end of file).
 * Kernels that compute one result over the file emit it for
 * req_offset == 0 only, so `cat` stops after it; stream filters treat
 * req_offset as the position in their output (see grep.c).
 * Write streams (user.process.csd_write_stream = id): a write() of
 * input_len bytes (csd_input()) stores what the kernel emits instead (at
 * most input_len + FLUFFLE_CSD_WRITE_SLACK bytes) at the write position.
 */
#ifndef FLUFFLE_CSD_H
#define FLUFFLE_CSD_H

typedef unsigned long long fluffle_u64;
typedef long long fluffle_s64;
typedef unsigned int fluffle_u32;
typedef int fluffle_s32;
typedef unsigned char fluffle_u8;

#define FLUFFLE_CSD_ABI_VERSION 1

/* ---- Helper ids (see the prototypes below) ---- */
#define FLUFFLE_HELPER_READ 1
#define FLUFFLE_HELPER_SIZE 2
#define FLUFFLE_HELPER_EMIT 3
#define FLUFFLE_HELPER_SCRATCH 4
#define FLUFFLE_HELPER_LBA_COUNT 5
#define FLUFFLE_HELPER_LBAS 6
#define FLUFFLE_HELPER_READ_LBA 7
#define FLUFFLE_HELPER_INPUT 8

/* ---- Constants ---- */
#define FLUFFLE_CSD_BLOCK_SIZE 4096
#define FLUFFLE_CSD_LBA_HOLE 0xffffffffffffffffULL
#define FLUFFLE_CSD_SCRATCH_SIZE 65536
#define FLUFFLE_CSD_WRITE_SLACK 4096
#define FLUFFLE_CSD_MAX_PROG_BYTES 524288
#define FLUFFLE_CSD_MAX_PROGRAMS 64
#define FLUFFLE_CSD_MAX_PROGRAMS_PER_USER 16
#define FLUFFLE_CSD_MAX_ATTACHMENTS 4096

#define FLUFFLE_CSD_OP_READ 0
#define FLUFFLE_CSD_OP_WRITE 1

#define FLUFFLE_CSD_FT_REGULAR 1
#define FLUFFLE_CSD_FT_DIRECTORY 2
#define FLUFFLE_CSD_FT_SYMLINK 3

#define FLUFFLE_XATTR_READ_STREAM "user.process.csd_read_stream"
#define FLUFFLE_XATTR_WRITE_STREAM "user.process.csd_write_stream"

/* Negative helper results a kernel can handle. */
#define FLUFFLE_CSD_EACCES 13 /* csd_read_lba: LBA not in the snapshot */
#define FLUFFLE_CSD_EINVAL 22

/* ---- The context a kernel gets (read-only) ---- */
struct fluffle_csd_ctx {
	fluffle_u32 abi_version;  /* FLUFFLE_CSD_ABI_VERSION */
	fluffle_u32 op;           /* FLUFFLE_CSD_OP_READ / _WRITE */
	fluffle_u64 req_offset;   /* file position of the read/write */
	fluffle_u64 req_len;      /* bytes asked for / written */
	fluffle_u64 ino;          /* inode number */
	fluffle_u64 parent;       /* parent directory inode (0 if unknown) */
	fluffle_u32 file_type;    /* FLUFFLE_CSD_FT_* */
	fluffle_u32 mode;         /* st_mode */
	fluffle_u64 size;         /* snapshot size in bytes */
	fluffle_u64 lba_count;    /* file blocks: ceil(size / block_size) */
	fluffle_u32 block_size;   /* bytes per LBA (4096) */
	fluffle_u32 sector_size;  /* device logical sector size in bytes */
	fluffle_u64 zone_size;    /* zone size in blocks */
	fluffle_u64 zone_cap;     /* writable blocks per zone */
	fluffle_u32 zone_count;   /* number of zones */
	fluffle_u32 scratch_size; /* bytes at csd_scratch() */
	fluffle_u64 input_len;    /* bytes at csd_input() (writes), else 0 */
	fluffle_u64 out_cap;      /* total bytes csd_emit() accepts */
};

#ifdef __bpf__
/*
 * Helpers. Pointers must lie in memory the kernel may use (its stack, the
 * scratch buffer, the context or input for reads): anything else ends the
 * run with EFAULT.
 */

/* Copies snapshot bytes [off, off+len) (clipped at the end) to dst; returns
 * the number copied, 0 at or past the end. */
static long (*const csd_read)(fluffle_u64 off, void *dst, fluffle_u64 len) = (void *)FLUFFLE_HELPER_READ;
/* Snapshot size in bytes (also ctx->size). */
static fluffle_u64 (*const csd_size)(void) = (void *)FLUFFLE_HELPER_SIZE;
/* Appends up to len bytes to the output; returns how many fit. */
static long (*const csd_emit)(const void *src, fluffle_u64 len) = (void *)FLUFFLE_HELPER_EMIT;
/* Address of the zeroed scratch buffer (ctx->scratch_size bytes). */
static void *(*const csd_scratch)(void) = (void *)FLUFFLE_HELPER_SCRATCH;
/* Number of file blocks (also ctx->lba_count). */
static fluffle_u64 (*const csd_lba_count)(void) = (void *)FLUFFLE_HELPER_LBA_COUNT;
/* Writes the LBAs of file blocks first..first+n-1 to dst
 * (FLUFFLE_CSD_LBA_HOLE for holes); returns how many were written. */
static long (*const csd_lbas)(fluffle_u64 first, fluffle_u64 *dst, fluffle_u64 n) = (void *)FLUFFLE_HELPER_LBAS;
/* Reads device block lba (FLUFFLE_CSD_BLOCK_SIZE bytes) to dst if the
 * snapshot references it: returns FLUFFLE_CSD_BLOCK_SIZE, or
 * -FLUFFLE_CSD_EACCES for any other LBA. */
static long (*const csd_read_lba)(fluffle_u64 lba, void *dst) = (void *)FLUFFLE_HELPER_READ_LBA;
/* Address of the data being written (write streams, ctx->input_len bytes,
 * read-only), 0 for reads. */
static const void *(*const csd_input)(void) = (void *)FLUFFLE_HELPER_INPUT;

#define CSD_KERNEL __attribute__((section("csd"), used))

/*
 * Reads the file's next chunk, [*off, min(*off + chunk, end)), into buf
 * and advances *off past it. Returns the chunk's length, 0 once *off has
 * reached end, or a negative errno (-5, EIO, for a short read). The loop
 * every whole-file kernel needs:
 *
 *	while ((n = csd_next_chunk(&off, ctx->size, buf, chunk)) > 0)
 *		... bytes buf[0..n) of the file, which start at off - n ...
 *	if (n < 0)
 *		return (int)n;
 */
static __attribute__((always_inline)) inline long
csd_next_chunk(fluffle_u64 *off, fluffle_u64 end, void *buf, fluffle_u64 chunk)
{
	fluffle_u64 want;
	long n;

	if (*off >= end)
		return 0;
	want = end - *off;
	if (want > chunk)
		want = chunk;
	n = csd_read(*off, buf, want);
	if (n != (long)want)
		return n < 0 ? n : -5;
	*off += want;
	return n;
}

#else /* userland */

#include <linux/ioctl.h>

/* FLUFFLE_IOC_CSD_LOAD: verify and store a program; id_out gets its id. */
struct fluffle_csd_load {
	fluffle_u64 prog_ptr; /* instruction bytes */
	fluffle_u32 prog_len; /* multiple of 8, <= FLUFFLE_CSD_MAX_PROG_BYTES */
	fluffle_u32 flags;    /* 0 */
	fluffle_u32 entry;    /* entry instruction index */
	fluffle_u32 id_out;   /* out: program id (never 0) */
};

/* FLUFFLE_IOC_CSD_RUN: run a program over a snapshot of the ioctl's file. */
struct fluffle_csd_run {
	fluffle_u32 id;         /* program id */
	fluffle_u32 flags;      /* 0 */
	fluffle_u64 offset;     /* ctx->req_offset */
	fluffle_u64 len;        /* ctx->req_len */
	fluffle_u64 out_ptr;    /* output buffer */
	fluffle_u64 out_len;    /* its capacity (ctx->out_cap) */
	fluffle_u64 result_len; /* out: bytes emitted */
};

#define FLUFFLE_IOC_CSD_LOAD _IOWR('F', 1, struct fluffle_csd_load)
#define FLUFFLE_IOC_CSD_UNLOAD _IOW('F', 2, fluffle_u32)
#define FLUFFLE_IOC_CSD_RUN _IOWR('F', 3, struct fluffle_csd_run)

#endif /* __bpf__ */

#endif /* FLUFFLE_CSD_H */
