# overlayfs with FluffleFS as the upper (and work) layer over a tmpfs
# lower: it mounts without falling back (O_TMPFILE, RENAME_WHITEOUT,
# d_type and overlay xattrs all work on the upper), a write copies a lower
# file up, deleting a lower file leaves a whiteout (char device 0/0) in the
# upper, renaming a lower file leaves one too, a lower directory removed
# and made again is opaque (empty), an upper directory renames; all of it
# survives umount + mount of both layers, and fsck passes.
#
# `userxattr`: overlay keeps its xattrs in user.overlay.* (FluffleFS has
# user.*; trusted.* comes with another change: then this option can go).
import errno, os, stat
from test_lib import *

LOWER, OVL = "/tmp/ovl-lower", "/tmp/ovl"
UP, WORK = f"{MNT}/upper", f"{MNT}/work"


def mount_ovl():
    sh("dmesg -C")
    sh(f"mount -t overlay overlay -o lowerdir={LOWER},upperdir={UP},workdir={WORK},userxattr {OVL}")
    log = sh("dmesg")
    for bad in ("does not support tmpfile", "does not support RENAME_WHITEOUT", "failed to set xattr on upper", "needs to support d_type"):
        check(bad not in log, f"overlayfs fell back: {bad!r} in dmesg: {log}")


def is_whiteout(p):
    st = os.lstat(p)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


sh("grep -qw overlay /proc/filesystems || modprobe overlay")
os.makedirs(LOWER, exist_ok=True)
os.makedirs(OVL, exist_ok=True)
sh(f"mount -t tmpfs tmpfs {LOWER}")
write_file(f"{LOWER}/f", b"lower f")
write_file(f"{LOWER}/del", b"to delete")
write_file(f"{LOWER}/mv", b"to move")
os.makedirs(f"{LOWER}/rdir")
write_file(f"{LOWER}/rdir/y", b"y")
fresh_fs()
os.mkdir(UP)
os.mkdir(WORK)
mount_ovl()

# Copy-up on write: the upper gets lower content + the change.
with open(f"{OVL}/f", "ab") as fh:
    fh.write(b" + upper")
eq("merged f", read_file(f"{OVL}/f"), b"lower f + upper")
eq("upper f (copied up)", read_file(f"{UP}/f"), b"lower f + upper")
eq("lower f untouched", read_file(f"{LOWER}/f"), b"lower f")
# Delete a lower file: whiteout in the upper.
os.unlink(f"{OVL}/del")
check(not os.path.exists(f"{OVL}/del"), "deleted file still visible")
check(is_whiteout(f"{UP}/del"), "no whiteout for a deleted lower file")
check(os.path.exists(f"{LOWER}/del"), "lower file deleted")
# Rename a lower file: copy-up, then RENAME_WHITEOUT in the upper.
os.rename(f"{OVL}/mv", f"{OVL}/moved")
eq("renamed lower file", read_file(f"{OVL}/moved"), b"to move")
check(not os.path.exists(f"{OVL}/mv"), "old name of a renamed file still visible")
check(is_whiteout(f"{UP}/mv"), "no whiteout at the old name of a renamed lower file")
# A lower directory removed and made again is opaque.
os.unlink(f"{OVL}/rdir/y")
os.rmdir(f"{OVL}/rdir")
os.mkdir(f"{OVL}/rdir")
eq("recreated dir is empty (opaque)", os.listdir(f"{OVL}/rdir"), [])
eq("opaque xattr", os.getxattr(f"{UP}/rdir", "user.overlay.opaque"), b"y")
# An upper directory with content renames.
os.mkdir(f"{OVL}/newdir")
write_file(f"{OVL}/newdir/z", b"z")
os.rename(f"{OVL}/newdir", f"{OVL}/newdir2")
eq("renamed upper dir", read_file(f"{OVL}/newdir2/z"), b"z")
# A new file in the merged view lands in the upper only.
write_file(f"{OVL}/new", b"new")
eq("new file in upper", read_file(f"{UP}/new"), b"new")
check(not os.path.exists(f"{LOWER}/new"), "new file reached the lower layer")


def check_merged(when):
    eq(f"merged listing {when}", sorted(os.listdir(OVL)), ["f", "moved", "new", "newdir2", "rdir"])
    eq(f"f {when}", read_file(f"{OVL}/f"), b"lower f + upper")
    eq(f"moved {when}", read_file(f"{OVL}/moved"), b"to move")
    eq(f"rdir {when}", os.listdir(f"{OVL}/rdir"), [])
    eq(f"newdir2/z {when}", read_file(f"{OVL}/newdir2/z"), b"z")
    check(is_whiteout(f"{UP}/del") and is_whiteout(f"{UP}/mv"), f"whiteouts lost {when}")


check_merged("before umount")
sh(f"umount {OVL}")
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
sh(f"mount -t flufflefs {DEV} {MNT}")
mount_ovl()
check_merged("after umount + mount")
sh(f"umount {OVL}")
sh(f"umount {MNT}")
sh(f"umount {LOWER}")
sh(f"fsck.flufflefs {DEV}")
print("overlayfs ok")
