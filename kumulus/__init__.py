"""Kumulus: the command line and the embedded Kubernetes-compatible control plane."""

__version__ = "0.1.0"
