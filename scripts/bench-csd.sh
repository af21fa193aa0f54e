#!/usr/bin/env bash
# `make bench-csd`: CSD kernels vs userland over a 256 MiB file in the VM
# (FLUFFLE_CSD_MB changes the size). A benchmark, not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# The fast kernel: no lockdep/KASAN/kmemleak slowing it down.
export FLUFFLE_KERNEL=${FLUFFLE_KERNEL:-fast}
exec "$top/vm/run" --script "$top/vm/bench/csd.sh"
