"""OVN I/O: apply the pure Northbound plan (controllers.ovn) to a real OVN Northbound database."""
