/* The program sits in its own section and calls a function in .text: that
 * needs linking, which the ELF extractor must refuse. Entry: cross_main. */
#include "common.h"

NOINLINE u64 helper_in_text(u64 x)
{
	return x * 3;
}

__attribute__((section("csd"), used)) u64 cross_main(u64 *ctx)
{
	return helper_in_text(ctx[0]) + 1;
}
