# Four processes create, write, read, rename and delete in shared
# directories for a bounded time; then every surviving file is verified.
import hashlib, os, random, sys, time
from test_lib import *

fresh_fs()
for d in ("s0", "s1", "s2"):
    os.mkdir(f"{MNT}/{d}")

def worker(k, seconds):
    rng = random.Random(k)
    mine = {}
    end = time.time() + seconds
    ops = 0
    while time.time() < end:
        d = f"{MNT}/s{rng.randrange(3)}"
        op = rng.randrange(5)
        if op <= 1 or not mine:
            name = f"{d}/w{k}-{ops}"
            data = rng.randbytes(rng.randrange(1, 200_000))
            write_file(name, data)
            mine[name] = hashlib.sha256(data).hexdigest()
        elif op == 2:
            name = rng.choice(sorted(mine))
            if hashlib.sha256(read_file(name)).hexdigest() != mine[name]:
                print(f"worker {k}: {name} differs", file=sys.stderr)
                os._exit(1)
        elif op == 3:
            name = rng.choice(sorted(mine))
            new = f"{MNT}/s{rng.randrange(3)}/w{k}-r{ops}"
            os.rename(name, new)
            mine[new] = mine.pop(name)
        else:
            name = rng.choice(sorted(mine))
            os.unlink(name)
            del mine[name]
        if ops % 50 == 0:
            os.listdir(d)
        ops += 1
    with open(f"/tmp/worker{k}", "w") as f:
        for name, digest in mine.items():
            f.write(f"{name} {digest}\n")
    os._exit(0)

pids = []
for k in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            worker(k, 20)
        except Exception as e:
            print(f"worker {k}: {e}", file=sys.stderr)
            os._exit(1)
    pids.append(pid)
for pid in pids:
    _, status = os.waitpid(pid, 0)
    eq(f"worker {pid} exit", status, 0)

expected = {}
for k in range(4):
    for line in open(f"/tmp/worker{k}"):
        name, digest = line.split()
        expected[name] = digest
remount()
present = set()
for d in ("s0", "s1", "s2"):
    present |= {f"{MNT}/{d}/{n}" for n in os.listdir(f"{MNT}/{d}")}
eq("surviving names", present, set(expected))
for name, digest in expected.items():
    eq(name, hashlib.sha256(read_file(name)).hexdigest(), digest)
print(f"{len(expected)} files verified after 4 workers")
