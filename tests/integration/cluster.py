"""A real `kumulus up` process for integration tests: start, wait for `ready`, stop, kill, restart."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubectl_binary() -> str:
    found = shutil.which("kubectl") or str(ROOT / ".venv" / "bin" / "kubectl")
    return found


class Cluster:
    """One `kumulus up` child process with its own state directory and port."""

    def __init__(
        self,
        state_dir: Path,
        port: int | None = None,
        crds_dir: Path | None = None,
        components: str = "none",
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.env = dict(env or {})
        self.components = components
        self.extra_args = extra_args
        self.state_dir = state_dir
        self.port = port or free_port()
        self.crds_dir = crds_dir or (state_dir / "no-crds")
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        return str(cfg["users"][0]["user"]["token"])

    @property
    def ca_file(self) -> str:
        return str(self.state_dir / "pki" / "ca.crt")

    def start(self, timeout: float = 30.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "kumulus.cli",
            "up",
            "--state-dir",
            str(self.state_dir),
            "--port",
            str(self.port),
            "--crds-dir",
            str(self.crds_dir),
            "--components",
            self.components,
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **self.env),
        )
        ready = threading.Event()
        proc = self.proc

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line)
                if "ready" in line:
                    ready.set()

        pumping = threading.Thread(target=pump, daemon=True)
        pumping.start()
        deadline = time.monotonic() + timeout
        # Not just ready.wait(timeout): a `kumulus up` that exits (e.g. its data plane failed) fails at once.
        while not ready.wait(0.2):
            if time.monotonic() > deadline or proc.poll() is not None:
                pumping.join(2)
                code = proc.poll()
                self.kill()
                why = f"exited with {code}" if code is not None else f"not ready in {timeout} s"
                raise RuntimeError(f"kumulus up {why}:\n" + "".join(self.output))

    def stop(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            kubectl_binary(),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.state_dir / "kubectl-cache"),
            *args,
        ]
        res = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
            )
        return res

    def kubectl_bg(self, *args: str) -> subprocess.Popen[str]:
        cmd = [
            kubectl_binary(),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.state_dir / "kubectl-cache"),
            *args,
        ]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(str(self.kubeconfig))


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@contextlib.contextmanager
def running(cluster: Cluster, logs: tuple[str, ...] = ("kumulus-operators.log",)) -> Iterator[Cluster]:
    """Start `kumulus up`, hand it to the tests, stop it; then fail if a child logged a Python traceback
    (an operator or hostd that crashed and recovered would otherwise go unnoticed)."""
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.proc is not None:
            cluster.stop()
        for name in logs:
            log = cluster.state_dir / name
            if log.exists():
                text = log.read_text()
                assert "Traceback" not in text, f"{name}:\n{text[-5000:]}"
