#!/usr/bin/env bash
# Builds `fsx` (File System eXerciser, the `fsx` crate on crates.io, a Rust
# port of the classic FreeBSD/xfstests fsx, with scripts/fsx-fallocate.patch)
# as a static binary for the guest
# and prints its path. Cached outside the checkout in $FLUFFLE_CACHE/tools,
# per pinned version, so later runs return at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

FSX_VERSION=${FSX_VERSION:-0.3.2}
# fsx-rs has posix_fallocate and punch_hole but neither FALLOC_FL_ZERO_RANGE
# nor FALLOC_FL_KEEP_SIZE: scripts/fsx-fallocate.patch adds them as the
# `zero_range` (KEEP_SIZE or not, at random) and `keep_size` weights, with
# the model updates xfstests' fsx makes for them. Bump PATCH_REV when the
# patch changes (it names the cached build).
PATCH=$here/fsx-fallocate.patch
PATCH_REV=1
root=$TOOLS_DIR/fsx-$FSX_VERSION-falloc$PATCH_REV
bin=$root/bin/fsx

if [ ! -x "$bin" ]; then
  step "building fsx $FSX_VERSION + fallocate patch (static, once)"
  mkdir -p "$root"
  # Own target dir: no lock contention with the workspace build; removed after.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # The crate's source, through cargo's registry (a throwaway manifest that
  # depends on it exactly), then patched.
  mkdir -p "$tmp/get/src"
  printf '[package]\nname = "get-fsx"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nfsx = "=%s"\n' \
    "$FSX_VERSION" > "$tmp/get/Cargo.toml"
  : > "$tmp/get/src/lib.rs"
  cargo fetch -q --manifest-path "$tmp/get/Cargo.toml" >&2 || die "could not fetch the fsx $FSX_VERSION crate"
  crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/fsx-"$FSX_VERSION".crate 2>/dev/null | head -n 1)
  [ -f "$crate" ] || die "cargo fetch left no fsx-$FSX_VERSION.crate in the registry cache"
  tar -xzf "$crate" -C "$tmp"
  patch -s -d "$tmp/fsx-$FSX_VERSION" -p1 < "$PATCH" || die "scripts/fsx-fallocate.patch does not apply to fsx $FSX_VERSION"
  RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$tmp/target" \
    cargo install -q --path "$tmp/fsx-$FSX_VERSION" --locked --root "$root" \
      --target x86_64-unknown-linux-gnu >&2 \
    || die "could not build fsx $FSX_VERSION"
  [ -x "$bin" ] || die "cargo install fsx left no binary at $bin"
fi
# A static binary runs in the guest whatever its libc.
if command -v file >/dev/null; then
  file -L "$bin" | grep -q 'statically linked\|static-pie' || die "$bin is not statically linked"
fi
echo "$bin"
