"""hostd with the libvirt driver, end to end: `kumulus up --components operators` (scheduler, storage on its
simulated backend), a private libvirtd (QEMU with TCG), and hostd started here as a subprocess with
`--driver libvirt`. The Server boots from an image, as the API requires (image or bootVolume): the storage
operator's simulated backend makes `<server>-root` with a backend id `rbd/volumes/volume-<uid>`, and hostd's
`file` volume backend gives the guest a sparse raw file of that name (no Ceph here). The disk is blank, so
SeaBIOS finds nothing to boot and ignores ACPI: powering off takes the (short) deadline, then a destroy.

Power and reboot as the status shows them: off (Stopped/Off) and on (Running) again; a soft reboot
(spec.reboot) shows Rebooting, restarts the domain (a new libvirt domain id, a later bootTime) and is
recorded in status.lastReboot, and a hostd killed and restarted does not serve it again. status.console
names the serial log under hostd's state directory, which `kumulus console` prints and follows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import libvirt
import pytest
import yaml

from hostd.libvirt.builders import domain_name
from hostd.libvirt.config import GuestDomain

from .cluster import ROOT, Cluster, wait_for
from .libvirt_daemon import LibvirtDaemon

pytestmark = pytest.mark.integration

HOST = "lv-1"
SHUTDOWN_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibvirtDaemon]:
    d = LibvirtDaemon(Path(tmp_path_factory.mktemp("libvirt")))
    try:
        d.start()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("s")), crds_dir=ROOT / "crds", components="operators")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(os.environ, "KUMULUS_RESYNC_SECONDS", "2")
        mp.setitem(os.environ, "KUMULUS_STORAGE_SIM_DELAY", "0.1")
        c.start()
    try:
        apply(c, *INFRA)
        yield c
    finally:
        if c.proc is not None:
            c.stop()


class Hostd:
    """hostd as a child process, stopped (or killed) by its PID."""

    def __init__(self, cluster: Cluster, daemon: LibvirtDaemon, state: Path) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "hostd.main",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--host",
            HOST,
            "--zone",
            "az1",
            "--site",
            "dc1",
            "--driver",
            "libvirt",
            "--libvirt-uri",
            daemon.uri,
            "--virt-type",
            "qemu",
            "--state-dir",
            str(state),
            "--volume-backend",
            "file",
            "--shutdown-timeout",
            str(SHUTDOWN_TIMEOUT),
            "--lease-seconds",
            "1",
        ]
        self.state = state
        self.log = state.parent / "hostd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        env = {k: v for k, v in os.environ.items() if k != "KUMULUS_STATE_DIR"}
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def hostd(
    cluster: Cluster, daemon: LibvirtDaemon, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hostd]:
    state = Path(tmp_path_factory.mktemp("hostd")) / "state"
    h = Hostd(cluster, daemon, state)
    h.start()
    try:
        wait_for(lambda: condition(get(cluster, "", HOST, "host"), "Ready").get("status") == "True", 30)
        yield h
    finally:
        h.stop()
        text = h.log.read_text(errors="replace") if h.log.exists() else ""
        assert "Traceback" not in text, text[-5000:]


INFRA: tuple[dict[str, Any], ...] = (
    {
        "apiVersion": "storage.kumulus.dev/v1alpha1",
        "kind": "VolumeType",
        "metadata": {"name": "standard"},
        "spec": {"isDefault": True, "backends": [{"zone": "az1", "pool": "volumes"}]},
    },
    {
        "apiVersion": "image.kumulus.dev/v1alpha1",
        "kind": "ClusterImage",
        "metadata": {"name": "debian-12"},
        "spec": {
            "source": {"url": "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12.qcow2"},
            "diskFormat": "qcow2",
            "sha256": "c20a65411a99b6ad0f5d5162b0da7d6bf1d0ee1c8d051d6fa0cd5e7094a43719",
        },
    },
    {
        "apiVersion": "infra.kumulus.dev/v1alpha1",
        "kind": "Zone",
        "metadata": {"name": "az1"},
        "spec": {"type": "Physical", "sites": ["dc1"]},
    },
    {
        "apiVersion": "compute.kumulus.dev/v1alpha1",
        "kind": "Flavor",
        "metadata": {"name": "tiny"},
        "spec": {"vcpus": 1, "ramMiB": 64, "diskGiB": 1},
    },
)


def apply(c: Cluster, *docs: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def get(c: Cluster, ns: str, name: str, kind: str = "server") -> dict[str, Any]:
    args = [kind, name, "-o", "json"] + (["-n", ns] if ns else [])
    res = c.kubectl("get", *args, check=False)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c.get("type") == kind:
            return dict(c)
    return {}


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    cluster.kubectl("create", "namespace", name)
    return name


def create_server(c: Cluster, ns: str, name: str) -> None:
    apply(
        c,
        {
            "apiVersion": "compute.kumulus.dev/v1alpha1",
            "kind": "Server",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"flavor": "tiny", "image": "debian-12", "zone": "az1"},
        },
    )


def phase(c: Cluster, ns: str, name: str, want: str, timeout: float = 60) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = get(c, ns, name)
        return obj if (obj.get("status") or {}).get("phase") == want else None

    try:
        result: dict[str, Any] = wait_for(check, timeout=timeout, interval=0.3)
    except Exception:
        raise AssertionError(f"{name} not {want}: {json.dumps(get(c, ns, name).get('status'))}") from None
    return result


def domains(daemon: LibvirtDaemon) -> dict[str, tuple[str, int]]:
    """Every domain of the private libvirtd: uuid -> (name, state)."""
    conn = libvirt.open(daemon.uri)
    try:
        return {d.UUIDString(): (d.name(), d.state()[0]) for d in conn.listAllDomains(0)}
    finally:
        conn.close()


def domain_xml(daemon: LibvirtDaemon, uid: str) -> GuestDomain:
    conn = libvirt.open(daemon.uri)
    try:
        return GuestDomain.from_string(conn.lookupByUUIDString(uid).XMLDesc(0))
    finally:
        conn.close()


def test_server_runs_powers_off_and_on_and_is_deleted(
    cluster: Cluster, daemon: LibvirtDaemon, hostd: Hostd, namespace: str
) -> None:
    create_server(cluster, namespace, "web")
    obj = phase(cluster, namespace, "web", "Running")
    uid = obj["metadata"]["uid"]
    assert obj["status"]["host"] == HOST and obj["status"]["powerState"] == "On"
    assert condition(obj, "Ready")["status"] == "True"
    name, state = domains(daemon)[uid]
    assert name == domain_name(uid) and state == libvirt.VIR_DOMAIN_RUNNING
    dom = domain_xml(daemon, uid)
    assert dom.metadata is not None and (dom.metadata.uid, dom.metadata.namespace, dom.metadata.name) == (
        uid,
        namespace,
        "web",
    )
    assert dom.metadata.host == HOST and dom.virt_type == "qemu"
    vol = get(cluster, namespace, "web-root", "volume")
    disk_file = hostd.state / "volumes" / "volumes" / f"volume-{vol['metadata']['uid']}"
    config_drive = hostd.state / "configdrive" / f"{uid}.img"
    # The boot Volume, then the config drive (a read-only virtio disk, vdz).
    assert [(d.target_dev, d.source_path, d.readonly) for d in dom.disks if d.device == "disk"] == [
        ("vda", str(disk_file), False),
        ("vdz", str(config_drive), True),
    ]
    assert disk_file.stat().st_size == vol["status"]["sizeGiB"] << 30
    assert config_drive.is_file()

    # QEMU dies: reported Crashed on the Server first, then started again (the default policy).
    watch = cluster.kubectl_bg("get", "server", "web", "-n", namespace, "-w", "-o", "json")
    pid = daemon.qemu_pid(domain_name(uid))
    os.kill(pid, signal.SIGKILL)
    pid_file = daemon.run_dir / "qemu" / f"{domain_name(uid)}.pid"
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() not in ("", str(pid)), timeout=30)
    obj = phase(cluster, namespace, "web", "Running")
    watch.terminate()
    seen, _ = watch.communicate(timeout=10)
    assert '"powerState": "Crashed"' in seen and '"reason": "GuestCrashed"' in seen

    patch = json.dumps({"spec": {"powerState": "Off"}})
    cluster.kubectl("patch", "server", "web", "-n", namespace, "--type=merge", "-p", patch)
    obj = phase(cluster, namespace, "web", "Stopped", timeout=SHUTDOWN_TIMEOUT + 30)
    assert obj["status"]["powerState"] == "Off"
    assert domains(daemon)[uid][1] == libvirt.VIR_DOMAIN_SHUTOFF  # ACPI ignored: destroyed at the deadline

    patch = json.dumps({"spec": {"powerState": "On"}})
    cluster.kubectl("patch", "server", "web", "-n", namespace, "--type=merge", "-p", patch)
    phase(cluster, namespace, "web", "Running")
    assert domains(daemon)[uid][1] == libvirt.VIR_DOMAIN_RUNNING

    cluster.kubectl("delete", "server", "web", "-n", namespace, "--wait=false")
    wait_for(lambda: uid not in domains(daemon), timeout=30)
    wait_for(lambda: not (hostd.state / "records" / f"{uid}.json").exists(), timeout=10)
    assert not (hostd.state / "configdrive" / f"{uid}.img").exists()
    wait_for(lambda: get(cluster, namespace, "web") == {}, timeout=30)


def test_kill_hostd_mid_create_leaves_no_duplicate_or_leak(
    cluster: Cluster, daemon: LibvirtDaemon, hostd: Hostd, namespace: str
) -> None:
    before = set(domains(daemon))
    create_server(cluster, namespace, "crash")
    records = hostd.state / "records"

    def recorded() -> str | None:
        obj = get(cluster, namespace, "crash")
        uid = obj.get("metadata", {}).get("uid")
        return uid if uid and (records / f"{uid}.json").exists() else None

    uid = wait_for(recorded, timeout=60, interval=0.02)
    hostd.kill()  # intent recorded, the domain perhaps not defined or not started yet
    hostd.start()
    obj = phase(cluster, namespace, "crash", "Running")
    assert obj["metadata"]["uid"] == uid
    found = domains(daemon)
    ours = {u for u, (name, _) in found.items() if name.startswith("kumulus-")}
    assert ours - before == {uid}  # one domain for the Server, nothing else left
    assert found[uid] == (domain_name(uid), libvirt.VIR_DOMAIN_RUNNING)
    assert {p.stem for p in records.glob("*.json")} == ours

    cluster.kubectl("delete", "server", "crash", "-n", namespace, "--wait=false")
    wait_for(lambda: uid not in domains(daemon), timeout=30)


def domain_id(daemon: LibvirtDaemon, uid: str) -> int:
    """libvirt's id of the running domain: a new one each time it is started."""
    conn = libvirt.open(daemon.uri)
    try:
        return int(conn.lookupByUUIDString(uid).ID())
    finally:
        conn.close()


