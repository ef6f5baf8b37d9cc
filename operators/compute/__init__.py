"""The compute operator: schedules Servers onto Hosts, keeps their Scheduled and Ready conditions, and
marks Hosts whose heartbeats stopped NotReady. `handlers` registers it with kopf (see operators.main)."""
