"""The storage role of hostd: disk images and volumes on Ceph RBD (one active storage host per zone).

image_fetch downloads an image file (size limit, SHA-256), image_inspect decides its real format and refuses
the dangerous ones before qemu-img reads it, plan turns (desired, observed RBD images) into commands as data,
and rbd_store observes the pools and applies those commands through librbd and qemu-img.
"""
