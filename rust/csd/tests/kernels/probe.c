// SPDX-License-Identifier: GPL-2.0
/* Test kernels for rust/csd/tests: context, LBA helpers, hostile behaviour. */
#include "fluffle_csd.h"

/* Emits the context as the kernel sees it. */
CSD_KERNEL int emit_ctx(const struct fluffle_csd_ctx *ctx)
{
	return csd_emit(ctx, sizeof(*ctx)) == sizeof(*ctx) ? 0 : -5;
}

/* Reads LBA req_offset and emits the helper's result (s64) and, on success,
 * the block's first 8 bytes. */
CSD_KERNEL int lba_probe(const struct fluffle_csd_ctx *ctx)
{
	fluffle_u8 *blk = csd_scratch();
	long r = csd_read_lba(ctx->req_offset, blk);

	csd_emit(&r, sizeof(r));
	if (r > 0)
		csd_emit(blk, 8);
	return 0;
}

/* csd_read at req_offset of req_len bytes into scratch; emits the result. */
CSD_KERNEL int read_at(const struct fluffle_csd_ctx *ctx)
{
	long r = csd_read(ctx->req_offset, csd_scratch(), ctx->req_len);

	csd_emit(&r, sizeof(r));
	return 0;
}

/* Never ends. */
CSD_KERNEL int spin(const struct fluffle_csd_ctx *ctx)
{
	volatile fluffle_u64 x = ctx->size;

	for (;;)
		x = x + 1;
	return 0;
}

/* Loads far past the end of the context. (Regions are host buffers at
 * host addresses: a small overrun may land in another region of the same
 * run, which is allowed; 1 TiB away cannot.) */
CSD_KERNEL int load_outside(const struct fluffle_csd_ctx *ctx)
{
	return *((volatile const char *)ctx + (1ULL << 40));
}

/* Writes to the read-only context. */
CSD_KERNEL int store_ctx(struct fluffle_csd_ctx *ctx)
{
	((volatile struct fluffle_csd_ctx *)ctx)->size = 0;
	return 0;
}

/* Reads the snapshot into a made-up address. */
CSD_KERNEL int read_to_bad_pointer(const struct fluffle_csd_ctx *ctx)
{
	return csd_read(0, (void *)(unsigned long)(ctx->size + 0x1000), 16);
}

/* Reads more than the scratch buffer holds. */
CSD_KERNEL int read_too_long(const struct fluffle_csd_ctx *ctx)
{
	return csd_read(0, csd_scratch(), ctx->scratch_size + 1);
}

/* Emits from a made-up address. */
CSD_KERNEL int emit_bad_pointer(const struct fluffle_csd_ctx *ctx)
{
	return csd_emit((void *)0x1000, 8);
}

/* Fails the request with ENODATA. */
CSD_KERNEL int fail_enodata(const struct fluffle_csd_ctx *ctx)
{
	return -61;
}

/* Calls a helper id nobody registered. In a section of its own: the
 * verifier checks the whole section a kernel is loaded from. */
static long (*const no_such_helper)(void) = (void *)99;
__attribute__((section("csd_bad"), used)) int unknown_helper(const struct fluffle_csd_ctx *ctx)
{
	return no_such_helper();
}

/* Writes far past the end of its stack. */
CSD_KERNEL int smash_stack(const struct fluffle_csd_ctx *ctx)
{
	volatile char buf[16];
	volatile long i = 1L << 40;

	buf[i] = 1;
	return buf[0];
}
