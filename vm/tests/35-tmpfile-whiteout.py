# O_TMPFILE and renameat2 flags (what overlayfs needs of an upper layer).
# O_TMPFILE: a nameless file (nlink 0) that reads and writes like any
# other, linkat gives it a name that persists; never linked it is gone on
# close, and after a crash with it open its space comes back at mount.
# RENAME_WHITEOUT: the old name becomes a char device 0/0 (also for a
# directory, and with RENAME_NOREPLACE), persistent; with
# RENAME_EXCHANGE it is EINVAL; RENAME_NOREPLACE and RENAME_EXCHANGE work.
import ctypes, errno, fcntl, os, stat, struct
from test_lib import *

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
NOREPLACE, EXCHANGE, WHITEOUT = 1, 2, 4


def renameat2(old, new, flags):
    if libc.syscall(316, AT_FDCWD, old.encode(), AT_FDCWD, new.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


def link_fd(fd, path):
    """linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N: how a tmpfile gets a name
    (os.link would link the /proc symlink itself)."""
    if libc.linkat(AT_FDCWD, f"/proc/self/fd/{fd}".encode(), AT_FDCWD, path.encode(), 0x400) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


def free_blocks():
    os.sync()
    return os.statvfs(MNT).f_bfree


os.umask(0o022)
fresh_fs()
# Linked: a name, nlink 1, content persists.
fd = os.open(MNT, os.O_TMPFILE | os.O_RDWR, 0o640)
eq("tmpfile nlink", os.fstat(fd).st_nlink, 0)
eq("tmpfile mode (umask 022)", stat.S_IMODE(os.fstat(fd).st_mode), 0o640 & ~0o022)
check(stat.S_ISREG(os.fstat(fd).st_mode), "tmpfile not a regular file")
os.write(fd, b"tmp content")
eq("no name in the directory", os.listdir(MNT), [])
link_fd(fd, f"{MNT}/named")
eq("nlink after linkat", os.fstat(fd).st_nlink, 1)
os.close(fd)
# O_EXCL: never linkable.
fd = os.open(MNT, os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
expect_errno(errno.ENOENT, link_fd, fd, f"{MNT}/excl")
os.close(fd)
# Never linked: its space is back after close.
base = free_blocks()
fd = os.open(MNT, os.O_TMPFILE | os.O_WRONLY, 0o600)
os.write(fd, os.urandom(8 << 20))
os.fsync(fd)
check(free_blocks() < base - 1500, "tmpfile data took no space")
os.close(fd)
check(free_blocks() >= base - 64, f"tmpfile space not freed on close: {base} -> {free_blocks()}")
remount()
eq("named tmpfile after remount", read_file(f"{MNT}/named"), b"tmp content")
eq("listing after remount", sorted(os.listdir(MNT)), ["named"])

# Crash with an unlinked tmpfile open: mount frees it (orphan).
base = free_blocks()
fd = os.open(MNT, os.O_TMPFILE | os.O_WRONLY, 0o600)
os.write(fd, os.urandom(8 << 20))
os.fsync(fd)
check(free_blocks() < base - 1500, "tmpfile data took no space")
dfd = os.open(MNT, os.O_RDONLY)
fcntl.ioctl(dfd, 0x8004587D, struct.pack("I", 2))  # FS_IOC_SHUTDOWN, NOLOGFLUSH
os.close(dfd)
os.close(fd)
remount()
check(free_blocks() >= base - 64, f"crashed tmpfile leaked: {base} -> {free_blocks()}")
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
sh(f"mount -t flufflefs {DEV} {MNT}")

# renameat2.
write_file(f"{MNT}/a", b"A")
write_file(f"{MNT}/b", b"B")
os.mkdir(f"{MNT}/dir")
write_file(f"{MNT}/dir/in", b"in")
expect_errno(errno.EEXIST, renameat2, f"{MNT}/a", f"{MNT}/b", NOREPLACE)
renameat2(f"{MNT}/a", f"{MNT}/b", EXCHANGE)
eq("exchanged a", read_file(f"{MNT}/a"), b"B")
eq("exchanged b", read_file(f"{MNT}/b"), b"A")
expect_errno(errno.EINVAL, renameat2, f"{MNT}/a", f"{MNT}/b", EXCHANGE | WHITEOUT)
expect_errno(errno.EEXIST, renameat2, f"{MNT}/a", f"{MNT}/b", NOREPLACE | WHITEOUT)
eq("failed whiteout rename kept a", read_file(f"{MNT}/a"), b"B")
renameat2(f"{MNT}/a", f"{MNT}/c", WHITEOUT)
renameat2(f"{MNT}/dir", f"{MNT}/dir2", WHITEOUT | NOREPLACE)
renameat2(f"{MNT}/b", f"{MNT}/dir2/b", WHITEOUT)  # replaces nothing, other directory


def check_whiteouts(when):
    for w in ("a", "dir", "b"):
        st = os.lstat(f"{MNT}/{w}")
        check(stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, f"{w} {when}: not a whiteout: mode {st.st_mode:o} rdev {st.st_rdev}")
        eq(f"whiteout {w} nlink {when}", st.st_nlink, 1)
    eq(f"c {when}", read_file(f"{MNT}/c"), b"B")
    eq(f"dir2/in {when}", read_file(f"{MNT}/dir2/in"), b"in")
    eq(f"dir2/b {when}", read_file(f"{MNT}/dir2/b"), b"A")


check_whiteouts("after rename")
remount()
check_whiteouts("after remount")
# A whiteout is an ordinary device node: it unlinks.
os.unlink(f"{MNT}/a")
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
print("tmpfile and whiteout ok")
