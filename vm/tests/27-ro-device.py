# A clean FluffleFS on a read-only block device mounts with -o ro, reads
# everything, and writes nothing: every zone's write pointer is where it
# was (no zone reset, no checkpoint, no GC), on the read-only device and
# under a read-only mount of a writable one.
import errno, os, subprocess, time
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
print("read-only device ok")
