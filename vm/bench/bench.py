"""`make bench` in the guest: FluffleFS side by side with the raw zoned
device, btrfs (zoned) and f2fs (zoned, metadata on a regular disk), all on
the same emulated ZNS namespace.

Workloads (BENCH_WORKLOADS picks some; sizes from the environment,
defaults from issue 5):
  seqwrite  BENCH_SEQ_MB (256) MiB in 1 MiB writes, then fsync        MB/s
  seqread   the same file after sync + drop_caches, 1 MiB reads       MB/s
  randwrite BENCH_RAND_OPS (16384) 4 KiB writes at random 4 KiB-aligned
            offsets of a BENCH_RAND_FILE_MB (64) MiB file, then fsync ops/s
  creates   BENCH_FILES (5000) files of 4 KiB in one directory, then
            sync                                                      ops/s
The raw device is written and read with O_DIRECT in zone order, each zone
up to its capacity, then flushed, with 1, 2 and 4 zones in flight at once
(BENCH_RAW_QDS, one thread per zone: rows raw@1, raw@2, raw@4); the
fastest of them is the "raw" row, the reference of every ratio, so "x raw"
is against the device's best.
It cannot create files or write at random (a host-managed zone takes writes
only at its write pointer), so its randwrite and creates numbers, the
reference for those ratios, are 4 KiB O_DIRECT writes in zone order: what
the device sustains one block at a time. (fio cannot run in this guest:
its kernel has no SysV shared memory.)

Every filesystem gets a freshly reset and formatted device for each
workload (seqread reuses seqwrite's). Each measurement runs BENCH_WARMUP
(1) times unmeasured, then BENCH_REPEAT (3) times, and reports the median:
the first runs of anything under TCG also pay for translating its code.
A filesystem or workload that fails is reported as n/a with the reason,
and the run goes on.

Usage: python3 bench.py            run everything, print the table
       python3 bench.py run FS WL  one workload, JSON result on stdout
"""
import json
import mmap
import os
import random
import re
import subprocess
import sys
import threading
import time

DEV = os.environ.get("BENCH_DEV", os.environ.get("FLUFFLE_DEV", "/dev/nvme0n1"))
META_DEV = os.environ.get("BENCH_META_DEV", "/dev/vdc")  # f2fs metadata
MNT = "/mnt"
MIB = 1 << 20
SEQ_MB = int(os.environ.get("BENCH_SEQ_MB", "256"))
RAND_FILE_MB = int(os.environ.get("BENCH_RAND_FILE_MB", "64"))
RAND_OPS = int(os.environ.get("BENCH_RAND_OPS", "16384"))
FILES = int(os.environ.get("BENCH_FILES", "5000"))
FSES = os.environ.get("BENCH_FS", "raw flufflefs btrfs f2fs").split()
TIMEOUT = int(os.environ.get("BENCH_TIMEOUT", "300"))  # per workload, s
# Raw device: zones written/read at once, each measured; the best is the
# reference (under TCG the answer depends on the vCPUs the guest has).
RAW_QDS = [int(q) for q in os.environ.get("BENCH_RAW_QDS", "1 2 4").split()]
RAW_QD = 1  # of the current measurement (a child runs one: "raw@QD")
# Runs per measurement, after unmeasured warm-up runs; the median is
# reported.
REPEAT = max(1, int(os.environ.get("BENCH_REPEAT", "3")))
WARMUP = max(0, int(os.environ.get("BENCH_WARMUP", "1")))

ALL_WORKLOADS = ["seqwrite", "seqread", "randwrite", "creates"]
WORKLOADS = [w for w in ALL_WORKLOADS if w in os.environ.get("BENCH_WORKLOADS", " ".join(ALL_WORKLOADS)).split()]
UNITS = {"seqwrite": "MB/s", "seqread": "MB/s", "randwrite": "ops/s", "creates": "ops/s"}
TITLES = {
    "seqwrite": f"{SEQ_MB}M write+fsync",
    "seqread": f"{SEQ_MB}M read",
    "randwrite": f"4K rand write/{RAND_FILE_MB}M",
    "creates": f"{FILES} creates",
}


class Failed(Exception):
    """A step failed; the message is the reason printed as n/a."""


def sh(cmd, timeout=120):
    """Runs a shell command; raises Failed with its last output line."""
    try:
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"`{cmd}` timed out after {timeout}s")
    if p.returncode != 0:
        lines = (p.stderr + p.stdout).strip().splitlines() or [f"exit {p.returncode}"]
        why = next((l for l in lines if re.search(r"error|fail|invalid|wrong", l, re.I)), lines[-1])
        raise Failed(f"`{cmd.split()[0]}`: {why.strip()}")
    return p.stdout


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def aligned_buffer(size, random_fill=True):
    """A page-aligned buffer (O_DIRECT needs one), random so nothing compresses."""
    buf = mmap.mmap(-1, size)
    if random_fill:
        buf.write(os.urandom(size))
    return buf


