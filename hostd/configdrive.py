"""The config drive of a Server: what the guest learns about itself at boot (docs/guest-image.md).

    files = render(ConfigDriveSpec(...))      # pure: {filename: bytes}
    changed = ensure_config_drive(path, files)  # writes the vfat image (label cidata) if its content changed

The drive follows cloud-init's NoCloud layout (meta-data, user-data, network-config version 2) so stock
cloud images configure themselves, plus `kumulus.env`: KEY=VALUE lines that a busybox shell reads without
a YAML parser (the Kumulus test guest, scripts/guest/init). Everything that comes from users is
validated here, with an error naming the field: hostnames, MACs, addresses, SSH keys, the size of the
user data. Values in kumulus.env are restricted to a character set that needs no quoting, so the file
is safe to parse line by line and even to source.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LABEL = "cidata"  # cloud-init's NoCloud label; the guest looks the drive up by it
ENV_FILE = "kumulus.env"
ENV_VERSION = "1"
MAX_USER_DATA = 65536  # bytes, as OpenStack's limit (cloud-init itself has none)
MAX_NICS = 16
MAX_ADDRESSES = 16
MAX_SSH_KEYS = 32
MAX_NAMESERVERS = 3
DRIVE_MIB = 2  # FAT12; holds the largest allowed user data with room to spare
DIGEST_SUFFIX = ".digest"

_HOST_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
HOSTNAME_RE = re.compile(rf"^{_HOST_LABEL}(\.{_HOST_LABEL})*$")
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")  # Kubernetes DNS-1123 subdomain
UID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
SSH_KEY_TYPE_RE = re.compile(
    r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$"
)
SSH_KEY_DATA_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
# A key's comment is cosmetic: characters outside this set become "_" so that meta-data's YAML keeps
# every key on one plain line (what the guest's shell parser expects).
_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9@._+=-]")
ENV_VALUE_RE = re.compile(r"^[A-Za-z0-9._:/,-]*$")  # nothing a shell would interpret
ENV_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
FILENAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ConfigDriveError(ValueError):
    """Bad input for a config drive; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class NicConfig:
    """One NIC: the guest finds it by MAC. Addresses are "ip/prefix"; at most one gateway per family."""

    mac: str
    addresses: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class ConfigDriveSpec:
    """What a Server's config drive says. `hostname` defaults to the Server's name."""

    uid: str
    name: str
    namespace: str
    hostname: str | None = None
    nics: tuple[NicConfig, ...] = ()
    ssh_keys: tuple[str, ...] = ()
    user_data: bytes | str | None = None
    nameservers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Nic:
    """A validated NIC."""

    mac: str
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]
    gateway4: str | None
    gateway6: str | None
    mtu: int | None


# -- validation ---------------------------------------------------------------------------------------


def _hostname(spec: ConfigDriveSpec) -> str:
    field = "hostname" if spec.hostname is not None else "name"
    value = spec.hostname if spec.hostname is not None else spec.name
    if len(value) > 253 or not HOSTNAME_RE.match(value):
        raise ConfigDriveError(
            field,
            f"{value[:80]!r} is not a valid hostname (lower-case letters, digits, '-' and '.', labels of 1-63)",
        )
    return value


def _nic(i: int, nic: NicConfig) -> _Nic:
    field = f"nics[{i}]"
    mac = nic.mac.lower()
    if not MAC_RE.match(mac):
        raise ConfigDriveError(
            f"{field}.mac", f"{nic.mac[:40]!r} is not a MAC address like 52:54:00:12:34:56"
        )
    if int(mac[:2], 16) & 1:
        raise ConfigDriveError(f"{field}.mac", f"{mac} is a multicast address")
    if len(nic.addresses) > MAX_ADDRESSES:
        raise ConfigDriveError(f"{field}.addresses", f"at most {MAX_ADDRESSES} addresses")
    addresses: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = []
    for j, text in enumerate(nic.addresses):
        afield = f"{field}.addresses[{j}]"
        if "/" not in text:
            raise ConfigDriveError(afield, f"{text[:60]!r} needs a prefix length, e.g. 10.0.0.5/24")
        try:
            iface = ipaddress.ip_interface(text)
        except ValueError:
            raise ConfigDriveError(afield, f"{text[:60]!r} is not an IP address with prefix") from None
        net = iface.network
        if (
            iface.version == 4
            and net.prefixlen < 31
            and iface.ip in (net.network_address, net.broadcast_address)
        ):
            raise ConfigDriveError(afield, f"{text} is the network or broadcast address of {net}")
        if iface.ip in (a.ip for a in addresses):
            raise ConfigDriveError(afield, f"{iface.ip} is listed twice")
        addresses.append(iface)
    gateways: dict[int, str] = {}
    for j, text in enumerate(nic.gateways):
        gfield = f"{field}.gateways[{j}]"
        try:
            gw = ipaddress.ip_address(text)
        except ValueError:
            raise ConfigDriveError(gfield, f"{text[:60]!r} is not an IP address") from None
        if gw.version in gateways:
            raise ConfigDriveError(gfield, f"a second IPv{gw.version} gateway")
        if not any(a.version == gw.version and gw in a.network for a in addresses):
            raise ConfigDriveError(gfield, f"{gw} is not in the subnet of any address of the NIC")
        if any(gw == a.ip for a in addresses):
            raise ConfigDriveError(gfield, f"{gw} is the NIC's own address")
        gateways[gw.version] = str(gw)
    if nic.mtu is not None:
        low = 1280 if any(a.version == 6 for a in addresses) else 576
        if isinstance(nic.mtu, bool) or not isinstance(nic.mtu, int) or not low <= nic.mtu <= 9216:
            raise ConfigDriveError(f"{field}.mtu", f"{nic.mtu!r} is not an MTU between {low} and 9216")
    return _Nic(mac, tuple(addresses), gateways.get(4), gateways.get(6), nic.mtu)


