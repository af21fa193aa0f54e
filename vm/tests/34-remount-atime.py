# atime mount options and remount ro/rw.
#
# atime: relatime (the default) updates atime on read only when it is not
# newer than mtime/ctime or is over a day old; strictatime always;
# noatime never; nodiratime spares directories; lazytime keeps the update
# in memory until writeback but umount still writes it. Whatever a read
# set survives umount + mount, and /proc/mounts shows the option.
# remount,ro writes everything back and checkpoints (umount after it
# writes nothing and the data is there), refuses changes with EROFS, is
# refused while a file is open for writing; remount,rw makes changes work
# again, also after a read-only mount. statx btime: set at creation,
# unchanged by writes, chmod and utimes, persistent.
import ctypes, errno, os, struct, time
from test_lib import *

libc = ctypes.CDLL(None, use_errno=True)
STATX_BTIME = 0x800


def statx_times(path):
    """(result mask, btime ns, ctime ns) by statx(2) (Python 3.11 has no os.statx)."""
    buf = ctypes.create_string_buffer(256)
    if libc.syscall(332, -100, path.encode(), 0, 0xFFF, buf) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    mask = struct.unpack_from("I", buf, 0)[0]
    bs, bn = struct.unpack_from("qI", buf, 80)
    cs, cn = struct.unpack_from("qI", buf, 96)
    return mask, bs * 10**9 + bn, cs * 10**9 + cn

HOUR, DAY = 3600, 86400


def opts():
    return sh("awk '$2 == \"/mnt\" {print $4}' /proc/mounts").strip().split(",")


def zones():
    return sh(f"blkzone report {DEV}")


def mount(o=None):
    sh(f"mount -t flufflefs {'-o ' + o if o else ''} {DEV} {MNT}")


def atime_after_read(path, atime, mtime):
    """Sets atime/mtime to that many seconds ago (None: leaves them as a
    first read set them: atime now, newer than mtime and ctime, which
    utime itself sets to now), reads the file, returns atime (before, after)."""
    if atime is None:
        read_file(path)
        time.sleep(0.1)
    else:
        now = time.time()
        os.utime(path, (now - atime, now - mtime))
    before = os.stat(path).st_atime_ns
    read_file(path)
    return before, os.stat(path).st_atime_ns


def persisted(path, want, o):
    sh(f"umount {MNT}")
    mount()
    eq(f"atime after umount/mount ({o})", os.stat(path).st_atime_ns, want)


fresh_fs()
f = f"{MNT}/f"
d = f"{MNT}/d"
write_file(f, b"content")
os.mkdir(d)
write_file(f"{d}/x", b"")

# statx btime.
t0 = time.time_ns()
write_file(f"{MNT}/born", b"1")
mask, btime, ctime = statx_times(f"{MNT}/born")
check(mask & STATX_BTIME, f"statx gives no btime (mask {mask:#x})")
check(abs(btime - t0) < 5 * 10**9, f"btime {btime} is not the creation time {t0}")
time.sleep(1.1)
write_file(f"{MNT}/born", b"22")
os.chmod(f"{MNT}/born", 0o600)
os.utime(f"{MNT}/born", (1, 1))
_, b2, c2 = statx_times(f"{MNT}/born")
eq("btime after write/chmod/utime", b2, btime)
check(c2 > btime + 10**9, "ctime did not move (test broken)")
sh(f"umount {MNT}")
mount()
eq("btime after umount/mount", statx_times(f"{MNT}/born")[1], btime)
os.mkdir(f"{MNT}/bdir")
check(statx_times(f"{MNT}/bdir")[0] & STATX_BTIME, "no btime for a directory")
sh(f"umount {MNT}")

