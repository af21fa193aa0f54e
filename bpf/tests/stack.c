/* Stack use: an array on the stack filled by a callee through a pointer,
 * then sorted. Entry point: stack_main. */
#include "common.h"

#define N 48

static NOINLINE void fill(u64 *a, u64 seed)
{
	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		a[i] = seed >> 33;
	}
}

static NOINLINE void sort(u64 *a)
{
	for (int i = 1; i < N; i++) {
		u64 v = a[i];
		int j = i - 1;

		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

/* ctx[0] = seed; writes the sorted array to ctx[1..=N]; returns a checksum. */
u64 stack_main(u64 *ctx)
{
	u64 a[N];
	u64 sum = 0;

	fill(a, ctx[0]);
	sort(a);
	for (int i = 0; i < N; i++) {
		ctx[1 + i] = a[i];
		sum = sum * 3 + a[i];
	}
	return sum;
}
