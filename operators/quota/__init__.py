"""The quota operator: one Quota per namespace across compute, network and storage, enforced at admission
by a validating webhook served from the operator process, with each Quota's status.used kept current."""
