"""A small stateful Kubernetes API stand-in, spoken to over real HTTP by the official client.

Why not KMock's ``KubernetesEmulator``: it answers PATCH on a missing object with 404 (server-side
apply creates), has no label selectors, no ``metadata.generation`` / ``observedGeneration``, no
subresources and no pod logs — all of which a rollout needs. This stand-in keeps objects in memory
and serves:

* discovery (``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>/<version>``),
* get / list (``labelSelector``, ``fieldSelector``) / create / replace / delete,
* PATCH as server-side apply (``application/apply-patch+yaml``, ``fieldManager`` required, creates
  when missing), JSON merge patch, strategic merge (as merge) and JSON patch, ``/status``,
* ``pods/<name>/log`` (``tailLines``, ``previous``), bearer-token auth.

Simplification: server-side apply merges the applied object into the live one (lists replaced);
it does not prune fields a manager stopped applying.

Controllers run in a background thread, the way kube-controller-manager and the kubelet would:
Deployment -> ReplicaSets (template hash, revision annotation, surge then scale-down, conditions
with ``progressDeadlineSeconds``) -> Pods. The "kubelet" really runs each pod: the image reference
must be registered with :meth:`KubeStandIn.register_image` (argv of a local process); unknown
images give ``ErrImagePull``/``ImagePullBackOff``; a process that exits gives ``CrashLoopBackOff``
with its output as the pod's log; the readiness probe is an HTTP GET on the process' port; requests
above the node's free CPU leave the pod Pending (Unschedulable). :meth:`service_url` starts a proxy
that forwards to the ready pods a Service selects.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonpatch  # type: ignore[import-untyped]
import yaml

from tests.helpers import free_port

TOKEN = "stand-in-token"

# plural -> (prefix, kind, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("/api/v1", "Namespace", False),
    "configmaps": ("/api/v1", "ConfigMap", True),
    "secrets": ("/api/v1", "Secret", True),
    "services": ("/api/v1", "Service", True),
    "serviceaccounts": ("/api/v1", "ServiceAccount", True),
    "pods": ("/api/v1", "Pod", True),
    "events": ("/api/v1", "Event", True),
    "resourcequotas": ("/api/v1", "ResourceQuota", True),
    "limitranges": ("/api/v1", "LimitRange", True),
    "persistentvolumeclaims": ("/api/v1", "PersistentVolumeClaim", True),
    "deployments": ("/apis/apps/v1", "Deployment", True),
    "replicasets": ("/apis/apps/v1", "ReplicaSet", True),
    "ingresses": ("/apis/networking.k8s.io/v1", "Ingress", True),
    "networkpolicies": ("/apis/networking.k8s.io/v1", "NetworkPolicy", True),
    "horizontalpodautoscalers": ("/apis/autoscaling/v2", "HorizontalPodAutoscaler", True),
    "poddisruptionbudgets": ("/apis/policy/v1", "PodDisruptionBudget", True),
    "priorityclasses": ("/apis/scheduling.k8s.io/v1", "PriorityClass", False),
}
REVISION = "deployment.kubernetes.io/revision"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_version(prefix: str) -> str:
    return "v1" if prefix == "/api/v1" else prefix[len("/apis/") :]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def template_hash(template: dict[str, Any]) -> str:
    clean = copy.deepcopy(template)
    (clean.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:10]


def match_labels(labels: dict[str, str], selector: str | None) -> bool:
    if not selector:
        return True
    for part in _split_selector(selector):
        part = part.strip()
        if not part:
            continue
        if " notin " in part:
            key, values = part.split(" notin ", 1)
            if labels.get(key.strip()) in values.strip(" ()").split(","):
                return False
        elif " in " in part:
            key, values = part.split(" in ", 1)
            if labels.get(key.strip()) not in values.strip(" ()").split(","):
                return False
        elif "!=" in part:
            key, value = part.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in part:
            key, value = part.split("=", 1)
            if labels.get(key.strip().rstrip("=")) != value.strip().lstrip("="):
                return False
        elif part.startswith("!"):
            if part[1:] in labels:
                return False
        elif part not in labels:
            return False
    return True


def _split_selector(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _quantity(key: str, value: Any) -> int:
    """A resource quantity in milli-CPU or bytes."""
    if key == "cpu":
        return _cpu_millis(value)
    text = str(value or "0")
    for suffix, factor in _UNITS.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text))


def _cpu_millis(value: Any) -> int:
    text = str(value or "0")
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


class _Kubelet:
    """What the stand-in's kubelet knows about one pod."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.next_start = 0.0
        self.previous_log = ""
        self.last_exit: int | None = None
        self.pull_failed_since: float | None = None


