#!/usr/bin/env bash
# Builds the guest root filesystem once: a minimal Debian 12 (debootstrap
# --variant=minbase) with the tools later tests need, as an ext4 image in
# $FLUFFLE_CACHE/guest-<hash>/rootfs.ext4. Prints the image path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)

# Tools the in-guest tests use: blkzone (util-linux), getfattr/setfattr
# (attr), modprobe (kmod), the comparison filesystems' mkfs, fio, strace,
# dmsetup (device-mapper fault injection), stress-ng (the two-CPU mix).
GUEST_PKGS=kmod,util-linux,attr,e2fsprogs,btrfs-progs,f2fs-tools,fio,strace,procps,nvme-cli,xxd,python3,dmsetup,stress-ng

# Bump RECIPE when a change to this script changes what gets built.
RECIPE="debootstrap minbase bookworm ext4 v1"
key=$( (echo "$RECIPE $GUEST_PKGS"; cat "$top/vm/guest-bootstrap.sh") | sha256sum | cut -c1-12)
dir=$FLUFFLE_CACHE/guest-$key
img=$dir/rootfs.ext4
if [ -f "$dir/.done" ]; then
  echo "$img"
  exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/install-deps.sh"
# Use the Debian mirror this machine's apt already uses (no host is named here).
mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | grep -v security | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' \
  | awk '{print $1}' | grep -E '/debian/?$' | head -n1 || true)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*: cannot debootstrap the guest"

rm -rf "$dir"
mkdir -p "$dir"
root=$dir/root
step "debootstrap minbase Debian 12 guest into $root (a few minutes)"
if ! debootstrap --variant=minbase --include="$GUEST_PKGS" bookworm "$root" "$mirror" > "$dir/debootstrap.log" 2>&1; then
  tail -20 "$dir/debootstrap.log" >&2
  die "debootstrap failed; log in $dir/debootstrap.log"
fi
install -m 0755 "$top/vm/guest-bootstrap.sh" "$root/sbin/fluffle-bootstrap"
echo fluffle-guest > "$root/etc/hostname"
# A non-root user for permission tests (EACCES).
chroot "$root" useradd -m -u 1000 tester >/dev/null 2>&1 || true
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*

step "making ext4 image $img"
size_mb=$(( $(du -sm "$root" | cut -f1) * 2 + 256 ))
mkfs.ext4 -q -F -L fluffle-root -d "$root" "$img" "${size_mb}M" >&2 || die "mkfs.ext4 -d failed"
rm -rf "$root"
touch "$dir/.done"
ok "guest image ready"
echo "$img"