def _ssh_key(i: int, key: str) -> str:
    field = f"sshKeys[{i}]"
    if len(key) > 16384 or any(c in key for c in "\r\n\0"):
        raise ConfigDriveError(field, "an SSH public key is one line of at most 16384 characters")
    parts = key.strip().split(None, 2)
    if len(parts) < 2 or not SSH_KEY_TYPE_RE.match(parts[0]) or not SSH_KEY_DATA_RE.match(parts[1]):
        raise ConfigDriveError(field, "not an OpenSSH public key line like 'ssh-ed25519 AAAA... user@host'")
    if len(parts) == 3:
        comment = _COMMENT_UNSAFE.sub("_", parts[2].strip())
        return f"{parts[0]} {parts[1]} {comment}"
    return f"{parts[0]} {parts[1]}"


def _user_data(value: bytes | str | None) -> bytes:
    data = value.encode() if isinstance(value, str) else (value or b"")
    if len(data) > MAX_USER_DATA:
        raise ConfigDriveError("userData", f"{len(data)} bytes, more than the {MAX_USER_DATA} allowed")
    return data


def _nameservers(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(values) > MAX_NAMESERVERS:
        raise ConfigDriveError("nameservers", f"at most {MAX_NAMESERVERS}")
    out = []
    for i, text in enumerate(values):
        try:
            out.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise ConfigDriveError(f"nameservers[{i}]", f"{text[:60]!r} is not an IP address") from None
    return tuple(out)


def _identity(spec: ConfigDriveSpec) -> None:
    if not UID_RE.match(spec.uid):
        raise ConfigDriveError("uid", f"{spec.uid[:80]!r} is not a Kubernetes uid")
    for field, value in (("name", spec.name), ("namespace", spec.namespace)):
        if len(value) > 253 or not NAME_RE.match(value):
            raise ConfigDriveError(field, f"{value[:80]!r} is not a Kubernetes object name")


# -- rendering ----------------------------------------------------------------------------------------


def _yaml(doc: Mapping[str, Any]) -> bytes:
    # No line wrapping: an RSA key stays on one line for the guest's line-based reader.
    text: str = yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False, width=1 << 30)
    return text.encode()


def _env(pairs: list[tuple[str, str]]) -> bytes:
    lines = ["# Kumulus config drive: KEY=VALUE, values never need quoting (docs/guest-image.md)."]
    for key, value in pairs:
        # Every value was validated above; this is the last line of defence for the guest's parser.
        if not ENV_KEY_RE.match(key) or not ENV_VALUE_RE.match(value):
            raise ConfigDriveError(key, f"{value[:60]!r} has characters kumulus.env cannot carry")
        lines.append(f"{key}={value}")
    return ("\n".join(lines) + "\n").encode()


