# Damaged or foreign images are refused with an errno and a reason in
# dmesg, never an oops (the runner checks the kernel log).
. /fluffle/tests-lib.sh
dev=$FLUFFLE_DEV
modprobe flufflefs
zone_sectors=$(( FLUFFLE_ZONE_SIZE_MB * 2048 ))

# Never formatted: both checkpoint zones empty.
blkzone reset $dev
dmesg -C
if mount -t flufflefs $dev /mnt 2>/dev/null; then fail "mounted an empty device"; fi
dmesg | grep -q "flufflefs: cannot mount" || fail "no reason in dmesg: $(dmesg | tail -n 3)"

# A formatted filesystem whose checkpoint zones are overwritten with garbage.
mkfs.flufflefs $dev >/dev/null
mount -t flufflefs $dev /mnt && echo data > /mnt/f && umount /mnt
blkzone reset -o 0 -c 2 $dev
dd if=/dev/urandom of=$dev bs=4096 count=64 oflag=direct 2>/dev/null
dd if=/dev/urandom of=$dev bs=4096 count=64 seek=$(( zone_sectors / 8 )) oflag=direct 2>/dev/null
dmesg -C
if mount -t flufflefs $dev /mnt 2>/dev/null; then fail "mounted garbage checkpoints"; fi
dmesg | grep -q "flufflefs: cannot mount" || fail "no reason in dmesg: $(dmesg | tail -n 3)"

# Log zones reset under a valid checkpoint: mount or access fails cleanly.
mkfs.flufflefs $dev >/dev/null
mount -t flufflefs $dev /mnt
for i in 1 2 3 4 5 6 7 8; do head -c 1048576 /dev/urandom > /mnt/f$i; done
umount /mnt
blkzone reset -o $(( 2 * zone_sectors )) -c $(( FLUFFLE_ZONES - 2 )) $dev
dmesg -C
if mount -t flufflefs $dev /mnt 2>/dev/null; then
  # The metadata may all sit in the checkpoint; the data cannot.
  if cat /mnt/f1 >/dev/null 2>&1; then fail "read file data from reset zones"; fi
  umount /mnt
fi
echo "bad images refused"
