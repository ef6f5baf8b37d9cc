"""The `kumulus` command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kumulus", description="Kumulus, a Kubernetes-native IaaS.")
    parser.add_argument("--version", action="version", version=f"kumulus {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_up = sub.add_parser("up", help="run the whole cloud on this machine")
    from .up import DEFAULT_STATE_DIR, PROJECT_CRDS

    p_up.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where objects, tokens, certificates and the kubeconfig live (default: %(default)s)",
    )
    p_up.add_argument("--port", type=int, default=6443, help="API server port (default: %(default)s)")
    p_up.add_argument("--address", default="127.0.0.1", help="API server address (default: %(default)s)")
    p_up.add_argument(
        "--crds-dir", type=Path, default=PROJECT_CRDS, help="CRDs to install (default: %(default)s)"
    )
    p_up.add_argument(
        "--components",
        default="operators,hostd",
        help="child components to run, comma-separated, or 'none' for the API server alone (default: %(default)s)",
    )
    p_up.add_argument(
        "--sim-hosts", type=int, default=0, help="also run N simulated hosts (default: %(default)s)"
    )

    p_up.add_argument(
        "--data-plane",
        choices=("auto", "real", "sim"),
        default="auto",
        help="real: start libvirtd, OVS, OVN and Ceph here and run hostd on them; sim: simulated hosts only; "
        "auto: real when the packages are installed, we are root, hostd runs and no --sim-hosts "
        "(default: %(default)s)",
    )

    p_console = sub.add_parser(
        "console",
        help="print a Server's serial console log (-f: follow it)",
        description="Print the serial console log of a Server whose host is this machine (status.console "
        "says where hostd logs it); with -f, follow it until Ctrl-C or the Server is gone.",
    )
    p_console.add_argument("server", help="the Server's name")
    p_console.add_argument("-n", "--namespace", help="its namespace (default: the kubeconfig context's)")
    p_console.add_argument("-f", "--follow", action="store_true", help="print what is appended, as tail -f")
    p_console.add_argument(
        "--kubeconfig",
        type=Path,
        help="default: $KUBECONFIG, else the one `kumulus up` writes, else ~/.kube/config",
    )

    p_crds = sub.add_parser("crds", help="generate crds/ from the API models")
    p_crds.add_argument("--out", type=Path, default=PROJECT_CRDS, help="directory (default: %(default)s)")
    p_crds.add_argument("--check", action="store_true", help="only report whether crds/ is up to date")

    args = parser.parse_args(argv)
    if args.command == "console":
        from .console import kubeconfig_path, run

        return run(
            args.server, args.namespace, args.follow, kubeconfig_path(args.kubeconfig, DEFAULT_STATE_DIR)
        )
    if args.command == "crds":
        from .crds import differences, write

        if args.check:
            diffs = differences(args.out)
            for line in diffs:
                print(line)
            return 1 if diffs else 0
        for line in write(args.out):
            print("updated", line.split(":")[0])
        return 0
    if args.command == "up":
        from .up import UpOptions, up

        comps = tuple(c for c in args.components.split(",") if c and c != "none")
        unknown = [c for c in comps if c not in ("operators", "hostd")]
        if unknown:
            parser.error(f"--components: unknown component(s) {', '.join(unknown)}; known: operators, hostd")
        return up(
            UpOptions(
                state_dir=args.state_dir,
                port=args.port,
                address=args.address,
                crds_dir=args.crds_dir,
                components=comps,
                sim_hosts=args.sim_hosts,
                data_plane=args.data_plane,
            )
        )
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
