#!/usr/bin/env bash
# `make test`: every test, host and in-VM, then one line `N passed, N failed`.
# Host: `cargo test --workspace` (core, eBPF VM, CLI) and the fuzz smoke
# runs. VM: vm/run (module, tools, filesystem behaviour in a ZNS guest).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
mkdir -p "$top/build"
passed=0; failed=0
t0=$(date +%s)

"$here/install-deps.sh" || die "dependency installation failed"

step "host tests: cargo test --workspace"
log=$top/build/host-tests.log
(cd "$top/userland" && cargo test --workspace --release --no-fail-fast 2>&1) | tee "$log" | grep -E '^test result|^error|FAILED|panicked' 
# Sum the per-binary "test result" lines; a build failure counts as one failure.
read -r hp hf < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$log")
if grep -qE '^error(\[|:)' "$log" && [ "$hf" = 0 ]; then hf=1; echo "FAIL host build (see $log)"; fi
echo "host: $hp passed, $hf failed"
passed=$((passed + hp)); failed=$((failed + hf))

if [ -x "$here/fuzz-smoke.sh" ]; then
  step "fuzz smoke runs"
  if "$here/fuzz-smoke.sh"; then passed=$((passed + 1)); echo "PASS fuzz-smoke"
  else failed=$((failed + 1)); echo "FAIL fuzz-smoke"; fi
fi

step "VM tests: vm/run"
rm -f "$top/build/vm-results"
"$top/vm/run"
if read -r vp vf < "$top/build/vm-results" 2>/dev/null; then
  passed=$((passed + vp)); failed=$((failed + vf))
else
  failed=$((failed + 1)); echo "FAIL vm/run did not complete (build or boot failure above)"
fi

echo "make test took $(( $(date +%s) - t0 )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
