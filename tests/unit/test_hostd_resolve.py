"""The resolver: a Server and what it names (Ports, Subnets, Networks, Volumes, KeyPair, user-data Secret)
-> the guest plan and its config drive; what is missing is a ResolveError naming it."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest

from controllers.scheduling import Resources
from hostd import configdrive
from hostd.config import LibvirtConfig
from hostd.drivers.base import GuestSpec
from hostd.drivers.libvirt_setup import plan_settings
from hostd.kube import ApiError
from hostd.resolve import ApiResolver, ensure_file_volume
from hostd.resolve_plan import (
    DiskSettings,
    Fetched,
    PlanSettings,
    ResolveError,
    guest_plan,
    split_backend_id,
)

SERVER_UID = str(uuid.uuid4())
PORT_UID = str(uuid.uuid4())
VOL_UID = str(uuid.uuid4())
RES = Resources(1, 256, 0)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7y0v+7mYyY4o4t0ZzY6c0bX0cIhT8Xq8V0hG4bKq1y me@host"


def server(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"uid": SERVER_UID, "name": "web", "namespace": "demo"},
        "spec": {"flavor": "tiny", "image": "debian-12", "networks": [{"network": "net1"}], **spec},
        "status": {"host": "h1", "flavor": "tiny"},
    }


def objects() -> dict[str, dict[str, Any]]:
    """The API's objects by path."""
    net = "/apis/network.kumulus.dev/v1alpha1/namespaces/demo"
    return {
        f"{net}/ports/web-nic0": {
            "metadata": {"name": "web-nic0", "uid": PORT_UID},
            "spec": {"network": "net1"},
            "status": {
                "macAddress": "FA:16:3E:00:00:01",
                "addresses": [{"subnet": "sub1", "ipAddress": "10.0.0.5"}],
            },
        },
        f"{net}/subnets/sub1": {
            "metadata": {"name": "sub1"},
            "spec": {"network": "net1", "cidr": "10.0.0.0/24", "dnsServers": ["10.0.0.2"]},
            "status": {"gatewayIP": "10.0.0.1"},
        },
        f"{net}/networks/net1": {"metadata": {"name": "net1"}, "spec": {"mtu": 1442}},
        "/apis/storage.kumulus.dev/v1alpha1/namespaces/demo/volumes/web-root": {
            "metadata": {"name": "web-root", "uid": VOL_UID},
            "status": {"backendId": f"rbd/volumes/volume-{VOL_UID}", "sizeGiB": 1},
        },
        "/apis/compute.kumulus.dev/v1alpha1/namespaces/demo/keypairs/me": {"spec": {"publicKey": KEY}},
        "/api/v1/namespaces/demo/secrets/ud": {
            "data": {"userData": base64.b64encode(b"#cloud-config\n").decode()}
        },
    }


class FakeKube:
    def __init__(self, objs: dict[str, dict[str, Any]]) -> None:
        self.objs = objs

    async def get(self, path: str) -> dict[str, Any]:
        if path not in self.objs:
            raise ApiError(404, "NotFound", path)
        return self.objs[path]


def spec(srv: dict[str, Any] | None = None) -> GuestSpec:
    return GuestSpec(SERVER_UID, "demo/web", RES, True, srv or server())


def fetched_of(objs: dict[str, dict[str, Any]]) -> Fetched:
    by = {p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1]: o for p, o in objs.items()}
    return Fetched(
        ports={"web-nic0": by["ports/web-nic0"]},
        subnets={"sub1": by["subnets/sub1"]},
        networks={"net1": by["networks/net1"]},
        volumes={"web-root": by["volumes/web-root"]},
    )


def test_split_backend_id() -> None:
    assert split_backend_id("rbd/volumes/volume-1", "x") == ("volumes", "volume-1")
    assert split_backend_id("p/img", "x") == ("p", "img")
    assert split_backend_id("img", "x") == ("x", "img")
    with pytest.raises(ResolveError, match="backendId"):
        split_backend_id("rbd/a/b/c", "x")


