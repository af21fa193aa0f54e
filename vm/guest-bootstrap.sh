#!/bin/sh
# PID 1 of the FluffleFS test guest, baked into the cached Debian image.
# It does the least that cannot change between runs: mount the kernel
# filesystems and the per-run payload disk (/dev/vdb, made by vm/run), then
# hand over to the payload's own init, which knows what to run. A full init
# system would be too slow under TCG.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /fluffle
if mount -t ext4 -o ro /dev/vdb /fluffle && [ -x /fluffle/init.sh ]; then
  exec /fluffle/init.sh
fi
echo "fluffle-bootstrap: no payload disk at /dev/vdb" > /dev/console
# No ACPI in the guest kernel: an immediate reboot ends QEMU (-no-reboot).
echo b > /proc/sysrq-trigger
