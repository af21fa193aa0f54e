# Directories: mkdir/rmdir, readdir, rename in all its forms, links,
# symlinks, and their errnos.
import ctypes, errno, os
from test_lib import *

fresh_fs()
os.mkdir(f"{MNT}/d")
expect_errno(errno.EEXIST, os.mkdir, f"{MNT}/d")
os.mkdir(f"{MNT}/d/sub")
write_file(f"{MNT}/d/f", b"1")
expect_errno(errno.ENOTEMPTY, os.rmdir, f"{MNT}/d")
expect_errno(errno.ENOTDIR, os.rmdir, f"{MNT}/d/f")
expect_errno(errno.EISDIR, os.unlink, f"{MNT}/d/sub")
expect_errno(errno.ENOENT, os.rmdir, f"{MNT}/nope")
eq("listing", sorted(os.listdir(f"{MNT}/d")), ["f", "sub"])
eq("dir nlink", os.stat(f"{MNT}/d").st_nlink, 3)

# readdir over many entries (several batches), with removals meanwhile.
for i in range(600):
    write_file(f"{MNT}/d/sub/e{i:04}", b"")
names = set(os.listdir(f"{MNT}/d/sub"))
eq("600 entries", len(names), 600)
for i in range(0, 600, 2):
    os.unlink(f"{MNT}/d/sub/e{i:04}")
eq("300 left", sorted(os.listdir(f"{MNT}/d/sub")), [f"e{i:04}" for i in range(1, 600, 2)])

# rename: file, replacing a file, across directories, directory, into itself.
write_file(f"{MNT}/a", b"A")
write_file(f"{MNT}/b", b"B")
os.rename(f"{MNT}/a", f"{MNT}/b")
eq("replaced", read_file(f"{MNT}/b"), b"A")
check(not os.path.exists(f"{MNT}/a"), "source still there")
os.rename(f"{MNT}/b", f"{MNT}/d/b")
eq("moved", read_file(f"{MNT}/d/b"), b"A")
os.rename(f"{MNT}/d/sub", f"{MNT}/sub2")
eq("dir moved", len(os.listdir(f"{MNT}/sub2")), 300)
eq("old parent nlink", os.stat(f"{MNT}/d").st_nlink, 2)
expect_errno(errno.EINVAL, os.rename, f"{MNT}/d", f"{MNT}/d/inside")
os.mkdir(f"{MNT}/empty")
os.rename(f"{MNT}/sub2", f"{MNT}/empty")
expect_errno(errno.ENOTEMPTY, os.rename, f"{MNT}/d", f"{MNT}/empty")

# renameat2(RENAME_NOREPLACE) refuses an existing target.
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_NOREPLACE = -100, 1
write_file(f"{MNT}/x", b"x")
write_file(f"{MNT}/y", b"y")
rc = libc.renameat2(AT_FDCWD, f"{MNT}/x".encode(), AT_FDCWD, f"{MNT}/y".encode(), RENAME_NOREPLACE)
eq("renameat2 NOREPLACE rc", (rc, ctypes.get_errno()), (-1, errno.EEXIST))
rc = libc.renameat2(AT_FDCWD, f"{MNT}/x".encode(), AT_FDCWD, f"{MNT}/z".encode(), RENAME_NOREPLACE)
eq("renameat2 NOREPLACE to new name", rc, 0)

# Hard links and link counts; unlinking an open file keeps its data.
os.link(f"{MNT}/z", f"{MNT}/z2")
eq("nlink 2", os.stat(f"{MNT}/z").st_nlink, 2)
expect_errno(errno.EEXIST, os.link, f"{MNT}/z", f"{MNT}/y")
expect_errno(errno.EPERM, os.link, f"{MNT}/d", f"{MNT}/dlink")
os.unlink(f"{MNT}/z")
eq("nlink 1", os.stat(f"{MNT}/z2").st_nlink, 1)
fd = os.open(f"{MNT}/z2", os.O_RDONLY)
os.unlink(f"{MNT}/z2")
eq("open unlinked file", os.read(fd, 10), b"x")
os.close(fd)

# Symlinks.
os.symlink("d/b", f"{MNT}/sl")
eq("readlink", os.readlink(f"{MNT}/sl"), "d/b")
eq("through symlink", read_file(f"{MNT}/sl"), b"A")
check(os.path.islink(f"{MNT}/sl"), "not a symlink")
os.symlink("t" * 4000, f"{MNT}/longlink")
eq("long target", os.readlink(f"{MNT}/longlink"), "t" * 4000)

remount()
eq("after remount", sorted(os.listdir(MNT)),
   sorted(["d", "empty", "longlink", "sl", "y"]))
eq("moved dir content", len(os.listdir(f"{MNT}/empty")), 300)
eq("symlink after remount", os.readlink(f"{MNT}/sl"), "d/b")
print("dirs ok")
