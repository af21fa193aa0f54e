// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest CSD kernel: returns a constant. It proves that the C files in bpf/
 * compile to eBPF objects that the VM tests (and later `fluffle load`) see.
 */
__attribute__((section("csd"), used))
int hello(void *ctx)
{
	(void)ctx;
	return 42;
}
