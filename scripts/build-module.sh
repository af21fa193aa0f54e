#!/usr/bin/env bash
# Builds flufflefs.ko against the kernel in $1 (from build-kernel.sh) and
# prints its path. The sources are mirrored into build/module/<kernel> (one
# tree per kernel build, so switching between the debug and the fast kernel
# rebuilds nothing) so Kbuild's objects never land in the checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
kdir=${1:?usage: build-module.sh KERNEL_BUILD_DIR}
out=$top/build/module/$(basename "$kdir")

# Objects built against another kernel tree must go: Kbuild's dependency
# files name that tree's headers and config, so it would keep them.
if [ "$(cat "$out/.kernel-dir" 2>/dev/null)" != "$kdir" ]; then
  rm -rf "$out"
fi
mkdir -p "$out"
echo "$kdir" > "$out/.kernel-dir"
# Mirror sources; keep existing objects (and their timestamps) so an
# unchanged tree is not rebuilt.
(cd "$top" && find Kbuild rust -type f \( -name Kbuild -o -name '*.rs' -o -name '*.c' -o -name '*.h' \) \
  -not -path '*/target/*' -not -path '*/fuzz/*' -not -path '*/tests/*' -not -path '*/examples/*' -not -path '*/benches/*' -print0) \
  | while IFS= read -r -d '' f; do
      mkdir -p "$out/$(dirname "$f")"
      cmp -s "$top/$f" "$out/$f" || cp "$top/$f" "$out/$f"
    done
# Files deleted from the tree must not linger in the mirror.
(cd "$out" && find rust -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' \) -print0) \
  | while IFS= read -r -d '' f; do [ -e "$top/$f" ] || rm -f "$out/$f"; done

step "building flufflefs.ko"
if ! make -C "$kdir" M="$out" LLVM=-19 RUSTC="$KRUSTC" RUSTDOC="$KRUSTDOC" BINDGEN="$BINDGEN" \
    modules > "$out/build.log" 2>&1; then
  grep -E '^(error|warning)|^ *-->' -A5 "$out/build.log" | head -80 >&2
  die "module build failed; full log in $out/build.log"
fi
warnings=$(grep -c '^warning' "$out/build.log" || true)
[ "$warnings" = 0 ] || echo "   ($warnings compiler warnings, see $out/build.log)" >&2
echo "$out/flufflefs.ko"
