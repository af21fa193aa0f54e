# The guest is the one the tests are meant to run on: as many CPUs as
# FLUFFLE_SMP asked for (ACPI finds them), and on the debug kernel
# (FLUFFLE_KERNEL=debug, what `make test` boots) lockdep, KASAN and
# kmemleak active; on every kernel the fault injectors the error tests use.
. /fluffle/tests-lib.sh
expect_eq "online CPUs" "$(nproc)" "$FLUFFLE_SMP"
[ -d /sys/kernel/debug/fail_make_request ] || fail "no fail_make_request in debugfs"
targets=$(dmsetup targets)
echo "$targets" | grep -q '^flakey' || fail "no dm-flakey target: $targets"
echo "$targets" | grep -q '^error' || fail "no dm-error target: $targets"
if [ "$FLUFFLE_KERNEL" = debug ]; then
  [ -e /proc/lockdep ] || fail "debug kernel without lockdep"
  grep -q "lock-classes" /proc/lockdep_stats || fail "lockdep not counting lock classes"
  dmesg | grep -q "KernelAddressSanitizer initialized" || fail "debug kernel without KASAN"
  [ -e /sys/kernel/debug/kmemleak ] || fail "debug kernel without kmemleak"
  # lockdep must still be on: an earlier report (or an overflow) turns it off.
  grep -q "debug_locks:  *1" /proc/lockdep_stats || fail "lockdep is off: $(grep debug_locks /proc/lockdep_stats)"
fi
echo "$(nproc) CPUs, kernel $FLUFFLE_KERNEL"
