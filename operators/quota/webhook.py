"""The HTTPS server of the quota webhook and its ValidatingWebhookConfiguration.

The serving certificate is made at start with the openssl CLI (kumulus.pki) in
$KUMULUS_STATE_DIR/quota-webhook (a temporary directory without it), for IP 127.0.0.1; the configuration
trusts its CA. failurePolicy is Fail: while the operator is down, quota-consuming writes are refused
rather than let through unchecked.
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from kumulus.pki import ensure_pki
from operators.kube import Kube, NotFound

from .resources import COUNTED, WEBHOOK_CONFIGS

log = logging.getLogger("kumulus.quota")
NAME = "quota.kumulus.dev"
PATH = "/validate"

REVIEWS = Counter("kumulus_quota_admission_reviews_total", "Quota admission reviews, by result", ["result"])
for _result in ("allowed", "denied", "error"):  # exported as 0 from the start
    REVIEWS.labels(_result)

Review = Callable[[dict[str, Any]], Awaitable[str | None]]


def certificate_dir() -> Path:
    state = os.environ.get("KUMULUS_STATE_DIR")
    return Path(state) / "quota-webhook" if state else Path(tempfile.mkdtemp(prefix="kumulus-quota-"))


class WebhookServer:
    def __init__(self, review: Review, port: int | None = None, directory: Path | None = None) -> None:
        self.review = review
        self.port = port if port is not None else int(os.environ.get("KUMULUS_QUOTA_WEBHOOK_PORT", "0"))
        self.directory = directory or certificate_dir()
        self.ca_pem = b""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        ca, crt, key = ensure_pki(self.directory, ["127.0.0.1"])
        self.ca_pem = ca.read_bytes()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(crt), str(key))
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=ctx)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        log.info("quota webhook at https://127.0.0.1:%d%s", self.port, PATH)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        review = await request.json()
        req = review.get("request") or {}
        response: dict[str, Any] = {"uid": req.get("uid", ""), "allowed": True}
        result = "allowed"
        try:
            message = await self.review(req)
        except Exception:
            log.exception("quota review failed")
            message = "quota could not be checked (internal error)"
            result = "error"
        if message is not None and result == "allowed":
            result = "denied"
        REVIEWS.labels(result).inc()
        if message is not None:
            response = {
                **response,
                "allowed": False,
                "status": {"code": 403, "reason": "Forbidden", "message": message},
            }
        return web.json_response(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        )

    def configuration(self) -> dict[str, Any]:
        by_group: dict[str, list[str]] = {}
        for resource in COUNTED.values():
            by_group.setdefault(resource.group, []).append(resource.plural)
        rules = [
            {
                "operations": ["CREATE", "UPDATE"],
                "apiGroups": [group],
                "apiVersions": ["*"],
                "resources": sorted(plurals),
                "scope": "Namespaced",
            }
            for group, plurals in sorted(by_group.items())
        ]
        webhook = {
            "name": NAME,
            "clientConfig": {
                "url": f"https://127.0.0.1:{self.port}{PATH}",
                "caBundle": base64.b64encode(self.ca_pem).decode(),
            },
            "rules": rules,
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "timeoutSeconds": 5,
            "admissionReviewVersions": ["v1"],
        }
        return {
            "apiVersion": WEBHOOK_CONFIGS.api_version,
            "kind": WEBHOOK_CONFIGS.kind,
            "metadata": {"name": NAME},
            "webhooks": [webhook],
        }


async def register(kube: Kube, config: dict[str, Any]) -> None:
    """Create the configuration, or update it if it differs (another port or CA after a restart)."""
    path = WEBHOOK_CONFIGS.path(NAME)
    try:
        current = await kube.get(path)
    except NotFound:
        await kube.request("POST", WEBHOOK_CONFIGS.path(), config)
        return
    wanted = config["webhooks"][0]
    have = (current.get("webhooks") or [{}])[0]
    if len(current.get("webhooks") or []) == 1 and all(have.get(k) == v for k, v in wanted.items()):
        return
    await kube.put(
        path,
        {
            **config,
            "metadata": {**config["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]},
        },
    )
