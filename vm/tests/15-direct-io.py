# O_DIRECT: open succeeds; aligned reads and writes bypass the page cache
# and agree with buffered I/O both ways (cached pages are written back
# before a direct read and dropped after a direct write); unaligned
# requests work (done buffered); short read at EOF; survives remount and
# fsck.
import mmap, os, random
from test_lib import *

fresh_fs()
rng = random.Random(15)
MIB = 1 << 20
path = f"{MNT}/direct"


def aligned(data):
    """A page-aligned buffer holding `data` (O_DIRECT callers use one)."""
    buf = mmap.mmap(-1, max(len(data), 4096))
    buf.write(data)
    return buf


def dread(off, n):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        buf = mmap.mmap(-1, max(n, 4096))
        got = os.preadv(fd, [memoryview(buf)[:n]], off)
        return bytes(buf[:got])
    finally:
        os.close(fd)


want = bytearray(rng.randbytes(3 * MIB))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
eq("direct write of 3 MiB", os.pwritev(fd, [aligned(bytes(want))], 0), len(want))
# Unaligned offset and length: done buffered, still correct.
eq("unaligned direct write", os.pwrite(fd, b"unaligned!", 5000), 10)
want[5000:5010] = b"unaligned!"
os.close(fd)


def cached_bytes():
    return int(sh(f"fincore --bytes --noheadings --output RES {path}").split()[0])


# Only the unaligned write went through the page cache: one folio at most.
check(cached_bytes() <= 64 * 1024, f"direct writes left {cached_bytes()} bytes cached")
eq("direct read of everything", dread(0, len(want)), bytes(want))
check(cached_bytes() <= 64 * 1024, f"direct reads cached {cached_bytes()} bytes")
sh("echo 3 > /proc/sys/vm/drop_caches")
eq("buffered read after direct writes", read_file(path), bytes(want))

# A buffered write still in the page cache is seen by a direct read.
with open(path, "r+b") as f:
    f.seek(MIB + 4096)
    f.write(b"B" * 8192)
want[MIB + 4096:MIB + 4096 + 8192] = b"B" * 8192
eq("direct read sees cached buffered data", dread(MIB, 3 * 4096), bytes(want[MIB:MIB + 3 * 4096]))

# A direct write replaces what a buffered reader had cached.
eq("cache the file", read_file(path), bytes(want))
fd = os.open(path, os.O_WRONLY | os.O_DIRECT)
new = rng.randbytes(2 * 4096)
eq("direct overwrite", os.pwritev(fd, [aligned(new)], 2 * MIB), len(new))
os.close(fd)
want[2 * MIB:2 * MIB + len(new)] = new
eq("buffered read after direct overwrite", read_file(path), bytes(want))

# Growing the file with a direct write past EOF leaves a hole of zeros.
fd = os.open(path, os.O_WRONLY | os.O_DIRECT)
tail = rng.randbytes(4096)
eq("direct write past EOF", os.pwritev(fd, [aligned(tail)], 4 * MIB), 4096)
os.close(fd)
want += bytes(MIB) + tail
eq("size after growing", os.stat(path).st_size, len(want))
eq("short direct read at EOF", dread(4 * MIB, 3 * 4096), tail)

remount()
eq("after remount", read_file(path), bytes(want))
eq("direct read after remount", dread(0, len(want)), bytes(want))
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
print("O_DIRECT agrees with buffered I/O; fsck clean")
