/* Shared types for the eBPF VM's clang test programs (rust/ebpf/tests/clang.rs). */
#ifndef FLUFFLE_BPF_TESTS_COMMON_H
#define FLUFFLE_BPF_TESTS_COMMON_H

typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef unsigned char u8;

#define NOINLINE __attribute__((noinline))

#endif
