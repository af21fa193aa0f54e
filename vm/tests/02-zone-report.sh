# `fluffle zones` reports the geometry QEMU was started with.
. /fluffle/tests-lib.sh
dev=$FLUFFLE_DEV
out=$(fluffle zones $dev)
echo "$out" | head -n 4
size_sectors=$(( FLUFFLE_ZONE_SIZE_MB * 2048 ))
cap_sectors=$(( FLUFFLE_ZONE_CAP_MB * 2048 ))
expect_eq "summary" "$(echo "$out" | head -n 1)" \
  "$dev: $FLUFFLE_ZONES zones, zone size $size_sectors sectors ($FLUFFLE_ZONE_SIZE_MB MiB), capacity $cap_sectors sectors ($FLUFFLE_ZONE_CAP_MB MiB), sector = 512 bytes"
# One line per zone after the two header lines, every zone empty and
# sequential-write-required, starts one zone size apart.
expect_eq "zone lines" "$(echo "$out" | tail -n +3 | wc -l)" "$FLUFFLE_ZONES"
last=$(( FLUFFLE_ZONES - 1 ))
expect_eq "last zone" "$(echo "$out" | tail -n 1 | awk '{print $1, $2, $3, $4, $5, $6, $7}')" \
  "$last $(( last * size_sectors )) $size_sectors $cap_sectors $(( last * size_sectors )) empty seq-write-required"
# The kernel's own tool agrees on the count.
expect_eq "blkzone count" "$(blkzone report $dev | wc -l)" "$FLUFFLE_ZONES"
# A non-zoned device is refused with a clear message.
if fluffle zones /dev/vda 2>err; then fail "zone report on /dev/vda succeeded"; fi
grep -q "not a zoned block device" err || fail "unclear error: $(cat err)"