def test_plan_with_rbd_boot_volume_and_a_nic(tmp_path: Path) -> None:
    settings = PlanSettings(
        disks=DiskSettings(monitors=("10.0.0.9:6789",)),
        console_dir=tmp_path / "console",
        config_drive_dir=tmp_path / "cd",
    )
    plan, drive = guest_plan(spec(), fetched_of(objects()), settings)
    assert plan.uid == SERVER_UID and plan.consumer == "demo/web" and plan.flavor == "tiny"
    (disk,) = plan.disks
    assert disk.target_dev == "vda" and disk.boot_order == 1 and disk.rbd is not None
    assert (disk.rbd.pool, disk.rbd.image, disk.rbd.monitors) == (
        "volumes",
        f"volume-{VOL_UID}",
        ("10.0.0.9:6789",),
    )
    (nic,) = plan.nics
    assert (nic.port_uid, nic.mac, nic.mtu, nic.bridge) == (PORT_UID, "fa:16:3e:00:00:01", 1442, "br-int")
    assert plan.config_drive == str(tmp_path / "cd" / f"{SERVER_UID}.img")
    assert plan.console_log == str(tmp_path / "console" / f"{SERVER_UID}.log")
    assert drive.nics[0].addresses == ("10.0.0.5/24",) and drive.nics[0].gateways == ("10.0.0.1",)
    assert drive.nameservers == ("10.0.0.2",)


def test_attached_volumes_take_their_device_or_the_next_free_one() -> None:
    objs = objects()
    base = "/apis/storage.kumulus.dev/v1alpha1/namespaces/demo/volumes/"
    for name in ("data1", "data2"):
        objs[base + name] = {"metadata": {"uid": str(uuid.uuid4())}, "status": {"backendId": f"rbd/v/{name}"}}
    f = fetched_of(objs)
    vols = {**f.volumes, "data1": objs[base + "data1"], "data2": objs[base + "data2"]}
    f = Fetched(f.ports, f.subnets, f.networks, vols)
    srv = server(volumes=[{"volume": "data1"}, {"volume": "data2", "device": "vdb"}])
    plan, _ = guest_plan(spec(srv), f, PlanSettings(disks=DiskSettings(monitors=("m",))))
    assert [(d.target_dev, d.rbd.image if d.rbd else None) for d in plan.disks] == [
        ("vda", f"volume-{VOL_UID}"),
        ("vdc", "data1"),
        ("vdb", "data2"),
    ]


@pytest.mark.parametrize(
    ("drop", "change", "message"),
    [
        ("ports/web-nic0", None, "Port web-nic0 \\(nic0\\): not found"),
        ("volumes/web-root", None, "boot Volume web-root: not found"),
        ("subnets/sub1", None, "Subnet 'sub1' not found"),
        (None, ("volumes/web-root", "status", {}), "boot Volume web-root: status.backendId"),
        (None, ("ports/web-nic0", "status", {"addresses": []}), "status.macAddress"),
        (None, ("ports/web-nic0", "metadata", {"uid": "x"}), "nic.portUID"),
        (
            None,
            ("volumes/web-root", "status", {"backendId": "rbd/v/x", "sizeGiB": "2"}),
            "boot Volume web-root: status.sizeGiB '2' is not a positive integer",
        ),
    ],
)
def test_missing_pieces_are_errors_naming_them(
    drop: str | None, change: tuple[str, str, Any] | None, message: str
) -> None:
    objs = objects()
    if drop:
        objs = {p: o for p, o in objs.items() if not p.endswith(drop)}
    if change:
        path = next(p for p in objs if p.endswith(change[0]))
        objs[path] = {**objs[path], change[1]: change[2]}
    settings = PlanSettings(disks=DiskSettings(monitors=("m",)))

    async def run() -> None:
        await ApiResolver(FakeKube(objs), settings)(spec())  # type: ignore[arg-type]

    import asyncio

    with pytest.raises(ResolveError, match=message):
        asyncio.run(run())


