"""Quota arithmetic: limits of a namespace, usage, the deltas of admission requests, violations."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.api.infra import QuotaLimits, QuotaSpec, QuotaUsage
from controllers.quota import (
    UNLIMITED,
    FlavorSize,
    Limits,
    UnknownFlavor,
    Usage,
    Violation,
    check,
    cost_of,
    delta_of,
    effective_limits,
    flavor_sizes,
    usage_of,
    violation_message,
    volume_sizes,
)

FLAVORS = {
    "m1.small": FlavorSize(vcpus=1, ram_mib=2048, disk_gib=20),
    "m1.large": FlavorSize(vcpus=4, ram_mib=8192, disk_gib=80),
}


def obj(kind: str, name: str, spec: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    group = {
        "Server": "compute",
        "KeyPair": "compute",
        "ServerGroup": "compute",
        "Volume": "storage",
        "VolumeSnapshot": "storage",
        "LoadBalancer": "loadbalancer",
        "Quota": "infra",
    }.get(kind, "network")
    return {
        "apiVersion": f"{group}.kumulus.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "team-a", **extra.pop("metadata", {})},
        "spec": spec or {},
        **extra,
    }


def server(name: str = "web-1", flavor: str = "m1.small", **spec: Any) -> dict[str, Any]:
    status = spec.pop("status", None)
    o = obj("Server", name, {"flavor": flavor, "bootVolume": "boot", **spec})
    if status is not None:
        o["status"] = status
    return o


def quota(name: str = "default", **limits: int) -> dict[str, Any]:
    return obj("Quota", name, {"limits": limits})


# -- the resources match the API ------------------------------------------------------------------------


def test_resources_are_those_of_the_quota_model() -> None:
    wire = [k for k, _ in Usage().items()]
    assert wire == [f.alias or n for n, f in QuotaLimits.model_fields.items()]
    assert wire == [f.alias or n for n, f in QuotaUsage.model_fields.items()]
    QuotaUsage.model_validate(Usage(cores=3, routers=-1).to_status())


# -- limits ---------------------------------------------------------------------------------------------


def test_a_namespace_without_quota_has_the_defaults() -> None:
    limits = effective_limits([])
    assert limits == Limits.defaults()
    assert limits["instances"] == 10 and limits["routers"] == 1 and limits["ramMiB"] == 51200


def test_unset_limits_take_their_defaults() -> None:
    limits = effective_limits([quota(instances=40, cores=80)])
    assert (limits["instances"], limits["cores"], limits["volumes"]) == (40, 80, 10)
    assert effective_limits([QuotaSpec()]) == Limits.defaults()


def test_several_quotas_the_strictest_limit_applies() -> None:
    limits = effective_limits(
        [
            quota("compute", instances=40, cores=UNLIMITED, routers=UNLIMITED),
            quota("team", instances=5, cores=UNLIMITED, routers=UNLIMITED),
            quota("network", instances=UNLIMITED, cores=UNLIMITED, routers=3),
        ]
    )
    assert limits["instances"] == 5
    assert limits["cores"] == UNLIMITED  # unlimited only if every Quota says so
    assert limits["routers"] == 3
    assert limits["volumes"] == 10  # each Quota leaves it at the default
    # A Quota leaving a limit unset holds it to the default, stricter than another's -1.
    assert effective_limits([quota(cores=UNLIMITED), quota()])["cores"] == 20


# -- usage ----------------------------------------------------------------------------------------------


def namespace() -> dict[str, list[dict[str, Any]]]:
    return {
        "Server": [server("a"), server("b", "m1.large")],
        "Volume": [obj("Volume", "data", {"sizeGiB": 20}), obj("Volume", "logs", {"sizeGiB": 5})],
        "VolumeSnapshot": [
            obj("VolumeSnapshot", "s1", {"volume": "data"}, status={"sizeGiB": 15}),
            obj("VolumeSnapshot", "s2", {"volume": "data"}),  # not taken yet: the volume's size
        ],
        "Network": [obj("Network", "private")],
        "Subnet": [obj("Subnet", "v4"), obj("Subnet", "v6")],
        "Port": [obj("Port", f"p{i}") for i in range(3)],
        "Router": [obj("Router", "router", {"interfaces": [{"subnet": "v4"}]})],
        "FloatingIP": [obj("FloatingIP", "fip")],
        "SecurityGroup": [
            obj("SecurityGroup", "default", {"rules": [{"direction": "Egress"}] * 2}),
            obj("SecurityGroup", "web", {"rules": [{"direction": "Ingress"}] * 3}),
            obj("SecurityGroup", "empty"),
        ],
        "LoadBalancer": [obj("LoadBalancer", "lb", {"vipSubnet": "v4"})],
        "KeyPair": [obj("KeyPair", "alice"), obj("KeyPair", "bob")],
        "ServerGroup": [obj("ServerGroup", "db", {"policy": "AntiAffinity"})],
        "Image": [obj("Image", "debian")],  # not under quota
    }


def test_usage_counts_every_resource() -> None:
    assert usage_of(namespace(), FLAVORS) == Usage(
        instances=2,
        cores=5,
        ram_mib=10240,
        volumes=2,
        gigabytes=20 + 5 + 15 + 20,
        snapshots=2,
        networks=1,
        subnets=2,
        ports=3,
        routers=1,
        floating_ips=1,
        security_groups=3,
        security_group_rules=5,
        load_balancers=1,
        key_pairs=2,
        server_groups=1,
    )


def test_objects_being_deleted_still_count() -> None:
    objs = namespace()
    for kind in objs.values():
        for o in kind:
            o["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    assert usage_of(objs, FLAVORS) == usage_of(namespace(), FLAVORS)


def test_objects_of_other_groups_cost_nothing() -> None:
    csi = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"name": "x"}}
    assert cost_of("VolumeSnapshot", csi, FLAVORS) == Usage()
    assert cost_of("ConfigMap", {"apiVersion": "v1", "metadata": {"name": "x"}}, FLAVORS) == Usage()


def test_a_server_being_resized_holds_the_larger_flavor() -> None:
    resizing = server(flavor="m1.small", resize={"flavor": "m1.large"}, status={"flavor": "m1.small"})
    assert cost_of("Server", resizing, FLAVORS) == Usage(instances=1, cores=4, ram_mib=8192)
    down = server(flavor="m1.large", resize={"flavor": "m1.small"}, status={"flavor": "m1.large"})
    assert cost_of("Server", down, FLAVORS) == Usage(instances=1, cores=4, ram_mib=8192)
    done = server(flavor="m1.large", resize={"flavor": "m1.small"}, status={"flavor": "m1.small"})
    assert cost_of("Server", done, FLAVORS) == Usage(instances=1, cores=1, ram_mib=2048)


def test_a_server_of_a_deleted_flavor_still_counts_as_an_instance() -> None:
    assert usage_of({"Server": [server(flavor="gone")]}, FLAVORS) == Usage(instances=1)


def test_lookups_from_objects() -> None:
    flavors = flavor_sizes([obj("Flavor", "m1.tiny", {"vcpus": 1, "ramMiB": 512})])
    assert flavors == {"m1.tiny": FlavorSize(vcpus=1, ram_mib=512, disk_gib=0)}
    assert volume_sizes([obj("Volume", "data", {"sizeGiB": 20})]) == {"data": 20}


# -- deltas of admission requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "o", "expected"),
    [
        ("Volume", obj("Volume", "v", {"sizeGiB": 20}), Usage(volumes=1, gigabytes=20)),
        ("VolumeSnapshot", obj("VolumeSnapshot", "s", {"volume": "data"}), Usage(snapshots=1, gigabytes=30)),
        ("Network", obj("Network", "n"), Usage(networks=1)),
        ("Subnet", obj("Subnet", "s"), Usage(subnets=1)),
        ("Port", obj("Port", "p"), Usage(ports=1)),
        ("Router", obj("Router", "r"), Usage(routers=1)),
        ("FloatingIP", obj("FloatingIP", "f"), Usage(floating_ips=1)),
        (
            "SecurityGroup",
            obj("SecurityGroup", "g", {"rules": [{"direction": "Egress"}] * 4}),
            Usage(security_groups=1, security_group_rules=4),
        ),
        ("LoadBalancer", obj("LoadBalancer", "l"), Usage(load_balancers=1)),
        ("KeyPair", obj("KeyPair", "k"), Usage(key_pairs=1)),
        ("ServerGroup", obj("ServerGroup", "g"), Usage(server_groups=1)),
        ("Server", server(), Usage(instances=1, cores=1, ram_mib=2048)),
        ("Image", obj("Image", "i"), Usage()),
    ],
)
def test_create_costs(kind: str, o: dict[str, Any], expected: Usage) -> None:
    assert delta_of(kind, o, flavors=FLAVORS, volumes={"data": 30}) == expected


def test_a_server_is_also_charged_for_its_boot_volume_and_nic_ports() -> None:
    from_image = obj(
        "Server",
        "web",
        {"flavor": "m1.small", "image": "debian-12", "networks": [{"network": "private"}, {"port": "mine"}]},
    )
    assert delta_of("Server", from_image, flavors=FLAVORS) == Usage(
        instances=1, cores=1, ram_mib=2048, ports=1, volumes=1, gigabytes=20
    )
    from_image["spec"]["rootDisk"] = {"sizeGiB": 50}
    assert delta_of("Server", from_image, flavors=FLAVORS).gigabytes == 50
    # The Volume and Port the operators then create are counted as themselves, not as the Server.
    assert usage_of({"Server": [from_image]}, FLAVORS) == Usage(instances=1, cores=1, ram_mib=2048)


def test_a_router_is_charged_for_its_interface_ports() -> None:
    r = obj("Router", "r", {"interfaces": [{"subnet": "a"}, {"subnet": "b"}]})
    assert delta_of("Router", r, flavors=FLAVORS) == Usage(routers=1, ports=2)
    grown = obj("Router", "r", {"interfaces": [{"subnet": "a"}, {"subnet": "b"}, {"subnet": "c"}]})
    assert delta_of("Router", grown, r, flavors=FLAVORS) == Usage(ports=1)


def test_volume_grown_adds_the_difference() -> None:
    old, new = obj("Volume", "v", {"sizeGiB": 20}), obj("Volume", "v", {"sizeGiB": 50})
    assert delta_of("Volume", new, old, flavors=FLAVORS) == Usage(gigabytes=30)
    assert delta_of("Volume", old, old, flavors=FLAVORS) == Usage()


def test_security_group_rules_added_and_removed() -> None:
    old = obj("SecurityGroup", "g", {"rules": [{"direction": "Egress"}] * 4})
    new = obj("SecurityGroup", "g", {"rules": [{"direction": "Egress"}] * 1})
    assert delta_of("SecurityGroup", new, old, flavors=FLAVORS) == Usage(security_group_rules=-3)
    assert delta_of("SecurityGroup", old, new, flavors=FLAVORS) == Usage(security_group_rules=3)


def test_server_resize_up_and_down() -> None:
    running = server(status={"flavor": "m1.small"})
    up = server(resize={"flavor": "m1.large"}, status={"flavor": "m1.small"})
    assert delta_of("Server", up, running, flavors=FLAVORS) == Usage(cores=3, ram_mib=6144)
    big = server("b", "m1.large", status={"flavor": "m1.large"})
    down = server("b", "m1.large", resize={"flavor": "m1.small"}, status={"flavor": "m1.large"})
    assert delta_of("Server", down, big, flavors=FLAVORS) == Usage()


def test_resize_to_an_unknown_flavor_is_refused_but_old_unknown_flavors_are_not() -> None:
    with pytest.raises(UnknownFlavor, match=r'flavor "m9\.huge" not found'):
        delta_of("Server", server(resize={"flavor": "m9.huge"}), server(), flavors=FLAVORS)
    with pytest.raises(UnknownFlavor):
        delta_of("Server", server(flavor="m9.huge"), flavors=FLAVORS)
    gone = server(flavor="retired")
    assert delta_of("Server", gone, gone, flavors=FLAVORS) == Usage()


# -- checks and messages --------------------------------------------------------------------------------


def test_check_names_the_resource_limit_and_usage() -> None:
    limits = effective_limits([])
    violations = check(limits, Usage(routers=1), Usage(routers=1))
    assert violations == [Violation("routers", 1, 1, 1)]
    assert (
        violation_message("team-a", violations)
        == 'quota exceeded in namespace "team-a": routers: limit 1, used 1, requested 1'
    )


def test_check_lists_every_resource_exceeded() -> None:
    limits = effective_limits([quota(instances=2, cores=4)])
    delta = delta_of("Server", server(flavor="m1.large"), flavors=FLAVORS)
    violations = check(limits, Usage(instances=2, cores=1, ram_mib=2048), delta)
    assert violation_message("team-a", violations) == (
        'quota exceeded in namespace "team-a": instances: limit 2, used 2, requested 1; '
        "cores: limit 4, used 1, requested 4"
    )


def test_a_request_that_fits_exactly_passes() -> None:
    limits = effective_limits([quota(gigabytes=100)])
    assert check(limits, Usage(gigabytes=70), Usage(volumes=1, gigabytes=30)) == []
    assert check(limits, Usage(gigabytes=71), Usage(volumes=1, gigabytes=30)) == [
        Violation("gigabytes", 100, 71, 30)
    ]


def test_unlimited() -> None:
    limits = effective_limits([quota(routers=UNLIMITED)])
    assert check(limits, Usage(routers=10_000), Usage(routers=1)) == []


def test_zero_limits_refuse_any_increase() -> None:
    limits = effective_limits([quota(floatingIPs=0)])
    assert check(limits, Usage(), Usage(floating_ips=1)) == [Violation("floatingIPs", 0, 0, 1)]
    assert check(limits, Usage(), Usage(networks=1)) == []


def test_decreases_pass_even_above_a_lowered_limit() -> None:
    limits = effective_limits([quota(securityGroupRules=2)])
    assert check(limits, Usage(security_group_rules=10), Usage(security_group_rules=-3)) == []
    assert check(limits, Usage(cores=100), Usage()) == []


# -- reservations ---------------------------------------------------------------------------------------


def test_reserve_and_release_in_flight_admissions() -> None:
    limits = effective_limits([quota(instances=2)])
    used, reserved = Usage(instances=1), Usage()
    first = Usage(instances=1, cores=1)
    assert check(limits, used + reserved, first) == []
    reserved = reserved.reserve(first)
    # A concurrent second create sees the first one's reservation and is refused.
    assert check(limits, used + reserved, Usage(instances=1)) == [Violation("instances", 2, 2, 1)]
    reserved = reserved.release(first)
    assert reserved == Usage()


def test_reservations_ignore_decreases_and_never_go_negative() -> None:
    shrink = Usage(security_group_rules=-3, gigabytes=5)
    assert Usage().reserve(shrink) == Usage(gigabytes=5)
    assert Usage().release(Usage(instances=1)) == Usage()


def test_wire_round_trip() -> None:
    u = Usage(ram_mib=4096, floating_ips=2)
    assert u.to_wire()["ramMiB"] == 4096 and u["floatingIPs"] == 2
    assert Usage.from_wire(u.to_wire()) == u
    with pytest.raises(KeyError, match="bogus"):
        Usage.from_wire({"bogus": 1})
