#!/usr/bin/env bash
# After QEMU has exited: adds the whole-run checks to the per-test counts
# (the guest finished; the kernel log has no splat of any checker), prints
# the VM summary and writes build/vm-results.
mode=$1; run=$2
top=$(cd "$(dirname "$0")/.." && pwd)
read -r passed failed < "$run/counts" 2>/dev/null || { passed=0; failed=0; }

check() { # name, ok?(0/1), detail
  if [ "$2" = 0 ]; then passed=$((passed + 1)); printf 'PASS %s\n' "$1"
  else failed=$((failed + 1)); printf 'FAIL %s\n%s\n' "$1" "$3" | sed '2,$s/^/     | /'; fi
}

if [ -f "$run/done" ]; then
  check vm-guest-completed 0
else
  check vm-guest-completed 1 "$(cat "$run/qemu-timeout" 2>/dev/null)
the guest did not finish; last kernel messages:
$(tail -n 30 "$run/console.log")"
fi
# Splats of every checker the debug kernel has: oops/BUG/WARN, Rust panics,
# KASAN, lockdep (its reports start with "WARNING: possible ..." or
# "WARNING: inconsistent ..."; "INFO: trying to register non-static key" is
# a lock used uninitialised), RCU misuse, sleeping in atomic context (a
# "BUG:"), hung tasks, soft lockups and kmemleak's leak reports; and the
# module's own accounting check at unmount (a leaked space reservation).
splat='Oops|BUG:|WARNING:|cut here|Kernel panic|panicked|rust_panic|Call Trace:|general protection fault'
splat+='|UBSAN|KASAN:|INFO: task .* blocked|soft lockup|DEBUG_LOCKS_WARN_ON|non-static key'
splat+='|suspicious RCU usage|suspected memory leak|reservation leak'
bad=$(grep -nE "$splat" "$run/console.log" | head -n 20)
if [ -z "$bad" ]; then
  check vm-kernel-log-clean 0
else
  check vm-kernel-log-clean 1 "$bad
(full log: $run/console.log)"
fi
echo "$passed $failed" > "$top/build/vm-results"
echo "vm: $passed passed, $failed failed"
if [ "$mode" = script ]; then
  rc=$(cat "$run/script-rc" 2>/dev/null || echo 1)
  [ "$failed" = 0 ] || [ "$rc" != 0 ] || rc=1
  exit "$rc"
fi
[ "$failed" = 0 ]
