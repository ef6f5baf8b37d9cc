"""The network operator (Neutron on OVN): IPAM through claims, statuses, Ports for Servers' NICs, deletion
blocking, and the OVN Northbound database kept equal to what the network objects call for. `handlers`
registers it with kopf (see operators.main)."""
