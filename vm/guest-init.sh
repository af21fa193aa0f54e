#!/bin/sh
# Init of one guest run, from the payload disk (/fluffle, made by vm/run).
# Installs the module so `modprobe flufflefs` works, then either runs the
# test list (reporting each on the results port) or the user's script.
# Results go to /dev/ttyS1 (a file on the host), kernel messages to ttyS0.
export PATH=/fluffle/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
. /fluffle/env            # FLUFFLE_MODE, FLUFFLE_TEST_TIMEOUT, zone geometry
# fd 3 is the results port; everything else the init prints goes there
# too, so the kernel log on ttyS0 holds only kernel messages.
exec 3>/dev/ttyS1 1>&3 2>&3

moddir=/lib/modules/$(uname -r)/extra
mkdir -p "$moddir"
cp /fluffle/flufflefs.ko "$moddir/"
# A hand-made module tree has none of the index files depmod expects.
touch "/lib/modules/$(uname -r)/modules.order" "/lib/modules/$(uname -r)/modules.builtin" \
  "/lib/modules/$(uname -r)/modules.builtin.modinfo"
depmod -a
# The standard names `mkfs -t flufflefs` and `fsck -t flufflefs` look for.
ln -sf /fluffle/bin/fluffle /usr/local/sbin/mkfs.flufflefs
ln -sf /fluffle/bin/fluffle /usr/local/sbin/fsck.flufflefs
export PYTHONPATH=/fluffle
mkdir -p /mnt
cd /tmp
# debugfs: kmemleak and fail_make_request are configured through it.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# dmsetup makes its /dev/mapper nodes itself: no udev in this guest.
export DM_DISABLE_UDEV=1

# The ZNS namespaces by NSID: with two CPUs the kernel scans them in
# parallel, so which one becomes nvme0n1 changes from boot to boot. Tests
# use $FLUFFLE_DEV (NSID 1, the big disk) and $FLUFFLE_SMALL_DEV (NSID 2).
# The scan may still run when init starts: wait for both (10 s at most).
ns_dev() {
  for b in /sys/block/nvme*n*; do
    [ "$(cat "$b/nsid" 2>/dev/null)" = "$1" ] && [ -b "/dev/${b##*/}" ] && { echo "/dev/${b##*/}"; return 0; }
  done
  return 1
}
tries=0
until FLUFFLE_DEV=$(ns_dev 1) && FLUFFLE_SMALL_DEV=$(ns_dev 2); do
  tries=$((tries + 1)); [ $tries -ge 100 ] && break
  sleep 0.1
done
export FLUFFLE_DEV FLUFFLE_SMALL_DEV

# What this guest checks, for the run's header (vm/report.sh prints @@INFO).
debug=""
[ -e /proc/lockdep ] && debug="$debug lockdep"
dmesg | grep -q "KernelAddressSanitizer initialized" && debug="$debug KASAN"
[ -e /sys/kernel/debug/kmemleak ] && debug="$debug kmemleak"
[ -d /sys/kernel/debug/fail_make_request ] && debug="$debug fail_make_request"
dmsetup targets 2>/dev/null | grep -q '^flakey' && debug="$debug dm-flakey"
dmsetup targets 2>/dev/null | grep -q '^error' && debug="$debug dm-error"
echo "@@INFO guest: $(nproc) CPUs, kernel $(uname -r) ($FLUFFLE_KERNEL), checks:${debug:- none}; disks: $FLUFFLE_DEV (big), $FLUFFLE_SMALL_DEV (small)" >&3

finish() {
  echo "@@DONE" >&3
  sync
  # No ACPI in the guest kernel: an immediate reboot ends QEMU (-no-reboot).
  echo b > /proc/sysrq-trigger
}

if [ "$FLUFFLE_MODE" = script ]; then
  modprobe flufflefs
  echo "@@BEGIN script" >&3
  timeout "$FLUFFLE_TEST_TIMEOUT" sh /fluffle/user-script >&3 2>&3
  echo "@@END script $?" >&3
  finish
fi

for t in /fluffle/tests/*; do
  name=$(basename "$t"); name=${name%.*}
  case "$t" in *.py) run="python3 -u" ;; *) run="sh -e" ;; esac
  echo "@@BEGIN $name" >&3
  start=$(date +%s)
  # Each test starts from the same state: module unloaded, disk not mounted,
  # no device-mapper device left over (one holds the disk open).
  umount /mnt 2>/dev/null
  dmsetup remove_all 2>/dev/null
  rmmod flufflefs 2>/dev/null
  timeout "$FLUFFLE_TEST_TIMEOUT" $run "$t" >&3 2>&3
  rc=$?
  echo "@@END $name $rc $(( $(date +%s) - start ))" >&3
done
finish
