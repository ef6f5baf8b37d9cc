"""Pure reconcile logic and API models of Kumulus: no I/O happens here."""
