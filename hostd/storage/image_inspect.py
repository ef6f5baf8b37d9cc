"""Decide an image file's real format and refuse the dangerous ones BEFORE qemu-img opens it.

The Nova/Glance image CVE class: a qcow2 whose backing file or external data file names a host file
(/etc/passwd, another tenant's disk), a VMDK whose extents point elsewhere, or a file that claims one
format and is another, make qemu-img read host files into the guest's disk. Two independent checks:

1. oslo.utils' format_inspector (the OpenStack fix for exactly this class): detects the format from the
   bytes and runs its safety checks (backing file, data file, unknown qcow2 features, VMDK extents, ...);
   the detected format must be the declared one (a raw declaration also accepts an MBR/GPT disk, which
   is raw). A VMDK descriptor text file, which it sees as raw, is refused here by its magic line.
2. `qemu-img info -f <declared> --output=json` under prlimit (memory and CPU time), never probing the
   format, cross-checks: same format, no backing file, no data file; it also gives the virtual size.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_utils.imageutils import format_inspector as fi

ALLOWED = {"raw": ("raw", "gpt"), "qcow2": ("qcow2",)}
"""Declared format -> formats the bytes may show."""

QEMU_IMG_MEMORY = 1 << 30
QEMU_IMG_CPU_SECONDS = 30
_VMDK_DESCRIPTOR = b"# Disk DescriptorFile"


class UnsafeImage(Exception):
    """The file is refused; `reason` is a condition reason (FormatMismatch, UnsafeImage, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str
    virtual_size: int
    """Bytes of the disk the image holds (what an RBD image needs)."""


def inspect_image(path: Path, declared: str, *, qemu_img: str = "qemu-img") -> ImageInfo:
    """Check the file at path against its declared format (spec.diskFormat); raise UnsafeImage if refused."""
    if declared not in ALLOWED:
        raise UnsafeImage("UnsupportedFormat", f"spec.diskFormat must be raw or qcow2, not {declared!r}")
    _library_check(path, declared)
    return _qemu_img_check(path, declared, qemu_img)


def _library_check(path: Path, declared: str) -> None:
    with path.open("rb") as f:
        if f.read(len(_VMDK_DESCRIPTOR)) == _VMDK_DESCRIPTOR:
            raise UnsafeImage(
                "FormatMismatch",
                f"spec.diskFormat is {declared} but the file is a VMDK descriptor (extents in other files)",
            )
    try:
        detected = fi.detect_file_format(str(path))
    except fi.ImageFormatError as e:
        raise UnsafeImage("FormatMismatch", f"the file's format cannot be trusted: {e}") from e
    name = str(detected) if detected is not None else "unknown"
    if detected is None or name not in ALLOWED[declared]:
        raise UnsafeImage("FormatMismatch", f"spec.diskFormat is {declared} but the file is {name}")
    try:
        detected.safety_check()
    except fi.SafetyCheckFailed as e:
        failures = "; ".join(f"{check}: {err}" for check, err in sorted(e.failures.items()))
        raise UnsafeImage("UnsafeImage", f"the {name} file is refused: {failures}") from e
    except fi.ImageFormatError as e:
        raise UnsafeImage("UnsafeImage", f"the {name} file cannot be checked: {e}") from e


def _qemu_img_check(path: Path, declared: str, qemu_img: str) -> ImageInfo:
    argv = [
        "prlimit",
        f"--as={QEMU_IMG_MEMORY}",
        f"--cpu={QEMU_IMG_CPU_SECONDS}",
        "--",
        qemu_img,
        "info",
        "-f",
        declared,
        "--output=json",
        str(path),
    ]
    try:
        out = subprocess.run(argv, capture_output=True, check=True, timeout=QEMU_IMG_CPU_SECONDS * 2)
        info: dict[str, Any] = json.loads(out.stdout)
    except subprocess.CalledProcessError as e:
        raise UnsafeImage("UnsafeImage", f"qemu-img info failed: {e.stderr.decode(errors='replace')}") from e
    except (subprocess.TimeoutExpired, ValueError) as e:
        raise UnsafeImage("UnsafeImage", f"qemu-img info failed: {e}") from e
    if info.get("format") != declared:
        raise UnsafeImage(
            "FormatMismatch", f"qemu-img reads the file as {info.get('format')}, not {declared}"
        )
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeImage("UnsafeImage", f"the image has a backing file: {info.get('backing-filename')}")
    data = (info.get("format-specific") or {}).get("data") or {}
    if data.get("data-file"):
        raise UnsafeImage("UnsafeImage", f"the image has an external data file: {data['data-file']}")
    size = int(info.get("virtual-size") or 0)
    if size <= 0:
        raise UnsafeImage("UnsafeImage", "the image has no virtual size")
    return ImageInfo(declared, size)
