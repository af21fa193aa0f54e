# GC under pressure on the small zoned disk (NSID 2): fill to 90 %,
# overwrite and delete for 3x the device size, verify every byte; no
# ENOSPC while space is reclaimable. Meanwhile a second process reads
# files cold (readahead's asynchronous bios) and checks every block: GC
# must not reset a zone under a read in flight.
import os, random
from test_lib import *

fresh_fs(SMALL_DEV)
st = os.statvfs(MNT)
usable = st.f_bavail * st.f_bsize
device = int(os.environ.get("FLUFFLE_SMALL_ZONES", "12")) * (12 << 20)
print(f"device capacity {device >> 20} MiB, available after mkfs {usable >> 20} MiB")

rng = random.Random(22)
FILE = 1 << 20
BASE = rng.randbytes(FILE)


def content(version):
    """1 MiB unique to `version`: its number in every 4 KiB block, random
    bytes around it; cheap to regenerate for the final comparison."""
    tag = version.to_bytes(8, "little")
    return b"".join(tag + BASE[i + 8:i + 4096] for i in range(0, FILE, 4096))


files = {}  # path -> version written there
version = 0
target = int(usable * 0.90)
n = 0
while (n + 1) * FILE <= target:
    version += 1
    write_file(f"{MNT}/f{n}", content(version))
    files[f"{MNT}/f{n}"] = version
    n += 1
os.sync()
print(f"filled {n} MiB ({100 * n * FILE // usable} % of available)")

STOP = "/tmp/gc-reader-stop"


def reader():
    """Reads random files from cold caches until STOP exists; every whole
    block must be some version of content() (a tag, then BASE's bytes).
    Returns the number of blocks checked; fails on a wrong block."""
    rrng = random.Random(7)
    blocks = 0
    while not os.path.exists(STOP) and os.getppid() == parent:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        names = [n for n in os.listdir(MNT) if n[0] in "fg"]
        if not names:
            continue
        try:
            with open(f"{MNT}/{rrng.choice(names)}", "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for i in range(0, len(data) - 4095, 4096):
            if data[i + 8:i + 4096] != BASE[i + 8:i + 4096]:
                fail(f"reader: block at {i} is not any version's (a read of a reset zone?)")
            blocks += 1
    return blocks


if os.path.exists(STOP):
    os.unlink(STOP)
parent = os.getpid()
child = os.fork()
if child == 0:
    try:
        print(f"reader checked {reader()} blocks")
        os._exit(0)
    except BaseException as e:
        print(f"reader: {e}")
        os._exit(1)

written = 0
step = 0
while written < 3 * device:
    path = rng.choice(sorted(files))
    if step % 5 == 4:
        os.unlink(path)
        del files[path]
        path = f"{MNT}/g{step}"
    version += 1
    try:
        write_file(path, content(version))
        if step % 16 == 0:
            os.sync()
    except OSError as e:
        fail(f"step {step}: {e} with {len(files)} MiB live of {usable >> 20} MiB available")
    files[path] = version
    written += FILE
    step += 1
open(STOP, "w").close()
_, status = os.waitpid(child, 0)
check(status == 0, "the concurrent reader saw a wrong block (see above)")
os.sync()
print(f"overwrote {written >> 20} MiB in {step} steps")
sh("echo 3 > /proc/sys/vm/drop_caches")
for path, v in files.items():
    if read_file(path) != content(v):
        fail(f"{path} differs after GC (version {v})")
print(f"{len(files)} files verified")
sh(f"umount {MNT}")
sh(f"fsck.flufflefs {SMALL_DEV}")
