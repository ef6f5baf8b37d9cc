"""hostd's settings for one host, and the layout of `--sim-hosts N` simulated hosts."""

from __future__ import annotations

from dataclasses import dataclass, replace

from controllers.api.infra import HostRole

SIM_ZONES = ("az1", "az2", "az3", "sz1")
SIM_SITES = {"az1": "dc1", "az2": "dc2", "az3": "dc3"}
STRETCHED_SITES = ("dc1", "dc2", "dc3")


@dataclass(frozen=True, slots=True)
class HostConfig:
    name: str
    zone: str = "az1"
    site: str = "dc1"
    roles: tuple[HostRole, ...] = (HostRole.COMPUTE,)
    driver: str = "sim"
    vcpus: int = 64
    ram_mib: int = 262144
    disk_gib: int = 2000
    traits: tuple[str, ...] = ()
    boot_delay: float = 0.5
    lease_seconds: float = 10.0

    @property
    def capacity(self) -> tuple[int, int, int]:
        return (self.vcpus, self.ram_mib, self.disk_gib)


def parse_roles(text: str) -> tuple[HostRole, ...]:
    """ "compute,network" -> (Compute, Network); raises ValueError on an unknown role."""
    by_name = {r.value.lower(): r for r in HostRole}
    roles = []
    for part in text.split(","):
        part = part.strip().lower()
        if part:
            if part not in by_name:
                raise ValueError(f"unknown role {part!r} (known: compute, network, storage)")
            roles.append(by_name[part])
    if not roles:
        raise ValueError("at least one role is needed")
    return tuple(dict.fromkeys(roles))


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def sim_hosts(count: int, template: HostConfig) -> list[HostConfig]:
    """`count` hosts spread round-robin over az1, az2, az3 and the stretched sz1 (whose hosts are spread
    over dc1..dc3), named sim-<zone>-<i> with i counting from 1 in each zone."""
    out = []
    for i in range(count):
        zone = SIM_ZONES[i % len(SIM_ZONES)]
        nth = i // len(SIM_ZONES)
        site = SIM_SITES.get(zone) or STRETCHED_SITES[nth % len(STRETCHED_SITES)]
        out.append(replace(template, name=f"sim-{zone}-{nth + 1}", zone=zone, site=site))
    return out
