# truncate(2) by path changes mtime and ctime when it changes the size,
# down and up, as ftruncate(2) does and as ext4 does (the VFS passes no
# ATTR_MTIME for truncate by path: the filesystem must stamp them); the
# same size changes neither. The times survive umount + mount.
import os, time
from test_lib import *

fresh_fs()
p = f"{MNT}/f"
write_file(p, b"x" * 10000)
OLD = 1_000_000_000_000_000_000  # 2001: far from now


def truncated(fn, size, what):
    """fn(size) must move mtime and ctime past what they were."""
    os.utime(p, ns=(OLD, OLD))
    c0 = os.stat(p).st_ctime_ns
    time.sleep(0.03)
    fn(size)
    st = os.stat(p)
    eq(f"{what}: size", st.st_size, size)
    check(st.st_mtime_ns > OLD, f"{what}: mtime not updated ({st.st_mtime_ns})")
    check(st.st_ctime_ns > c0, f"{what}: ctime not updated")
    return st


truncated(lambda n: os.truncate(p, n), 5000, "truncate down")
truncated(lambda n: os.truncate(p, n), 20000, "truncate up")
fd = os.open(p, os.O_RDWR)
truncated(lambda n: os.ftruncate(fd, n), 7000, "ftruncate down")
truncated(lambda n: os.ftruncate(fd, n), 9000, "ftruncate up")
os.close(fd)
st = truncated(lambda n: os.truncate(p, n), 4096, "truncate to a block")
# Same size: ext4 leaves mtime alone.
os.utime(p, ns=(OLD, OLD))
os.truncate(p, 4096)
eq("truncate to the same size keeps mtime", os.stat(p).st_mtime_ns, OLD)
# Stamped times reach the disk.
os.truncate(p, 100)
st = os.stat(p)
remount()
st2 = os.stat(p)
eq("times after remount", (st2.st_mtime_ns, st2.st_ctime_ns, st2.st_size), (st.st_mtime_ns, st.st_ctime_ns, 100))
print("truncate times ok")