# ---- the raw zoned device -------------------------------------------------

def zones():
    """(start, capacity) in bytes of every sequential zone of DEV."""
    out = sh(f"blkzone report {DEV}")
    result = []
    for line in out.splitlines():
        m = re.search(r"start: (0x[0-9a-f]+), len (0x[0-9a-f]+), cap (0x[0-9a-f]+)", line)
        if m and "SEQ_WRITE_REQUIRED" in line:
            result.append((int(m.group(1), 16) * 512, int(m.group(3), 16) * 512))
    if not result:
        raise Failed(f"no sequential zones on {DEV}")
    return result


def zone_extents(total, chunk):
    """Splits `total` bytes into per-zone lists of (offset, chunk) pieces in
    zone order, each zone filled up to its capacity (not its size)."""
    left = total
    per_zone = []
    for start, cap in zones():
        pieces = []
        off = 0
        while off + chunk <= cap and left > 0:
            pieces.append((start + off, chunk))
            off += chunk
            left -= chunk
        per_zone.append(pieces)
        if left <= 0:
            return per_zone
    raise Failed(f"{DEV} holds less than {total // MIB} MiB")


def on_zones(per_zone, flags, chunk, io):
    """Runs io(fd, buf, offset, size) over every piece: RAW_QD threads, each
    taking whole zones (a zone takes writes only in order, so one writer per
    zone); returns seconds and pieces done. QD 1 is plain dd-style I/O."""
    fd = os.open(DEV, flags | os.O_DIRECT)
    todo = list(per_zone)
    lock = threading.Lock()
    errors = []

    def worker():
        buf = aligned_buffer(chunk)
        while True:
            with lock:
                if not todo or errors:
                    return
                pieces = todo.pop(0)
            try:
                for off, size in pieces:
                    got = io(fd, buf, off)
                    if got != size:
                        raise Failed(f"short I/O at {off}: {got}")
            except (Failed, OSError) as e:
                errors.append(e)
                return

    try:
        t0 = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(RAW_QD)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if flags & os.O_WRONLY:
            os.fsync(fd)
        secs = time.monotonic() - t0
    finally:
        os.close(fd)
    if errors:
        raise errors[0]
    return secs, sum(len(p) for p in per_zone)


def raw_write(total, chunk):
    """O_DIRECT writes of `chunk` bytes in zone order, then a cache flush;
    returns (seconds, writes)."""
    sh(f"blkzone reset {DEV}")
    return on_zones(zone_extents(total, chunk), os.O_WRONLY, chunk,
                    lambda fd, buf, off: os.pwrite(fd, buf, off))


def raw_seqread(total):
    secs, _ = on_zones(zone_extents(total, MIB), os.O_RDONLY, MIB,
                       lambda fd, buf, off: os.preadv(fd, [buf], off))
    return total / MIB / secs


def raw_workload(wl):
    if wl == "seqwrite":
        secs, _ = raw_write(SEQ_MB * MIB, MIB)
        return SEQ_MB / secs
    if wl == "seqread":
        raw_write(SEQ_MB * MIB, MIB)  # what to read (in its own process)
        drop_caches()
        return raw_seqread(SEQ_MB * MIB)
    if wl == "randwrite":
        secs, n = raw_write(RAND_OPS * 4096, 4096)
        return n / secs
    if wl == "creates":
        secs, n = raw_write(FILES * 4096, 4096)
        return n / secs
    raise Failed(f"unknown workload {wl}")


# ---- filesystems ----------------------------------------------------------

MKFS = {
    "flufflefs": f"mkfs -t flufflefs {DEV}",
    "btrfs": f"mkfs.btrfs -q -f -O zoned -d single -m single {DEV}",
    # f2fs on a zoned device keeps its metadata on a regular one (first).
    "f2fs": f"mkfs.f2fs -q -f -m -c {DEV} {META_DEV}",
}
MOUNT = {
    "flufflefs": f"mount -t flufflefs {DEV} {MNT}",
    "btrfs": f"mount -t btrfs {DEV} {MNT}",
    "f2fs": f"mount -t f2fs {META_DEV} {MNT}",
}


def fresh_fs(fs):
    sh(f"umount {MNT} 2>/dev/null; true")
    sh(f"blkzone reset {DEV}")
    if fs == "f2fs":
        sh(f"dd if=/dev/zero of={META_DEV} bs=1M count=4 status=none")
    if fs == "flufflefs":
        sh("modprobe flufflefs")
    sh(MKFS[fs], timeout=300)
    sh(MOUNT[fs])


