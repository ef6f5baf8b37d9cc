"""Download an image file over HTTP(S): streamed to a temporary file, size-limited, SHA-256 checked, then
renamed into place atomically, so a file under the final name is always complete and verified.

Blocking (urllib); hostd runs it in a worker thread. Only http and https, also across redirects: a
`file://` or `ftp://` URL or redirect would read the host's own files (the image CVE class).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any

CHUNK = 1 << 20
DEFAULT_TIMEOUT = 30.0
_SCHEMES = ("http", "https")


class FetchError(Exception):
    """A download failed; `reason` is a condition reason (HTTPError, TooLarge, ChecksumMismatch, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in _SCHEMES:
            raise FetchError("BadURL", f"source.url: redirect to a non-HTTP(S) URL refused: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # No FileHandler/FTPHandler/DataHandler: build_opener adds them only when not given a subclass, so
    # build the director by hand with exactly the handlers wanted.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch(url: str, dest: Path, *, sha256: str, max_bytes: int, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Download url to dest (its directory must exist); return dest. Nothing is left at dest on failure.

    If dest already exists it is trusted as complete only if its SHA-256 matches (a finished earlier try).
    """
    if urllib.parse.urlsplit(url).scheme not in _SCHEMES:
        raise FetchError("BadURL", f"source.url must be http or https, not {url!r}")
    expected = sha256.lower()
    if dest.exists() and _sha256_of(dest) == expected:
        return dest
    try:
        resp = _opener().open(url, timeout=timeout)
    except urllib.error.HTTPError as e:
        raise FetchError("HTTPError", f"GET {url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise FetchError("Unreachable", f"GET {url}: {getattr(e, 'reason', e)}") from e
    with resp:
        length = resp.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise FetchError("TooLarge", f"GET {url}: {length} bytes, more than the limit of {max_bytes}")
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            digest = hashlib.sha256()
            total = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := _read(resp, url):
                    total += len(chunk)
                    if total > max_bytes:
                        raise FetchError("TooLarge", f"GET {url}: more than the limit of {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if length is not None and length.isdigit() and total != int(length):
                raise FetchError("Truncated", f"GET {url}: got {total} of {length} bytes")
            if digest.hexdigest() != expected:
                raise FetchError(
                    "ChecksumMismatch",
                    f"GET {url}: SHA-256 is {digest.hexdigest()}, spec.sha256 says {expected}",
                )
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    return dest


def _read(resp: IO[bytes], url: str) -> bytes:
    try:
        return resp.read(CHUNK)
    except (OSError, urllib.error.URLError) as e:
        raise FetchError("Unreachable", f"GET {url}: read failed: {e}") from e


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
