# Special files (issue 13): FIFOs, character and block device nodes and
# UNIX sockets beside regular files, directories and symlinks. An
# operation x file-type matrix as a POSIX conformance suite runs it, as
# root and as an unprivileged user, with the results and errnos ext4
# gives; then everything again after umount + mount, and fsck clean.
import ctypes, errno, os, socket, stat, sys, time
from test_lib import *

os.umask(0)
fresh_fs()
T = f"{MNT}/t"
os.mkdir(T, 0o755)

CHR_DEV = os.makedev(1, 3)            # /dev/null's number: opening it must reach the null driver
BLK_DEV = os.makedev(4095, 0xFFFFF)   # the largest major and minor Linux has
TYPES = ["reg", "dir", "lnk", "fifo", "chr", "blk", "sock"]
IFMT = {"reg": stat.S_IFREG, "dir": stat.S_IFDIR, "lnk": stat.S_IFLNK, "fifo": stat.S_IFIFO,
        "chr": stat.S_IFCHR, "blk": stat.S_IFBLK, "sock": stat.S_IFSOCK}
RDEV = {"chr": CHR_DEV, "blk": BLK_DEV}
socks = []  # bound sockets stay open while the test runs


def make(kind, path, mode=0o640):
    """Creates a `kind` object at `path` through the syscall a user would use."""
    if kind == "reg":
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
    elif kind == "dir":
        os.mkdir(path, mode)
    elif kind == "lnk":
        os.symlink("target-of-" + os.path.basename(path), path)
    elif kind == "fifo":
        os.mkfifo(path, mode)
    elif kind == "chr":
        os.mknod(path, stat.S_IFCHR | mode, CHR_DEV)
    elif kind == "blk":
        os.mknod(path, stat.S_IFBLK | mode, BLK_DEV)
    elif kind == "sock":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, mode)
        socks.append(s)


def lst(p):
    return os.stat(p, follow_symlinks=False)


def check_type(kind, p, what):
    st = lst(p)
    eq(f"{what}: {kind} type", stat.S_IFMT(st.st_mode), IFMT[kind])
    eq(f"{what}: {kind} rdev", st.st_rdev, RDEV.get(kind, 0))
    if kind not in ("reg", "dir", "lnk"):
        eq(f"{what}: {kind} size", st.st_size, 0)


def ctime_moves(kind, p, what, fn, after=None):
    """fn() must succeed and advance the ctime of p (found at `after`
    afterwards if it moves; coarse clock: wait a tick first)."""
    before = lst(p).st_ctime_ns
    time.sleep(0.03)
    fn()
    check(lst(after or p).st_ctime_ns > before, f"{what} of {kind} did not change ctime")


# ---- as root -------------------------------------------------------------
for k in TYPES:
    p = f"{T}/{k}"
    make(k, p)
    check_type(k, p, "new")
    if k != "lnk":
        eq(f"{k} permission bits", stat.S_IMODE(lst(p).st_mode), 0o640)


