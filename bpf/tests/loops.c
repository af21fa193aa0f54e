/* Loops: arithmetic loop and a byte-scanning loop (histogram, like the
 * entropy kernel) over the context. Entry points: sum_squares, histogram. */
#include "common.h"

/* ctx[0] = n; a loop clang cannot turn into a closed form. */
u64 sum_squares(u64 *ctx)
{
	u64 n = ctx[0], s = 0;

	for (u64 i = 0; i < n; i++)
		s += (i * i) ^ (s >> 5);
	return s;
}

struct hist_ctx {
	u64 len;
	u32 hist[256];
	u8 data[];
};

/* Counts every byte of data[0..len) into hist; returns distinct values. */
u64 histogram(struct hist_ctx *c)
{
	u64 distinct = 0;

	for (u64 i = 0; i < c->len; i++)
		c->hist[c->data[i]]++;
	for (int b = 0; b < 256; b++)
		if (c->hist[b])
			distinct++;
	return distinct;
}
