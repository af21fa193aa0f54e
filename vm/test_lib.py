"""Helpers for in-guest Python tests (vm/tests/*.py), on PYTHONPATH there.

Each test is a script: it raises (or calls fail) on the first wrong result,
printing what it expected; exit status 0 means PASS.
"""
import errno
import os
import subprocess
import sys

DEV = "/dev/nvme0n1"
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


def fresh_fs():
    """A newly formatted FluffleFS mounted at /mnt."""
    sh(f"umount {MNT} 2>/dev/null || true")
    sh("modprobe flufflefs")
    sh(f"mkfs -t flufflefs {DEV}")
    sh(f"mount -t flufflefs {DEV} {MNT}")


def remount():
    sh(f"umount {MNT}")
    sh(f"mount -t flufflefs {DEV} {MNT}")


def write_file(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()
