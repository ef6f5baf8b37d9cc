"""kopf operators that wire the pure controllers to the Kubernetes API."""
