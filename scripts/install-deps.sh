#!/usr/bin/env bash
# Installs everything FluffleFS needs on a Debian 12 machine, idempotently:
# the Debian packages of ../shared/TOOLCHAIN.md, bindgen-cli pinned by
# version, and the Rust target for static guest binaries. Safe to rerun;
# does nothing when everything is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

PKGS=(
  rustc-web rust-web-src
  clang-19 lld-19 llvm-19 libclang-19-dev
  linux-source-6.12
  flex bison bc libelf-dev libssl-dev cpio busybox-static
  qemu-system-x86 qemu-utils
  debootstrap e2fsprogs xz-utils make gcc python3 git patch
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages (${missing[*]}) and not root: install them with apt-get"
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed: no Debian package registry reachable?"
  apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
fi

# bindgen: Debian's 0.60 is too old for 6.12 (needs >= 0.65.1).
if ! "$BINDGEN" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
  command -v cargo >/dev/null || die "cargo not found: needed to install bindgen-cli"
  step "cargo install bindgen-cli $BINDGEN_VERSION into $TOOLS_DIR (about 3 minutes)"
  LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install bindgen-cli --version "$BINDGEN_VERSION" \
    --locked --root "$TOOLS_DIR" || die "cargo install bindgen-cli failed"
fi

# Static guest binaries are built for this target with +crt-static.
if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -q x86_64-unknown-linux-gnu; then
  rustup target add x86_64-unknown-linux-gnu || true
fi
ok "dependencies present"
