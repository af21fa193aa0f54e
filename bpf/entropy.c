// SPDX-License-Identifier: GPL-2.0
/*
 * Byte histogram and Shannon entropy of a file (OpenCSD's demo).
 *
 * Output (1040 bytes, for a read at offset 0; later offsets read as EOF):
 *   struct { u32 hist[256]; u64 total; u64 entropy_q16; }
 * hist[b] counts the bytes of value b (files below 4 GiB), total is the
 * file size, entropy_q16 the entropy in bits per byte times 65536, from an
 * integer log2 approximation (kernels cannot use floating point; the exact
 * value can be computed by the caller from the histogram).
 *
 * The histogram lives in the scratch buffer (1 KiB does not fit the 512-byte
 * eBPF stack); the file is read into the rest of the scratch in chunks.
 */
#include "fluffle_csd.h"

#define HIST_BYTES 1024
#define DATA_OFFSET 4096
/* The histogram counter at byte offset (x & 0x3fc). */
#define BIN(x) (*(fluffle_u32 *)((fluffle_u8 *)hist + ((x) & 0x3fc)))

/* log2(x) in Q16 fixed point, for x >= 1. */
static fluffle_u64 log2_q16(fluffle_u64 x)
{
	fluffle_u64 ip = 0, frac = 0, m;
	int i;

	while (ip < 63 && (x >> (ip + 1)))
		ip++;
	/* Mantissa x / 2^ip in Q31, in [1, 2). */
	m = ip >= 31 ? x >> (ip - 31) : x << (31 - ip);
	/* Each squaring yields one more fractional bit. */
	for (i = 0; i < 16; i++) {
		m = (m * m) >> 31;
		frac <<= 1;
		if (m >= (2ULL << 31)) {
			m >>= 1;
			frac |= 1;
		}
	}
	return (ip << 16) | frac;
}

CSD_KERNEL int entropy(const struct fluffle_csd_ctx *ctx)
{
	fluffle_u8 *scratch = csd_scratch();
	fluffle_u32 *hist = (fluffle_u32 *)scratch;
	fluffle_u8 *buf = scratch + DATA_OFFSET;
	fluffle_u64 chunk = ctx->scratch_size - DATA_OFFSET;
	fluffle_u64 size = ctx->size, off = 0, weighted = 0;
	fluffle_u64 tail[2];
	long n, i;
	int b;

	if (ctx->req_offset != 0)
		return 0;
	if (!scratch || ctx->scratch_size <= DATA_OFFSET)
		return -FLUFFLE_CSD_EINVAL;
	/* The scratch buffer starts zeroed: the histogram needs no clearing. */
	while ((n = csd_next_chunk(&off, size, buf, chunk)) > 0) {
		/* Eight bytes per load; each byte's bin is its value times 4,
		 * taken straight from the shifted word. */
		for (i = 0; i + 8 <= n; i += 8) {
			fluffle_u64 w = *(fluffle_u64 *)(buf + i);

			BIN(w << 2)++;
			BIN(w >> 6)++;
			BIN(w >> 14)++;
			BIN(w >> 22)++;
			BIN(w >> 30)++;
			BIN(w >> 38)++;
			BIN(w >> 46)++;
			BIN(w >> 54)++;
		}
		for (; i < n; i++)
			hist[buf[i]]++;
	}
	if (n < 0)
		return (int)n;
	/* H = log2(N) - sum(c * log2(c)) / N */
	for (b = 0; b < 256; b++)
		if (hist[b])
			weighted += (fluffle_u64)hist[b] * log2_q16(hist[b]);
	tail[0] = size;
	tail[1] = size ? log2_q16(size) - weighted / size : 0;
	csd_emit(hist, HIST_BYTES);
	csd_emit(tail, sizeof(tail));
	return 0;
}
