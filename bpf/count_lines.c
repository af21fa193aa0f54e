// SPDX-License-Identifier: GPL-2.0
/* Counts newlines, like `wc -l`. See count_pattern.h. */
#include "count_pattern.h"

CSD_KERNEL int count_lines(const struct fluffle_csd_ctx *ctx)
{
	return count_pattern_run(ctx, CSD_PACK1('\n'), 1);
}
