"""hostd's network role: Open vSwitch bridges and ovn-controller settings, the OVS side of guest NICs,
and this host's OVN chassis health and port bindings. See docs/hostd-network.md."""
