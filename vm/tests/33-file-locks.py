# File locks between processes behave as on ext4 (FluffleFS leaves them to
# the VFS's generic locking): POSIX record locks (conflicts by range,
# F_GETLK names the holder, read locks shared, upgrade waits for the other
# readers, release on close of any fd and on exit), OFD locks (owned by
# the open file: two opens in one process conflict, F_OFD_GETLK pid -1,
# released when the last fd of the open file closes) and flock (whole
# file, shared/exclusive, independent of record locks, released on close).
import errno, fcntl, os, struct, time
from test_lib import *

F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
FL = "hhqqi4x"  # struct flock on x86_64
BUSY = (errno.EAGAIN, errno.EACCES)


def lk(fd, cmd, typ, start, length, pid=0):
    """fcntl record lock call; returns (type, start, len, pid) of the answer."""
    r = fcntl.fcntl(fd, cmd, struct.pack(FL, typ, os.SEEK_SET, start, length, pid))
    t, _, s, l, p = struct.unpack(FL, r)
    return t, s, l, p


def busy(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        check(e.errno in BUSY, f"{fn.__name__}{args[1:]}: errno {e.errno}, want EAGAIN/EACCES")
        return True
    return False


class Child:
    """A forked process that runs commands sent over a pipe and answers."""

    def __init__(self, path):
        self.cmd_r, self.cmd_w = os.pipe()
        self.ans_r, self.ans_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            # Only its own opens: an inherited fd would share the parent's
            # open files (and so keep their OFD locks and flocks alive).
            for n in os.listdir("/proc/self/fd"):
                if int(n) > 2 and int(n) not in (self.cmd_r, self.ans_w):
                    try:
                        os.close(int(n))
                    except OSError:
                        pass
            fds = {}
            while True:
                line = os.read(self.cmd_r, 256).decode()
                if not line:
                    os._exit(0)
                op, *a = line.split()
                try:
                    if op == "open":
                        fds[a[0]] = os.open(path, os.O_RDWR)
                        out = "ok"
                    elif op == "close":
                        os.close(fds.pop(a[0]))
                        out = "ok"
                    elif op == "exit":
                        os._exit(0)
                    elif op == "posix" or op == "ofd":
                        cmd = fcntl.F_SETLK if op == "posix" else F_OFD_SETLK
                        typ = {"r": fcntl.F_RDLCK, "w": fcntl.F_WRLCK, "u": fcntl.F_UNLCK}[a[1]]
                        lk(fds[a[0]], cmd, typ, int(a[2]), int(a[3]))
                        out = "ok"
                    elif op == "flock":
                        how = {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}[a[1]]
                        fcntl.flock(fds[a[0]], how | fcntl.LOCK_NB)
                        out = "ok"
                    else:
                        out = "bad"
                except OSError as e:
                    out = "busy" if e.errno in BUSY or e.errno == errno.EWOULDBLOCK else f"errno{e.errno}"
                os.write(self.ans_w, out.encode())
        os.close(self.cmd_r)
        os.close(self.ans_w)

    def do(self, line):
        os.write(self.cmd_w, line.encode())
        return os.read(self.ans_r, 64).decode()

    def exit(self):
        os.write(self.cmd_w, b"exit")
        os.waitpid(self.pid, 0)


fresh_fs()
path = f"{MNT}/locked"
write_file(path, b"x" * 100)
W, R, U = fcntl.F_WRLCK, fcntl.F_RDLCK, fcntl.F_UNLCK

# POSIX record locks: ranges, F_GETLK, close of any fd releases.
fd = os.open(path, os.O_RDWR)
c = Child(path)
eq("child open", c.do("open a"), "ok")
lk(fd, fcntl.F_SETLK, W, 0, 10)
eq("overlapping write lock", c.do("posix a w 5 10"), "busy")
eq("overlapping read lock", c.do("posix a r 9 1"), "busy")
eq("disjoint write lock", c.do("posix a w 10 10"), "ok")
t, s, l, p = lk(fd, fcntl.F_GETLK, W, 0, 100)
eq("F_GETLK sees the child's lock", (t, s, l, p), (W, 10, 10, c.pid))
check(busy(lk, fd, fcntl.F_SETLK, W, 15, 1), "parent locked inside the child's range")
fd2 = os.open(path, os.O_RDONLY)
os.close(fd2)  # closing any fd of the file drops the parent's POSIX locks
eq("lock after the holder closed another fd", c.do("posix a w 0 10"), "ok")
eq("child unlock", c.do("posix a u 0 100"), "ok")

# Read locks are shared; an upgrade waits until the other reader leaves.
lk(fd, fcntl.F_SETLK, R, 0, 50)
eq("shared read lock", c.do("posix a r 0 50"), "ok")
check(busy(lk, fd, fcntl.F_SETLK, W, 0, 50), "upgrade succeeded while another process reads")
eq("child drops its read lock", c.do("posix a u 0 50"), "ok")
lk(fd, fcntl.F_SETLK, W, 0, 50)  # the upgrade now works
eq("read lock against the upgraded one", c.do("posix a r 0 1"), "busy")
lk(fd, fcntl.F_SETLK, R, 0, 50)  # and a downgrade shares again
eq("read lock after downgrade", c.do("posix a r 0 1"), "ok")
lk(fd, fcntl.F_SETLK, U, 0, 0)
eq("child unlock", c.do("posix a u 0 0"), "ok")

# Released when the holder exits.
eq("child write lock", c.do("posix a w 0 0"), "ok")
check(busy(lk, fd, fcntl.F_SETLK, R, 50, 1), "parent locked over the child's whole-file lock")
c.exit()
lk(fd, fcntl.F_SETLK, W, 0, 0)
lk(fd, fcntl.F_SETLK, U, 0, 0)

# OFD locks: per open file, so two opens in one process conflict.
o1 = os.open(path, os.O_RDWR)
o2 = os.open(path, os.O_RDWR)
lk(o1, F_OFD_SETLK, W, 0, 10)
check(busy(lk, o2, F_OFD_SETLK, W, 0, 1), "OFD lock of a second open file in the same process")
t, s, l, p = lk(o2, F_OFD_GETLK, W, 0, 100)
eq("F_OFD_GETLK", (t, s, l, p), (W, 0, 10, -1))
o1dup = os.dup(o1)
os.close(o1)  # another fd of the same open file keeps it
check(busy(lk, o2, F_OFD_SETLK, W, 0, 1), "OFD lock dropped while a dup still holds the open file")
c = Child(path)
eq("child open", c.do("open a"), "ok")
eq("OFD lock conflicts across processes", c.do("ofd a r 5 1"), "busy")
os.close(o1dup)
lk(o2, F_OFD_SETLK, W, 0, 10)
eq("child against the new OFD lock", c.do("ofd a w 0 1"), "busy")
eq("child POSIX lock conflicts with OFD", c.do("posix a r 0 1"), "busy")
os.close(o2)
eq("OFD lock released on the last close", c.do("ofd a w 0 1"), "ok")
c.exit()

# flock: exclusive/shared, independent of record locks, released on close.
c = Child(path)
eq("child open", c.do("open a"), "ok")
eq("child open 2", c.do("open b"), "ok")
eq("child LOCK_EX", c.do("flock a ex"), "ok")
check(busy(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB), "LOCK_EX granted over another process's")
check(busy(fcntl.flock, fd, fcntl.LOCK_SH | fcntl.LOCK_NB), "LOCK_SH granted over another process's LOCK_EX")
eq("second open file of the child", c.do("flock b ex"), "busy")
lk(fd, fcntl.F_SETLK, W, 0, 0)  # record locks do not see flock
lk(fd, fcntl.F_SETLK, U, 0, 0)
eq("child LOCK_SH (downgrade)", c.do("flock a sh"), "ok")
fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
check(busy(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB), "LOCK_EX upgrade while another holds LOCK_SH")
eq("child close releases", c.do("close a"), "ok")
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
eq("child blocked by parent LOCK_EX", c.do("flock b sh"), "busy")
os.close(fd)
eq("released when the parent closes", c.do("flock b ex"), "ok")
c.exit()

# Locks are in memory only: after a remount nothing is held and data is intact.
remount()
fd = os.open(path, os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
lk(fd, fcntl.F_SETLK, W, 0, 0)
eq("content", os.read(fd, 200), b"x" * 100)
os.close(fd)
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
print("file locks ok")
