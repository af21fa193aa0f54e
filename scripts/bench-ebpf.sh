#!/usr/bin/env bash
# `make bench-ebpf`: instructions per second of FluffleFS's eBPF interpreter
# (rust/ebpf) next to rbpf 0.4's interpreter on the same programs: a tight
# arithmetic loop, a byte histogram over 1 MiB (the entropy kernel's core)
# a call-heavy loop (local call + helper call per iteration) and independent
# increments (no dependency chains), on the checked and the pre-decoded
# interpreter. Prints one table (Minsn/s and ns/insn); the last column is
# pre-decoded / rbpf. A benchmark, not a test.
# Optional: REPS=<n> (best of n runs, default 5).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$top/build/cargo-bench-ebpf}
cd "$top/userland"
cargo build --release -q -p ebpf --example bench
exec cargo run --release -q -p ebpf --example bench -- "${REPS:-5}"
