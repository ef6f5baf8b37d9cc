"""An embedded, Kubernetes-API-compatible server: SQLite storage, CRDs, watch, validation."""
