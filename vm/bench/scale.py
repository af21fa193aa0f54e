"""The `scale` workload of `make bench` (alone: `make bench-scale`), in the
guest: metadata at scale (issue 11's table),
FluffleFS beside btrfs (zoned) and f2fs (zoned) on the same namespace.

For each filesystem, freshly formatted: one directory grows to
BENCH_SCALE_FILES (100000) empty files in steps of BENCH_SCALE_STEP
(20000), creates/s measured per step; then, in that directory,
BENCH_SCALE_FSYNC_ROUNDS (5) rounds of BENCH_SCALE_FSYNCS (200) create + 4 KiB
write + fsync (ops/s of the median round, the time of each step, and
the device bytes each wrote, from /sys/block/*/stat, f2fs's metadata disk
included); then umount, drop caches, and the time of `mount`; then the
kernel memory (Slab + VmallocUsed) a mount and a full readdir add, after
dropping caches again.

Uses bench.py's formatting and mounting (same devices, same options).
"""
import os
import sys
import time

sys.path.insert(0, "/tmp")
import bench  # noqa: E402  (copied next to this file by scripts/bench.sh)
from bench import DEV, META_DEV, MNT, MOUNT, sh, fresh_fs, drop_caches, Failed  # noqa: E402

FILES = int(os.environ.get("BENCH_SCALE_FILES", "100000"))
STEP = int(os.environ.get("BENCH_SCALE_STEP", "20000"))
FSYNCS = int(os.environ.get("BENCH_SCALE_FSYNCS", "200"))
# Rounds of FSYNCS create+write+fsync: the row is the median round (TCG
# varies by up to 30 % from one run to the next), the range beside it.
FSYNC_ROUNDS = int(os.environ.get("BENCH_SCALE_FSYNC_ROUNDS", "5"))
FSES = os.environ.get("BENCH_FS", "flufflefs btrfs f2fs").split()
FSES = [f for f in FSES if f != "raw"]


def written_bytes(fs):
    """Bytes written so far to the devices `fs` uses."""
    devs = [DEV] + ([META_DEV] if fs == "f2fs" else [])
    total = 0
    for d in devs:
        with open(f"/sys/block/{os.path.basename(d)}/stat") as f:
            total += int(f.read().split()[6]) * 512
    return total


def kernel_memory():
    """Slab + vmalloc in use, bytes."""
    vals = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            vals[k] = int(v.split()[0]) * 1024
    return vals["Slab"] + vals["VmallocUsed"]


def measure(fs):
    fresh_fs(fs)
    d = f"{MNT}/dir"
    os.mkdir(d)
    row = {"steps": []}
    made = 0
    while made < FILES:
        n = min(STEP, FILES - made)
        t = time.monotonic()
        for i in range(made, made + n):
            os.close(os.open(f"{d}/f{i:07}", os.O_WRONLY | os.O_CREAT, 0o644))
        os.sync()
        row["steps"].append((made, made + n, n / (time.monotonic() - t)))
        made += n
        print(f"  {fs}: {made} files", flush=True)
    page = b"x" * 4096
    before = written_bytes(fs)
    rates = []
    phases = [0.0, 0.0, 0.0, 0.0]  # open+create, write, fsync, close (s)
    k = 0
    for _ in range(FSYNC_ROUNDS):
        t = time.monotonic()
        for _ in range(FSYNCS):
            t0 = time.monotonic()
            fd = os.open(f"{d}/fsync{k}", os.O_WRONLY | os.O_CREAT, 0o644)
            t1 = time.monotonic()
            os.write(fd, page)
            t2 = time.monotonic()
            os.fsync(fd)
            t3 = time.monotonic()
            os.close(fd)
            t4 = time.monotonic()
            for p, (a, b) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4))):
                phases[p] += b - a
            k += 1
        rates.append(FSYNCS / (time.monotonic() - t))
    ops = FSYNCS * FSYNC_ROUNDS
    rates.sort()
    row["fsync_ops"] = rates[len(rates) // 2]
    row["fsync_range"] = (rates[0], rates[-1])
    row["fsync_phases_us"] = [v / ops * 1e6 for v in phases]
    row["fsync_bytes"] = (written_bytes(fs) - before) / ops
    sh(f"umount {MNT}")
    drop_caches()
    mem0 = kernel_memory()
    t = time.monotonic()
    sh(MOUNT[fs])
    row["mount_s"] = time.monotonic() - t
    count = len(os.listdir(d))
    if count != FILES + FSYNCS * FSYNC_ROUNDS:
        raise Failed(f"readdir found {count} entries, want {FILES + FSYNCS * FSYNC_ROUNDS}")
    drop_caches()
    row["memory"] = kernel_memory() - mem0
    sh(f"umount {MNT}")
    return row


def main():
    print(f"scale: {FILES} files in one directory, steps of {STEP}, {FSYNCS} create+4K+fsync; device {DEV}")
    rows = {}
    for fs in FSES:
        try:
            rows[fs] = measure(fs)
        except (Failed, OSError, bench.subprocess.SubprocessError) as e:
            rows[fs] = str(e)
            sh(f"umount {MNT} 2>/dev/null; true")
    names = list(rows)
    print()
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    good = {f: r for f, r in rows.items() if isinstance(r, dict)}
    steps = next(iter(good.values()))["steps"] if good else []
    for k, (a, b, _) in enumerate(steps):
        cells = [f"{rows[f]['steps'][k][2]:.0f}" if f in good else "n/a" for f in names]
        print(f"| creates/s, {a} -> {b} files | " + " | ".join(cells) + " |")

    def line(title, key, fmt):
        cells = [fmt(rows[f][key]) if f in good else "n/a" for f in names]
        print(f"| {title} | " + " | ".join(cells) + " |")

    line(f"create + 4 KiB write + fsync in that directory, ops/s (median of {FSYNC_ROUNDS} x {FSYNCS})", "fsync_ops", lambda v: f"{v:.1f}")
    line("  slowest and fastest round, ops/s", "fsync_range", lambda v: f"{v[0]:.0f}-{v[1]:.0f}")
    for p, what in enumerate(("open(O_CREAT)", "write 4 KiB", "fsync", "close")):
        cells = [f"{rows[f]['fsync_phases_us'][p]:.0f}" if f in good else "n/a" for f in names]
        print(f"|   of which {what}, us/op | " + " | ".join(cells) + " |")
    line("device bytes written per create+write+fsync", "fsync_bytes", lambda v: f"{v / 1024:.0f} KiB")
    line(f"mount time with {FILES + FSYNCS * FSYNC_ROUNDS} files", "mount_s", lambda v: f"{v:.2f} s")
    line("kernel memory (slab + vmalloc) after mount + readdir", "memory", lambda v: f"{v / (1 << 20):.1f} MiB")
    for f in names:
        if f not in good:
            print(f"{f}: n/a: {rows[f]}")


if __name__ == "__main__":
    main()
