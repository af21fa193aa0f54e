# mmap through the page cache: shared writable mappings reach the disk,
# and a binary copied onto FluffleFS runs from there.
import mmap, os, shutil, subprocess
from test_lib import *

fresh_fs()
p = f"{MNT}/m"
write_file(p, bytes(3 * 4096 + 100))
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[0:5] = b"hello"
    m[4096 * 3:4096 * 3 + 5] = b"world"
    m.flush()
    m.close()
data = read_file(p)
eq("mmap write seen by read", (data[:5], data[12288:12293]), (b"hello", b"world"))

with open(p, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    eq("mmap read", m[:5], b"hello")
    m.close()

shutil.copy("/bin/busybox" if os.path.exists("/bin/busybox") else "/usr/bin/ls", f"{MNT}/prog")
os.chmod(f"{MNT}/prog", 0o755)
r = subprocess.run([f"{MNT}/prog", "/"], capture_output=True, text=True)
eq("binary runs from FluffleFS", r.returncode, 0)
check("proc" in r.stdout, f"unexpected output: {r.stdout[:200]}")

remount()
eq("mmap data after remount", read_file(p)[:5], b"hello")
r = subprocess.run([f"{MNT}/prog", "/"], capture_output=True, text=True)
eq("binary runs after remount", r.returncode, 0)
print("mmap ok")
