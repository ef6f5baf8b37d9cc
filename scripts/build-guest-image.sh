#!/usr/bin/env bash
# Builds the Kumulus test guest: build/guest/kumulus-guest.img (raw, BIOS-bootable) and its .sha256.
#
# The disk is a "superfloppy": one FAT file system over the whole disk with the syslinux boot sector,
# holding the Debian cloud kernel and a busybox initramfs whose /init (scripts/guest/init) reads the
# config drive. Nothing is mounted and nothing needs root beyond `apt-get download`'s cache; the only
# network used is the Debian package mirror (the kernel .deb, cached under build/guest/cache).
# See docs/guest-image.md for the image's contract (config drive files, console markers).
#
# Idempotent: a stamp of every input (kernel package, busybox, syslinux, the guest files, this script)
# sits next to the image; when it matches, nothing is rebuilt.
set -euo pipefail
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/.."

OUT=build/guest
CACHE=$OUT/cache
IMG=$OUT/kumulus-guest.img
STAMP=$OUT/kumulus-guest.inputs
GUEST_SRC=scripts/guest
BUSYBOX=/bin/busybox
SYSLINUX_BIOS=/usr/lib/syslinux/modules/bios
META_PKG=linux-image-cloud-amd64

# Modules the init loads, dependencies first (the closure is computed below with modinfo):
# virtio PCI + net + block + SCSI, IDE (a config drive attached as an IDE disk or CD-ROM),
# the file systems a config drive may use (vfat, iso9660), and the ACPI power button (graceful shutdown).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  failover net_failover virtio_net virtio_blk virtio_scsi
  scsi_common scsi_mod sd_mod libata ata_piix cdrom sr_mod
  fat vfat nls_cp437 nls_ascii nls_utf8 isofs button evdev)

for tool in flock apt-cache apt-get dpkg-deb modinfo cpio gzip mkfs.vfat mcopy syslinux sha256sum; do
  command -v "$tool" >/dev/null || { echo "build-guest-image: $tool is missing (run scripts/setup.sh)" >&2; exit 1; }
done
[ -x "$BUSYBOX" ] || { echo "build-guest-image: $BUSYBOX missing (package busybox-static)" >&2; exit 1; }
mkdir -p "$CACHE"
# One build at a time (parallel test runs share build/guest): the second waits, then finds it up to date.
exec 9>"$OUT/.lock"
flock 9

# --- the kernel package: the versioned package the meta package depends on, from the local apt lists ---
kpkg=$(apt-cache depends "$META_PKG" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}' || true)
if [ -z "$kpkg" ]; then
  # No apt lists (apt-get update never ran): fall back to a kernel already in the cache.
  cached=$(find "$CACHE" -maxdepth 1 -name 'linux-image-*-cloud-amd64_*.deb' | sort | tail -n 1)
  [ -n "$cached" ] || { echo "build-guest-image: cannot resolve $META_PKG (run apt-get update)" >&2; exit 1; }
  kpkg=$(basename "$cached" | cut -d_ -f1)
fi
kdeb=$(find "$CACHE" -maxdepth 1 -name "${kpkg}_*.deb" | sort | tail -n 1)
if [ -z "$kdeb" ]; then
  echo "build-guest-image: downloading $kpkg"
  # apt-get download writes into the current directory; as root it warns that _apt cannot write there.
  (cd "$CACHE" && apt-get download -q "$kpkg" 2>&1 | grep -v 'unsandboxed as root' || true)
  kdeb=$(find "$CACHE" -maxdepth 1 -name "${kpkg}_*.deb" | sort | tail -n 1)
  [ -n "$kdeb" ] || { echo "build-guest-image: apt-get download $kpkg failed" >&2; exit 1; }
fi

# --- up to date? ---
inputs=$(
  echo "kernel $(basename "$kdeb")"
  echo "busybox $(sha256sum <"$BUSYBOX" | cut -d' ' -f1)"
  echo "syslinux $(syslinux --version 2>&1 | head -n 1)"
  echo "modules ${MODULES[*]}"
  (cd "$GUEST_SRC" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  sha256sum "$SELF" | cut -d' ' -f1
)
if [ -f "$IMG" ] && [ -f "$IMG.sha256" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs" ]; then
  echo "build-guest-image: $IMG is up to date"
  exit 0
fi

start=$(date +%s%N)
work=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- unpack the kernel; resolve the module closure (dependencies before dependents) ---
dpkg-deb -x "$kdeb" "$work/kernel"
kver=${kpkg#linux-image-}
moddir=$work/kernel/lib/modules/$kver
vmlinuz=$work/kernel/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || { echo "build-guest-image: no $vmlinuz in $kdeb" >&2; exit 1; }

declare -A modpath=() loaded=()
while IFS= read -r f; do
  name=$(basename "$f" .ko)
  modpath[${name//-/_}]=$f
done < <(find "$moddir" -name '*.ko')
order=()
add_module() { # depth-first: dependencies are appended before the module itself
  local name=${1//-/_} dep deps
  [ -n "${loaded[$name]:-}" ] && return 0
  [ -n "${modpath[$name]:-}" ] || { echo "build-guest-image: module $name not in $kpkg" >&2; exit 1; }
  loaded[$name]=1
  deps=$(modinfo -F depends "${modpath[$name]}")
  for dep in ${deps//,/ }; do add_module "$dep"; done
  order+=("$name")
}
for m in "${MODULES[@]}"; do add_module "$m"; done

# --- the initramfs: busybox, the init, the modules in load order ---
root=$work/initramfs
mkdir -p "$root"/{bin,dev,etc,lib/modules,mnt,proc,root,run,sys,tmp,etc/udhcpc,var/www}
cp "$BUSYBOX" "$root/bin/busybox"
install -m 0755 "$GUEST_SRC/init" "$root/init"
install -m 0755 "$GUEST_SRC/udhcpc.script" "$root/etc/udhcpc/default.script"
for name in "${order[@]}"; do cp "${modpath[$name]}" "$root/lib/modules/$name.ko"; done
printf '%s\n' "${order[@]}" >"$root/etc/modules.order"
echo "$kver" >"$root/etc/kumulus-guest-kernel"
# Fixed timestamps and owners: the same inputs give the same initramfs.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
  cpio --null -o -H newc --owner=0:0 --reproducible --quiet | gzip -9 -n) >"$work/initrd.gz"

# --- the disk: whole-disk FAT + syslinux, sized to its content (rounded up to 4 MiB, plus headroom) ---
kib=$((($(stat -c %s "$vmlinuz") + $(stat -c %s "$work/initrd.gz")) / 1024 + 2048))
mib=$(((kib / 1024 / 4 + 1) * 4))
disk=$work/disk.img
truncate -s "${mib}M" "$disk"
mkfs.vfat -n KUMULUS -i 4b554d55 "$disk" >/dev/null
syslinux --install "$disk"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$disk" "$vmlinuz" ::vmlinuz
mcopy -i "$disk" "$work/initrd.gz" ::initrd.gz
mcopy -i "$disk" "$GUEST_SRC/syslinux.cfg" ::syslinux.cfg

# Publish atomically: the image, then its checksum, then the stamp that says both are current.
mv -f "$disk" "$IMG"
(cd "$OUT" && sha256sum "$(basename "$IMG")") >"$IMG.sha256.tmp" && mv -f "$IMG.sha256.tmp" "$IMG.sha256"
echo "$inputs" >"$STAMP"
ms=$((($(date +%s%N) - start) / 1000000))
echo "build-guest-image: $IMG ($mib MiB, kernel $kver, ${#order[@]} modules) built in ${ms} ms"
