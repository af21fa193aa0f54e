# Injected write errors: the disk starts failing writes under a mounted
# FluffleFS, once through device-mapper (dm-flakey's error_writes, during
# fsync) and once through the block layer's fail_make_request (during
# background writeback). Each time: the fsync that needed the failed
# writes returns EIO, later changes fail with EIO instead of pretending,
# unmount works, and after a remount on the healthy disk everything
# fsynced before the fault is intact and fsck is clean.
import hashlib, os
from test_lib import *

FLK = "flk"
DM = f"/dev/mapper/{FLK}"
FMR = "/sys/kernel/debug/fail_make_request"


def synced_files(root, n):
    """n files written and fsynced (and their directory), name -> digest."""
    files = {}
    for i in range(n):
        data = os.urandom(8192 * (i + 1) + 17 * i)
        p = f"{root}/synced{i}"
        fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        files[p] = hashlib.sha256(data).hexdigest()
    dfd = os.open(root, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    return files


def expect_stopped(root):
    """After the failure every change fails with EIO, and nothing pretends."""
    eq("create after the write error", errno_of(write_file, f"{root}/later", b"x"), errno.EIO)
    eq("mkdir after the write error", errno_of(os.mkdir, f"{root}/laterdir"), errno.EIO)
    fd = os.open(f"{root}/synced0", os.O_WRONLY)
    eq("write(2) after the write error", errno_of(os.write, fd, b"more"), errno.EIO)
    eq("fsync after the write error", errno_of(os.fsync, fd), errno.EIO)
    os.close(fd)


def verify(root, files):
    for p, digest in files.items():
        check(os.path.exists(p), f"fsynced file {p} lost")
        eq(f"content of {p}", hashlib.sha256(read_file(p)).hexdigest(), digest)


sh(f"umount {MNT} 2>/dev/null || true")
sh("modprobe flufflefs")

# 1. dm-flakey errors every write while an fsync needs its data written.
dm_remove(FLK)
dm_create(FLK, [linear()])
sh(f"mkfs -t flufflefs {DM}")
sh(f"mount -t flufflefs {DM} {MNT}")
files = synced_files(MNT, 8)
size = dev_sectors()
dm_swap(FLK, [(0, size, f"flakey {DEV} 0 0 1 1 error_writes")])
sh("dmesg -C")
fd = os.open(f"{MNT}/doomed", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, os.urandom(3 << 20))
eq("fsync while writes fail", errno_of(os.fsync, fd), errno.EIO)
os.close(fd)
expect_stopped(MNT)
check("flufflefs" in sh("dmesg"), "no flufflefs message about the write error in dmesg")
dm_swap(FLK, [linear()])
sh(f"umount {MNT}")
sh(f"mount -t flufflefs {DM} {MNT}")
verify(MNT, files)
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {DM}")
dm_remove(FLK)
print("dm-flakey: fsync EIO, stopped, fsynced data intact, fsck clean")

# 2. fail_make_request fails every bio to the disk while background
# writeback (here: sync(2) from another process) writes a file whose
# owner has it open; its next fsync reports the lost write.
sh(f"mkfs -t flufflefs {DEV}")
sh(f"mount -t flufflefs {DEV} {MNT}")
files = synced_files(MNT, 8)
fd = os.open(f"{MNT}/unsynced", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, os.urandom(5 << 20))
for k, v in (("probability", 100), ("interval", 1), ("times", -1), ("verbose", 0)):
    with open(f"{FMR}/{k}", "w") as f:
        f.write(str(v))
disk = os.path.basename(DEV)
with open(f"/sys/block/{disk}/make-it-fail", "w") as f:
    f.write("1")
try:
    sh("sync", check_rc=False)       # writeback fails; sync(2) has no status
    eq("fsync after failed writeback", errno_of(os.fsync, fd), errno.EIO)
    os.close(fd)
    eq("create after failed writeback", errno_of(write_file, f"{MNT}/later", b"x"), errno.EIO)
finally:
    with open(f"/sys/block/{disk}/make-it-fail", "w") as f:
        f.write("0")
expect_stopped(MNT)
sh(f"umount {MNT}")
sh(f"mount -t flufflefs {DEV} {MNT}")
verify(MNT, files)
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {DEV}")
print("fail_make_request: writeback EIO reported by fsync, stopped, fsynced data intact, fsck clean")
