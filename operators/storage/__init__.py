"""The storage operator (Cinder): Volume and VolumeSnapshot lifecycles, attachment rules, deletion blocking
and boot volumes for Servers booting from an image. It decides (controllers.storage_plan); a storage
backend does the Ceph work (`backend.StorageBackend`: simulated, or the storage-role hostds' reports with
KUMULUS_STORAGE_BACKEND=hostd).
`handlers` registers it with kopf (see operators.main)."""
