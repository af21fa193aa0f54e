#!/usr/bin/env bash
# `make run`: builds everything (cached), boots the ZNS guest and runs the demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# The fast kernel: no lockdep/KASAN/kmemleak slowing it down.
export FLUFFLE_KERNEL=${FLUFFLE_KERNEL:-fast}
exec "$top/vm/run" --script "$top/vm/demo.sh"
