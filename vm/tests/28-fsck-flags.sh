# fsck -t flufflefs takes the flags fsck(8) users and fstests pass: -n
# (no changes), -f (force), -y (yes), -p and -a (preen): FluffleFS's
# checker never writes, so each checks read-only; exit 0 on a clean
# filesystem, 4 on damage, 16 on a usage error.
. /fluffle/tests-lib.sh
modprobe flufflefs
dev=$FLUFFLE_DEV
mkfs -t flufflefs $dev >/dev/null
mount -t flufflefs $dev /mnt
echo data > /mnt/f
umount /mnt
before=$(blkzone report $dev)
for flags in "-n" "-f" "-y" "-p" "-a" "-fn" "-f -n" "-nf" "-v"; do
  fsck -t flufflefs $flags $dev >out 2>&1 || fail "fsck -t flufflefs $flags on a clean fs: exit $?: $(cat out)"
  fsck.flufflefs $flags $dev >out 2>&1 || fail "fsck.flufflefs $flags: exit $?: $(cat out)"
done
expect_eq "zones after the checks" "$(blkzone report $dev)" "$before"
rc=0; fsck.flufflefs -x $dev >out 2>&1 || rc=$?
expect_eq "exit of an unknown flag" "$rc" 16
# Damage still gives 4 whatever the flags (nothing is repaired).
blkzone reset -o 0 -c 2 $dev
for flags in "-n" "-y" "-p"; do
  rc=0; fsck.flufflefs $flags $dev >out 2>&1 || rc=$?
  expect_eq "exit of fsck $flags on damage" "$rc" 4
done
echo "fsck flags ok"
