#!/usr/bin/env bash
# `make run`: builds everything (cached), boots the ZNS guest and runs the demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "$top/vm/run" --script "$top/vm/demo.sh"
