# xattr namespaces and filesystem identity (issue 13): trusted.* for
# CAP_SYS_ADMIN only (a user gets ENODATA reading, EPERM writing, and does
# not see the names, as on ext4), security.* (anyone reads, only
# CAP_SYS_ADMIN writes: the capability LSM), both persistent; POSIX ACLs
# are not supported yet (system.posix_acl_* give EOPNOTSUPP, the guest
# has no acl package: the values would be hand-made). The uuid mkfs wrote
# (FS_IOC_GETFSUUID, served by the VFS from sb->s_uuid), the sysfs path
# (FS_IOC_GETFSSYSFSPATH) and the label of `mkfs -t flufflefs -L`
# (FS_IOC_GETFSLABEL) match what `fluffle dump` shows, across remount.
import errno, fcntl, os, struct
from test_lib import *

FS_IOC_GETFSUUID = 0x80111500        # _IOR(0x15, 0, struct fsuuid2)
FS_IOC_GETFSSYSFSPATH = 0x80811501   # _IOR(0x15, 1, struct fs_sysfs_path)
FS_IOC_GETFSLABEL = 0x81009431       # _IOR(0x94, 49, char[256])
LABEL = "fluffy-vol 13"

sh(f"umount {MNT} 2>/dev/null || true")
sh("modprobe flufflefs")
sh(f"mkfs -t flufflefs -L '{LABEL}' {DEV}")
sh(f"mount -t flufflefs {DEV} {MNT}")
T = f"{MNT}/t"
os.mkdir(T, 0o777)


def identity():
    fd = os.open(MNT, os.O_RDONLY)
    try:
        u = fcntl.ioctl(fd, FS_IOC_GETFSUUID, b"\0" * 17)
        s = fcntl.ioctl(fd, FS_IOC_GETFSSYSFSPATH, b"\0" * 129)
        l = fcntl.ioctl(fd, FS_IOC_GETFSLABEL, b"\0" * 256)
    finally:
        os.close(fd)
    eq("fsuuid2.len", u[0], 16)
    return u[1:17].hex(), s[1:1 + s[0]].decode(), l.rstrip(b"\0").decode()


uuid, sysfs, label = identity()
eq("label", label, LABEL)
check(uuid != "00" * 16, "uuid is all zeroes")
eq("uuid version (random, v4)", uuid[12], "4")
eq("sysfs path", sysfs, "flufflefs/" + os.path.basename(os.path.realpath(DEV)))   # /sys/fs/<type>/<dev>
# A file's ioctl answers the same as the root's.
write_file(f"{T}/f", b"x")

# --- trusted.* and security.* as root ---
os.chmod(f"{T}/f", 0o666)
os.setxattr(f"{T}/f", "trusted.overlay.opaque", b"y")
os.setxattr(f"{T}/f", "security.test", b"label-1")
os.setxattr(f"{T}/f", "user.u", b"U")
eq("trusted as root", os.getxattr(f"{T}/f", "trusted.overlay.opaque"), b"y")
eq("security as root", os.getxattr(f"{T}/f", "security.test"), b"label-1")
names = set(os.listxattr(f"{T}/f"))
check({"trusted.overlay.opaque", "security.test", "user.u"} <= names, f"root's list: {names}")
os.mkdir(f"{T}/d", 0o777)
os.setxattr(f"{T}/d", "trusted.d", b"dir")
os.symlink("f", f"{T}/lnk")
os.setxattr(f"{T}/lnk", "trusted.l", b"lnk", follow_symlinks=False)
os.mkfifo(f"{T}/fifo", 0o666)
os.setxattr(f"{T}/fifo", "security.s", b"fifo")
expect_errno(errno.EOPNOTSUPP, os.setxattr, f"{T}/f", "system.posix_acl_access",
             bytes([2, 0, 0, 0, 1, 0, 6, 0, 255, 255, 255, 255]))
expect_errno(errno.EOPNOTSUPP, os.setxattr, f"{T}/f", "system.other", b"x")
os.removexattr(f"{T}/f", "user.u")


def user_part():
    p = f"{T}/f"
    expect_errno(errno.ENODATA, os.getxattr, p, "trusted.overlay.opaque")
    expect_errno(errno.EPERM, os.setxattr, p, "trusted.mine", b"x")
    expect_errno(errno.EPERM, os.removexattr, p, "trusted.overlay.opaque")
    eq("user's list", set(os.listxattr(p)), {"security.test"})
    eq("user's list of a dir", os.listxattr(f"{T}/d"), [])
    eq("security read by a user", os.getxattr(p, "security.test"), b"label-1")
    expect_errno(errno.EPERM, os.setxattr, p, "security.test", b"forged")
    # user.* still works for the user on a file it may write.
    os.setxattr(p, "user.mine", b"ok")
    eq("user.* as user", os.getxattr(p, "user.mine"), b"ok")
    uuid_u, _, label_u = identity()
    eq("uuid as user", uuid_u, uuid)
    eq("label as user", label_u, label)


as_user(user_part)
eq("security unchanged", os.getxattr(f"{T}/f", "security.test"), b"label-1")

# --- persistence ---
remount()
eq("trusted after remount", os.getxattr(f"{T}/f", "trusted.overlay.opaque"), b"y")
eq("security after remount", os.getxattr(f"{T}/f", "security.test"), b"label-1")
eq("user.* after remount", os.getxattr(f"{T}/f", "user.mine"), b"ok")
eq("trusted on a dir", os.getxattr(f"{T}/d", "trusted.d"), b"dir")
eq("trusted on a symlink", os.getxattr(f"{T}/lnk", "trusted.l", follow_symlinks=False), b"lnk")
eq("security on a FIFO", os.getxattr(f"{T}/fifo", "security.s"), b"fifo")
eq("list after remount", set(os.listxattr(f"{T}/f")), {"trusted.overlay.opaque", "security.test", "user.mine"})
eq("identity after remount", identity(), (uuid, sysfs, label))

sh(f"umount {MNT}")
dump = sh(f"fluffle dump {DEV}")
check(f"uuid: {uuid}" in dump, f"dump's uuid is not {uuid}: {dump[:400]}")
check(f'label: "{LABEL}"' in dump, f"dump's label is not {LABEL}: {dump[:400]}")
out = sh(f"fsck.flufflefs {DEV}")
check(" 0 problems" in out, f"fsck: {out}")
print("xattr namespaces and identity ok")
