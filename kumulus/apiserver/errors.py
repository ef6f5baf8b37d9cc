"""API errors shaped exactly as kube-apiserver shapes them: a `Status` object with a reason.

Handlers raise `ApiError`; the middleware turns it into the JSON body and HTTP code clients expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One cause of an Invalid error, as a metav1.StatusCause.

    `field` is a Kubernetes field path ("spec.ports[0].port"); `message` is the text after the field,
    e.g. "Required value" or 'Invalid value: "x": must be ...'.
    """

    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    field: str
    message: str

    def as_cause(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ApiError(Exception):
    """An error with a Kubernetes Status body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str, name: str = "", group: str = "", plural: str = "") -> ApiError:
    return ApiError(403, "Forbidden", message, _details(name, group, plural) if plural else None)


def not_found(group_resource: str, name: str, group: str = "", plural: str = "") -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{group_resource} "{name}" not found',
        _details(name, group, plural or group_resource.split(".", 1)[0]),
    )


def resource_not_found(message: str = "the server could not find the requested resource") -> ApiError:
    return ApiError(404, "NotFound", message, {})


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, "NotAcceptable", message)


def already_exists(group_resource: str, name: str, group: str = "", plural: str = "") -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{group_resource} "{name}" already exists',
        _details(name, group, plural or group_resource.split(".", 1)[0]),
    )


def conflict(group_resource: str, name: str, group: str = "", plural: str = "") -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {group_resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(name, group, plural or group_resource.split(".", 1)[0]),
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_large(message: str = "Request entity too large: limit is 3145728") -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
        f"application/strategic-merge-patch+json; got {content_type!r}",
    )


def invalid(qualified_kind: str, kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid, e.g. 'Server.compute.kumulus.dev "x" is invalid: spec.flavor: Required value'."""
    text = ", ".join(str(e) for e in errors)
    if len(errors) > 1:
        text = "[" + text + "]"
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": [e.as_cause() for e in errors]}
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {text}', details)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")
