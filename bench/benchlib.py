"""Helpers both benchmarks use: the HTTPS client of the API server, statistics, process figures."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

JSON = "application/json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of values (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100.0 * len(ordered)) - 1))
    return ordered[rank]


@contextlib.contextmanager
def quiet_client_gc() -> Iterator[None]:
    """No garbage-collector pauses in this process while it times requests (they are not the server's)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@dataclass
class Api:
    """A bearer-token HTTPS client of the server, over one keep-alive connection pool."""

    base: str
    session: aiohttp.ClientSession

    async def call(
        self, method: str, path: str, body: bytes | None = None, ctype: str = JSON
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": ctype} if body is not None else None
        async with self.session.request(method, self.base + path, data=body, headers=headers) as resp:
            return resp.status, await resp.read()

    async def must(self, method: str, path: str, body: Any = None, ctype: str = JSON) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        status, raw = await self.call(method, path, data, ctype)
        if status >= 300:
            raise SystemExit(f"{method} {path} failed ({status}): {raw[:500]!r}")
        out: dict[str, Any] = json.loads(raw)
        return out


def make_session(token: str, ca: Path, connections: int) -> aiohttp.ClientSession:
    ctx = ssl.create_default_context(cafile=str(ca))
    connector = aiohttp.TCPConnector(ssl=ctx, limit=connections, keepalive_timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Accept": JSON}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    return aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout)
