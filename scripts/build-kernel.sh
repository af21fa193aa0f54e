#!/usr/bin/env bash
# Builds a guest kernel once into $FLUFFLE_CACHE/kernel-<version>-<hash>
# (hash of the config fragments and the build recipe) and prints that
# directory. A second run with the same inputs finds the finished build.
#
#   build-kernel.sh [debug]   the test kernel: flufflefs.config + debug.config
#                             (lockdep, KASAN, kmemleak); `make test` uses it
#   build-kernel.sh fast      flufflefs.config alone; benchmarks and the demo
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
flavour=${1:-debug}
case "$flavour" in
  fast)  fragments=("$top/kernel-config/flufflefs.config") ;;
  debug) fragments=("$top/kernel-config/flufflefs.config" "$top/kernel-config/debug.config") ;;
  *) die "build-kernel.sh: unknown kernel flavour '$flavour' (debug or fast)" ;;
esac

[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL missing: run scripts/install-deps.sh (package linux-source-6.12)"
[ -x "$BINDGEN" ] || die "bindgen missing at $BINDGEN: run scripts/install-deps.sh"
kver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
# Bump RECIPE when a change to this script changes what gets built.
RECIPE="tinyconfig+fragment llvm-19 bzImage+modules v1"
key=$( (echo "$RECIPE"; cat "${fragments[@]}") | sha256sum | cut -c1-12)
out=$FLUFFLE_CACHE/kernel-$kver-$key
if [ -f "$out/.done" ]; then
  echo "$out"
  exit 0
fi

src=$FLUFFLE_CACHE/linux-source-6.12
if [ ! -f "$src/.unpacked" ]; then
  step "unpacking $KERNEL_TARBALL"
  rm -rf "$src"
  mkdir -p "$FLUFFLE_CACHE"
  tar -C "$FLUFFLE_CACHE" -xf "$KERNEL_TARBALL"
  touch "$src/.unpacked"
fi

kmake() {
  make -C "$src" O="$out" LLVM=-19 RUSTC="$KRUSTC" RUSTDOC="$KRUSTDOC" BINDGEN="$BINDGEN" "$@"
}
mkdir -p "$out"
step "configuring the $flavour kernel in $out"
kmake -s tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null
kmake -s olddefconfig >/dev/null
# merge_config silently drops options whose dependencies are unmet: check
# every CONFIG_X=y line and every "# CONFIG_X is not set" line.
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qx "$line" "$out/.config" ;;
    "# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}; ! grep -q "^$opt=" "$out/.config" ;;
    *) continue ;;
  esac || { echo "kernel config: '$line' did not stick" >&2; missing=1; }
done < <(cat "${fragments[@]}")
[ $missing = 0 ] || die "kernel config fragment not satisfied (see above)"
kmake -s rustavailable >/dev/null || die "Rust toolchain not usable for the kernel (make rustavailable)"

jobs=$(( $(nproc) + 1 ))
step "building kernel (bzImage + modules, -j$jobs; about 10-15 minutes on 2 cores)"
start=$(date +%s)
if ! kmake -j"$jobs" bzImage modules > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log" >&2
  die "kernel build failed; full log in $out/build.log"
fi
touch "$out/.done"
ok "kernel built in $(( $(date +%s) - start )) s"
echo "$out"
