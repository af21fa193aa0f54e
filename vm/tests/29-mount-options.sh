# Mount options: FluffleFS has none of its own, so an unknown option is
# refused (EINVAL, and dmesg names it) instead of mounting silently; the
# VFS's own (ro, noatime, ...) work and /proc/mounts shows what is in
# force; switching between ro and rw by remount is refused (not built).
. /fluffle/tests-lib.sh
modprobe flufflefs
dev=$FLUFFLE_DEV
mkfs -t flufflefs $dev >/dev/null
opts() { awk '$2 == "/mnt" {print $4}' /proc/mounts; }
for o in bogus "noatime,bogus" "x=1"; do
  dmesg -C
  if mount -t flufflefs -o "$o" $dev /mnt 2>err; then umount /mnt; fail "mounted with -o $o"; fi
  bad=${o##*,}
  dmesg | grep -q "unknown mount option \"$bad\"" || fail "no reason for -o $o in dmesg: $(dmesg | tail -n 3)"
done
grep -q ' /mnt ' /proc/mounts && fail "a refused mount is mounted"
mount -t flufflefs -o noatime,nodev $dev /mnt
case ",$(opts)," in *,noatime,*) ;; *) fail "noatime not in /proc/mounts: $(opts)" ;; esac
case ",$(opts)," in *,nodev,*) ;; *) fail "nodev not in /proc/mounts: $(opts)" ;; esac
case ",$(opts)," in *,rw,*) ;; *) fail "rw not in /proc/mounts: $(opts)" ;; esac
echo x > /mnt/f
expect_fail mount -o remount,bogus /mnt
expect_fail mount -o remount,ro /mnt
echo y > /mnt/g || fail "still writable after a refused remount,ro"
mount -o remount,noatime /mnt || fail "remount keeping rw refused"
umount /mnt
mount -t flufflefs -o ro $dev /mnt
case ",$(opts)," in *,ro,*) ;; *) fail "ro not in /proc/mounts: $(opts)" ;; esac
expect_fail mount -o remount,rw /mnt
umount /mnt
fsck.flufflefs $dev >/dev/null
echo "mount options ok"
