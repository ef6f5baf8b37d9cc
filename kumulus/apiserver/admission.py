"""Admission webhooks, called as kube-apiserver calls them (admissionregistration.k8s.io/v1).

A client write is first run against `ApiCore` with its commit captured rather than stored: that gives
the object exactly as it would be stored (defaulted, pruned, validated, with uid and generated name).
Mutating webhooks then see it one after another and their JSONPatch responses are applied; a changed
object is written again through the core, so schema validation runs on the result. Validating webhooks
are called concurrently on the final object. Since webhook calls yield to the event loop, the objects the
write read are checked again before the captured changes are committed; if any changed meanwhile, the
whole write, webhooks included, is run again (a few times, then 409 Conflict).

Matching follows kube-apiserver: `rules` (operations, apiGroups, apiVersions, resources with `*`,
`res/sub`, `*/*`, scope), `namespaceSelector` (the namespace's labels; a Namespace's own labels),
`objectSelector` (new or old object). `matchPolicy: Equivalent` is treated as Exact and
`matchConditions` are not evaluated. Writes to webhook configurations themselves are never admitted.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import os
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from . import errors
from .core import ApiCore
from .errors import ApiError
from .patch import PatchError, json_patch
from .registry import NAMESPACE_SKEY
from .resources import ResourceInfo
from .selectors import SelectorError, label_selector_from_dict
from .store import Change

log = logging.getLogger(__name__)

VALIDATING_SKEY = "admissionregistration.k8s.io/validatingwebhookconfigurations"
MUTATING_SKEY = "admissionregistration.k8s.io/mutatingwebhookconfigurations"
SERVICES_ENV = "KUMULUS_WEBHOOK_SERVICES"
DEFAULT_TIMEOUT = 10
MAX_TIMEOUT = 30
MAX_ATTEMPTS = 5
REVIEW_API_VERSION = "admission.k8s.io/v1"


def service_overrides_from_env() -> dict[str, str]:
    """`KUMULUS_WEBHOOK_SERVICES`: a JSON object {"namespace/name:port": "https://host:port"}."""
    text = os.environ.get(SERVICES_ENV, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        log.error("%s is not a JSON object; ignored", SERVICES_ENV)
        return {}
    if not isinstance(value, dict):
        log.error("%s is not a JSON object; ignored", SERVICES_ENV)
        return {}
    return {str(k): str(v) for k, v in value.items()}


# -- matching -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a write is, for matching: kube's admission.Attributes without the objects."""

    operation: str  # CREATE, UPDATE or DELETE
    info: ResourceInfo
    namespace: str  # "" for cluster-scoped resources
    name: str
    subresource: str = ""


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def rule_matches(rule: Mapping[str, Any], req: Request) -> bool:
    """One RuleWithOperations against a request, as kube's rules.Matcher does."""
    scope = rule.get("scope") or "*"
    if scope == "Cluster" and req.namespace:
        return False
    if scope == "Namespaced" and not req.namespace:
        return False
    ops = _strings(rule.get("operations"))
    if "*" not in ops and req.operation not in ops:
        return False
    groups = _strings(rule.get("apiGroups"))
    if "*" not in groups and req.info.group not in groups:
        return False
    versions = _strings(rule.get("apiVersions"))
    if "*" not in versions and req.info.version not in versions:
        return False
    for res in _strings(rule.get("resources")):
        name, _, sub = res.partition("/")
        if name in ("*", req.info.plural) and sub in ("*", req.subresource):
            return True
    return False


def rules_match(webhook: Mapping[str, Any], req: Request) -> bool:
    rules = webhook.get("rules")
    return isinstance(rules, list) and any(isinstance(r, dict) and rule_matches(r, req) for r in rules)


def selector_matches(selector: Any, labels: Mapping[str, str] | None) -> bool:
    """A metav1.LabelSelector; absent or empty selects everything. A malformed one selects nothing."""
    if selector is None or selector == {}:
        return True
    try:
        return label_selector_from_dict(selector).matches(labels or {})
    except SelectorError:
        return False


def _labels(obj: Mapping[str, Any] | None) -> dict[str, str] | None:
    if obj is None:
        return None
    labels = (obj.get("metadata") or {}).get("labels")
    return dict(labels) if isinstance(labels, dict) else {}