async def test_resolver_writes_the_config_drive_and_file_volume(tmp_path: Path) -> None:
    cfg = LibvirtConfig(uri="qemu:///system", virt_type="qemu", state_dir=tmp_path, volume_backend="file")
    resolver = ApiResolver(FakeKube(objects()), plan_settings(cfg))  # type: ignore[arg-type]
    srv = server(keyPair="me", userData={"secretName": "ud"})
    plan = await resolver(spec(srv))
    assert plan.config_drive is not None
    drive = Path(plan.config_drive)
    assert drive.is_file() and drive.parent == tmp_path / "configdrive"
    files = configdrive.render(
        configdrive.ConfigDriveSpec(
            uid=SERVER_UID,
            name="web",
            namespace="demo",
            nics=(configdrive.NicConfig("fa:16:3e:00:00:01", ("10.0.0.5/24",), ("10.0.0.1",), 1442),),
            ssh_keys=(KEY,),
            user_data=b"#cloud-config\n",
            nameservers=("10.0.0.2",),
        )
    )
    assert drive.with_name(drive.name + ".digest").read_text().strip() == configdrive.digest(files)
    (disk,) = plan.disks
    assert disk.path == str(tmp_path / "volumes" / "volumes" / f"volume-{VOL_UID}")
    assert Path(disk.path).stat().st_size == 1 << 30 == disk.size_bytes
    assert disk.serial == VOL_UID[:20]
    mtime = drive.stat().st_mtime_ns
    again = await resolver(spec(srv))
    assert again == plan and drive.stat().st_mtime_ns == mtime  # level-based: nothing rewritten


async def test_resolver_errors_on_missing_keypair_and_secret(tmp_path: Path) -> None:
    cfg = LibvirtConfig(state_dir=tmp_path, volume_backend="file")
    resolver = ApiResolver(FakeKube(objects()), plan_settings(cfg))  # type: ignore[arg-type]
    with pytest.raises(ResolveError, match=r"spec\.keyPair: KeyPair nope not found"):
        await resolver(spec(server(keyPair="nope")))
    with pytest.raises(ResolveError, match=r"spec\.userData\.secretName"):
        await resolver(spec(server(userData={"secretName": "nope"})))
    with pytest.raises(ResolveError, match=r"spec\.userData\.key"):
        await resolver(spec(server(userData={"secretName": "ud", "key": "other"})))


async def test_api_errors_other_than_404_propagate(tmp_path: Path) -> None:
    class Down(FakeKube):
        async def get(self, path: str) -> dict[str, Any]:
            raise ApiError(503, "ServiceUnavailable", "down")

    resolver = ApiResolver(Down({}), plan_settings(LibvirtConfig(state_dir=tmp_path, volume_backend="file")))  # type: ignore[arg-type]
    with pytest.raises(ApiError):
        await resolver(spec())


async def test_an_extended_volume_grows_its_file(tmp_path: Path) -> None:
    """The file backend stands in for RBD: an extend (status.sizeGiB up) grows the file, sparse, content
    kept; a smaller size never shrinks it."""
    objs = objects()
    vol_path = "/apis/storage.kumulus.dev/v1alpha1/namespaces/demo/volumes/web-root"
    cfg = LibvirtConfig(state_dir=tmp_path, volume_backend="file")
    resolver = ApiResolver(FakeKube(objs), plan_settings(cfg))  # type: ignore[arg-type]
    (disk,) = (await resolver(spec())).disks
    assert disk.path is not None
    with open(disk.path, "r+b") as f:
        f.write(b"data")
    objs[vol_path] = {**objs[vol_path], "status": {**objs[vol_path]["status"], "sizeGiB": 3}}
    (grown,) = (await resolver(spec())).disks
    assert grown.size_bytes == 3 << 30 and Path(disk.path).stat().st_size == 3 << 30
    with open(disk.path, "rb") as f:
        assert f.read(4) == b"data"
    assert Path(disk.path).stat().st_blocks * 512 < 1 << 20  # still sparse
    assert ensure_file_volume(Path(disk.path), 1 << 30) is False
    assert Path(disk.path).stat().st_size == 3 << 30
    assert ensure_file_volume(Path(disk.path), 3 << 30) is False
    # A Volume whose size is not known yet: no size in the plan (never grown), the file from spec.sizeGiB.
    objs[vol_path] = {**objs[vol_path], "spec": {"sizeGiB": 2}, "status": {"backendId": "rbd/v/other"}}
    (unknown,) = (await resolver(spec())).disks
    assert unknown.size_bytes is None and unknown.path is not None
    assert Path(unknown.path).stat().st_size == 2 << 30
