"""Helpers for in-guest Python tests (vm/tests/*.py), on PYTHONPATH there.

Each test is a script: it raises (or calls fail) on the first wrong result,
printing what it expected; exit status 0 means PASS.
"""
import errno
import os
import subprocess
import sys

# The big and the small ZNS namespace, found by NSID in guest-init (their
# nvme0nN names change between boots).
DEV = os.environ.get("FLUFFLE_DEV", "/dev/nvme0n1")
SMALL_DEV = os.environ.get("FLUFFLE_SMALL_DEV", "/dev/nvme0n2")
MNT = "/mnt"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, want {want!r}")


def expect_errno(code, fn, *args, **kw):
    """fn(*args) must fail with OSError errno `code`."""
    try:
        fn(*args, **kw)
    except OSError as e:
        if e.errno != code:
            fail(f"{fn.__name__}{args}: errno {errno.errorcode.get(e.errno, e.errno)}, "
                 f"want {errno.errorcode[code]}")
        return
    fail(f"{fn.__name__}{args}: succeeded, want {errno.errorcode[code]}")


def sh(cmd, check_rc=True):
    """Runs a shell command, returns its stdout; fails the test on error."""
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        fail(f"`{cmd}` exited {p.returncode}: {p.stdout}{p.stderr}")
    return p.stdout


def fresh_fs(dev=DEV):
    """A newly formatted FluffleFS on `dev` mounted at /mnt."""
    sh(f"umount {MNT} 2>/dev/null || true")
    sh("modprobe flufflefs")
    sh(f"mkfs -t flufflefs {dev}")
    sh(f"mount -t flufflefs {dev} {MNT}")


def remount():
    sh(f"umount {MNT}")
    sh(f"mount -t flufflefs {DEV} {MNT}")


def write_file(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


# Device-mapper over the ZNS namespace, for making it fail on purpose
# (dm-flakey and dm-error both pass zones through). Tables are lists of
# (start, length, target-and-args) in 512-byte sectors; a zoned dm device
# needs every segment zone-aligned.
ZONE_SECTORS = int(os.environ.get("FLUFFLE_ZONE_SIZE_MB", "64")) * 2048


def dev_sectors(dev=DEV):
    return int(sh(f"blockdev --getsz {dev}"))


def dm_table(segments):
    return "\n".join(f"{start} {length} {target}" for start, length, target in segments)


def dm_table_file(name, segments):
    """Writes `segments` as NAME's table file for dmsetup; returns its path."""
    path = f"/tmp/{name}.table"
    with open(path, "w") as f:
        f.write(dm_table(segments) + "\n")
    return path


def dm_create(name, segments):
    """Creates /dev/mapper/NAME with `segments`; returns its path."""
    sh(f"dmsetup create {name} {dm_table_file(name, segments)}")
    return f"/dev/mapper/{name}"


def dm_swap(name, segments):
    """Replaces the live table of NAME under a mounted filesystem: I/O in
    flight finishes first; the filesystem is not frozen (--nolockfs), so a
    failing table sees exactly what the filesystem does next."""
    table = dm_table_file(name, segments)
    sh(f"dmsetup suspend --nolockfs {name}")
    sh(f"dmsetup load {name} {table}")
    sh(f"dmsetup resume {name}")


def dm_remove(name):
    sh(f"dmsetup remove {name} 2>/dev/null || true", check_rc=False)


def linear(dev=DEV, start=0, length=None):
    """One segment mapping `length` sectors of DEV from `start` unchanged."""
    length = dev_sectors(dev) - start if length is None else length
    return (start, length, f"linear {dev} {start}")


def errno_of(fn, *args, **kw):
    """The errno fn(*args) fails with, or None if it succeeds."""
    try:
        fn(*args, **kw)
    except OSError as e:
        return e.errno
    return None


def as_user(body):
    """Runs body() in a forked child as uid/gid 1000 (no supplementary
    groups); the test fails if it does."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setresgid(1000, 1000, 1000)
            os.setresuid(1000, 1000, 1000)
            body()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # an unexpected exception is a failure too
            print(f"FAIL: as user: {e!r}", file=sys.stderr)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "unprivileged part failed")
