"""Real guests end to end (issue 5): `kumulus up` with the real data plane, a Server from an Image.

One cloud for the module (tests/integration/real_cloud.py): the test guest image (make guest-image) served
over local HTTP is imported as an Image into Ceph; Servers boot from COW clones of it under QEMU (TCG),
their NICs on OVN, and their serial consoles tell what happens inside:
- a Server prints its ready marker with the address IPAM gave its Port; its root disk is an RBD clone of
  the image's protected base snapshot;
- two guests ping each other through OVN; a SecurityGroup without an ICMP rule blocks the ping (the blocked
  guest itself still reaches out); a guest sending from a spoofed source address gets no answer, while one
  on a Port without port security does;
- an RBD Volume hot-attached to a running guest appears in it, grows when extended, goes when detached;
- power off (ACPI: the guest says so), on (it boots again) and a reboot request show in the Server's status;
- deleting every object leaves no domain, OVS port, Kumulus OVN row or RBD image behind.
The tests run in order and build on one another (the module is one scenario).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import wait_for
from .guest_manifests import SUBNET, server, unsecured_port
from .real_cloud import RealCloud, guest_cloud

pytestmark = pytest.mark.integration

BOOT_TIMEOUT = 240.0
GIB = 1 << 30
VOLUME = """
apiVersion: storage.kumulus.dev/v1alpha1
kind: Volume
metadata: {{name: data, namespace: default}}
spec: {{sizeGiB: {size}, zone: az1}}
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCloud]:
    with guest_cloud(Path(tmp_path_factory.mktemp("guests"))) as c:
        yield c


def uid(cloud: RealCloud, kind: str, name: str) -> str:
    obj = cloud.get(kind, name)
    assert obj is not None, f"{kind} {name} does not exist"
    return str(obj["metadata"]["uid"])


def port_ip(cloud: RealCloud, name: str) -> str:
    def ip() -> str:
        addresses = cloud.status("Port", f"{name}-nic0").get("addresses") or []
        return str(addresses[0]["ipAddress"]) if addresses else ""

    return str(wait_for(ip, timeout=60, interval=0.5))


def wait_ready(cloud: RealCloud, name: str) -> str:
    """The guest's address, once its console printed the ready marker with its hostname."""
    server_uid = wait_for(lambda: cloud.get("Server", name), timeout=30)["metadata"]["uid"]
    found = cloud.wait_console(server_uid, rf"KUMULUS-GUEST-READY {name} (\S+)", timeout=BOOT_TIMEOUT)
    return found.group(1)


def test_server_boots_from_image_on_a_cow_clone(cloud: RealCloud) -> None:
    wait_for(lambda: cloud.status("Image", "guest").get("phase") == "Available", timeout=120, interval=0.5)
    image_uid = uid(cloud, "Image", "guest")
    base = cloud.rbd_info("volumes", f"image-{image_uid}")
    assert base["size"] > 0

    cloud.apply(server("alpha", "open"))
    ip = wait_ready(cloud, "alpha")
    assert ip == port_ip(cloud, "alpha"), "the guest's address is the one IPAM gave its Port"
    assert ip.startswith(SUBNET + ".")
    wait_for(lambda: cloud.status("Server", "alpha").get("phase") == "Running", timeout=60, interval=0.5)

    port = wait_for(
        lambda: cloud.status("Port", "alpha-nic0").get("phase") == "Active", timeout=30, interval=0.5
    )
    assert port and cloud.status("Port", "alpha-nic0").get("boundChassis") == cloud.host

    root = uid(cloud, "Volume", "alpha-root")
    info = cloud.rbd_info("volumes", f"volume-{root}")
    assert info["parent"]["image"] == f"image-{image_uid}", info
    assert info["parent"]["snapshot"] == "base", info
    assert uid(cloud, "Server", "alpha") in cloud.domains()


def test_guests_ping_through_ovn_security_group_blocks(cloud: RealCloud) -> None:
    alpha = port_ip(cloud, "alpha")
    # gamma's group lets nothing in; gamma itself pings alpha (so its own NIC works).
    cloud.apply(server("gamma", "closed", user_data=f"ping: {alpha}"))
    gamma = wait_ready(cloud, "gamma")
    gamma_uid = uid(cloud, "Server", "gamma")
    cloud.wait_console(gamma_uid, rf"KUMULUS-PING {alpha} ok", timeout=60)

    cloud.apply(server("beta", "open", user_data=f"ping: {alpha}\nping: {gamma}"))
    wait_ready(cloud, "beta")
    beta_uid = uid(cloud, "Server", "beta")
    cloud.wait_console(beta_uid, rf"KUMULUS-PING {alpha} ok", timeout=60)
    cloud.wait_console(beta_uid, rf"KUMULUS-PING {gamma} fail", timeout=60)


def test_spoofed_source_address_is_dropped(cloud: RealCloud) -> None:
    alpha = port_ip(cloud, "alpha")
    # delta has port security (the default): pinging alpha from another source gets nothing back. epsilon's
    # Port has none: the same spoofed ping is answered, so what delta sees is the port security at work.
    cloud.apply(server("delta", "open", user_data=f"ping: {alpha}\nspoof: {SUBNET}.99 {alpha}"))
    cloud.apply(
        unsecured_port("eps") + server("epsilon", "open", user_data=f"spoof: {SUBNET}.98 {alpha}", port="eps")
    )
    wait_ready(cloud, "delta")
    wait_ready(cloud, "epsilon")
    delta, epsilon = uid(cloud, "Server", "delta"), uid(cloud, "Server", "epsilon")
    cloud.wait_console(delta, rf"KUMULUS-PING {alpha} ok", timeout=60)
    cloud.wait_console(epsilon, rf"KUMULUS-SPOOF {SUBNET}.98 {alpha} ok", timeout=60)
    cloud.wait_console(delta, rf"KUMULUS-SPOOF {SUBNET}.99 {alpha} fail", timeout=60)


