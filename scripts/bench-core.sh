#!/bin/sh
# Core benchmarks on the in-memory zoned device (not tests).
# bench: sequential 1 MiB writes/reads, random 4 KiB overwrites, creates/s,
# and write amplification at 50/80/95 % utilisation. BENCH_MIB sets the
# data size of the throughput part (default 256).
# scale: how metadata costs grow with the number of files (issue 11's
# baseline), one row per step: creates/s in one directory and in a tree,
# device bytes per create+4K+fsync and per checkpoint, mount time, core
# memory. BENCH_SCALE_FILES (default 100000) files in steps of
# BENCH_SCALE_STEP (default 10000), the tree over BENCH_SCALE_DIRS
# directories (default 100); the run stops after a step that took more
# than BENCH_SCALE_BUDGET_S seconds (default 60).
set -eu
cd "$(dirname "$0")/../userland"
cargo run --release -q -p fluffle --example bench
echo
exec cargo run --release -q -p fluffle --example scale
