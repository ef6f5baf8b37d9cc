"""The real data plane `kumulus up` runs on this machine: libvirtd (TCG), Open vSwitch, OVN and a one-OSD Ceph.

One module per daemon family (libvirt, ovs, ovn, ceph), each a list of `Service`s; `supervisor` starts them
detached under <state dir>/dataplane/<name>/, records them in daemons.json, adopts them after a crash of
`kumulus up`, and stops them by PID. docs/dataplane.md describes the layout.
"""
