# The module loads, registers `flufflefs`, unloads cleanly and loads again.
. /fluffle/tests-lib.sh
expect_fail grep -qw flufflefs /proc/filesystems
modprobe flufflefs
grep -qw flufflefs /proc/filesystems || fail "flufflefs not in /proc/filesystems after modprobe"
dmesg | grep -q "flufflefs: registered (core self-test ok)" || fail "no self-test line in dmesg"
rmmod flufflefs
expect_fail grep -qw flufflefs /proc/filesystems
lsmod | grep -qw flufflefs && fail "module still listed after rmmod"
insmod /lib/modules/$(uname -r)/extra/flufflefs.ko
grep -qw flufflefs /proc/filesystems || fail "flufflefs missing after insmod"
rmmod flufflefs
modprobe flufflefs
grep -qw flufflefs /proc/filesystems || fail "flufflefs missing after second modprobe"
echo "load/unload/reload ok"
