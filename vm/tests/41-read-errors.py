# Injected read errors (dm-error over one zone of the ZNS namespace, the
# rest mapped unchanged): a read of a file whose blocks fail returns EIO
# to that reader, other files stay readable, the filesystem goes on (the
# same read works once the disk heals); a mount whose checkpoint reads
# fail is refused with an errno and a reason.
import hashlib, os, re
from test_lib import *

RD = "rd"
DM = f"/dev/mapper/{RD}"
BIG_MB = 160


def dump_layout(dev):
    """(zone size, zone capacity, {ino: (size, [node lbas], [(lba, blocks)])})."""
    out = sh(f"fluffle dump {dev} --entries")
    m = re.search(r"geometry: \d+ zones x (\d+) blocks \(capacity (\d+)\)", out)
    check(m, f"no geometry in dump: {out[:300]}")
    zs, cap = int(m.group(1)), int(m.group(2))
    inodes, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"\s+(\d+) (file|dir |link) \d+ +\d+ +\d+ +\d+ +(\d+) node@(\d+)\+(\d+)", line)
        if m:
            cur = int(m.group(1))
            inodes[cur] = (int(m.group(3)), [int(m.group(4))], [])
            continue
        m = re.match(r"\s+blocks (\d+)\.\.(\d+) -> lba (\d+)", line)
        if m and cur is not None:
            inodes[cur][2].append((int(m.group(3)), int(m.group(2)) - int(m.group(1))))
    return zs, cap, inodes


sh(f"umount {MNT} 2>/dev/null || true")
sh("modprobe flufflefs")
dm_remove(RD)
dm_create(RD, [linear()])
sh(f"mkfs -t flufflefs {DM}")
sh(f"mount -t flufflefs {DM} {MNT}")
small = {}
for i in range(10):
    data = os.urandom(4096 * (i + 1) + 333)
    write_file(f"{MNT}/before{i}", data)
    small[f"{MNT}/before{i}"] = hashlib.sha256(data).hexdigest()
os.sync()
big = os.urandom(BIG_MB << 20)
write_file(f"{MNT}/big", big)
os.sync()
for i in range(10):
    data = os.urandom(4096 * (i + 2) + 77)
    write_file(f"{MNT}/after{i}", data)
    small[f"{MNT}/after{i}"] = hashlib.sha256(data).hexdigest()
sh(f"umount {MNT}")

# A zone holding nothing but the big file's data.
zs, cap, inodes = dump_layout(DM)
big_ino = [ino for ino, (size, _, _) in inodes.items() if size == len(big)]
eq("inodes of the big file's size", len(big_ino), 1)
big_blocks = set()
for lba, n in inodes[big_ino[0]][2]:
    big_blocks.update(range(lba, lba + n))
others = set()
for ino, (_, nodes, extents) in inodes.items():
    others.update(nodes)
    if ino != big_ino[0]:
        for lba, n in extents:
            others.update(range(lba, lba + n))
victim = None
for z in range(2, dev_sectors() // ZONE_SECTORS):
    zone = range(z * zs, z * zs + cap)
    # Besides the big file's data, a zone holds only its block summaries
    # (at least its last block), which belong to no file.
    if sum(b in big_blocks for b in zone) >= cap - 8 and not any(b in others for b in zone):
        victim = z
        break
check(victim is not None, "no zone holds only the big file's data")
zsec = ZONE_SECTORS
failing = [linear(DEV, 0, victim * zsec),
           (victim * zsec, zsec, f"error {DEV} {victim * zsec}"),
           linear(DEV, (victim + 1) * zsec)]

sh(f"mount -t flufflefs {DM} {MNT}")
dm_swap(RD, failing)
sh("echo 3 > /proc/sys/vm/drop_caches")
eq("reading the file whose zone fails", errno_of(read_file, f"{MNT}/big"), errno.EIO)
for p, digest in small.items():
    eq(f"{p} while another file's zone fails", hashlib.sha256(read_file(p)).hexdigest(), digest)
write_file(f"{MNT}/new", b"still writable")
os.sync()
dm_swap(RD, [linear()])
eq("the big file once the disk heals", hashlib.sha256(read_file(f"{MNT}/big")).hexdigest(),
   hashlib.sha256(big).hexdigest())
eq("file written during the read errors", read_file(f"{MNT}/new"), b"still writable")
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {DM}")
print(f"zone {victim} failing: EIO for its file only")

# Both checkpoint zones fail to read: mount refuses with an errno.
dm_swap(RD, [(0, 2 * zsec, f"error {DEV} 0"), linear(DEV, 2 * zsec)])
sh("dmesg -C")
r = subprocess.run(f"mount -t flufflefs {DM} {MNT}", shell=True, capture_output=True, text=True)
check(r.returncode != 0, "mounted although the checkpoint cannot be read")
log = sh("dmesg")
check("flufflefs" in log and "cannot mount" in log, f"no reason in dmesg: {log[-400:]}")
dm_swap(RD, [linear()])
sh(f"mount -t flufflefs {DM} {MNT}")
for p, digest in small.items():
    eq(f"{p} after the failed mount", hashlib.sha256(read_file(p)).hexdigest(), digest)
sh(f"umount {MNT}")
dm_remove(RD)
print("checkpoint read errors: mount refused")
