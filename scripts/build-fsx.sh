#!/usr/bin/env bash
# Builds `fsx` (File System eXerciser, the `fsx` crate on crates.io, a Rust
# port of the classic FreeBSD/xfstests fsx) as a static binary for the guest
# and prints its path. Cached outside the checkout in $FLUFFLE_CACHE/tools,
# per pinned version, so later runs return at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

FSX_VERSION=${FSX_VERSION:-0.3.2}
root=$TOOLS_DIR/fsx-$FSX_VERSION
bin=$root/bin/fsx

if [ ! -x "$bin" ]; then
  step "building fsx $FSX_VERSION (static, once)"
  mkdir -p "$root"
  # Own target dir: no lock contention with the workspace build; removed after.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$tmp" \
    cargo install -q fsx --version "=$FSX_VERSION" --locked --root "$root" \
      --target x86_64-unknown-linux-gnu >&2 \
    || die "could not build fsx $FSX_VERSION"
  [ -x "$bin" ] || die "cargo install fsx left no binary at $bin"
fi
# A static binary runs in the guest whatever its libc.
if command -v file >/dev/null; then
  file -L "$bin" | grep -q 'statically linked\|static-pie' || die "$bin is not statically linked"
fi
echo "$bin"