def object_selector_matches(
    webhook: Mapping[str, Any], obj: Mapping[str, Any] | None, old: Mapping[str, Any] | None
) -> bool:
    """kube's object.Matcher: the new or the old object must match."""
    selector = webhook.get("objectSelector")
    if selector is None or selector == {}:
        return True
    return any(o is not None and selector_matches(selector, _labels(o)) for o in (obj, old))


def namespace_selector_matches(
    webhook: Mapping[str, Any],
    req: Request,
    namespace_labels: Mapping[str, str] | None,
    obj: Mapping[str, Any] | None,
    old: Mapping[str, Any] | None,
) -> bool:
    """kube's namespace.Matcher: cluster-scoped requests other than on Namespaces always match."""
    is_namespace = req.info.group == "" and req.info.plural == "namespaces"
    if not req.namespace and not is_namespace:
        return True
    if is_namespace:
        namespace_labels = _labels(obj if obj is not None else old)
    return selector_matches(webhook.get("namespaceSelector"), namespace_labels or {})


@dataclass(frozen=True)
class Hook:
    """One webhook of a configuration."""

    config: str
    mutating: bool
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or self.config)

    @property
    def fail_closed(self) -> bool:
        return bool(self.spec.get("failurePolicy", "Fail") != "Ignore")

    @property
    def dry_run_safe(self) -> bool:
        return self.spec.get("sideEffects") in ("None", "NoneOnDryRun")

    @property
    def timeout(self) -> float:
        value = self.spec.get("timeoutSeconds")
        if not isinstance(value, int) or isinstance(value, bool):
            return DEFAULT_TIMEOUT
        return float(min(max(value, 1), MAX_TIMEOUT))


def hooks_in(configs: list[tuple[str, dict[str, Any]]], mutating: bool) -> list[Hook]:
    """The webhooks of stored configurations in kube's order: configurations by name, then listed order."""
    out: list[Hook] = []
    for name, cfg in sorted(configs, key=lambda c: c[0]):
        for wh in cfg.get("webhooks") or ():
            if isinstance(wh, dict):
                out.append(Hook(name, mutating, wh))
    return out


# -- AdmissionReview ----------------------------------------------------------------------------------------

_OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


def review_request(
    req: Request,
    uid: str,
    obj: dict[str, Any] | None,
    old: dict[str, Any] | None,
    *,
    dry_run: bool,
    user: str,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An admission.k8s.io/v1 AdmissionReview for one request."""
    info = req.info
    kind = {"group": info.group, "version": info.version, "kind": info.kind}
    resource = {"group": info.group, "version": info.version, "resource": info.plural}
    opts: dict[str, Any] = {k: v for k, v in (options or {}).items() if k not in ("kind", "apiVersion")}
    if dry_run:
        opts["dryRun"] = ["All"]
    body: dict[str, Any] = {
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": dict(kind),
        "requestResource": dict(resource),
        "name": req.name,
        "operation": req.operation,
        "userInfo": {"username": user, "groups": ["system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
        "options": {"kind": _OPTIONS_KIND[req.operation], "apiVersion": "meta.k8s.io/v1", **opts},
    }
    if req.subresource:
        body["subResource"] = req.subresource
        body["requestSubResource"] = req.subresource
    if req.namespace:
        body["namespace"] = req.namespace
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "request": body}


class CallError(Exception):
    """A webhook could not be called or gave an unusable answer (subject to failurePolicy)."""


@dataclass
class Verdict:
    """A webhook's answer."""

    allowed: bool
    status: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    patch: list[Any] | None = None


def parse_review_response(body: Any, uid: str, mutating: bool) -> Verdict:
    """Check an AdmissionReview response as kube-apiserver does and extract the verdict."""
    if not isinstance(body, dict):
        raise CallError("the webhook response is not a JSON object")
    if body.get("apiVersion") != REVIEW_API_VERSION or body.get("kind") != "AdmissionReview":
        raise CallError(
            f"expected webhook response of {REVIEW_API_VERSION}, Kind=AdmissionReview, "
            f"got {body.get('apiVersion')}, Kind={body.get('kind')}"
        )
    resp = body.get("response")
    if not isinstance(resp, dict):
        raise CallError("webhook response was absent")
    if resp.get("uid") != uid:
        raise CallError(f"expected response.uid={uid!r}, got {resp.get('uid')!r}")
    status = resp.get("status") if isinstance(resp.get("status"), dict) else {}
    warnings = _strings(resp.get("warnings"))
    verdict = Verdict(resp.get("allowed") is True, dict(status or {}), warnings)
    patch_b64 = resp.get("patch")
    if patch_b64 not in (None, ""):
        if not mutating:
            raise CallError("validating webhooks may not return patches")
        if resp.get("patchType") != "JSONPatch":
            raise CallError(f"unsupported patchType {resp.get('patchType')!r}: only JSONPatch is supported")
        try:
            patch = json.loads(base64.b64decode(str(patch_b64), validate=True))
        except ValueError as exc:
            raise CallError(f"cannot decode the patch: {exc}") from exc
        if not isinstance(patch, list):
            raise CallError("the patch is not a JSON array")
        verdict.patch = patch
    return verdict


def denied(name: str, status: Mapping[str, Any]) -> ApiError:
    """kube's webhookerrors.ToStatusErr: the webhook's Status, at least 400, with a prefixed message."""
    code = status.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) and code >= 400 else 400
    prefix = f'admission webhook "{name}" denied the request'
    if status.get("message"):
        message = f"{prefix}: {status['message']}"
    elif status.get("reason"):
        message = f"{prefix}: {status['reason']}"
    else:
        message = f"{prefix} without explanation"
    details = status.get("details") if isinstance(status.get("details"), dict) else None
    return ApiError(code, str(status.get("reason") or ""), message, details)