class KubeStandIn:
    def __init__(self, *, node_cpu: str = "4", tick: float = 0.05, port_pool: list[int] | None = None) -> None:
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self._images: dict[str, list[str]] = {}
        self._kubelets: dict[tuple[str, str], _Kubelet] = {}
        self._node_cpu = _cpu_millis(node_cpu)
        self._tick = tick
        self._port_pool = list(port_pool or [])
        self._tmp = Path(tempfile.mkdtemp(prefix="kube-stand-in-"))
        self._stop = threading.Event()
        self._proxies: dict[tuple[str, str], ThreadingHTTPServer] = {}
        self._rr = itertools.count()
        self._progress: dict[tuple[str, str], tuple[float, tuple[int, ...]]] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, content type) for assertions
        handler = self._handler_class()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="kube-stand-in-api",
            ),
            threading.Thread(target=self._controllers, daemon=True, name="kube-stand-in-controllers"),
        ]

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> KubeStandIn:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for proxy in self._proxies.values():
            proxy.shutdown()
            proxy.server_close()
        with self._lock:
            kubelets = list(self._kubelets.values())
        for kubelet in kubelets:
            self._kill(kubelet)

    def __enter__(self) -> KubeStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, *, namespace: str | None = None, context: str = "stand-in") -> Path:
        ctx: dict[str, Any] = {"cluster": "stand-in", "user": "stand-in"}
        if namespace:
            ctx["namespace"] = namespace
        data = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": {"server": self.url}}],
            "users": [{"name": "stand-in", "user": {"token": TOKEN}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    def register_image(self, reference: str, argv: list[str]) -> None:
        """Pods whose container image is ``reference`` run ``argv`` (with HELLO_HOST/HELLO_PORT set)."""
        with self._lock:
            self._images[reference] = list(argv)

    # -- direct access for tests ----------------------------------------------------------------
    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        with self._lock:
            obj = self._objects.get((plural, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def list(self, plural: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (p, ns, _n), o in sorted(self._objects.items(), key=lambda kv: str(kv[0]))
                if p == plural
                and (namespace is None or ns == namespace)
                and match_labels(o.get("metadata", {}).get("labels") or {}, selector)
            ]

    def put(self, obj: dict[str, Any]) -> None:
        """Create or replace an object directly (e.g. a Secret the operator created beforehand)."""
        plural = next(p for p, (_pre, kind, _ns) in RESOURCES.items() if kind == obj["kind"])
        with self._lock:
            self._store(plural, obj["metadata"].get("namespace"), copy.deepcopy(obj))

    def set_progress_deadline_clock(self, namespace: str, name: str, seconds_ago: float) -> None:
        """Pretend the Deployment's last progress was ``seconds_ago`` (a stuck rollout, without waiting)."""
        with self._lock:
            key = (namespace, name)
            _when, counts = self._progress.get(key, (time.monotonic(), ()))
            self._progress[key] = (time.monotonic() - seconds_ago, counts)

    def service_url(self, namespace: str, name: str) -> str:
        """A URL that forwards to the ready pods the Service ``namespace/name`` selects (like kube-proxy)."""
        key = (namespace, name)
        with self._lock:
            if key not in self._proxies:
                self._proxies[key] = self._start_proxy(namespace, name)
            server = self._proxies[key]
        return f"http://127.0.0.1:{server.server_address[1]}"

    def pod_ports(self, namespace: str) -> list[int]:
        with self._lock:
            return [k.port for (ns, _n), k in self._kubelets.items() if ns == namespace]

    # -- HTTP ----------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                code, ctype, payload = standin.handle(method, self.path, headers, body)
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        ctype = headers.get("content-type", "").split(";")[0].strip()
        self.requests.append((method, parts.path, ctype))
        try:
            if headers.get("authorization") != f"Bearer {TOKEN}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            result = self._route(method, parts.path, query, ctype, body)
        except ApiError as err:
            return err.code, "application/json", json.dumps(err.status()).encode()
        if isinstance(result, str):
            return 200, "text/plain", result.encode()
        return 200, "application/json", json.dumps(result).encode()

    def _route(self, method: str, path: str, query: dict[str, str], ctype: str, body: bytes) -> Any:
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            groups = sorted({_api_version(pre) for pre, _k, _n in RESOURCES.values() if pre != "/api/v1"})
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": gv.split("/")[0],
                        "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                        "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                    }
                    for gv in groups
                ],
            }
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if segments[0] == "api" and len(segments) >= 2:
            prefix, rest = "/api/" + segments[1], segments[2:]
        elif segments[0] == "apis" and len(segments) >= 3:
            prefix, rest = f"/apis/{segments[1]}/{segments[2]}", segments[3:]
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
        plurals = {p for p, (pre, _k, _n) in RESOURCES.items() if pre == prefix}
        if not plurals:
            raise ApiError(404, "NotFound", f"no resources under {prefix}")
        if not rest:
            return {
                "kind": "APIResourceList",
                "groupVersion": _api_version(prefix),
                "resources": [
                    {
                        "name": p,
                        "kind": RESOURCES[p][1],
                        "namespaced": RESOURCES[p][2],
                        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                    }
                    for p in sorted(plurals)
                ],
            }
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] in plurals:
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        if plural not in plurals:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural})")
        with self._lock:
            if method == "GET" and name is None:
                return self._list(plural, namespace, query)
            if method == "GET" and sub == "log":
                return self._log(namespace or "", name or "", query)
            if method == "GET":
                return copy.deepcopy(self._require(plural, namespace, name or ""))
            data = self._decode(body, ctype)
            if method == "POST":
                return self._create(plural, namespace, data)
            if method == "PUT":
                return self._replace(plural, namespace, name or "", data, sub)
            if method == "PATCH":
                return self._patch(plural, namespace, name or "", data, ctype, query, sub)
            if method == "DELETE":
                obj = self._require(plural, namespace, name or "")
                self._delete(plural, namespace, name or "")
                return {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Success",
                    "details": {"name": name},
                    "metadata": {},
                    "code": 200,
                    "object": obj,
                }
        raise ApiError(405, "MethodNotAllowed", method)

    @staticmethod
    def _decode(body: bytes, ctype: str) -> Any:
        if not body:
            return None
        try:
            return yaml.safe_load(body) if "yaml" in ctype else json.loads(body)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"cannot decode body: {exc}") from None

    def _list(self, plural: str, namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
        selector = query.get("labelSelector")
        fields = dict(f.split("=", 1) for f in query.get("fieldSelector", "").split(",") if "=" in f)
        items = []
        for (p, ns, _name), obj in self._objects.items():
            if p != plural or (namespace is not None and ns != namespace):
                continue
            if not match_labels(obj.get("metadata", {}).get("labels") or {}, selector):
                continue
            if any(_field(obj, key) != value for key, value in fields.items()):
                continue
            items.append(copy.deepcopy(obj))
        prefix, kind, _ns = RESOURCES[plural]
        items.sort(key=lambda o: (o["metadata"].get("creationTimestamp", ""), int(o["metadata"]["resourceVersion"])))
        return {
            "kind": f"{kind}List",
            "apiVersion": _api_version(prefix),
            "metadata": {"resourceVersion": str(next(self._rv))},
            "items": items,
        }

    def _require(self, plural: str, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self._objects.get((plural, namespace, name))
        if obj is None:
            kind = RESOURCES[plural][1].lower()
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found' if kind else "not found")
        return obj

    def _check_body(self, plural: str, namespace: str | None, data: Any, name: str | None = None) -> dict[str, Any]:
        prefix, kind, namespaced = RESOURCES[plural]
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "body must be an object")
        if data.get("kind") != kind or data.get("apiVersion") != _api_version(prefix):
            raise ApiError(
                400,
                "BadRequest",
                f"body is {data.get('apiVersion')}/{data.get('kind')}, the URL is {_api_version(prefix)}/{kind}",
            )
        meta = data.setdefault("metadata", {})
        if name is not None and meta.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name in the URL")
        if name is not None:
            meta["name"] = name
        if not meta.get("name"):
            raise ApiError(422, "Invalid", "metadata.name: Required value")
        if namespaced:
            if meta.get("namespace") not in (None, namespace):
                raise ApiError(400, "BadRequest", "the namespace of the object does not match the URL")
            meta["namespace"] = namespace
            if ("namespaces", None, namespace) not in self._objects:
                raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
        if kind == "Deployment":
            spec = data.get("spec") or {}
            selector = (spec.get("selector") or {}).get("matchLabels") or {}
            labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
            pod_spec = (spec.get("template") or {}).get("spec") or {}
            for index, container in enumerate(pod_spec.get("containers") or []):
                resources = container.get("resources") or {}
                for key in ("cpu", "memory"):
                    request = (resources.get("requests") or {}).get(key)
                    limit = (resources.get("limits") or {}).get(key)
                    if request is not None and limit is not None and _quantity(key, request) > _quantity(key, limit):
                        raise ApiError(
                            422,
                            "Invalid",
                            f"spec.template.spec.containers[{index}].resources.requests: Invalid value: "
                            f'"{request}": must be less than or equal to {key} limit of {limit}',
                        )
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                raise ApiError(
                    422,
                    "Invalid",
                    "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
                )
        return data

    def _store(
        self,
        plural: str,
        namespace: str | None,
        obj: dict[str, Any],
        old: dict[str, Any] | None = None,
        manager: str | None = None,
        operation: str = "Update",
    ) -> None:
        meta = obj.setdefault("metadata", {})
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
            if "spec" in obj or RESOURCES[plural][1] in ("Deployment", "ReplicaSet"):
                meta["generation"] = 1
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            if "generation" in old["metadata"]:
                changed = json.dumps(old.get("spec"), sort_keys=True) != json.dumps(obj.get("spec"), sort_keys=True)
                meta["generation"] = old["metadata"]["generation"] + (1 if changed else 0)
        if manager:
            fields = [m for m in meta.get("managedFields") or [] if m.get("manager") != manager]
            fields.append({"manager": manager, "operation": operation, "time": _now()})
            meta["managedFields"] = fields
        meta["resourceVersion"] = str(next(self._rv))
        self._objects[(plural, namespace, meta["name"])] = obj

    def _create(self, plural: str, namespace: str | None, data: Any) -> dict[str, Any]:
        data = self._check_body(plural, namespace, data)
        if (plural, namespace, data["metadata"]["name"]) in self._objects:
            raise ApiError(409, "AlreadyExists", f'{plural} "{data["metadata"]["name"]}" already exists')
        data.pop("status", None) if plural not in ("events",) else None
        self._store(plural, namespace, data)
        return copy.deepcopy(data)

    def _replace(self, plural: str, namespace: str | None, name: str, data: Any, sub: str | None) -> dict[str, Any]:
        old = self._require(plural, namespace, name)
        if sub == "status":
            new = copy.deepcopy(old)
            new["status"] = (data or {}).get("status")
        else:
            new = self._check_body(plural, namespace, data, name)
            new["status"] = old.get("status")
        self._store(plural, namespace, new, old)
        return copy.deepcopy(new)

    def _patch(
        self,
        plural: str,
        namespace: str | None,
        name: str,
        data: Any,
        ctype: str,
        query: dict[str, str],
        sub: str | None,
    ) -> dict[str, Any]:
        old = self._objects.get((plural, namespace, name))
        if ctype == "application/apply-patch+yaml":
            manager = query.get("fieldManager")
            if not manager:
                raise ApiError(400, "BadRequest", "PATCH, fieldManager must be set for apply requests")
            applied = self._check_body(plural, namespace, copy.deepcopy(data), name)
            applied.pop("status", None)
            if old is None:
                self._store(plural, namespace, applied, manager=manager, operation="Apply")
                return copy.deepcopy(applied)
            merged = _apply_merge(old, applied)
            self._store(plural, namespace, merged, old, manager=manager, operation="Apply")
            return copy.deepcopy(merged)
        if old is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        if ctype == "application/json-patch+json":
            if not isinstance(data, list):
                raise ApiError(400, "BadRequest", "a JSON patch is a list of operations")
            try:
                new = jsonpatch.apply_patch(copy.deepcopy(old), data)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiError(422, "Invalid", f"cannot apply the JSON patch: {exc}") from None
        elif ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            new = merge_patch(old, data)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the media type {ctype!r} is not supported for PATCH")
        if sub != "status":
            new["status"] = old.get("status")
            self._check_body(plural, namespace, new, name)
        self._store(plural, namespace, new, old, manager=query.get("fieldManager"))
        return copy.deepcopy(new)

    def _delete(self, plural: str, namespace: str | None, name: str) -> None:
        self._objects.pop((plural, namespace, name), None)
        if plural == "pods":
            kubelet = self._kubelets.pop((namespace or "", name), None)
            if kubelet is not None:
                self._kill(kubelet)

    def _log(self, namespace: str, name: str, query: dict[str, str]) -> str:
        self._require("pods", namespace, name)
        kubelet = self._kubelets.get((namespace, name))
        if kubelet is None:
            return ""
        if query.get("previous") == "true":
            text = kubelet.previous_log
            if not text and kubelet.restarts == 0:
                raise ApiError(400, "BadRequest", f'previous terminated container in pod "{name}" not found')
        else:
            text = kubelet.log_path.read_text(errors="replace") if kubelet.log_path.exists() else ""
        lines = text.splitlines()
        if query.get("tailLines"):
            lines = lines[-int(query["tailLines"]) :]
        return "\n".join(lines) + ("\n" if lines else "")

    # -- controllers ------------------------------------------------------------------------------
    def _controllers(self) -> None:
        while not self._stop.wait(self._tick):
            try:
                with self._lock:
                    self._deployments()
                    self._replicasets()
                    pods = [copy.deepcopy(o) for (p, _ns, _n), o in self._objects.items() if p == "pods"]
                self._kubelet(pods)
            except Exception as exc:  # keep the controllers alive; show the bug in the test output
                print(f"kube stand-in controller error: {type(exc).__name__}: {exc}")

    def _owned(self, plural: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"].get("namespace")
        return [
            o
            for (p, n, _name), o in self._objects.items()
            if p == plural and n == ns and any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
        ]

    def _pods_ready(self, rs: dict[str, Any]) -> int:
        return sum(1 for pod in self._owned("pods", rs) if _ready(pod))

    def _deployments(self) -> None:
        for (plural, ns, name), dep in list(self._objects.items()):
            if plural != "deployments":
                continue
            spec = dep.get("spec") or {}
            template = spec.get("template") or {}
            digest = template_hash(template)
            sets = self._owned("replicasets", dep)
            max_rev = max((int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in sets), default=0)
            current = next(
                (rs for rs in sets if rs["metadata"].get("labels", {}).get("pod-template-hash") == digest), None
            )
            meta = dep["metadata"]
            changed = False
            if current is None:
                labels = dict(template.get("metadata", {}).get("labels") or {})
                labels["pod-template-hash"] = digest
                rs_template = copy.deepcopy(template)
                rs_template.setdefault("metadata", {})["labels"] = labels
                current = {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{digest}",
                        "namespace": ns,
                        "labels": labels,
                        "annotations": {REVISION: str(max_rev + 1)},
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "Deployment",
                                "name": name,
                                "uid": meta["uid"],
                                "controller": True,
                            }
                        ],
                    },
                    "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": rs_template},
                    "status": {"replicas": 0},
                }
                self._store("replicasets", ns, current)
                changed = True
            elif int(current["metadata"]["annotations"].get(REVISION, "0")) != max_rev:
                current["metadata"]["annotations"][REVISION] = str(max_rev + 1)  # rollback: the old RS comes back
                changed = True
            revision = current["metadata"]["annotations"][REVISION]
            if meta.setdefault("annotations", {}).get(REVISION) != revision:
                meta["annotations"][REVISION] = revision
            desired = int(spec.get("replicas", 1))
            current["spec"]["replicas"] = desired
            ready_new = self._pods_ready(current)
            for rs in sets:
                if rs is current:
                    continue
                rs["spec"]["replicas"] = max(0, min(rs["spec"].get("replicas", 0), desired - ready_new))
            all_pods = [p for rs in self._owned("replicasets", dep) for p in self._owned("pods", rs)]
            new_pods = self._owned("pods", current)
            ready = sum(1 for p in all_pods if _ready(p))
            counts = (len(all_pods), len(new_pods), ready)
            key = (ns or "", name)
            last_time, last_counts = self._progress.get(key, (time.monotonic(), ()))
            if changed or counts != last_counts:
                last_time = time.monotonic()
            self._progress[key] = (last_time, counts)
            complete = (
                len(new_pods) == desired
                and len(all_pods) == desired
                and ready >= desired
                and self._pods_ready(current) >= desired
            )
            deadline = float(spec.get("progressDeadlineSeconds", 600))
            old_conditions = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}
            progressing = old_conditions.get("Progressing")
            if complete:
                progressing = {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "message": f'ReplicaSet "{current["metadata"]["name"]}" has successfully progressed.',
                }
            elif (
                changed
                or not progressing
                or (
                    progressing.get("reason") != "ProgressDeadlineExceeded" and time.monotonic() - last_time <= deadline
                )
            ):
                progressing = {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{current["metadata"]["name"]}" is progressing.',
                }
            if not complete and time.monotonic() - last_time > deadline:
                progressing = {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": f'ReplicaSet "{current["metadata"]["name"]}" has timed out progressing.',
                }
            available = {
                "type": "Available",
                "status": "True" if ready >= desired else "False",
                "reason": "MinimumReplicasAvailable" if ready >= desired else "MinimumReplicasUnavailable",
            }
            dep["status"] = {
                "observedGeneration": meta.get("generation", 1),
                "replicas": len(all_pods),
                "updatedReplicas": len(new_pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": max(0, len(all_pods) - ready),
                "conditions": [progressing, available],
            }

    def _replicasets(self) -> None:
        for (plural, ns, _name), rs in list(self._objects.items()):
            if plural != "replicasets":
                continue
            pods = self._owned("pods", rs)
            want = int(rs["spec"].get("replicas", 0))
            failure = None
            for _ in range(want - len(pods)):
                template = copy.deepcopy(rs["spec"]["template"])
                pod_name = f"{rs['metadata']['name']}-{uuid.uuid4().hex[:5]}"
                failure = self._admit(ns or "", pod_name, template.setdefault("spec", {}))
                if failure is not None:
                    break
                pod = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        **template.get("metadata", {}),
                        "name": pod_name,
                        "namespace": ns,
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "ReplicaSet",
                                "name": rs["metadata"]["name"],
                                "uid": rs["metadata"]["uid"],
                                "controller": True,
                            }
                        ],
                    },
                    "spec": template.get("spec", {}),
                    "status": {"phase": "Pending", "conditions": []},
                }
                self._store("pods", ns, pod)
            if len(pods) > want:
                doomed = sorted(pods, key=lambda p: (_ready(p), p["metadata"]["creationTimestamp"]))[: len(pods) - want]
                for pod in doomed:
                    self._delete("pods", ns, pod["metadata"]["name"])
            rs["status"] = {
                "replicas": min(want, len(pods)) if len(pods) > want else len(pods),
                "readyReplicas": self._pods_ready(rs),
            }
            if failure is not None:
                rs["status"]["conditions"] = [
                    {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure}
                ]

    def _admit(self, namespace: str, pod_name: str, spec: dict[str, Any]) -> str | None:
        """Admission as the API server does it: LimitRange defaults and maxima, then ResourceQuota."""
        ranges = [o for (p, ns, _n), o in self._objects.items() if p == "limitranges" and ns == namespace]
        requested = {"cpu": 0, "memory": 0}
        for index, container in enumerate(spec.get("containers") or []):
            resources = container.setdefault("resources", {})
            limits, requests = resources.setdefault("limits", {}), resources.setdefault("requests", {})
            for lr in ranges:
                for item in (lr.get("spec") or {}).get("limits") or []:
                    if item.get("type") != "Container":
                        continue
                    for key, value in (item.get("default") or {}).items():
                        limits.setdefault(key, value)
                    for key, value in (item.get("defaultRequest") or {}).items():
                        requests.setdefault(key, value)
                    for key, value in (item.get("max") or {}).items():
                        if key in limits and _quantity(key, limits[key]) > _quantity(key, value):
                            return (
                                f'pods "{pod_name}" is forbidden: maximum {key} usage per Container is '
                                f"{value}, but limit is {limits[key]}"
                            )
            for key in ("cpu", "memory"):
                if key in requests and key in limits and _quantity(key, requests[key]) > _quantity(key, limits[key]):
                    return (
                        f'Pod "{pod_name}" is invalid: spec.containers[{index}].resources.requests: Invalid '
                        f'value: "{requests[key]}": must be less than or equal to {key} limit of {limits[key]}'
                    )
                requested[key] += _quantity(key, requests.get(key, 0))
        pods = [o for (p, ns, _n), o in self._objects.items() if p == "pods" and ns == namespace]
        used = {
            key: sum(
                _quantity(key, (c.get("resources") or {}).get("requests", {}).get(key, 0))
                for pod in pods
                for c in pod["spec"].get("containers") or []
            )
            for key in ("cpu", "memory")
        }
        for (p, ns, name), quota in self._objects.items():
            if p != "resourcequotas" or ns != namespace:
                continue
            hard = (quota.get("spec") or {}).get("hard") or {}
            if "pods" in hard and len(pods) + 1 > int(hard["pods"]):
                return (
                    f'pods "{pod_name}" is forbidden: exceeded quota: {name}, requested: pods=1, '
                    f"used: pods={len(pods)}, limited: pods={hard['pods']}"
                )
            for key in ("cpu", "memory"):
                limit = hard.get(f"requests.{key}")
                if limit is not None and used[key] + requested[key] > _quantity(key, limit):
                    return (
                        f'pods "{pod_name}" is forbidden: exceeded quota: {name}, requested: '
                        f"requests.{key}={requested[key]}, used: requests.{key}={used[key]}, "
                        f"limited: requests.{key}={limit}"
                    )
        return None

    def _event(self, namespace: str, pod: str, reason: str, message: str, type_: str = "Warning") -> None:
        name = f"{pod}.{uuid.uuid4().hex[:8]}"
        self._store(
            "events",
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": namespace},
                "reason": reason,
                "message": message,
                "type": type_,
                "lastTimestamp": _now(),
            },
        )

    def _allocate_port(self) -> int:
        used = {k.port for k in self._kubelets.values()}
        for port in self._port_pool:
            if port not in used:
                return port
        return free_port()

    def _kubelet(self, pods: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for pod in pods:
            ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            container = (pod["spec"].get("containers") or [{}])[0]
            image = str(container.get("image", ""))
            with self._lock:
                if ("pods", ns, name) not in self._objects:
                    continue
                kubelet = self._kubelets.get((ns, name))
                if kubelet is None:
                    requested = sum(
                        _cpu_millis((c.get("resources") or {}).get("requests", {}).get("cpu"))
                        for c in pod["spec"].get("containers") or []
                    )
                    if requested > self._node_cpu:
                        self._set_status(
                            ns,
                            name,
                            {
                                "phase": "Pending",
                                "conditions": [
                                    {
                                        "type": "PodScheduled",
                                        "status": "False",
                                        "reason": "Unschedulable",
                                        "message": "0/1 nodes are available: 1 Insufficient cpu.",
                                    }
                                ],
                            },
                        )
                        if not pod["status"].get("conditions"):
                            self._event(ns, name, "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")
                        continue
                    port = self._allocate_port()
                    kubelet = _Kubelet(port, self._tmp / f"{ns}-{name}.log")
                    self._kubelets[(ns, name)] = kubelet
                argv = self._images.get(image)
            if argv is None:
                first = kubelet.pull_failed_since is None
                if first:
                    kubelet.pull_failed_since = now
                reason = "ErrImagePull" if now - (kubelet.pull_failed_since or now) < 0.3 else "ImagePullBackOff"
                message = (
                    f'Back-off pulling image "{image}"'
                    if reason == "ImagePullBackOff"
                    else (f'failed to pull and unpack image "{image}": not found')
                )
                with self._lock:
                    self._set_status(
                        ns,
                        name,
                        _container_status(
                            pod,
                            "Pending",
                            ready=False,
                            restarts=0,
                            state={"waiting": {"reason": reason, "message": message}},
                        ),
                    )
                    if first:
                        self._event(ns, name, "Failed", f'Failed to pull image "{image}": not found')
                continue
            if kubelet.proc is None or kubelet.proc.poll() is not None:
                if kubelet.proc is not None:  # it exited: crash loop with back-off
                    kubelet.last_exit = kubelet.proc.returncode
                    kubelet.previous_log = kubelet.log_path.read_text(errors="replace")
                    kubelet.restarts += 1
                    kubelet.proc = None
                    kubelet.next_start = now + min(0.2 * 2 ** (kubelet.restarts - 1), 1.0)
                    with self._lock:
                        self._event(ns, name, "BackOff", "Back-off restarting failed container")
                if now < kubelet.next_start:
                    waiting = {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off restarting failed container {container.get('name')}",
                    }
                    with self._lock:
                        self._set_status(
                            ns,
                            name,
                            _container_status(
                                pod,
                                "Running",
                                ready=False,
                                restarts=kubelet.restarts,
                                state={"waiting": waiting},
                                last={"terminated": {"exitCode": kubelet.last_exit, "reason": "Error"}},
                            ),
                        )
                    continue
                env = {
                    **os.environ,
                    **self._env(ns, container),
                    "HELLO_HOST": "127.0.0.1",
                    "HELLO_PORT": str(kubelet.port),
                }
                with kubelet.log_path.open("wb") as log:
                    kubelet.proc = subprocess.Popen(
                        argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                    )
            ready = self._probe(kubelet.port, container)
            with self._lock:
                if ("pods", ns, name) not in self._objects:
                    continue
                last = {"terminated": {"exitCode": kubelet.last_exit, "reason": "Error"}} if kubelet.restarts else None
                self._set_status(
                    ns,
                    name,
                    _container_status(
                        pod,
                        "Running",
                        ready=ready,
                        restarts=kubelet.restarts,
                        state={"running": {"startedAt": _now()}},
                        last=last,
                        port=kubelet.port,
                    ),
                )
                if not ready and container.get("readinessProbe") and _ready_condition(pod) != "False":
                    self._event(ns, name, "Unhealthy", "Readiness probe failed: HTTP probe failed")

    def _env(self, namespace: str, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        with self._lock:
            # envFrom first: explicit env entries take precedence, as in Kubernetes.
            for source in container.get("envFrom") or []:
                cm_ref = source.get("configMapRef")
                if cm_ref:
                    cm = self._objects.get(("configmaps", namespace, cm_ref["name"])) or {}
                    env.update({k: str(v) for k, v in (cm.get("data") or {}).items()})
            for item in container.get("env") or []:
                if "value" in item:
                    env[item["name"]] = str(item["value"])
                ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secret = self._objects.get(("secrets", namespace, ref["name"])) or {}
                    raw = (secret.get("data") or {}).get(ref["key"])
                    if raw is not None:
                        env[item["name"]] = base64.b64decode(raw).decode()
                cm_ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
                if cm_ref:
                    cm = self._objects.get(("configmaps", namespace, cm_ref["name"])) or {}
                    if cm_ref["key"] in (cm.get("data") or {}):
                        env[item["name"]] = cm["data"][cm_ref["key"]]
        return env

    @staticmethod
    def _probe(port: int, container: dict[str, Any]) -> bool:
        readiness = container.get("readinessProbe") or {}
        probe = readiness.get("httpGet") or {}
        path = probe.get("path", "/health")
        timeout = float(readiness.get("timeoutSeconds", 1))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _set_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        obj = self._objects.get(("pods", namespace, name))
        if obj is None or obj.get("status") == status:
            return
        obj["status"] = status
        obj["metadata"]["resourceVersion"] = str(next(self._rv))

    def _kill(self, kubelet: _Kubelet) -> None:
        proc = kubelet.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    # -- service proxy ---------------------------------------------------------------------------------
    def _backends(self, namespace: str, service: str) -> list[int]:
        with self._lock:
            svc = self._objects.get(("services", namespace, service))
            if svc is None:
                return []
            selector = (svc.get("spec") or {}).get("selector") or {}
            ports = []
            for (plural, ns, name), pod in self._objects.items():
                if plural != "pods" or ns != namespace or not _ready(pod):
                    continue
                labels = pod["metadata"].get("labels") or {}
                if all(labels.get(k) == v for k, v in selector.items()) and (ns, name) in self._kubelets:
                    ports.append(self._kubelets[(ns, name)].port)
            return ports

    def _start_proxy(self, namespace: str, service: str) -> ThreadingHTTPServer:
        standin = self

        class Proxy(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                ports = standin._backends(namespace, service)
                if not ports:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                port = ports[next(standin._rr) % len(ports)]
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{self.path}", timeout=5) as response:
                        status, body, ctype = response.status, response.read(), response.headers.get("Content-Type")
                except urllib.error.HTTPError as exc:
                    status, body, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
                except (urllib.error.URLError, OSError):
                    status, body, ctype = 502, b"bad gateway", "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", ctype or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        server.daemon_threads = True
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=f"proxy-{service}"
        ).start()
        return server


def _field(obj: dict[str, Any], dotted: str) -> str | None:
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else str(value)


def _ready(pod: dict[str, Any]) -> bool:
    return _ready_condition(pod) == "True"


def _ready_condition(pod: dict[str, Any]) -> str | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status"))
    return None


def _container_status(
    pod: dict[str, Any],
    phase: str,
    *,
    ready: bool,
    restarts: int,
    state: dict[str, Any],
    last: dict[str, Any] | None = None,
    port: int | None = None,
) -> dict[str, Any]:
    container = (pod["spec"].get("containers") or [{}])[0]
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "True" if ready else "False"},
            {"type": "ContainersReady", "status": "True" if ready else "False"},
        ],
        "containerStatuses": [
            {
                "name": container.get("name", "app"),
                "image": container.get("image"),
                "ready": ready,
                "restartCount": restarts,
                "state": state,
                **({"lastState": last} if last else {}),
            }
        ],
    }
    if port is not None:
        status["podIP"] = "127.0.0.1"
        status["hostIP"] = "127.0.0.1"
    return status


def _apply_merge(live: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply, simplified: the applied fields win; maps merge, lists are replaced."""
    result = copy.deepcopy(live)
    for key, value in applied.items():
        if key == "metadata":
            meta = result.setdefault("metadata", {})
            for mkey, mvalue in value.items():
                if mkey in ("labels", "annotations") and isinstance(mvalue, dict):
                    meta[mkey] = {**(meta.get(mkey) or {}), **mvalue}
                elif mkey not in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
                    meta[mkey] = mvalue
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _deep_merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@contextmanager
def kube_stand_in(**kwargs: Any) -> Iterator[KubeStandIn]:
    standin = KubeStandIn(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
