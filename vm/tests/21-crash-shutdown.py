# Crash consistency through FS_IOC_SHUTDOWN: fsynced files survive a
# shutdown that drops everything else; fsck passes after the remount.
import fcntl, hashlib, os, struct
from test_lib import *

FS_IOC_SHUTDOWN = 0x8004587D
NOLOGFLUSH = 2


def write_fsynced(path, data, mode):
    # A new file, written and fsynced (nothing else made durable).
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, mode)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)


fresh_fs()
synced = {}
for i in range(20):
    p = f"{MNT}/synced{i}"
    synced[p] = os.urandom(4096 * (i + 1) + i)
    write_fsynced(p, synced[p], 0o644)
# A directory fsync makes the names durable too.
dfd = os.open(MNT, os.O_RDONLY)
os.fsync(dfd)
# Unsynced work after the last fsync may be lost, but must not corrupt.
write_file(f"{MNT}/unsynced", os.urandom(1 << 20))
os.rename(f"{MNT}/synced0", f"{MNT}/renamed0")
fcntl.ioctl(dfd, FS_IOC_SHUTDOWN, struct.pack("I", NOLOGFLUSH))
os.close(dfd)

# After the shutdown every operation fails with EIO.
try:
    write_file(f"{MNT}/after", b"x")
    os.sync()
    fail("write after shutdown succeeded")
except OSError as e:
    eq("errno after shutdown", e.errno, 5)

sh(f"umount {MNT}")
sh(f"mount -t flufflefs {DEV} {MNT}")
for p, data in synced.items():
    alt = p.replace("synced0", "renamed0")
    path = p if os.path.exists(p) else alt
    check(os.path.exists(path), f"fsynced file {p} lost")
    eq(f"content of {path}", hashlib.sha256(read_file(path)).hexdigest(), hashlib.sha256(data).hexdigest())
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")

# Shutdown with a flush keeps everything written before it.
sh(f"mount -t flufflefs {DEV} {MNT}")
write_file(f"{MNT}/flushed", b"kept")
dfd = os.open(MNT, os.O_RDONLY)
fcntl.ioctl(dfd, FS_IOC_SHUTDOWN, struct.pack("I", 0))
os.close(dfd)
sh(f"umount {MNT}")
sh(f"mount -t flufflefs {DEV} {MNT}")
eq("flushed file", read_file(f"{MNT}/flushed"), b"kept")

# fsync of a new file alone makes its name durable: no directory fsync,
# no checkpoint (the file's node carries its name and mount puts it back).
new = {}
for i in range(10):
    p = f"{MNT}/new{i}"
    new[p] = os.urandom(5000 * i + 7)
    write_fsynced(p, new[p], 0o600)
dfd = os.open(MNT, os.O_RDONLY)
fcntl.ioctl(dfd, FS_IOC_SHUTDOWN, struct.pack("I", NOLOGFLUSH))
os.close(dfd)
sh(f"umount {MNT}")
sh(f"mount -t flufflefs {DEV} {MNT}")
for p, data in new.items():
    check(os.path.exists(p), f"fsynced new file {p} lost")
    eq(f"mode of {p}", os.stat(p).st_mode & 0o7777, 0o600)
    eq(f"content of {p}", hashlib.sha256(read_file(p)).hexdigest(), hashlib.sha256(data).hexdigest())
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
sh(f"mount -t flufflefs {DEV} {MNT}")

# Only root may shut a filesystem down.
r = sh(f"setpriv --reuid=1000 --regid=1000 --clear-groups python3 -c "
       f"\"import fcntl,os,struct; fd=os.open('{MNT}',os.O_RDONLY); fcntl.ioctl(fd,{FS_IOC_SHUTDOWN},struct.pack('I',2))\" "
       f"2>&1 || true")
check("Operation not permitted" in r, f"non-root shutdown not refused: {r}")
print("crash ok")
