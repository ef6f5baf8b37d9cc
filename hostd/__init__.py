"""The privileged host daemon that applies decisions to libvirt, OVS/OVN and Ceph."""
