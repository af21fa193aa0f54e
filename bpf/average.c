// SPDX-License-Identifier: GPL-2.0
/*
 * Integer average over a file of little-endian int32s (ZCSD's demo).
 *
 * Output (24 bytes, for a read at offset 0; later offsets read as EOF):
 *   struct { s64 sum; u64 count; s64 average; }
 * average = sum / count rounded toward zero (0 for an empty file);
 * trailing bytes that do not form a whole int32 are ignored.
 */
#include "fluffle_csd.h"

struct average_result {
	fluffle_s64 sum;
	fluffle_u64 count;
	fluffle_s64 average;
};

CSD_KERNEL int average(const struct fluffle_csd_ctx *ctx)
{
	struct average_result r = { 0, 0, 0 };
	fluffle_u8 *buf = csd_scratch();
	fluffle_u64 chunk = ctx->scratch_size & ~3ULL;
	fluffle_u64 end = ctx->size & ~3ULL;
	fluffle_u64 off = 0;
	long n, i;

	if (ctx->req_offset != 0)
		return 0;
	if (!buf || chunk == 0)
		return -FLUFFLE_CSD_EINVAL;
	while ((n = csd_next_chunk(&off, end, buf, chunk)) > 0)
		for (i = 0; i < n; i += 4)
			r.sum += *(fluffle_s32 *)(buf + i);
	if (n < 0)
		return (int)n;
	r.count = end / 4;
	if (r.count) {
		/* Unsigned division (no signed divide before eBPF v4). */
		fluffle_u64 mag = r.sum < 0 ? -(fluffle_u64)r.sum : (fluffle_u64)r.sum;
		fluffle_u64 q = mag / r.count;

		r.average = r.sum < 0 ? -(fluffle_s64)q : (fluffle_s64)q;
	}
	csd_emit(&r, sizeof(r));
	return 0;
}
