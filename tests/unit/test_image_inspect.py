"""hostd.storage.image_inspect on crafted files: the image CVE class is refused before qemu-img reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hostd.storage.image_inspect import UnsafeImage, inspect_image

MIB = 1 << 20


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


@pytest.fixture
def good_raw(tmp_path: Path) -> Path:
    path = tmp_path / "good.raw"
    path.write_bytes(b"\x00" * 512 + b"hello" + b"\x00" * (MIB - 517))
    return path


@pytest.fixture
def good_qcow2(tmp_path: Path, good_raw: Path) -> Path:
    path = tmp_path / "good.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(good_raw), str(path))
    return path


def test_good_raw_is_accepted(good_raw: Path) -> None:
    info = inspect_image(good_raw, "raw")
    assert (info.format, info.virtual_size) == ("raw", MIB)


def test_good_qcow2_is_accepted(good_qcow2: Path) -> None:
    info = inspect_image(good_qcow2, "qcow2")
    assert (info.format, info.virtual_size) == ("qcow2", MIB)


def test_qcow2_with_backing_file_on_a_host_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(path), "1M")
    with pytest.raises(UnsafeImage) as e:
        inspect_image(path, "qcow2")
    assert e.value.reason == "UnsafeImage"
    assert "backing_file" in e.value.message


def test_qcow2_with_external_data_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "datafile.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.raw'}", str(path), "1M")
    with pytest.raises(UnsafeImage) as e:
        inspect_image(path, "qcow2")
    assert e.value.reason == "UnsafeImage"
    assert "data_file" in e.value.message


@pytest.mark.parametrize("declared", ["raw", "qcow2"])
def test_vmdk_with_an_extent_is_refused(tmp_path: Path, declared: str) -> None:
    path = tmp_path / "disk.vmdk"
    qemu_img("create", "-f", "vmdk", "-o", "subformat=monolithicFlat", str(path), "1M")
    assert (tmp_path / "disk-flat.vmdk").exists()  # the descriptor points at this extent
    with pytest.raises(UnsafeImage) as e:
        inspect_image(path, declared)
    assert e.value.reason == "FormatMismatch"
    assert "VMDK descriptor" in e.value.message


def test_sparse_vmdk_declared_raw_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sparse.vmdk"
    qemu_img("create", "-f", "vmdk", str(path), "1M")
    with pytest.raises(UnsafeImage, match=r"spec\.diskFormat is raw but the file is vmdk"):
        inspect_image(path, "raw")


def test_qcow2_declared_raw_is_refused(good_qcow2: Path) -> None:
    with pytest.raises(UnsafeImage) as e:
        inspect_image(good_qcow2, "raw")
    assert e.value.reason == "FormatMismatch"
    assert "spec.diskFormat is raw but the file is qcow2" in e.value.message


def test_evil_qcow2_declared_raw_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(path), "1M")
    with pytest.raises(UnsafeImage, match="the file is qcow2"):
        inspect_image(path, "raw")


def test_raw_declared_qcow2_is_refused(good_raw: Path) -> None:
    with pytest.raises(UnsafeImage) as e:
        inspect_image(good_raw, "qcow2")
    assert e.value.reason == "FormatMismatch"
    assert "spec.diskFormat is qcow2 but the file is raw" in e.value.message


def test_other_formats_are_refused_when_declared_raw(tmp_path: Path) -> None:
    for fmt in ("vhdx", "vdi"):
        path = tmp_path / f"disk.{fmt}"
        qemu_img("create", "-f", fmt, str(path), "1M")
        with pytest.raises(UnsafeImage, match=f"the file is {fmt}"):
            inspect_image(path, "raw")


def test_iso_declared_raw_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "disk.iso"
    data = bytearray(64 * 1024)
    data[0x8001:0x8006] = b"CD001"  # the ISO 9660 primary volume descriptor's magic
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeImage, match="the file is iso"):
        inspect_image(path, "raw")


def test_unknown_declared_format_names_the_field(good_raw: Path) -> None:
    with pytest.raises(UnsafeImage, match=r"spec\.diskFormat must be raw or qcow2"):
        inspect_image(good_raw, "vmdk")
