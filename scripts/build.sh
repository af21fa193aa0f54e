#!/usr/bin/env bash
# Builds everything the VM needs, each piece cached where it is expensive:
# dependencies, kernel and guest image (in $FLUFFLE_CACHE), then the module,
# the static `fluffle` tool and the bpf/ objects (in build/), and the static
# `fsx` exerciser (scripts/build-fsx.sh, cached). Writes their
# paths to build/paths.env for vm/run.
# FLUFFLE_KERNEL picks the guest kernel: debug (default; lockdep, KASAN,
# kmemleak: what the tests run on) or fast (benchmarks, the demo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
mkdir -p "$top/build"

"$here/install-deps.sh"
kdir=$("$here/build-kernel.sh" "${FLUFFLE_KERNEL:-debug}")
guest=$("$here/build-guest.sh")
ko=$("$here/build-module.sh" "$kdir")
[ -f "$kdir/arch/x86/boot/bzImage" ] || die "no kernel image in '$kdir'"
[ -f "$guest" ] || die "no guest image at '$guest'"
[ -f "$ko" ] || die "no module at '$ko'"
step "building the static fluffle tool"
(cd "$top/userland" && RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build -q --release --target x86_64-unknown-linux-gnu --bin fluffle) \
  || die "userland build failed"
step "compiling bpf/*.c"
make -s -C "$top" bpf >&2 || die "bpf build failed"
fsx=$("$here/build-fsx.sh")   # fsx for vm/tests/25-fsx.sh (cached)

cat > "$top/build/paths.env" <<ENV
KERNEL_DIR=$kdir
KERNEL_FLAVOUR=${FLUFFLE_KERNEL:-debug}
KERNEL_IMAGE=$kdir/arch/x86/boot/bzImage
GUEST_IMAGE=$guest
MODULE_KO=$ko
FLUFFLE_BIN=$top/userland/target/x86_64-unknown-linux-gnu/release/fluffle
BPF_DIR=$top/build/bpf
FSX_BIN=$fsx
ENV
ok "build complete"
