#!/usr/bin/env bash
# `make bench-scale`: only the scale workload of `make bench` (metadata at
# scale, issue 11: one directory grown to BENCH_SCALE_FILES files, then
# create + 4 KiB write + fsync in it, mount time, kernel memory; FluffleFS,
# btrfs and f2fs in one VM boot; see vm/bench/scale.py).
set -euo pipefail
export BENCH_WORKLOADS=${BENCH_WORKLOADS:-scale}
exec "$(cd "$(dirname "$0")" && pwd)/bench.sh"
