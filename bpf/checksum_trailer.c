// SPDX-License-Identifier: GPL-2.0
/*
 * Write-stream kernel: stores every write() as a record of the data
 * followed by its CRC-32 (IEEE 802.3, as zlib's crc32()) in 4 bytes,
 * little-endian. A write of n bytes thus stores n + 4 bytes.
 *
 * The 1 KiB CRC table is built in the scratch buffer at every run (no
 * global data is allowed; 256 * 8 shift steps are cheap next to the data).
 */
#include "fluffle_csd.h"

CSD_KERNEL int checksum_trailer(const struct fluffle_csd_ctx *ctx)
{
	const fluffle_u8 *in = csd_input();
	fluffle_u32 *table = csd_scratch();
	fluffle_u64 len = ctx->input_len, i;
	fluffle_u32 crc = 0xffffffff;
	int n, k;

	if (ctx->op != FLUFFLE_CSD_OP_WRITE || !table || ctx->scratch_size < 1024)
		return -FLUFFLE_CSD_EINVAL;
	if (len + 4 > ctx->out_cap)
		return -7; /* E2BIG: no room for the trailer */
	for (n = 0; n < 256; n++) {
		fluffle_u32 c = n;

		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1;
		table[n] = c;
	}
	for (i = 0; i < len; i++)
		crc = table[(crc ^ in[i]) & 0xff] ^ (crc >> 8);
	crc = ~crc;
	if (len)
		csd_emit(in, len);
	csd_emit(&crc, sizeof(crc));
	return 0;
}
