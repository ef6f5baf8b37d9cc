"""The test guest image for integration tests and the demo: build it, and serve it over local HTTP.

    path = ensure_guest_image()              # runs scripts/build-guest-image.sh (a no-op when up to date)
    with serve_directory(path.parent) as base:  # http://127.0.0.1:PORT/ in a thread, stopped on exit
        url = f"{base}/{path.name}"          # what an Image's source URL points at

The server is `http.server` on a free port of 127.0.0.1, serving only the given directory
(build/guest: kumulus-guest.img and kumulus-guest.img.sha256). See docs/guest-image.md.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-guest-image.sh"
GUEST_IMAGE = ROOT / "build" / "guest" / "kumulus-guest.img"


def ensure_guest_image(timeout: float = 600) -> Path:
    """Build the guest image if it is missing or stale; return its path. Raises with the script's output."""
    proc = subprocess.run(
        [str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"build-guest-image.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return GUEST_IMAGE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # no request log on the test's stderr
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` read-only on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="image-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
