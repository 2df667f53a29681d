"""API errors as the real server writes them: a ``Status`` body (kind Status, reason, details).

Messages and reasons follow k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewAlreadyExists,
NewConflict, NewInvalid, NewForbidden, NewGone/NewResourceExpired, NewTooManyRequests) and the
"API Concepts" doc (https://kubernetes.io/docs/reference/using-api/api-concepts/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One entry of ``details.causes``: a field path, a reason and a message."""

    reason: str
    message: str
    field: str = ""

    def body(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class ApiError(Exception):
    """An error answer: HTTP code, reason, message and details."""

    code: int
    reason: str
    message: str
    name: str = ""
    group: str = ""
    kind: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after: int = 0

    def __str__(self) -> str:
        return self.message

    def status_body(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.body() for c in self.causes]
        if self.retry_after:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(group, plural)} "{name}" not found', name, group, plural)


def namespace_not_found(namespace: str) -> ApiError:
    # NamespaceLifecycle admission answers NotFound for the namespace itself
    # (plugin/pkg/admission/namespace/lifecycle: errors.NewNotFound(namespaces, name)).
    return not_found("", "namespaces", namespace)


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(group, plural)} "{name}" already exists', name, group, plural)


def conflict(group: str, plural: str, name: str, why: str, causes: list[Cause] | None = None) -> ApiError:
    message = f'Operation cannot be fulfilled on {_qualified(group, plural)} "{name}": {why}'
    return ApiError(409, "Conflict", message, name, group, plural, causes or [])


def invalid(group: str, kind: str, name: str, causes: list[Cause]) -> ApiError:
    # NewInvalid: `<Kind>.<group> "<name>" is invalid: <field>: <message>, ...`
    qualified = f"{kind}.{group}" if group else kind
    listed = ", ".join(f"{c.field}: {c.message}" if c.field else c.message for c in causes)
    if len(causes) > 1:
        listed = f"[{listed}]"
    message = f'{qualified} "{name}" is invalid: {listed}'
    return ApiError(422, "Invalid", message, name, group, kind, causes)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(group: str, plural: str, name: str, why: str) -> ApiError:
    # NewForbidden: `<resource>.<group> "<name>" is forbidden: <why>` (no name: `<resource> is forbidden`).
    target = f'{_qualified(group, plural)} "{name}"' if name else _qualified(group, plural)
    return ApiError(403, "Forbidden", f"{target} is forbidden: {why}", name, group, plural)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    accepted = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    message = f"the body of the request was in an unknown format - accepted media types include: {accepted}"
    return ApiError(415, "UnsupportedMediaType", f'{message}; got "{content_type}"')
