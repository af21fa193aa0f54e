/* Helper calls by id, as the CSD kernels make them. Entry: helpers_main. */
#include "common.h"

/* Helper 1: returns the sum of its five arguments. */
static u64 (*const sum5)(u64, u64, u64, u64, u64) = (void *)1;

u64 helpers_main(u64 *ctx)
{
	return sum5(ctx[0], ctx[1], 3, 4, 5) * 2;
}
