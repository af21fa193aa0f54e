# A full disk says so in write(2), never by losing data later. On the small
# zoned disk: write files without fsync until write() fails with ENOSPC,
# through buffered writes and through mmap (a write fault on a hole of a
# full disk is SIGBUS); every byte a write() accepted is on the disk after
# umount/mount, fsck is clean, and deleting or truncating dirty files gives
# the space back at once. (Before delayed allocation, 200 MiB written to this
# 144 MiB disk came back different after remount, with no error at all.)
import errno, hashlib, mmap, os, signal, subprocess
from test_lib import *

fresh_fs(SMALL_DEV)
st = os.statvfs(MNT)
usable = st.f_blocks * st.f_bsize
print(f"usable {usable >> 20} MiB")
# Made while there is room: a sparse file for the mmap check below.
hole = f"{MNT}/hole"
with open(hole, "wb") as f:
    f.truncate(1 << 20)


def fill(prefix, chunk):
    """Writes files of 4 MiB in `chunk`-byte write() calls, without fsync,
    until one fails; returns {path: bytes accepted} and the errno."""
    accepted = {}
    k = 0
    while True:
        path = f"{MNT}/{prefix}{k}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        data = b""
        try:
            while len(data) < 4 << 20:
                piece = bytes([(k * 7 + len(data) // chunk) % 251]) * chunk
                n = os.write(fd, piece)
                data += piece[:n]
        except OSError as e:
            accepted[path] = data
            os.close(fd)
            return accepted, e.errno
        finally:
            accepted[path] = data
        os.close(fd)
        k += 1
        check(k < 10 * usable // (4 << 20), "the disk never filled")


files, err = fill("a", 65536)
eq("errno of the write that did not fit", errno.errorcode.get(err, err), "ENOSPC")
total = sum(len(d) for d in files.values())
print(f"accepted {total >> 20} MiB in {len(files)} files before ENOSPC")
check(total >= usable * 80 // 100, f"ENOSPC after only {total >> 20} of {usable >> 20} MiB")
st = os.statvfs(MNT)
check(st.f_bavail * st.f_bsize < 8 << 20, f"df shows {st.f_bavail * st.f_bsize >> 20} MiB free on a full disk")

# A write fault on a hole of the full disk: SIGBUS for the writer.
child = subprocess.run(["python3", "-c", f"""
import mmap, os
fd = os.open({hole!r}, os.O_RDWR)
m = mmap.mmap(fd, 1 << 20)
for off in range(0, 1 << 20, 4096):
    m[off] = 1
"""])
eq("mmap write into a hole of a full disk: signal", child.returncode, -signal.SIGBUS)

# Truncating files (dirty or written back) gives their room back at once.
victims = sorted(files)[:4]
before = os.statvfs(MNT).f_bavail
for p in victims:
    os.truncate(p, 0)
    files[p] = b""
after = os.statvfs(MNT).f_bavail
check((after - before) * st.f_bsize >= 12 << 20, f"truncating 16 MiB freed {(after - before) * st.f_bsize} bytes")
more, err = fill("b", 4096)
eq("errno when full again", errno.errorcode.get(err, err), "ENOSPC")
check(sum(len(d) for d in more.values()) >= 8 << 20, "the truncated room could not be written again")
files.update(more)

digests = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
sh(f"umount {MNT}")
sh(f"mount -t flufflefs {SMALL_DEV} {MNT}")
for p, want in digests.items():
    got = hashlib.sha256(read_file(p)).hexdigest()
    if got != want:
        fail(f"{p}: {len(files[p])} bytes accepted by write(), different after umount/mount "
             f"({os.path.getsize(p)} bytes on disk)")
print(f"{len(digests)} files intact after umount/mount")

# Deleting frees the space for new writes (GC reclaims it behind them).
for p in files:
    os.unlink(p)
write_file(f"{MNT}/after-delete", b"x" * (usable // 2))
os.sync()
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {SMALL_DEV}")