def patch_spec(c: Cluster, ns: str, name: str, spec: dict[str, Any]) -> None:
    c.kubectl("patch", "server", name, "-n", ns, "--type=merge", "-p", json.dumps({"spec": spec}))


def kumulus_console(c: Cluster, *args: str) -> list[str]:
    return [sys.executable, "-m", "kumulus.cli", "console", *args, "--kubeconfig", str(c.kubeconfig)]


def reasons(c: Cluster, ns: str, name: str) -> list[str]:
    events = json.loads(c.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    ours = [e for e in events if e["involvedObject"]["name"] == name]
    return [e["reason"] for e in sorted(ours, key=lambda e: e["metadata"]["creationTimestamp"])]


def test_power_and_reboot_in_status_and_console(
    cluster: Cluster, daemon: LibvirtDaemon, hostd: Hostd, namespace: str
) -> None:
    create_server(cluster, namespace, "rb")
    obj = phase(cluster, namespace, "rb", "Running")
    uid = obj["metadata"]["uid"]
    log = hostd.state / "console" / f"{uid}.log"
    assert obj["status"]["console"] == {"host": HOST, "path": str(log)}
    assert [c.path for c in domain_xml(daemon, uid).serials] == [str(log)]
    wait_for(log.exists, timeout=10)
    shown = subprocess.run(kumulus_console(cluster, "rb", "-n", namespace), capture_output=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == log.read_bytes()[: len(shown.stdout)]

    # Power off and on, as the status shows them.
    patch_spec(cluster, namespace, "rb", {"powerState": "Off"})
    obj = phase(cluster, namespace, "rb", "Stopped", timeout=SHUTDOWN_TIMEOUT + 30)
    assert obj["status"]["powerState"] == "Off" and condition(obj, "Running")["reason"] == "PoweredOff"
    assert domains(daemon)[uid][1] == libvirt.VIR_DOMAIN_SHUTOFF
    patch_spec(cluster, namespace, "rb", {"powerState": "On"})
    obj = phase(cluster, namespace, "rb", "Running")
    assert obj["status"]["powerState"] == "On" and condition(obj, "Running")["status"] == "True"
    assert domains(daemon)[uid][1] == libvirt.VIR_DOMAIN_RUNNING

    # A soft reboot: SeaBIOS ignores ACPI, so the domain is destroyed at the deadline and started again.
    before_id, before_boot = domain_id(daemon, uid), obj["status"]["bootTime"]
    time.sleep(1.1)  # bootTime has a one-second resolution
    watch = cluster.kubectl_bg("get", "server", "rb", "-n", namespace, "-w", "-o", "json")
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch_spec(cluster, namespace, "rb", {"reboot": {"requestedAt": at, "type": "Soft"}})

    def served() -> dict[str, Any] | None:
        obj = get(cluster, namespace, "rb")
        status = obj.get("status") or {}
        done = (status.get("lastReboot") or {}).get("requestedAt") == at and status.get("phase") == "Running"
        return obj if done else None

    obj = wait_for(served, timeout=SHUTDOWN_TIMEOUT + 30, interval=0.3)
    watch.terminate()
    seen, _ = watch.communicate(timeout=10)
    assert '"phase": "Rebooting"' in seen
    last = obj["status"]["lastReboot"]
    assert (last["type"], last["result"]) == ("Soft", "Rebooted") and last["completedAt"] >= at
    assert obj["status"]["bootTime"] > before_boot
    after_id = domain_id(daemon, uid)
    assert after_id != before_id and domains(daemon)[uid][1] == libvirt.VIR_DOMAIN_RUNNING
    wait_for(lambda: reasons(cluster, namespace, "rb")[-2:] == ["Rebooting", "Rebooted"], timeout=10)

    # hostd killed and restarted: the request is served (status.lastReboot), it is not served again.
    hostd.kill()
    hostd.start()
    time.sleep(4)  # several passes of the restarted hostd (informer synced at once, lease 1 s)
    assert domain_id(daemon, uid) == after_id
    assert get(cluster, namespace, "rb")["status"]["lastReboot"] == last
    assert reasons(cluster, namespace, "rb").count("Rebooting") == 1
    # ... and it serves a new one: a hard reboot.
    hard_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patch_spec(cluster, namespace, "rb", {"reboot": {"requestedAt": hard_at, "type": "Hard"}})

    def hard_served() -> bool:
        return (get(cluster, namespace, "rb")["status"].get("lastReboot") or {}).get("requestedAt") == hard_at

    wait_for(hard_served, timeout=30)
    assert domain_id(daemon, uid) != after_id
    assert hostd.log.read_text().count(f"rebooting {namespace}/rb") == 2

    # kumulus console -f: what is appended to the log is printed; the Server deleted, it stops.
    follower = subprocess.Popen(
        kumulus_console(cluster, "rb", "-n", namespace, "-f"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.5)
        with log.open("ab") as f:  # as the guest's serial port would (QEMU appends to it)
            f.write(b"kumulus-console-marker\n")
        cluster.kubectl("delete", "server", "rb", "-n", namespace, "--wait=false")
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert b"kumulus-console-marker\n" in out
    assert f"server {namespace}/rb is gone".encode() in err
    wait_for(lambda: uid not in domains(daemon), timeout=30)
    assert not log.exists()
