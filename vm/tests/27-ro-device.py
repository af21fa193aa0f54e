# A clean FluffleFS on a read-only block device mounts with -o ro, reads
# everything, and writes nothing: every zone's write pointer is where it
# was (no zone reset, no checkpoint, no GC), on the read-only device and
# under a read-only mount of a writable one. A filesystem that needs
# recovery (files fsynced after the last checkpoint, then a crash) mounts
# read-only on a read-only device: dmesg says it needs recovery, the
# roll-forward is done in memory only (the fsynced data is visible, the
# device unchanged); remount,rw on the writable device makes it durable.
import errno, fcntl, os, struct, subprocess, time
from test_lib import *

fresh_fs()
blob = os.urandom(300_000)
write_file(f"{MNT}/a", blob)
os.mkdir(f"{MNT}/d")
write_file(f"{MNT}/d/b", b"hello")
sh(f"umount {MNT}")


def zones():
    return sh(f"blkzone report {DEV}")


before = zones()
sh(f"blockdev --setro {DEV}")
try:
    eq("device read-only", sh(f"blockdev --getro {DEV}").strip(), "1")
    r = subprocess.run(f"mount -t flufflefs -o ro {DEV} {MNT}", shell=True, capture_output=True, text=True)
    check(r.returncode == 0, f"mount -o ro of a read-only device failed: {r.stderr} {sh('dmesg | tail -n 5')}")
    eq("file on ro mount", read_file(f"{MNT}/a"), blob)
    eq("file in dir on ro mount", read_file(f"{MNT}/d/b"), b"hello")
    expect_errno(errno.EROFS, os.open, f"{MNT}/new", os.O_CREAT | os.O_WRONLY)
    expect_errno(errno.EROFS, os.mkdir, f"{MNT}/e")
    opts = sh("awk '$2 == \"/mnt\" {print $4}' /proc/mounts").strip().split(",")
    check("ro" in opts, f"not mounted read-only: {opts}")
    time.sleep(3)  # time for a GC thread to do something if it ran
    sh(f"umount {MNT}")
    eq("zones after ro mount of ro device", zones(), before)
finally:
    sh(f"blockdev --setrw {DEV}")
# A read-only mount of a writable device writes nothing either.
sh(f"mount -t flufflefs -o ro {DEV} {MNT}")
eq("file on ro mount (rw device)", read_file(f"{MNT}/a"), blob)
time.sleep(3)
sh(f"umount {MNT}")
eq("zones after ro mount of rw device", zones(), before)
# And the filesystem is still fine read-write.
sh(f"mount -t flufflefs {DEV} {MNT}")
eq("file after rw remount", read_file(f"{MNT}/a"), blob)
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")

# Needs recovery: a checkpointed file, then an fsynced change and a crash
# (FS_IOC_SHUTDOWN without flushing: nothing more is written).
sh(f"mount -t flufflefs {DEV} {MNT}")
synced = os.urandom(200_000)
fd = os.open(f"{MNT}/a", os.O_WRONLY)
os.write(fd, synced)
os.fsync(fd)
os.close(fd)
dfd = os.open(MNT, os.O_RDONLY)
fcntl.ioctl(dfd, 0x8004587D, struct.pack("I", 2))  # FS_IOC_SHUTDOWN, NOLOGFLUSH
os.close(dfd)
sh(f"umount {MNT}")
crashed = zones()
want = synced + blob[len(synced):]
sh(f"blockdev --setro {DEV}")
try:
    sh("dmesg -C")
    r = subprocess.run(f"mount -t flufflefs -o ro {DEV} {MNT}", shell=True, capture_output=True, text=True)
    check(r.returncode == 0, f"ro mount of a ro device needing recovery failed: {r.stderr} {sh('dmesg | tail -n 5')}")
    msg = sh("dmesg")
    check("needs recovery" in msg and "in memory only" in msg, f"no recovery notice in dmesg: {msg[-500:]}")
    eq("fsynced data on the ro mount", read_file(f"{MNT}/a"), want)
    r = subprocess.run(f"mount -o remount,rw {MNT}", shell=True, capture_output=True, text=True)
    check(r.returncode != 0, "remount,rw of a read-only device succeeded")
    expect_errno(errno.EROFS, os.mkdir, f"{MNT}/e")
    sh(f"umount {MNT}")
    eq("zones after ro mount needing recovery", zones(), crashed)
finally:
    sh(f"blockdev --setrw {DEV}")
# Writable device, -o ro: still in memory only; remount,rw writes it.
sh("dmesg -C")
sh(f"mount -t flufflefs -o ro {DEV} {MNT}")
check("needs recovery" in sh("dmesg"), "no recovery notice for -o ro of a writable device")
eq("zones under ro mount", zones(), crashed)
sh(f"mount -o remount,rw {MNT}")
eq("fsynced data after remount,rw", read_file(f"{MNT}/a"), want)
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
sh("dmesg -C")
sh(f"mount -t flufflefs -o ro {DEV} {MNT}")
check("needs recovery" not in sh("dmesg"), "recovery still needed after remount,rw + umount")
eq("fsynced data after recovery was written", read_file(f"{MNT}/a"), want)
sh(f"umount {MNT}")
print("read-only device ok")
