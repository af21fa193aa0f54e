#!/bin/sh
# Guest side of `make bench` (scripts/bench.sh puts bench.py at
# /tmp/bench.py and the BENCH_* settings in the environment first).
# Prints the progress of each measurement, then the table.
echo "guest: $(nproc) CPUs, $(( $(sed -n 's/MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024 )) MiB," \
  "kernel $(uname -r), zoned: $(cat /sys/block/${FLUFFLE_DEV#/dev/}/queue/zoned)," \
  "metadata disk for f2fs: $( [ -b /dev/vdc ] && echo "/dev/vdc $(( $(cat /sys/block/vdc/size) / 2048 )) MiB" || echo none)"
umount /mnt 2>/dev/null
# bench.py's workloads, then the scale workload (vm/bench/scale.py), each
# if BENCH_WORKLOADS names it (default: all).
wl=" ${BENCH_WORKLOADS:-seqwrite seqread randwrite creates scale} "
rc=0
case "$wl" in *" seqwrite "*|*" seqread "*|*" randwrite "*|*" creates "*) python3 -u /tmp/bench.py || rc=1 ;; esac
case "$wl" in *" scale "*) python3 -u /tmp/scale.py || rc=1 ;; esac
exit $rc
