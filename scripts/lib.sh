# Shared settings and helpers for scripts/ and vm/ (sourced, not run).
# Everything that is built once and reused lives under $FLUFFLE_CACHE,
# outside the checkout, so a second `make test` reuses it.
FLUFFLE_CACHE=${FLUFFLE_CACHE:-/var/cache/flufflefs}
TOOLS_DIR=$FLUFFLE_CACHE/tools
BINDGEN_VERSION=0.73.2
BINDGEN=$TOOLS_DIR/bin/bindgen
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
# The kernel's Rust build needs Debian's rustc (it has rust-src); rustup's has not.
KRUSTC=/usr/bin/rustc
KRUSTDOC=/usr/bin/rustdoc

step() { printf '==> %s\n' "$*" >&2; }
ok()   { printf ' ok %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }
