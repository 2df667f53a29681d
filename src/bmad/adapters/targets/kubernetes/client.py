"""JSON over HTTPS to the Kubernetes API through bmad's HTTP seam (``adapters/_http.py``).

Errors become their own classes, chosen by status (401, 403, 404, 409, 422, 429, 5xx), with the
Status body's ``details.causes`` kept. 429, 5xx and timeouts are retried with exponential back-off,
honouring ``Retry-After`` (header or ``details.retryAfterSeconds``). A 403 says which identity
lacks which right, worded as ``kubectl auth can-i`` asks it.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import field
from typing import Any
from urllib.parse import quote, unquote

from bmad.adapters._http import HttpClient
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, Unreachable
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, sleeper

_RETRY_PAUSE = sleeper(SpanKind.KUBERNETES, "Kubernetes API: backing off before a retry")

SYSTEM = "kubernetes"
FIELD_MANAGER = "bmad"
TEMPORARY = (429, 500, 502, 503, 504)
_ANY_STATUS = tuple(range(100, 600))
_MAX_DELAY = 10.0
WATCH_READ_TIMEOUT = 60.0  # longer than the watch's timeoutSeconds, so the server ends it
_VERBS = {"GET": "get", "PATCH": "patch", "POST": "create", "PUT": "update", "DELETE": "delete"}

# kind -> (path prefix, plural, namespaced) for the kinds bmad meets most; others via discovery.
BUILTIN_KINDS: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("v1", "Namespace"): ("/api/v1", "namespaces", False),
    ("v1", "ConfigMap"): ("/api/v1", "configmaps", True),
    ("v1", "Secret"): ("/api/v1", "secrets", True),
    ("v1", "Service"): ("/api/v1", "services", True),
    ("v1", "ServiceAccount"): ("/api/v1", "serviceaccounts", True),
    ("v1", "Pod"): ("/api/v1", "pods", True),
    ("v1", "Event"): ("/api/v1", "events", True),
    ("v1", "ResourceQuota"): ("/api/v1", "resourcequotas", True),
    ("v1", "LimitRange"): ("/api/v1", "limitranges", True),
    ("v1", "PersistentVolumeClaim"): ("/api/v1", "persistentvolumeclaims", True),
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments", True),
    ("apps/v1", "StatefulSet"): ("/apis/apps/v1", "statefulsets", True),
    ("apps/v1", "DaemonSet"): ("/apis/apps/v1", "daemonsets", True),
    ("apps/v1", "ReplicaSet"): ("/apis/apps/v1", "replicasets", True),
    ("networking.k8s.io/v1", "Ingress"): ("/apis/networking.k8s.io/v1", "ingresses", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
    ("autoscaling/v1", "HorizontalPodAutoscaler"): ("/apis/autoscaling/v1", "horizontalpodautoscalers", True),
    ("policy/v1", "PodDisruptionBudget"): ("/apis/policy/v1", "poddisruptionbudgets", True),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("/apis/scheduling.k8s.io/v1", "priorityclasses", False),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        "/apis/apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        False,
    ),
}


@datatype(frozen=True)
class StatusCause:
    """One entry of a Status body's ``details.causes`` (a field and why)."""

    field: str
    reason: str
    message: str


@datatype(frozen=True)
class ApiStatus:
    """The parts of a ``kind: Status`` answer bmad reports."""

    message: str
    reason: str = ""
    causes: tuple[StatusCause, ...] = ()
    retry_after: float | None = None


def parse_status(text: str) -> ApiStatus:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return ApiStatus(text[:300])
    if not isinstance(data, dict):
        return ApiStatus(text[:300])
    details = data.get("details") or {}
    causes = tuple(
        StatusCause(str(c.get("field") or ""), str(c.get("reason") or ""), str(c.get("message") or ""))
        for c in details.get("causes") or []
        if isinstance(c, dict)
    )
    retry = details.get("retryAfterSeconds")
    return ApiStatus(
        str(data.get("message") or data.get("reason") or "")[:500],
        str(data.get("reason") or ""),
        causes,
        float(retry) if isinstance(retry, int | float) else None,
    )


class KubeApiError(AdapterError):
    """The API server answered with an error Status."""

    def __init__(self, action: str, status: int, body: ApiStatus, *, hint: str | None = None) -> None:
        super().__init__(SYSTEM, action, redact(body.message), status=status, temporary=status in TEMPORARY, hint=hint)
        self.api_status = body


class Unauthorized(KubeApiError):
    """401: the server did not accept the credentials at all."""


class Forbidden(KubeApiError):
    """403: the identity lacks a right (RBAC), or an admission plugin refused."""


class NotFound(KubeApiError):
    """404."""


class Conflict(KubeApiError):
    """409: with server-side apply, fields another field manager owns (``details.causes``)."""

    def conflicts(self) -> list[str]:
        """One line per conflicting field: ``.spec.replicas (manager "hpa-controller")``."""
        return [f"{c.field} ({c.message})" if c.field else c.message for c in self.api_status.causes]


class Gone(KubeApiError):
    """410: a watch's resourceVersion is older than the server keeps: list again."""


