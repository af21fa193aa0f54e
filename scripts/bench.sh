#!/usr/bin/env bash
# `make bench`: one VM boot measuring FluffleFS against the raw zoned
# device, btrfs (zoned) and f2fs (zoned, metadata on a small regular disk)
# on the same emulated ZNS namespace, and printing a table of MB/s and
# ops/s with each as a ratio to the raw device (see vm/bench/bench.py).
# Sizes come from the environment (defaults: issue 5's):
#   BENCH_SEQ_MB (256)  BENCH_RAND_FILE_MB (64)  BENCH_RAND_OPS (16384)
#   BENCH_FILES (5000)  BENCH_FS ("raw flufflefs btrfs f2fs")
#   BENCH_WORKLOADS ("seqwrite seqread randwrite creates scale")  BENCH_REPEAT (3, median)
#   scale (vm/bench/scale.py): BENCH_SCALE_FILES (100000) BENCH_SCALE_STEP (20000)
#   BENCH_SCALE_FSYNCS (200)
#   BENCH_WARMUP (1 unmeasured run first)
#   BENCH_TIMEOUT (300 s per measurement)  BENCH_RAW_QDS ("1 2 4" zones in flight)
# and the disk's from vm/run's FLUFFLE_* variables. A benchmark, not a
# test: a filesystem that fails shows n/a with the reason.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

out=$top/build/bench
mkdir -p "$out"
guest=$out/guest-bench.sh
{
  echo "#!/bin/sh"
  for v in BENCH_SEQ_MB BENCH_RAND_FILE_MB BENCH_RAND_OPS BENCH_FILES BENCH_FS BENCH_WORKLOADS BENCH_REPEAT BENCH_WARMUP BENCH_TIMEOUT BENCH_RAW_QDS \
      BENCH_SCALE_FILES BENCH_SCALE_STEP BENCH_SCALE_FSYNCS; do
    [ -z "${!v:-}" ] || printf 'export %s=%q\n' "$v" "${!v}"
  done
  echo "cat > /tmp/bench.py <<'__BENCH_PY__'"
  cat "$top/vm/bench/bench.py"
  echo "__BENCH_PY__"
  echo "cat > /tmp/scale.py <<'__SCALE_PY__'"
  cat "$top/vm/bench/scale.py"
  echo "__SCALE_PY__"
  cat "$top/vm/bench/bench.sh"
} > "$guest"

# f2fs keeps its metadata on a regular device (128 MiB is plenty) and, with
# 64 MiB zones, reserves so many sections for GC that the tests' 16-zone
# namespace leaves it ~100 MiB: the benchmark's namespace has 48 zones
# (3 GiB, a sparse file), the same for every contender. The whole run must
# fit in the guest's script timeout.
# Benchmarks run on the fast kernel (no lockdep/KASAN/kmemleak).
export FLUFFLE_KERNEL=${FLUFFLE_KERNEL:-fast}
export FLUFFLE_ZONES=${FLUFFLE_ZONES:-48}
export FLUFFLE_EXTRA_DISK_MB=${FLUFFLE_EXTRA_DISK_MB:-128}
export FLUFFLE_TEST_TIMEOUT=${FLUFFLE_TEST_TIMEOUT:-3400}
step "benchmark: raw device, FluffleFS, btrfs, f2fs (one VM boot, TCG: about 10-15 min)"
"$top/vm/run" --script "$guest" | tee "$out/bench.log"
