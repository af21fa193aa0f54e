# A stress-ng filesystem mix on every CPU the guest has (two by default,
# with lockdep on the debug kernel): directories, dentries, renames, links,
# file I/O with verification, xattrs, fallocate (where the filesystem has
# it) and file-backed mmap, for a bounded time. Afterwards the
# files written before the mix are intact, fsck is clean and the runner's
# kernel-log check sees no splat.
import hashlib, os
from test_lib import *

SECONDS = int(os.environ.get("FLUFFLE_STRESS_SECONDS", "40"))
check(os.cpu_count() >= 2, f"stress needs two CPUs, the guest has {os.cpu_count()}")

fresh_fs()
ref = {}
os.mkdir(f"{MNT}/ref")
for i in range(32):
    data = os.urandom(1024 * (i * 37 % 300 + 1))
    write_file(f"{MNT}/ref/f{i}", data)
    ref[f"{MNT}/ref/f{i}"] = hashlib.sha256(data).hexdigest()
os.mkdir(f"{MNT}/stress")
stressors = ("--dir 2 --dir-dirs 256 --dentry 2 --dentries 512 --rename 2 --link 2 "
             "--hdd 2 --hdd-bytes 8M --hdd-write-size 64K --xattr 2 "
             "--mmap 2 --mmap-file --mmap-bytes 4M")
# fallocate(2) joins the mix once the filesystem has it (util-linux's
# fallocate calls it directly; glibc's posix_fallocate would emulate it).
probe = subprocess.run(f"fallocate -l 4096 {MNT}/stress/probe", shell=True, capture_output=True, text=True)
if probe.returncode == 0:
    stressors += " --fallocate 1 --fallocate-bytes 4M"
else:
    print(f"fallocate not supported here ({probe.stderr.strip()}): not in the mix")
sh(f"rm -f {MNT}/stress/probe")
cmd = (f"stress-ng --temp-path {MNT}/stress {stressors} --verify --timeout {SECONDS}s "
       f"--metrics-brief --times 2>&1")
p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=SECONDS * 10 + 300)
print(p.stdout[-3000:])
# stress-ng exits 0 when every stressor passed (an unsupported one skips);
# 2 means a stressor failed (e.g. a verify mismatch).
eq("stress-ng exit status", p.returncode, 0)
check("failed: 0" in p.stdout or " 0 failed" in p.stdout or "successful run completed" in p.stdout,
      "stress-ng did not report success")
sh(f"rm -rf {MNT}/stress")
remount()
for path, digest in ref.items():
    eq(path, hashlib.sha256(read_file(path)).hexdigest(), digest)
sh(f"umount {MNT}")
sh(f"fsck -t flufflefs {DEV}")
print(f"stress-ng {SECONDS}s on {os.cpu_count()} CPUs: ok, reference data intact, fsck clean")
