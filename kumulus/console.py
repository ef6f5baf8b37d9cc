"""`kumulus console SERVER [-n NAMESPACE] [-f]`: print a Server's serial console log; with -f, follow it
as `tail -f` does, until Ctrl-C or the Server is gone.

hostd records where its driver logs a guest's serial console as `status.console: {host, path}` (the
libvirt driver: `<hostd state dir>/console/<uid>.log`, appended to across boots). The log is a file on
that host, not served by the API: this command reads it when it is on this machine (`kumulus up` runs
hostd here), and otherwise says which host has it. Bytes are copied as they are (a console may write
escape sequences or non-UTF-8 text). Following survives the file being truncated or replaced (read again
from its start) and checks every few seconds that the Server still exists, with the same uid.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

GROUP, VERSION, PLURAL = "compute.kumulus.dev", "v1alpha1", "servers"
CHUNK = 64 * 1024
POLL = 0.25  # seconds between reads of a followed log with nothing new
CHECK_EVERY = 2.0  # seconds between checks that the followed Server still exists

GetServer = Callable[[], Mapping[str, Any] | None]
"""Read the Server from the API: the object, or None when it does not exist."""


class ConsoleError(Exception):
    """Why the console cannot be shown, for the user (printed as is, exit status 1)."""


@dataclass(frozen=True, slots=True)
class Console:
    server: str  # namespace/name
    uid: str
    host: str
    path: Path


def locate(server: Mapping[str, Any] | None, ref: str) -> Console:
    """Where the Server's console is logged, from its status; ConsoleError saying why not."""
    if server is None:
        raise ConsoleError(f"server {ref} not found")
    status = server.get("status") or {}
    console = status.get("console") or {}
    if not console.get("path"):
        if not status.get("host"):
            raise ConsoleError(f"server {ref} has no console yet: it is not placed on a host")
        raise ConsoleError(
            f"server {ref} has no console log (status.console is unset): host {status['host']} has not "
            "reported one yet, or its driver keeps none (the sim driver)"
        )
    return Console(
        ref, str(server["metadata"].get("uid", "")), str(console.get("host", "")), Path(console["path"])
    )


def open_log(console: Console) -> BinaryIO:
    """The log file opened for reading, or ConsoleError naming where it is when it is not here."""
    try:
        return console.path.open("rb")
    except FileNotFoundError:
        raise ConsoleError(
            f"the console log of server {console.server} is {console.path} on host {console.host}, not found "
            f"on this machine ({socket.gethostname()}): run `kumulus console` on that host"
        ) from None
    except PermissionError:
        raise ConsoleError(
            f"cannot read {console.path} (console log of server {console.server}): permission denied; it "
            "belongs to the user hostd and QEMU run as (try with sudo)"
        ) from None


def copy_new(f: BinaryIO, out: BinaryIO) -> int:
    """Copy what `f` holds past its position to `out`; the number of bytes copied."""
    total = 0
    while chunk := f.read(CHUNK):
        out.write(chunk)
        total += len(chunk)
    if total:
        out.flush()
    return total


def show(console: Console, out: BinaryIO) -> None:
    """Print the whole log."""
    with open_log(console) as f:
        copy_new(f, out)


def follow(
    console: Console,
    get_server: GetServer,
    out: BinaryIO,
    *,
    poll: float = POLL,
    check_every: float = CHECK_EVERY,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Print the log, then what is appended to it, until the Server is gone (deleted, or replaced by one
    with another uid); returns why it stopped. A truncated or replaced file is read again from its start;
    a file gone meanwhile is waited for."""
    f: BinaryIO | None = open_log(console)
    next_check = clock() + check_every
    try:
        while True:
            copied = copy_new(f, out) if f is not None else 0
            if not copied:
                if f is not None and _reset(f, console.path):
                    f.close()
                    f = None
                if f is None:
                    with contextlib.suppress(FileNotFoundError):  # gone for now: wait for it
                        f = console.path.open("rb")  # again from the start: truncated, replaced, recreated
            if clock() >= next_check:
                next_check = clock() + check_every
                server = get_server()
                if server is None or str(server["metadata"].get("uid", "")) != console.uid:
                    if f is not None:
                        copy_new(f, out)  # what was written before it went
                    return f"server {console.server} is gone"
            if not copied:
                sleep(poll)
    finally:
        if f is not None:
            f.close()


def _reset(f: BinaryIO, path: Path) -> bool:
    """Whether the open file `f` was truncated below our position, or `path` is now another file."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return True
    opened = os.fstat(f.fileno())
    return (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino) or now.st_size < f.tell()


# -- the API ---------------------------------------------------------------------------------------------


def kubeconfig_path(given: Path | None, default_state_dir: Path) -> Path:
    """--kubeconfig, else $KUBECONFIG (its first file), else `kumulus up`'s, else ~/.kube/config."""
    if given is not None:
        return given
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    if first:
        return Path(first)
    ours = default_state_dir / "kubeconfig"
    return ours if ours.exists() else Path.home() / ".kube" / "config"


def api_reader(kubeconfig: Path, namespace: str | None, name: str) -> tuple[str, GetServer]:
    """("namespace/name", a function reading the Server) for the kubeconfig's current context; the
    namespace defaults to the context's, else "default"."""
    with warnings.catch_warnings():
        # Debian's requests warns at import when pip brought a newer urllib3: noise on a user's terminal.
        warnings.filterwarnings("ignore", message=".*doesn't match a supported version")
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException

    if not kubeconfig.exists():
        raise ConsoleError(f"no kubeconfig at {kubeconfig}: start `kumulus up` or pass --kubeconfig")
    try:
        api_client = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
        if namespace is None:
            _, active = config.list_kube_config_contexts(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
            namespace = ((active or {}).get("context") or {}).get("namespace") or "default"
    except Exception as exc:  # the kubernetes package raises its own ConfigException and plain errors
        raise ConsoleError(f"kubeconfig {kubeconfig}: {exc}") from None
    api = client.CustomObjectsApi(api_client)
    ns = namespace

    def get() -> Mapping[str, Any] | None:
        try:
            obj: object = api.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ConsoleError(f"reading server {ns}/{name}: {exc.status} {exc.reason}") from None
        except Exception as exc:  # urllib3's connection errors
            raise ConsoleError(
                f"cannot reach the API server ({api_client.configuration.host}): {exc}"
            ) from None
        return obj if isinstance(obj, dict) else None

    return f"{ns}/{name}", get


def run(
    name: str,
    namespace: str | None,
    follow_log: bool,
    kubeconfig: Path,
    out: BinaryIO | None = None,
) -> int:
    """The command: 0 when shown (or followed until the Server is gone), 1 with a message on stderr,
    130 on Ctrl-C."""
    stdout = out if out is not None else sys.stdout.buffer
    try:
        ref, get = api_reader(kubeconfig, namespace, name)
        console = locate(get(), ref)
        if not follow_log:
            show(console, stdout)
            return 0

        def alive() -> Mapping[str, Any] | None:
            try:
                return get()
            except ConsoleError as exc:  # the API server away for a moment: keep following
                print(f"kumulus console: {exc}", file=sys.stderr)
                return {"metadata": {"uid": console.uid}}

        why = follow(console, alive, stdout)
        print(f"kumulus console: {why}", file=sys.stderr)
        return 0
    except ConsoleError as exc:
        print(f"kumulus console: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
