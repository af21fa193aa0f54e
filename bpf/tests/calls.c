/* bpf-to-bpf calls: static and global non-inlined functions, recursion,
 * callee-saved registers. Entry point: calls_main. */
#include "common.h"

static NOINLINE u64 mix(u64 a, u64 b)
{
	return a * 31 + (b ^ (a >> 3));
}

/* Global: clang emits an R_BPF_64_32 relocation for calls to it. */
NOINLINE u64 gmix(u64 a, u64 b, u64 c)
{
	return (a ^ c) + b * 7;
}

static NOINLINE u64 fib(u64 n)
{
	if (n < 2)
		return n;
	return fib(n - 1) + fib(n - 2);
}

/* ctx = { iterations, salt, fib_n }. */
u64 calls_main(u64 *ctx)
{
	u64 acc = 1, n = ctx[0], salt = ctx[1];

	for (u64 i = 0; i < n; i++)
		acc = mix(acc, i) + gmix(acc, i, salt);
	return acc + fib(ctx[2]);
}
