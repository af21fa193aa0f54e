# Mount options: FluffleFS has none of its own, so an unknown option is
# refused (EINVAL, and dmesg names it) instead of mounting silently; the
# VFS's own (ro, noatime, ...) work and /proc/mounts shows what is in
# force; remount switches between ro and rw (34-remount-atime.py tests
# what that means on disk).
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
mount -o remount,ro /mnt || fail "remount,ro refused"
case ",$(opts)," in *,ro,*) ;; *) fail "ro not in /proc/mounts after remount,ro: $(opts)" ;; esac
if echo y > /mnt/g 2>/dev/null; then fail "writable after remount,ro"; fi
mount -o remount,rw /mnt || fail "remount,rw refused"
echo y > /mnt/g || fail "not writable after remount,rw"
mount -o remount,noatime /mnt || fail "remount keeping rw refused"
umount /mnt
mount -t flufflefs -o ro $dev /mnt
case ",$(opts)," in *,ro,*) ;; *) fail "ro not in /proc/mounts: $(opts)" ;; esac
mount -o remount,rw /mnt || fail "remount,rw of a ro mount refused"
echo z > /mnt/h || fail "not writable after remount,rw of a ro mount"
umount /mnt
fsck.flufflefs $dev >/dev/null
echo "mount options ok"
