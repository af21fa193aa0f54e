// SPDX-License-Identifier: GPL-2.0
/*
 * Device-level read, as the seed's kernels did it: walks the snapshot's
 * list of device blocks (csd_lbas) and reads each block by LBA
 * (csd_read_lba), hashing the file content with 64-bit FNV-1a. Holes read
 * as zeros; the last block counts only up to the file size.
 *
 * Output (32 bytes, for a read at offset 0; later offsets read as EOF):
 *   struct { u64 fnv1a; u64 byte_sum; u64 blocks_read; u64 holes; }
 * so `fnv1a` equals FNV-1a of the file's bytes, whatever their layout.
 */
#include "fluffle_csd.h"

#define FNV_PRIME 0x100000001b3ULL
#define BATCH 16

CSD_KERNEL int lba_hash(const struct fluffle_csd_ctx *ctx)
{
	fluffle_u8 *blk = csd_scratch();
	fluffle_u64 lbas[BATCH];
	fluffle_u64 res[4] = { 0xcbf29ce484222325ULL, 0, 0, 0 };
	fluffle_u64 n = csd_lba_count(), first = 0, size = ctx->size;

	if (ctx->req_offset != 0)
		return 0;
	if (!blk || n != ctx->lba_count)
		return -FLUFFLE_CSD_EINVAL;
	while (first < n) {
		long got = csd_lbas(first, lbas, BATCH), i;

		if (got <= 0)
			return -5; /* EIO: the list ended early */
		for (i = 0; i < got; i++) {
			fluffle_u64 base = (first + i) * FLUFFLE_CSD_BLOCK_SIZE, j, lim;
			long r;

			lim = size - base < FLUFFLE_CSD_BLOCK_SIZE ? size - base : FLUFFLE_CSD_BLOCK_SIZE;
			if (lbas[i] == FLUFFLE_CSD_LBA_HOLE) {
				res[3]++;
				for (j = 0; j < lim; j++)
					res[0] *= FNV_PRIME;
				continue;
			}
			r = csd_read_lba(lbas[i], blk);
			if (r != FLUFFLE_CSD_BLOCK_SIZE)
				return r < 0 ? (int)r : -5;
			res[2]++;
			for (j = 0; j < lim; j++) {
				res[0] = (res[0] ^ blk[j]) * FNV_PRIME;
				res[1] += blk[j];
			}
		}
		first += got;
	}
	return csd_emit(res, sizeof(res)) == sizeof(res) ? 0 : -5;
}
