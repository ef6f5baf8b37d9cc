#!/usr/bin/env bash
# Idempotent setup of a fresh Debian machine: apt packages, the virtual environment, the project.
# Quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv python3-pip python3-yaml openssl ca-certificates make git curl unzip
  ovn-central ovn-host openvswitch-switch openvswitch-common
  # the real data plane (../shared/notes/machine-recipes.md): libvirt + QEMU (TCG), Ceph, guest image tools
  libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils qemu-block-extra
  ceph-mon ceph-osd ceph-mgr ceph-common python3-rbd python3-rados python3-libvirt
  haproxy dnsmasq-base iproute2 iputils-ping ethtool busybox-static cpio
  syslinux syslinux-common mtools dosfstools)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv (Debian python3, system site packages)"
  /usr/bin/python3 -m venv --system-site-packages .venv
fi

stamp=.venv/.kumulus-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing kumulus and its development tools into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import kumulus, aiohttp, celpy, kopf, kubernetes' 
  touch "$stamp"
fi

if ! command -v kubectl >/dev/null 2>&1 && [ ! -x .venv/bin/kubectl ]; then
  scripts/install-kubectl.sh
fi