def d_types(d):
    """name -> d_type straight from getdents64 (Python's scandir falls
    back to stat when d_type is unknown, which would hide a wrong one)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    buf = ctypes.create_string_buffer(65536)
    out = {}
    while True:
        n = libc.syscall(217, fd, buf, 65536)  # SYS_getdents64 (x86_64)
        check(n >= 0, f"getdents64: errno {ctypes.get_errno()}")
        if n == 0:
            break
        raw, pos = buf.raw[:n], 0
        while pos < n:
            reclen = int.from_bytes(raw[pos + 16:pos + 18], "little")
            name = raw[pos + 19:pos + reclen].split(b"\0", 1)[0].decode()
            out[name] = raw[pos + 18]
            pos += reclen
    os.close(fd)
    return out


DT = {"fifo": 1, "chr": 2, "dir": 4, "blk": 6, "reg": 8, "lnk": 10, "sock": 12}
got = d_types(T)
eq("readdir d_types", {n: t for n, t in got.items() if n not in (".", "..")}, DT)

# chmod (symlinks: Linux has no lchmod; chmod follows the link).
for k in TYPES:
    if k == "lnk":
        continue
    p = f"{T}/{k}"
    ctime_moves(k, p, "chmod", lambda: os.chmod(p, 0o604))
    eq(f"chmod {k}", stat.S_IMODE(lst(p).st_mode), 0o604)

# chown (lchown: the link itself).
for k in TYPES:
    p = f"{T}/{k}"
    ctime_moves(k, p, "chown", lambda: os.chown(p, 1000, 1001, follow_symlinks=False))
    st = lst(p)
    eq(f"chown {k}", (st.st_uid, st.st_gid), (1000, 1001))
    os.chown(p, 0, 0, follow_symlinks=False)

# link: every type but a directory (EPERM), the link itself for a symlink.
for k in TYPES:
    p, q = f"{T}/{k}", f"{T}/{k}.hard"
    if k == "dir":
        expect_errno(errno.EPERM, os.link, p, q)
        continue
    ctime_moves(k, p, "link", lambda: os.link(p, q, follow_symlinks=False))
    eq(f"link {k} nlink", lst(p).st_nlink, 2)
    eq(f"link {k} same inode", lst(q).st_ino, lst(p).st_ino)
    check_type(k, q, "hard link")

# rename within and across directories, and onto an existing name of the
# same type (replacing it; a directory only onto an empty one).
os.mkdir(f"{T}/sub")
for k in TYPES:
    p, q = f"{T}/{k}", f"{T}/sub/{k}.moved"
    ino = lst(p).st_ino
    ctime_moves(k, p, "rename", lambda: os.rename(p, q), after=q)
    eq(f"rename {k} keeps inode", lst(q).st_ino, ino)
    check(not os.path.lexists(p), f"rename {k}: old name still there")
    check_type(k, q, "renamed")
    os.rename(q, p)
    victim = f"{T}/{k}.victim"
    make(k, victim)
    os.rename(p, victim)
    eq(f"rename {k} over same type", lst(victim).st_ino, ino)
    os.rename(victim, p)
# Replacing a directory with a non-directory and the reverse.
expect_errno(errno.EISDIR, os.rename, f"{T}/fifo", f"{T}/dir")
expect_errno(errno.ENOTDIR, os.rename, f"{T}/dir", f"{T}/chr")

# utimes, exact to the nanosecond, on the object itself.
TIMES = (1_111_111_111_123_456_789, 1_222_222_222_987_654_321)
for k in TYPES:
    p = f"{T}/{k}"
    os.utime(p, ns=TIMES, follow_symlinks=False)
    st = lst(p)
    eq(f"utimes {k}", (st.st_atime_ns, st.st_mtime_ns), TIMES)

# user.* xattrs: regular files and directories only; the VFS refuses them
# on symlinks and special files (EPERM to set, ENODATA to get), as on ext4.
for k in TYPES:
    p = f"{T}/{k}"
    if k in ("reg", "dir"):
        ctime_moves(k, p, "setxattr", lambda: os.setxattr(p, "user.colour", b"blue", follow_symlinks=False))
        eq(f"getxattr {k}", os.getxattr(p, "user.colour", follow_symlinks=False), b"blue")
        check("user.colour" in os.listxattr(p, follow_symlinks=False), f"listxattr {k}")
    else:
        expect_errno(errno.EPERM, os.setxattr, p, "user.colour", b"blue", follow_symlinks=False)
        expect_errno(errno.ENODATA, os.getxattr, p, "user.colour", follow_symlinks=False)
        eq(f"listxattr {k}", os.listxattr(p, follow_symlinks=False), [])

# truncate by path: only regular files (the VFS: EISDIR, EINVAL).
for k in TYPES:
    p = f"{T}/{k}"
    if k == "reg":
        os.truncate(p, 10)
    elif k == "dir":
        expect_errno(errno.EISDIR, os.truncate, p, 0)
    elif k != "lnk":
        expect_errno(errno.EINVAL, os.truncate, p, 0)

# The VFS serves them: a FIFO carries bytes, the char node reaches the
# null driver, the socket accepts a connection, a socket cannot be opened.
r = os.open(f"{T}/fifo", os.O_RDONLY | os.O_NONBLOCK)
w = os.open(f"{T}/fifo", os.O_WRONLY)
eq("fifo write", os.write(w, b"through the pipe"), 16)
eq("fifo read", os.read(r, 100), b"through the pipe")
os.close(w)
os.close(r)
fd = os.open(f"{T}/chr", os.O_RDWR)
eq("null write", os.write(fd, b"gone"), 4)
eq("null read", os.read(fd, 10), b"")
os.close(fd)
expect_errno(errno.ENXIO, os.open, f"{T}/sock", os.O_RDONLY)
socks[0].listen(1)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(f"{T}/sock")
a, _ = socks[0].accept()
c.sendall(b"hi")
eq("socket data", a.recv(10), b"hi")
a.close()
c.close()
# A second bind on an existing name: EADDRINUSE (mknod gave EEXIST).
s2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
expect_errno(errno.EADDRINUSE, s2.bind, f"{T}/sock")
s2.close()
expect_errno(errno.EEXIST, os.mkfifo, f"{T}/chr")
expect_errno(errno.EEXIST, os.mknod, f"{T}/fifo", stat.S_IFCHR | 0o600, CHR_DEV)

# unlink every non-directory (rmdir: ENOTDIR), rmdir the directory
# (unlink: EISDIR): the hard links made above keep each inode alive.
for k in TYPES:
    p = f"{T}/{k}.hard"
    if k == "dir":
        expect_errno(errno.EISDIR, os.unlink, f"{T}/dir")
        continue
    expect_errno(errno.ENOTDIR, os.rmdir, p)
    ctime_moves(k, f"{T}/{k}", "unlink of a link", lambda: os.unlink(p))
    eq(f"unlink {k} nlink", lst(f"{T}/{k}").st_nlink, 1)
for k in TYPES:
    make(k, f"{T}/{k}.gone")
    (os.rmdir if k == "dir" else os.unlink)(f"{T}/{k}.gone")
    check(not os.path.lexists(f"{T}/{k}.gone"), f"removed {k} still there")

# ---- as an unprivileged user ----------------------------------------------
U = f"{MNT}/u"
PROTECTED_HARDLINKS = read_file("/proc/sys/fs/protected_hardlinks").strip() == b"1"
os.mkdir(U, 0o777)
os.chown(U, 1000, 1000)


def user_part():
    # Without CAP_MKNOD: FIFOs and sockets yes, device nodes EPERM.
    expect_errno(errno.EPERM, os.mknod, f"{U}/chr", stat.S_IFCHR | 0o600, CHR_DEV)
    expect_errno(errno.EPERM, os.mknod, f"{U}/blk", stat.S_IFBLK | 0o600, BLK_DEV)
    for k in ("reg", "dir", "lnk", "fifo", "sock"):
        p = f"{U}/{k}"
        make(k, p)
        check_type(k, p, "user's")
        st = lst(p)
        eq(f"user's {k} owner", (st.st_uid, st.st_gid), (1000, 1000))
        if k != "lnk":
            os.chmod(p, 0o600)
            eq(f"user chmod {k}", stat.S_IMODE(lst(p).st_mode), 0o600)
        # Giving a file away needs CAP_CHOWN.
        expect_errno(errno.EPERM, os.chown, p, 0, 0, follow_symlinks=False)
        os.utime(p, ns=TIMES, follow_symlinks=False)
        eq(f"user utimes {k}", lst(p).st_mtime_ns, TIMES[1])
        if k == "dir":
            expect_errno(errno.EPERM, os.link, p, p + ".hard")
        else:
            os.link(p, p + ".hard", follow_symlinks=False)
            eq(f"user link {k}", lst(p).st_nlink, 2)
            os.rename(p + ".hard", p + ".moved")
            os.unlink(p + ".moved")
        if k in ("reg", "dir"):
            os.setxattr(p, "user.mine", b"1")
            eq(f"user getxattr {k}", os.getxattr(p, "user.mine"), b"1")
        else:
            expect_errno(errno.EPERM, os.setxattr, p, "user.mine", b"1", follow_symlinks=False)
    # root's objects: no chmod, chown, explicit utimes or xattrs; "now"
    # needs write permission (0604: none for others).
    for k in ("reg", "fifo", "chr", "blk", "sock"):
        p = f"{T}/{k}"
        expect_errno(errno.EPERM, os.chmod, p, 0o777)
        expect_errno(errno.EPERM, os.chown, p, 1000, 1000)
        expect_errno(errno.EPERM, os.utime, p, ns=TIMES)
        expect_errno(errno.EACCES, os.utime, p, None)
        # user.*: special files are refused outright, a file for want of
        # write permission.
        expect_errno(errno.EACCES if k == "reg" else errno.EPERM, os.setxattr, p, "user.x", b"1")
        # No write permission on T (0755 root): no new names there (with
        # protected_hardlinks, linking another's file is refused first).
        expect_errno(errno.EPERM if PROTECTED_HARDLINKS else errno.EACCES, os.link, p, f"{T}/{k}.user")
        expect_errno(errno.EACCES, os.unlink, p)
        expect_errno(errno.EACCES, os.rename, p, f"{U}/{k}.stolen")
    expect_errno(errno.EACCES, os.mkfifo, f"{T}/user-fifo")
    # A FIFO the user made carries bytes.
    r = os.open(f"{U}/fifo", os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(f"{U}/fifo", os.O_WRONLY)
    os.write(w, b"user")
    eq("user fifo read", os.read(r, 10), b"user")
    os.close(w)
    os.close(r)


as_user(user_part)

# ---- persistence ------------------------------------------------------------
def snapshot():
    out = {}
    for d in (T, U):
        for name in sorted(os.listdir(d)):
            st = lst(f"{d}/{name}")
            out[f"{d}/{name}"] = (st.st_ino, st.st_mode, st.st_rdev, st.st_nlink, st.st_uid, st.st_gid,
                                  st.st_size, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
    return out


for s in socks:
    s.close()
before = snapshot()
eq("objects before remount", len(before), 7 + 1 + 5)
remount()
after = snapshot()
for p in before:
    eq(f"{p} after remount", after.get(p), before[p])
eq("objects after remount", sorted(after), sorted(before))
for k in TYPES:
    check_type(k, f"{T}/{k}", "after remount")
eq("link target after remount", os.readlink(f"{T}/lnk"), "target-of-lnk")
eq("xattr after remount", os.getxattr(f"{T}/reg", "user.colour"), b"blue")
# Still served by the VFS after being read back from disk.
fd = os.open(f"{T}/chr", os.O_WRONLY)
eq("null after remount", os.write(fd, b"x"), 1)
os.close(fd)
r = os.open(f"{U}/fifo", os.O_RDONLY | os.O_NONBLOCK)
w = os.open(f"{U}/fifo", os.O_WRONLY)
os.write(w, b"again")
eq("fifo after remount", os.read(r, 10), b"again")
os.close(w)
os.close(r)
# Evicted from the inode cache and read back (not only a remount); the
# FIFO's times moved with the bytes just sent through it.
mid = snapshot()
sh("sync; echo 3 > /proc/sys/vm/drop_caches")
eq("after drop_caches", snapshot(), mid)

sh(f"umount {MNT}")
out = sh(f"fsck.flufflefs {DEV}")
check(" 0 problems" in out, f"fsck: {out}")
dump = sh(f"fluffle dump {DEV}")
check("fifo" in dump and "sock" in dump and "rdev 4095:1048575" in dump and "rdev 1:3" in dump,
      f"dump does not show the special files: {dump[-2000:]}")
print("special files ok")
