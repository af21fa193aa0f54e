// SPDX-License-Identifier: GPL-2.0
/* Counts occurrences of "fluffle" (overlapping ones too). See count_pattern.h. */
#include "count_pattern.h"

CSD_KERNEL int count_pattern(const struct fluffle_csd_ctx *ctx)
{
	return count_pattern_run(ctx, CSD_PACK7('f', 'l', 'u', 'f', 'f', 'l', 'e'), 7);
}
