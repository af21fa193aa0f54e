#!/usr/bin/env bash
# `make fuzz-smoke`: a short cargo-fuzz run of every target of every
# rust/*/fuzz/ directory (cargo-fuzz layout, each its own workspace). Prints
# one line per target and exits non-zero if any target crashes, hangs
# (an input taking over FUZZ_TIMEOUT s counts as a crash) or fails to build.
#
# Env: FUZZ_SEED (libFuzzer seed, default 1, so a run is repeatable),
# FUZZ_SECONDS (per target, default 20), FUZZ_TIMEOUT (per input,
# default 10), FUZZ_ONLY (run only targets whose "crate/target" name
# contains this string). Only stable rustc is available: RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the nightly flags it needs. AddressSanitizer is used when
# it builds; otherwise the target is built with `-s none`.
# Corpora, artifacts (crash inputs) and logs go to build/fuzz/<crate>/<target>.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
out=$top/build/fuzz
mkdir -p "$out"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$out/target}

if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >"$out/install.log" 2>&1 \
    || { echo "FAIL fuzz: cannot install cargo-fuzz (see $out/install.log)"; exit 1; }
fi

status=0
found=0
for fuzz_dir in "$top"/rust/*/fuzz; do
  [ -f "$fuzz_dir/Cargo.toml" ] || continue
  crate_dir=$(dirname "$fuzz_dir")
  crate=$(basename "$crate_dir")
  targets=$(cd "$crate_dir" && cargo fuzz list --fuzz-dir fuzz 2>/dev/null)
  if [ -z "$targets" ]; then
    echo "FAIL fuzz $crate: no targets listed in $fuzz_dir"; status=1; continue
  fi
  for t in $targets; do
    case "$crate/$t" in *"${FUZZ_ONLY:-}"*) ;; *) continue ;; esac
    found=$((found + 1))
    dir=$out/$crate/$t
    mkdir -p "$dir/corpus" "$dir/artifacts"
    log=$dir/run.log
    # Prefer AddressSanitizer; fall back when its runtime is unavailable.
    san=()
    if ! (cd "$crate_dir" && cargo fuzz build --fuzz-dir fuzz "$t") >"$dir/build.log" 2>&1; then
      san=(-s none)
      if ! (cd "$crate_dir" && cargo fuzz build --fuzz-dir fuzz "${san[@]}" "$t") >>"$dir/build.log" 2>&1; then
        echo "FAIL fuzz $crate/$t: build failed (see $dir/build.log)"; status=1; continue
      fi
    fi
    # Checked-in seeds (fuzz/seeds/<target>/) join the corpus read-only.
    seeds=()
    [ -d "$fuzz_dir/seeds/$t" ] && seeds=("$fuzz_dir/seeds/$t")
    (cd "$crate_dir" && cargo fuzz run --fuzz-dir fuzz "${san[@]}" "$t" "$dir/corpus" "${seeds[@]}" -- \
      -seed="${FUZZ_SEED:-1}" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -artifact_prefix="$dir/artifacts/") >"$log" 2>&1
    rc=$?
    runs=$(grep -aoE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+')
    sanitizer=${san[1]:-address}
    if [ $rc -eq 0 ]; then
      echo "PASS fuzz $crate/$t: ${runs:-?} runs in ${FUZZ_SECONDS}s (sanitizer $sanitizer)"
    else
      echo "FAIL fuzz $crate/$t: exit $rc (see $log; inputs in $dir/artifacts)"
      status=1
    fi
  done
done
[ "$found" -gt 0 ] || echo "fuzz: no targets under rust/*/fuzz"
exit $status
