#!/usr/bin/env bash
# `make bench-csd`: CSD kernels vs userland over a 256 MiB file in the VM
# (FLUFFLE_CSD_MB changes the size). A benchmark, not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "$top/vm/run" --script "$top/vm/bench/csd.sh"
