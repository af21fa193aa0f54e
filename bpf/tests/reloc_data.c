/* Uses a global variable: needs a data relocation that cannot be
 * honoured; the ELF extractor must refuse it. Entry: data_main. */
#include "common.h"

u64 counter = 5;

u64 data_main(u64 *ctx)
{
	counter += ctx[0];
	return counter;
}