class WatchUnsupported(AdapterError):
    """The server answered a watch request with something other than a stream of events."""


class Invalid(KubeApiError):
    """422: validation failed; ``details.causes`` names each field."""


class Throttled(KubeApiError):
    """429 Too Many Requests (API Priority and Fairness, or a rate limit)."""


class ServerError(KubeApiError):
    """5xx: the API server or something behind it failed."""


_ERROR_CLASSES: dict[int, type[KubeApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: Throttled,
}


@datatype(frozen=True)
class Credentials:
    """How to reach and authenticate to one API server (from a kubeconfig or in-cluster)."""

    host: str
    identity: str  # the kubeconfig user (or "service account") for error messages
    token: Callable[[], str | None] = field(default=lambda: None, repr=False)  # "Bearer ..." (refreshed)
    verify: bool | str = True  # a CA bundle path, or False for insecure-skip-tls-verify
    cert: tuple[str, str] | None = None  # client certificate and key files


def can_i(method: str, path: str) -> str:
    """The ``kubectl auth can-i`` question a request asks: ``patch deployments -n team-a``."""
    parts = [unquote(p) for p in path.split("?")[0].strip("/").split("/")]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return f"{_VERBS.get(method, method.lower())} namespaces"
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    verb = _VERBS.get(method, method.lower())
    if method == "GET" and len(rest) == 1:
        verb = "list"
    where = f" -n {namespace}" if namespace else ""
    return f"{verb} {resource}{where}"


class KubeApi:
    """Any path, any verb: JSON in and out, errors as :class:`KubeApiError` subclasses."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float = 15.0,
        retries: int = 4,
        sleep: Callable[[float], None] = _RETRY_PAUSE,
    ) -> None:
        self.credentials = credentials
        self.retries = retries
        self._sleep = sleep
        self._http = HttpClient(
            SYSTEM, credentials.host, timeout=timeout, verify=credentials.verify, cert=credentials.cert
        )
        self._discovery: dict[str, dict[str, tuple[str, bool]]] = {}
        self._lock = threading.Lock()
        self.request_count = 0

    @property
    def host(self) -> str:
        return self.credentials.host

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        missing_ok: bool = False,
        raw: bool = False,
    ) -> Any:
        """Send once, retrying 429/5xx/timeouts; a 404 is None when ``missing_ok``."""
        attempt = 0
        while True:
            try:
                return self._once(method, path, query, body, content_type, missing_ok, raw)
            except AdapterError as exc:
                if not exc.temporary or attempt >= self._budget(exc):
                    raise
                attempt += 1
                self._sleep(_delay(exc, attempt))

    def _budget(self, exc: AdapterError) -> int:
        # A server that does not answer at all is asked twice more; a busy one up to ``retries`` times.
        return min(2, self.retries) if isinstance(exc, Unreachable) else self.retries

    def _once(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None,
        body: Any,
        content_type: str | None,
        missing_ok: bool,
        raw: bool,
    ) -> Any:
        headers = {"Accept": "*/*" if raw else "application/json"}
        token = self.credentials.token()
        if token:
            headers["Authorization"] = token
        data = None
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            data = json.dumps(body).encode()
        with self._lock:
            self.request_count += 1
        try:
            # verify per request: a session's verify loses to REQUESTS_CA_BUNDLE (requests#3829).
            response = self._http.request(
                method,
                path,
                expect=_ANY_STATUS,
                params=query or [],
                data=data,
                headers=headers,
                verify=self.credentials.verify,
            )
        except Unreachable as exc:
            raise Unreachable(
                SYSTEM,
                f"{method} {path}",
                exc.detail,
                hint=f"is the API server at {self.host} reachable?",
            ) from None
        if response.status_code >= 400:
            if response.status_code == 404 and missing_ok:
                return None
            raise self._error(method, path, response.status_code, response.text, response.headers)
        if raw:
            return response.text
        if not response.text.strip():
            return None
        try:
            return response.json()
        except ValueError:  # an HTML page from a proxy or a login gateway in front of the API server
            kind = str(response.headers.get("Content-Type") or "no content type").split(";")[0]
            raise AdapterError(
                SYSTEM,
                f"{method} {path}",
                f"the answer (status {response.status_code}, {kind}) is not JSON",
                hint=f"is {self.host} the API server itself? kubectl's `cluster-info` shows the address it uses",
            ) from None

    def _error(self, method: str, path: str, status: int, text: str, headers: Any) -> KubeApiError:
        body = parse_status(text)
        retry_header = headers.get("Retry-After") if headers is not None else None
        if body.retry_after is None and retry_header and str(retry_header).isdigit():
            body = ApiStatus(body.message, body.reason, body.causes, float(retry_header))
        action = f"{method} {path}"
        who = self.credentials.identity
        if status == 401:
            hint = (
                f"the API server did not accept the credentials of {who}: the token expired or is wrong; "
                "`kubectl auth whoami` shows what the cluster sees"
            )
        elif status == 403:
            hint = (
                f"{who} lacks this right: `kubectl auth can-i {can_i(method, path)}` answers no; "
                "ask the cluster admin for a Role (or ClusterRole) that grants it"
            )
        else:
            hint = None
        cls = _ERROR_CLASSES.get(status, ServerError if status >= 500 else KubeApiError)
        return cls(action, status, body, hint=hint)

    @staticmethod
    def status_of(obj: dict[str, Any]) -> ApiStatus:
        """A Status object (as a watch's ERROR event carries it)."""
        return parse_status(json.dumps(obj))

    def watch(self, path: str, resource_version: str, *, query: list[tuple[str, str]]) -> WatchStream:
        """Open a watch from ``resource_version``; the stream yields the events as dicts."""
        params = [("watch", "1"), *query] + ([("resourceVersion", resource_version)] if resource_version else [])
        headers = {"Accept": "application/json"}
        token = self.credentials.token()
        if token:
            headers["Authorization"] = token
        with self._lock:
            self.request_count += 1
        response = self._http.request(
            "GET",
            path,
            expect=_ANY_STATUS,
            params=params,
            headers=headers,
            verify=self.credentials.verify,
            stream=True,
            timeout=(self._http.timeout, WATCH_READ_TIMEOUT),
        )
        if response.status_code >= 400:
            text = response.text
            response.close()
            raise self._error("GET", path, response.status_code, text, response.headers)
        return WatchStream(response, path)

    # -- resources -------------------------------------------------------------------------------
    def resource(self, api_version: str, kind: str) -> tuple[str, str, bool]:
        """(path prefix, plural, namespaced) of a kind, from the built-in table or API discovery."""
        known = BUILTIN_KINDS.get((api_version, kind))
        if known is not None:
            return known
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        with self._lock:
            table = self._discovery.get(prefix)
        if table is None or kind not in table:
            listing = self.request("GET", prefix, missing_ok=True) or {}
            table = {
                str(r["kind"]): (str(r["name"]), bool(r.get("namespaced")))
                for r in listing.get("resources", [])
                if "/" not in str(r.get("name", ""))
            }
            with self._lock:
                self._discovery[prefix] = table
        if kind not in table:
            raise AdapterError(
                SYSTEM,
                f"finding the resource for {api_version} {kind}",
                "the API server does not serve this kind",
                hint="is the CRD installed (and Established)?",
            )
        plural, namespaced = table[kind]
        return prefix, plural, namespaced

    def object_path(self, api_version: str, kind: str, name: str | None, namespace: str | None) -> str:
        prefix, plural, namespaced = self.resource(api_version, kind)
        path = prefix
        if namespaced and namespace:
            path += f"/namespaces/{quote(namespace)}"
        path += f"/{plural}"
        if name:
            path += f"/{quote(name)}"
        return path

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        result = self.request("GET", self.object_path(api_version, kind, name, namespace), missing_ok=True)
        return result if isinstance(result, dict) else None

    def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        query = []
        if selector:
            query.append(("labelSelector", selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        result = self.request("GET", self.object_path(api_version, kind, None, namespace), query=query)
        return list((result or {}).get("items") or [])

    def apply(self, obj: dict[str, Any], *, force: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as field manager ``bmad``; ``force`` takes fields other managers own."""
        meta = obj.get("metadata") or {}
        path = self.object_path(str(obj["apiVersion"]), str(obj["kind"]), str(meta["name"]), meta.get("namespace"))
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        result = self.request("PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml")
        return result if isinstance(result, dict) else {}

    def json_patch(
        self, api_version: str, kind: str, name: str, namespace: str, operations: list[dict[str, Any]]
    ) -> dict[str, Any]:
        result = self.request(
            "PATCH",
            self.object_path(api_version, kind, name, namespace),
            query=[("fieldManager", FIELD_MANAGER)],
            body=operations,
            content_type="application/json-patch+json",
        )
        return result if isinstance(result, dict) else {}

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> bool:
        """Delete (background propagation); False when it was already gone."""
        path = self.object_path(api_version, kind, name, namespace)
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        return self.request("DELETE", path, body=body, missing_ok=True) is not None


class WatchStream:
    """The events of one open watch."""

    def __init__(self, response: Any, path: str) -> None:
        self._response = response
        self._path = path

    def events(self) -> Iterator[dict[str, Any]]:
        import requests

        try:
            for line in self._response.iter_lines():
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    raise WatchUnsupported(SYSTEM, f"watch {self._path}", "the answer is not JSON events") from None
                if not isinstance(event, dict) or "type" not in event:
                    raise WatchUnsupported(SYSTEM, f"watch {self._path}", "the server answered a watch with a list")
                yield event
        except (requests.RequestException, AttributeError, ValueError) as exc:
            # a dropped stream: the informer watches again
            raise Unreachable(SYSTEM, f"watch {self._path}", str(exc)[:200]) from None
        finally:
            self._response.close()


def _delay(exc: AdapterError, attempt: int) -> float:
    if isinstance(exc, KubeApiError) and exc.api_status.retry_after is not None:
        return float(min(exc.api_status.retry_after, _MAX_DELAY))
    base: float = min(0.25 * 2.0 ** (attempt - 1), _MAX_DELAY)
    return base + random.uniform(0, base / 4)
