# Mounting what FluffleFS cannot use fails with an errno and a one-line reason.
. /fluffle/tests-lib.sh
modprobe flufflefs
truncate -s 64M /tmp/plain.img
loop=$(losetup -f --show /tmp/plain.img)
dmesg -C
if mount -t flufflefs $loop /mnt 2>err; then fail "mounted a non-zoned device"; fi
cat err
dmesg | grep -q "flufflefs: not a zoned block device" || fail "no reason in dmesg: $(dmesg | tail -n 3)"
losetup -d $loop
expect_fail mount -t flufflefs /dev/nonexistent /mnt
