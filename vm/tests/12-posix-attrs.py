# chmod/chown/utimes/stat/statfs, xattrs, and permission checks for a
# non-root user.
import errno, os, subprocess
from test_lib import *

fresh_fs()
p = f"{MNT}/f"
write_file(p, b"data")
os.chmod(p, 0o600)
eq("mode", os.stat(p).st_mode & 0o7777, 0o600)
os.chown(p, 1000, 1000)
st = os.stat(p)
eq("owner", (st.st_uid, st.st_gid), (1000, 1000))
os.utime(p, (1_000_000_000, 1_200_000_000))
st = os.stat(p)
eq("times", (int(st.st_atime), int(st.st_mtime)), (1_000_000_000, 1_200_000_000))

# statfs: df sees a sane, shrinking free count.
s1 = os.statvfs(MNT)
check(s1.f_bsize == 4096 and s1.f_blocks > 0 and 0 < s1.f_bfree <= s1.f_blocks, f"statvfs {s1}")
write_file(f"{MNT}/fill", os.urandom(8 << 20))
os.sync()
s2 = os.statvfs(MNT)
check(s2.f_bfree < s1.f_bfree, f"free blocks did not drop: {s1.f_bfree} -> {s2.f_bfree}")
check("flufflefs" in sh(f"df -T {MNT}"), "df -T does not show flufflefs")
eq("namemax", s1.f_namemax, 255)

# xattrs in user.*, with Linux errnos; setfattr/getfattr work.
os.setxattr(p, "user.color", b"blue")
eq("getxattr", os.getxattr(p, "user.color"), b"blue")
expect_errno(errno.EEXIST, os.setxattr, p, "user.color", b"x", os.XATTR_CREATE)
expect_errno(errno.ENODATA, os.setxattr, p, "user.none", b"x", os.XATTR_REPLACE)
expect_errno(errno.ENODATA, os.getxattr, p, "user.none")
os.setxattr(p, "user.size", b"z" * 3000)
eq("listxattr", sorted(os.listxattr(p)), ["user.color", "user.size"])
os.removexattr(p, "user.size")
expect_errno(errno.ENODATA, os.removexattr, p, "user.size")
# Namespaces FluffleFS does not keep (trusted.* and security.* are kept:
# 32-xattr-acl).
expect_errno(errno.EOPNOTSUPP, os.setxattr, p, "system.x", b"1")
sh(f"setfattr -n user.tool -v hello {p}")
check('user.tool="hello"' in sh(f"getfattr -d {p}"), "getfattr -d misses user.tool")

# Permissions: a non-root user is refused where it has no rights.
os.mkdir(f"{MNT}/private", 0o700)
write_file(f"{MNT}/private/secret", b"s")
os.chmod(MNT, 0o755)
def as_tester(cmd):
    return subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "sh", "-c", cmd],
                          capture_output=True, text=True)
r = as_tester(f"cat {MNT}/private/secret")
check(r.returncode != 0 and "Permission denied" in r.stderr, f"non-root read a 0700 dir: {r}")
r = as_tester(f"touch {MNT}/newfile")
check(r.returncode != 0 and "Permission denied" in r.stderr, f"non-root created in a 0755 root dir: {r}")
os.chmod(p, 0o644)
os.chown(p, 0, 0)
r = as_tester(f"echo x >> {p}")
check(r.returncode != 0 and "Permission denied" in r.stderr, f"non-root wrote a 0644 root file: {r}")
os.mkdir(f"{MNT}/shared")
os.chmod(f"{MNT}/shared", 0o777)  # mkdir's mode is masked by the umask
r = as_tester(f"echo mine > {MNT}/shared/t && cat {MNT}/shared/t")
eq("non-root in a 0777 dir", r.stdout.strip(), "mine")
eq("created by tester", os.stat(f"{MNT}/shared/t").st_uid, 1000)

st_before_remount = os.stat(p)
remount()
eq("xattr after remount", os.getxattr(p, "user.color"), b"blue")
eq("mode after remount", os.stat(f"{MNT}/private").st_mode & 0o7777, 0o700)
eq("mtime after remount", int(os.stat(p).st_mtime), int(st_before_remount.st_mtime))
print("attrs ok")
