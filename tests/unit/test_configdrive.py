"""hostd/configdrive.py as data: what a Server's config drive says, and that users cannot break out of it."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from hostd.configdrive import (
    MAX_USER_DATA,
    ConfigDriveError,
    ConfigDriveSpec,
    NicConfig,
    digest,
    render,
)

UID = "0b9d4f7e-1111-4c2a-9d3e-5a6b7c8d9e0f"
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
RSA = "ssh-rsa " + "AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + "x" * 700 + "== bob@example.org"
ENV_LINE = re.compile(r"^(#.*|[A-Z][A-Z0-9_]*=[A-Za-z0-9._:/,-]*)$")


def spec(**changes: Any) -> ConfigDriveSpec:
    base: dict[str, Any] = {
        "uid": UID,
        "name": "web-1",
        "namespace": "shop",
        "nics": (
            NicConfig(
                mac="52:54:00:AB:CD:01",
                addresses=("10.0.0.5/24", "fd00:10::5/64"),
                gateways=("10.0.0.1", "fd00:10::1"),
                mtu=1442,
            ),
            NicConfig(mac="52:54:00:ab:cd:02", addresses=("192.168.7.9/28",)),
        ),
        "ssh_keys": (ED25519,),
        "user_data": "#cloud-config\nping: 10.0.0.1\n",
        "nameservers": ("10.0.0.2",),
    }
    base.update(changes)
    return ConfigDriveSpec(**base)


def env_of(files: dict[str, bytes]) -> dict[str, str]:
    lines = files["kumulus.env"].decode().splitlines()
    assert all(ENV_LINE.match(line) for line in lines), lines
    return dict(line.split("=", 1) for line in lines if not line.startswith("#"))


def error(**changes: Any) -> ConfigDriveError:
    with pytest.raises(ConfigDriveError) as info:
        render(spec(**changes))
    return info.value


# -- content ------------------------------------------------------------------------------------------


def test_files_of_the_drive() -> None:
    files = render(spec())
    assert sorted(files) == ["kumulus.env", "meta-data", "network-config", "user-data"]
    assert all(isinstance(v, bytes) for v in files.values())


def test_meta_data_is_nocloud() -> None:
    meta = yaml.safe_load(render(spec())["meta-data"])
    assert meta == {"instance-id": UID, "local-hostname": "web-1", "public-keys": [ED25519]}


def test_meta_data_without_keys_has_no_key_list() -> None:
    meta = yaml.safe_load(render(spec(ssh_keys=()))["meta-data"])
    assert "public-keys" not in meta


def test_network_config_v2_matches_nics_by_mac() -> None:
    net = yaml.safe_load(render(spec())["network-config"])
    assert net == {
        "version": 2,
        "ethernets": {
            "eth0": {
                "match": {"macaddress": "52:54:00:ab:cd:01"},
                "set-name": "eth0",
                "addresses": ["10.0.0.5/24", "fd00:10::5/64"],
                "routes": [{"to": "0.0.0.0/0", "via": "10.0.0.1"}, {"to": "::/0", "via": "fd00:10::1"}],
                "mtu": 1442,
                "nameservers": {"addresses": ["10.0.0.2"]},
            },
            "eth1": {
                "match": {"macaddress": "52:54:00:ab:cd:02"},
                "set-name": "eth1",
                "addresses": ["192.168.7.9/28"],
            },
        },
    }


def test_a_nic_without_addresses_is_left_unconfigured() -> None:
    net = yaml.safe_load(
        render(spec(nics=(NicConfig(mac="52:54:00:00:00:01"),), nameservers=()))["network-config"]
    )
    assert net["ethernets"]["eth0"] == {
        "match": {"macaddress": "52:54:00:00:00:01"},
        "set-name": "eth0",
        "dhcp4": False,
    }


def test_all_digit_mac_stays_a_string_in_yaml() -> None:
    # 52:54:00:12:34:56 would be a base-60 integer to a YAML 1.1 reader if it were not quoted.
    files = render(spec(nics=(NicConfig(mac="52:54:00:12:34:56", addresses=("10.0.0.5/24",)),)))
    net = yaml.safe_load(files["network-config"])
    assert net["ethernets"]["eth0"]["match"]["macaddress"] == "52:54:00:12:34:56"


def test_kumulus_env_is_the_guest_contract() -> None:
    assert env_of(render(spec())) == {
        "KUMULUS_ENV_VERSION": "1",
        "INSTANCE_ID": UID,
        "SERVER_NAME": "web-1",
        "SERVER_NAMESPACE": "shop",
        "HOSTNAME": "web-1",
        "NIC_COUNT": "2",
        "NIC0_MAC": "52:54:00:ab:cd:01",
        "NIC0_ADDRESSES": "10.0.0.5/24,fd00:10::5/64",
        "NIC0_GATEWAY4": "10.0.0.1",
        "NIC0_GATEWAY6": "fd00:10::1",
        "NIC0_MTU": "1442",
        "NIC1_MAC": "52:54:00:ab:cd:02",
        "NIC1_ADDRESSES": "192.168.7.9/28",
        "NIC1_GATEWAY4": "",
        "NIC1_GATEWAY6": "",
        "NIC1_MTU": "",
        "NAMESERVERS": "10.0.0.2",
    }


def test_hostname_defaults_to_the_name_and_can_be_set() -> None:
    assert env_of(render(spec()))["HOSTNAME"] == "web-1"
    files = render(spec(hostname="web-1.shop.example"))
    assert env_of(files)["HOSTNAME"] == "web-1.shop.example"
    assert yaml.safe_load(files["meta-data"])["local-hostname"] == "web-1.shop.example"


def test_user_data_is_passed_through_byte_for_byte() -> None:
    blob = bytes(range(256)) * 4  # e.g. gzip-compressed user data
    assert render(spec(user_data=blob))["user-data"] == blob
    assert render(spec(user_data="#!/bin/sh\necho é\n"))["user-data"] == "#!/bin/sh\necho é\n".encode()
    assert render(spec(user_data=None))["user-data"] == b""


def test_user_data_limit() -> None:
    assert len(render(spec(user_data=b"x" * MAX_USER_DATA))["user-data"]) == MAX_USER_DATA
    assert error(user_data=b"x" * (MAX_USER_DATA + 1)).field == "userData"


def test_render_is_deterministic_and_digest_follows_content() -> None:
    assert render(spec()) == render(spec())
    assert digest(render(spec())) == digest(render(spec()))
    assert digest(render(spec())) != digest(render(spec(user_data="other")))
    # Names count, not only bytes: moving content between files changes the digest.
    assert digest({"a": b"xy", "b": b""}) != digest({"a": b"x", "b": b"y"})


# -- escaping and validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostname",
    [
        "web;reboot",
        "$(reboot)",
        "`id`",
        "web 1",
        "Web-1",
        "web\n1",
        "-web",
        "web-",
        "a" * 64,
        "a." * 127 + "a",
        "",
        "web_1",
        "web..1",
        "'x'",
    ],
)
def test_bad_hostnames_are_refused(hostname: str) -> None:
    err = error(hostname=hostname)
    assert err.field == "hostname"
    assert "hostname" in str(err)


def test_a_name_that_is_no_hostname_needs_a_hostname() -> None:
    assert error(name="a" * 64).field == "name"
    assert env_of(render(spec(name="a" * 64, hostname="short")))["HOSTNAME"] == "short"


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("uid", {"uid": "x;y"}),
        ("uid", {"uid": ""}),
        ("name", {"name": "Web$1", "hostname": "web"}),
        ("namespace", {"namespace": "shop\nHOSTNAME=evil"}),
        ("nics[0].mac", {"nics": (NicConfig(mac="52:54:00:ab:cd"),)}),
        ("nics[0].mac", {"nics": (NicConfig(mac="52:54:00:ab:cd:01\nX=1"),)}),
        ("nics[0].mac", {"nics": (NicConfig(mac="01:00:5e:00:00:01"),)}),
        ("nics[1].mac", {"nics": (NicConfig(mac="52:54:00:00:00:01"), NicConfig(mac="52:54:00:00:00:01"))}),
        ("nics[0].addresses[0]", {"nics": (NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.5",)),)}),
        (
            "nics[0].addresses[0]",
            {"nics": (NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.5/24;x",)),)},
        ),
        (
            "nics[0].addresses[0]",
            {"nics": (NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.255/24",)),)},
        ),
        (
            "nics[0].addresses[1]",
            {"nics": (NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.5/24", "10.0.0.5/16")),)},
        ),
        (
            "nics[0].gateways[0]",
            {
                "nics": (
                    NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.5/24",), gateways=("10.1.0.1",)),
                )
            },
        ),
        (
            "nics[0].gateways[0]",
            {
                "nics": (
                    NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.5/24",), gateways=("10.0.0.5",)),
                )
            },
        ),
        (
            "nics[0].gateways[1]",
            {
                "nics": (
                    NicConfig(
                        mac="52:54:00:00:00:01", addresses=("10.0.0.5/24",), gateways=("10.0.0.1", "10.0.0.2")
                    ),
                )
            },
        ),
        ("nics[0].gateways[0]", {"nics": (NicConfig(mac="52:54:00:00:00:01", gateways=("gw",)),)}),
        ("nics[0].mtu", {"nics": (NicConfig(mac="52:54:00:00:00:01", mtu=100),)}),
        ("nics[0].mtu", {"nics": (NicConfig(mac="52:54:00:00:00:01", mtu=True),)}),
        ("nics[0].mtu", {"nics": (NicConfig(mac="52:54:00:00:00:01", addresses=("fd00::5/64",), mtu=1000),)}),
        ("nics", {"nics": tuple(NicConfig(mac=f"52:54:00:00:00:{i:02x}") for i in range(17))}),
        ("sshKeys[0]", {"ssh_keys": ("not a key",)}),
        ("sshKeys[0]", {"ssh_keys": ("ssh-ed25519 AAAA$(reboot) x",)}),
        ("sshKeys[1]", {"ssh_keys": (ED25519, ED25519 + "\nssh-ed25519 AAAA evil")}),
        ("sshKeys", {"ssh_keys": (ED25519,) * 33}),
        ("nameservers[0]", {"nameservers": ("dns.example",)}),
        ("nameservers", {"nameservers": ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")}),
    ],
)
def test_bad_input_names_the_field(field: str, changes: dict[str, Any]) -> None:
    err = error(**changes)
    assert err.field == field
    assert str(err).startswith(f"{field}: ")


def test_mtu_bounds() -> None:
    nic = NicConfig(mac="52:54:00:00:00:01", addresses=("10.0.0.5/24",), mtu=576)
    assert env_of(render(spec(nics=(nic,))))["NIC0_MTU"] == "576"
    assert error(nics=(NicConfig(mac="52:54:00:00:00:01", mtu=9217),)).field == "nics[0].mtu"


def test_ssh_key_comments_are_made_plain() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqq carol: #admin 'x' \"y\" $(reboot) é"
    files = render(spec(ssh_keys=(key,)))
    stored = yaml.safe_load(files["meta-data"])["public-keys"]
    assert stored == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqq carol___admin__x___y____reboot___"]


@pytest.mark.parametrize("key", [ED25519, RSA, "ecdsa-sha2-nistp256 AAAAE2VjZHNh", "ssh-ed25519 AAAAC3Nz"])
def test_each_key_is_one_plain_yaml_line(key: str) -> None:
    # The guest's shell reads `- <key>` lines after `public-keys:`: no quoting, no folding.
    text = render(spec(ssh_keys=(key, ED25519)))["meta-data"].decode()
    assert f"\n- {key}\n- {ED25519}\n" in text


def test_user_data_never_reaches_kumulus_env() -> None:
    files = render(spec(user_data="HOSTNAME=evil\n$(reboot)\n"))
    assert "evil" not in files["kumulus.env"].decode()
    assert env_of(files)["HOSTNAME"] == "web-1"


def test_every_env_value_is_quote_free_for_many_inputs() -> None:
    variants = [
        spec(),
        spec(hostname="a-1.b-2.c", nameservers=("fd00::53", "10.0.0.53")),
        spec(
            nics=(
                NicConfig(
                    mac="02:00:00:00:00:01", addresses=("fd00:1:2:3::9/64",), gateways=("fd00:1:2:3::1",)
                ),
            )
        ),
        spec(nics=(), ssh_keys=(), user_data=None, nameservers=()),
    ]
    for s in variants:
        env_of(render(s))  # asserts each line against the guest's accepted character set
