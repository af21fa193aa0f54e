# Runs last: after every other test has mounted, used and unmounted
# FluffleFS and removed the module (every test starts with rmmod), kmemleak
# must find nothing the module allocated and never freed. kmemleak prints
# an object's allocation call chain with %pS: a frame of the loaded module
# as "symbol+off/size [flufflefs]", a frame of a module instance since
# removed as a bare address in the module area (FluffleFS is the only
# module this guest ever loads, so every such address is one of ours).
. /fluffle/tests-lib.sh
km=/sys/kernel/debug/kmemleak
if [ ! -e $km ]; then
  [ "$FLUFFLE_KERNEL" = debug ] && fail "debug kernel without kmemleak"
  echo "no kmemleak in this kernel ($FLUFFLE_KERNEL): skipped"; exit 0
fi
dev=$FLUFFLE_DEV
modprobe flufflefs
others=$(lsmod | awk 'NR > 1 && $1 != "flufflefs" { print $1 }')
[ -z "$others" ] || fail "other modules loaded, their frames would look like ours: $others"
mkfs -t flufflefs $dev >/dev/null
mount -t flufflefs $dev /mnt
mkdir /mnt/d; echo data > /mnt/d/f; cat /mnt/d/f >/dev/null; rm -r /mnt/d
umount /mnt

scan() { # an object is reported once unreferenced in a scan and 5 s old
  echo scan > $km; sleep 6; echo scan > $km
  cat $km
}
# Frames of ours in kmemleak's report on stdin: named, or bare addresses
# in x86-64's module area (MODULES_VADDR..MODULES_END).
ours() {
  python3 -c "
import re, sys
text = sys.stdin.read()
bare = re.findall(r'(?m)^\s+0x([0-9a-f]{16})\s*$', text)
lo, hi = 0xffffffffa0000000, 0xffffffffff000000
print(sum(1 for a in bare if lo <= int(a, 16) < hi) + text.count('[flufflefs]'))"
}
report=$(scan)
n=$(printf '%s\n' "$report" | ours)
[ "$n" = 0 ] || fail "kmemleak: $n frames of leaked objects are FluffleFS's (module loaded):
$(printf '%s\n' "$report" | head -n 80)"
rmmod flufflefs
report=$(scan)
n=$(printf '%s\n' "$report" | ours)
[ "$n" = 0 ] || fail "kmemleak: $n frames of leaked objects point into the removed module:
$(printf '%s\n' "$report" | head -n 80)"
total=$(printf '%s\n' "$report" | grep -c '^unreferenced object' || true)
echo "kmemleak: nothing of FluffleFS leaked over the whole run ($total unrelated reports)"
