"""Manifests of the guest end-to-end tests and the boot benchmark: one zone (az1, Ceph pool `volumes`),
a tiny flavor, the test guest image as an Image, a network with an IPv4 subnet, and two SecurityGroups
(`open` lets ICMP in, `closed` nothing); `server()` writes a Server booting from that Image."""

from __future__ import annotations

SUBNET = "10.77.0"

INFRA = """
apiVersion: infra.kumulus.dev/v1alpha1
kind: Zone
metadata: {name: az1}
spec: {type: Physical, sites: [dc1], cephPool: volumes}
---
apiVersion: compute.kumulus.dev/v1alpha1
kind: Flavor
metadata: {name: kt.tiny}
spec: {vcpus: 1, ramMiB: 128, diskGiB: 1}
---
apiVersion: storage.kumulus.dev/v1alpha1
kind: VolumeType
metadata: {name: standard}
spec:
  isDefault: true
  backends:
    - {zone: az1, pool: volumes}
---
apiVersion: image.kumulus.dev/v1alpha1
kind: Image
metadata: {name: guest, namespace: default}
spec:
  source: {url: "URL"}
  diskFormat: raw
  sha256: SHA256
---
apiVersion: network.kumulus.dev/v1alpha1
kind: Network
metadata: {name: net1, namespace: default}
spec: {mtu: 1442}
---
apiVersion: network.kumulus.dev/v1alpha1
kind: Subnet
metadata: {name: net1-v4, namespace: default}
spec:
  network: net1
  cidr: SUBNET.0/24
  ipVersion: 4
  gatewayIP: SUBNET.1
  allocationPools: [{start: SUBNET.10, end: SUBNET.100}]
---
apiVersion: network.kumulus.dev/v1alpha1
kind: SecurityGroup
metadata: {name: open, namespace: default}
spec:
  rules:
    - {direction: Ingress, protocol: icmp, remoteCIDR: 0.0.0.0/0}
    - {direction: Egress, ethertype: IPv4}
---
apiVersion: network.kumulus.dev/v1alpha1
kind: SecurityGroup
metadata: {name: closed, namespace: default}
spec:
  rules:
    - {direction: Egress, ethertype: IPv4}
"""


def server(name: str, group: str, user_data: str = "", fixed_ip: str = "", port: str = "") -> str:
    """A Server from the guest Image with one NIC on net1 in `group`, or bound to an existing `port`."""
    nic = f"{{network: net1, securityGroups: [{group}]" + (f", fixedIP: {fixed_ip}" if fixed_ip else "") + "}"
    if port:
        nic = f"{{port: {port}}}"
    body = f"""
apiVersion: compute.kumulus.dev/v1alpha1
kind: Server
metadata: {{name: {name}, namespace: default}}
spec:
  flavor: kt.tiny
  image: guest
  zone: az1
  networks: [{nic}]
"""
    if user_data:
        body += f"""  userData: {{secretName: {name}-user-data}}
---
apiVersion: v1
kind: Secret
metadata: {{name: {name}-user-data, namespace: default}}
stringData:
  userData: |
"""
        body += "".join(f"    {line}\n" for line in user_data.splitlines())
    return body


def infra(url: str, sha256: str) -> str:
    return INFRA.replace("URL", url).replace("SHA256", sha256).replace("SUBNET", SUBNET)


def unsecured_port(name: str) -> str:
    """A Port on net1 without port security (and so without security groups): it may send from any source."""
    return f"""
apiVersion: network.kumulus.dev/v1alpha1
kind: Port
metadata: {{name: {name}, namespace: default}}
spec: {{network: net1, portSecurity: false, securityGroups: []}}
---
"""
