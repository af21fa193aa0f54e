# Inode flags (issue 13): chattr/lsattr (FS_IOC_GETFLAGS/SETFLAGS, and
# FS_IOC_FSGETXATTR) for immutable (i), append-only (a), noatime (A) and
# sync (S). Every operation an immutable or append-only regular file or
# directory forbids fails with EPERM as on ext4, as root; an unprivileged
# owner cannot set i or a (CAP_LINUX_IMMUTABLE) but may set A, and cannot
# touch another user's flags; the flags survive umount + mount (lsattr
# shows them, the refusals still hold); fsck is clean.
import errno, fcntl, os, struct, time
from test_lib import *

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IOC_FSGETXATTR = 0x801C581F
FL = {"S": 0x8, "i": 0x10, "a": 0x20, "A": 0x80}
XFL = {"S": 0x20, "i": 0x8, "a": 0x10, "A": 0x40}   # FS_XFLAG_*
FS_COMPR_FL = 0x4

os.umask(0o022)
fresh_fs()
T = f"{MNT}/t"
os.mkdir(T, 0o777)


def getflags(p):
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, b"\0" * 4))[0]
    finally:
        os.close(fd)


def setflags(p, flags):
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags))
    finally:
        os.close(fd)


def xflags(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        return struct.unpack("7I", fcntl.ioctl(fd, FS_IOC_FSGETXATTR, b"\0" * 28))[0]
    finally:
        os.close(fd)


def lsattr_letters(p, d=False):
    out = sh(f"lsattr {'-d ' if d else ''}{p}").split()[0]
    return set(c for c in out if c != "-")


def mkfile(p, data=b"hello"):
    write_file(p, data)
    os.chmod(p, 0o644)


def refusals(kind, p, what):
    """Every change of `p` (a regular file or directory) that +i forbids."""
    parent = os.path.dirname(p)
    if kind == "reg":
        expect_errno(errno.EPERM, os.open, p, os.O_WRONLY)
        expect_errno(errno.EPERM, os.open, p, os.O_WRONLY | os.O_APPEND)
        expect_errno(errno.EPERM, os.truncate, p, 0)
    else:
        expect_errno(errno.EPERM, os.open, f"{p}/new", os.O_CREAT | os.O_WRONLY, 0o644)
        expect_errno(errno.EPERM, os.mkdir, f"{p}/newdir")
        expect_errno(errno.EPERM, os.unlink, f"{p}/inside")
        expect_errno(errno.EPERM, os.rename, f"{p}/inside", f"{p}/inside2")
    expect_errno(errno.EPERM, (os.unlink if kind == "reg" else os.rmdir), p)
    expect_errno(errno.EPERM, os.rename, p, f"{parent}/renamed")
    if kind == "reg":
        expect_errno(errno.EPERM, os.link, p, f"{parent}/hard")
    expect_errno(errno.EPERM, os.chmod, p, 0o600)
    expect_errno(errno.EPERM, os.chown, p, 1000, 1000)
    expect_errno(errno.EPERM, os.utime, p, (1, 1))
    expect_errno(errno.EPERM, os.setxattr, p, "user.k", b"v")
    expect_errno(errno.EPERM, os.setxattr, p, "trusted.k", b"v")


def append_rules(p, what):
    """+a on a regular file: appending writes only."""
    expect_errno(errno.EPERM, os.open, p, os.O_WRONLY)
    expect_errno(errno.EPERM, os.open, p, os.O_RDWR)
    expect_errno(errno.EPERM, os.open, p, os.O_WRONLY | os.O_APPEND | os.O_TRUNC)
    expect_errno(errno.EPERM, os.truncate, p, 1)
    size = os.stat(p).st_size
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    eq(f"{what}: append", os.write(fd, b"+more"), 5)
    # Turning O_APPEND off is refused too (fcntl F_SETFL): EPERM.
    expect_errno(errno.EPERM, fcntl.fcntl, fd, fcntl.F_SETFL, 0)
    os.close(fd)
    eq(f"{what}: appended", os.stat(p).st_size, size + 5)
    eq(f"{what}: content ends", read_file(p)[-5:], b"+more")
    expect_errno(errno.EPERM, os.unlink, p)
    expect_errno(errno.EPERM, os.rename, p, f"{T}/renamed")
    expect_errno(errno.EPERM, os.link, p, f"{T}/hard")
    expect_errno(errno.EPERM, os.chmod, p, 0o600)
    expect_errno(errno.EPERM, os.setxattr, p, "user.k", b"v")


# --- root: set each flag with chattr, see it with lsattr and the ioctls ---
for f in ("imm", "app", "noa", "syn", "plain"):
    mkfile(f"{T}/{f}")
os.mkdir(f"{T}/immdir", 0o755)
mkfile(f"{T}/immdir/inside")
os.mkdir(f"{T}/appdir", 0o755)
mkfile(f"{T}/appdir/inside")
sh(f"chattr +i {T}/imm {T}/immdir")
sh(f"chattr +a {T}/app {T}/appdir")
sh(f"chattr +A {T}/noa")
sh(f"chattr +S {T}/syn")
want = {"imm": "i", "app": "a", "noa": "A", "syn": "S", "plain": None, "immdir": "i", "appdir": "a"}


def check_flags(what):
    for name, letter in want.items():
        p = f"{T}/{name}"
        d = name.endswith("dir")
        eq(f"{what}: lsattr {name}", lsattr_letters(p, d), {letter} if letter else set())
        eq(f"{what}: FS_IOC_GETFLAGS {name}", getflags(p), FL[letter] if letter else 0)
        eq(f"{what}: FS_IOC_FSGETXATTR {name}", xflags(p), XFL[letter] if letter else 0)


check_flags("set")

# A flag FluffleFS does not keep (compression) is refused, the rest kept.
expect_errno(errno.EOPNOTSUPP, setflags, f"{T}/plain", FS_COMPR_FL)
eq("plain after refused flag", getflags(f"{T}/plain"), 0)
# chattr changes ctime.
before = os.stat(f"{T}/plain").st_ctime_ns
time.sleep(0.02)
setflags(f"{T}/plain", FL["A"])
check(os.stat(f"{T}/plain").st_ctime_ns > before, "chattr did not change ctime")
setflags(f"{T}/plain", 0)


def all_rules(what):
    refusals("reg", f"{T}/imm", what)
    refusals("dir", f"{T}/immdir", what)
    eq(f"{what}: immutable content", read_file(f"{T}/imm"), b"hello")
    append_rules(f"{T}/app", what)
    # Append-only directory: new entries yes, removing or renaming no.
    mkfile(f"{T}/appdir/new-{what}")
    expect_errno(errno.EPERM, os.unlink, f"{T}/appdir/inside")
    expect_errno(errno.EPERM, os.rename, f"{T}/appdir/inside", f"{T}/appdir/x")
    expect_errno(errno.EPERM, os.rmdir, f"{T}/appdir")
    # noatime: a read of an old atime updates it on a plain file
    # (relatime: atime older than mtime), never on +A.
    for name, moves in (("noa", False), ("plain", True)):
        p = f"{T}/{name}"
        os.utime(p, (1000, 2000))
        read_file(p)
        eq(f"{what}: atime of {name} after read moved", os.stat(p).st_atime != 1000, moves)
    # sync: writes go through (and are on disk; the flag only adds fsync).
    write_file(f"{T}/syn", b"synced data")
    eq(f"{what}: +S content", read_file(f"{T}/syn"), b"synced data")


all_rules("root")


# --- an unprivileged owner ---
mkfile(f"{T}/users")
os.chown(f"{T}/users", 1000, 1000)


def user_part():
    p = f"{T}/users"
    expect_errno(errno.EPERM, setflags, p, FL["i"])     # CAP_LINUX_IMMUTABLE
    expect_errno(errno.EPERM, setflags, p, FL["a"])
    p2 = sh(f"chattr +i {p} 2>&1; echo rc=$?", check_rc=False)
    check("rc=0" not in p2, f"unprivileged chattr +i succeeded: {p2}")
    setflags(p, FL["A"])                                 # the owner may
    eq("user's +A", getflags(p), FL["A"])
    setflags(p, 0)
    expect_errno(errno.EPERM, setflags, f"{T}/plain", FL["A"])   # not the owner
    expect_errno(errno.EPERM, setflags, f"{T}/imm", 0)           # nor clear i
    eq("user left imm alone", getflags(f"{T}/imm"), FL["i"])


as_user(user_part)
eq("user's file flags", getflags(f"{T}/users"), 0)

# --- persistence: umount + mount, and the inode cache dropped ---
remount()
check_flags("after remount")
all_rules("after remount")
sh("sync; echo 3 > /proc/sys/vm/drop_caches")
check_flags("after drop_caches")
refusals("reg", f"{T}/imm", "after drop_caches")

# Cleared, everything works again (and is cleaned up).
sh(f"chattr -i {T}/imm {T}/immdir")
sh(f"chattr -a {T}/app {T}/appdir")
eq("cleared", getflags(f"{T}/imm") | getflags(f"{T}/app"), 0)
os.truncate(f"{T}/imm", 0)
os.rename(f"{T}/app", f"{T}/app2")
os.unlink(f"{T}/app2")
os.unlink(f"{T}/immdir/inside")
os.unlink(f"{T}/appdir/inside")
remount()
eq("cleared after remount", getflags(f"{T}/imm"), 0)
eq("truncated after remount", os.stat(f"{T}/imm").st_size, 0)

sh(f"umount {MNT}")
out = sh(f"fsck.flufflefs {DEV}")
check(" 0 problems" in out, f"fsck: {out}")
print("inode flags ok")
