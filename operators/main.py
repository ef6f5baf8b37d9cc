"""`python -m operators.main`: the Kumulus operators in one kopf process (started by `kumulus up`).

Cluster-wide, standalone (no kopf peering objects), logged in from $KUBECONFIG. $KUMULUS_STORAGE_BACKEND
picks the storage backend: `sim` (default) or `hostd` (the storage-role hostds' reports). With --metrics-port, every
operator's metrics are served at http://ADDRESS:PORT/metrics (operators.metrics; docs/observability.md).
"""

from __future__ import annotations

import argparse
import logging
import os

import kopf

from operators.compute import handlers  # noqa: F401 - registers the compute handlers
from operators.compute.operator import Options
from operators.image import handlers as image_handlers  # noqa: F401 - registers the image handlers
from operators.metrics import serve
from operators.network import handlers as network_handlers  # noqa: F401 - registers the network handlers
from operators.quota import handlers as quota_handlers  # noqa: F401 - registers the quota webhook and handlers
from operators.storage import handlers as storage_handlers  # noqa: F401 - registers the storage handlers
from operators.storage.operator import backend_name


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m operators.main")
    parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics (0: off)")
    parser.add_argument("--metrics-address", default="0.0.0.0", help="the metrics server's address")
    parser.add_argument(
        "--resync-seconds",
        type=float,
        default=float(os.environ.get("KUMULUS_RESYNC_SECONDS", "30")),
        help="plan every Server this often (default 30, or $KUMULUS_RESYNC_SECONDS)",
    )
    parser.add_argument("--heartbeat-seconds", type=float, default=5.0, help="check Host Leases this often")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    try:
        backend_name()  # a bad $KUMULUS_STORAGE_BACKEND stops here, not in a startup handler kopf retries
    except ValueError as exc:
        raise SystemExit(f"operators: {exc}") from None
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # kopf logs every handler call at INFO; failures still show
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if args.metrics_port:
        serve(args.metrics_port, args.metrics_address)
    options = Options(resync=args.resync_seconds, heartbeat=args.heartbeat_seconds)
    kopf.run(standalone=True, clusterwide=True, memo=kopf.Memo(options=options))


if __name__ == "__main__":
    main()