# -- calling webhooks -----------------------------------------------------------------------------------------


@dataclass
class Write:
    """One client write to admit. `run(dry_run)` performs it against the core."""

    request: Request
    run: Callable[[bool], tuple[dict[str, Any], Any]]  # -> (object written or deleted, caller's extra)
    dry_run: bool = False
    user: str = "admin"
    options: Mapping[str, Any] | None = None
    field_validation: str = "Warn"
    creates: Callable[[Any], bool] = field(default=lambda _: False)  # an apply PATCH that created


class Admission:
    """Finds and calls the webhooks matching a write, around the core's captured commit."""

    def __init__(self, core: ApiCore, services: Mapping[str, str] | None = None) -> None:
        self.core = core
        self.services = dict(services or {})
        self._session: aiohttp.ClientSession | None = None
        self._ssl: dict[str, ssl.SSLContext] = {}
        self._hooks_key: tuple[tuple[str, str, int], ...] = ()
        self._hooks_cache: list[Hook] = []

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _hooks(self) -> list[Hook]:
        """All webhooks, mutating first; parsed again only when a configuration changed."""
        store = self.core.store
        key = tuple(
            (skey, name, e.rv)
            for skey in (MUTATING_SKEY, VALIDATING_SKEY)
            for (_, name), e in store.items(skey)
        )
        if key != self._hooks_key:
            configs = {
                skey: [(n, e.load()) for (_, n), e in store.items(skey)]
                for skey in (MUTATING_SKEY, VALIDATING_SKEY)
            }
            self._hooks_cache = hooks_in(configs[MUTATING_SKEY], True) + hooks_in(
                configs[VALIDATING_SKEY], False
            )
            self._hooks_key = key
        return self._hooks_cache

    def candidates(self, req: Request, operations: tuple[str, ...]) -> list[Hook]:
        """Webhooks whose rules match the request for any of `operations` (no objects needed)."""
        if req.info.storage_key in (VALIDATING_SKEY, MUTATING_SKEY):
            return []
        store = self.core.store
        if not store.count(VALIDATING_SKEY) and not store.count(MUTATING_SKEY):
            return []
        return [
            h
            for h in self._hooks()
            if any(
                rules_match(h.spec, Request(op, req.info, req.namespace, req.name, req.subresource))
                for op in operations
            )
        ]

    async def write(self, w: Write) -> tuple[dict[str, Any], Any, list[str]]:
        """Run a write with admission; returns (object, the run's extra, webhook warnings)."""
        req = w.request
        ops = ("CREATE", "UPDATE") if req.operation == "UPDATE" else (req.operation,)
        if not self.candidates(req, ops):
            obj, extra = w.run(w.dry_run)
            return obj, extra, []
        for _ in range(MAX_ATTEMPTS):
            done = await self._attempt(w)
            if done is not None:
                return done
        raise errors.conflict(req.info.group_resource, req.name, req.info.group, req.info.plural)

    def _read_set(self, req: Request, changes: list[Change]) -> dict[tuple[str, str, str], int | None]:
        keys = {(req.info.storage_key, req.namespace, req.name)}
        if req.namespace:
            keys.add((NAMESPACE_SKEY, "", req.namespace))
        for ch in changes:
            meta = ch.obj.get("metadata") or {}
            keys.add((ch.skey, str(meta.get("namespace") or ""), str(meta.get("name") or "")))
        return {k: self._rv(k) for k in keys}

    def _rv(self, key: tuple[str, str, str]) -> int | None:
        entry = self.core.store.get(*key)
        return entry.rv if entry is not None else None

    def _unchanged(self, seen: dict[tuple[str, str, str], int | None]) -> bool:
        return all(self._rv(k) == rv for k, rv in seen.items())

    def _old(self, req: Request) -> dict[str, Any] | None:
        entry = self.core.store.get(req.info.storage_key, req.namespace, req.name)
        return self.core.convert(req.info, entry.load()) if entry is not None else None

    def _namespace_labels(self, ns: str) -> dict[str, str]:
        entry = self.core.store.get(NAMESPACE_SKEY, "", ns) if ns else None
        return dict(entry.labels) if entry is not None else {}

    def _matching(
        self, req: Request, obj: dict[str, Any] | None, old: dict[str, Any] | None, mutating: bool
    ) -> list[Hook]:
        ns_labels = self._namespace_labels(req.namespace)
        return [
            h
            for h in self.candidates(req, (req.operation,))
            if h.mutating is mutating
            and namespace_selector_matches(h.spec, req, ns_labels, obj, old)
            and object_selector_matches(h.spec, obj, old)
        ]

    async def _attempt(self, w: Write) -> tuple[dict[str, Any], Any, list[str]] | None:
        """One try: capture, mutate, validate, commit. None when the objects changed meanwhile."""
        base = w.request
        old = self._old(base)
        with self.core.capture() as changes:
            obj, extra = w.run(False)
        op = "CREATE" if (base.operation == "UPDATE" and w.creates(extra)) else base.operation
        req = Request(
            op, base.info, base.namespace, str(obj["metadata"].get("name") or base.name), base.subresource
        )
        seen = self._read_set(req, changes)
        new = None if op == "DELETE" else obj
        old_obj = None if op == "CREATE" else old
        warnings: list[str] = []
        for hook in self._matching(req, new, old_obj, mutating=True):
            verdict = await self._call(hook, req, new, old_obj, w)
            if verdict is None:
                continue
            warnings += verdict.warnings
            if verdict.patch and new is not None:
                try:
                    patched = json_patch(new, verdict.patch)
                except PatchError as exc:
                    raise errors.internal(f'failed calling webhook "{hook.name}": {exc.message}') from exc
                if patched != new:
                    if not self._unchanged(seen):
                        return None
                    with self.core.capture() as changes:
                        new, extra = self._rewrite(req, patched, extra)
                    obj = new
                    seen = self._read_set(req, changes)
        hooks = self._matching(req, new, old_obj, mutating=False)
        results = await asyncio.gather(
            *(self._call(h, req, new, old_obj, w) for h in hooks), return_exceptions=True
        )
        for result in results:  # the first failure in webhook order, as the calls ran concurrently
            if isinstance(result, BaseException):
                raise result
            if result is not None:
                warnings += result.warnings
        if not self._unchanged(seen):
            return None
        if not w.dry_run and changes:
            for ev in self.core.commit(list(changes)):
                if (ev.namespace, ev.name) == (req.namespace, req.name):
                    obj.setdefault("metadata", {})["resourceVersion"] = str(ev.rv)
        return obj, extra, warnings

    def _rewrite(self, req: Request, patched: dict[str, Any], extra: Any) -> tuple[dict[str, Any], Any]:
        """Write a mutated object again through the core, so that it is defaulted and validated."""
        core, info = self.core, req.info
        patched = copy.deepcopy(patched)
        if req.operation == "CREATE":
            obj, _ = core.create(info, req.namespace, patched, field_validation="Ignore")
        else:
            obj, _ = core.update(
                info,
                req.namespace,
                req.name,
                patched,
                subresource=req.subresource,
                field_validation="Ignore",
                require_rv=False,
            )
        return obj, extra

    async def _call(
        self,
        hook: Hook,
        req: Request,
        obj: dict[str, Any] | None,
        old: dict[str, Any] | None,
        w: Write,
    ) -> Verdict | None:
        """Call one webhook; raise its denial; None when a failure is ignored by failurePolicy."""
        if w.dry_run and not hook.dry_run_safe:
            raise errors.bad_request(f'admission webhook "{hook.name}" does not support dry run')
        uid = str(uuid.uuid4())
        review = review_request(req, uid, obj, old, dry_run=w.dry_run, user=w.user, options=w.options)
        try:
            versions = _strings(hook.spec.get("admissionReviewVersions"))
            if "v1" not in versions:
                raise CallError(f"webhook does not accept v1 AdmissionReview (accepts {versions})")
            body = await self._post(hook, review)
            verdict = parse_review_response(body, uid, hook.mutating)
        except CallError as exc:
            if hook.fail_closed:
                raise errors.internal(f'failed calling webhook "{hook.name}": {exc}') from exc
            log.warning("failed calling webhook %r (ignored by failurePolicy): %s", hook.name, exc)
            return None
        if not verdict.allowed:
            raise denied(hook.name, verdict.status)
        return verdict

    def _endpoint(self, hook: Hook) -> tuple[str, str | None]:
        """(URL to connect to, TLS server name to verify if not the URL's host)."""
        cfg = hook.spec.get("clientConfig") or {}
        url = cfg.get("url")
        if isinstance(url, str) and url:
            if urlsplit(url).scheme != "https":
                raise CallError(f"webhook URL must use https: {url}")
            return url, None
        svc = cfg.get("service")
        if not isinstance(svc, dict) or not svc.get("name"):
            raise CallError("clientConfig has neither url nor service")
        ns, name = str(svc.get("namespace") or "default"), str(svc["name"])
        port = int(svc.get("port") or 443)
        path = str(svc.get("path") or "")
        host = f"{name}.{ns}.svc"
        override = self.services.get(f"{ns}/{name}:{port}") or self.services.get(f"{ns}/{name}")
        if override is None:
            raise CallError(
                f'service "{ns}/{name}" cannot be reached: the embedded API server has no Services; '
                f"map it in {SERVICES_ENV} or use clientConfig.url"
            )
        return override.rstrip("/") + path, host

    def _ssl_context(self, hook: Hook) -> ssl.SSLContext:
        bundle = str((hook.spec.get("clientConfig") or {}).get("caBundle") or "")
        ctx = self._ssl.get(bundle)
        if ctx is None:
            try:
                pem = base64.b64decode(bundle, validate=True).decode() if bundle else None
                ctx = ssl.create_default_context(cadata=pem)
            except (ValueError, ssl.SSLError) as exc:
                raise CallError(f"invalid caBundle: {exc}") from exc
            self._ssl[bundle] = ctx
        return ctx

    async def _post(self, hook: Hook, review: dict[str, Any]) -> Any:
        url, server_name = self._endpoint(hook)
        ctx = self._ssl_context(hook)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                url,
                data=json.dumps(review).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                ssl=ctx,
                server_hostname=server_name,
                timeout=aiohttp.ClientTimeout(total=hook.timeout),
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise CallError(f"the server responded with status {resp.status}: {raw[:200]!r}")
        except TimeoutError as exc:
            raise CallError(f'Post "{url}": context deadline exceeded') from exc
        except aiohttp.ClientError as exc:
            raise CallError(f'Post "{url}": {exc}') from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise CallError(f"cannot decode the webhook response: {exc}") from exc
