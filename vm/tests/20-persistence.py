# 200 MiB in files of mixed sizes with checksums survive umount/mount and
# rmmod/insmod.
import hashlib, os, random
from test_lib import *

fresh_fs()
rng = random.Random(20)
sizes = [0, 1, 4095, 4096, 4097, 65536, 1 << 20, (1 << 20) + 7, 8 << 20, 20 << 20]
files = {}
total = 0
i = 0
while total < 200 << 20:
    size = sizes[i % len(sizes)] if i < 40 else rng.randrange(0, 3 << 20)
    size = min(size, (200 << 20) - total) if i >= 40 else size
    data = rng.randbytes(size)
    d = f"{MNT}/dir{i % 7}"
    os.makedirs(d, exist_ok=True)
    path = f"{d}/file{i}"
    write_file(path, data)
    files[path] = hashlib.sha256(data).hexdigest()
    total += size
    i += 1
print(f"wrote {len(files)} files, {total >> 20} MiB")

def verify(when):
    for path, digest in files.items():
        got = hashlib.sha256(read_file(path)).hexdigest()
        if got != digest:
            fail(f"{when}: {path} content differs")
    print(f"{when}: {len(files)} files verified")

def gc_threads():
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                n += open(f"/proc/{pid}/comm").read().strip() == "flufflefs-gc"
            except OSError:
                pass
    return n

verify("before umount")
eq("GC threads while mounted", gc_threads(), 1)
remount()
verify("after umount/mount")
sh(f"umount {MNT}")
eq("GC threads after umount", gc_threads(), 0)
sh("rmmod flufflefs")
sh("modprobe flufflefs")
sh(f"mount -t flufflefs {DEV} {MNT}")
sh("echo 3 > /proc/sys/vm/drop_caches")
verify("after rmmod/insmod")
sh(f"umount {MNT}")
out = sh(f"fsck.flufflefs {DEV}")
print(out.strip().splitlines()[-1] if out.strip() else "fsck: ok")
