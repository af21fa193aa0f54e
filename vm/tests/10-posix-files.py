# Regular files through the VFS: open flags, read/write at offsets,
# holes, append, truncate, lseek, fsync, and the errnos Linux gives.
import errno, os
from test_lib import *

fresh_fs()
p = f"{MNT}/a"

# O_CREAT|O_EXCL creates once, then EEXIST.
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
expect_errno(errno.EEXIST, os.open, p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
eq("write", os.write(fd, b"hello world"), 11)
eq("pread", os.pread(fd, 5, 6), b"world")
eq("pwrite", os.pwrite(fd, b"W", 6), 1)
os.lseek(fd, 0, os.SEEK_SET)
eq("read", os.read(fd, 100), b"hello World")
os.fsync(fd)
os.fdatasync(fd)
os.close(fd)

# O_APPEND writes at the end whatever the offset.
fd = os.open(p, os.O_WRONLY | os.O_APPEND)
os.lseek(fd, 0, os.SEEK_SET)
os.write(fd, b"!")
os.close(fd)
eq("append", read_file(p), b"hello World!")

# O_TRUNC empties.
fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
os.close(fd)
eq("size after O_TRUNC", os.stat(p).st_size, 0)

# A hole reads as zeros; size follows the last byte.
fd = os.open(p, os.O_RDWR)
os.pwrite(fd, b"end", 1_000_000)
eq("size with hole", os.fstat(fd).st_size, 1_000_003)
eq("hole bytes", os.pread(fd, 4096, 500_000), bytes(4096))
eq("after hole", os.pread(fd, 10, 999_999), b"\0end")
eq("SEEK_END", os.lseek(fd, 0, os.SEEK_END), 1_000_003)

# ftruncate down and up: data beyond is gone, regrown tail is zeros.
os.pwrite(fd, b"x" * 8192, 0)
os.ftruncate(fd, 5000)
eq("truncated size", os.fstat(fd).st_size, 5000)
os.ftruncate(fd, 9000)
data = os.pread(fd, 9000, 0)
eq("kept", data[:5000], b"x" * 5000)
eq("regrown zeros", data[5000:], bytes(4000))
os.close(fd)

# Large sequential write and read back (many pages, writeback batches).
blob = os.urandom(3 * 1024 * 1024 + 123)
write_file(f"{MNT}/big", blob)
eq("big readback", read_file(f"{MNT}/big"), blob)

# Errors.
expect_errno(errno.ENOENT, os.open, f"{MNT}/missing", os.O_RDONLY)
expect_errno(errno.EISDIR, os.open, MNT, os.O_WRONLY)
expect_errno(errno.ENOTDIR, os.open, f"{p}/x", os.O_RDONLY)
expect_errno(errno.ENAMETOOLONG, os.open, f"{MNT}/" + "n" * 256, os.O_CREAT | os.O_RDWR)
fd = os.open(f"{MNT}/" + "n" * 255, os.O_CREAT | os.O_RDWR)
os.close(fd)

# All of it survives a remount (unmount writes a checkpoint).
remount()
eq("big after remount", read_file(f"{MNT}/big"), blob)
eq("file after remount", read_file(p)[:5000], b"x" * 5000)
eq("size after remount", os.stat(p).st_size, 9000)
check(os.path.exists(f"{MNT}/" + "n" * 255), "255-byte name lost")
print("files ok")