def render(spec: ConfigDriveSpec) -> dict[str, bytes]:
    """The files of the config drive, validated: meta-data, user-data, network-config, kumulus.env."""
    _identity(spec)
    hostname = _hostname(spec)
    if len(spec.nics) > MAX_NICS:
        raise ConfigDriveError("nics", f"at most {MAX_NICS}")
    nics = [_nic(i, n) for i, n in enumerate(spec.nics)]
    macs = [n.mac for n in nics]
    for i, mac in enumerate(macs):
        if mac in macs[:i]:
            raise ConfigDriveError(f"nics[{i}].mac", f"{mac} is used by another NIC")
    if len(spec.ssh_keys) > MAX_SSH_KEYS:
        raise ConfigDriveError("sshKeys", f"at most {MAX_SSH_KEYS}")
    keys = [_ssh_key(i, k) for i, k in enumerate(spec.ssh_keys)]
    user_data = _user_data(spec.user_data)
    nameservers = _nameservers(spec.nameservers)

    meta: dict[str, Any] = {"instance-id": spec.uid, "local-hostname": hostname}
    if keys:
        meta["public-keys"] = keys

    ethernets: dict[str, Any] = {}
    for i, nic in enumerate(nics):
        eth: dict[str, Any] = {"match": {"macaddress": nic.mac}, "set-name": f"eth{i}"}
        if nic.addresses:
            eth["addresses"] = [str(a) for a in nic.addresses]
        else:
            eth["dhcp4"] = False
        routes = [{"to": "0.0.0.0/0", "via": nic.gateway4}] if nic.gateway4 else []
        routes += [{"to": "::/0", "via": nic.gateway6}] if nic.gateway6 else []
        if routes:
            eth["routes"] = routes
        if nic.mtu is not None:
            eth["mtu"] = nic.mtu
        if i == 0 and nameservers:
            eth["nameservers"] = {"addresses": list(nameservers)}
        ethernets[f"eth{i}"] = eth
    network = {"version": 2, "ethernets": ethernets}

    env = [
        ("KUMULUS_ENV_VERSION", ENV_VERSION),
        ("INSTANCE_ID", spec.uid),
        ("SERVER_NAME", spec.name),
        ("SERVER_NAMESPACE", spec.namespace),
        ("HOSTNAME", hostname),
        ("NIC_COUNT", str(len(nics))),
    ]
    for i, nic in enumerate(nics):
        env += [
            (f"NIC{i}_MAC", nic.mac),
            (f"NIC{i}_ADDRESSES", ",".join(str(a) for a in nic.addresses)),
            (f"NIC{i}_GATEWAY4", nic.gateway4 or ""),
            (f"NIC{i}_GATEWAY6", nic.gateway6 or ""),
            (f"NIC{i}_MTU", "" if nic.mtu is None else str(nic.mtu)),
        ]
    env.append(("NAMESERVERS", ",".join(nameservers)))

    return {
        "meta-data": _yaml(meta),
        "user-data": user_data,
        "network-config": _yaml(network),
        ENV_FILE: _env(env),
    }


def digest(files: Mapping[str, bytes]) -> str:
    """A digest of the drive's content (names and bytes), to tell whether a drive on disk is current."""
    h = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


# -- writing ------------------------------------------------------------------------------------------


def write_config_drive(path: Path, files: Mapping[str, bytes], *, mode: int = 0o600) -> None:
    """Write the files into a fresh vfat image labelled cidata at `path`, atomically (temp + rename).

    No mounts: mkfs.vfat formats a plain file and mcopy copies the files in. Mode 0600 by default,
    as user data may hold secrets.
    """
    for name in files:
        if not FILENAME_RE.match(name):
            raise ConfigDriveError("files", f"{name[:60]!r} is not a plain file name")
    if sum(len(d) for d in files.values()) > (DRIVE_MIB << 20) // 2:
        raise ConfigDriveError("files", f"more than {DRIVE_MIB // 2} MiB of content")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        os.ftruncate(fd, DRIVE_MIB << 20)
        os.close(fd)
        fd = -1
        # The volume id comes from the content: the same files give the same id.
        volume_id = digest(files)[:8]
        _run(["mkfs.vfat", "-n", LABEL, "-i", volume_id, str(tmp)])
        if files:
            with tempfile.TemporaryDirectory(prefix="configdrive-") as staging:
                sources = []
                for name, data in files.items():
                    src = Path(staging) / name
                    src.write_bytes(data)
                    sources.append(str(src))
                _run(["mcopy", "-i", str(tmp), *sources, "::/"])
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise


def ensure_config_drive(path: Path, files: Mapping[str, bytes]) -> bool:
    """Level-based: (re)write the drive only when its content differs from `files`; True if written.

    The digest of what was written sits next to the image (`<path>.digest`), written after the image.
    """
    want = digest(files)
    marker = path.with_name(path.name + DIGEST_SUFFIX)
    try:
        if path.exists() and marker.read_text().strip() == want:
            return False
    except FileNotFoundError:
        pass
    write_config_drive(path, files)
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(want + "\n")
    os.replace(tmp, marker)
    return True


def remove_config_drive(path: Path) -> None:
    """Delete the drive and its digest, if present."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + DIGEST_SUFFIX).unlink(missing_ok=True)


def _run(argv: list[str]) -> None:
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise OSError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
