"""The image side of the storage operator (Glance): Images and ClusterImages imported into every zone's
storage. The storage operator plans them (they share its backend and world); this package registers their
watch events with kopf (see operators.main)."""