def test_volume_hot_attach_extend_detach_seen_in_the_guest(cloud: RealCloud) -> None:
    """An RBD Volume attached to the running guest, grown, then detached: each step in its KUMULUS-DISKS."""
    beta = uid(cloud, "Server", "beta")

    def sizes() -> list[int]:
        lines = re.findall(r"^KUMULUS-DISKS(.*)$", cloud.console(beta), re.MULTILINE)
        pairs = (p.split("=") for p in (lines[-1].split() if lines else ()))
        return sorted(int(size) for dev, size in pairs if dev.startswith("vd") and int(size) >= 64 << 20)

    assert sizes() == [GIB]  # the root disk (the config drive is left out)
    cloud.apply(VOLUME.format(size=1))
    wait_for(lambda: cloud.status("Volume", "data").get("phase") == "Available", timeout=60, interval=0.5)
    attach = '{"spec": {"volumes": [{"volume": "data"}]}}'
    cloud.kubectl("patch", "server", "beta", "-n", "default", "--type=merge", "-p", attach)
    wait_for(lambda: sizes() == [GIB, GIB], timeout=60, interval=0.5)
    cloud.apply(VOLUME.format(size=2))
    wait_for(lambda: sizes() == [GIB, 2 * GIB], timeout=90, interval=0.5)
    detach = '{"spec": {"volumes": []}}'
    cloud.kubectl("patch", "server", "beta", "-n", "default", "--type=merge", "-p", detach)
    wait_for(lambda: sizes() == [GIB], timeout=90, interval=0.5)
    assert cloud.status("Server", "beta").get("phase") == "Running"
    cloud.kubectl("delete", "volume", "data", "-n", "default")


def test_power_off_on_and_reboot_are_reflected(cloud: RealCloud) -> None:
    alpha = uid(cloud, "Server", "alpha")
    boots_before = cloud.console(alpha).count("KUMULUS-GUEST-READY alpha ")
    patch = '{"spec": {"powerState": "Off"}}'
    cloud.kubectl("patch", "server", "alpha", "-n", "default", "--type=merge", "-p", patch)
    cloud.wait_console(alpha, r"KUMULUS-GUEST-POWEROFF alpha", timeout=90)
    wait_for(lambda: cloud.status("Server", "alpha").get("phase") == "Stopped", timeout=90, interval=0.5)
    assert cloud.status("Server", "alpha").get("powerState") == "Off"

    patch = '{"spec": {"powerState": "On"}}'
    cloud.kubectl("patch", "server", "alpha", "-n", "default", "--type=merge", "-p", patch)
    wait_for(
        lambda: cloud.console(alpha).count("KUMULUS-GUEST-READY alpha ") > boots_before,
        timeout=120,
        interval=0.5,
    )
    wait_for(lambda: cloud.status("Server", "alpha").get("phase") == "Running", timeout=60, interval=0.5)
    booted = cloud.status("Server", "alpha").get("bootTime")

    ready = cloud.console(alpha).count("KUMULUS-GUEST-READY alpha ")
    when = "2030-01-01T00:00:00Z"
    patch = f'{{"spec": {{"reboot": {{"requestedAt": "{when}", "type": "Hard"}}}}}}'
    cloud.kubectl("patch", "server", "alpha", "-n", "default", "--type=merge", "-p", patch)
    wait_for(
        lambda: cloud.console(alpha).count("KUMULUS-GUEST-READY alpha ") > ready, timeout=120, interval=0.5
    )
    last = wait_for(lambda: cloud.status("Server", "alpha").get("lastReboot"), timeout=60, interval=0.5)
    assert last["requestedAt"] == when and last["result"] == "Rebooted", last
    wait_for(lambda: cloud.status("Server", "alpha").get("phase") == "Running", timeout=60, interval=0.5)
    assert cloud.status("Server", "alpha").get("bootTime") != booted


def test_everything_deleted_leaves_nothing(cloud: RealCloud) -> None:
    cloud.kubectl("delete", "servers", "--all", "-n", "default", "--wait=false")
    wait_for(lambda: not cloud.kubectl("get", "servers", "-n", "default", "-o", "name"), timeout=120)
    for kind in ("volumes", "images", "ports", "subnets", "networks", "securitygroups"):
        cloud.kubectl("delete", kind, "--all", "-n", "default", "--wait=false")
    for kind in ("volumes", "images", "ports", "subnets", "networks"):
        wait_for(
            lambda kind=kind: not cloud.kubectl("get", kind, "-n", "default", "-o", "name"),
            timeout=180,
            interval=0.5,
        )
    wait_for(lambda: not cloud.domains(), timeout=60, interval=0.5)
    wait_for(lambda: not cloud.ovs_ports(), timeout=60, interval=0.5)
    wait_for(lambda: not cloud.rbd_images("volumes"), timeout=60, interval=0.5)
    for table in ("Logical_Switch", "Logical_Switch_Port", "ACL", "Port_Group"):
        ours = [r for r in cloud.ovn_rows(table) if any(k.startswith("kumulus") for k in r)]
        assert not ours, f"{table}: {ours}"
