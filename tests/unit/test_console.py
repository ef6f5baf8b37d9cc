"""`kumulus console`: where the log is (status.console), clear errors when it cannot be read here, and
following a real file through appends, truncation, replacement and the Server's deletion."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from kumulus import cli
from kumulus.console import Console, ConsoleError, follow, kubeconfig_path, locate, show

UID = "3f1d2c4b-5a69-4e7f-8a9b-0c1d2e3f4a5b"


def server(console: dict[str, str] | None = None, host: str | None = "h1") -> dict[str, Any]:
    status: dict[str, Any] = {}
    if host:
        status["host"] = host
    if console:
        status["console"] = console
    return {"metadata": {"name": "web", "namespace": "demo", "uid": UID}, "status": status}


def test_locate_reads_status_console_and_names_what_is_missing(tmp_path: Path) -> None:
    log = tmp_path / f"{UID}.log"
    found = locate(server({"host": "h1", "path": str(log)}), "demo/web")
    assert found == Console("demo/web", UID, "h1", log)
    with pytest.raises(ConsoleError, match="server demo/web not found"):
        locate(None, "demo/web")
    with pytest.raises(ConsoleError, match="not placed on a host"):
        locate(server(host=None), "demo/web")
    with pytest.raises(ConsoleError, match=r"no console log \(status.console is unset\): host h1"):
        locate(server(), "demo/web")


def test_show_copies_the_bytes_as_they_are(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"SeaBIOS\r\n\x1b[2Jlogin: \xff\n")
    out = io.BytesIO()
    show(Console("demo/web", UID, "h1", log), out)
    assert out.getvalue() == b"SeaBIOS\r\n\x1b[2Jlogin: \xff\n"


def test_log_on_another_host_is_a_clear_error(tmp_path: Path) -> None:
    console = Console("demo/web", UID, "compute-7", tmp_path / "elsewhere.log")
    with pytest.raises(ConsoleError) as err:
        show(console, io.BytesIO())
    text = str(err.value)
    assert "on host compute-7" in text and str(tmp_path / "elsewhere.log") in text
    assert "not found on this machine" in text


def test_follow_prints_appends_survives_truncation_and_replacement_and_stops_when_gone(
    tmp_path: Path,
) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"boot 1\n")
    out = io.BytesIO()
    now = [0.0]
    exists = [True]
    steps: list[Any] = [
        lambda: log.open("ab").write(b"line 2\n"),
        lambda: log.write_bytes(b"new\n"),  # truncated (shorter than what was read)
        lambda: log.open("ab").write(b"after truncation\n"),
        lambda: (log.unlink(), (tmp_path / "b.log").write_bytes(b"replaced\n")),
        lambda: os.replace(tmp_path / "b.log", log),  # another file at the same path
        lambda: log.open("ab").write(b"last words\n"),
        lambda: exists.__setitem__(0, False),  # the Server is deleted
    ]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if steps:
            steps.pop(0)()

    def get_server() -> dict[str, Any] | None:
        return server() if exists[0] else None

    why = follow(
        Console("demo/web", UID, "h1", log),
        get_server,
        out,
        poll=1.0,
        check_every=1.0,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert why == "server demo/web is gone"
    assert out.getvalue() == b"boot 1\nline 2\nnew\nafter truncation\nreplaced\nlast words\n"


def test_follow_stops_when_the_server_is_replaced(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"x\n")
    other = {"metadata": {"name": "web", "namespace": "demo", "uid": "another-uid"}}
    why = follow(
        Console("demo/web", UID, "h1", log), lambda: other, io.BytesIO(), check_every=0, sleep=lambda s: None
    )
    assert why == "server demo/web is gone"


def test_kubeconfig_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = tmp_path / "given"
    assert kubeconfig_path(given, tmp_path) == given
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'one'}{os.pathsep}{tmp_path / 'two'}")
    assert kubeconfig_path(None, tmp_path) == tmp_path / "one"
    monkeypatch.delenv("KUBECONFIG")
    (tmp_path / "kubeconfig").write_text("x")
    assert kubeconfig_path(None, tmp_path) == tmp_path / "kubeconfig"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert kubeconfig_path(None, tmp_path / "none") == tmp_path / "home" / ".kube" / "config"


def test_cli_without_a_kubeconfig_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert cli.main(["console", "web", "-n", "demo", "--kubeconfig", str(missing)]) == 1
    assert f"no kubeconfig at {missing}" in capsys.readouterr().err
