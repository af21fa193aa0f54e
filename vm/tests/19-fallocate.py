# fallocate(2), SEEK_DATA/SEEK_HOLE and FIEMAP on FluffleFS, as ext4 does
# them: mode 0 grows the file and reserves its blocks, KEEP_SIZE reserves
# past EOF (st_blocks and df show both), PUNCH_HOLE reads zeros and frees
# space, ZERO_RANGE reads zeros (and grows without KEEP_SIZE), COLLAPSE /
# INSERT / UNSHARE and PUNCH without KEEP_SIZE are EOPNOTSUPP; a reserved
# range can still be written on a full disk; lseek's SEEK_DATA/SEEK_HOLE
# follow a sparse file's layout (dirty in the page cache and written back);
# FIEMAP (the ioctl and `filefrag -v`) names device LBAs inside the disk
# where the file's data really is (read back with O_DIRECT); all of it
# survives umount + mount, and fsck is clean.
import ctypes, errno, fcntl, mmap, os, re, struct
from test_lib import *

KEEP, PUNCH, ZERO = 0x01, 0x02, 0x10
COLLAPSE, INSERT, UNSHARE = 0x08, 0x20, 0x40
B = 4096
MiB = 1 << 20
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def falloc(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def bfree():
    st = os.statvfs(MNT)
    return st.f_bfree


def pattern(n, seed):
    return bytes((i * 31 + seed) & 0xff for i in range(n))


fresh_fs()
ZONE_BLOCKS = int(os.environ.get("FLUFFLE_ZONE_SIZE_MB", "64")) * MiB // B
DISK_BLOCKS = dev_sectors() * 512 // B

# --- mode 0: grows, reserves, reads zeros -------------------------------
p = f"{MNT}/mode0"
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
free0 = bfree()
falloc(fd, 0, 0, MiB + 100)
st = os.fstat(fd)
eq("mode 0: size", st.st_size, MiB + 100)
eq("mode 0: st_blocks", st.st_blocks, (MiB // B + 1) * 8)
used = free0 - bfree()
check(abs(used - (MiB // B + 1)) <= 2, f"mode 0: df shows {used} blocks used, want {MiB // B + 1}")
eq("mode 0: reads zeros", os.pread(fd, MiB + 200, 0), bytes(MiB + 100))
# Writing the reserved range costs no more space.
os.pwrite(fd, pattern(MiB, 1), 0)
os.fsync(fd)
used2 = free0 - bfree()
check(abs(used2 - used) <= 2, f"mode 0: writing reserved blocks took more space ({used} -> {used2})")
os.close(fd)

# --- KEEP_SIZE: past EOF, size unchanged, st_blocks and df change ------
p2 = f"{MNT}/keep"
write_file(p2, pattern(5000, 2))
fd = os.open(p2, os.O_RDWR)
os.fsync(fd)
free1 = bfree()
falloc(fd, KEEP, 8192, MiB)
st = os.fstat(fd)
eq("KEEP_SIZE: size", st.st_size, 5000)
check(st.st_blocks >= (MiB // B) * 8, f"KEEP_SIZE: st_blocks {st.st_blocks} does not show the reservation")
used = free1 - bfree()
check(abs(used - MiB // B) <= 2, f"KEEP_SIZE: df shows {used} blocks used, want {MiB // B}")
eq("KEEP_SIZE: content", os.pread(fd, 10000, 0), pattern(5000, 2))
# Extending into it: zeros in between, data where written.
os.pwrite(fd, b"tail", 100000)
eq("KEEP_SIZE: size after a write past EOF", os.fstat(fd).st_size, 100004)
eq("KEEP_SIZE: gap reads zeros", os.pread(fd, 95000, 5000), bytes(95000))
os.close(fd)
keep_want = pattern(5000, 2) + bytes(95000) + b"tail"

# --- refused modes -------------------------------------------------------
fd = os.open(f"{MNT}/refused", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, bytes(64 * B))
for mode, what in ((COLLAPSE, "COLLAPSE_RANGE"), (INSERT, "INSERT_RANGE"), (UNSHARE, "UNSHARE_RANGE"),
                   (PUNCH, "PUNCH_HOLE without KEEP_SIZE")):
    e = errno_of(falloc, fd, mode, 4 * B, 4 * B)
    eq(f"{what}: errno", e, errno.EOPNOTSUPP)
eq("refused: size unchanged", os.fstat(fd).st_size, 64 * B)
expect_errno(errno.EINVAL, falloc, fd, 0, 0, 0)
os.close(fd)
d = os.open(MNT, os.O_RDONLY)
check(errno_of(falloc, d, 0, 0, B) in (errno.EBADF, errno.EISDIR), "fallocate on a directory must fail")
os.close(d)

# --- PUNCH_HOLE: zeros, space freed, dirty data too ---------------------
p3 = f"{MNT}/punch"
data3 = bytearray(pattern(4 * MiB, 3))
write_file(p3, bytes(data3))
fd = os.open(p3, os.O_RDWR)
os.fsync(fd)
free2 = bfree()
off, length = 100 * 1024 + 123, MiB + 4000
falloc(fd, PUNCH | KEEP, off, length)
data3[off:off + length] = bytes(length)
eq("punch: size", os.fstat(fd).st_size, 4 * MiB)
check(os.pread(fd, 4 * MiB, 0) == bytes(data3), "punch: content differs (range must read zeros, the rest intact)")
freed = bfree() - free2
whole = (off + length) // B - (off + B - 1) // B
check(freed >= whole - 2, f"punch: df freed {freed} blocks, want about {whole}")
# Dirty (not yet written back) data in the range goes too.
os.pwrite(fd, pattern(64 * B, 4), 2 * MiB)
falloc(fd, PUNCH | KEEP, 2 * MiB + 8 * B, 16 * B)
data3[2 * MiB:2 * MiB + 64 * B] = pattern(64 * B, 4)
data3[2 * MiB + 8 * B:2 * MiB + 24 * B] = bytes(16 * B)
check(os.pread(fd, 4 * MiB, 0) == bytes(data3), "punch of dirty data: content differs")
# Through a shared mapping, the punched page reads zeros at once.
m = mmap.mmap(fd, 4 * MiB)
m[3 * MiB:3 * MiB + 8] = b"mmapdata"
data3[3 * MiB:3 * MiB + 8] = b"mmapdata"
falloc(fd, PUNCH | KEEP, 3 * MiB, B)
data3[3 * MiB:3 * MiB + B] = bytes(B)
check(m[3 * MiB:3 * MiB + B] == bytes(B), "punch: the mapping still shows the punched page")
m.close()
check(os.pread(fd, 4 * MiB, 0) == bytes(data3), "punch + mmap: content differs")
os.close(fd)

# --- ZERO_RANGE -----------------------------------------------------------
fd = os.open(p3, os.O_RDWR)
falloc(fd, ZERO, 1000, 10 * B)
data3[1000:1000 + 10 * B] = bytes(10 * B)
falloc(fd, ZERO, 4 * MiB - 10, 20 * B)  # past EOF: grows
data3[4 * MiB - 10:] = bytes(10)
data3 += bytes(20 * B - 10)
eq("zero range: size", os.fstat(fd).st_size, len(data3))
falloc(fd, ZERO | KEEP, len(data3), 8 * B)
eq("zero range KEEP_SIZE: size", os.fstat(fd).st_size, len(data3))
check(os.pread(fd, len(data3) + B, 0) == bytes(data3), "zero range: content differs")
os.close(fd)

# --- SEEK_DATA / SEEK_HOLE on a sparse file ------------------------------
p4 = f"{MNT}/sparse"
fd = os.open(p4, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, pattern(64 * 1024, 5), 0)
os.pwrite(fd, pattern(64 * 1024, 6), MiB)
falloc(fd, KEEP, MiB + 512 * 1024, 512 * 1024)
os.ftruncate(fd, 3 * MiB)
layout = [  # (offset, SEEK_DATA answer or errno, SEEK_HOLE answer or errno)
    (0, 0, 64 * 1024),
    (100, 100, 64 * 1024),
    (64 * 1024, MiB, 64 * 1024),
    (MiB + 5, MiB + 5, MiB + 64 * 1024),
    (MiB + 64 * 1024, errno.ENXIO, MiB + 64 * 1024),  # the reservation is a hole
    (3 * MiB - 1, errno.ENXIO, 3 * MiB - 1),
    (3 * MiB, errno.ENXIO, errno.ENXIO),
]


def seek(fd, off, whence):
    try:
        return os.lseek(fd, off, whence)
    except OSError as e:
        return e.errno


def check_layout(when):
    for off, data, hole in layout:
        eq(f"{when}: SEEK_DATA from {off}", seek(fd, off, os.SEEK_DATA), data)
        eq(f"{when}: SEEK_HOLE from {off}", seek(fd, off, os.SEEK_HOLE), hole)


check_layout("dirty")
os.fsync(fd)
check_layout("written back")
os.close(fd)
# A file without holes: the only hole is at EOF.
p5 = f"{MNT}/dense"
write_file(p5, pattern(300000, 7))
fd = os.open(p5, os.O_RDONLY)
eq("dense file: SEEK_HOLE", seek(fd, 0, os.SEEK_HOLE), 300000)
eq("dense file: SEEK_DATA", seek(fd, 299999, os.SEEK_DATA), 299999)
os.close(fd)

# --- FIEMAP: the ioctl and filefrag -v -----------------------------------
FS_IOC_FIEMAP = 0xC020660B
EXT_LAST, EXT_UNKNOWN, EXT_DELALLOC, EXT_INLINE, EXT_UNWRITTEN = 0x1, 0x2, 0x4, 0x200, 0x800


def fiemap(path, count=64):
    fd = os.open(path, os.O_RDONLY)
    req = bytearray(struct.pack("=QQIIII", 0, 0xFFFFFFFFFFFFFFFF, 0, 0, count, 0) + bytes(56 * count))
    fcntl.ioctl(fd, FS_IOC_FIEMAP, req)
    os.close(fd)
    n = struct.unpack_from("=I", req, 20)[0]
    out = []
    for k in range(n):
        logical, physical, length, _, _, flags = struct.unpack_from("=QQQQQI", req, 32 + 56 * k)
        out.append((logical, physical, length, flags))
    return out


def read_lba(lba, nblocks):
    """Device blocks with O_DIRECT (past any page cache)."""
    buf = mmap.mmap(-1, nblocks * B)
    fd = os.open(DEV, os.O_RDONLY | os.O_DIRECT)
    n = os.preadv(fd, [buf], lba * B)
    os.close(fd)
    eq("O_DIRECT read", n, nblocks * B)
    return bytes(buf)


sh("sync")
ext = fiemap(p3)
check(ext, "FIEMAP of the punched file found no extents")
check(ext[-1][3] & EXT_LAST, f"FIEMAP: last extent lacks FIEMAP_EXTENT_LAST: {ext}")
mapped = [e for e in ext if not e[3] & EXT_UNKNOWN]
check(len(mapped) >= 2, f"FIEMAP: the punched file should have data on both sides of a hole: {ext}")
prev_end = 0
for logical, physical, length, flags in ext:
    check(logical >= prev_end, f"FIEMAP: extents overlap or are out of order: {ext}")
    prev_end = logical + length
    if flags & EXT_UNKNOWN:
        continue
    lba = physical // B
    check(2 * ZONE_BLOCKS <= lba and lba + length // B <= DISK_BLOCKS,
          f"FIEMAP: LBA {lba} (+{length // B}) outside the log zones of the disk ({DISK_BLOCKS} blocks)")
    n = min(length // B, 16)
    want = bytes(data3[logical:logical + n * B]).ljust(n * B, b"\0")
    check(read_lba(lba, n) == want, f"FIEMAP: the device at LBA {lba} does not hold the file's bytes at {logical}")
# The punched range is no extent.
for logical, physical, length, flags in ext:
    check(not (logical < 200 * 1024 and logical + length > MiB), f"FIEMAP: an extent covers the punched range: {ext}")
# Reservations show as unwritten, with no location.
ext = fiemap(p4)
unwritten = [e for e in ext if e[3] & EXT_UNWRITTEN]
eq("FIEMAP: the reservation", [(e[0], e[2]) for e in unwritten], [(MiB + 512 * 1024, 512 * 1024)])
# A small file's data lives in its node.
write_file(f"{MNT}/small", b"tiny file")
sh("sync")
ext = fiemap(f"{MNT}/small")
eq("FIEMAP: inline file", [(e[0], e[2], bool(e[3] & EXT_INLINE), bool(e[3] & EXT_LAST)) for e in ext], [(0, 9, True, True)])

out = sh(f"filefrag -v {p3}")
rows = re.findall(r"^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):.*$", out, re.M)
check(rows, f"filefrag -v printed no extents:\n{out}")
for lstart, lend, pstart, pend, length in rows:
    pstart, pend = int(pstart), int(pend)
    if pstart == 0:
        continue  # unknown location (delalloc/unwritten)
    check(2 * ZONE_BLOCKS <= pstart <= pend < DISK_BLOCKS, f"filefrag: LBAs {pstart}..{pend} outside the disk:\n{out}")
check("last" in out, f"filefrag -v shows no last extent:\n{out}")
print(out.strip().splitlines()[-1])

# --- a reservation holds on a full disk ---------------------------------
# (small namespace: 12 zones of 16 MiB)
sh(f"umount {MNT}")
fresh_fs(SMALL_DEV)
fd = os.open(f"{MNT}/reserved", os.O_RDWR | os.O_CREAT, 0o644)
falloc(fd, 0, 0, 8 * MiB)
filler = os.open(f"{MNT}/filler", os.O_RDWR | os.O_CREAT, 0o644)
chunk = pattern(MiB, 9)
full = False
for k in range(1000):
    try:
        os.write(filler, chunk)
        if k % 8 == 7:
            os.fsync(filler)
    except OSError as e:
        eq("filling the disk", errno.errorcode.get(e.errno), "ENOSPC")
        full = True
        break
check(full, "the small disk never filled")
# Small writes until nothing fits.
while True:
    try:
        os.write(filler, chunk[:B])
        os.fsync(filler)
    except OSError as e:
        eq("filling the disk", errno.errorcode.get(e.errno), "ENOSPC")
        break
os.close(filler)
want = pattern(8 * MiB, 10)
os.pwrite(fd, want, 0)
os.fsync(fd)
check(os.pread(fd, 8 * MiB, 0) == want, "reserved file after writing on a full disk")
os.close(fd)
sh(f"umount {MNT}")
sh(f"mount -t flufflefs {SMALL_DEV} {MNT}")
check(read_file(f"{MNT}/reserved") == want, "reserved file after remount of the full disk")
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {SMALL_DEV}")

# --- everything survives umount + mount ----------------------------------
sh(f"mount -t flufflefs {DEV} {MNT}")
st = os.stat(p2)
eq("KEEP_SIZE file: size after remount", st.st_size, 100004)
eq("KEEP_SIZE file: content after remount", read_file(p2), keep_want)
check(st.st_blocks >= (MiB // B) * 8, f"KEEP_SIZE file: st_blocks {st.st_blocks} after remount lost the reservation")
check(read_file(p3) == bytes(data3), "punched/zeroed file after remount")
fd = os.open(p4, os.O_RDONLY)
check_layout("after remount")
os.close(fd)
eq("reservation after remount", [(e[0], e[2]) for e in fiemap(p4) if e[3] & EXT_UNWRITTEN], [(MiB + 512 * 1024, 512 * 1024)])
free_before = bfree()
remount()
check(abs(bfree() - free_before) <= 2, f"df after remount: {bfree()} free blocks, {free_before} before")
os.unlink(p2)
os.unlink(p4)
sh("sync")
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {DEV}")
print("fallocate, SEEK_DATA/SEEK_HOLE and FIEMAP ok")