def write_file(path, total, chunk, buf):
    """Writes and fsyncs a file; returns the seconds of both phases."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        t0 = time.monotonic()
        for _ in range(total // chunk):
            if os.write(fd, buf) != chunk:
                raise Failed("short write")
        t1 = time.monotonic()
        os.fsync(fd)
        return t1 - t0, time.monotonic() - t1
    finally:
        os.close(fd)


# Where the time of the last measurement went, shown in the progress lines.
DETAIL = {}


def fs_workload(fs, wl):
    fresh_fs(fs)
    path = f"{MNT}/bench.dat"
    buf = aligned_buffer(MIB)
    if wl in ("seqwrite", "seqread"):
        w, f = write_file(path, SEQ_MB * MIB, MIB, buf)
        if wl == "seqwrite":
            DETAIL["detail"] = f"write {w:.1f}s + fsync {f:.1f}s"
            return SEQ_MB / (w + f)
        drop_caches()
        fd = os.open(path, os.O_RDONLY)
        try:
            t0 = time.monotonic()
            done = 0
            while True:
                got = os.readv(fd, [buf])
                if got == 0:
                    break
                done += got
            secs = time.monotonic() - t0
        finally:
            os.close(fd)
        if done != SEQ_MB * MIB:
            raise Failed(f"read {done} bytes back, wrote {SEQ_MB * MIB}")
        return done / MIB / secs
    if wl == "randwrite":
        write_file(path, RAND_FILE_MB * MIB, MIB, buf)  # not timed
        blocks = RAND_FILE_MB * MIB // 4096
        rng = random.Random(5)
        offsets = [rng.randrange(blocks) * 4096 for _ in range(RAND_OPS)]
        small = buf[:4096]
        fd = os.open(path, os.O_WRONLY)
        try:
            t0 = time.monotonic()
            for off in offsets:
                if os.pwrite(fd, small, off) != 4096:
                    raise Failed("short write")
            t1 = time.monotonic()
            os.fsync(fd)
            secs = time.monotonic() - t0
            DETAIL["detail"] = f"pwrite {t1 - t0:.1f}s + fsync {secs - (t1 - t0):.1f}s"
        finally:
            os.close(fd)
        return RAND_OPS / secs
    if wl == "creates":
        d = f"{MNT}/files"
        os.mkdir(d)
        small = buf[:4096]
        t0 = time.monotonic()
        for i in range(FILES):
            fd = os.open(f"{d}/f{i:05d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, small)
            os.close(fd)
        t1 = time.monotonic()
        os.sync()
        secs = time.monotonic() - t0
        DETAIL["detail"] = f"create {t1 - t0:.1f}s + sync {secs - (t1 - t0):.1f}s"
        if len(os.listdir(d)) != FILES:
            raise Failed("directory does not list every file")
        return FILES / secs
    raise Failed(f"unknown workload {wl}")


def run_one(fs, wl):
    """Child process: one measurement, printed as JSON."""
    global RAW_QD
    try:
        if fs.startswith("raw@"):
            RAW_QD = int(fs[4:])
            value = raw_workload(wl)
        else:
            value = fs_workload(fs, wl)
        print(json.dumps(dict(DETAIL, value=value)))
    except (Failed, OSError) as e:
        print(json.dumps({"error": str(e)}))
    finally:
        if not fs.startswith("raw"):
            subprocess.run(f"umount {MNT}", shell=True, capture_output=True)


def measure_once(fs, wl):
    """Runs one workload in a child (a hung filesystem must not stop the
    others); returns (value, None, detail) or (None, reason, None)."""
    p = subprocess.Popen([sys.executable, __file__, "run", fs, wl],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # stuck in the kernel (D state): leave it, go on
        return None, f"timed out after {TIMEOUT}s", None
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            r = json.loads(line)
            return r.get("value"), r.get("error"), r.get("detail")
    tail = (err.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    return None, f"crashed: {tail}", None


def measure(fs, wl):
    """The median of REPEAT runs after WARMUP unmeasured ones (TCG
    translates code on its first runs, so a cold run measures the emulator
    as much as the contender); the first failure ends it. Returns (value,
    None, detail) or (None, reason, None)."""
    runs = []
    for i in range(WARMUP + REPEAT):
        value, err, detail = measure_once(fs, wl)
        if value is None:
            return None, err, None
        if i >= WARMUP:
            runs.append((value, detail))
    runs.sort(key=lambda r: r[0])
    value, detail = runs[len(runs) // 2]
    spread = "/".join(fmt(v, UNITS[wl]) for v, _ in runs)
    detail = f"{detail}; " if detail else ""
    return value, None, f"{detail}runs {spread}"


def fmt(v, unit):
    if unit == "MB/s":
        return f"{v:.1f}"
    return f"{v:.0f}"


def main():
    print(f"bench: {DEV} ({len(zones())} zones), seq {SEQ_MB} MiB, rand {RAND_OPS} x 4K in "
          f"{RAND_FILE_MB} MiB, {FILES} creates; filesystems: {' '.join(FSES)}", flush=True)
    results = {}
    for fs in contenders():
        for wl in WORKLOADS:
            t0 = time.monotonic()
            value, err, detail = measure(fs, wl)
            results[(fs, wl)] = (value, err)
            took = time.monotonic() - t0
            shown = f"{fmt(value, UNITS[wl])} {UNITS[wl]}" if value is not None else f"n/a ({err})"
            detail = f" ({detail})" if detail else ""
            print(f"  {fs:<10} {wl:<10} {shown}{detail}  [{took:.0f}s in all]", flush=True)
            # A filesystem that cannot even be formatted fails every workload
            # the same way: skip the rest of it.
            if err and err.startswith(("`mkfs", "`mount", "`modprobe")):
                for rest in WORKLOADS[WORKLOADS.index(wl) + 1:]:
                    results[(fs, rest)] = (None, err)
                break
    best_raw(results)
    print_table(results)


def contenders():
    """What is measured: "raw" stands for one row per zones-in-flight."""
    out = []
    for fs in FSES:
        out += [f"raw@{q}" for q in RAW_QDS] if fs == "raw" else [fs]
    return out


def best_raw(results):
    """The "raw" row: per workload, the fastest zones-in-flight setting."""
    for wl in WORKLOADS:
        runs = [(results[(f"raw@{q}", wl)][0], q) for q in RAW_QDS
                if results.get((f"raw@{q}", wl), (None,))[0] is not None]
        if runs:
            value, q = max(runs)
            results[("raw", wl)] = (value, None)
            RAW_BEST[wl] = q


RAW_BEST = {}


def print_table(results):
    """Two header lines (workload; unit and ratio), one row per contender."""
    heads = [("", "")] + [(TITLES[wl], f"{UNITS[wl]}  x raw") for wl in WORKLOADS]
    rows = []
    notes = []
    shown = [f for f in contenders() if f.startswith("raw@")] + FSES
    for fs in shown:
        row = [fs]
        for wl in WORKLOADS:
            v, err = results.get((fs, wl), (None, "not run"))
            if v is None:
                row.append("n/a")
                notes.append(f"{fs} {wl}: n/a, {err}")
                continue
            base = results.get(("raw", wl), (None, None))[0]
            ratio = (f"{v / base:.2f}" if v >= 0.1 * base else f"{v / base:.3f}") if base else "-"
            row.append(f"{fmt(v, UNITS[wl]):>7}  {ratio:>5}")
        rows.append(row)
    widths = [max([len(h[0]), len(h[1])] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]
    print()
    print(" | ".join(h[0].ljust(w) for h, w in zip(heads, widths)))
    print(" | ".join(h[1].rjust(w) for h, w in zip(heads, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join((c.ljust(w) if i == 0 else c.rjust(w)) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    if RAW_BEST:
        print("raw = the best of " + ", ".join(f"raw@{q}" for q in RAW_QDS) + " (zones in flight): "
              + ", ".join(f"{wl} @{q}" for wl, q in RAW_BEST.items()))
    print("raw randwrite/creates: 4 KiB O_DIRECT writes in zone order (a host-managed")
    print("zone takes no random writes and has no files); ratios are to these.")
    print("TCG emulation on a shared host: expect +-30 % between runs.")
    # Issue 5's goal: sequential throughput >= 80 % of raw, ahead of btrfs and f2fs.
    for wl in ("seqwrite", "seqread"):
        ours = results.get(("flufflefs", wl), (None,))[0]
        raw = results.get(("raw", wl), (None,))[0]
        others = [results.get((fs, wl), (None,))[0] for fs in ("btrfs", "f2fs")]
        if ours is None or raw is None:
            continue
        ahead = all(o is None or ours > o for o in others)
        print(f"goal {wl}: FluffleFS at {ours / raw:.0%} of raw (goal >= 80%: "
              f"{'met' if ours >= 0.8 * raw else 'NOT met'}), "
              f"{'ahead of' if ahead else 'behind'} btrfs/f2fs")
    for n in notes:
        print(n)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        run_one(sys.argv[2], sys.argv[3])
    else:
        main()
