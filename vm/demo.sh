# The `make run` demo, run inside the guest by vm/run --script: FluffleFS
# as a computational storage device, step by step.
set -e
say() { printf '\n== %s\n' "$*"; }
BPF=/fluffle/bpf

say "kernel $(uname -r): the flufflefs module is loaded"
grep -w flufflefs /proc/filesystems

say "the emulated ZNS disk"
fluffle zones $FLUFFLE_DEV | head -n 4

say "mkfs -t flufflefs $FLUFFLE_DEV && mount -t flufflefs $FLUFFLE_DEV /mnt"
mkfs -t flufflefs "$FLUFFLE_DEV"
mount -t flufflefs "$FLUFFLE_DEV" /mnt
df -h /mnt

say "writing /mnt/data: 16 MiB of little-endian int32 samples"
python3 - <<'PY'
import random, struct
rng = random.Random(42)
vals = [int(rng.gauss(1000, 300)) for _ in range(4 << 20)]
with open("/mnt/data", "wb") as f:
    f.write(struct.pack(f"<{len(vals)}i", *vals))
PY
ls -l /mnt/data

say "the same questions answered two ways"
echo "host: a normal program reads all 16 MiB and computes; CSD: the eBPF kernel runs next to the data"
fluffle compute /mnt/data --kernel average --format average > /tmp/h.avg 2>/tmp/h.avg.err
fluffle compute /mnt/data --kernel entropy --format entropy > /tmp/h.ent 2>/dev/null
fluffle run $BPF/average.o /mnt/data --format average > /tmp/c.avg
fluffle run $BPF/entropy.o /mnt/data --format entropy > /tmp/c.ent
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
printf '%-22s %-20s %-20s\n' "" "host (userland)" "CSD kernel"
for k in sum count average; do
  printf '%-22s %-20s %-20s\n' "$k" "$(val /tmp/h.avg $k)" "$(val /tmp/c.avg $k)"
done
printf '%-22s %-20s %-20s\n' "entropy (bits/byte)" "$(val /tmp/h.ent entropy)" "$(val /tmp/c.ent entropy)"
printf '%-22s %-20s %-20s\n' "bytes copied to user" "$(awk '{print $2}' /tmp/h.avg.err)" "24 (average), 1040 (entropy)"

say "plain cat, after attaching the average kernel for cat's own process"
ID=$(fluffle load $BPF/average.o --mount /mnt)
echo "loaded average.o as kernel $ID"
echo "\$ fluffle attach /mnt/data --read $ID -- cat /mnt/data | od -A d -t d8"
fluffle attach /mnt/data --read $ID -- cat /mnt/data | od -A d -t d8
echo "(sum, count, average: 24 bytes instead of 16 MiB)"
echo "\$ python3: setxattr('/mnt/data', 'user.process.csd_read_stream', '$ID'); exec cat"
python3 -c "import os; os.setxattr('/mnt/data', 'user.process.csd_read_stream', b'$ID'); os.execvp('cat', ['cat', '/mnt/data'])" | od -A d -t d8

say "meanwhile every other process still reads the plain bytes"
head -c 16 /mnt/data | od -A d -t d4
getfattr -d /mnt/data 2>/dev/null || true
echo "(no csd attribute is visible to this shell)"

fluffle unload $ID --mount /mnt
umount /mnt
say "done: unmounted cleanly"
