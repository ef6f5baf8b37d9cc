"""A private CA and a serving certificate for the embedded API server, made with the openssl CLI.

Generated once per state directory and kept, so kubeconfigs written earlier stay valid.
"""

from __future__ import annotations

import ipaddress
import subprocess
import tempfile
from pathlib import Path


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def ensure_pki(directory: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """Return (ca.crt, server.crt, server.key), creating them if missing or not covering `hosts`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, crt = directory / "server.key", directory / "server.crt"
    hosts_file = directory / "server.hosts"
    wanted = sorted(set(hosts) | {"127.0.0.1", "localhost"})
    if not ca_crt.exists() or not ca_key.exists():
        _run(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(ca_key),
            "-out",
            str(ca_crt),
            "-days",
            "3650",
            "-subj",
            "/CN=kumulus-ca",
        )
        ca_key.chmod(0o600)
        crt.unlink(missing_ok=True)
    if crt.exists() and key.exists() and hosts_file.exists() and hosts_file.read_text().split() == wanted:
        return ca_crt, crt, key
    sans = []
    for h in wanted:
        try:
            ipaddress.ip_address(h)
            sans.append(f"IP:{h}")
        except ValueError:
            sans.append(f"DNS:{h}")
    with tempfile.TemporaryDirectory() as tmp:
        csr = Path(tmp) / "server.csr"
        ext = Path(tmp) / "ext.cnf"
        ext.write_text("subjectAltName=" + ",".join(sans) + "\nextendedKeyUsage=serverAuth\n")
        _run(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(csr),
            "-subj",
            "/CN=kumulus-apiserver",
        )
        _run(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_crt),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(crt),
            "-days",
            "3650",
            "-extfile",
            str(ext),
        )
    key.chmod(0o600)
    hosts_file.write_text("\n".join(wanted) + "\n")
    return ca_crt, crt, key
