"""libvirt specifics of hostd: domain XML config classes (config*.py), the per-device builders that turn a
guest plan into them (builders.py), and the resolver that makes a plan from a Server (resolver.py).

Only hostd/drivers/libvirt.py talks to libvirtd; everything here is pure and unit-tested.
"""
