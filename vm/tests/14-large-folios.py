# Large page-cache folios through writeback and readahead: a log head
# misaligned by a small file makes 1 MiB folios straddle zone ends (the
# head of such a folio is written synchronously, its tail by the bio that
# ends its writeback); partial overwrites inside large folios, mmap
# writes, truncation inside a folio; every byte checked cold, after
# remount and by fsck.
import hashlib, mmap, os, random
from test_lib import *

fresh_fs()
rng = random.Random(14)
MIB = 1 << 20

# A few blocks first, so later runs do not start on a 1 MiB boundary.
small = rng.randbytes(5000)
write_file(f"{MNT}/small", small)
fd = os.open(f"{MNT}/small", os.O_RDONLY)
os.fsync(fd)
os.close(fd)

# 150 MiB in 1 MiB writes: crosses two 62 MiB zone ends.
big = bytearray(rng.randbytes(150 * MIB))
fd = os.open(f"{MNT}/big", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for off in range(0, len(big), MIB):
    os.write(fd, big[off:off + MIB])
os.fsync(fd)
os.close(fd)


def verify(when):
    sh("echo 3 > /proc/sys/vm/drop_caches")
    eq(f"{when}: small", read_file(f"{MNT}/small"), small)
    got = read_file(f"{MNT}/big")
    eq(f"{when}: big size", len(got), len(big))
    if got != big:
        bad = next(i for i in range(0, len(big), 4096) if got[i:i + 4096] != big[i:i + 4096])
        fail(f"{when}: big differs first in the block at {bad}")
    print(f"{when}: {len(big) >> 20} MiB verified")


verify("after fsync")

# Unaligned overwrites inside large folios, through write and mmap.
with open(f"{MNT}/big", "r+b") as f:
    for _ in range(20):
        off, n = rng.randrange(len(big) - 20000), rng.randrange(1, 20000)
        data = rng.randbytes(n)
        f.seek(off)
        f.write(data)
        big[off:off + n] = data
    m = mmap.mmap(f.fileno(), 0)
    for _ in range(20):
        off = rng.randrange(len(big) - 100)
        data = rng.randbytes(100)
        m[off:off + 100] = data
        big[off:off + 100] = data
    m.flush()
    m.close()
    # Cut inside a folio, then grow back: the cut-off bytes read as zeros.
    cut = 100 * MIB + 12345
    f.truncate(cut)
    f.truncate(len(big))
    big[cut:] = bytes(len(big) - cut)
    os.fsync(f.fileno())
verify("after overwrites")
remount()
verify("after remount")
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {DEV}")
print("fsck clean")
