#!/bin/sh
# fsx (the `fsx` crate, a Rust port of the FreeBSD/xfstests File System
# eXerciser; built by scripts/build-fsx.sh) on FluffleFS: 20,000 random
# operations on one file, mmap reads and writes and fallocate (reserve,
# KEEP_SIZE, punch hole, zero range) included, each read checked
# against fsx's in-memory model of the file; then the final file must
# survive drop_caches and umount/mount byte for byte, and fsck is clean.
#   FSX_OPS (20000), FSX_SEED (fixed, so a failure reproduces; fsx prints it)
#   FSX_FS=tmpfs|ext4 runs the same on another filesystem (harness check;
#   ext4 goes on /dev/vdc, which vm/run adds with FLUFFLE_EXTRA_DISK_MB).
. /fluffle/tests-lib.sh
ops=${FSX_OPS:-20000}
seed=${FSX_SEED:-20261124}
fs=${FSX_FS:-flufflefs}
dev=$FLUFFLE_DEV
file=/mnt/fsx.file
art=/tmp/fsx-artifacts
command -v fsx >/dev/null || fail "fsx is not on PATH (scripts/build-fsx.sh, FSX_BIN in build/paths.env)"

umount /mnt 2>/dev/null || true
case "$fs" in
  flufflefs) modprobe flufflefs; mkfs -t flufflefs "$dev" >/dev/null; mount -t flufflefs "$dev" /mnt ;;
  ext4) mkfs.ext4 -q -F /dev/vdc; mount -t ext4 /dev/vdc /mnt ;;
  tmpfs) mount -t tmpfs tmpfs /mnt ;;
  *) fail "FSX_FS=$fs: want flufflefs, ext4 or tmpfs" ;;
esac
remount() {
  umount /mnt
  case "$fs" in
    flufflefs) mount -t flufflefs "$dev" /mnt ;;
    ext4) mount -t ext4 /dev/vdc /mnt ;;
  esac
}

# Every operation FluffleFS implements, in the proportions of fsx's sample
# config; mapread/mapwrite as often as read/write; fallocate in all the
# forms FluffleFS has: posix_fallocate (mode 0), punch_hole (PUNCH_HOLE |
# KEEP_SIZE), zero_range (ZERO_RANGE, with KEEP_SIZE half of the time) and
# keep_size (KEEP_SIZE reservations, also past EOF); the last two come from
# scripts/fsx-fallocate.patch. No posix_fadvise (the guest kernel has no
# CONFIG_ADVISE_SYSCALLS: ENOSYS).
cat > /tmp/fsx.toml <<TOML
flen = 262144
[opsize]
max = 65536
[weights]
close_open = 1
read = 10
write = 10
mapread = 10
mapwrite = 10
invalidate = 1
truncate = 2
fsync = 1
fdatasync = 1
sendfile = 1
posix_fadvise = 0
copy_file_range = 1
posix_fallocate = 2
punch_hole = 2
zero_range = 2
keep_size = 1
TOML

# fsx must notice a wrong result: skipping step 3 of this seed (its hidden
# --inject option) makes a later read differ from the model.
if fsx -N 10 -S 10 --inject 3 /tmp/fsx-selfcheck >/dev/null 2>&1; then
  fail "fsx did not detect an injected lost write: it is not checking reads"
fi

mkdir -p "$art"
start=$(date +%s)
if ! fsx -N "$ops" -S "$seed" -f /tmp/fsx.toml -P "$art" "$file" > /tmp/fsx.log 2>&1; then
  echo "fsx on $fs failed (seed $seed, $ops ops); last lines of its log:"
  tail -n 80 /tmp/fsx.log
  dmesg | tail -n 20
  fail "fsx found a wrong result on $fs"
fi
echo "fsx: $ops operations on $fs passed in $(( $(date +%s) - start )) s (seed $seed)"

# fsx's last reads were checked against its model; the same bytes must come
# back from the disk, not only from the page cache.
cp "$file" /tmp/fsx.final
sync
echo 3 > /proc/sys/vm/drop_caches
cmp "$file" /tmp/fsx.final || fail "fsx's file changed after sync + drop_caches"
if [ "$fs" != tmpfs ]; then
  remount
  cmp "$file" /tmp/fsx.final || fail "fsx's file changed after umount/mount"
fi
umount /mnt
if [ "$fs" = flufflefs ]; then
  rc=0; fsck -t flufflefs "$dev" > /tmp/fsx-fsck.log 2>&1 || rc=$?
  [ "$rc" = 0 ] || { cat /tmp/fsx-fsck.log; fail "fsck after fsx: exit $rc"; }
fi
