# The mtime and ctime stored on disk are those of the write (or change),
# not of the writeback that carried the data there: after umount + mount
# a file shows exactly the times stat showed before, however late its
# data reached the device (at unmount, at fsync, by the flusher).
import os, time
from test_lib import *

fresh_fs()
files = {}
# Written right after creation (the same clock tick: the VFS may not
# mark the inode dirty for the write's times), and written later.
for name, pause in (("fresh", 0), ("later", 0.2)):
    p = f"{MNT}/{name}"
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    time.sleep(pause)
    os.write(fd, os.urandom(64 * 1024))
    os.close(fd)
    files[p] = None
# An fsync long after the write.
p = f"{MNT}/fsynced"
write_file(p, os.urandom(20000))
files[p] = None
# A file bigger than one writeback chunk (4 MiB): writeback writes it in
# several passes and the inode's times go to the filesystem after the
# first, so the passes after it must not restamp them.
p = f"{MNT}/big"
write_file(p, os.urandom(48 << 20))
files[p] = None
# A small file (inline in its node).
p = f"{MNT}/small"
write_file(p, b"tiny")
files[p] = None
for p in files:
    st = os.stat(p)
    files[p] = (st.st_mtime_ns, st.st_ctime_ns)
time.sleep(2.5)  # writeback now would stamp a time 2.5 s later
fd = os.open(f"{MNT}/fsynced", os.O_RDONLY)
os.fsync(fd)
os.close(fd)
sh("sync")
time.sleep(1.1)
remount()
for p, want in files.items():
    st = os.stat(p)
    eq(f"{p} (mtime, ctime) after remount", (st.st_mtime_ns, st.st_ctime_ns), want)
print("times on disk ok")
