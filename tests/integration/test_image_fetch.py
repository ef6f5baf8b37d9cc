"""hostd.storage.image_fetch against a local HTTP server on a free port: limits, checksum, atomic rename."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostd.storage.image_fetch import FetchError, fetch

from .ceph_cluster import free_port

pytestmark = pytest.mark.integration

DATA = b"kumulus" * 100_000


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/image":
            self._send(200, DATA, length=True)
        elif self.path == "/nolength":
            self._send(200, DATA, length=False)
        elif self.path in ("/to-file", "/to-ftp"):
            self.send_response(302)
            target = "file:///etc/passwd" if self.path == "/to-file" else "ftp://127.0.0.1/image"
            self.send_header("Location", target)
            self.end_headers()
        else:
            self._send(404, b"not here", length=True)

    def _send(self, code: int, body: bytes, length: bool) -> None:
        self.send_response(code)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if not length:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.protocol_version = "HTTP/1.0"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


SUM = hashlib.sha256(DATA).hexdigest()


def test_download_is_verified_and_renamed_into_place(base: str, tmp_path: Path) -> None:
    dest = fetch(f"{base}/image", tmp_path / "img", sha256=SUM, max_bytes=len(DATA))
    assert dest.read_bytes() == DATA
    assert [p.name for p in tmp_path.iterdir()] == ["img"]
    # a second call trusts the verified file without downloading again
    assert fetch("http://127.0.0.1:1/unreachable", dest, sha256=SUM, max_bytes=len(DATA)) == dest


def test_checksum_mismatch_leaves_nothing(base: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError) as e:
        fetch(f"{base}/image", tmp_path / "img", sha256="0" * 64, max_bytes=len(DATA))
    assert e.value.reason == "ChecksumMismatch" and SUM in e.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/image", "/nolength"])
def test_size_limit_with_and_without_content_length(base: str, tmp_path: Path, path: str) -> None:
    with pytest.raises(FetchError) as e:
        fetch(f"{base}{path}", tmp_path / "img", sha256=SUM, max_bytes=len(DATA) - 1)
    assert e.value.reason == "TooLarge"
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_named(base: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError) as e:
        fetch(f"{base}/missing", tmp_path / "img", sha256=SUM, max_bytes=len(DATA))
    assert e.value.reason == "HTTPError" and "HTTP 404" in e.value.message


def test_only_http_and_https_even_across_redirects(base: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError) as e:
        fetch("file:///etc/passwd", tmp_path / "img", sha256=SUM, max_bytes=len(DATA))
    assert e.value.reason == "BadURL" and "source.url" in e.value.message
    with pytest.raises(FetchError) as e:  # urllib itself refuses this one
        fetch(f"{base}/to-file", tmp_path / "img", sha256=SUM, max_bytes=len(DATA))
    assert "file:///etc/passwd" in e.value.message and "not allowed" in e.value.message
    with pytest.raises(FetchError) as e:  # and our handler this one, which urllib would follow
        fetch(f"{base}/to-ftp", tmp_path / "img", sha256=SUM, max_bytes=len(DATA))
    assert e.value.reason == "BadURL" and "ftp://" in e.value.message
    assert list(tmp_path.iterdir()) == []
