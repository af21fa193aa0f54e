/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting occurrences of a byte pattern of 1 to 8 bytes (a grep-like
 * filter), overlapping matches included. Each kernel object fixes its
 * pattern at compile time (no global data is allowed, and the pattern is
 * packed into an integer): see count_pattern.c and count_lines.c.
 *
 * Output (8 bytes, for a read at offset 0; later offsets read as EOF):
 *   u64 count
 *
 * The file is scanned once in scratch-sized chunks while a sliding window
 * of the last `len` bytes is kept in a register, so matches that straddle
 * chunk boundaries are found like any other.
 */
#ifndef FLUFFLE_COUNT_PATTERN_H
#define FLUFFLE_COUNT_PATTERN_H

#include "fluffle_csd.h"

/* Packs pattern bytes first-to-last into the window's layout. */
#define CSD_PACK1(a) ((fluffle_u64)(fluffle_u8)(a))
#define CSD_PACK2(a, b) ((CSD_PACK1(a) << 8) | CSD_PACK1(b))
#define CSD_PACK3(a, b, c) ((CSD_PACK2(a, b) << 8) | CSD_PACK1(c))
#define CSD_PACK4(a, b, c, d) ((CSD_PACK3(a, b, c) << 8) | CSD_PACK1(d))
#define CSD_PACK5(a, b, c, d, e) ((CSD_PACK4(a, b, c, d) << 8) | CSD_PACK1(e))
#define CSD_PACK6(a, b, c, d, e, f) ((CSD_PACK5(a, b, c, d, e) << 8) | CSD_PACK1(f))
#define CSD_PACK7(a, b, c, d, e, f, g) ((CSD_PACK6(a, b, c, d, e, f) << 8) | CSD_PACK1(g))
#define CSD_PACK8(a, b, c, d, e, f, g, h) ((CSD_PACK7(a, b, c, d, e, f, g) << 8) | CSD_PACK1(h))

static inline __attribute__((always_inline)) int count_pattern_run(const struct fluffle_csd_ctx *ctx,
							    fluffle_u64 pattern, fluffle_u64 len)
{
	fluffle_u8 *buf = csd_scratch();
	fluffle_u64 mask = len >= 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
	fluffle_u64 chunk = ctx->scratch_size, size = ctx->size;
	fluffle_u64 off = 0, window = 0, count = 0;
	long n, i;

	if (ctx->req_offset != 0)
		return 0;
	if (!buf || chunk == 0 || len == 0 || len > 8)
		return -FLUFFLE_CSD_EINVAL;
	while ((n = csd_next_chunk(&off, size, buf, chunk)) > 0) {
		for (i = 0; i < n; i++) {
			window = ((window << 8) | buf[i]) & mask;
			/* The position test only matters for the first bytes,
			 * whose window is padded with zeros (buf[i] is at file
			 * offset off - n + i). */
			if (window == pattern && off - n + i + 1 >= len)
				count++;
		}
	}
	if (n < 0)
		return (int)n;
	csd_emit(&count, sizeof(count));
	return 0;
}

#endif