# (options, atime age, mtime age, updated?)
cases = [
    (None, None, None, False),           # relatime: atime newer than mtime/ctime, recent
    (None, 2 * HOUR, HOUR, True),        # relatime: atime older than mtime
    ("strictatime", None, None, True),
    ("noatime", 2 * DAY, HOUR, False),
    ("strictatime,lazytime", None, None, True),
]
for o, a_age, m_age, updated in cases:
    mount(o)
    shown = opts()
    want_opt = {None: "relatime", "noatime": "noatime"}.get(o)
    if want_opt:
        check(want_opt in shown, f"{want_opt} not in /proc/mounts: {shown}")
    if o and "strictatime" in o:
        check("relatime" not in shown and "noatime" not in shown, f"strictatime shown as {shown}")
    if o and "lazytime" in o:
        check("lazytime" in shown, f"lazytime not in /proc/mounts: {shown}")
    before, after = atime_after_read(f, a_age, m_age)
    if updated:
        check(after > before, f"-o {o}: read did not update atime (atime -{a_age}s, mtime -{m_age}s)")
        check(abs(after / 1e9 - time.time()) < 60, f"-o {o}: atime not now: {after}")
    else:
        eq(f"-o {o}: atime after read (atime -{a_age}s, mtime -{m_age}s)", after, before)
    persisted(f, after, o)
    sh(f"umount {MNT}")

# nodiratime: listing a directory keeps its atime, reading a file does not.
mount("strictatime,nodiratime")
check("nodiratime" in opts(), f"nodiratime not in /proc/mounts: {opts()}")
os.listdir(d)
time.sleep(0.1)
dbefore = os.stat(d).st_atime_ns
os.listdir(d)
eq("dir atime with nodiratime", os.stat(d).st_atime_ns, dbefore)
before, after = atime_after_read(f"{d}/x", None, None)
check(after > before, "nodiratime stopped a file's atime")
sh(f"mount -o remount,strictatime,diratime {MNT}")
os.listdir(d)
check(os.stat(d).st_atime_ns > dbefore, "listing did not update the dir atime with diratime")
persisted(d, os.stat(d).st_atime_ns, "diratime")

# remount,ro: refused while a file is open for writing.
fd = os.open(f"{MNT}/busy", os.O_CREAT | os.O_WRONLY, 0o644)
r = sh(f"mount -o remount,ro {MNT} 2>&1; echo rc=$?", check_rc=False)
check("rc=0" not in r, f"remount,ro with a file open for writing: {r}")
check("rw" in opts(), "ro after a refused remount,ro")
os.write(fd, b"still writable")
os.close(fd)

# Data written (not synced) before remount,ro is on disk after it.
blob = os.urandom(3 << 20)
write_file(f"{MNT}/before", blob)
os.mkdir(f"{MNT}/newdir")
sh(f"mount -o remount,ro {MNT}")
check("ro" in opts(), f"ro not in /proc/mounts after remount,ro: {opts()}")
expect_errno(errno.EROFS, os.open, f"{MNT}/before", os.O_WRONLY)
expect_errno(errno.EROFS, os.open, f"{MNT}/new", os.O_CREAT | os.O_WRONLY)
expect_errno(errno.EROFS, os.unlink, f"{MNT}/before")
expect_errno(errno.EROFS, os.mkdir, f"{MNT}/e")
expect_errno(errno.EROFS, os.utime, f"{MNT}/before", (1, 1))
eq("data on the ro mount", read_file(f"{MNT}/before"), blob)
at_ro = zones()
time.sleep(3)  # GC is stopped: nothing moves
eq("zones while ro", zones(), at_ro)
sh(f"umount {MNT}")
eq("zones after umount of a remounted-ro fs (all was written at remount)", zones(), at_ro)
sh(f"fsck.flufflefs {DEV}")
mount()
eq("data after remount ro + umount", read_file(f"{MNT}/before"), blob)
check(os.path.isdir(f"{MNT}/newdir"), "directory made before remount,ro lost")

# remount,rw: writes work again and persist.
sh(f"mount -o remount,ro {MNT}")
sh(f"mount -o remount,rw {MNT}")
check("rw" in opts(), f"rw not in /proc/mounts after remount,rw: {opts()}")
write_file(f"{MNT}/after", b"after rw")
os.unlink(f"{MNT}/busy")
sh(f"umount {MNT}")

# A read-only mount, then remount,rw (finishes what that mount deferred).
mount("ro")
expect_errno(errno.EROFS, os.mkdir, f"{MNT}/e")
sh(f"mount -o remount,rw {MNT}")
write_file(f"{MNT}/after2", b"after ro mount")
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
mount()
eq("file after remount,rw", read_file(f"{MNT}/after"), b"after rw")
eq("file after ro mount + remount,rw", read_file(f"{MNT}/after2"), b"after ro mount")
check(not os.path.exists(f"{MNT}/busy"), "unlink after remount,rw lost")
sh(f"umount {MNT}")
print("remount and atime ok")
