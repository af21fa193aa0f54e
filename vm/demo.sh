# The `make run` demo, run inside the guest by vm/run --script.
# It shows what FluffleFS can do today; each step prints what it does.
set -e
echo "== FluffleFS demo =="
echo "-- kernel $(uname -r); module:"
lsmod | grep -w flufflefs
grep -w flufflefs /proc/filesystems
echo "-- the emulated ZNS disk, as FluffleFS sees it:"
fluffle zones /dev/nvme0n1 | head -n 6
echo "   ..."
echo "-- CSD kernels compiled from bpf/:"
ls -l /fluffle/bpf/
