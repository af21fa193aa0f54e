// SPDX-License-Identifier: GPL-2.0
/*
 * The CSD data path alone: reads the whole file through csd_read in
 * scratch-sized chunks, as a computing kernel does, but computes almost
 * nothing, so its run time is the device reads and copies of a run
 * (`make bench-csd` subtracts it from a real kernel's time to show what
 * interpretation costs).
 *
 * Output (16 bytes, for a read at offset 0; later offsets read as EOF):
 *   struct { u64 bytes; u64 fold; }
 * bytes = the file size; fold = XOR of the first 8 bytes of every chunk
 * (the last one zero-padded), so a read that skipped data would show.
 */
#include "fluffle_csd.h"

struct scan_result {
	fluffle_u64 bytes;
	fluffle_u64 fold;
};

CSD_KERNEL int scan(const struct fluffle_csd_ctx *ctx)
{
	struct scan_result r = { 0, 0 };
	fluffle_u8 *buf = csd_scratch();
	fluffle_u64 chunk = ctx->scratch_size & ~7ULL;
	fluffle_u64 off = 0;
	long n;

	if (ctx->req_offset != 0)
		return 0;
	if (!buf || chunk == 0)
		return -FLUFFLE_CSD_EINVAL;
	while ((n = csd_next_chunk(&off, ctx->size, buf, chunk)) > 0) {
		fluffle_u64 head = 0;
		long i;

		for (i = 0; i < 8 && i < n; i++)
			head |= (fluffle_u64)buf[i] << (8 * i);
		r.fold ^= head;
		r.bytes += n;
	}
	if (n < 0)
		return (int)n;
	csd_emit(&r, sizeof(r));
	return 0;
}
