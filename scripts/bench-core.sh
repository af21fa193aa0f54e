#!/bin/sh
# Core benchmark on the in-memory zoned device (not a test): sequential
# 1 MiB writes/reads, random 4 KiB overwrites, creates/s, and write
# amplification at 50/80/95 % utilisation. BENCH_MIB sets the data size of
# the throughput part (default 256).
set -eu
cd "$(dirname "$0")/../userland"
exec cargo run --release -q -p fluffle --example bench
